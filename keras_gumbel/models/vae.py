"""The discrete VAE: MNIST through a latent code of categorical variables.

An encoder maps an image to the logits of `latent_dim` categorical variables
of `num_categories` classes each; a `GumbelSoftmax` layer samples them
relaxed (or straight-through), and a decoder maps the samples back to
Bernoulli logits of the pixels. Training maximizes the evidence lower bound
(ELBO) with the uniform categorical prior, as in Jang et al. 2017 (section
4.3) and the PyTorch tutorial the package mirrors, without its bugs: the
encoder's logits stay linear (no ReLU), the temperature follows the global
step across epochs, and the loss is cross-entropy on logits.

References:
  - E. Jang, S. Gu, B. Poole. Categorical Reparameterization with
    Gumbel-Softmax. ICLR 2017. https://arxiv.org/abs/1611.01144
  - Y. Yan. Gumbel_Softmax_VAE (PyTorch tutorial).
    https://github.com/YongfeiYan/Gumbel_Softmax_VAE
"""

import math
import numbers

import keras
import tensorflow as tf
from keras import ops

from keras_gumbel import ops as gumbel_ops
from keras_gumbel.callbacks import TemperatureScheduler
from keras_gumbel.distribute import compile_arguments, scale_loss, step_logs
from keras_gumbel.layers import GumbelSoftmax
from keras_gumbel.schedules import ExponentialDecay, _positive_int

__all__ = ["DiscreteVAE"]


def _units(value, name):
    try:
        units = tuple(value)
    except TypeError:
        units = None
    if units is None or not all(
        isinstance(u, numbers.Integral) and not isinstance(u, bool) and u >= 1 for u in units
    ):
        raise ValueError(
            f"{name} must be a sequence of integers >= 1 (the hidden layer "
            f"sizes), received {name}={value!r}"
        )
    return tuple(int(u) for u in units)


def _mlp(units, activation, output_units, name, seeds):
    """Dense layers; the last is linear: the encoder's categorical logits and
    the decoder's Bernoulli logits (the tutorial's ReLU on logits is a bug)."""
    sizes = list(units) + [output_units]
    activations = [activation] * len(units) + [None]
    layers = [
        keras.layers.Dense(
            size,
            activation=act,
            # Seeded so that a fixed model seed gives the same initial weights.
            kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)),
        )
        for size, act in zip(sizes, activations)
    ]
    return keras.Sequential(layers, name=name)


def _layer_seeds(seed):
    """Distinct integer seeds for the layers' initializers (`None`s if
    `seed` is `None`)."""
    index = 0
    while True:
        yield None if seed is None else (seed * 64 + index) % (2**31 - 1)
        index += 1


@keras.saving.register_keras_serializable(package="keras_gumbel")
class DiscreteVAE(keras.Model):
    """A variational autoencoder with a Gumbel-softmax categorical latent code.

    The loss is the negative ELBO per image (in nats):

        -ELBO(x) = -log p(x | z) + KL(q(z | x) || p(z)),

    `z ~ GumbelSoftmax(q(z | x), temperature)`; the reconstruction term is
    the sigmoid cross-entropy of the decoder's Bernoulli logits, summed over
    pixels (grey levels in `[0, 1]` act as soft targets, as in the tutorial);
    the KL term is analytic for the uniform prior over `K` categories:
    `sum_i sum_k q_ik (log q_ik + log K)`.

    `fit` reports `loss`, `reconstruction` and `kl`; `evaluate` reports them
    with relaxed samples at the current temperature, and `hard_loss` and
    `hard_reconstruction` with the one-hot of the same samples' argmax (an
    exact categorical sample, Jang et al.'s evaluation).

    The temperature is the sampler's variable (`model.sampler.temperature`),
    annealed by `model.temperature_scheduler()`, a `TemperatureScheduler`
    with `ExponentialDecay(temperature, anneal_rate, min_temperature,
    anneal_every)`: `max(0.5, exp(-3e-5 * t))` every 100 steps by default,
    `t` the global step.

    Args:
        latent_dim: the number of categorical latent variables (30).
        num_categories: the classes of each variable, an integer >= 2 (10).
        input_dim: the pixels of an image (784).
        encoder_units: hidden layer sizes of the encoder ((512, 256)).
        decoder_units: hidden layer sizes of the decoder ((256, 512)).
        activation: the hidden layers' activation ("relu").
        temperature: initial temperature, a finite number > 0 (1.0).
        hard: whether training samples are exact one-hots with
            straight-through gradients (False).
        min_temperature: the annealed temperature's floor (0.5).
        anneal_rate: the decay rate per step (3e-5).
        anneal_every: the annealing period in steps (100).
        estimator: the sampler's gradient estimator (see
            `keras_gumbel.GumbelSoftmax`): `None` (`"straight_through"` if
            `hard` else `"relaxed"`), `"relaxed"`, `"straight_through"`,
            `"gumbel_rao"`, `"reinmax"` (needs temperatures >= 1, so
            `temperature` and `min_temperature` >= 1) or
            `"gapped_straight_through"`.
        samples: the Gumbel draws `"gumbel_rao"` averages (1 otherwise).
        trainable_temperature: learn the temperature with the other weights
            (then it is not annealed: `temperature_scheduler()` refuses).
        seed: integer seed of the sampler and of `sample`; the same seed
            replays the same run.
        **kwargs: base model arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float32 images `[B, input_dim]` in `[0, 1]`.
        training: sample relaxed codes (`True`) or use the one-hot of the
            most likely code (`False`, the default).

    Returns (call): pixel probabilities `[B, input_dim]`.

    Example:

    >>> vae = DiscreteVAE(seed=1)
    >>> vae.compile()                        # Adam(1e-3)
    >>> vae.fit(load_mnist("train"), epochs=10, validation_data=load_mnist("test"),
    ...         callbacks=[vae.temperature_scheduler()])
    """

    def __init__(
        self,
        latent_dim=30,
        num_categories=10,
        input_dim=784,
        encoder_units=(512, 256),
        decoder_units=(256, 512),
        activation="relu",
        temperature=1.0,
        hard=False,
        min_temperature=0.5,
        anneal_rate=3e-5,
        anneal_every=100,
        estimator=None,
        samples=1,
        trainable_temperature=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.latent_dim = _positive_int(latent_dim, "latent_dim")
        self.num_categories = _positive_int(num_categories, "num_categories")
        if self.num_categories < 2:
            raise ValueError(
                f"num_categories must be an integer >= 2, received num_categories={num_categories!r}"
            )
        self.input_dim = _positive_int(input_dim, "input_dim")
        self.encoder_units = _units(encoder_units, "encoder_units")
        self.decoder_units = _units(decoder_units, "decoder_units")
        try:
            keras.activations.get(activation)
        except ValueError as error:
            raise ValueError(
                f"activation must name a Keras activation, received activation={activation!r}"
            ) from error
        self.activation = activation
        # Checks the annealing arguments now rather than at fit time, with
        # the names of this model's arguments.
        gumbel_ops.validate_temperature(temperature)
        gumbel_ops.validate_temperature(min_temperature, "min_temperature")
        self._schedule = ExponentialDecay(
            initial=temperature, rate=anneal_rate, minimum=min_temperature, every=anneal_every
        )
        self.min_temperature = self._schedule.minimum
        self.anneal_rate = self._schedule.rate
        self.anneal_every = self._schedule.every
        self.hard = hard
        self.seed = seed

        # The sampler checks `temperature`, `hard`, `estimator`, `samples`,
        # `trainable_temperature` and `seed`.
        self.sampler = GumbelSoftmax(
            temperature=temperature,
            hard=hard,
            seed=seed,
            estimator=estimator,
            samples=samples,
            trainable_temperature=trainable_temperature,
            min_temperature=min(self.min_temperature, temperature),
            name="sampler",
        )
        self.estimator = self.sampler.estimator
        self.samples = self.sampler.samples
        self.trainable_temperature = trainable_temperature
        if self.estimator == "reinmax":
            # The annealed temperature must stay in ReinMax's domain too.
            gumbel_ops.check_reinmax_temperature(self.min_temperature, "min_temperature")
        code_size = self.latent_dim * self.num_categories
        seeds = _layer_seeds(seed)
        self.encoder = _mlp(self.encoder_units, activation, code_size, "encoder", seeds)
        self.decoder = _mlp(self.decoder_units, activation, self.input_dim, "decoder", seeds)
        self.initial_temperature = self.sampler.initial_temperature
        self.seed_generator = keras.random.SeedGenerator(seed)

        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.hard_loss_tracker = keras.metrics.Mean(name="hard_loss")
        self.hard_reconstruction_tracker = keras.metrics.Mean(name="hard_reconstruction")
        # Built now: BackupAndRestore and weight loading need built models.
        self.build((None, self.input_dim))

    def build(self, input_shape):
        self.encoder.build(input_shape)
        self.decoder.build((None, self.latent_dim * self.num_categories))
        self.sampler.build((None, self.latent_dim, self.num_categories))

    @property
    def metrics(self):
        return [
            self.loss_tracker,
            self.reconstruction_tracker,
            self.kl_tracker,
            self.hard_loss_tracker,
            self.hard_reconstruction_tracker,
        ]

    def compile(self, optimizer=None, **kwargs):
        """`keras.Model.compile` with the tutorial's `Adam(1e-3)` by default.

        The loss is the model's own (the negative ELBO): pass no `loss`.
        `jit_compile` defaults to True, not Keras' `"auto"` (which means no
        XLA on CPU): keras_gumbel's sampler is fast under XLA, and the fused
        step trains 1.16x as fast as the PyTorch reference on 2 CPU cores,
        against 0.985x without (benchmarks/RESULTS.md). Under a strategy
        with several replicas it compiles without XLA and with one step per
        execution (`keras_gumbel.distribute.compile_arguments`).
        """
        if kwargs.get("loss") is not None:
            raise ValueError(
                "DiscreteVAE computes its own loss (the negative ELBO); "
                f"received loss={kwargs['loss']!r}"
            )
        if optimizer is None:
            optimizer = keras.optimizers.Adam(learning_rate=1e-3)
        if self.distribute_strategy.num_replicas_in_sync == 1:
            kwargs.setdefault("jit_compile", True)
        kwargs = compile_arguments(self.distribute_strategy, kwargs)
        super().compile(optimizer=optimizer, **kwargs)

    def compile_from_config(self, config):
        # `compile` only adds a default optimizer, so the saved arguments
        # replay as they are (Keras skips custom `compile`s otherwise).
        self.compile(**keras.saving.deserialize_keras_object(config))
        self.optimizer.build(self.trainable_variables)

    def temperature_schedule(self):
        """`ExponentialDecay(temperature, anneal_rate, min_temperature, anneal_every)`."""
        return ExponentialDecay(**self._schedule.get_config())

    def temperature_scheduler(self, verbose=0):
        """The `TemperatureScheduler` callback that anneals the sampler's
        temperature along `temperature_schedule()`, by global step."""
        if self.trainable_temperature:
            raise ValueError(
                "the temperature of a DiscreteVAE with trainable_temperature=True "
                "is learned, not annealed: train it without temperature_scheduler()"
            )
        return TemperatureScheduler(
            self.temperature_schedule(), layers=[self.sampler], update="batch", verbose=verbose
        )

    # -- pieces of the model ------------------------------------------------

    def _logits(self, x, training=None):
        logits = self.encoder(x, training=training)
        return ops.reshape(logits, (-1, self.latent_dim, self.num_categories))

    def _pixel_logits(self, z, training=None):
        z = ops.reshape(z, (-1, self.latent_dim * self.num_categories))
        return ops.cast(self.decoder(z, training=training), "float32")

    def _kl(self, logits):
        # KL(q || uniform) = sum_k q_k (log q_k - log(1/K)), from log-softmax
        # so that q_k -> 0 gives 0 * finite rather than 0 * -inf.
        log_q = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
        log_k = math.log(self.num_categories)
        return ops.sum(ops.exp(log_q) * (log_q + log_k), axis=(1, 2))

    @staticmethod
    def _reconstruction(x, pixel_logits):
        # -log Bernoulli(x | sigmoid(l)) summed over pixels, stable for any l.
        x = ops.cast(x, "float32")
        return ops.sum(ops.binary_crossentropy(x, pixel_logits, from_logits=True), axis=-1)

    @staticmethod
    def _inputs(data):
        # fit/evaluate may hand over (x,), (x, y) or (x, y, sample_weight).
        if isinstance(data, (tuple, list)):
            data = data[0]
        return data

    # -- training ------------------------------------------------------------

    def call(self, inputs, training=None):
        logits = self._logits(inputs, training=training)
        z = self.sampler(logits, training=training)
        return ops.sigmoid(self._pixel_logits(z, training=training))

    def train_step(self, data):
        x = self._inputs(data)
        with tf.GradientTape() as tape:
            logits = self._logits(x, training=True)
            z = self.sampler(logits, training=True)
            reconstruction = self._reconstruction(x, self._pixel_logits(z, training=True))
            kl = self._kl(logits)
            negative_elbo = reconstruction + kl
            loss = ops.mean(negative_elbo)
            # Divided by the number of replicas (their gradients are summed),
            # then scaled for mixed float16 (a no-op for other optimizers).
            scaled_loss = self.optimizer.scale_loss(scale_loss(loss))
        gradients = tape.gradient(scaled_loss, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        self.loss_tracker.update_state(negative_elbo)
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        return step_logs(
            {
                "loss": self.loss_tracker.result(),
                "reconstruction": self.reconstruction_tracker.result(),
                "kl": self.kl_tracker.result(),
            }
        )

    def test_step(self, data):
        x = self._inputs(data)
        logits = self._logits(x, training=False)
        kl = self._kl(logits)
        # Relaxed samples at the current temperature (whatever `hard`), and
        # the one-hot of their argmax: with the same Gumbel noise,
        # argmax(logits + g) is an exact sample of q(z | x).
        relaxed = gumbel_ops.gumbel_softmax(
            logits, self.sampler.temperature, seed=self.sampler.seed_generator
        )
        hard = gumbel_ops.one_hot_argmax(relaxed)
        reconstruction = self._reconstruction(x, self._pixel_logits(relaxed))
        hard_reconstruction = self._reconstruction(x, self._pixel_logits(hard))
        self.loss_tracker.update_state(reconstruction + kl)
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        self.hard_loss_tracker.update_state(hard_reconstruction + kl)
        self.hard_reconstruction_tracker.update_state(hard_reconstruction)
        return step_logs({m.name: m.result() for m in self.metrics})

    # -- inference -----------------------------------------------------------

    def encode(self, x):
        """The posterior of images `x` `[B, input_dim]`.

        Returns:
            `(logits, codes)`: float logits `[B, latent_dim, num_categories]`
            of q(z | x) and int32 codes `[B, latent_dim]`, their argmax.
        """
        logits = self._logits(ops.convert_to_tensor(x, self.compute_dtype))
        return logits, ops.cast(ops.argmax(logits, axis=-1), "int32")

    def decode(self, z):
        """Pixel probabilities `[B, input_dim]` (float32) of codes `z`.

        Args:
            z: integer codes `[B, latent_dim]` with values in
                `[0, num_categories)`, or float (one-hot or relaxed) codes
                `[B, latent_dim, num_categories]` or
                `[B, latent_dim * num_categories]`.
        """
        z = ops.convert_to_tensor(z)
        if "int" in keras.backend.standardize_dtype(z.dtype):
            if len(z.shape) != 2 or z.shape[-1] != self.latent_dim:
                raise ValueError(
                    f"integer codes must have shape (B, {self.latent_dim}), "
                    f"received z of shape {tuple(z.shape)}"
                )
            z = ops.one_hot(z, self.num_categories, dtype=self.compute_dtype)
        elif z.shape[-1] not in (self.num_categories, self.latent_dim * self.num_categories):
            raise ValueError(
                f"z must be integer codes (B, {self.latent_dim}) or one-hots "
                f"(B, {self.latent_dim}, {self.num_categories}) or "
                f"(B, {self.latent_dim * self.num_categories}), received z of "
                f"dtype {z.dtype} and shape {tuple(z.shape)}"
            )
        return ops.sigmoid(self._pixel_logits(ops.cast(z, self.compute_dtype)))

    def reconstruct(self, x):
        """Pixel probabilities of the most likely code of each image `x`:
        `decode(encode(x)[1])`, deterministic."""
        return self.decode(self.encode(x)[1])

    def sample(self, n, seed=None):
        """`n` codes drawn from the uniform prior: int32 `[n, latent_dim]`.

        Args:
            n: the number of codes, an integer >= 1.
            seed: `None` (the model's `SeedGenerator`, seeded by `seed` of
                the constructor), an integer or a stateless seed `[2]`.
        """
        n = _positive_int(n, "n")
        return keras.random.randint(
            (n, self.latent_dim),
            0,
            self.num_categories,
            seed=self.seed_generator if seed is None else seed,
            dtype="int32",
        )

    def log_likelihood(self, x, samples=1000, chunk=100, seed=None):
        """Importance-weighted estimate of `log p(x)` per image (nats).

        The bound of Burda et al. 2016 (IWAE) with the discrete posterior
        `q(z | x)` as proposal and `S = samples` exact categorical codes
        `z_s ~ q(z | x)` (Gumbel-max):

            log p(x) >= E[ log (1/S) sum_s p(x | z_s) p(z_s) / q(z_s | x) ],

        tight as `S` grows; `S = 1` is the ELBO with hard samples.
        `-log_likelihood(x)` is the negative log-likelihood estimate Jang et
        al. 2017 report (with `samples=1000`).

        Args:
            x: images `[B, input_dim]` in `[0, 1]`.
            samples: `S`, an integer >= 1.
            chunk: codes decoded at once per image (memory `B * chunk *
                input_dim` floats), an integer >= 1.
            seed: `None` (the sampler's `SeedGenerator`), an integer or a
                stateless seed `[2]`.

        Returns:
            float32 `[B]`: the estimates of `log p(x)`.
        """
        samples = _positive_int(samples, "samples")
        chunk = _positive_int(chunk, "chunk")
        x = ops.cast(ops.convert_to_tensor(x), "float32")
        batch = ops.shape(x)[0]
        logits = ops.cast(self._logits(ops.cast(x, self.compute_dtype)), "float32")
        log_q_table = ops.log_softmax(logits, axis=-1)[:, None]  # [B, 1, L, K]
        log_prior = -self.latent_dim * math.log(self.num_categories)
        seed = self.sampler.seed_generator if seed is None else gumbel_ops.stateless_seed(seed)
        log_weights = []
        for start in range(0, samples, chunk):
            size = min(chunk, samples - start)
            tiled = ops.broadcast_to(
                logits[:, None], (batch, size, self.latent_dim, self.num_categories)
            )
            if not isinstance(seed, keras.random.SeedGenerator):
                seed = tf.random.experimental.stateless_fold_in(seed, start)
            z = gumbel_ops.gumbel_max(tiled, seed=seed)
            log_q = ops.sum(z * log_q_table, axis=(2, 3))
            pixel_logits = self._pixel_logits(
                ops.cast(ops.reshape(z, (-1, self.latent_dim * self.num_categories)), self.compute_dtype)
            )
            x_tiled = ops.reshape(
                ops.broadcast_to(x[:, None], (batch, size, self.input_dim)), (-1, self.input_dim)
            )
            log_px = -ops.reshape(self._reconstruction(x_tiled, pixel_logits), (batch, size))
            log_weights.append(log_px + log_prior - log_q)
        log_weights = ops.concatenate(log_weights, axis=1)
        return ops.logsumexp(log_weights, axis=1) - math.log(samples)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "latent_dim": self.latent_dim,
                "num_categories": self.num_categories,
                "input_dim": self.input_dim,
                "encoder_units": list(self.encoder_units),
                "decoder_units": list(self.decoder_units),
                "activation": self.activation,
                "temperature": self.initial_temperature,
                "hard": self.hard,
                "min_temperature": self.min_temperature,
                "anneal_rate": self.anneal_rate,
                "anneal_every": self.anneal_every,
                "estimator": self.estimator,
                "samples": self.samples,
                "trainable_temperature": self.trainable_temperature,
                "seed": self.seed,
            }
        )
        return config
