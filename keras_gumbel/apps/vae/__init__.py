"""The discrete VAE on MNIST: a 30 x 10 Gumbel-softmax latent code.

- `model.py`: `DiscreteVAE`, `mlp_encoder`, `mlp_decoder`.
- `config.py`: `VAEConfig` and its `PRESETS`; `recipe.py`: `build_vae`,
  `train_vae`; `cli.py`: the `keras-gumbel-train-vae` command.
- `callbacks.py`: `ReconstructionPlotter`; `export.py`: `export_vae`.
- MNIST itself comes from `keras_gumbel.apps.common.mnist` (shared with
  the other MNIST applications).

Users import the public names from `keras_gumbel.models`,
`keras_gumbel.export` and `keras_gumbel.recipes.vae`; this package imports
nothing itself, so that its command starts without TensorFlow.
"""
