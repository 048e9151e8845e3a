"""The sequence GAN (keras_gumbel/apps/text_gan): the oracle benchmark's
definitions (weights, samples, likelihoods), the data stream, the GAN's
phases and gradients, the recipe's checks, outputs, resumption and export,
and the command's exit statuses. Problems are tiny (a vocabulary of tens,
sequences of a few tokens)."""

import dataclasses
import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gumbel.apps.common.run import RunRefused
from keras_gumbel.apps.text_gan import oracle as O
from keras_gumbel.apps.text_gan import model as M
from keras_gumbel.apps.text_gan import recipe as R
from keras_gumbel.apps.text_gan.cli import train_text_gan_main
from keras_gumbel.apps.text_gan.model import SequenceDiscriminator, SequenceGAN
from helpers import run_command_in_process

TINY = dict(vocab_size=40, sequence_length=6, sequences=128, embedding=8, hidden=8,
            d_embedding=8, filters=4, filter_sizes=(2, 3), batch_size=16, mle_epochs=2,
            adversarial_epochs=2, eval_sequences=200, seed=3, verbose=0)
TINY_FLAGS = ["--vocab-size", "40", "--sequence-length", "6", "--sequences", "128",
              "--embedding", "8", "--hidden", "8", "--d-embedding", "8", "--filters", "4",
              "--filter-sizes", "2", "3", "--batch-size", "16", "--mle-epochs", "1",
              "--adversarial-epochs", "1", "--eval-sequences", "100", "--seed", "1",
              "--verbose", "0"]


def tiny(**kwargs):
    return R.TextGANConfig(**{**TINY, **kwargs})


def log_softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


# -- the oracle ------------------------------------------------------------------


def test_the_oracle_is_fixed_by_its_seed_and_its_weights_are_standard_normal():
    a, b, c = O.make_oracle(0, 200, 16, 16), O.make_oracle(0, 200, 16, 16), O.make_oracle(1, 200, 16, 16)
    for wa, wb, wc in zip(a.weights, b.weights, c.weights, strict=True):
        np.testing.assert_array_equal(wa.numpy(), wb.numpy())
        assert not np.array_equal(wa.numpy(), wc.numpy())
    values = np.concatenate([w.numpy().ravel() for w in a.weights])
    # Mean 0 and variance 1 within 5 standard errors of their estimates.
    n = values.size
    assert abs(values.mean()) < 5 / math.sqrt(n)
    assert abs(values.var() - 1.0) < 5 * math.sqrt(2 / n)
    # Each weight its own stream: no two weights start alike.
    firsts = {float(w.numpy().ravel()[0]) for w in a.weights}
    assert len(firsts) == len(a.weights)


def test_samples_are_reproducible_and_follow_the_model():
    oracle = O.make_oracle(0, 30, 8, 8)
    first = O.sample_sequences(oracle, 4000, sequence_length=3, seed=5, batch_size=1000)
    assert first.dtype == np.int32 and first.shape == (4000, 3)
    np.testing.assert_array_equal(first, O.sample_sequences(oracle, 4000, 3, seed=5, batch_size=1000))
    assert not np.array_equal(first, O.sample_sequences(oracle, 4000, 3, seed=6, batch_size=1000))
    # The first token's frequencies against softmax(logits after the start
    # token): within 5 standard errors each.
    p = np.exp(log_softmax(oracle(np.zeros((1, 1), np.int32)).numpy()[0, 0]))
    counts = np.bincount(first[:, 0], minlength=30) / len(first)
    np.testing.assert_array_less(np.abs(counts - p), 5 * np.sqrt(p * (1 - p) / len(first)) + 1e-3)
    # The second token given the first: the model's conditional.
    token = int(np.argmax(counts))
    rows = first[first[:, 0] == token]
    q = np.exp(log_softmax(oracle(np.array([[0, token]], np.int32)).numpy()[0, 1]))
    freq = np.bincount(rows[:, 1], minlength=30) / len(rows)
    np.testing.assert_array_less(np.abs(freq - q), 5 * np.sqrt(q * (1 - q) / len(rows)) + 1e-3)


def test_sequence_nll_is_the_mean_negative_log_likelihood_per_token():
    oracle = O.make_oracle(2, 25, 8, 8)
    sequences = np.random.default_rng(0).integers(0, 25, (7, 5)).astype(np.int32)
    inputs = np.concatenate([np.zeros((7, 1), np.int32), sequences[:, :-1]], axis=1)
    logp = log_softmax(oracle(inputs).numpy().astype(np.float64))
    expected = -np.take_along_axis(logp, sequences[..., None], axis=-1).mean()
    assert O.sequence_nll(oracle, sequences, batch_size=3) == pytest.approx(expected, rel=1e-5)


def test_the_entropy_rate_of_the_first_token_matches_its_estimate():
    oracle = O.make_oracle(0, 50, 8, 8)
    samples = O.sample_sequences(oracle, 20000, sequence_length=2, seed=1)
    logp = log_softmax(oracle(np.zeros((1, 1), np.int32)).numpy()[0, 0].astype(np.float64))
    entropy, spread = -(np.exp(logp) * logp).sum(), np.sqrt((np.exp(logp) * logp**2).sum())
    estimate = -logp[samples[:, 0]].mean()
    assert abs(estimate - entropy) < 5 * spread / math.sqrt(len(samples))


def test_oracle_data_is_the_same_benchmark_for_the_same_seed():
    a = O.oracle_data(0, sequences=50, sequence_length=4, vocab_size=30)
    b = O.oracle_data(0, sequences=50, sequence_length=4, vocab_size=30)
    np.testing.assert_array_equal(a.train, b.train)
    np.testing.assert_array_equal(a.held_out, b.held_out)
    assert not np.array_equal(a.train, a.held_out)
    assert a.entropy == pytest.approx(O.sequence_nll(a.oracle, a.held_out))
    assert 0 < a.entropy < math.log(30)


def test_tempered_samples_and_likelihoods_follow_softmax_of_logits_over_temperature():
    oracle = O.make_oracle(0, 30, 8, 8)
    logits = oracle(np.zeros((1, 1), np.int32)).numpy()[0, 0].astype(np.float64)
    for temperature in (0.5, 2.0):
        samples = O.sample_sequences(oracle, 4000, sequence_length=2, seed=5,
                                     temperature=temperature)
        p = np.exp(log_softmax(logits / temperature))
        counts = np.bincount(samples[:, 0], minlength=30) / len(samples)
        np.testing.assert_array_less(np.abs(counts - p),
                                     5 * np.sqrt(p * (1 - p) / len(samples)) + 1e-3)
    sequences = np.random.default_rng(0).integers(0, 30, (6, 4)).astype(np.int32)
    inputs = np.concatenate([np.zeros((6, 1), np.int32), sequences[:, :-1]], axis=1)
    logp = log_softmax(oracle(inputs).numpy().astype(np.float64) / 0.7)
    expected = -np.take_along_axis(logp, sequences[..., None], axis=-1).mean()
    assert O.sequence_nll(oracle, sequences, temperature=0.7) == pytest.approx(expected, rel=1e-5)
    # Temperature 1 is the model itself.
    assert O.sequence_nll(oracle, sequences, temperature=1.0) == O.sequence_nll(oracle, sequences)
    with pytest.raises(ValueError, match="temperature must be a finite number > 0, received"):
        O.sample_sequences(oracle, 4, sequence_length=2, temperature=0.0)


def test_the_temperature_curve_trades_diversity_for_quality():
    # One token, the oracle as the model: sharper sampling (tau < 1) must
    # lower NLL_oracle (d E_{p^b}[-log p] / db = -Var(log p) <= 0 for
    # p^b ~ p^(1/tau)), and NLL_gen is least at tau = 1 (the model is the
    # data's distribution), so both ends cost NLL_gen.
    data = O.oracle_data(0, sequences=4000, sequence_length=1, vocab_size=30)
    points = O.temperature_curve(data.oracle, data, (0.5, 1.0, 2.0), n=4000, seed=1)
    assert [p["temperature"] for p in points] == [0.5, 1.0, 2.0]
    quality = [p["nll_oracle"] for p in points]
    diversity = [p["nll_gen"] for p in points]
    assert quality[0] < quality[1] < quality[2]
    assert diversity[1] < min(diversity[0], diversity[2])
    assert diversity[1] == pytest.approx(data.entropy)
    with pytest.raises(ValueError, match="temperatures must be a finite number > 0"):
        O.temperature_curve(data.oracle, data, (1.0, -1.0), n=10)


# -- the data stream ----------------------------------------------------------------


def test_each_pass_of_the_stream_is_a_permutation_and_a_resumed_stream_continues():
    sequences = np.arange(40, dtype=np.int32).reshape(20, 2)
    batches = [b.numpy() for b in R.sequence_stream(sequences, 6, seed=1).take(9)]
    assert all(b.shape == (6, 2) for b in batches)
    for p in range(3):  # 3 batches of 6 per pass; 2 sequences dropped each pass
        rows = np.concatenate(batches[3 * p: 3 * p + 3])[:, 0] // 2
        assert len(set(rows.tolist())) == 18
    assert not np.array_equal(batches[0], batches[3])
    resumed = [b.numpy() for b in R.sequence_stream(sequences, 6, seed=1, start_epoch=2).take(3)]
    np.testing.assert_array_equal(np.stack(resumed), np.stack(batches[6:9]))


# -- the model -------------------------------------------------------------------


def small_gan(mle_steps=0, mle_weight=0.0, seed=1, **kwargs):
    generator = O.language_model(20, 6, 6, name="generator")
    discriminator = SequenceDiscriminator(20, 6, (2, 3), 4, seed=2)
    gan = SequenceGAN(generator, discriminator, 5, mle_steps=mle_steps, mle_weight=mle_weight,
                      temperature=0.5, seed=seed, **kwargs)
    gan.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2))
    return gan


def test_the_discriminator_scores_tokens_and_their_one_hots_alike():
    discriminator = SequenceDiscriminator(20, 6, (2, 3), 4, seed=2)
    tokens = np.random.default_rng(0).integers(0, 20, (5, 7)).astype(np.int32)
    np.testing.assert_allclose(discriminator(tokens).numpy(),
                               discriminator(np.eye(20, dtype=np.float32)[tokens]).numpy(),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="filter_sizes must be <= the sequence length 2"):
        SequenceDiscriminator(20, 6, (2, 3)).build((None, 2, 20))


def test_generated_samples_are_relaxed_one_hots_whose_argmax_is_fed_back():
    gan = small_gan()
    fed = []

    def spy(model, tokens, states):
        fed.append(tokens)
        return O.next_token_logits(model, tokens, states)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(M, "next_token_logits", spy)
        samples = gan.generate(8).numpy()
    assert samples.shape == (8, 5, 20)
    np.testing.assert_allclose(samples.sum(-1), 1.0, rtol=1e-5)
    assert (samples < 1).any()  # relaxed at temperature 0.5, not one-hot
    np.testing.assert_array_equal(fed[0], 0)
    for t in range(1, 5):
        np.testing.assert_array_equal(fed[t], samples[:, t - 1].argmax(-1))


def test_mle_steps_come_first_then_adversarial_steps_reach_the_generator():
    gan = small_gan(mle_steps=3)
    data = tf.data.Dataset.from_tensor_slices(
        np.random.default_rng(0).integers(0, 20, (64, 5)).astype(np.int32)).repeat().batch(8)
    before = [w.numpy() for w in gan.generator.weights]
    gan.fit(data, epochs=1, steps_per_epoch=3, verbose=0)
    assert int(gan.mle_optimizer.iterations) == 3 and int(gan.d_optimizer.iterations) == 0
    mid = [w.numpy() for w in gan.generator.weights]
    assert any(not np.array_equal(a, b) for a, b in zip(before, mid, strict=True))
    history = gan.fit(data, epochs=1, steps_per_epoch=4, verbose=0).history
    assert int(gan.mle_optimizer.iterations) == 3
    assert int(gan.d_optimizer.iterations) == 4 and int(gan.g_optimizer.iterations) == 4
    assert history["mle_loss"] == [0.0] and history["d_loss"][0] > 0
    after = [w.numpy() for w in gan.generator.weights]
    # The adversarial loss alone (mle_weight=0) moves every generator weight.
    assert all(not np.array_equal(a, b) for a, b in zip(mid, after, strict=True))


def tiny_stream():
    return tf.data.Dataset.from_tensor_slices(
        np.random.default_rng(0).integers(0, 20, (64, 5)).astype(np.int32)).repeat().batch(8)


def test_with_d_steps_the_generator_moves_on_every_kth_adversarial_step_only():
    gan = small_gan(mle_steps=2, d_steps=3)
    weights = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            weights.append([w.numpy() for w in gan.generator.weights])

    gan.fit(tiny_stream(), epochs=1, steps_per_epoch=9, verbose=0, callbacks=[Record()])
    # 2 MLE steps, then 7 adversarial: the generator at adversarial steps
    # 0, 3 and 6, the discriminator at all 7.
    assert int(gan.d_optimizer.iterations) == 7 and int(gan.g_optimizer.iterations) == 3
    moved = [any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))
             for before, after in zip(weights[1:], weights[2:])]
    assert moved == [True, False, False, True, False, False, True]


def test_the_average_generator_follows_the_generator_then_averages_its_updates():
    momentum = 0.75
    gan = small_gan(mle_steps=2, ema_momentum=momentum)
    assert gan.sampling_generator is gan.ema_generator
    assert not gan.ema_generator.trainable_weights
    weights = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            weights.append([w.numpy() for w in gan.generator.weights])
            # Up to the first adversarial update the average is the generator.
            if batch <= 2:
                for a, w in zip(gan.ema_generator.weights, weights[-1], strict=True):
                    np.testing.assert_array_equal(a.numpy(), w)

    gan.fit(tiny_stream(), epochs=1, steps_per_epoch=6, verbose=0, callbacks=[Record()])
    expected = weights[2]
    for step in weights[3:]:
        expected = [momentum * e + (1 - momentum) * w for e, w in zip(expected, step, strict=True)]
    for a, e, w in zip(gan.ema_generator.weights, expected, weights[-1], strict=True):
        np.testing.assert_allclose(a.numpy(), e, rtol=1e-5, atol=1e-7)
        assert not np.allclose(a.numpy(), w)
    plain = small_gan()
    assert plain.ema_generator is None and plain.sampling_generator is plain.generator


def test_a_hard_estimator_shows_the_discriminator_exact_one_hots_and_still_trains_the_generator():
    gan = small_gan(estimator="straight_through")
    real = tf.constant(np.random.default_rng(1).integers(0, 20, (4, 5)).astype(np.int32))
    weights = gan.generator.trainable_variables
    with tf.GradientTape() as tape:
        fake = gan.generate(4)
        loss = tf.reduce_mean(tf.nn.softplus(gan.discriminator(real) - gan.discriminator(fake)))
    np.testing.assert_array_equal(np.sort(fake.numpy(), axis=-1)[..., -1], 1.0)
    np.testing.assert_array_equal(fake.numpy().sum(-1), 1.0)
    gradients = tape.gradient(loss, weights)
    assert all(g is not None and np.abs(np.asarray(tf.convert_to_tensor(g))).max() > 0 for g in gradients)


@pytest.mark.parametrize("tokens", [0, 2])
def test_conditional_relaxation_is_the_relaxed_sample_given_its_hard_token(tokens):
    # The relaxed samples softmax((log p + g) / tau) whose argmax is the
    # token, drawn directly, against the conditional draws: the same mean
    # in every category within 5 standard errors of the two estimates.
    logits, tau, n = np.array([1.0, 0.0, -1.0, 0.5], np.float32), 0.7, 60_000
    g = -np.log(-np.log(np.random.default_rng(tokens).uniform(size=(4 * n, 4))))
    z = log_softmax(logits) + g
    y = np.exp((z - z.max(-1, keepdims=True)) / tau)
    direct = (y / y.sum(-1, keepdims=True))[z.argmax(-1) == tokens][:n]
    drawn = M.conditional_relaxation(np.tile(logits, (len(direct), 1)), np.full(len(direct), tokens),
                                     tau, seed=5).numpy()
    assert drawn.dtype == np.float32 and drawn.shape == direct.shape
    np.testing.assert_array_equal(drawn.argmax(-1), tokens)
    np.testing.assert_allclose(drawn.sum(-1), 1.0, rtol=1e-5)
    se = np.sqrt(direct.var(0) / len(direct) + drawn.var(0) / len(drawn))
    assert np.all(np.abs(drawn.mean(0) - direct.mean(0)) < 5 * se), (drawn.mean(0), direct.mean(0), se)
    # Its spread too: a one-hot (or any deterministic point) would fail here.
    np.testing.assert_allclose(drawn.std(0), direct.std(0), rtol=0.05)


def test_conditional_relaxation_keeps_improbable_tokens_finite_and_follows_its_seed():
    logits = np.array([[0.0, -80.0, -np.inf, 5.0]] * 3, np.float32)
    drawn = M.conditional_relaxation(logits, np.array([1, 3, 0]), 0.5, seed=1).numpy()
    assert np.isfinite(drawn).all()
    np.testing.assert_array_equal(drawn.argmax(-1), [1, 3, 0])
    np.testing.assert_array_equal(drawn[:, 2], 0.0)  # probability 0: never a share
    again = M.conditional_relaxation(logits, np.array([1, 3, 0]), 0.5, seed=1).numpy()
    np.testing.assert_array_equal(drawn, again)


def test_with_conditional_real_inputs_the_discriminator_sees_soft_reals_and_the_gan_trains():
    gan = small_gan(real_input="conditional", mle_steps=1)
    real = tf.constant(np.random.default_rng(1).integers(0, 20, (4, 5)).astype(np.int32))
    shown = gan._real_input(real).numpy()
    assert shown.shape == (4, 5, 20)
    np.testing.assert_array_equal(shown.argmax(-1), real.numpy())
    assert shown.max(-1).mean() < 0.95  # relaxed, not one-hot, at the temperature 0.5
    before = [w.numpy() for w in gan.discriminator.weights]
    gan.fit(tiny_stream(), epochs=1, steps_per_epoch=3, verbose=0)
    assert int(gan.d_optimizer.iterations) == 2
    after = [w.numpy() for w in gan.discriminator.weights]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    assert small_gan()._real_input(real) is real  # the default: the tokens themselves


@pytest.mark.parametrize("kwargs, needle", [
    (dict(real_input="soft"), "real_input must be one of \\('onehot', 'conditional'\\), received real_input='soft'"),
    (dict(real_input="conditional", estimator="straight_through"),
     "real_input='conditional' needs estimator='relaxed'"),
    (dict(d_steps=0), "d_steps must be an integer >= 1, received d_steps=0"),
    (dict(ema_momentum=1.0), "ema_momentum must be a number in \\[0, 1\\) \\(0: no average\\), received ema_momentum=1.0"),
    (dict(ema_momentum=True), "received ema_momentum=True"),
    (dict(estimator="hard"), "estimator"),
])
def test_bad_gan_arguments_are_refused(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        small_gan(**kwargs)


def test_under_mixed_float16_every_optimizer_scales_its_loss():
    keras.config.set_dtype_policy("mixed_float16")
    try:
        gan = small_gan(mle_steps=2, mle_weight=1.0)
    finally:
        keras.config.set_dtype_policy("float32")
    for optimizer in (gan.mle_optimizer, gan.g_optimizer, gan.d_optimizer):
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    data = tf.data.Dataset.from_tensor_slices(
        np.random.default_rng(0).integers(0, 20, (64, 5)).astype(np.int32)).repeat().batch(8)
    before = [w.numpy() for w in gan.generator.weights]
    history = gan.fit(data, epochs=1, steps_per_epoch=4, verbose=0).history
    # Two MLE steps, then two adversarial ones, each applied (finite
    # gradients after unscaling: the optimizers' step counts advance).
    assert int(gan.mle_optimizer.iterations) == 2
    assert int(gan.d_optimizer.iterations) == 2 and int(gan.g_optimizer.iterations) == 2
    assert all(np.isfinite(v[-1]) for v in history.values())
    after = [w.numpy() for w in gan.generator.weights]
    assert all(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_the_generator_gradient_is_the_gradient_of_the_adversarial_loss():
    gan = small_gan()
    real = tf.constant(np.random.default_rng(1).integers(0, 20, (4, 5)).astype(np.int32))
    weights = gan.generator.trainable_variables
    with tf.GradientTape() as tape:
        fake = gan.generate(4)
        loss = tf.reduce_mean(tf.nn.softplus(gan.discriminator(real) - gan.discriminator(fake)))
    gradients = tape.gradient(loss, weights)
    assert all(g is not None and np.isfinite(np.asarray(tf.convert_to_tensor(g))).all()
               and np.abs(np.asarray(tf.convert_to_tensor(g))).max() > 0 for g in gradients)


def test_the_gan_round_trips_through_a_keras_file(tmp_path):
    gan = small_gan(mle_steps=2, mle_weight=0.5, seed=7)
    tokens = np.random.default_rng(0).integers(0, 20, (3, 5)).astype(np.int32)
    gan.save(tmp_path / "gan.keras")
    loaded = keras.models.load_model(tmp_path / "gan.keras")
    assert (loaded.mle_steps, loaded.mle_weight, loaded.seed) == (2, 0.5, 7)
    assert (loaded.d_steps, loaded.ema_momentum, loaded.sampler.estimator) == (1, 0.0, "relaxed")
    np.testing.assert_allclose(loaded(tokens, training=False).numpy(), gan(tokens, training=False).numpy(),
                               rtol=1e-6)
    np.testing.assert_allclose(loaded.generate(3).numpy(), gan.generate(3).numpy(), rtol=1e-6)


def test_the_average_generator_and_the_options_round_trip_through_a_keras_file(tmp_path):
    gan = small_gan(mle_steps=1, d_steps=2, ema_momentum=0.5, estimator="straight_through")
    gan.fit(tiny_stream(), epochs=1, steps_per_epoch=4, verbose=0)
    gan.save(tmp_path / "gan.keras")
    loaded = keras.models.load_model(tmp_path / "gan.keras")
    assert (loaded.d_steps, loaded.ema_momentum, loaded.sampler.estimator) == (2, 0.5, "straight_through")
    assert loaded.real_input == "onehot"
    small_gan(real_input="conditional").save(tmp_path / "conditional.keras")
    assert keras.models.load_model(tmp_path / "conditional.keras").real_input == "conditional"
    differs = False
    for a, b, w in zip(loaded.ema_generator.weights, gan.ema_generator.weights, gan.generator.weights,
                       strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        differs |= not np.array_equal(b.numpy(), w.numpy())
    assert differs  # the average is not the generator: its own weights were saved


# -- the recipe ------------------------------------------------------------------


@pytest.mark.parametrize("change, needle", [
    (dict(vocab_size=1), "vocab_size must be an integer >= 2, received vocab_size=1"),
    (dict(sequence_length=1), "sequence_length must be an integer >= 2, received sequence_length=1"),
    (dict(batch_size=0), "batch_size must be an integer >= 1, received batch_size=0"),
    (dict(batch_size=200), "batch_size must be <= sequences=128"),
    (dict(temperature=0.0), "temperature must be a finite number > 0, received temperature=0.0"),
    (dict(final_temperature=-1.0), "final_temperature must be a finite number > 0"),
    (dict(mle_weight=-1.0), "mle_weight must be"),
    (dict(filter_sizes=(2, 9)), "filter_sizes must be widths in \\[1, sequence_length=6\\]"),
    (dict(mle_epochs=0, adversarial_epochs=0), "mle_epochs \\+ adversarial_epochs must be >= 1"),
    (dict(strategy="mirrored"), "runs on one device"),
    (dict(d_steps=0), "d_steps must be an integer >= 1, received d_steps=0"),
    (dict(clip_norm=0.0), "clip_norm must be a finite number > 0, received clip_norm=0.0"),
    (dict(ema_momentum=-0.1), "ema_momentum must be a number in \\[0, 1\\)"),
    (dict(estimator="sometimes"), "estimator must be one of"),
    (dict(real_input="conditional", estimator="reinmax"), "real_input='conditional' needs estimator='relaxed'"),
    (dict(estimator="reinmax", temperature=0.5), "estimator=.reinmax. needs temperature >= 1 .Liu et al. 2023., received temperature=0.5"),
])
def test_bad_configs_are_refused_naming_the_argument(change, needle):
    with pytest.raises(ValueError, match=needle):
        tiny(**change)


def test_a_run_scores_its_generator_and_writes_its_files(tmp_path):
    result = R.train_text_gan(tiny(output_dir=str(tmp_path / "run"), export_dir=str(tmp_path / "export")))
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == sorted(R.OUTPUTS)
    results = json.loads((run / "results.json").read_text())
    for key in ("nll_oracle", "nll_gen", "mle_nll_oracle", "mle_nll_gen", "oracle_entropy", "seconds"):
        assert math.isfinite(results[key]), key
    assert results == result.results
    assert results["oracle_entropy"] < results["nll_oracle"] < math.log(40) * 2
    # The history: every epoch scored, the MLE figures at the phase's end.
    assert len(result.history["nll_oracle"]) == 4
    assert results["mle_nll_oracle"] == result.history["nll_oracle"][1]
    # NLL_oracle recomputed with plain Keras from the saved oracle and samples.
    oracle = keras.models.load_model(run / "oracle.keras")
    samples = np.load(run / "samples.npy")
    assert samples.dtype == np.int32 and samples.shape == (200, 6)
    inputs = np.concatenate([np.zeros((200, 1), np.int32), samples[:, :-1]], axis=1)
    nll = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(
        samples, oracle.predict(inputs, verbose=0), from_logits=True))
    assert float(nll) == pytest.approx(results["nll_oracle"], abs=1e-4)
    # The generator's file and the SavedModel draw the same sequences.
    generator = keras.models.load_model(run / "generator.keras")
    served = tf.saved_model.load(str(tmp_path / "export"))
    drawn = served.signatures["sample"](n=tf.constant(50), seed=tf.constant(9, tf.int64))["tokens"]
    np.testing.assert_array_equal(drawn.numpy(), O.sampling_function(generator, 6)(
        tf.constant(50), tf.constant(9, tf.int64)).numpy())
    log_prob = served.signatures["log_prob"](sequences=tf.constant(samples[:10]))["log_prob"].numpy()
    assert -log_prob.mean() / 6 == pytest.approx(O.sequence_nll(generator, samples[:10]), rel=1e-4)


def test_an_interrupted_run_resumes_as_the_uninterrupted_one(tmp_path, capsys):
    whole = R.train_text_gan(tiny(output_dir=str(tmp_path / "whole")))
    config = tiny(output_dir=str(tmp_path / "cut"))
    evaluate = R.OracleEvaluation.on_epoch_end

    def stop(self, epoch, logs=None):
        evaluate(self, epoch, logs)
        if epoch + 1 == 3:
            raise KeyboardInterrupt("after epoch 3")

    R.OracleEvaluation.on_epoch_end = stop
    try:
        with pytest.raises(KeyboardInterrupt):
            R.train_text_gan(config)
    finally:
        R.OracleEvaluation.on_epoch_end = evaluate
    with pytest.raises(RunRefused, match="differs.*g_learning_rate"):
        R.train_text_gan(dataclasses.replace(config, g_learning_rate=0.5))
    resumed = R.train_text_gan(dataclasses.replace(config, seed=None))
    assert "resuming from the backup after epoch 2 (of 4)" in capsys.readouterr().out
    assert resumed.history.keys() == whole.history.keys()
    for key in whole.history:
        np.testing.assert_allclose(resumed.history[key], whole.history[key], rtol=1e-5, err_msg=key)
    assert resumed.results["nll_oracle"] == pytest.approx(whole.results["nll_oracle"], rel=1e-5)
    assert not (tmp_path / "cut" / "backup").exists()


@pytest.mark.parametrize("args, needle", [
    (["--vocab-size", "1"], "vocab_size must be an integer >= 2"),
    (["--batch-size", "0"], "batch_size must be an integer >= 1"),
    (["--temperature", "-1"], "temperature must be a finite number > 0"),
    (["--schedule", "sometimes"], "invalid choice: 'sometimes'"),
    (["--d-steps", "0"], "d_steps must be an integer >= 1"),
    (["--ema-momentum", "1"], "ema_momentum must be a number in [0, 1)"),
    (["--clip-norm", "0"], "clip_norm must be a finite number > 0"),
    (["--estimator", "hard"], "invalid choice: 'hard'"),
    (["--real-input", "soft"], "invalid choice: 'soft'"),
    (["--real-input", "conditional", "--estimator", "straight_through"],
     "real_input='conditional' needs estimator='relaxed'"),
])
def test_bad_flags_are_usage_errors(args, needle, tmp_path):
    done = run_command_in_process(train_text_gan_main, "keras-gumbel-train-text-gan",
                                  "--output-dir", "out", *TINY_FLAGS, *args, cwd=tmp_path)
    assert done.returncode == 2 and needle in done.stderr
    assert not (tmp_path / "out").exists()


def test_the_command_runs_and_refuses_an_output_dir_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("")
    done = run_command_in_process(train_text_gan_main, "keras-gumbel-train-text-gan",
                                  "--output-dir", "file", *TINY_FLAGS, cwd=tmp_path)
    assert done.returncode == 2 and "output_dir" in done.stderr
    done = run_command_in_process(train_text_gan_main, "keras-gumbel-train-text-gan",
                                  "--output-dir", "out", *TINY_FLAGS, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out" / "results.json").read_text())["seed"] == 1
    again = run_command_in_process(train_text_gan_main, "keras-gumbel-train-text-gan",
                                   "--output-dir", "out", *TINY_FLAGS, cwd=tmp_path)
    assert again.returncode == 2 and "outputs of an earlier run" in again.stderr
