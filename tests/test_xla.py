"""Every train step compiles under XLA, and the XLA noise is uniform.

A train step that lowers to HLO as a whole has no `py_function`, no host
round trip and no op without an XLA kernel: it runs unchanged on a GPU or a
TPU. `experimental_get_compiler_ir(...)(stage="hlo")` fails otherwise.
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gumbel import GumbelSoftmax, RelaxedBernoulli
from keras_gumbel import _random
from keras_gumbel.data import NUMBER_PROBS, number_stream
from keras_gumbel.models import CategoricalGenerator, GumbelGAN
from helpers import small_vae


def tiny_vae(hard=False):
    vae = small_vae(latent_dim=3, num_categories=4, input_dim=16, units=(8,), hard=hard, seed=1)
    vae.compile(jit_compile=True)
    return vae


def tiny_gan(hard=False):
    gan = GumbelGAN(
        CategoricalGenerator(5, temperature=0.5, hard=hard, seed=2),
        generator_steps=2,
        true_probs=NUMBER_PROBS,
    )
    gan.compile(
        d_optimizer=keras.optimizers.SGD(0.1),
        g_optimizer=keras.optimizers.SGD(0.1),
        jit_compile=True,
    )
    return gan


def assert_step_lowers_to_hlo(model, batch):
    hlo = tf.function(model.train_step, jit_compile=True).experimental_get_compiler_ir(batch)(
        stage="hlo"
    )
    assert "ENTRY" in hlo
    # Host callbacks (py_function, numpy_function) would show as custom calls.
    assert "custom-call" not in hlo and "custom_call" not in hlo


@pytest.mark.parametrize("hard", [False, True])
def test_vae_train_step_compiles_under_xla(hard):
    vae = tiny_vae(hard)
    x = np.random.default_rng(0).uniform(size=(8, 16)).astype("float32")
    history = vae.fit(
        x, epochs=1, batch_size=4, verbose=0, callbacks=[vae.temperature_scheduler()]
    )
    assert vae.jit_compile is True
    assert all(math.isfinite(v) for v in history.history["loss"])
    assert_step_lowers_to_hlo(vae, tf.constant(x[:4]))


@pytest.mark.parametrize("hard", [False, True])
def test_gan_train_step_compiles_under_xla(hard):
    gan = tiny_gan(hard)
    data = number_stream(NUMBER_PROBS, batch_size=16, seed=3)
    history = gan.fit(data, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)
    assert gan.jit_compile is True
    assert all(math.isfinite(v) for v in history.history["d_loss"])
    batch = next(iter(data))
    assert_step_lowers_to_hlo(gan, batch)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_xla_uniform_noise_is_uniform_on_tiny_to_one(dtype):
    n = 200_000
    fn = tf.function(lambda s: _random.uniform([n], s, dtype), jit_compile=True)
    u = fn(tf.constant([4, 5], tf.int32)).numpy()
    assert u.dtype == dtype
    assert u.min() >= np.finfo(dtype).tiny and u.max() < 1.0
    # Mean 1/2 and variance 1/12, each within 5 standard errors.
    assert abs(u.mean() - 0.5) < 5 * math.sqrt(1 / 12 / n)
    assert abs(u.var() - 1 / 12) < 5 * math.sqrt(1 / 180 / n)
    # The ten deciles hold a tenth each (binomial standard error).
    counts = np.histogram(u, bins=10, range=(0.0, 1.0))[0]
    assert np.all(np.abs(counts / n - 0.1) < 5 * math.sqrt(0.09 / n))
    # Successive values are uncorrelated and new seeds give new noise.
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 5 / math.sqrt(n)
    assert not np.array_equal(u, fn(tf.constant([4, 6], tf.int32)).numpy())


@pytest.mark.parametrize("layer_class", [GumbelSoftmax, RelaxedBernoulli])
def test_layers_under_xla_draw_fresh_noise_each_call(layer_class):
    layer = layer_class(temperature=0.5, seed=3)
    x = tf.zeros((64, 10))
    fn = tf.function(lambda v: layer(v, training=True), jit_compile=True)
    a, b = fn(x).numpy(), fn(x).numpy()
    assert np.isfinite(a).all() and not np.array_equal(a, b)
