"""The sequence GAN's recipe and the oracle benchmark (re-exported from
`keras_gumbel.apps.text_gan.recipe` and `keras_gumbel.apps.text_gan.oracle`)."""

from keras_gumbel.apps.text_gan.export import export_generator
from keras_gumbel.apps.text_gan.oracle import (
    language_model,
    make_oracle,
    oracle_data,
    sample_sequences,
    sequence_nll,
)
from keras_gumbel.apps.text_gan.recipe import (
    OracleEvaluation,
    TextGANConfig,
    TextGANResult,
    build_gan,
    sequence_stream,
    train_text_gan,
)

__all__ = ["OracleEvaluation", "TextGANConfig", "TextGANResult", "build_gan", "export_generator",
           "language_model", "make_oracle", "oracle_data", "sample_sequences", "sequence_nll",
           "sequence_stream", "train_text_gan"]
