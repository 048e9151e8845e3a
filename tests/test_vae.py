import itertools
import json

import numpy as np
import pytest
import tensorflow as tf

import keras
from keras_gumbel import GumbelSoftmax
from keras_gumbel.models import DiscreteVAE
from keras_gumbel.apps.common.seeds import derive_seed
from keras_gumbel.apps.vae.model import mlp_decoder, mlp_encoder
from helpers import small_vae

D = 16  # pixels of the small test images


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
    np.testing.assert_allclose(
        after["hard_loss"], after["hard_reconstruction"] + after["kl"], rtol=1e-5
    )
    assert after["kl"] > 0.0


def softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def test_evaluate_matches_a_numpy_elbo_on_a_fixed_code():
    # The encoder's logits are +-50 whatever the image: q(z | x) puts all but
    # e^-100 of its mass on the code (1, 2), and Gumbel noise (|g| < 30 for
    # draws likelier than 1e-13) cannot move the argmax, nor the relaxed
    # sample at temperature 1 by more than e^-40. So evaluate's hard and
    # relaxed losses are the negative ELBO of that one code, computed here
    # from the weights in float64.
    vae = small_vae(latent_dim=2, units=(8,))
    vae.compile()
    code = np.array([1, 2])
    logits = np.full((2, 3), -50.0)
    logits[np.arange(2), code] = 50.0
    last = vae.encoder.layers[-1]
    last.set_weights([np.zeros_like(last.kernel.numpy()), logits.ravel().astype(np.float32)])
    x = images(40)
    results = vae.evaluate(dataset(x), verbose=0, return_dict=True)

    w1, b1, w2, b2 = [w.astype(np.float64) for w in vae.decoder.get_weights()]
    z = np.zeros(6)
    z[[1, 3 + 2]] = 1.0
    pixel_logits = np.maximum(z @ w1 + b1, 0.0) @ w2 + b2
    # -log Bernoulli(x | sigmoid(l)) = softplus(l) - x l, summed over pixels.
    reconstruction = (softplus(pixel_logits) - x * pixel_logits).sum(axis=1)
    log_q = logits - np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1, keepdims=True)) - logits.max(1, keepdims=True)
    kl = (np.exp(log_q) * (log_q + np.log(3))).sum()
    np.testing.assert_allclose(results["hard_reconstruction"], reconstruction.mean(), rtol=1e-5)
    np.testing.assert_allclose(results["kl"], kl, rtol=1e-5)
    np.testing.assert_allclose(results["hard_loss"], reconstruction.mean() + kl, rtol=1e-5)
    np.testing.assert_allclose(results["loss"], reconstruction.mean() + kl, rtol=1e-5)


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
    assert not {"min_temperature", "anneal_rate", "anneal_every", "temperature"} & set(
        vae.get_config()
    )  # annealing is training configuration, not model state
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
    # Every random stream continues where the saved model was: the
    # sampler's, the prior's, the importance samples' and evaluation's.
    logits = keras.ops.convert_to_tensor(np.random.default_rng(1).normal(size=(5, 4, 3)), "float32")
    np.testing.assert_array_equal(loaded.sampler(logits, training=True),
                                  vae.sampler(logits, training=True))
    np.testing.assert_array_equal(loaded.sample(4), vae.sample(4))
    np.testing.assert_allclose(loaded.log_likelihood(x[:3], samples=5),
                               vae.log_likelihood(x[:3], samples=5), rtol=1e-6)
    np.testing.assert_allclose(
        loaded.evaluate(dataset(x), verbose=0), vae.evaluate(dataset(x), verbose=0), rtol=1e-5
    )
    loaded.fit(dataset(x), epochs=1, verbose=0)  # training resumes
    assert int(loaded.optimizer.iterations.numpy()) == 20


@pytest.mark.parametrize("build", ["helper", "default"])
def test_same_seed_same_training_whatever_is_drawn_between_fits(build):
    # Two runs with one seed; the second evaluates, samples the prior and
    # estimates log p(x) between its two fits. The training noise is the
    # sampler's own stream: the weights end identical.
    x = images(40 if build == "default" else 200, seed=2)
    if build == "default":
        x = np.tile(x, (1, 784 // D))
    runs = []
    for interleave in (False, True):
        vae = small_vae(seed=5) if build == "helper" else DiscreteVAE(seed=5)
        vae.compile()
        vae.fit(dataset(x), epochs=1, verbose=0)
        if interleave:
            vae.evaluate(dataset(x), verbose=0)
            vae.sample(7)
            vae.log_likelihood(x[:4], samples=3)
        vae.fit(dataset(x), epochs=1, verbose=0)
        runs.append(vae.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_every_stream_starts_at_its_own_state():
    vae = DiscreteVAE(seed=3)
    states = {name: tuple(keras.ops.convert_to_numpy(g.state)) for name, g in vae._streams.items()}
    states["sampler"] = tuple(keras.ops.convert_to_numpy(vae.sampler.seed_generator.state))
    assert len(set(states.values())) == len(states) == 4, states
    kernels = [layer.kernel_initializer.seed for layer in vae.encoder.layers + vae.decoder.layers]
    assert len(set(kernels + [s[0] for s in states.values()])) == len(kernels) + 4
    # The same root seed derives the same streams: a second model draws alike.
    again = DiscreteVAE(seed=3)
    np.testing.assert_array_equal(again.sample(5), DiscreteVAE(seed=3).sample(5))
    assert derive_seed(3, "prior") != derive_seed(4, "prior")


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
     ("reinmax", {"temperature": 1.0}),
     ("gapped_straight_through", {})],
)
def test_every_estimator_trains_in_compiled_fit(estimator, kwargs):
    vae = small_vae(estimator=estimator, **kwargs)
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    x = images()
    before = vae.evaluate(dataset(x), verbose=0, return_dict=True)["hard_loss"]
    vae.fit(dataset(x), epochs=2, verbose=0)
    assert vae.sampler.estimator == estimator
    assert vae.get_config()["sampler"]["config"]["estimator"] == estimator
    assert vae.evaluate(dataset(x), verbose=0, return_dict=True)["hard_loss"] < before - 1.0


def test_trainable_temperature_is_learned_end_to_end():
    vae = small_vae(trainable_temperature=True, temperature=2.0, min_temperature=1.5)
    vae.compile(optimizer=keras.optimizers.Adam(5e-2))
    vae.fit(dataset(images()), epochs=2, verbose=0)
    # On these two-prototype images the relaxed negative ELBO prefers softer
    # samples (their noise costs more reconstruction than their blur): the
    # temperature rises from 2.0 (to about 2.4 in 20 Adam steps of ~0.05);
    # a temperature without gradient would stay at 2.0.
    assert float(vae.sampler.temperature.numpy()) > 2.2
    assert any(v is vae.sampler.temperature for v in vae.trainable_variables)
    # Its floor is the sampler's own min_temperature.
    assert vae.sampler.temperature.constraint.min_value == 1.5
    with pytest.raises(ValueError, match="is learned, not annealed"):
        vae.temperature_scheduler()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"latent_dim": 0}, "latent_dim must be an integer >= 1, received latent_dim=0"),
        ({"num_categories": 1}, "num_categories must be an integer >= 2"),
        ({"seed": 1.5}, "seed must be None or an integer, received seed=1.5"),
        ({"encoder": keras.layers.Dense(7)},
         r"encoder must be a Keras layer or model mapping \(None, 784\) to \(None, 300\) "
         r"or \(None, 30, 10\), received encoder='\w+' with outputs of shape \(None, 7\)"),
        ({"encoder": "mlp"}, "encoder must be a Keras layer or model .* received encoder='mlp'"),
        ({"decoder": mlp_decoder(4, 3)},
         r"decoder must be .* received decoder='decoder', which fails on inputs of shape \(None, 300\)"),
        ({"sampler": keras.layers.Softmax()},
         "sampler must be a keras_gumbel.GumbelSoftmax layer over the last axis"),
        ({"sampler": GumbelSoftmax(axis=1)}, "sampler must be a keras_gumbel.GumbelSoftmax"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DiscreteVAE(**kwargs)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: mlp_encoder(units=(8, -1)), "encoder_units must be a non-empty sequence"),
        (lambda: mlp_decoder(units=()), "decoder_units must be a non-empty sequence"),
        (lambda: mlp_encoder(activation="nope"),
         "activation must be the name of a Keras activation, received activation='nope'"),
        (lambda: mlp_decoder(input_dim=0), "input_dim must be an integer >= 1"),
    ],
)
def test_bad_builder_arguments_are_refused(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_default_model_is_the_tutorials():
    vae = DiscreteVAE(seed=0)
    dense = [layer for part in (vae.encoder, vae.decoder) for layer in part.layers]
    assert [layer.kernel.shape for layer in dense] == [
        (784, 512), (512, 256), (256, 300), (300, 256), (256, 512), (512, 784)]
    assert [layer.activation.__name__ for layer in dense] == ["relu", "relu", "linear"] * 2
    assert isinstance(vae.sampler, GumbelSoftmax) and vae.sampler.estimator == "relaxed"
    assert float(vae.sampler.temperature.numpy()) == 1.0 and not vae.sampler.trainable_temperature
    # The tutorial's annealing, as a convenience that is not model state.
    scheduler = vae.temperature_scheduler()
    assert scheduler.schedule.get_config() == {
        "initial": 1.0, "rate": 3e-5, "minimum": 0.5, "every": 100}


def test_composed_parts_train_save_and_load(tmp_path):
    # Any Keras parts of the right shapes: a functional encoder with
    # [B, L, K] logits, a subclass-free decoder and a straight-through
    # sampler.
    inputs = keras.Input((D,))
    hidden = keras.layers.Dense(16, activation="tanh")(inputs)
    encoder = keras.Model(inputs, keras.layers.Reshape((4, 3))(keras.layers.Dense(12)(hidden)))
    decoder = keras.Sequential([keras.layers.Dense(16, activation="tanh"), keras.layers.Dense(D)])
    sampler = GumbelSoftmax(temperature=0.7, hard=True, seed=3)
    vae = DiscreteVAE(encoder, decoder, sampler, latent_dim=4, num_categories=3, input_dim=D, seed=1)
    assert vae.encoder is encoder and vae.decoder is decoder and vae.sampler is sampler
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    x = images()
    before = vae.evaluate(dataset(x), verbose=0, return_dict=True)["hard_loss"]
    vae.fit(dataset(x), epochs=2, verbose=0)
    assert vae.evaluate(dataset(x), verbose=0, return_dict=True)["hard_loss"] < before - 1.0
    path = tmp_path / "composed.keras"
    vae.save(path)
    loaded = keras.saving.load_model(path)
    assert json.dumps(loaded.get_config(), sort_keys=True) == json.dumps(
        vae.get_config(), sort_keys=True)
    assert loaded.sampler.hard and loaded.sampler.initial_temperature == 0.7
    np.testing.assert_allclose(loaded.reconstruct(x), vae.reconstruct(x), rtol=1e-6)
    np.testing.assert_allclose(
        loaded.evaluate(dataset(x), verbose=0), vae.evaluate(dataset(x), verbose=0), rtol=1e-5)


def test_compile_refuses_a_loss():
    with pytest.raises(ValueError, match="computes its own loss"):
        small_vae().compile(loss="mse")


BAD_CODES = [3, -1, 1_000_000]  # small_vae has 3 categories
BAD_PIXELS = [np.nan, np.inf, -np.inf, 255.0, -0.1, 1.0001]


@pytest.mark.parametrize("bad", BAD_CODES)
def test_decode_refuses_codes_outside_the_categories(bad):
    vae = small_vae()
    codes = np.array([[0, 1, 2, 0], [2, 2, 1, bad]], np.int32)
    with pytest.raises(ValueError, match=r"z must be integer codes in \[0, 3\), received z with values in"):
        vae.decode(codes)
    # In a traced function, an assertion fails when it runs.
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"z must be integer codes in \[0, 3\)"):
        tf.function(vae.decode)(tf.constant(codes))
    # The edges of the range decode.
    edges = np.array([[0, 0, 0, 0], [2, 2, 2, 2]], np.int32)
    assert keras.ops.convert_to_numpy(vae.decode(edges)).shape == (2, D)
    assert keras.ops.convert_to_numpy(tf.function(vae.decode)(tf.constant(edges))).shape == (2, D)


@pytest.mark.parametrize("bad", BAD_PIXELS)
def test_encode_reconstruct_and_log_likelihood_refuse_bad_pixels(bad):
    vae = small_vae()
    x = images(4)
    x[2, 5] = bad
    message = r"x must be finite pixel values in \[0, 1\], received x"
    for method in (vae.encode, vae.reconstruct, lambda x: vae.log_likelihood(x, samples=2)):
        with pytest.raises(ValueError, match=message):
            method(x)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"x must be finite pixel values in \[0, 1\]"):
        tf.function(vae.reconstruct)(tf.constant(x))


def test_pixels_at_zero_and_one_and_ints_in_range_are_accepted():
    vae = small_vae()
    edges = np.array([[0.0] * D, [1.0] * D], np.float32)
    assert keras.ops.convert_to_numpy(vae.reconstruct(edges)).shape == (2, D)
    assert keras.ops.convert_to_numpy(vae.reconstruct(edges.astype(np.uint8))).shape == (2, D)
    with pytest.raises(ValueError, match=r"received x with values in \[0, 248\]"):
        vae.encode(np.arange(2 * D, dtype=np.uint8).reshape(2, D) * 8)  # 0-255 pixels


def test_fit_and_evaluate_do_not_go_through_the_input_checks(monkeypatch):
    # Training data is checked where it is loaded; the steps stay as fast
    # as they were.
    import keras_gumbel.apps.vae.model as vae_module

    calls = []
    real = vae_module.check_tensor_range

    def counting(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(vae_module, "check_tensor_range", counting)
    vae = small_vae()
    vae.compile(jit_compile=False)
    vae.fit(dataset(images(40)), epochs=1, verbose=0)
    vae.evaluate(dataset(images(40)), verbose=0)
    assert calls == []
    vae.reconstruct(images(2))
    assert calls == ["x", "codes"]
