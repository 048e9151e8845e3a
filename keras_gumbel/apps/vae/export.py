"""SavedModel export of the discrete VAE (see `keras_gumbel.apps.common.export`
for the format and its guarantees)."""

from keras_gumbel.apps.common import backend  # noqa: F401, I001 (first: a clear error without TensorFlow)

import keras
import tensorflow as tf

from keras_gumbel.apps.common.export import (
    N_SPEC,
    SEED_SPEC,
    check_export_path,
    check_n,
    stateless_seed_from_int64,
    write_atomically,
)
from keras_gumbel.apps.vae.model import DiscreteVAE

__all__ = ["export_vae"]


def export_vae(model, path, overwrite=False):
    """Exports a trained `DiscreteVAE` as a SavedModel.

    With `D = model.input_dim` pixels, `L = model.latent_dim` categorical
    variables of `K = model.num_categories` classes, the signatures (also
    methods of the loaded object) are:

    - `encode(images)`: float32 images `[B, D]`, finite pixels in `[0, 1]` ->
      `{"codes": int32 [B, L], "logits": float32 [B, L, K]}`, the logits of
      the posterior q(z | x) and their argmax, the most likely code
      (deterministic, no sampling).
    - `decode(codes)`: int32 codes `[B, L]` with values in `[0, K)` ->
      `{"images": float32 [B, D]}`, the decoder's pixel probabilities.
    - `reconstruct(images)`: `decode(encode(images)["codes"])`, i.e.
      `{"images": float32 [B, D]}`, deterministic; `model.reconstruct` in
      Keras. It is also `serving_default`.
    - `sample(n, seed)`: `n` (int32 scalar) codes drawn uniformly (the
      prior) and decoded: `{"images": float32 [n, D], "codes": int32 [n, L]}`.
      The int64 scalar `seed` fixes the draws; for every int64 seed the
      codes equal `model.sample(n, seed=seed)` in Keras.

    `encode`, `decode` and `reconstruct` check their inputs with
    assertions: a pixel that is NaN, infinite or outside `[0, 1]`, or a
    code outside `[0, K)`, raises `tf.errors.InvalidArgumentError` naming
    the input (`images` or `codes`) rather than returning an image.

    Args:
        model: a trained `keras_gumbel.models.DiscreteVAE`.
        path: the SavedModel folder to write.
        overwrite: whether to replace an existing, non-empty `path`.

    Returns:
        `path`.

    Raises:
        ValueError: for another kind of model, or if `path` exists and is
            not an empty folder while `overwrite` is False.
    """
    if not isinstance(model, DiscreteVAE):
        raise ValueError(
            "model must be a keras_gumbel.models.DiscreteVAE, received model "
            f"of type {type(model).__name__}"
        )
    check_export_path(path, overwrite)
    latent_dim, num_categories = model.latent_dim, model.num_categories

    # The model's own checks, under the signatures' argument names: a NaN
    # pixel, a pixel outside [0, 1] or a code outside [0, K) fails an
    # assertion (InvalidArgumentError) instead of returning an image.
    def encode(images):
        logits, codes = model._encode(images, "images")
        return {"codes": codes, "logits": tf.cast(logits, tf.float32)}

    def decode(codes):
        return {"images": tf.cast(model._decode(codes, "codes"), tf.float32)}

    def reconstruct(images):
        return decode(model._encode(images, "images")[1])

    def sample(n, seed):
        with tf.control_dependencies([check_n(n)]):
            shape = tf.stack([n, latent_dim])
        # Keras's `randint` with the same stateless seed (Philox).
        codes = tf.random.stateless_uniform(
            shape,
            seed=stateless_seed_from_int64(seed),
            minval=0,
            maxval=num_categories,
            dtype=tf.int32,
            alg="philox",
        )
        return {"images": decode(codes)["images"], "codes": codes}

    images_spec = tf.TensorSpec(shape=(None, model.input_dim), dtype=tf.float32, name="images")
    codes_spec = tf.TensorSpec(shape=(None, latent_dim), dtype=tf.int32, name="codes")
    archive = keras.export.ExportArchive()
    archive.track(model)
    # The first endpoint is also `serving_default`.
    archive.add_endpoint("reconstruct", reconstruct, input_signature=[images_spec])
    archive.add_endpoint("encode", encode, input_signature=[images_spec])
    archive.add_endpoint("decode", decode, input_signature=[codes_spec])
    archive.add_endpoint("sample", sample, input_signature=[N_SPEC, SEED_SPEC])
    return write_atomically(archive, path, overwrite)
