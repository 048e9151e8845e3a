"""The sampler on every Keras backend against `torch.nn.functional.gumbel_softmax`.

    python -m benchmarks.backends [--backends tensorflow,jax,torch] [--quick]
                                  [--output benchmarks/backends.json]

For each backend a fresh process (Keras fixes its backend at import) times,
in interleaved rounds (A/B/A/B, medians), one forward + backward of:

- `layer`: `keras_gumbel.GumbelSoftmax(temperature=0.5, hard=...)` in
  training, the gradient of a fixed weighted sum of its samples with respect
  to the logits, compiled as `model.fit` runs it on that backend by default:
  a `tf.function` on TensorFlow, `jax.jit` of the layer's `stateless_call`
  (its seed state carried from call to call, as the JAX trainer does) on
  JAX, eager on PyTorch;
- `torch`, `torch_1thread`: `torch.nn.functional.gumbel_softmax` at torch's
  default thread count and at one thread, in the same process; the ratio
  `speedup_vs_torch` divides by the faster of the two,

at the shapes (100, 30, 10), (4096, 30, 10) and (1024, 1000), relaxed and
straight-through. torch runs with `OMP_WAIT_POLICY=PASSIVE` unless set.
"""

import argparse
import json
import os
import platform
import subprocess
import sys

from benchmarks.common import SHAPES, TAU, interleaved, optional_torch, table, torch_candidates, write_json

BACKENDS = ("tensorflow", "jax", "torch")
COLUMNS = ["backend", "shape", "mode", "impl", "us_per_call", "speedup_vs_torch"]


def _data(shape):
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.normal(size=shape).astype("float32"), rng.normal(size=shape).astype("float32")


def layer_step(shape, hard):
    """A zero-argument callable: one forward + backward of the layer on the
    current Keras backend, compiled as `fit` compiles by default."""
    import keras

    from keras_gumbel import GumbelSoftmax

    backend = keras.backend.backend()
    logits, w = _data(shape)
    layer = GumbelSoftmax(temperature=TAU, hard=hard, seed=0)
    layer.build(shape)
    if backend == "tensorflow":
        import tensorflow as tf

        x, w = tf.Variable(logits), tf.constant(w)

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(w * layer(x, training=True))
            return tape.gradient(loss, x)

        return lambda: step().numpy()
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        x, w = jnp.asarray(logits), jnp.asarray(w)
        trainable = [v.value for v in layer.trainable_variables]

        def loss(x, non_trainable):
            y, non_trainable = layer.stateless_call(trainable, non_trainable, x, training=True)
            return jnp.sum(w * y), non_trainable

        @jax.jit
        def step(x, non_trainable):
            return jax.grad(loss, has_aux=True)(x, non_trainable)

        state = {"non_trainable": [v.value for v in layer.non_trainable_variables]}

        def call():
            grad, state["non_trainable"] = step(x, state["non_trainable"])
            return grad.block_until_ready()

        return call
    if backend == "torch":
        import torch

        x = torch.tensor(logits, requires_grad=True)
        w = torch.tensor(w)

        def call():
            x.grad = None
            (w * layer(x, training=True)).sum().backward()
            return x.grad

        return call
    raise ValueError(f"no layer benchmark for the {backend!r} backend")


def worker(backend, rounds, min_time, shapes=SHAPES):
    """Rows for the current process's backend (KERAS_BACKEND set by the caller)."""
    import keras

    assert keras.backend.backend() == backend, (keras.backend.backend(), backend)
    rows = []
    for shape in shapes:
        for hard in (False, True):
            fns = {"layer": layer_step(shape, hard)}
            fns.update(torch_candidates(shape, hard))
            medians = interleaved(fns, rounds=rounds, min_time=min_time)
            torch_times = [v for k, v in medians.items() if k.startswith("torch")]
            for name, seconds in medians.items():
                row = {
                    "case": "sampler_backends",
                    "backend": backend,
                    "shape": "x".join(map(str, shape)),
                    "mode": "straight_through" if hard else "relaxed",
                    "impl": name,
                    "us_per_call": round(seconds * 1e6, 1),
                }
                if torch_times:
                    row["speedup_vs_torch"] = round(min(torch_times) / seconds, 3)
                rows.append(row)
    return rows


def _versions(backend):
    import keras

    info = {"keras": keras.__version__, "backend": backend}
    if backend == "tensorflow":
        import tensorflow as tf

        info["tensorflow"] = tf.__version__
    elif backend == "jax":
        import jax

        info["jax"] = jax.__version__
    torch = optional_torch()
    info["torch"] = torch.__version__ if torch is not None else None
    return info


def _parse(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.backends", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--backends", default=",".join(BACKENDS), help=f"comma-separated subset of {','.join(BACKENDS)}"
    )
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument("--output", default="benchmarks/backends.json", help="the JSON file")
    parser.add_argument("--worker", choices=BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=None, help="rounds per case (default 15, quick 5)")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not backends or set(backends) - set(BACKENDS):
        parser.error(f"--backends must name some of {BACKENDS}, received --backends={args.backends!r}")
    args.backends = backends
    if args.rounds is None:
        args.rounds = 5 if args.quick else 15
    return args


def main(argv=None):
    args = _parse(argv)
    min_time = 0.05 if args.quick else 0.06
    if args.worker:
        rows = worker(args.worker, args.rounds, min_time)
        print(json.dumps({"versions": _versions(args.worker), "rows": rows}))
        return rows
    if optional_torch() is None:
        sys.exit("benchmarks.backends compares against torch.nn.functional.gumbel_softmax: "
                 'install the CPU wheel, pip install "torch==2.13.0+cpu"')
    results = {
        "command": "python -m benchmarks.backends " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": {"cpu": platform.processor(), "cores": os.cpu_count(), "python": platform.python_version()},
        "versions": {},
        "rows": [],
    }
    for backend in args.backends:
        env = dict(os.environ, KERAS_BACKEND=backend)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        command = [sys.executable, "-m", "benchmarks.backends", "--worker", backend, "--rounds", str(args.rounds)]
        if args.quick:
            command.append("--quick")
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            sys.exit(f"the {backend} run failed (exit status {done.returncode})")
        out = json.loads(done.stdout.strip().splitlines()[-1])
        results["versions"][backend] = out["versions"]
        results["rows"].extend(out["rows"])
        write_json(args.output, results)
        print(f"\n== {backend}")
        print(table(out["rows"], COLUMNS), flush=True)
    print(f"\nwrote {args.output}")
    return results


if __name__ == "__main__":
    main()
