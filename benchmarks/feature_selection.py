"""Feature selection on the full MNIST, k = 50 (issue 20): each method
through the command, each run in its own folder, resumable.

    python -m benchmarks.feature_selection --source ../shared/data/mnist.npz \
        --runs-dir runs/feature_selection

Every run is `keras-gumbel-select-features --method M --seed S --source ...
--output-dir RUNS/M-S` (in this process); a run whose `results.json`
exists is skipped, one killed halfway resumes from its backup. The table
(method, seeds, mean and standard deviation of test MSE, ExtraTrees
accuracy, distinct pixels, minutes) is printed and written to
`RUNS/table.md` and `RUNS/results.json` after every run.
"""

import argparse
import json
import os

import numpy as np

from benchmarks.common import machine_info, table, write_json

# (method, seeds) in the order they run: the goal's runs first.
PLAN = (
    ("ip-cae", (3,)),
    ("cae", (0, 1, 2)),
    ("ip-cae", (0, 1, 2)),
    ("subset", (0, 1, 2)),
    ("variance", (0,)),
    ("random", (0, 1, 2, 3, 4)),
)


def run_one(method, seed, source, folder, extra=()):
    from keras_gumbel.apps.feature_selection.cli import select_features_main

    results = os.path.join(folder, "results.json")
    if not os.path.exists(results):
        select_features_main(["--method", method, "--seed", str(seed), "--source", source,
                              "--output-dir", folder, "--verbose", "2", *extra])
    with open(results, encoding="utf-8") as f:
        return json.load(f)


def summarise(records):
    rows = []
    for method in dict.fromkeys(r["method"] for r in records):
        runs = [r for r in records if r["method"] == method]

        def stat(key, digits, runs=runs):
            values = np.array([r[key] for r in runs], np.float64)
            spread = f" +- {values.std(ddof=1):.{digits}f}" if len(values) > 1 else ""
            return f"{values.mean():.{digits}f}{spread}"

        rows.append({
            "method": method,
            "seeds": ",".join(str(r["seed"]) for r in runs),
            "test MSE": stat("test_mse", 5),
            "ExtraTrees acc": stat("test_accuracy", 4),
            "distinct": stat("unique_features", 1),
            "minutes": f"{np.mean([r['seconds'] for r in runs]) / 60:.1f}",
        })
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="the full MNIST (a Keras-layout mnist.npz)")
    parser.add_argument("--runs-dir", default="runs/feature_selection")
    parser.add_argument("--methods", nargs="+", default=None, help="only these methods")
    args = parser.parse_args(argv)
    records = []
    for method, seeds in PLAN:
        if args.methods and method not in args.methods:
            continue
        for seed in seeds:
            records.append(run_one(method, seed, args.source,
                                   os.path.join(args.runs_dir, f"{method}-{seed}")))
            rows = summarise(records)
            columns = ["method", "seeds", "test MSE", "ExtraTrees acc", "distinct", "minutes"]
            text = table(rows, columns)
            print(text, flush=True)
            write_json(os.path.join(args.runs_dir, "results.json"),
                       {"machine": machine_info(), "runs": records, "table": rows})
            tmp = os.path.join(args.runs_dir, "table.md.tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text + "\n")
            os.replace(tmp, os.path.join(args.runs_dir, "table.md"))


if __name__ == "__main__":
    main()
