"""The sequence GAN's quality against MLE's quality-diversity curve.

    python -m benchmarks.text_gan_quality [--runs NAME ...]
        [--temperatures 0.6 0.7 ...] [--output benchmarks/text_gan_quality.json]
        [--runs-dir runs/text_gan_quality] [--plot docs/text_gan_quality.png]

Runs (`RUNS`, by name), each `keras_gumbel.recipes.text_gan.train_text_gan`
into `--runs-dir/NAME` on the benchmark of oracle seed 0:

- `mle-sS`: MLE alone (`adversarial_epochs=0`, the defaults' MLE phase),
  seed S; then its quality-diversity curve (Caccia et al. 2020, "Language
  GANs Falling Short"): the same generator sampled at each of
  `--temperatures` (`oracle.temperature_curve`: `NLL_oracle` of 10,000
  sequences drawn from `softmax(logits / t)`, `NLL_gen` of the held-out ones
  under that distribution);
- `mle_long-sS`: MLE alone continued for the adversarial phase's epochs
  too (`mle_epochs` = the defaults' MLE and adversarial epochs together);
- `ours-sS`: the command's defaults (MLE, then Gumbel-softmax adversarial
  training), seed S;
- `relgan_bB-sS`: RelGAN's recipe (Nie et al. 2019) on the same LSTM
  generator and CNN discriminator after the same MLE phase: the RSGAN loss
  alone (`mle_weight` 0), Adam 1e-4 for both networks, batch 64, 5
  discriminator steps per generator step, gradients clipped to global norm
  5, the relaxed one-hots, inverse temperature `beta = B^(i/N)`
  (temperature `B^(-i/N)`: the exponential schedule from 1 to `1/B`; `B`
  in 1, 100, 1000), for the defaults' adversarial epochs.

Without `--runs`: `mle-s1`, `ours-s1` (seed 1: the untuned seed the docs
quote), then seeds 0 and 2.

Every finished run (and each curve) is written at once to the results JSON
(atomically); a run already there is skipped, so a killed benchmark,
started again, resumes with the next unfinished one (and a run killed
mid-way resumes from its own backup, as the command does). Writes the
picture (`NLL_oracle` against `NLL_gen`: each MLE curve, each run's point,
the oracle's entropy) to `--plot` and prints the table.
"""

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

TEMPERATURES = (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2)
# The goal: the share of the MLE-to-entropy gap closed, and the most
# NLL_gen may rise over MLE's.
GOAL_GAP, GOAL_NLL_GEN = 0.8, 0.05
SEEDS = (1, 0, 2)
BETA_MAX = (1, 100, 1000)
KINDS = ("mle", "ours", "mle_long", *(f"relgan_b{b}" for b in BETA_MAX))
RUNS = {f"{kind}-s{seed}": {"kind": kind, "seed": seed} for seed in SEEDS for kind in KINDS}


def relgan_settings(beta_max):
    """RelGAN's adversarial recipe with inverse temperature up to
    `beta_max` (see the module's docstring)."""
    return dict(mle_weight=0.0, g_learning_rate=1e-4, d_learning_rate=1e-4, d_steps=5, clip_norm=5.0,
                ema_momentum=0.0, estimator="relaxed", temperature=1.0,
                final_temperature=1.0 / beta_max,
                schedule="constant" if beta_max == 1 else "exponential", batch_size=64)


def run_config(name, runs_dir):
    """The `TextGANConfig` of run `name`."""
    from keras_gumbel.recipes.text_gan import TextGANConfig

    spec = RUNS[name]
    kind, defaults = spec["kind"], TextGANConfig()
    extra = {}
    if kind == "mle":
        extra = {"adversarial_epochs": 0}
    elif kind == "mle_long":
        extra = {"adversarial_epochs": 0, "mle_epochs": defaults.mle_epochs + defaults.adversarial_epochs}
    elif kind.startswith("relgan_b"):
        extra = relgan_settings(int(kind[len("relgan_b"):]))
    return TextGANConfig(seed=spec["seed"], output_dir=os.path.join(runs_dir, name), verbose=0,
                         **extra)


def run_one(name, runs_dir, temperatures):
    """Trains run `name`; returns its record (results.json's figures, and
    the temperature curve of an MLE run)."""
    from keras_gumbel.apps.text_gan.oracle import temperature_curve
    from keras_gumbel.recipes.text_gan import train_text_gan

    config = run_config(name, runs_dir)
    result = train_text_gan(config)
    record = {"name": name, **RUNS[name], "results": result.results}
    if RUNS[name]["kind"] == "mle":
        # The benchmark the run was scored on, not built a second time.
        record["curve"] = temperature_curve(result.model.generator, result.data, temperatures,
                                            config.eval_sequences, seed=config.seed)
    return record


KIND_STYLE = {"ours": ("Gumbel-softmax GAN (ours)", "*", "tab:red"),
              "mle_long": ("MLE alone, as long", "s", "tab:blue"),
              "relgan_b1": ("RelGAN recipe, beta_max 1", "^", "tab:orange"),
              "relgan_b100": ("RelGAN recipe, beta_max 100", "v", "tab:purple"),
              "relgan_b1000": ("RelGAN recipe, beta_max 1000", "D", "tab:brown")}


def plot(records, path):
    """`NLL_oracle` against `NLL_gen`: the MLE curves and every run's point
    (one colour and marker per method, each point labelled with its seed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_gumbel.apps.common.plots import save_figure

    fig, ax = plt.subplots(figsize=(8, 6))
    entropy, labelled = None, set()

    def once(label):
        """`label` the first time it is asked for, then None (one legend
        entry per method, not per seed)."""
        if label in labelled:
            return None
        labelled.add(label)
        return label

    for name, r in records.items():
        res = r["results"]
        entropy = res["oracle_entropy"]
        if r["kind"] == "mle" and "curve" in r:
            xs = [p["nll_gen"] for p in r["curve"]]
            ys = [p["nll_oracle"] for p in r["curve"]]
            ax.plot(xs, ys, marker=".", color="0.5", alpha=0.8,
                    label=once(f"MLE at temperatures {r['curve'][0]['temperature']:g}-"
                               f"{r['curve'][-1]['temperature']:g} (one curve per seed)"))
            for p in r["curve"]:
                ax.annotate(f"{p['temperature']:g}", (p["nll_gen"], p["nll_oracle"]),
                            fontsize=6, color="0.4", xytext=(3, 2), textcoords="offset points")
            # The goal for a GAN started from this MLE model: 80 % of
            # the gap to the entropy closed, NLL_gen within 5 % of MLE's.
            target = res["nll_oracle"] - GOAL_GAP * (res["nll_oracle"] - res["oracle_entropy"])
            ax.fill_between([res["nll_gen"] * 0.995, res["nll_gen"] * (1 + GOAL_NLL_GEN)],
                            res["oracle_entropy"], target, color="tab:green", alpha=0.08,
                            label=once("the goal from each MLE seed: 80 % of the gap, "
                                       "NLL_gen within 5 %"))
        else:
            what, marker, colour = KIND_STYLE[r["kind"]]
            ax.plot([res["nll_gen"]], [res["nll_oracle"]], marker=marker, color=colour,
                    markersize=12 if marker == "*" else 7, linestyle="", label=once(what))
            ax.annotate(f"s{r['seed']}", (res["nll_gen"], res["nll_oracle"]), fontsize=7,
                        color=colour, xytext=(4, -8), textcoords="offset points")
    if entropy is not None:
        ax.axhline(entropy, color="k", linestyle=":", label=f"oracle entropy {entropy:.3f}")
    ax.set_xlabel("NLL_gen (held-out data under the generator; lower: more coverage)")
    ax.set_ylabel("NLL_oracle (samples under the oracle; lower: better quality)")
    ax.set_title("Synthetic oracle (vocabulary 5,000, length 20); sN: seed N")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path


def summary(records):
    """One row per method: the median over its seeds of each figure."""
    import statistics

    by_kind = {}
    for r in records.values():
        if r["kind"] != "mle":
            by_kind.setdefault(r["kind"], []).append(r)
    out = []
    for kind, runs in sorted(by_kind.items(), key=lambda item: KINDS.index(item[0])):
        res = [r["results"] for r in runs]

        def median(key):
            return statistics.median(x[key] for x in res)

        mle = kind == "mle_long"
        out.append({
            "method": kind,
            "seeds": " ".join(str(r["seed"]) for r in sorted(runs, key=lambda r: r["seed"])),
            "NLL_oracle": f"{median('nll_oracle'):.3f}",
            "NLL_gen": f"{median('nll_gen'):.3f}",
            "gap closed": "" if mle else f"{100 * median('gap_closed'):.1f} %",
            "NLL_gen change": "" if mle else f"{100 * median('nll_gen_change'):+.1f} %",
            "minutes": f"{median('seconds') / 60:.1f}",
        })
    return out


def rows(records):
    out = []
    for name, r in records.items():
        res = r["results"]
        gap = res.get("gap_closed")
        change = res.get("nll_gen_change")
        out.append({
            "run": name,
            "NLL_oracle": f"{res['nll_oracle']:.3f}",
            "NLL_gen": f"{res['nll_gen']:.3f}",
            "gap closed": "" if gap is None or r["kind"].startswith("mle") else f"{100 * gap:.1f} %",
            "NLL_gen change": "" if change is None or r["kind"].startswith("mle") else f"{100 * change:+.1f} %",
            "minutes": f"{res['seconds'] / 60:.1f}",
        })
        for p in r.get("curve", []):
            out.append({"run": f"  {name} at temperature {p['temperature']:g}",
                        "NLL_oracle": f"{p['nll_oracle']:.3f}", "NLL_gen": f"{p['nll_gen']:.3f}",
                        "gap closed": "", "NLL_gen change": "", "minutes": ""})
    return out


def main(argv=None):
    import json

    from benchmarks.common import machine_info, table
    from keras_gumbel.apps.common.files import write_json

    parser = argparse.ArgumentParser(prog="python -m benchmarks.text_gan_quality",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", nargs="+", choices=list(RUNS), metavar="RUN",
                        help=f"the runs, in order (default: all: {' '.join(RUNS)})")
    parser.add_argument("--temperatures", nargs="+", type=float, default=list(TEMPERATURES),
                        help="the MLE curve's sampling temperatures")
    parser.add_argument("--output", default="benchmarks/text_gan_quality.json")
    parser.add_argument("--runs-dir", default="runs/text_gan_quality")
    parser.add_argument("--plot", default="docs/text_gan_quality.png")
    args = parser.parse_args(argv)
    for t in args.temperatures:
        if not t > 0:
            parser.error(f"--temperatures must be numbers > 0, received {t!r}")
    results = {"runs": {}}
    if os.path.exists(args.output):
        with open(args.output) as f:
            results = json.load(f)
    records = results.setdefault("runs", {})
    for name in args.runs or list(RUNS):
        if name in records:
            print(f"{name}: already in {args.output}, skipped", flush=True)
            continue
        print(f"{name}: training into {os.path.join(args.runs_dir, name)}", flush=True)
        records[name] = run_one(name, args.runs_dir, args.temperatures)
        results["machine"] = machine_info()
        write_json(args.output, results)
        res = records[name]["results"]
        print(f"{name}: NLL_oracle {res['nll_oracle']:.3f}, NLL_gen {res['nll_gen']:.3f}, "
              f"{res['seconds'] / 60:.1f} min", flush=True)
    if records:
        drawn = plot(records, args.plot)
        print(table(rows(records), ["run", "NLL_oracle", "NLL_gen", "gap closed",
                                    "NLL_gen change", "minutes"]))
        print("\nmedians over seeds:")
        print(table(summary(records), ["method", "seeds", "NLL_oracle", "NLL_gen", "gap closed",
                                       "NLL_gen change", "minutes"]))
        print(f"wrote {args.output} and {drawn}")
    return results


if __name__ == "__main__":
    main()
