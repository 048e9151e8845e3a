"""The applications' recipes, the library functions behind their commands
(re-exported from `keras_gumbel/apps/<application>/recipe.py`):

- `keras_gumbel.recipes.gan`: `GANConfig`, `build_gan`, `train_gan`.
- `keras_gumbel.recipes.vae`: `VAEConfig` and its `PRESETS`, `build_vae`,
  `train_vae`.
- `keras_gumbel.recipes.feature_selection`: `SelectionConfig`, its
  `METHODS`, `select_features`.
- `keras_gumbel.recipes.text_gan`: `TextGANConfig`, `build_gan`,
  `train_text_gan`, and the oracle benchmark (`oracle_data`,
  `sample_sequences`, `sequence_nll`).
"""
