"""SavedModel export of the sequence GAN's generator (see
`keras_gumbel.apps.common.export` for the format and its guarantees)."""

from keras_gumbel.apps.common import backend  # noqa: F401, I001 (first: a clear error without TensorFlow)

import keras
import tensorflow as tf

from keras_gumbel._checks import check_int
from keras_gumbel.apps.common.export import N_SPEC, SEED_SPEC, check_export_path, check_n, write_atomically
from keras_gumbel.apps.text_gan.oracle import START_TOKEN, sampling_function, teacher_inputs

__all__ = ["export_generator"]


def export_generator(generator, path, sequence_length, start_token=START_TOKEN, overwrite=False):
    """Exports a trained generator (an `oracle.language_model`) as a
    SavedModel that serves with plain TensorFlow.

    Signatures (also methods of the loaded object):

    - `sample(n, seed)`: `{"tokens": int32 [n, sequence_length]}`, `n`
      (int32 scalar) sequences drawn token by token from the generator's
      distribution (each token an exact categorical draw, the hard tokens
      of training), with the int64 scalar `seed`: the same seed, the same
      sequences; they equal `oracle.sample_sequences`' single chunk
      (`sampling_function(generator, T)(n, seed)`) in Keras. It is also
      `serving_default`.
    - `logits(tokens)`: `{"logits": float32 [B, T, V]}` for int32 tokens
      `[B, T]` (the start token first): the next-token logits.
    - `log_prob(sequences)`: `{"log_prob": float32 [B]}`, the
      log-probability of each int32 sequence `[B, T]` (without the start
      token) under the generator.

    Returns:
        `path`.
    """
    check_export_path(path, overwrite)
    sequence_length = check_int(sequence_length, "sequence_length", minimum=2)
    sampler = sampling_function(generator, sequence_length, start_token)

    def sample(n, seed):
        with tf.control_dependencies([check_n(n)]):
            n = tf.identity(n)
        return {"tokens": sampler(n, seed)}

    def logits(tokens):
        return {"logits": tf.cast(generator(tokens, training=False), tf.float32)}

    def log_prob(sequences):
        scores = tf.cast(generator(teacher_inputs(sequences, start_token), training=False), tf.float32)
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(sequences, scores)
        return {"log_prob": -tf.reduce_sum(nll, axis=1)}

    tokens_spec = tf.TensorSpec(shape=(None, None), dtype=tf.int32, name="tokens")
    archive = keras.export.ExportArchive()
    archive.track(generator)
    # The first endpoint is also `serving_default`.
    archive.add_endpoint("sample", sample, input_signature=[N_SPEC, SEED_SPEC])
    archive.add_endpoint("logits", logits, input_signature=[tokens_spec])
    archive.add_endpoint("log_prob", log_prob, input_signature=[
        tf.TensorSpec(shape=(None, None), dtype=tf.int32, name="sequences")])
    return write_atomically(archive, path, overwrite)
