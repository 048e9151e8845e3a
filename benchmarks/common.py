"""Shared benchmark helpers: interleaved timing, machine description, atomic JSON."""

import json
import math
import os
import platform
import statistics
import tempfile
import time


def machine_info():
    """Versions, thread counts and CPU of this machine."""
    import keras
    import numpy as np
    import tensorflow as tf
    import tensorflow_probability as tfp

    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tensorflow_probability": tfp.__version__,
        "numpy": np.__version__,
        "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
    }
    torch = optional_torch()
    if torch is not None:
        info["torch"] = torch.__version__
        info["torch_threads"] = torch_default_threads()
        info["omp_wait_policy"] = os.environ.get("OMP_WAIT_POLICY", "unset")
    return info


# The sampler benchmarks' shapes and temperature (benchmarks/sampler.py,
# benchmarks/backends.py).
SHAPES = ((100, 30, 10), (4096, 30, 10), (1024, 1000))
TAU = 0.5

_TORCH = {}


def optional_torch():
    """The torch module, or `None` if it is not installed. Its default thread
    count is remembered on first import (see `torch_default_threads`)."""
    if "module" not in _TORCH:
        try:
            import torch
        except ImportError:
            torch = None
        _TORCH["module"] = torch
        _TORCH["threads"] = torch.get_num_threads() if torch is not None else None
    return _TORCH["module"]


def torch_default_threads():
    """torch's thread count before any benchmark changed it."""
    optional_torch()
    return _TORCH["threads"]


def interleaved(fns, rounds=7, min_time=0.2):
    """Median seconds per call of each fn in `fns` (a dict name -> callable).

    Each round times every function once, in turn (A/B/A/B), over enough
    calls to last `min_time`, so slow drift of a shared machine hits all
    candidates alike; the median over rounds discards outliers.
    """
    calls = {}
    for name, fn in fns.items():
        fn()  # warm up: tracing, allocation
        start, n = time.perf_counter(), 0
        while n < 2 or time.perf_counter() - start < min_time / 4:
            fn()
            n += 1
        per_call = (time.perf_counter() - start) / n
        calls[name] = max(1, math.ceil(min_time / per_call))
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(calls[name]):
                fn()
            times[name].append((time.perf_counter() - start) / calls[name])
    return {name: statistics.median(t) for name, t in times.items()}


def write_json(path, data):
    """Writes JSON to a temporary file beside `path`, then renames it."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def table(rows, columns):
    """A plain-text table of dict rows."""
    widths = [max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(str(r.get(c, "")).ljust(w) for c, w in zip(columns, widths)))
    return "\n".join(lines)


def torch_threads(fn, threads):
    """`fn` run with `threads` torch threads (`None`: torch's default)."""
    torch = optional_torch()
    threads = threads or torch_default_threads()

    def call():
        torch.set_num_threads(threads)
        return fn()

    return call


def torch_candidates(shape, hard):
    """`torch.nn.functional.gumbel_softmax` forward + backward at torch's
    default thread count (`torch`) and at one thread (`torch_1thread`): on a
    shared machine OpenMP's spinning threads can make the default slower, so
    the ratios use the faster of the two. Empty without torch."""
    torch = optional_torch()
    if torch is None:
        return {}
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(shape, generator=gen).requires_grad_(True)
    w = torch.randn(shape, generator=gen)

    def step():
        logits.grad = None
        y = torch.nn.functional.gumbel_softmax(logits, tau=TAU, hard=hard)
        (w * y).sum().backward()
        return logits.grad

    return {"torch": torch_threads(step, None), "torch_1thread": torch_threads(step, 1)}
