"""The feature-selection models: a selector layer (`[B, n] -> [B, k]`)
followed by a decoder back to the `n` features.

- `ConcreteSelect` (the core's, `keras_gumbel.layers`): learnable selection
  logits, `"independent"` (the Concrete Autoencoder's k selectors) or
  `"subset"` (one relaxed top-k).
- `IndirectConcreteSelect`: the same selectors with the logits computed as
  `P @ W + b` from learnable vectors `P` (IP-CAE: Nilsson et al., ICML 2024,
  https://arxiv.org/abs/2403.00563), which they report to fix the Concrete
  Autoencoder's duplicates and instability.
- `SubsetMask`: the relaxed top-k as a mask `x * m` over all `n` features
  (one learnable logits vector; `k` distinct features by construction).
- `FixedSelect`: a fixed list of features (the baselines: highest variance,
  random).
"""

from keras_gumbel.apps.common import backend  # noqa: F401, I001 (first: a clear error without TensorFlow)

import keras
import numpy as np
from keras import ops

from keras_gumbel import _checks, _subsets
from keras_gumbel.layers import ConcreteSelect

__all__ = [
    "FixedSelect",
    "IndirectConcreteSelect",
    "SubsetMask",
    "build_decoder",
    "random_pixels",
    "selector_autoencoder",
    "variance_pixels",
]


@keras.saving.register_keras_serializable(package="keras_gumbel")
class IndirectConcreteSelect(ConcreteSelect):
    """`ConcreteSelect` whose selection logits are `P @ W + b`: `P` holds one
    learnable vector of `dim` numbers per selector (`[k, dim]` for
    `"independent"`, `[1, dim]` for `"subset"`), `W` (`[dim, n]`) and `b`
    (`[n]`) map it to logits over the `n` features. The logits are the same
    family as the direct ones (any logits are reachable when `dim >= k`);
    what changes is the optimisation: every selector's gradient moves the
    shared `W`, which couples the selectors (IP-CAE, Nilsson, Sinzinger,
    Kragic, Azizpour, ICML 2024, https://arxiv.org/abs/2403.00563; their
    MNIST setting: `dim = n`, `P ~ N(0, 1)`, PyTorch's `Linear` initialiser
    for `W` and `b`).

    Args:
        k: the number of features to keep.
        dim: the length of each vector of `P`, an integer >= 1; `None`
            (default) means `n`, the number of input features.
        **kwargs: `ConcreteSelect`'s other arguments (`method`,
            `temperature`, `hard`, `seed`, `inference`, ...), except
            `logits_initializer`.
    """

    def __init__(self, k, dim=None, **kwargs):
        kwargs.pop("logits_initializer", None)
        super().__init__(k, **kwargs)
        self.dim = None if dim is None else _checks.check_int(dim, "dim")

    def build(self, input_shape):
        self._check_features(input_shape)
        rows = 1 if self.method == "subset" else self.k
        dim = self.features if self.dim is None else self.dim
        bound = 1.0 / float(np.sqrt(dim))  # torch.nn.Linear's initialiser
        seeds = [None if self.seed is None else self.seed + i for i in range(3)]
        self.vectors = self.add_weight(
            name="vectors", shape=(rows, dim),
            initializer=keras.initializers.RandomNormal(stddev=1.0, seed=seeds[0]))
        self.kernel = self.add_weight(
            name="kernel", shape=(dim, self.features),
            initializer=keras.initializers.RandomUniform(-bound, bound, seed=seeds[1]))
        self.bias = self.add_weight(
            name="bias", shape=(self.features,),
            initializer=keras.initializers.RandomUniform(-bound, bound, seed=seeds[2]))

    @property
    def logits(self):
        logits = ops.matmul(self.vectors, self.kernel) + self.bias
        return logits[0] if self.method == "subset" else logits

    def get_config(self):
        config = super().get_config()
        config.pop("logits_initializer", None)
        config["dim"] = self.dim
        return config


@keras.saving.register_keras_serializable(package="keras_gumbel")
class SubsetMask(ConcreteSelect):
    """Keeps `k` of the `n` input features by masking the others:
    `[..., n] -> [..., n]`, `x * m` for a k-hot mask `m`.

    In training `m` is the relaxed top-k of learnable logits `[n]` (Xie &
    Ermon 2019, `keras_gumbel.ops.relaxed_top_k`: `k` successive softmaxes
    of `(logits + g) / temperature`, the mass chosen removed; it sums to
    `k`), with `hard=True` the exact k-hot of the same noise with the
    relaxed gradient; outside training the exact k-hot of the `k` largest
    logits. Unlike `ConcreteSelect`'s `k` output columns, a feature keeps
    its place whatever subset the noise draws, so a decoder fed `x * m`
    learns one mapping while the subset is still changing (the columns of
    `ConcreteSelect(method="subset")` shift when the subset does, which
    left its decoder at the mean image on MNIST: a test MSE of 0.066,
    ExtraTrees accuracy 0.61, at 40 epochs). The cost: the decoder's first
    layer reads `n` inputs, not `k`.

    Args:
        k: the number of features to keep.
        **kwargs: `ConcreteSelect`'s other arguments (`temperature`, `hard`,
            `seed`, `inference`, `logits_initializer`, ...), except
            `method` (always `"subset"`).
    """

    def __init__(self, k, **kwargs):
        kwargs.pop("method", None)
        super().__init__(k, method="subset", **kwargs)

    def call(self, inputs, training=None):
        dtype = keras.backend.standardize_dtype(inputs.dtype)
        if "float" not in dtype:
            raise TypeError(f"{self.name} expects floating-point features, received inputs "
                            f"of dtype {dtype}")
        if training or self.inference == "sample":
            steps, _ = _subsets._top_k_steps(self.logits, self.k, self.temperature, 0, self.hard,
                                             self.seed_generator)
            mask = ops.sum(steps, axis=0)
        elif self.inference == "argmax":
            mask = ops.sum(ops.one_hot(self._indices(), self.features), axis=0)
        else:
            steps, _ = _subsets._noise_free_steps(self.logits, self.k, self.temperature, 0)
            mask = ops.sum(steps, axis=0)
        return inputs * ops.cast(mask, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.pop("method", None)
        return config


@keras.saving.register_keras_serializable(package="keras_gumbel")
class FixedSelect(keras.layers.Layer):
    """Keeps the given features: `[..., n] -> [..., k]`, the same in training
    and inference (the baselines' selector).

    Args:
        indices: the features to keep, distinct integers in `[0, n)`.
        **kwargs: base layer arguments.
    """

    def __init__(self, indices, **kwargs):
        super().__init__(**kwargs)
        indices = np.asarray(indices)
        if (indices.ndim != 1 or indices.size == 0 or not np.issubdtype(indices.dtype, np.integer)
                or np.unique(indices).size != indices.size or indices.min() < 0):
            _checks.fail("indices", "a non-empty list of distinct integers >= 0", indices.tolist())
        self.indices = [int(i) for i in indices]
        self.k = len(self.indices)

    def build(self, input_shape):
        features = input_shape[-1]
        if features is not None and max(self.indices) >= features:
            _checks.fail("indices", f"features of the {features} inputs (< {features})",
                         self.indices)

    def call(self, inputs):
        return ops.take(inputs, np.asarray(self.indices, "int32"), axis=-1)

    def selected_indices(self):
        """The kept features, as a NumPy int array (output column `i` is
        input feature `selected_indices()[i]`)."""
        return np.asarray(self.indices, dtype=np.int64)

    def unique_features(self):
        return self.k

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)[:-1] + (self.k,)

    def get_config(self):
        return {**super().get_config(), "indices": self.indices}


def build_decoder(features, units, dropout=0.1, seed=None):
    """The Concrete Autoencoder's decoder (Abid et al. 2019, its code's
    `concrete_model_fn`): `Dense(u)`, `LeakyReLU(0.2)`, `Dropout(dropout)` for
    each `u` of `units`, then a linear `Dense(features)`; the paper's MNIST
    setting has one hidden layer of `3k/2` units. A list of layers."""
    layers = []
    for i, width in enumerate(units):
        layers += [
            keras.layers.Dense(width, kernel_initializer=keras.initializers.GlorotUniform(
                seed=None if seed is None else seed + i), name=f"decoder_dense_{i}"),
            keras.layers.LeakyReLU(0.2, name=f"decoder_leaky_relu_{i}"),
        ]
        if dropout:
            layers.append(keras.layers.Dropout(dropout, seed=seed, name=f"decoder_dropout_{i}"))
    layers.append(keras.layers.Dense(features, kernel_initializer=keras.initializers.GlorotUniform(
        seed=None if seed is None else seed + len(units)), name="decoder_output"))
    return layers


def selector_autoencoder(selector, features, decoder_units, dropout=0.1, seed=None,
                         name="feature_selector"):
    """The functional model `x -> decoder(selector(x))`, `x` of `features`
    numbers (the selector is the layer named `"selector"`)."""
    inputs = keras.Input((features,), name="features")
    x = selector(inputs)
    for layer in build_decoder(features, decoder_units, dropout, seed):
        x = layer(x)
    return keras.Model(inputs, x, name=name)


def variance_pixels(images, k):
    """The `k` features of highest variance over `images` (`[N, n]`), in
    increasing index order (ties to the lower index)."""
    variance = np.var(np.asarray(images, np.float64), axis=0)
    order = np.lexsort((np.arange(variance.size), -variance))
    return np.sort(order[:k])


def random_pixels(features, k, seed):
    """`k` distinct features of `features`, uniformly at random from `seed`
    (a NumPy generator seeded with it), in increasing order."""
    return np.sort(np.random.default_rng(seed).choice(features, size=k, replace=False))
