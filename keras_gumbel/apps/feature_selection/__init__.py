"""Unsupervised feature selection on MNIST (the Concrete Autoencoder's task):
choose k of the 784 pixels from which a decoder reconstructs all 784.

- `model`: the selector layers (`ConcreteSelect` of the core, its indirect
  parameterisation `IndirectConcreteSelect` (IP-CAE), `FixedSelect` for the
  baselines), the paper's decoder, the baselines' pixel choices.
- `recipe`: `SelectionConfig` and its `METHODS`, `select_features` (the
  library function behind `keras-gumbel-select-features`).
- `plots`: the selected pixels over the mean digit.
- `cli`: the command.
"""
