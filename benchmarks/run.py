"""Runs the keras_gumbel benchmarks: one command, a table, a JSON file.

    python -m benchmarks.run [--quick] [--cases sampler,vae,gan,scaling]
                             [--output benchmarks/results.json] [--mnist PATH]

Cases (see each module's docstring):

- `sampler` (benchmarks/sampler.py): Gumbel-softmax forward + backward at
  (100, 30, 10), (4096, 30, 10) and (1024, 1000), relaxed and
  straight-through: our `GumbelSoftmax` layer (with and without
  `jit_compile=True`) and `ops.gumbel_softmax` against TFP's
  `RelaxedOneHotCategorical(...).sample()`, a plain TensorFlow formulation
  and `torch.nn.functional.gumbel_softmax`.
- `vae` (benchmarks/vae.py): `DiscreteVAE` training steps/s with
  `model.fit` (batch 100) against the PyTorch reference in
  benchmarks/torch_vae.py.
- `gan` (benchmarks/gan.py): wall time and steps until the toy GAN's total
  variation distance is below 0.02, on the default problem and on Zipf
  targets of K = 5, 50, 500, 5000 categories, each within a time budget.
- `scaling`: sampler time from 10^3 to 10^7 elements; VAE epoch time as the
  training set grows.

Timings are medians over interleaved rounds (A/B/A/B), so the drift of a
shared machine hits every candidate alike; compare ratios within one run.
torch is optional: without it the torch rows are left out. torch runs with
`OMP_WAIT_POLICY=PASSIVE` unless the variable is set, and at its default
thread count and at one thread; ratios use the faster. The whole run takes
under 10 minutes on 2 cores (`--quick`: about 2).

The JSON file (written atomically after every case) holds the machine
(CPU, cores, versions, thread counts), the arguments, every row and the
headline ratios.
"""

import argparse
import os
import sys
import time

CASES = ("sampler", "vae", "gan", "scaling")
SHARED_MNIST = "/work/shared/data/mnist.npz"


def _parse(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds and sizes")
    parser.add_argument(
        "--cases",
        default=",".join(CASES),
        help=f"comma-separated subset of {','.join(CASES)} (default: all)",
    )
    parser.add_argument("--output", default="benchmarks/results.json", help="the JSON file")
    parser.add_argument(
        "--mnist",
        default=SHARED_MNIST if os.path.exists(SHARED_MNIST) else "bundled",
        help="MNIST source of the VAE cases: an .npz path or 'bundled' "
        f"(default: {SHARED_MNIST} if it exists, else 'bundled')",
    )
    parser.add_argument(
        "--gan-seconds",
        type=float,
        default=None,
        help="wall-clock budget of each GAN problem (default 30, quick 12)",
    )
    args = parser.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown or not cases:
        parser.error(f"--cases must name some of {CASES}, received --cases={args.cases!r}")
    args.cases = cases
    return args


def headline(cases):
    """The figures the README quotes: ratios against torch and TensorFlow,
    the XLA ratio, the VAE ratio, the GAN's time to TV < 0.02."""
    lines = []
    for row in cases.get("sampler", []):
        if row["impl"] in ("layer", "op"):
            text = (
                f"sampler {row['shape']} {row['mode']} {row['impl']}: "
                f"{row['speed_vs_fastest_plain_tf']}x the fastest plain TF"
            )
            if "speedup_vs_torch" in row:
                text += f", {row['speedup_vs_torch']}x torch"
            lines.append(text)
        if row["impl"] == "layer_xla":
            lines.append(
                f"sampler {row['shape']} {row['mode']} layer jit_compile=True: "
                f"{row['xla_slowdown_vs_layer']}x the time without XLA"
            )
    for row in cases.get("vae", []):
        if not row["impl"].startswith("torch"):
            text = f"vae {row['impl']}: {row['steps_per_s']} steps/s"
            if "speed_vs_torch" in row:
                text += f", {row['speed_vs_torch']}x torch"
            lines.append(text)
    for row in cases.get("gan", []):
        lines.append(f"gan {row['problem']}: {row['result']}")
    return lines


COLUMNS = {
    "sampler": ["shape", "mode", "impl", "us_per_call", "elements_per_s",
                "speedup_vs_torch", "speed_vs_fastest_plain_tf", "xla_slowdown_vs_layer"],
    "vae": ["impl", "steps_per_s", "ms_per_step", "speed_vs_torch", "dense_gflop_per_s",
            "spread_ms"],
    "gan": ["problem", "K", "reached", "steps", "seconds", "initial_tv", "final_tv",
            "ms_per_step", "first_block_s"],
    "sampler_scaling": ["impl", "elements", "us_per_call", "ns_per_element"],
    "vae_epoch_scaling": ["images", "steps", "epoch_s", "ms_per_step"],
}


def main(argv=None):
    args = _parse(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # OpenMP threads that spin while they wait make torch several times
    # slower when other processes share the cores; passive waiting costs
    # little on an idle machine. Set before torch is imported; recorded.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from benchmarks import common

    quick = args.quick
    results = {
        "machine": common.machine_info(),
        "arguments": {
            "quick": quick,
            "cases": args.cases,
            "mnist": args.mnist,
            "command": "python -m benchmarks.run " + " ".join(sys.argv[1:] if argv is None else argv),
        },
        "cases": {},
    }
    machine = results["machine"]
    print(
        f"{machine['cpu']}, {machine['cores']} cores; TF {machine['tensorflow']}, "
        f"Keras {machine['keras']}, TFP {machine['tensorflow_probability']}, "
        f"torch {machine.get('torch', 'not installed')}",
        flush=True,
    )
    start = time.perf_counter()

    def record(name, rows):
        results["cases"][name] = rows
        results["headline"] = headline(results["cases"])
        results["seconds"] = round(time.perf_counter() - start, 1)
        common.write_json(args.output, results)
        print(f"\n== {name} ({results['seconds']} s so far)")
        print(common.table(rows, COLUMNS[name]), flush=True)

    images = None
    if "vae" in args.cases or "scaling" in args.cases:
        from benchmarks import vae

        images = vae.mnist_images(args.mnist)
    if "sampler" in args.cases:
        from benchmarks import sampler

        rows = sampler.run(rounds=5 if quick else 15, min_time=0.05 if quick else 0.06)
        record("sampler", rows)
    if "vae" in args.cases:
        rows = vae.throughput(images, rounds=3 if quick else 7, steps=15 if quick else 20)
        record("vae", rows)
    if "gan" in args.cases:
        from benchmarks import gan

        seconds = args.gan_seconds or (12.0 if quick else 30.0)
        ks = (5, 50) if quick else (5, 50, 500, 5000)
        record("gan", gan.run(ks=ks, max_seconds=seconds))
    if "scaling" in args.cases:
        from benchmarks import sampler

        sizes = (10**3, 10**4, 10**5, 10**6) if quick else (10**3, 10**4, 10**5, 10**6, 10**7)
        record("sampler_scaling", sampler.scaling(sizes, rounds=5, min_time=0.08))
        image_counts = (1000, 4000) if quick else (1000, 6000, 20000, 60000)
        record("vae_epoch_scaling", vae.epoch_scaling(images, image_counts))
    print("\n== headline")
    for line in results["headline"]:
        print(line)
    print(f"\nwrote {args.output} ({results['seconds']} s)")
    return results


if __name__ == "__main__":
    main()
