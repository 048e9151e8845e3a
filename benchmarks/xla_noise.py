"""The experiment behind `keras_gumbel._random.xla_uniform`: XLA on CPU, Threefry
uniforms drawn as 32-bit words (TensorFlow's float32 draw) or as 64-bit
words (ours), alone and fused into their consumers, and the layer's forward
+ backward with either draw against the layer without XLA.

    python -m benchmarks.xla_noise [--shape 4096,30,10]

Prints median µs per call (interleaved rounds).
"""

import argparse
from unittest import mock

import numpy as np
import tensorflow as tf

from benchmarks.common import interleaved, table
from keras_gumbel import GumbelSoftmax
from keras_gumbel import _random

TINY = float(np.finfo("float32").tiny)


def uniform_32(shape, seed, dtype="float32", tiny=TINY):
    """TensorFlow's own float32 Threefry draw (two 32-bit words per block)."""
    return tf.random.stateless_uniform(
        shape, seed=seed, minval=tiny, maxval=1.0, dtype=dtype, alg="threefry"
    )


def cases(shape):
    logits = tf.Variable(tf.random.stateless_normal(shape, [1, 2]))
    weights = tf.random.stateless_normal(shape, [3, 4])
    temperature = tf.Variable(0.5, trainable=False)
    seed = tf.Variable([3, 4])

    def noise(draw):
        seed.assign_add([1, 0])
        return -tf.math.log(-tf.math.log(draw(shape, tf.identity(seed), "float32", TINY)))

    def xla(fn):
        return tf.function(fn, jit_compile=True)

    fns = {}
    for bits, draw in (("32", uniform_32), ("64", _random.xla_uniform)):
        fns[f"noise_{bits}"] = xla(lambda d=draw: noise(d))
        fns[f"logits_plus_noise_{bits}"] = xla(lambda d=draw: logits + noise(d))
        fns[f"softmax_over_temperature_{bits}"] = xla(
            lambda d=draw: tf.nn.softmax((logits + noise(d)) / temperature)
        )

    def layer_step(jit_compile, draw=None):
        layer = GumbelSoftmax(temperature=0.5, seed=0)

        def step():
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(weights * layer(logits, training=True))
            return tape.gradient(loss, logits)

        compiled = tf.function(step, jit_compile=jit_compile)
        if draw is not None:
            with mock.patch.object(_random, "xla_uniform", draw):
                compiled()  # traced with this draw
        return compiled

    fns["layer_forward_backward"] = layer_step(False)
    fns["layer_forward_backward_xla_32"] = layer_step(True, uniform_32)
    fns["layer_forward_backward_xla_64"] = layer_step(True, _random.xla_uniform)
    return fns


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", default="4096,30,10")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    shape = tuple(int(s) for s in args.shape.split(","))
    medians = interleaved(cases(shape), rounds=args.rounds, min_time=0.1)
    base = medians["layer_forward_backward"]
    rows = [
        {
            "case": name,
            "us_per_call": round(seconds * 1e6, 1),
            "vs_layer_without_xla": round(seconds / base, 3) if name.startswith("layer") else "",
        }
        for name, seconds in medians.items()
    ]
    print(f"shape {shape}")
    print(table(rows, ["case", "us_per_call", "vs_layer_without_xla"]))
    return rows


if __name__ == "__main__":
    main()
