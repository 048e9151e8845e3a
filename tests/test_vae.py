import itertools
import json

import numpy as np
import pytest
import tensorflow as tf

import keras
from keras_gumbel.models import DiscreteVAE

D = 16  # pixels of the small test images


def small_vae(**kwargs):
    args = dict(latent_dim=4, num_categories=3, input_dim=D, encoder_units=(32,),
                decoder_units=(32,), seed=0)
    args.update(kwargs)
    return DiscreteVAE(**args)


def images(n=200, seed=0):
    # Two prototypes with noise: structure the latent code can capture.
    rng = np.random.default_rng(seed)
    proto = rng.uniform(size=(2, D)) > 0.5
    x = proto[rng.integers(0, 2, n)].astype(np.float32)
    flip = rng.uniform(size=x.shape) < 0.05
    return np.where(flip, 1.0 - x, x).astype(np.float32)


def dataset(x, batch_size=20):
    return tf.data.Dataset.from_tensor_slices(x).batch(batch_size)


def test_one_epoch_lowers_the_loss_and_reports_the_metrics():
    vae = small_vae()
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    x = images()
    before = vae.evaluate(dataset(x), verbose=0, return_dict=True)
    history = vae.fit(dataset(x), epochs=1, verbose=0, callbacks=[vae.temperature_scheduler()])
    after = vae.evaluate(dataset(x), verbose=0, return_dict=True)
    assert set(history.history) == {"loss", "reconstruction", "kl", "temperature"}
    assert set(after) == {"loss", "reconstruction", "kl", "hard_loss", "hard_reconstruction"}
    # 10 Adam steps at 1e-2 on 16 Bernoulli pixels: the negative ELBO starts
    # near 16 log 2 = 11.1 nats and must fall by more than a nat.
    assert after["loss"] < before["loss"] - 1.0
    np.testing.assert_allclose(after["loss"], after["reconstruction"] + after["kl"], rtol=1e-5)
    assert after["kl"] >= 0.0 and after["hard_loss"] >= after["kl"]


def test_kl_is_the_analytic_kl_to_the_uniform_prior():
    vae = small_vae()
    x = images(5)
    logits, _ = vae.encode(x)
    q = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
    expected = (q * np.log(q * 3)).sum(axis=(1, 2))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(vae._kl(logits)), expected, rtol=1e-5)


def test_encode_decode_sample_shapes_and_dtypes():
    vae = small_vae()
    x = images(6)
    logits, codes = vae.encode(x)
    assert logits.shape == (6, 4, 3) and codes.shape == (6, 4)
    assert keras.backend.standardize_dtype(codes.dtype) == "int32"
    np.testing.assert_array_equal(codes, np.argmax(logits, -1))
    pixels = keras.ops.convert_to_numpy(vae.decode(codes))
    assert pixels.shape == (6, D) and pixels.dtype == np.float32
    assert (pixels > 0).all() and (pixels < 1).all()
    one_hot = keras.ops.one_hot(codes, 3)
    np.testing.assert_allclose(vae.decode(one_hot), pixels, rtol=1e-6)
    np.testing.assert_allclose(vae.reconstruct(x), pixels, rtol=1e-6)
    np.testing.assert_allclose(vae(x), pixels, rtol=1e-6)  # inference: argmax codes
    drawn = keras.ops.convert_to_numpy(vae.sample(3000, seed=1))
    assert drawn.shape == (3000, 4) and drawn.dtype == np.int32
    # Uniform prior: each class has frequency 1/3 within 5 sigma.
    freq = np.bincount(drawn.ravel(), minlength=3) / drawn.size
    assert np.abs(freq - 1 / 3).max() < 5 * np.sqrt(2 / 9 / drawn.size)
    np.testing.assert_array_equal(vae.sample(5, seed=7), vae.sample(5, seed=7))
    with pytest.raises(ValueError, match=r"integer codes must have shape \(B, 4\)"):
        vae.decode(np.zeros((2, 5), np.int32))
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        vae.sample(0)


def test_save_load_same_outputs_for_the_same_seed(tmp_path):
    vae = small_vae(temperature=0.9)
    vae.compile()
    x = images()
    vae.fit(dataset(x), epochs=1, verbose=0, callbacks=[vae.temperature_scheduler()])
    path = tmp_path / "vae.keras"
    vae.save(path)
    loaded = keras.saving.load_model(path)
    assert json.dumps(loaded.get_config(), sort_keys=True) == json.dumps(
        vae.get_config(), sort_keys=True
    )
    np.testing.assert_allclose(loaded.reconstruct(x), vae.reconstruct(x), rtol=1e-6)
    np.testing.assert_allclose(
        loaded.sampler.temperature.numpy(), vae.sampler.temperature.numpy()
    )
    np.testing.assert_array_equal(loaded.sample(4, seed=3), vae.sample(4, seed=3))
    # The sampler's noise continues where the saved model was.
    np.testing.assert_allclose(
        loaded.evaluate(dataset(x), verbose=0), vae.evaluate(dataset(x), verbose=0), rtol=1e-5
    )
    loaded.fit(dataset(x), epochs=1, verbose=0)  # training resumes
    assert int(loaded.optimizer.iterations.numpy()) == 20


def test_same_seed_same_training():
    x = images()
    runs = []
    for _ in range(2):
        vae = small_vae(seed=5)
        vae.compile()
        vae.fit(dataset(x), epochs=1, verbose=0)
        runs.append(vae.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def exact_log_likelihood(vae, x):
    """log p(x) by enumerating every code (latent_dim=2, K=3: 9 codes)."""
    codes = np.array(list(itertools.product(range(3), repeat=2)), np.int32)
    p = keras.ops.convert_to_numpy(vae.decode(codes)).astype(np.float64)
    log_px_z = (x[:, None] * np.log(p) + (1 - x[:, None]) * np.log1p(-p)).sum(-1)
    joint = log_px_z - 2 * np.log(3)
    m = joint.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(joint - m).sum(axis=1, keepdims=True)))[:, 0]


def test_log_likelihood_is_a_lower_bound_that_tightens_to_the_exact_value():
    vae = small_vae(latent_dim=2)
    x = images(8)
    exact = exact_log_likelihood(vae, x)
    one = np.stack([keras.ops.convert_to_numpy(vae.log_likelihood(x, samples=1, seed=s))
                    for s in range(200)])
    many = keras.ops.convert_to_numpy(vae.log_likelihood(x, samples=2000, chunk=500, seed=1))
    # With S = 1 the estimate is the hard ELBO: its mean over 200 draws lies
    # below log p(x) (Jensen), up to 5 standard errors.
    se = one.std(axis=0) / np.sqrt(len(one))
    assert (one.mean(axis=0) <= exact + 5 * se + 1e-6).all()
    # With S = 2000 importance samples over 9 codes, the weights' relative
    # spread is bounded by max w / p(x) <= 1 / min q(z|x); the estimate is
    # within 0.05 nats of the exact value (its bias and noise are O(1/S)).
    np.testing.assert_allclose(many, exact, atol=0.05)
    np.testing.assert_allclose(
        vae.log_likelihood(x, samples=10, seed=4), vae.log_likelihood(x, samples=10, seed=4)
    )


@pytest.mark.parametrize(
    "estimator, kwargs",
    [("straight_through", {}), ("gumbel_rao", {"samples": 3}),
     ("reinmax", {"temperature": 1.0, "min_temperature": 1.0}),
     ("gapped_straight_through", {})],
)
def test_every_estimator_trains_in_compiled_fit(estimator, kwargs):
    vae = small_vae(estimator=estimator, **kwargs)
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    x = images()
    before = vae.evaluate(dataset(x), verbose=0, return_dict=True)["hard_loss"]
    vae.fit(dataset(x), epochs=2, verbose=0)
    assert vae.get_config()["estimator"] == estimator
    assert vae.evaluate(dataset(x), verbose=0, return_dict=True)["hard_loss"] < before - 1.0


def test_trainable_temperature_is_learned_end_to_end():
    vae = small_vae(trainable_temperature=True, temperature=2.0)
    vae.compile(optimizer=keras.optimizers.Adam(5e-2))
    vae.fit(dataset(images()), epochs=2, verbose=0)
    # The loss prefers sharper samples: the learned temperature moves.
    assert abs(float(vae.sampler.temperature.numpy()) - 2.0) > 1e-3
    assert vae.sampler.temperature in vae.trainable_variables
    with pytest.raises(ValueError, match="is learned, not annealed"):
        vae.temperature_scheduler()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"latent_dim": 0}, "latent_dim must be an integer >= 1"),
        ({"num_categories": 1}, "num_categories must be an integer >= 2"),
        ({"encoder_units": (8, -1)}, "encoder_units must be a sequence of integers"),
        ({"temperature": 0.0}, "temperature must be a finite number > 0"),
        ({"min_temperature": -1.0}, "min_temperature must be a finite number > 0"),
        ({"estimator": "reinmax"}, "min_temperature >= 1"),
        ({"estimator": "best"}, "estimator must be one of"),
        ({"activation": "nope"}, "activation must name a Keras activation"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        small_vae(**kwargs)


def test_compile_refuses_a_loss():
    with pytest.raises(ValueError, match="computes its own loss"):
        small_vae().compile(loss="mse")
