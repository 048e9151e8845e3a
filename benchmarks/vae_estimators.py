"""The discrete VAE with each gradient estimator: quality and cost per step.

Trains `keras_gumbel.recipes.vae.train_vae` (the README's defaults: 10 epochs,
batch 100, Adam 1e-3, temperature max(0.5, exp(-3e-5 t))) once per estimator
and seed on full MNIST, and reports the test negative ELBO with hard
(one-hot) samples, mean and spread over the seeds, and the training time per
step. ReinMax needs temperatures >= 1 (Liu et al. 2023), so it trains at a
constant temperature 1.0. Runs take about 2 to 4 minutes each on 2 cores.

    python -m benchmarks.vae_estimators --source ../shared/data/mnist.npz \\
        --seeds 0 1 2 --output benchmarks/vae_estimators.json

Runs already in the output file are skipped, so an interrupted comparison
continues where it stopped.
"""

import argparse
import json
import os
import time

import numpy as np

from benchmarks.common import machine_info, table, write_json

# estimator -> the VAEConfig fields that differ from the defaults.
ESTIMATOR_RUNS = {
    "relaxed": {},
    "straight_through": {"estimator": "straight_through"},
    "gumbel_rao": {"estimator": "gumbel_rao", "samples": 10},
    "gapped_straight_through": {"estimator": "gapped_straight_through"},
    "reinmax": {"estimator": "reinmax", "temperature": 1.0, "min_temperature": 1.0},
}


def run_one(name, seed, source, epochs):
    from keras_gumbel.recipes.vae import VAEConfig, train_vae

    config = VAEConfig(source=source, seed=seed, epochs=epochs, verbose=0,
                       **ESTIMATOR_RUNS[name])
    start = time.perf_counter()
    result = train_vae(config)
    return {
        "estimator": name,
        "seed": seed,
        "test_hard_loss": result.test["hard_loss"],
        "test_loss": result.test["loss"],
        "fit_seconds": result.seconds,
        "ms_per_step": 1000.0 / result.steps_per_second,
        "wall_seconds": time.perf_counter() - start,
    }


def summarize(runs):
    rows = []
    for name in ESTIMATOR_RUNS:
        mine = [r for r in runs if r["estimator"] == name]
        if not mine:
            continue
        hard = np.array([r["test_hard_loss"] for r in mine])
        relaxed = np.array([r["test_loss"] for r in mine])
        rows.append({
            "estimator": name + (" (K=10)" if name == "gumbel_rao" else "")
            + (" (tau=1)" if name == "reinmax" else ""),
            "seeds": len(mine),
            "test -ELBO hard": f"{hard.mean():.2f} +- {hard.std(ddof=1) if len(hard) > 1 else 0:.2f}",
            "range hard": f"{hard.min():.2f}..{hard.max():.2f}",
            "test -ELBO relaxed": f"{relaxed.mean():.2f}",
            "ms/step": f"{np.median([r['ms_per_step'] for r in mine]):.1f}",
        })
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="MNIST source (see load_mnist)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--estimators", nargs="+", choices=list(ESTIMATOR_RUNS),
                        default=list(ESTIMATOR_RUNS))
    parser.add_argument("--output", default="benchmarks/vae_estimators.json")
    args = parser.parse_args(argv)
    runs = []
    if os.path.exists(args.output):
        with open(args.output) as f:
            runs = json.load(f)["runs"]
    for name in args.estimators:
        for seed in args.seeds:
            if any(r["estimator"] == name and r["seed"] == seed for r in runs):
                continue
            runs.append(run_one(name, seed, args.source, args.epochs))
            write_json(args.output, {"machine": machine_info(), "epochs": args.epochs,
                                     "runs": runs})
            print(runs[-1], flush=True)
    columns = ["estimator", "seeds", "test -ELBO hard", "range hard", "test -ELBO relaxed",
               "ms/step"]
    print(table(summarize(runs), columns))


if __name__ == "__main__":
    main()
