"""Adversarial-phase variants of the sequence GAN from one MLE generator.

    python -m benchmarks.text_gan_variants [--variants NAME ...] [--epochs 8]
        [--seed 0] [--eval-sequences 5000] [--momenta M ...]
        [--output benchmarks/text_gan_variants.json] [--work-dir runs/text_gan_variants]

A search harness, not the command: the MLE phase (the defaults' epochs) is
trained once per seed and saved into `--work-dir`; every variant (`VARIANTS`:
changes to `TextGANConfig`) then starts its adversarial phase from those
weights, on the benchmark of oracle seed 0, and is scored after every
epoch: `NLL_oracle` of `--eval-sequences` sequences and `NLL_gen` of the
held-out ones, for the last iterate and for moving averages of the
generator's weights at `MOMENTA` (kept by the callback, so one run scores
several), with the discriminator's and generator's losses. Each finished
variant is written at once to `--output` (atomically) and skipped when the
harness starts again. The figures of docs/text_gan.md's search come from it;
the recipe's own figures come from the command.
"""

import argparse
import dataclasses
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

MOMENTA = (0.99, 0.995)
VARIANTS = {
    "defaults": {},
    "g3e-4": {"g_learning_rate": 3e-4},
    "g3e-4-mle3": {"g_learning_rate": 3e-4, "mle_weight": 3.0},
    "g1.5e-4": {"g_learning_rate": 1.5e-4},
    "g1e-4": {"g_learning_rate": 1e-4},
    "conditional": {"real_input": "conditional"},
    "conditional-d1e-3": {"real_input": "conditional", "d_learning_rate": 1e-3},
    "straight_through": {"estimator": "straight_through"},
    "straight_through-d1e-3": {"estimator": "straight_through", "d_learning_rate": 1e-3},
    "reinmax": {"estimator": "reinmax"},
}


def base_config(seed):
    """The run's `TextGANConfig` before a variant's changes."""
    from keras_gumbel.recipes.text_gan import TextGANConfig

    return TextGANConfig(seed=seed, verbose=0)


def make_scores(data, shadow, momenta, n):
    """The callback that scores the generator after every epoch (its last
    iterate and its moving averages at `momenta`)."""
    import keras

    from keras_gumbel.apps.text_gan.oracle import sample_sequences, sequence_nll

    class _Scores(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.averages, self.rows = {}, []

        def on_train_batch_end(self, batch, logs=None):
            if not momenta:
                return
            weights = [w.numpy() for w in self.model.generator.weights]
            if not self.averages:
                self.averages = {m: [w.copy() for w in weights] for m in momenta}
            for m, average in self.averages.items():
                for a, w in zip(average, weights, strict=True):
                    a *= m
                    a += (1 - m) * w

        def score(self, generator, epoch):
            samples = sample_sequences(generator, n, data.held_out.shape[1], 1000 + epoch)
            return [sequence_nll(data.oracle, samples), sequence_nll(generator, data.held_out)]

        def on_epoch_end(self, epoch, logs=None):
            row = {"epoch": epoch + 1, "d_loss": float(logs["d_loss"]), "g_loss": float(logs["g_loss"]),
                   "last": self.score(self.model.generator, epoch)}
            for m, average in self.averages.items():
                shadow.set_weights(average)
                row[f"average_{m}"] = self.score(shadow, epoch)
            self.rows.append(row)
            print(row, flush=True)

    return _Scores()


def mle_weights(config, data, work_dir, n):
    """The path of the generator's weights after the MLE phase of `config`,
    trained (and scored on `n` sequences) the first time, then reused."""
    from keras_gumbel.apps.common.files import atomic_path
    from keras_gumbel.apps.common.run import run_seed
    from keras_gumbel.apps.text_gan.oracle import sample_sequences, sequence_nll
    from keras_gumbel.recipes.text_gan import build_gan, sequence_stream

    path = os.path.join(work_dir, f"mle-s{config.seed}.weights.h5")
    if not os.path.exists(path):
        mle = dataclasses.replace(config, adversarial_epochs=0)
        gan = build_gan(mle)
        gan.fit(sequence_stream(data.train, mle.batch_size, run_seed(mle, "data")), epochs=mle.mle_epochs,
                steps_per_epoch=mle.steps_per_epoch, verbose=0, shuffle=False)
        with atomic_path(path) as temporary:
            gan.generator.save_weights(temporary)
        samples = sample_sequences(gan.generator, n, config.sequence_length, 999)
        print(f"MLE s{config.seed}: NLL_oracle {sequence_nll(data.oracle, samples):.3f}, "
              f"NLL_gen {sequence_nll(gan.generator, data.held_out):.3f}", flush=True)
    return path


def run_variant(name, config, data, path, epochs, n, momenta=MOMENTA):
    import keras

    from keras_gumbel.apps.common.run import run_seed
    from keras_gumbel.recipes.text_gan import build_gan, sequence_stream

    variant = dataclasses.replace(config, mle_epochs=0, adversarial_epochs=epochs, **VARIANTS[name])
    gan = build_gan(variant)
    gan.generator.load_weights(path)
    shadow = keras.models.clone_model(gan.generator)
    scores = make_scores(data, shadow, momenta, n)
    start = time.perf_counter()
    # The stream's passes after the MLE phase's, as in the command.
    gan.fit(sequence_stream(data.train, variant.batch_size, run_seed(variant, "data"),
                            start_epoch=config.mle_epochs),
            epochs=epochs, steps_per_epoch=variant.steps_per_epoch, verbose=0, shuffle=False,
            callbacks=[scores])
    return {"changes": VARIANTS[name], "seed": config.seed, "epochs": epochs, "momenta": list(momenta),
            "rows": scores.rows, "seconds": time.perf_counter() - start}


def main(argv=None):
    import json

    from benchmarks.common import machine_info
    from keras_gumbel.apps.common.files import write_json

    parser = argparse.ArgumentParser(prog="python -m benchmarks.text_gan_variants",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS),
                        metavar="NAME", help=f"the variants, in order (default: all: {' '.join(VARIANTS)})")
    parser.add_argument("--epochs", type=int, default=8, help="adversarial epochs per variant")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-sequences", type=int, default=5000)
    parser.add_argument("--momenta", type=float, nargs="*", default=list(MOMENTA), metavar="M",
                        help="the moving averages scored beside the last iterate, each in [0, 1) "
                             f"(default: {' '.join(map(str, MOMENTA))}; none: only the last iterate)")
    parser.add_argument("--output", default="benchmarks/text_gan_variants.json")
    parser.add_argument("--work-dir", default="runs/text_gan_variants")
    args = parser.parse_args(argv)
    for flag in ("epochs", "eval_sequences"):
        if getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')} must be >= 1, received {getattr(args, flag)}")
    for m in args.momenta:
        if not 0 <= m < 1:
            parser.error(f"--momenta must each be in [0, 1), received {m}")
    from keras_gumbel.apps.text_gan.oracle import oracle_data

    config = base_config(args.seed)
    results = {"runs": {}}
    if os.path.exists(args.output):
        with open(args.output) as f:
            results = json.load(f)
    data, path = None, None
    for name in args.variants:
        key = f"{name}-s{args.seed}"
        if key in results["runs"]:
            print(f"{key}: already in {args.output}, skipped", flush=True)
            continue
        if data is None:
            data = oracle_data(config.oracle_seed, config.sequences, config.sequence_length,
                               config.vocab_size)
            path = mle_weights(config, data, args.work_dir, args.eval_sequences)
        results["runs"][key] = run_variant(name, config, data, path, args.epochs, args.eval_sequences,
                                           args.momenta)
        results["machine"] = machine_info()
        write_json(args.output, results)
    return results


if __name__ == "__main__":
    main()
