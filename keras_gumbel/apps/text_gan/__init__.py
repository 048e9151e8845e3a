"""A Gumbel-softmax sequence GAN on the synthetic-oracle benchmark (SeqGAN,
Texygen, RelGAN): an LSTM generator feeding back its hard tokens and handing
relaxed one-hots to a CNN discriminator.

- `oracle`: the benchmark, defined once (the oracle LSTM, its data,
  `NLL_oracle` and `NLL_gen`).
- `model`: `SequenceGAN` (MLE, then adversarial steps, in one `fit`) and
  `SequenceDiscriminator`.
- `recipe`: `TextGANConfig`, `train_text_gan` (the library function behind
  `keras-gumbel-train-text-gan`).
- `export`: the generator as a SavedModel with `sample(n, seed)`.
- `plots`: the NLL curves; `cli`: the command.
"""
