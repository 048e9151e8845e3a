"""Keras layers that sample relaxed categorical and binary variables."""

import keras
from keras import ops

from keras_gumbel import _checks, _compat, _random
from keras_gumbel import ops as gumbel_ops

__all__ = ["GumbelSoftmax", "MinValue", "RelaxedBernoulli"]

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

    Subclasses define `distribution(logits)` and the three outputs:
    `_sample` (training, or `inference="sample"`), `_argmax` and `_softmax`.
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
    exact one-hot D; their formulas and papers are in
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
            (kept >= `min_temperature`). Not with `"reinmax"`, whose gradient
            does not reach the temperature.
        min_temperature: lower bound of a trainable temperature.
        estimator: the gradient estimator (see `keras_gumbel.ops.ESTIMATORS`):
            `"relaxed"`, `"straight_through"`, `"gumbel_rao"`, `"reinmax"` or
            `"gapped_straight_through"`; `None` means `"straight_through"` if
            `hard` else `"relaxed"`.
        samples: the number of Gumbel draws `"gumbel_rao"` averages in its
            gradient (1 for the other estimators).
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
        if self.estimator == "reinmax":
            gumbel_ops.check_reinmax_temperature(self.initial_temperature)
            if trainable_temperature:
                raise ValueError(
                    "estimator='reinmax' sends no gradient to the temperature, "
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
