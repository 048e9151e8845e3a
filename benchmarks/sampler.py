"""Case 1 and 4: Gumbel-softmax sampler, forward + backward.

Each candidate computes the gradient of a fixed weighted sum of the samples
with respect to the logits, with fresh noise on every call:

- `layer`: `keras_gumbel.GumbelSoftmax` (training=True) in a `tf.function`;
- `layer_xla`: the same with `jit_compile=True`;
- `op`: `keras_gumbel.ops.gumbel_softmax` with a `SeedGenerator`;
- `tfp`: `tfp.distributions.RelaxedOneHotCategorical(...).sample()` (plus the
  usual straight-through line for hard samples);
- `tf`: a plain TensorFlow formulation (`tf.random.stateless_uniform`,
  `-log(-log(u))`, `tf.nn.softmax`);
- `torch`, `torch_1thread`: `torch.nn.functional.gumbel_softmax` at torch's
  default thread count and at one thread, when torch is importable; the
  `speedup_vs_torch` column divides by the faster of the two.

`speed_vs_fastest_plain_tf` divides by the faster of `tfp` and `tf` (both
without XLA).
"""

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from benchmarks.common import SHAPES, TAU, interleaved, torch_candidates
from keras_gumbel import GumbelSoftmax
from keras_gumbel import ops as gumbel_ops

def _straight_through(y):
    hard = tf.one_hot(tf.argmax(y, -1), y.shape[-1], dtype=y.dtype)
    return hard + (y - tf.stop_gradient(y))


def tf_candidates(shape, hard, jit=True):
    """name -> zero-argument callable running one forward + backward."""
    logits = tf.Variable(tf.random.stateless_normal(shape, [1, 2]))
    w = tf.random.stateless_normal(shape, [3, 4])

    def gradient_step(sample, jit_compile=False):
        @tf.function(jit_compile=jit_compile)
        def step():
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(w * sample(logits))
            return tape.gradient(loss, logits)

        return step

    layer = GumbelSoftmax(temperature=TAU, hard=hard, seed=0)
    layer_xla = GumbelSoftmax(temperature=TAU, hard=hard, seed=0)
    op_seed = keras.random.SeedGenerator(0)
    tfp_seed = keras.random.SeedGenerator(0)
    tf_seed = keras.random.SeedGenerator(0)

    def with_hard(y):
        return _straight_through(y) if hard else y

    def tfp_sample(x):
        seed = tf.cast(tf.math.floormod(tfp_seed.next(), tf.int32.max), tf.int32)
        dist = tfp.distributions.RelaxedOneHotCategorical(TAU, logits=x)
        return with_hard(dist.sample(seed=seed))

    def tf_sample(x):
        seed = tf.cast(tf.math.floormod(tf_seed.next(), tf.int32.max), tf.int32)
        u = tf.random.stateless_uniform(tf.shape(x), seed, minval=1e-20, maxval=1.0)
        return with_hard(tf.nn.softmax((x - tf.math.log(-tf.math.log(u))) / TAU))

    fns = {
        "layer": gradient_step(lambda x: layer(x, training=True)),
        "op": gradient_step(lambda x: gumbel_ops.gumbel_softmax(x, TAU, hard=hard, seed=op_seed)),
        "tfp": gradient_step(tfp_sample),
        "tf": gradient_step(tf_sample),
    }
    if jit:
        fns["layer_xla"] = gradient_step(lambda x: layer_xla(x, training=True), jit_compile=True)
    return fns


def run(shapes=SHAPES, rounds=7, min_time=0.2, jit=True):
    """Rows of median microseconds per call for every candidate and shape."""
    rows = []
    for shape in shapes:
        elements = 1
        for d in shape:
            elements *= d
        for hard in (False, True):
            fns = tf_candidates(shape, hard, jit=jit)
            fns.update(torch_candidates(shape, hard))
            medians = interleaved(fns, rounds=rounds, min_time=min_time)
            fastest_tf = min(medians[k] for k in ("tfp", "tf"))
            torch_times = [v for k, v in medians.items() if k.startswith("torch")]
            for name, seconds in medians.items():
                row = {
                    "case": "sampler",
                    "shape": "x".join(map(str, shape)),
                    "mode": "straight_through" if hard else "relaxed",
                    "impl": name,
                    "us_per_call": round(seconds * 1e6, 1),
                    "elements_per_s": round(elements / seconds),
                    "speed_vs_fastest_plain_tf": round(fastest_tf / seconds, 3),
                }
                if torch_times:
                    row["speedup_vs_torch"] = round(min(torch_times) / seconds, 3)
                if "layer_xla" in medians and name == "layer_xla":
                    row["xla_slowdown_vs_layer"] = round(seconds / medians["layer"], 3)
                rows.append(row)
    return rows


def scaling(sizes=(10**3, 10**4, 10**5, 10**6, 10**7), rounds=5, min_time=0.2):
    """Case 4: forward + backward of `ops.gumbel_softmax` (graph) and of the
    layer under XLA as the element count grows (rows of 10 categories)."""
    rows = []
    for n in sizes:
        fns = tf_candidates((n // 10, 10), hard=False, jit=True)
        medians = interleaved(
            {"op": fns["op"], "layer_xla": fns["layer_xla"]}, rounds=rounds, min_time=min_time
        )
        for name, seconds in medians.items():
            rows.append(
                {
                    "case": "sampler_scaling",
                    "impl": name,
                    "elements": n,
                    "us_per_call": round(seconds * 1e6, 1),
                    "ns_per_element": round(seconds * 1e9 / n, 3),
                }
            )
    return rows
