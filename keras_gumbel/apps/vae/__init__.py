"""The discrete VAE on MNIST: a 30 x 10 Gumbel-softmax latent code.

- `model.py`: `DiscreteVAE`, `mlp_encoder`, `mlp_decoder`.
- `config.py`: `VAEConfig` and its `PRESETS`; `recipe.py`: `build_vae`,
  `train_vae`; `cli.py`: the `keras-gumbel-train-vae` command.
- `callbacks.py`: `ReconstructionPlotter`; `export.py`: `export_vae`.
- MNIST itself comes from `keras_gumbel.apps.common.mnist` (shared with
  the other MNIST applications).
"""

from keras_gumbel.apps.vae.model import DiscreteVAE, mlp_decoder, mlp_encoder

__all__ = ["DiscreteVAE", "mlp_decoder", "mlp_encoder"]
