"""The sequence GAN's adversarial train step: Keras against PyTorch.

    python -m benchmarks.text_gan_speed [--vocab-size 5000] [--batch-size 64]
        [--blocks 3] [--steps-per-block 20] [--steps-per-execution 1,20]
        [--torch-variants default] [--output benchmarks/text_gan_speed.json]
        [--restart] [--profile]

Times one adversarial step (every step adversarial: `mle_epochs=0`) of

- `keras_spe{k}`: the Keras `SequenceGAN` of
  `keras_gumbel.apps.text_gan.recipe.build_gan(TextGANConfig(...))`
  compiled with `steps_per_execution=k`: calls of `model.train_function` on
  an iterator of `sequence_stream` batches (what `fit` calls once per `k`
  steps, without the callbacks), each call's wall time divided by `k`;
- `torch_{variant}`: `benchmarks.text_gan_torch.TorchSequenceGAN.step`, the
  same generator, discriminator and step in PyTorch (variants: `default`
  (our own Gumbel noise from `torch.rand`, torch's default Adam), `gumbel`
  (`F.gumbel_softmax`), `foreach`, `fused` (Adam's implementations),
  `compile` (`torch.compile` of the discriminator), `1thread`,
  `fused_1thread` (at one thread: on a loaded 2-core machine OpenMP's
  synchronisation can make two threads slower than one)),

in ONE process, in alternating blocks (keras, torch, keras, torch, ...:
each round runs one block of every candidate, in turn), each block
`--steps-per-block` steps after a warm-up done once per candidate. One
process rather than two alternating subprocesses: every block of a
candidate continues the same model (no rebuilding, retracing or warm-up
between blocks), the alternation is exact, and the two runtimes do not
compete for the cores because only one of them runs at a time (torch's
OpenMP threads are told to sleep when idle: `OMP_WAIT_POLICY=PASSIVE`
unless set; TensorFlow's own pools block when idle). torch runs with as
many threads as TensorFlow's intra-op pool (the process's cores, unless
configured). The sequences are uniform random tokens (the step's cost does
not depend on them), fed through `sequence_stream` as the recipe does.

Each finished block is written to the JSON file at once (`--output`), so an
interrupted run started again with the same settings continues with the
blocks still missing (another setting's file is refused unless
`--restart`). The summary: per candidate the median of its block medians
(ms per step), the median of all its steps, and `torch/keras`: the fastest
torch candidate's median over each Keras candidate's (above 1: Keras is
faster), against `torch_default` (torch at TensorFlow's thread count) and
`best_torch_over_keras` against the fastest torch candidate;
`os.getloadavg()` before and after the run and around each block.

`--profile` instead times the parts of one step (interleaved rounds,
`benchmarks.common.interleaved`, medians) in both frameworks: the
generator's sampling forward alone and with its backward, the Gumbel
noise, the discriminator's forward + backward (with and without XLA), the
gradients of the whole step without the updates, the updates alone, and
the whole step; written under `"profile"` in the same file.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch's OpenMP starts

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from benchmarks.common import machine_info, table, write_json  # noqa: E402

TORCH_VARIANTS = {
    "default": {},
    "gumbel": {"noise": "torch"},
    "foreach": {"adam": "foreach"},
    "fused": {"adam": "fused"},
    "compile": {"compile": True},
    "1thread": {"threads": 1},
    "fused_1thread": {"adam": "fused", "threads": 1},
}
COLUMNS = ["candidate", "blocks", "ms_per_step", "ms_all_steps", "min_block_ms", "max_block_ms",
           "torch_over_keras", "best_torch_over_keras"]


def tf_threads():
    """TensorFlow's intra-op thread count (its default: the usable cores)."""
    import tensorflow as tf

    return tf.config.threading.get_intra_op_parallelism_threads() or len(os.sched_getaffinity(0))


def _tokens(vocab_size, count=2048, length=20, seed=0):
    import numpy as np

    return np.random.default_rng(seed).integers(0, vocab_size, size=(count, length), dtype=np.int32)


def keras_candidate(vocab_size, batch_size, steps_per_execution, seed=0):
    """`(run, steps_per_call)`: `run()` is one `train_function` call."""
    from keras_gumbel.apps.text_gan.recipe import TextGANConfig, build_gan, sequence_stream

    config = TextGANConfig(vocab_size=vocab_size, batch_size=batch_size, mle_epochs=0,
                           adversarial_epochs=1, seed=seed, verbose=0,
                           steps_per_execution=steps_per_execution)
    gan = build_gan(config)
    gan.make_train_function()
    function = gan.train_function
    iterator = iter(sequence_stream(_tokens(vocab_size), batch_size, seed))

    def run():
        logs = function(iterator)
        if hasattr(logs, "get_value"):  # Keras returns a tf.experimental.Optional
            logs = logs.get_value()
        return float(logs["d_loss"])  # waits for the step

    return run, gan.steps_per_execution, gan


def torch_candidate(vocab_size, batch_size, variant, seed=0):
    import torch

    from benchmarks.text_gan_torch import TorchSequenceGAN

    options = dict(TORCH_VARIANTS[variant])
    threads = options.pop("threads", None) or tf_threads()
    gan = TorchSequenceGAN(vocab_size, seed=seed, **options)
    data = torch.from_numpy(_tokens(vocab_size)).long()
    count = len(data) // batch_size
    state = {"i": 0}

    def run():
        i = state["i"] % count
        state["i"] += 1
        torch.set_num_threads(threads)
        d_loss, _ = gan.step(data[i * batch_size:(i + 1) * batch_size])
        return float(d_loss)

    return run, 1, gan


def _load(path, settings, restart):
    if restart or not os.path.exists(path):
        return None
    with open(path) as f:
        old = json.load(f)
    if old.get("settings") != settings:
        sys.exit(f"{path} holds a run with other settings ({old.get('settings')}); "
                 "pass --restart to replace it or --output to write elsewhere")
    return old


def summarize(blocks, candidates):
    rows = {}
    for name in candidates:
        mine = [b for b in blocks if b["candidate"] == name]
        if not mine:
            continue
        medians = [b["median_s"] for b in mine]
        steps = [s for b in mine for s in b["per_step_s"]]
        rows[name] = {"candidate": name, "blocks": len(mine),
                      "ms_per_step": round(1e3 * statistics.median(medians), 2),
                      "ms_all_steps": round(1e3 * statistics.median(steps), 2),
                      "min_block_ms": round(1e3 * min(medians), 2),
                      "max_block_ms": round(1e3 * max(medians), 2)}
    torch_best = min((r["ms_per_step"] for n, r in rows.items() if n.startswith("torch")), default=None)
    torch_same = rows.get("torch_default", {}).get("ms_per_step")
    for name, row in rows.items():
        if name.startswith("keras") and torch_best is not None:
            row["best_torch_over_keras"] = round(torch_best / row["ms_per_step"], 3)
            if torch_same is not None:
                row["torch_over_keras"] = round(torch_same / row["ms_per_step"], 3)
    return list(rows.values())


def measure(args):
    import torch

    threads = tf_threads()
    torch.set_num_threads(threads)
    candidates = [f"keras_spe{k}" for k in args.steps_per_execution]
    candidates += [f"torch_{v}" for v in args.torch_variants]
    settings = {"vocab_size": args.vocab_size, "batch_size": args.batch_size,
                "steps_per_block": args.steps_per_block, "candidates": candidates}
    results = _load(args.output, settings, args.restart) or {
        "command": "python -m benchmarks.text_gan_speed " + " ".join(args.argv),
        "settings": settings, "machine": machine_info(), "threads": {"tf_intra_op": threads},
        "blocks": [], "runs": []}
    results.setdefault("runs", [])
    results["threads"]["torch"] = torch.get_num_threads()
    run_record = {"load_before": os.getloadavg(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    results["runs"].append(run_record)
    done = {(b["candidate"], b["round"]) for b in results["blocks"]}
    todo = [(r, name) for r in range(args.blocks) for name in candidates if (name, r) not in done]
    makers = {}
    for name in candidates:
        if name.startswith("keras"):
            makers[name] = (lambda k: lambda: keras_candidate(args.vocab_size, args.batch_size, k))(
                int(name[len("keras_spe"):]))
        else:
            makers[name] = (lambda v: lambda: torch_candidate(args.vocab_size, args.batch_size, v))(
                name[len("torch_"):])
    built = {}
    for name in sorted({name for _, name in todo}, key=candidates.index):
        start = time.perf_counter()
        run, per_call, _ = makers[name]()
        for _ in range(2 if per_call > 1 else 3):  # tracing, first allocations, Adam's slots
            run()
        built[name] = (run, per_call)
        print(f"built and warmed up {name} in {time.perf_counter() - start:.1f} s", flush=True)
    for r, name in todo:
        run, per_call = built[name]
        calls = max(1, -(-args.steps_per_block // per_call))
        load_before = os.getloadavg()
        per_step = []
        for _ in range(calls):
            start = time.perf_counter()
            run()
            per_step.append((time.perf_counter() - start) / per_call)
        block = {"candidate": name, "round": r, "steps": calls * per_call, "per_step_s": per_step,
                 "median_s": statistics.median(per_step), "load_before": load_before,
                 "load_after": os.getloadavg()}
        results["blocks"].append(block)
        write_json(args.output, results)
        print(f"round {r} {name}: {1e3 * block['median_s']:.2f} ms/step "
              f"(load {load_before[0]:.2f})", flush=True)
    run_record["load_after"] = os.getloadavg()
    results["summary"] = summarize(results["blocks"], candidates)
    write_json(args.output, results)
    print(table(results["summary"], COLUMNS))
    print(f"load average before {run_record['load_before']}, after {run_record['load_after']}; "
          f"threads: TensorFlow {threads}, torch_default {threads}")
    return results


# --- the profile ---------------------------------------------------------


def keras_parts(vocab_size, batch_size):
    """Zero-argument callables timing the parts of the Keras step."""
    import keras
    import numpy as np
    import tensorflow as tf

    run, _, gan = keras_candidate(vocab_size, batch_size, 1)
    real = tf.constant(_tokens(vocab_size)[:batch_size])
    g_w = gan.generator.trainable_variables
    d_w = gan.discriminator.trainable_variables
    shape = (batch_size, 20, vocab_size)
    fake_const = tf.nn.softmax(tf.random.normal(shape))
    weights = tf.random.normal(shape)

    @tf.function
    def gen_forward():
        return tf.reduce_sum(gan.generate(batch_size))

    @tf.function
    def gen_forward_backward():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(weights * gan.generate(batch_size))
        return tape.gradient(loss, g_w)

    @tf.function
    def noise():
        zeros = tf.zeros((batch_size, vocab_size))
        return tf.add_n([gan.sampler(zeros, training=True) for _ in range(20)])

    def disc(jit):
        def body(fake):
            with tf.GradientTape() as tape:
                tape.watch(fake)
                r = gan.discriminator(real, training=True)
                f = gan.discriminator(fake, training=True)
                loss = tf.reduce_mean(tf.math.softplus(f - r))
            return tape.gradient(loss, d_w + [fake])
        function = tf.function(body, jit_compile=jit)
        return lambda: function(fake_const)

    @tf.function
    def gradients_only():
        with tf.GradientTape(persistent=True) as tape:
            fake = gan.generate(batch_size)
            r = gan.discriminator(real, training=True)
            f = gan.discriminator(fake, training=True)
            d_loss = tf.reduce_mean(tf.math.softplus(f - r))
            g_loss = tf.reduce_mean(tf.math.softplus(r - f))
        return tape.gradient(d_loss, d_w), tape.gradient(g_loss, g_w)

    # The 20 samplings of one sequence batch, forward + backward: the layer
    # (as `generate`), the same draw without the layer's guards (Philox
    # outside XLA), and the noise drawn at once by the library's XLA
    # Threefry path (`keras_gumbel._random.xla_uniform`, jit-compiled alone).
    from keras_gumbel._random import xla_uniform

    tiny = float(np.finfo("float32").tiny)
    x = tf.Variable(tf.random.normal((batch_size, vocab_size)))
    w_step = tf.random.normal((batch_size, vocab_size))
    counter = tf.Variable([1, 2])
    tau = gan.sampler.temperature

    @tf.function(jit_compile=True)
    def threefry_noise(seed):
        return -tf.math.log(-tf.math.log(xla_uniform((20, batch_size, vocab_size), seed, "float32", tiny)))

    def sampling(kind):
        @tf.function
        def body():
            counter.assign_add([0, 1])
            seed = tf.identity(counter)
            with tf.GradientTape() as tape:
                if kind == "layer":
                    ys = [gan.sampler(x + float(i), training=True) for i in range(20)]
                elif kind == "raw":
                    ys = [tf.nn.softmax((x + float(i) - tf.math.log(-tf.math.log(tf.random.stateless_uniform(
                        (batch_size, vocab_size), seed + [i, 0], minval=tiny, maxval=1.0)))) / tau)
                          for i in range(20)]
                else:
                    g = threefry_noise(seed)
                    ys = [tf.nn.softmax((x + float(i) + g[i]) / tau) for i in range(20)]
                loss = tf.add_n([tf.reduce_sum(w_step * y) for y in ys])
            return tape.gradient(loss, x)
        return body

    d_grads = [tf.zeros_like(w) for w in d_w]
    g_grads = [tf.zeros_like(w) for w in g_w]
    d_opt, g_opt = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)
    d_opt.build(d_w)
    g_opt.build(g_w)

    @tf.function
    def updates():
        d_opt.apply(d_grads, d_w)
        g_opt.apply(g_grads, g_w)

    sync = lambda f: lambda: tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, f())  # noqa: E731
    return {
        "keras generate fwd": sync(gen_forward),
        "keras generate fwd+bwd": sync(gen_forward_backward),
        "keras gumbel noise x20": sync(noise),
        "keras sampling x20 fwd+bwd: layer": sync(sampling("layer")),
        "keras sampling x20 fwd+bwd: no guards": sync(sampling("raw")),
        "keras sampling x20 fwd+bwd: xla threefry": sync(sampling("threefry")),
        "keras disc fwd+bwd": sync(disc(False)),
        "keras disc fwd+bwd xla": sync(disc(True)),
        "keras grads (no updates)": sync(gradients_only),
        "keras adam updates": updates,
        "keras full step": run,
    }


def torch_parts(vocab_size, batch_size):
    import torch
    import torch.nn.functional as F

    from benchmarks.text_gan_torch import TINY, TorchSequenceGAN

    gan = TorchSequenceGAN(vocab_size)
    real = torch.from_numpy(_tokens(vocab_size)[:batch_size]).long()
    shape = (batch_size, 20, vocab_size)
    fake_const = torch.softmax(torch.randn(shape), -1)
    weights = torch.randn(shape)
    run, _, _ = torch_candidate(vocab_size, batch_size, "default")
    run_1thread, _, _ = torch_candidate(vocab_size, batch_size, "1thread")
    threads = tf_threads()

    def at_threads(fn):
        def call():
            torch.set_num_threads(threads)
            return fn()
        return call

    def gen_forward():
        with torch.no_grad():
            return gan.generator.generate(batch_size).sum()

    def gen_forward_backward():
        (weights * gan.generator.generate(batch_size)).sum().backward(inputs=gan.g_params)

    def noise():
        with torch.no_grad():
            return sum(F.softmax(-torch.rand(batch_size, vocab_size).clamp_(min=TINY).log_().neg_().log_(), -1)
                       for _ in range(20))

    def disc():
        fake = fake_const.requires_grad_(True)
        loss = F.softplus(gan.discriminator(fake) - gan.discriminator(real)).mean()
        loss.backward(inputs=gan.d_params + [fake])

    def gradients_only():
        fake = gan.generator.generate(batch_size)
        r, f = gan.discriminator(real), gan.discriminator(fake)
        F.softplus(f - r).mean().backward(inputs=gan.d_params, retain_graph=True)
        F.softplus(r - f).mean().backward(inputs=gan.g_params)

    def updates():
        for p in gan.g_params + gan.d_params:
            p.grad = torch.zeros_like(p)
        gan.d_optimizer.step()
        gan.g_optimizer.step()

    return {
        "torch generate fwd": at_threads(gen_forward),
        "torch generate fwd+bwd": at_threads(gen_forward_backward),
        "torch gumbel noise x20": at_threads(noise),
        "torch disc fwd+bwd": at_threads(disc),
        "torch grads (no updates)": at_threads(gradients_only),
        "torch adam updates": at_threads(updates),
        "torch full step": run,
        "torch full step 1thread": run_1thread,
    }


def profile(args):
    import torch

    from benchmarks.common import interleaved

    torch.set_num_threads(tf_threads())
    keras_fns = keras_parts(args.vocab_size, args.batch_size)
    torch_fns = torch_parts(args.vocab_size, args.batch_size)
    load_before = os.getloadavg()
    # Each Keras part next to its torch counterpart, interleaved.
    fns = {}
    for name in keras_fns:
        fns[name] = keras_fns[name]
        twin = name.replace("keras", "torch").replace(" xla", "")
        if twin in torch_fns and twin not in fns:
            fns[twin] = torch_fns[twin]
    fns.update((n, f) for n, f in torch_fns.items() if n not in fns)
    medians = interleaved(fns, rounds=args.rounds, min_time=0.3)
    rows = [{"part": n, "ms": round(1e3 * s, 3)} for n, s in medians.items()]
    record = {"vocab_size": args.vocab_size, "batch_size": args.batch_size, "rounds": args.rounds,
              "load_before": load_before, "load_after": os.getloadavg(), "rows": rows}
    results = {}
    if os.path.exists(args.output):
        with open(args.output) as f:
            results = json.load(f)
    results.setdefault("profile", []).append(record)
    write_json(args.output, results)
    print(table(rows, ["part", "ms"]))
    print(f"load average before {record['load_before']}, after {record['load_after']}")
    return record


def _ints(text):
    return [int(v) for v in text.split(",") if v.strip()]


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.text_gan_speed",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--vocab-size", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--blocks", type=int, default=3, help="blocks (rounds) per candidate")
    parser.add_argument("--steps-per-block", type=int, default=20)
    parser.add_argument("--steps-per-execution", type=_ints, default=[1, 20],
                        help="comma-separated Keras steps_per_execution values (default 1,20)")
    parser.add_argument("--torch-variants", default="default,1thread,fused_1thread",
                        help=f"comma-separated subset of {','.join(TORCH_VARIANTS)}")
    parser.add_argument("--output", default="benchmarks/text_gan_speed.json")
    parser.add_argument("--restart", action="store_true", help="replace a file of other settings")
    parser.add_argument("--profile", action="store_true", help="time the step's parts instead")
    parser.add_argument("--rounds", type=int, default=5, help="--profile's interleaved rounds")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.torch_variants = [v.strip() for v in args.torch_variants.split(",") if v.strip()]
    if not args.torch_variants or set(args.torch_variants) - set(TORCH_VARIANTS):
        parser.error(f"--torch-variants must name some of {tuple(TORCH_VARIANTS)}")
    if not args.steps_per_execution or min(args.steps_per_execution) < 1:
        parser.error("--steps-per-execution must be positive integers")
    for name in ("vocab_size", "batch_size", "blocks", "steps_per_block"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def main(argv=None):
    args = _parse(argv)
    return profile(args) if args.profile else measure(args)


if __name__ == "__main__":
    main()
