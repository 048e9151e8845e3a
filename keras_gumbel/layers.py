"""Keras layers that sample relaxed categorical and binary variables, and
relaxed subsets (k of n categories or features)."""

import keras
import numpy as np
from keras import ops

from keras_gumbel import _checks, _random, _subsets
from keras_gumbel import ops as gumbel_ops

__all__ = ["ConcreteSelect", "GumbelSoftmax", "GumbelTopK", "MinValue", "RelaxedBernoulli"]

INFERENCE_MODES = ("argmax", "softmax", "sample")


@keras.saving.register_keras_serializable(package="keras_gumbel")
class MinValue(keras.constraints.Constraint):
    """Keeps a weight >= `min_value` (a trainable temperature stays > 0)."""

    def __init__(self, min_value):
        self.min_value = float(min_value)

    def __call__(self, w):
        return ops.maximum(w, ops.cast(self.min_value, w.dtype))

    def get_config(self):
        return {"min_value": self.min_value}


class _RelaxedSampler(keras.layers.Layer):
    """Base of the sampling layers: the temperature weight, the seed, the
    inference mode, the `hard` flag, their checks and their config.

    Subclasses define the three outputs: `_sample` (training, or
    `inference="sample"`), `_argmax` and `_softmax` (and, where TFP has the
    distribution that `_sample` follows, `distribution(logits)`).
    """

    def __init__(
        self,
        temperature=1.0,
        hard=False,
        seed=None,
        inference="argmax",
        trainable_temperature=False,
        min_temperature=1e-2,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.initial_temperature = _checks.check_temperature(temperature)
        self.min_temperature = _checks.check_temperature(min_temperature, "min_temperature")
        self.hard = _checks.check_bool(hard, "hard")
        self.inference = _checks.check_choice(inference, "inference", INFERENCE_MODES)
        self.trainable_temperature = _checks.check_bool(
            trainable_temperature, "trainable_temperature"
        )
        self.seed = _checks.check_seed(seed)
        self.seed_generator = _random.seed_generator(self.seed)
        # The temperature is created eagerly (not in build) so a callback can
        # assign it before the layer has seen data. It stays float32 under
        # mixed precision (autocast=False).
        self.temperature = self.add_weight(
            name="temperature",
            shape=(),
            dtype="float32",
            initializer=keras.initializers.Constant(self.initial_temperature),
            trainable=trainable_temperature,
            constraint=MinValue(self.min_temperature) if trainable_temperature else None,
            autocast=False,
        )
        # Both layers act elementwise along the batch and time axes: a
        # Keras mask (from Masking or Embedding(mask_zero=True)) passes
        # through unchanged (Layer.compute_mask returns it).
        self.supports_masking = True

    def _distribution_args(self, logits):
        """The temperature and `logits` in the dtype of the distribution
        that `call`'s samples follow: the layer's compute dtype (inputs are
        cast to it), float32 for half precisions (TFP on half precision
        loses too much; the distribution casts the samples it scores)."""
        dtype = gumbel_ops._compute_dtype(self.compute_dtype)
        logits = ops.convert_to_tensor(logits)
        return ops.cast(self.temperature, dtype), ops.cast(logits, dtype)

    def _scaled(self, inputs):
        """`inputs / temperature`, checked and finite (see
        `keras_gumbel.ops.check_temperature` and `_over_temperature`)."""
        dtype = keras.backend.standardize_dtype(inputs.dtype)
        x = ops.cast(inputs, gumbel_ops._compute_dtype(dtype))
        temperature = gumbel_ops.check_temperature(self.temperature)
        return gumbel_ops._over_temperature(
            x, ops.cast(temperature, x.dtype), self.temperature.trainable
        )

    def call(self, inputs, training=None):
        dtype = keras.backend.standardize_dtype(inputs.dtype)
        if "float" not in dtype:
            raise TypeError(
                f"{self.name} expects floating-point logits, received inputs "
                f"of dtype {dtype}"
            )
        if training or self.inference == "sample":
            return self._sample(inputs)
        if self.inference == "argmax":
            return self._argmax(inputs)
        return ops.cast(self._softmax(inputs), dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    # Keras saves a layer's weights but not its SeedGenerator's state; a
    # loaded model must continue the random sequence where the saved one was,
    # so that a resumed run draws the same samples as an uninterrupted one.
    _SEED_STATE = "seed_state"

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store[self._SEED_STATE] = self.seed_generator.state.numpy()

    def load_own_variables(self, store):
        keys = list(store.keys())
        if self._SEED_STATE in keys:
            self.seed_generator.state.assign(store[self._SEED_STATE])
        super().load_own_variables({k: store[k] for k in keys if k != self._SEED_STATE})

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "temperature": self.initial_temperature,
                "hard": self.hard,
                "seed": self.seed,
                "inference": self.inference,
                "trainable_temperature": self.trainable_temperature,
                "min_temperature": self.min_temperature,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="keras_gumbel")
class GumbelSoftmax(_RelaxedSampler):
    """Samples `RelaxedOneHotCategorical(temperature, logits)` (Gumbel-softmax).

    In training the layer outputs `y = softmax((logits + g) / temperature)`
    with `g` standard Gumbel noise (Jang et al. 2017; Maddison et al. 2017),
    so gradients reach the logits. With `hard=True` it outputs the exact
    one-hot `D = one_hot(argmax(y))` and back-propagates through `y`
    (straight-through: `D + y - stop_gradient(y)`). The other gradient
    estimators (Gumbel-Rao, ReinMax, gapped straight-through) also output the
    exact one-hot D (as do ReinMax-Rao, ReinMax-CV and the decoupled
    straight-through estimator); their formulas and papers are in
    `keras_gumbel.ops.gumbel_softmax`.

    The temperature is a scalar weight named `temperature`: a
    `TemperatureScheduler` callback assigns it during `fit` (a compiled train
    function reads the new value) and `.keras` saving keeps the annealed value.

    Args:
        temperature: initial temperature, a finite number > 0 (>= 1 for
            `estimator="reinmax"`).
        hard: whether training outputs exact one-hots with straight-through
            gradients.
        axis: the categories axis of the logits.
        seed: integer seed of the layer's `keras.random.SeedGenerator`; the
            same seed replays the same sequence of samples.
        inference: the output when not training: `"argmax"` (default), the
            deterministic one-hot of `argmax(logits)`; `"softmax"`, the
            deterministic `softmax(logits / temperature)`; `"sample"`, a
            stochastic sample as in training.
        trainable_temperature: learn the temperature by gradient descent
            (kept >= `min_temperature`). Not with `"reinmax"`,
            `"reinmax_rao"`, `"reinmax_cv"` or `"decoupled_straight_through"`,
            whose gradients do not reach the temperature.
        min_temperature: lower bound of a trainable temperature.
        estimator: the gradient estimator (see `keras_gumbel.ops.ESTIMATORS`):
            `"relaxed"`, `"straight_through"`, `"gumbel_rao"`, `"reinmax"`,
            `"gapped_straight_through"`, `"reinmax_rao"`, `"reinmax_cv"` or
            `"decoupled_straight_through"`; `None` means `"straight_through"`
            if `hard` else `"relaxed"`.
        samples: the number of conditional Gumbel draws `"gumbel_rao"`,
            `"reinmax_rao"` and `"reinmax_cv"` average in their gradient (1
            for the other estimators).
        eta: the control-variate weight of `"reinmax_cv"` (`None`: 0.7,
            the reference implementation's default).
        backward_temperature: the backward temperature of
            `"decoupled_straight_through"` (`None`: the temperature); the
            layer's temperature is its forward temperature.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float logits, categories along `axis`.
        training: Python boolean: whether to sample (training) or to apply
            the `inference` mode.

    A Keras mask on the inputs (from `Masking` or `Embedding(mask_zero=True)`)
    passes through unchanged.

    Example:

    >>> logits = keras.layers.Reshape((30, 10))(keras.layers.Dense(300)(x))
    >>> z = GumbelSoftmax(temperature=1.0, seed=7)(logits)
    >>> z = GumbelSoftmax(estimator="gumbel_rao", samples=10, seed=7)(logits)
    """

    def __init__(
        self,
        temperature=1.0,
        hard=False,
        axis=-1,
        seed=None,
        inference="argmax",
        trainable_temperature=False,
        min_temperature=1e-2,
        estimator=None,
        samples=1,
        eta=None,
        backward_temperature=None,
        **kwargs,
    ):
        super().__init__(
            temperature=temperature,
            hard=hard,
            seed=seed,
            inference=inference,
            trainable_temperature=trainable_temperature,
            min_temperature=min_temperature,
            **kwargs,
        )
        self.estimator = gumbel_ops.resolve_estimator(estimator, hard)
        self.samples = gumbel_ops.validate_samples(samples, self.estimator)
        self.options = gumbel_ops.resolve_options(self.estimator, eta, backward_temperature)
        if self.estimator == "reinmax":
            gumbel_ops.check_reinmax_temperature(self.initial_temperature)
        if self.estimator in gumbel_ops.NO_TEMPERATURE_GRADIENT and trainable_temperature:
            raise ValueError(
                f"estimator={self.estimator!r} sends no gradient to the temperature, "
                "so it cannot be learned; received trainable_temperature=True"
            )
        self.axis = _checks.check_int(axis, "axis", minimum=None)

    def build(self, input_shape):
        # The axis is known to be an integer; only now is the rank known.
        _checks.check_axis(self.axis, len(input_shape))
        gumbel_ops.check_categories(input_shape, self.axis, "inputs")

    def distribution(self, logits):
        """The distribution of the layer's samples of `logits` (in training,
        or with `inference="sample"`), at the current temperature.

        - `estimator="relaxed"`: the relaxed one-hot categorical (Concrete)
          at the temperature; its `log_prob` is
          `keras_gumbel.ops.relaxed_one_hot_log_prob`.
        - every other estimator (`hard=True`): the samples are exact
          one-hots `D`, distributed as `Categorical(softmax(logits))`, so
          the distribution is the one-hot categorical; its `log_prob` is
          `keras_gumbel.ops.categorical_log_prob` (the relaxed density of
          a one-hot is not defined: its limit there is infinite). The
          relaxed density of the sample behind a straight-through gradient
          is `keras_gumbel.ops.relaxed_one_hot_log_prob`.

        On TensorFlow these are TensorFlow Probability's
        `RelaxedOneHotCategorical` and `OneHotCategorical` (TFP loaded on
        this first call); on JAX and PyTorch the small distributions of
        `keras_gumbel._distributions`, built on `keras_gumbel.ops`, with
        `sample(sample_shape=(), seed=None)`, `log_prob(x)` and `prob(x)`.
        Either way they work in the dtype of the layer's samples (float32
        under half precision), score samples of any float dtype, and take
        and return values laid out as the layer's, the categories on its
        `axis`: `distribution(x).log_prob(layer(x, training=True))` scores
        the layer's own samples.
        """
        from keras_gumbel import _distributions  # TFP on TensorFlow, loaded on first use only

        temperature, logits = self._distribution_args(logits)
        axis = _checks.check_axis(self.axis, len(logits.shape))
        if self.estimator == "relaxed":
            return _distributions.relaxed_one_hot_categorical(temperature, logits, axis)
        return _distributions.one_hot_categorical(logits, axis)

    def _sample(self, inputs):
        # The arguments were checked in __init__ and build: the unchecked op
        # (which checks the temperature variable, on every call).
        return gumbel_ops._gumbel_softmax(
            inputs,
            self.temperature,
            self.axis % len(inputs.shape),
            self.seed_generator,
            self.estimator,
            self.samples,
            self.options,
        )

    def _argmax(self, inputs):
        return gumbel_ops.one_hot_argmax(inputs, self.axis)

    def _softmax(self, inputs):
        # As the sampler: exactly 1 for one category, NaN for rows that
        # define no distribution.
        axis = self.axis % len(inputs.shape)
        scaled = self._scaled(inputs)
        if inputs.shape[axis] == 1:
            y = gumbel_ops._one_category(scaled)
        else:
            y = ops.softmax(scaled, axis=axis)
        return gumbel_ops._nan_where(gumbel_ops._undefined_rows(scaled, axis), y)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"axis": self.axis, "estimator": self.estimator, "samples": self.samples}
        )
        # Only the estimators that take them store their options, so older
        # configs (and other estimators') are unchanged.
        config.update(self.options)
        return config


@keras.saving.register_keras_serializable(package="keras_gumbel")
class RelaxedBernoulli(_RelaxedSampler):
    """Samples `tfp.distributions.RelaxedBernoulli(temperature, logits)`.

    The binary Concrete relaxation (Maddison et al. 2017; Jang et al. 2017)
    for binary latents: in training the layer outputs
    `y = sigmoid((logits + L) / temperature)` with `L = log u - log(1 - u)`
    standard logistic noise, elementwise, so gradients reach the logits. With
    `hard=True` it outputs the exact 0/1 value `D = [logits + L > 0]`, which
    is 1 with probability `sigmoid(logits)`, and back-propagates through `y`
    (straight-through: `D + y - stop_gradient(y)`). The maths is
    `keras_gumbel.ops.relaxed_bernoulli`.

    The temperature weight, seed, inference modes, `.keras` saving and
    `TemperatureScheduler` annealing work as in `GumbelSoftmax`.

    Args:
        temperature: initial temperature, a finite number > 0.
        hard: whether training outputs exact 0/1 values with straight-through
            gradients.
        seed: integer seed of the layer's `keras.random.SeedGenerator`.
        inference: the output when not training: `"argmax"` (default), the
            deterministic most likely value `[logits > 0]`; `"softmax"`, the
            deterministic `sigmoid(logits / temperature)`; `"sample"`, a
            stochastic sample as in training.
        trainable_temperature: learn the temperature by gradient descent
            (kept >= `min_temperature`).
        min_temperature: lower bound of a trainable temperature.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float logits (log-odds), any shape.
        training: Python boolean: whether to sample (training) or to apply
            the `inference` mode.

    A Keras mask on the inputs (from `Masking` or `Embedding(mask_zero=True)`)
    passes through unchanged.

    Example:

    >>> z = RelaxedBernoulli(temperature=0.5, hard=True, seed=7)(keras.layers.Dense(64)(x))
    """

    def distribution(self, logits):
        """The distribution of the layer's samples of `logits` (in training,
        or with `inference="sample"`), at the current temperature: the
        relaxed Bernoulli (`log_prob`:
        `keras_gumbel.ops.relaxed_bernoulli_log_prob`), or with `hard=True`,
        whose samples are exact 0/1 values, the Bernoulli
        (`keras_gumbel.ops.bernoulli_log_prob`).

        On TensorFlow TensorFlow Probability's `RelaxedBernoulli` and
        `Bernoulli` (float values); on JAX and PyTorch the small
        distributions of `keras_gumbel._distributions` (`sample`,
        `log_prob`, `prob`). They work in the dtype of the layer's samples
        (float32 under half precision) and score samples of any float dtype.
        """
        from keras_gumbel import _distributions  # TFP on TensorFlow, loaded on first use only

        temperature, logits = self._distribution_args(logits)
        if self.hard:
            return _distributions.bernoulli(logits)
        return _distributions.relaxed_bernoulli(temperature, logits)

    def _sample(self, inputs):
        return gumbel_ops._relaxed_bernoulli(inputs, self.temperature, self.hard, self.seed_generator)

    def _argmax(self, inputs):
        # A NaN log-odds stays NaN, as in the sampler.
        return gumbel_ops._nan_where(ops.isnan(inputs), ops.cast(inputs > 0, inputs.dtype))

    def _softmax(self, inputs):
        return ops.sigmoid(self._scaled(inputs))


@keras.saving.register_keras_serializable(package="keras_gumbel")
class GumbelTopK(_RelaxedSampler):
    """Samples a relaxed k-hot: k distinct categories out of n, relaxed.

    The k-subset analogue of `GumbelSoftmax`. In training the layer outputs
    Xie & Ermon's (2019) relaxed top-k of the perturbed logits
    `r = logits + g` (`g` standard Gumbel noise): the sum of `k` successive
    softmaxes `a_j = softmax(alpha_j / temperature)`, `alpha_1 = r`,
    `alpha_{j+1} = alpha_j + log(1 - a_j)`, which sums to `k` along `axis`.
    With `hard=True` it outputs the exact k-hot `D` of the `k` largest
    perturbed logits (the Gumbel-top-k trick, Kool et al. 2019: `k` draws
    without replacement from `Categorical(softmax(logits))`) and
    back-propagates through the relaxed sample (straight-through:
    `D + y - stop_gradient(y)`). The maths, and what the relaxation does at
    a positive temperature, is in `keras_gumbel.ops.relaxed_top_k`.

    The temperature weight, seed, inference modes, `.keras` saving (the
    random state included) and `TemperatureScheduler` annealing work as in
    `GumbelSoftmax`.

    Args:
        k: the number of categories to select, an integer >= 1 (at most the
            size of `axis`, checked when the layer is built).
        temperature: initial temperature, a finite number > 0.
        hard: whether training outputs exact k-hots with straight-through
            gradients.
        axis: the categories axis of the logits.
        seed: integer seed of the layer's `keras.random.SeedGenerator`; the
            same seed replays the same sequence of samples.
        inference: the output when not training: `"argmax"` (default), the
            deterministic k-hot of the `k` largest logits; `"softmax"`, the
            deterministic relaxed top-k of the logits without noise at the
            current temperature; `"sample"`, a stochastic sample as in
            training.
        trainable_temperature: learn the temperature by gradient descent
            (kept >= `min_temperature`).
        min_temperature: lower bound of a trainable temperature.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float logits, categories along `axis`.
        training: Python boolean: whether to sample (training) or to apply
            the `inference` mode.

    A Keras mask on the inputs passes through unchanged.

    Example:

    >>> z = GumbelTopK(k=3, temperature=0.5, hard=True, seed=7)(keras.layers.Dense(10)(x))
    """

    def __init__(
        self,
        k,
        temperature=1.0,
        hard=False,
        axis=-1,
        seed=None,
        inference="argmax",
        trainable_temperature=False,
        min_temperature=1e-2,
        **kwargs,
    ):
        super().__init__(
            temperature=temperature,
            hard=hard,
            seed=seed,
            inference=inference,
            trainable_temperature=trainable_temperature,
            min_temperature=min_temperature,
            **kwargs,
        )
        self.k = _checks.check_int(k, "k")
        self.axis = _checks.check_int(axis, "axis", minimum=None)

    def build(self, input_shape):
        axis = _checks.check_axis(self.axis, len(input_shape))
        _subsets.check_k(self.k, input_shape, axis, "inputs")

    def _sample(self, inputs):
        # Checked in __init__ and build: the unchecked core (which checks the
        # temperature variable, on every call).
        axis = self.axis % len(inputs.shape)
        dtype = keras.backend.standardize_dtype(inputs.dtype)
        steps, _ = _subsets._top_k_steps(
            inputs, self.k, self.temperature, axis, self.hard, self.seed_generator
        )
        return ops.moveaxis(ops.cast(ops.sum(steps, axis=-2), dtype), -1, axis)

    def _argmax(self, inputs):
        x = ops.moveaxis(inputs, self.axis, -1)
        indices = _subsets._top_k_indices(x, self.k)
        return ops.moveaxis(_subsets._k_hot(indices, x.shape[-1], x.dtype), -1, self.axis)

    def _softmax(self, inputs):
        axis = self.axis % len(inputs.shape)
        steps, _ = _subsets._noise_free_steps(inputs, self.k, self.temperature, axis)
        return ops.moveaxis(ops.sum(steps, axis=-2), -1, axis)

    def get_config(self):
        config = super().get_config()
        config.update({"k": self.k, "axis": self.axis})
        return config


SELECTION_METHODS = ("subset", "independent")


@keras.saving.register_keras_serializable(package="keras_gumbel")
class ConcreteSelect(_RelaxedSampler):
    """Learns which `k` of the `n` input features to keep: `[..., n] -> [..., k]`.

    The layer holds learnable selection logits and, in training, outputs
    `x @ S^T` for a random relaxed selection matrix `S` (`[k, n]`, each row
    a point of the simplex over the features), so gradients reach the
    logits; outside training it outputs the `k` selected features exactly,
    deterministically. One matrix `S` is drawn per call, shared by the batch.

    - `method="independent"`: the Concrete Autoencoder's selector (Abid,
      Balin, Zou 2019, https://arxiv.org/abs/1901.09346): logits `[k, n]`,
      row `i` of `S` a Gumbel-softmax sample `softmax((logits_i + g_i) /
      temperature)`; the selected features are the rows' argmaxes. The rows
      are independent, so two rows may select the same feature: a duplicate
      wastes an output (see `unique_features`).
    - `method="subset"` (default): one logits vector `[n]`, and `S` the `k`
      successive soft one-hots of the relaxed top-k (Xie & Ermon 2019;
      `keras_gumbel.ops.relaxed_top_k_steps`); the selected features are the
      `k` largest logits, distinct by construction. The rows are put in the
      order of their features' indices (by the exact subset drawn with the
      same noise), so an output column keeps its feature while the subset
      stays the same, whatever order the noise drew it in. When the subset
      changes, the columns past the changed feature shift; a decoder that
      maps columns to outputs can then settle on a wrong subset.

    Measured on a task whose targets copy 3 of 10 features (a `Dense(3)`
    decoder, Adam(0.1), 200 steps, the temperature annealed from 1 to 0.05;
    seeds 0-3 on each backend): `"independent"` ended with a duplicate in 6
    runs of 12, `"subset"` on a wrong subset in 2 of 12. With the sum of the
    3 features as the target (a `Dense(1)` decoder), `"subset"` found them
    in 12 runs of 12 (seeds 0-5, TensorFlow and PyTorch).

    With `hard=True` training uses the exact selection in the forward pass
    (one-hot rows: the Gumbel-max / Gumbel-top-k sample) with the relaxed
    gradient (straight-through). The temperature is a weight that
    `TemperatureScheduler` anneals, as in `GumbelSoftmax`; `.keras` files
    keep it, the logits and the random state.

    Args:
        k: the number of features to keep, an integer >= 1 (at most the
            number of input features, checked when the layer is built).
        method: `"subset"` or `"independent"` (see above).
        temperature: initial temperature, a finite number > 0.
        hard: whether training selects exactly (straight-through gradients).
        seed: integer seed of the layer's `keras.random.SeedGenerator`.
        inference: the output when not training: `"argmax"` (default), the
            exactly selected features (`selected_indices()`); `"softmax"`,
            `x @ S^T` for the deterministic relaxed `S` without noise at the
            current temperature; `"sample"`, a stochastic selection as in
            training.
        trainable_temperature: learn the temperature by gradient descent
            (kept >= `min_temperature`).
        min_temperature: lower bound of a trainable temperature.
        logits_initializer: initializer of the selection logits (default
            zeros: every feature equally likely; ties of equal logits go to
            the backend's `top_k` / `argmax`).
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float features, `n` on the last axis.
        training: Python boolean: whether to sample (training) or to apply
            the `inference` mode.

    Example:

    >>> select = ConcreteSelect(k=20, seed=1)
    >>> model = keras.Sequential([keras.Input((784,)), select, keras.layers.Dense(784)])
    >>> model.fit(x, x, epochs=50, callbacks=[TemperatureScheduler(
    ...     ExponentialDecay(initial=10.0, rate=1e-3, minimum=0.01))])
    >>> select.selected_indices()  # the 20 pixels kept
    """

    def __init__(
        self,
        k,
        method="subset",
        temperature=1.0,
        hard=False,
        seed=None,
        inference="argmax",
        trainable_temperature=False,
        min_temperature=1e-2,
        logits_initializer="zeros",
        **kwargs,
    ):
        super().__init__(
            temperature=temperature,
            hard=hard,
            seed=seed,
            inference=inference,
            trainable_temperature=trainable_temperature,
            min_temperature=min_temperature,
            **kwargs,
        )
        self.k = _checks.check_int(k, "k")
        self.method = _checks.check_choice(method, "method", SELECTION_METHODS)
        self.logits_initializer = keras.initializers.get(logits_initializer)

    def _check_features(self, input_shape):
        """Checks `k` against the input's last axis and sets `features`."""
        input_shape = tuple(input_shape)
        if len(input_shape) < 1:
            _checks.fail("inputs", "a tensor of rank >= 1 (features on the last axis)", input_shape)
        _subsets.check_k(self.k, input_shape, len(input_shape) - 1, "inputs", "features")
        self.features = int(input_shape[-1])

    def build(self, input_shape):
        self._check_features(input_shape)
        shape = (self.features,) if self.method == "subset" else (self.k, self.features)
        self.logits = self.add_weight(
            name="selection_logits", shape=shape, initializer=self.logits_initializer, trainable=True
        )

    def call(self, inputs, training=None):
        dtype = keras.backend.standardize_dtype(inputs.dtype)
        if "float" not in dtype:
            raise TypeError(
                f"{self.name} expects floating-point features, received inputs "
                f"of dtype {dtype}"
            )
        if training or self.inference == "sample":
            return self._select(inputs, self._sampled_matrix())
        if self.inference == "argmax":
            return ops.take(inputs, self._indices(), axis=-1)
        return self._select(inputs, self._noise_free_matrix())

    def _select(self, inputs, matrix):
        # `x @ S^T` as a matmul: Keras' TensorFlow einsum with an ellipsis
        # took 80 ms per gradient step here for [234, 784] x [50, 784]
        # (the matmul: 4 ms).
        return ops.matmul(inputs, ops.transpose(ops.cast(matrix, inputs.dtype)))

    def _sampled_matrix(self):
        if self.method == "independent":
            estimator = "straight_through" if self.hard else "relaxed"
            return gumbel_ops._gumbel_softmax(
                self.logits, self.temperature, 1, self.seed_generator, estimator, 1
            )
        steps, indices = _subsets._top_k_steps(
            self.logits, self.k, self.temperature, 0, self.hard, self.seed_generator
        )
        return self._by_feature(steps, indices)

    def _noise_free_matrix(self):
        if self.method == "independent":
            return ops.softmax(self._scaled(self.logits), axis=-1)
        return self._by_feature(*_subsets._noise_free_steps(self.logits, self.k, self.temperature, 0))

    @staticmethod
    def _by_feature(steps, indices):
        # The rows of the steps in the order of their features' indices:
        # a column of the output keeps its feature while the subset does.
        return ops.take(steps, ops.argsort(indices), axis=0)

    def _indices(self):
        logits = ops.stop_gradient(ops.convert_to_tensor(self.logits))
        if self.method == "independent":
            return ops.cast(ops.argmax(logits, axis=-1), "int32")
        return ops.sort(_subsets._top_k_indices(logits, self.k))

    def selected_indices(self):
        """The features the layer keeps outside training (`inference="argmax"`),
        as a NumPy int array of length `k`: output column `i` is input
        feature `selected_indices()[i]`.

        For `"subset"`, the `k` largest logits, in increasing order of
        feature index: `k` distinct features. For `"independent"`, each
        row's argmax, in row order: the same feature may appear several
        times (`unique_features()` counts the distinct ones).
        """
        if not self.built:
            raise ValueError(f"{self.name} has selected nothing yet: build it (call it on inputs) first")
        return np.asarray(ops.convert_to_numpy(self._indices()), dtype=np.int64)

    def unique_features(self):
        """The number of distinct features the layer keeps: `k` for
        `"subset"`; for `"independent"`, fewer when rows select the same
        feature (the Concrete Autoencoder's duplicates)."""
        return int(np.unique(self.selected_indices()).size)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)[:-1] + (self.k,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "k": self.k,
                "method": self.method,
                "logits_initializer": keras.initializers.serialize(self.logits_initializer),
            }
        )
        return config
