"""The toy GAN: a Gumbel-softmax generator learns a discrete distribution.

The generator is nothing but learnable logits and a `GumbelSoftmax` sample;
the discriminator (by default a logistic regression) tells its samples from
a stream of real numbers (`keras_gumbel.data.number_stream`). Counting would
solve the problem; the point is that gradients flow through discrete samples.

Reference: Y. Zeldes. Neural Networks gone wild! They can sample from
discrete distributions now! 2018. http://anotherdatum.com/gumbel-gan.html
"""

from keras_gumbel.apps.common import backend  # noqa: F401, I001 (first: a clear error without TensorFlow)

import numbers

import keras
import tensorflow as tf
from keras import ops

from keras_gumbel._checks import check_int
from keras_gumbel.apps.common.compat import compile_arguments, step_logs
from keras_gumbel.apps.common.distribute import replica_loss, scale_loss
from keras_gumbel.apps.gan.data import check_probs
from keras_gumbel.layers import GumbelSoftmax

__all__ = ["CategoricalGenerator", "GumbelGAN", "TotalVariationDistance"]


def total_variation(p, q):
    """`TV(p, q) = sum_k |p_k - q_k| / 2`, in `[0, 1]`."""
    return 0.5 * ops.sum(ops.abs(ops.convert_to_tensor(p) - ops.convert_to_tensor(q)))


@keras.saving.register_keras_serializable(package="keras_gumbel")
class CategoricalGenerator(keras.layers.Layer):
    """Samples one-hot-like vectors from a learnable categorical distribution.

    The distribution's logits are a trainable weight, initialised to ones
    (uniform probabilities); samples are `GumbelSoftmax` draws
    `softmax((logits + g) / temperature)` (Jang et al. 2017; Maddison et al.
    2017), so the gradient of anything computed from them reaches the logits.
    The generator samples in training and in inference alike.

    Args:
        num_categories: the number of categories `K`, an integer >= 2.
        temperature: the Gumbel-softmax temperature, a finite number > 0.
            It is the `temperature` variable of the inner `GumbelSoftmax`
            layer, which `keras_gumbel.TemperatureScheduler` can anneal.
        hard: whether samples are exact one-hots with straight-through
            gradients.
        seed: integer seed of the sampler; the same seed replays the same
            samples.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: the batch size, a Python integer or an integer scalar tensor.
        training: unused (the generator always samples); accepted for
            symmetry with other layers.

    Example:

    >>> generator = CategoricalGenerator(5, temperature=0.5, seed=1)
    >>> samples = generator(8)       # float32 [8, 5]
    >>> generator.probs              # softmax(logits): 0.2 each at first
    """

    def __init__(self, num_categories, temperature=1.0, hard=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.num_categories = check_int(num_categories, "num_categories", minimum=2)
        self.sampler = GumbelSoftmax(
            temperature=temperature,
            hard=hard,
            seed=seed,
            inference="sample",
            dtype=self.dtype_policy,
            name="gumbel_softmax",
        )
        self.logits = self.add_weight(
            name="logits",
            shape=(self.num_categories,),
            initializer="ones",
        )
        self.built = True

    @property
    def temperature(self):
        """The sampler's temperature variable."""
        return self.sampler.temperature

    @property
    def probs(self):
        """The learned distribution, `softmax(logits)` (float32 tensor `[K]`)."""
        return ops.softmax(ops.cast(self.logits, "float32"))

    def __call__(self, inputs, *args, **kwargs):
        # Keras layers take tensors only as positional inputs; a batch size
        # is more natural as a Python integer.
        if isinstance(inputs, numbers.Integral) and not isinstance(inputs, bool):
            inputs = ops.convert_to_tensor(inputs, "int32")
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs, training=None):
        logits = ops.broadcast_to(
            ops.cast(self.logits, self.compute_dtype), (inputs, self.num_categories)
        )
        return self.sampler(logits, training=True)

    def compute_output_shape(self, input_shape):
        return (None, self.num_categories)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_categories": self.num_categories,
                "temperature": self.sampler.initial_temperature,
                "hard": self.sampler.hard,
                "seed": self.sampler.seed,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="keras_gumbel")
class TotalVariationDistance(keras.metrics.Metric):
    """The total variation distance of the latest probabilities to `true_probs`.

    `TV(p, q) = sum_k |p_k - q_k| / 2`: the largest difference in probability
    the two distributions give any event. Unlike a mean metric it reports the
    value of the latest `update_state(probs)`, so at the end of an epoch it
    is the distance of the generator as it then is.

    Args:
        true_probs: the target distribution (see `keras_gumbel.data.check_probs`).
        name: the metric's name.
    """

    def __init__(self, true_probs, name="tv_distance", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_probs = [float(p) for p in check_probs(true_probs, "true_probs")]
        # Every replica holds the same distance: "mean" (not the metrics'
        # default "sum") keeps it when read across replicas.
        self.value = self.add_variable(
            shape=(), initializer="zeros", aggregation="mean", name="value"
        )

    def update_state(self, probs):
        probs = ops.cast(probs, "float32")
        self.value.assign(total_variation(probs, ops.array(self.true_probs, "float32")))

    def result(self):
        return ops.convert_to_tensor(self.value)

    def get_config(self):
        return {"name": self.name, "true_probs": self.true_probs}


@keras.saving.register_keras_serializable(package="keras_gumbel")
class GumbelGAN(keras.Model):
    """A GAN whose generator samples a categorical distribution by Gumbel-softmax.

    Every training step makes one discriminator update, on a batch of real
    samples against as many generated ones, then `generator_steps`
    generator updates against the updated discriminator, each on a fresh
    batch of samples; the loop runs inside the compiled train function. With
    the binary cross-entropy on logits (the default `loss`):

        d_loss = loss(1, D(real)) + loss(0, D(fake))
        g_loss = loss(1, D(fake))          (the non-saturating loss)

    The discriminator's optimizer is the model's `optimizer`, so
    `model.optimizer.iterations` counts training steps (the global step
    `TemperatureScheduler` reads).

    Args:
        generator: a `CategoricalGenerator` (or a layer with the same
            interface: called with a batch size, `num_categories`, `probs`).
        discriminator: a model mapping `[batch, K]` samples to one logit per
            sample, `[batch, 1]`; `None` builds the logistic regression of
            the original post, a single `Dense(1)` (initialised to zeros).
        generator_steps: generator updates per discriminator update, an
            integer >= 1 (the post's GENERATOR_TRAINING_FACTOR = 10).
        true_probs: the real distribution, if known: adds the metric
            `tv_distance` between `generator.probs` and it.
        **kwargs: base model arguments (`name`, ...).

    Call arguments:
        inputs: samples `[batch, K]`.
        training: passed to the discriminator.

    Returns from `call`: the discriminator's logits that each sample is real.

    Example:

    >>> gan = GumbelGAN(CategoricalGenerator(5, temperature=0.5, seed=1),
    ...                 true_probs=(0, 0, 0.1, 0.3, 0.6))
    >>> gan.compile(d_optimizer=keras.optimizers.Adam(1e-3),
    ...             g_optimizer=keras.optimizers.Adam(1e-3))
    >>> gan.fit(number_stream(batch_size=64, seed=2), epochs=20, steps_per_epoch=100)
    """

    def __init__(
        self, generator, discriminator=None, generator_steps=10, true_probs=None, **kwargs
    ):
        super().__init__(**kwargs)
        num_categories = getattr(generator, "num_categories", None)
        if not isinstance(generator, keras.layers.Layer) or num_categories is None:
            raise ValueError(
                "generator must be a keras layer with a `num_categories` "
                "attribute, such as keras_gumbel.models.CategoricalGenerator, "
                f"received generator={generator!r}"
            )
        self.generator = generator
        self.num_categories = num_categories
        if discriminator is None:
            # Zeros: the logistic regression's loss is convex, so it needs no
            # random start, and the GAN stays reproducible from its seeds.
            discriminator = keras.Sequential(
                [keras.layers.Dense(1, kernel_initializer="zeros", name="logistic_regression")],
                name="discriminator",
            )
        if not discriminator.built:
            discriminator.build((None, num_categories))
        self.discriminator = discriminator
        self.generator_steps = check_int(generator_steps, "generator_steps")
        if true_probs is not None:
            true_probs = check_probs(true_probs, "true_probs")
            if len(true_probs) != num_categories:
                raise ValueError(
                    f"true_probs must have num_categories={num_categories} "
                    f"entries, received true_probs={true_probs.tolist()!r}"
                )
            true_probs = [float(p) for p in true_probs]
        self.true_probs = true_probs
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.tv_tracker = (
            None if true_probs is None else TotalVariationDistance(true_probs)
        )
        self.built = True

    @property
    def metrics(self):
        trackers = [self.d_loss_tracker, self.g_loss_tracker]
        return trackers + ([self.tv_tracker] if self.tv_tracker is not None else [])

    def call(self, inputs, training=None):
        return self.discriminator(inputs, training=training)

    def compile(self, d_optimizer, g_optimizer, loss=None, **kwargs):
        """Configures the model for training.

        Under a `"mixed_float16"` dtype policy both optimizers are wrapped in
        `keras.optimizers.LossScaleOptimizer`, as `keras.Model.compile` does
        for its optimizer.

        Args:
            d_optimizer: the discriminator's optimizer (becomes `optimizer`):
                an optimizer, its name or its config.
            g_optimizer: the generator's optimizer, a different instance.
                (The toy GAN converges best with plain SGD; see the README.)
            loss: a loss `(labels, logits) -> scalar`; `None` means
                `keras.losses.BinaryCrossentropy(from_logits=True)`.
            **kwargs: `jit_compile`, `steps_per_execution`, `run_eagerly`,
                passed to `keras.Model.compile` (under a strategy with
                several replicas, without XLA and one step per execution:
                `keras_gumbel.apps.common.compat.compile_arguments`).
        """
        unknown = set(kwargs) - {"jit_compile", "steps_per_execution", "run_eagerly"}
        if unknown:
            raise ValueError(
                "GumbelGAN.compile takes d_optimizer, g_optimizer, loss, "
                "jit_compile, steps_per_execution and run_eagerly, received "
                f"{sorted(unknown)}"
            )
        kwargs = compile_arguments(self.distribute_strategy, kwargs)
        d_optimizer = keras.optimizers.get(d_optimizer)
        g_optimizer = keras.optimizers.get(g_optimizer)
        if d_optimizer is g_optimizer:
            raise ValueError(
                "d_optimizer and g_optimizer must be different optimizer "
                "instances (each keeps its own slot variables and step count)"
            )
        super().compile(optimizer=d_optimizer, **kwargs)
        self.d_optimizer = self.optimizer
        if self.dtype_policy.name == "mixed_float16" and not isinstance(
            g_optimizer, keras.optimizers.LossScaleOptimizer
        ):
            g_optimizer = keras.optimizers.LossScaleOptimizer(g_optimizer)
        self.g_optimizer = g_optimizer
        self.loss_fn = (
            keras.losses.BinaryCrossentropy(from_logits=True)
            if loss is None
            else keras.losses.get(loss)
        )
        # Built now: a loaded model restores their variables, and variables
        # cannot be created inside the compiled generator loop.
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)
        self._gan_compile_args = dict(kwargs)

    def get_compile_config(self):
        if not self.compiled:
            return {}
        return keras.saving.serialize_keras_object(
            {
                "d_optimizer": self.d_optimizer,
                "g_optimizer": self.g_optimizer,
                "loss": self.loss_fn,
                **self._gan_compile_args,
            }
        )

    def compile_from_config(self, config):
        self.compile(**keras.saving.deserialize_keras_object(config))

    def _gan_losses(self, real):
        batch_size = ops.shape(real)[0]
        fake = self.generator(batch_size, training=True)
        real_logits = self.discriminator(real, training=True)
        fake_logits = self.discriminator(fake, training=True)
        # Each replica's own mean losses: train_step scales them for the sum
        # of gradients over replicas, the metrics take them as they are.
        d_loss = replica_loss(
            self.loss_fn, ops.ones_like(real_logits), real_logits
        ) + replica_loss(self.loss_fn, ops.zeros_like(fake_logits), fake_logits)
        g_loss = replica_loss(self.loss_fn, ops.ones_like(fake_logits), fake_logits)
        return d_loss, g_loss

    def _generator_loss(self, batch_size):
        fake_logits = self.discriminator(
            self.generator(batch_size, training=True), training=True
        )
        return replica_loss(self.loss_fn, ops.ones_like(fake_logits), fake_logits)

    def _update_metrics(self, d_loss, g_loss):
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        if self.tv_tracker is not None:
            self.tv_tracker.update_state(self.generator.probs)
        return step_logs({m.name: m.result() for m in self.metrics})

    @staticmethod
    def _real(data):
        return data[0] if isinstance(data, (tuple, list)) else data

    def train_step(self, data):
        real = self._real(data)
        batch_size = ops.shape(real)[0]
        d_weights = self.discriminator.trainable_weights
        g_weights = self.generator.trainable_weights
        with tf.GradientTape() as tape:
            d_loss, _ = self._gan_losses(real)
            # Divided by the number of replicas (their gradients are summed);
            # then scaled if the optimizer scales losses (mixed_float16).
            scaled = self.d_optimizer.scale_loss(scale_loss(d_loss))
        self.d_optimizer.apply(tape.gradient(scaled, d_weights), d_weights)

        def generator_step(_, total):
            with tf.GradientTape() as tape:
                g_loss = self._generator_loss(batch_size)
                scaled = self.g_optimizer.scale_loss(scale_loss(g_loss))
            self.g_optimizer.apply(tape.gradient(scaled, g_weights), g_weights)
            return total + ops.cast(g_loss, "float32")

        total = ops.zeros((), "float32")
        if tf.distribute.has_strategy():
            # Under a strategy the optimizer synchronises the replicas, which
            # a graph loop cannot contain: the loop is unrolled instead.
            for step in range(self.generator_steps):
                total = generator_step(step, total)
        else:
            total = ops.fori_loop(0, self.generator_steps, generator_step, total)
        return self._update_metrics(d_loss, total / self.generator_steps)

    def test_step(self, data):
        d_loss, g_loss = self._gan_losses(self._real(data))
        return self._update_metrics(d_loss, g_loss)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "generator": keras.saving.serialize_keras_object(self.generator),
                "discriminator": keras.saving.serialize_keras_object(self.discriminator),
                "generator_steps": self.generator_steps,
                "true_probs": self.true_probs,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(
            config["discriminator"]
        )
        return cls(**config)
