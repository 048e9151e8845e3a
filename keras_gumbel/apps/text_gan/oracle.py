"""The synthetic-oracle benchmark of SeqGAN (Yu et al. 2017) and Texygen
(Zhu et al. 2018), defined once.

The oracle is a randomly initialised LSTM language model: vocabulary 5,000,
embedding 32, hidden 32, every weight (embeddings, LSTM kernels and biases,
output layer) drawn from N(0, 1) with a fixed seed, sequences of 20 tokens
after a fixed start token (0). It defines the true distribution over token
sequences, so generated sequences can be scored exactly:

- `NLL_oracle` (quality): the mean over generated tokens of
  `-log p_oracle(token | its prefix)`;
- `NLL_gen` (diversity, coverage): the mean per-token negative
  log-likelihood of held-out oracle sequences under the generator's own
  sampling distribution;
- the oracle's entropy rate (`NLL_oracle` of the oracle's own samples, the
  held-out set) is the floor of `NLL_oracle`.

Every language model here (oracle and generator) is a Keras model mapping
int32 tokens `[B, T]` (the start token first, then tokens `1 .. T-1`) to
next-token logits `[B, T, V]`: `logits[:, t]` is the distribution of token
`t` given the tokens before it. Its layers are named `"embedding"`,
`"lstm"` and `"logits"`, so that a sampler can run the LSTM's cell one
token at a time (`next_token_logits`).
"""

from keras_gumbel.apps.common import backend  # noqa: F401, I001 (first: a clear error without TensorFlow)

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from keras_gumbel._checks import check_int, check_positive
from keras_gumbel.apps.common.export import stateless_seed_from_int64
from keras_gumbel.apps.common.seeds import derive_seed

__all__ = [
    "OracleData",
    "language_model",
    "make_oracle",
    "next_token_logits",
    "oracle_data",
    "sample_sequences",
    "sequence_nll",
    "temperature_curve",
]

# The benchmark's fixed settings (Texygen / RelGAN).
VOCABULARY = 5000
EMBEDDING = 32
HIDDEN = 32
SEQUENCE_LENGTH = 20
START_TOKEN = 0
SEQUENCES = 10_000


def language_model(vocab_size, embedding_dim, hidden_dim, initializer=None, name="language_model"):
    """An LSTM language model: int32 tokens `[B, T]` -> next-token logits
    `[B, T, vocab_size]` (`Embedding` -> `LSTM` -> `Dense`, layers named
    `"embedding"`, `"lstm"`, `"logits"`).

    Args:
        vocab_size: the vocabulary, an integer >= 2.
        embedding_dim, hidden_dim: the embedding and LSTM sizes, >= 1.
        initializer: a callable `(name) -> keras initializer` for every
            weight (the oracle's N(0, 1)), or `None` for Keras' defaults.
        name: the model's name.
    """
    vocab_size = check_int(vocab_size, "vocab_size", minimum=2)
    embedding_dim = check_int(embedding_dim, "embedding_dim")
    hidden_dim = check_int(hidden_dim, "hidden_dim")

    def weights(layer, *names):
        return {} if initializer is None else {n: initializer(f"{layer}/{n}") for n in names}

    tokens = keras.Input((None,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding",
                               **weights("embedding", "embeddings_initializer"))(tokens)
    lstm_args = weights("lstm", "kernel_initializer", "recurrent_initializer", "bias_initializer")
    if initializer is not None:
        lstm_args["unit_forget_bias"] = False
    x = keras.layers.LSTM(hidden_dim, return_sequences=True, name="lstm", **lstm_args)(x)
    logits = keras.layers.Dense(vocab_size, name="logits",
                                **weights("logits", "kernel_initializer", "bias_initializer"))(x)
    return keras.Model(tokens, logits, name=name)


def make_oracle(seed=0, vocab_size=VOCABULARY, embedding_dim=EMBEDDING, hidden_dim=HIDDEN):
    """The oracle: `language_model` with every weight drawn from N(0, 1),
    each weight from its own stream of `seed` (the same seed, the same
    oracle, on every machine)."""
    seed = check_int(seed, "oracle_seed", minimum=0)

    def initializer(name):
        return keras.initializers.RandomNormal(0.0, 1.0, seed=derive_seed(seed, name) % 2**31)

    return language_model(vocab_size, embedding_dim, hidden_dim, initializer, name="oracle")


def next_token_logits(model, tokens, states):
    """One step of a `language_model`: the logits `[B, V]` of the token
    after `tokens` (int32 `[B]`) and the LSTM's new `[h, c]`."""
    x = model.get_layer("embedding")(tokens)
    h, states = model.get_layer("lstm").cell(x, states)
    return model.get_layer("logits")(h), states


def initial_states(model, batch_size):
    hidden = model.get_layer("lstm").cell.units
    return [tf.zeros((batch_size, hidden)), tf.zeros((batch_size, hidden))]


def sampling_function(model, sequence_length, start_token=START_TOKEN, temperature=1.0):
    """A TensorFlow function `(n, seed) -> int32 [n, sequence_length]`:
    `n` sequences drawn from `model` token by token, each token an exact
    categorical draw from `softmax(logits / temperature)` (the sampling
    temperature, 1 by default; `tf.random.stateless_categorical`:
    one uniform number per token, 4x faster here than the Gumbel-max trick's
    one per category, and the same distribution) with the step's stateless
    seed, split from the int64 `seed`: the same seed, the same sequences
    (also in the exported SavedModel)."""

    def sample(n, seed):
        seeds = tf.random.experimental.stateless_split(stateless_seed_from_int64(seed),
                                                       sequence_length)
        token = tf.fill([n], tf.constant(start_token, tf.int32))
        states = initial_states(model, n)
        tokens = []
        for t in range(sequence_length):
            logits, states = next_token_logits(model, token, states)
            logits = tf.cast(logits, tf.float32) / temperature
            token = tf.random.stateless_categorical(logits, 1, seeds[t],
                                                    dtype=tf.int32)[:, 0]
            tokens.append(token)
        return tf.stack(tokens, axis=1)

    return tf.function(sample, reduce_retracing=True)


def sample_sequences(model, n, sequence_length=SEQUENCE_LENGTH, seed=0, start_token=START_TOKEN,
                     batch_size=2000, temperature=1.0):
    """`n` sequences drawn from the language model `model` at the sampling
    `temperature` (`softmax(logits / temperature)`), int32 numpy
    `[n, sequence_length]`; the same `seed` (an integer), the same draws."""
    temperature = check_positive(temperature, "temperature")
    sampler = _cached(model, ("sampler", sequence_length, start_token, temperature),
                      lambda: sampling_function(model, sequence_length, start_token, temperature))
    chunks = []
    for i, first in enumerate(range(0, n, batch_size)):
        count = min(batch_size, n - first)
        chunk_seed = tf.constant(derive_seed(seed, f"chunk-{i}"), tf.int64)
        chunks.append(sampler(tf.constant(count, tf.int32), chunk_seed).numpy())
    if not chunks:
        return np.zeros((0, sequence_length), np.int32)
    return np.concatenate(chunks).astype(np.int32)


def teacher_inputs(sequences, start_token=START_TOKEN):
    """The language model's inputs for `sequences` `[B, T]`: the start token,
    then tokens `0 .. T-2`."""
    sequences = tf.convert_to_tensor(sequences, tf.int32)
    start = tf.fill([tf.shape(sequences)[0], 1], tf.constant(start_token, tf.int32))
    return tf.concat([start, sequences[:, :-1]], axis=1)


def sequence_nll(model, sequences, start_token=START_TOKEN, batch_size=2000, temperature=1.0):
    """The mean per-token negative log-likelihood (nats) of `sequences`
    (int `[N, T]`) under the language model `model` sampled at `temperature`
    (`softmax(logits / temperature)`, the distribution `sample_sequences`
    draws from at that temperature)."""
    temperature = check_positive(temperature, "temperature")

    def total(batch):
        logits = tf.cast(model(teacher_inputs(batch, start_token), training=False), tf.float32)
        logits = logits / temperature
        return tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(batch, logits))

    function = _cached(model, ("nll", start_token, temperature),
                       lambda: tf.function(total, reduce_retracing=True))
    sequences = np.asarray(sequences, np.int32)
    if sequences.size == 0:
        raise ValueError(f"sequences must hold at least one token, received shape {sequences.shape}")
    nll = sum(float(function(tf.constant(sequences[i:i + batch_size])))
              for i in range(0, len(sequences), batch_size))
    return nll / sequences.size


def _cached(model, key, make):
    # One traced function per model and setting (a new tf.function per call
    # would retrace every time).
    functions = model.__dict__.setdefault("_keras_gumbel_functions", {})
    if key not in functions:
        functions[key] = make()
    return functions[key]


@dataclasses.dataclass
class OracleData:
    """The benchmark: `oracle` (the model), `train` and `held_out`
    (int32 `[N, T]` oracle samples) and `entropy` (the oracle's entropy
    rate, `NLL_oracle` of `held_out`)."""

    oracle: keras.Model
    train: np.ndarray
    held_out: np.ndarray
    entropy: float


def oracle_data(seed=0, sequences=SEQUENCES, sequence_length=SEQUENCE_LENGTH,
                vocab_size=VOCABULARY):
    """The oracle of `seed` (`make_oracle`), `sequences` training sequences
    and as many held-out ones drawn from it (streams of `seed`), and its
    entropy rate. The same seed gives the same benchmark."""
    sequences = check_int(sequences, "sequences")
    oracle = make_oracle(seed, vocab_size)
    train = sample_sequences(oracle, sequences, sequence_length, derive_seed(seed, "train"))
    held_out = sample_sequences(oracle, sequences, sequence_length, derive_seed(seed, "held_out"))
    return OracleData(oracle, train, held_out, sequence_nll(oracle, held_out))


def temperature_curve(model, data, temperatures, n=SEQUENCES, seed=0):
    """The quality-diversity curve of the language model `model` on the
    benchmark `data` (an `OracleData`) when sampled at each of
    `temperatures` (Caccia et al. 2020, "Language GANs Falling Short"): a
    list of `{"temperature", "nll_oracle", "nll_gen"}`, `nll_oracle` on `n`
    sequences drawn at that temperature (a seed of `(seed, temperature)`),
    `nll_gen` of the held-out sequences under the same tempered
    distribution. Lower temperatures trade diversity for quality."""
    points = []
    for temperature in temperatures:
        temperature = check_positive(temperature, "temperatures")
        samples = sample_sequences(model, n, data.held_out.shape[1],
                                   derive_seed(seed, f"temperature-{temperature!r}"),
                                   temperature=temperature)
        points.append({
            "temperature": temperature,
            "nll_oracle": sequence_nll(data.oracle, samples),
            "nll_gen": sequence_nll(model, data.held_out, temperature=temperature),
        })
    return points
