"""The `keras-gumbel-train-gan` command (scripts/train_gan.py): flags -> a
`GANConfig` -> `train_gan`. Imports TensorFlow only once it runs."""

import argparse

from keras_gumbel.apps.common import cli

PROG = "keras-gumbel-train-gan"


def gan_parser():
    """The argparse parser of `keras-gumbel-train-gan` (scripts/train_gan.py)."""
    from keras_gumbel.apps.common.run import STRATEGIES
    from keras_gumbel.apps.gan.recipe import (
        LEARNING_RATE_DECAYS,
        OPTIMIZERS,
        TEMPERATURE_SCHEDULES,
        GANConfig,
    )

    d = GANConfig()
    parser = cli.ArgumentParser(
        prog=PROG,
        description=(
            "Train the toy GAN: a Gumbel-softmax generator learns a discrete "
            "distribution from a stream of numbers. Prints a table of true and "
            "learned probabilities and their total variation distance, and writes "
            "the model (gan.keras), a heatmap of the errors per epoch "
            "(probability_errors.png) and the history (history.json, history.csv) "
            "into --output-dir."
        ),
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
    cli.add_jit_flag(parser, d.jit_compile)
    # The first versions' spelling of --jit-compile false, kept working.
    parser.add_argument("--no-jit", dest="jit_compile", action="store_const", const="false",
                        help=argparse.SUPPRESS)
    cli.add_run_flags(parser, d, STRATEGIES)
    return parser


def train_gan_main(argv=None):
    """`keras-gumbel-train-gan`: parses flags into a `GANConfig`, runs
    `keras_gumbel.apps.gan.recipe.train_gan` and returns its `GANResult`."""
    cli.require(PROG, cli.PICTURES)
    from keras_gumbel.apps.gan.recipe import GANConfig, train_gan

    return cli.train_main(gan_parser(), train_gan, argv,
                          lambda args, argv: cli.config_from_args(GANConfig, args))


def main():
    """The console script `keras-gumbel-train-gan` (and scripts/train_gan.py)."""
    cli.command(train_gan_main, PROG)
