"""The `keras-gumbel-train-text-gan` command (scripts/train_text_gan.py):
flags -> a `TextGANConfig` -> `train_text_gan`. Imports TensorFlow only once
it runs."""

import argparse

from keras_gumbel.apps.common import cli

PROG = "keras-gumbel-train-text-gan"


def text_gan_parser():
    """The argparse parser of `keras-gumbel-train-text-gan`."""
    from keras_gumbel.apps.common.run import STRATEGIES, TEMPERATURE_SCHEDULES
    from keras_gumbel.apps.text_gan.model import REAL_INPUTS
    from keras_gumbel.apps.text_gan.recipe import TextGANConfig
    from keras_gumbel.ops import ESTIMATORS

    d = TextGANConfig()
    parser = cli.ArgumentParser(
        prog=PROG,
        description=(
            "A Gumbel-softmax sequence GAN on the synthetic-oracle benchmark "
            "(SeqGAN / Texygen / RelGAN): MLE pre-training, then adversarial "
            "training of an LSTM generator against a CNN discriminator. Prints "
            "and writes into --output-dir results.json (NLL_oracle, NLL_gen, "
            "both after MLE, the oracle's entropy, seconds), oracle.keras, "
            "samples.npy, generator.keras, the NLL curves, the history, and a "
            "backup that resumes an interrupted run."
        ),
    )
    parser.add_argument("--output-dir", required=True, default=argparse.SUPPRESS,
                        help="folder for results, oracle, samples, model, curves and backup")
    add = parser.add_argument
    add("--oracle-seed", type=int, default=d.oracle_seed,
        help="the benchmark's seed (oracle and data); 0 is the benchmark of the README")
    add("--vocab-size", type=int, default=d.vocab_size, help="vocabulary of the oracle")
    add("--sequence-length", type=int, default=d.sequence_length, help="tokens per sequence")
    add("--sequences", type=int, default=d.sequences,
        help="training sequences drawn from the oracle (and as many held out)")
    add("--embedding", type=int, default=d.embedding, help="generator embedding size")
    add("--hidden", type=int, default=d.hidden, help="generator LSTM units")
    add("--d-embedding", type=int, default=d.d_embedding, help="discriminator embedding size")
    add("--filters", type=int, default=d.filters, help="discriminator filters per width")
    add("--filter-sizes", type=int, nargs="+", default=list(d.filter_sizes),
        help="discriminator convolution widths")
    add("--dropout", type=float, default=d.dropout, help="discriminator dropout")
    add("--batch-size", type=int, default=d.batch_size, help="sequences per step")
    add("--mle-epochs", type=int, default=d.mle_epochs, help="MLE pre-training epochs")
    add("--adversarial-epochs", type=int, default=d.adversarial_epochs,
        help="adversarial epochs (an epoch: sequences // batch-size steps)")
    add("--mle-learning-rate", type=float, default=d.mle_learning_rate, help="Adam's, pre-training")
    add("--g-learning-rate", type=float, default=d.g_learning_rate, help="generator Adam's, adversarial")
    add("--d-learning-rate", type=float, default=d.d_learning_rate, help="discriminator Adam's")
    add("--estimator", choices=ESTIMATORS, default=d.estimator,
        help="Gumbel-softmax gradient estimator: relaxed shows the discriminator relaxed one-hots, "
             "the others exact one-hots")
    add("--d-steps", type=int, default=d.d_steps,
        help="discriminator steps per generator step, adversarial (RelGAN: 5)")
    add("--clip-norm", type=float, default=d.clip_norm,
        help="clip each adversarial gradient to this global norm (RelGAN: 5; default: no clipping)")
    add("--ema-momentum", type=float, default=d.ema_momentum,
        help="momentum of the moving average of the generator's weights that is scored, saved "
             "and exported (0: the last iterate)")
    add("--real-input", choices=REAL_INPUTS, default=d.real_input,
        help="what the discriminator sees of real sequences (relaxed estimator): onehot, or "
             "conditional (relaxed one-hots drawn given the real tokens, as soft as the generated)")
    add("--mle-weight", type=float, default=d.mle_weight,
        help="weight of the MLE term in the generator's adversarial loss")
    add("--temperature", type=float, default=d.temperature,
        help="Gumbel-softmax temperature at the first adversarial step")
    add("--final-temperature", type=float, default=d.final_temperature,
        help="temperature at the last adversarial step")
    add("--schedule", choices=TEMPERATURE_SCHEDULES, default=d.schedule,
        help="temperature schedule over the adversarial steps")
    add("--eval-every", type=int, default=d.eval_every,
        help="score NLL_oracle and NLL_gen every this many epochs")
    add("--eval-sequences", type=int, default=d.eval_sequences,
        help="generated sequences scored for NLL_oracle")
    add("--restart", action="store_true",
        help="delete the backup of an unfinished run in --output-dir and start afresh")
    cli.add_jit_flag(parser, d.jit_compile)
    cli.add_run_flags(parser, d, STRATEGIES)
    return parser


def _config(args, argv):
    from keras_gumbel.apps.text_gan.recipe import TextGANConfig

    args.filter_sizes = tuple(args.filter_sizes)
    return cli.config_from_args(TextGANConfig, args)


def train_text_gan_main(argv=None):
    """`keras-gumbel-train-text-gan`: parses flags into a `TextGANConfig`,
    runs `keras_gumbel.apps.text_gan.recipe.train_text_gan` and returns its
    `TextGANResult`."""
    cli.require(PROG, cli.PICTURES)
    from keras_gumbel.apps.text_gan.recipe import train_text_gan

    return cli.train_main(text_gan_parser(), train_text_gan, argv, _config)


def main():
    """The console script `keras-gumbel-train-text-gan` (and scripts/train_text_gan.py)."""
    cli.command(train_text_gan_main, PROG)
