"""The `keras-gumbel-export` command (scripts/export_savedmodel.py): a saved
`.keras` model of any application -> a SavedModel that serves with plain
TensorFlow. It needs TensorFlow only (none of the `demos` extra)."""

import os
import zipfile

from keras_gumbel.apps.common import cli

PROG = "keras-gumbel-export"


def export_parser():
    """The argparse parser of `keras-gumbel-export` (scripts/export_savedmodel.py)."""
    parser = cli.ArgumentParser(
        prog=PROG,
        description=(
            "Export a saved .keras model as a TensorFlow SavedModel that loads "
            "without keras_gumbel: a GumbelGAN's generator (signatures sample, "
            "probs) or a DiscreteVAE (encode, decode, reconstruct, sample). "
            "Inspect the result with `saved_model_cli show --dir DIR --all`."
        ),
    )
    parser.add_argument("model", metavar="MODEL", help="the .keras file (GumbelGAN or DiscreteVAE)")
    parser.add_argument("dir", metavar="DIR", help="the SavedModel folder to write")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace DIR if it exists and is not empty")
    return parser


def _check_model_file(parser, model, folder):
    """Usage errors, before anything is loaded, for a MODEL that is not a
    readable zip file (as every .keras file is) and for a DIR that is or
    holds MODEL (exporting with --overwrite would delete it)."""
    if os.path.isdir(model):
        parser.error(f"MODEL must be a .keras file, received a folder: MODEL={model!r}")
    if not os.path.isfile(model):
        parser.error(f"MODEL must be a .keras file, received MODEL={model!r} (no such file)")
    try:
        with open(model, "rb") as f:
            is_zip = zipfile.is_zipfile(f)
    except OSError as error:
        parser.error(f"MODEL must be a readable .keras file, received MODEL={model!r} "
                     f"({error.strerror})")
    if not is_zip:
        parser.error(
            f"MODEL must be a .keras file (a zip archive), received MODEL={model!r}, which "
            "cannot be read as a zip archive: it is truncated or not a .keras file"
        )
    from keras_gumbel.apps.common.files import check_apart

    try:
        # Exporting with --overwrite replaces DIR whole: never the model's own folder.
        check_apart(folder, "DIR", model, "MODEL")
    except ValueError as error:
        parser.error(str(error))


def export_main(argv=None):
    """`keras-gumbel-export MODEL.keras DIR [--overwrite]`: loads the model and
    calls `keras_gumbel.export.export_generator` (GumbelGAN) or `export_vae`
    (DiscreteVAE); returns DIR. A MODEL that is not a loadable .keras file
    of either kind, and a DIR that exists (without --overwrite), holds MODEL
    or cannot be written, are usage errors found before the model is
    loaded or anything written."""
    parser = export_parser()
    args = parser.parse_args(argv)
    _check_model_file(parser, args.model, args.dir)

    import keras

    from keras_gumbel.apps.common.export import check_export_path
    from keras_gumbel.apps.gan.export import export_generator
    from keras_gumbel.apps.gan.model import GumbelGAN
    from keras_gumbel.apps.vae.export import export_vae
    from keras_gumbel.apps.vae.model import DiscreteVAE

    try:
        check_export_path(args.dir, args.overwrite, name="DIR")
    except ValueError as e:
        parser.refuse(e)
    try:
        # compile=False: exporting needs the weights, not the optimizers.
        model = keras.saving.load_model(args.model, compile=False)
    except Exception as error:  # noqa: BLE001 - any reason the file does not load
        reason = " ".join(str(error).split())[:300]
        parser.error(
            f"MODEL must be a .keras file that Keras can load, received "
            f"MODEL={args.model!r}, which fails to load: {type(error).__name__}: {reason}"
        )
    if isinstance(model, GumbelGAN):
        export = export_generator
    elif isinstance(model, DiscreteVAE):
        export = export_vae
    else:
        parser.error(
            f"MODEL must hold a keras_gumbel GumbelGAN or DiscreteVAE, received "
            f"MODEL={args.model!r} holding a {type(model).__name__}"
        )
    try:
        path = export(model, args.dir, overwrite=args.overwrite)
    except ValueError as e:
        parser.refuse(e)
    print(f"Exported {type(model).__name__} to {path}")
    return path




def main():
    """The console script `keras-gumbel-export` (and scripts/export_savedmodel.py)."""
    cli.command(export_main, PROG)
