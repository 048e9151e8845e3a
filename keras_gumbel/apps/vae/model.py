"""The discrete VAE: MNIST through a latent code of categorical variables.

An encoder maps an image to the logits of `latent_dim` categorical variables
of `num_categories` classes each; a `GumbelSoftmax` layer samples them
relaxed (or straight-through), and a decoder maps the samples back to
Bernoulli logits of the pixels. Training maximizes the evidence lower bound
(ELBO) with the uniform categorical prior, as in Jang et al. 2017 (section
4.3) and the PyTorch tutorial the package mirrors, without its bugs: the
encoder's logits stay linear (no ReLU), the temperature follows the global
step across epochs, and the loss is cross-entropy on logits.

`DiscreteVAE` receives its encoder, decoder and sampler, as keras-io's VAE
receives its encoder and decoder; `mlp_encoder` and `mlp_decoder` build the
tutorial's. How the temperature is annealed is training configuration (the
recipe's `TemperatureScheduler`), not part of the model.

References:
  - E. Jang, S. Gu, B. Poole. Categorical Reparameterization with
    Gumbel-Softmax. ICLR 2017. https://arxiv.org/abs/1611.01144
  - Y. Yan. Gumbel_Softmax_VAE (PyTorch tutorial).
    https://github.com/YongfeiYan/Gumbel_Softmax_VAE
"""

from keras_gumbel.apps.common import backend  # noqa: F401, I001 (first: a clear error without TensorFlow)

import math
import re

import keras
import tensorflow as tf
from keras import ops

from keras_gumbel import ops as gumbel_ops
from keras_gumbel._checks import (
    check_int,
    check_seed,
    check_tensor_range,
    check_units,
    fail,
)
from keras_gumbel.apps.common.compat import compile_arguments, step_logs
from keras_gumbel.apps.common.distribute import scale_loss
from keras_gumbel.apps.common.seeds import derive_seed
from keras_gumbel.callbacks import TemperatureScheduler
from keras_gumbel.layers import GumbelSoftmax
from keras_gumbel.schedules import ExponentialDecay

__all__ = ["DiscreteVAE", "mlp_decoder", "mlp_encoder"]


def _mlp(input_dim, units, activation, output_units, name, seed):
    """Dense layers; the last is linear: the encoder's categorical logits and
    the decoder's Bernoulli logits (the tutorial's ReLU on logits is a bug).
    Each kernel initializer has its own seed derived from `seed`."""
    units = check_units(units, f"{name}_units")
    try:
        keras.activations.get(activation)
    except ValueError:
        fail("activation", "the name of a Keras activation", activation)
    sizes = list(units) + [output_units]
    activations = [activation] * len(units) + [None]
    model = keras.Sequential(
        [
            keras.layers.Dense(
                size,
                activation=act,
                kernel_initializer=keras.initializers.GlorotUniform(
                    seed=derive_seed(seed, f"{name}/{index}")
                ),
            )
            for index, (size, act) in enumerate(zip(sizes, activations))
        ],
        name=name,
    )
    model.build((None, input_dim))
    return model


def mlp_encoder(latent_dim=30, num_categories=10, units=(512, 256), activation="relu",
                input_dim=784, seed=None):
    """The tutorial's encoder: `input_dim` pixels -> hidden `units` ->
    `latent_dim * num_categories` linear logits (784-512-256-300 by default).

    Args:
        latent_dim, num_categories: the latent code (30 x 10).
        units: hidden layer sizes, integers >= 1.
        activation: the hidden layers' activation (a Keras activation name).
        input_dim: the pixels of an image.
        seed: `None` or an integer: the initializers' root seed.

    Returns:
        A built `keras.Sequential` named `"encoder"`.
    """
    latent_dim = check_int(latent_dim, "latent_dim")
    num_categories = check_int(num_categories, "num_categories", minimum=2)
    input_dim = check_int(input_dim, "input_dim")
    return _mlp(input_dim, units, activation, latent_dim * num_categories, "encoder",
                check_seed(seed))


def mlp_decoder(latent_dim=30, num_categories=10, units=(256, 512), activation="relu",
                input_dim=784, seed=None):
    """The tutorial's decoder: a flat code `latent_dim * num_categories` ->
    hidden `units` -> `input_dim` linear Bernoulli logits (300-256-512-784 by
    default). Arguments as in `mlp_encoder`; returns a built
    `keras.Sequential` named `"decoder"`."""
    latent_dim = check_int(latent_dim, "latent_dim")
    num_categories = check_int(num_categories, "num_categories", minimum=2)
    input_dim = check_int(input_dim, "input_dim")
    decoder = _mlp(latent_dim * num_categories, units, activation, input_dim, "decoder",
                   check_seed(seed))
    return decoder


def _check_part(part, name, input_shape, output_shapes):
    """`part` if it is a Keras layer mapping `input_shape` to one of
    `output_shapes` (checked by a symbolic call, which also builds it)."""
    wanted = " or ".join(str(shape) for shape in output_shapes)
    if not isinstance(part, keras.layers.Layer):
        fail(name, f"a Keras layer or model mapping {input_shape} to {wanted}", part)
    try:
        output = part(keras.KerasTensor(input_shape))
    except Exception as error:  # any failure of a user's layer: say which part
        # Keras' messages span lines and carry terminal colour codes.
        reason = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(error)).split())
        raise ValueError(
            f"{name} must be a Keras layer or model mapping {input_shape} to "
            f"{wanted}, received {name}={part.name!r}, which fails on inputs "
            f"of shape {input_shape}: {reason}"
        ) from error
    shape = tuple(getattr(output, "shape", ()) or ())
    if shape not in output_shapes:
        raise ValueError(
            f"{name} must be a Keras layer or model mapping {input_shape} to "
            f"{wanted}, received {name}={part.name!r} with outputs of shape {shape}"
        )
    return part


# The noise streams of a DiscreteVAE besides its sampler's: each drawn from
# its own generator, seeded by `derive_seed(seed, name)`, so that evaluating,
# `sample` and `log_likelihood` never advance the training noise.
_STREAMS = ("evaluation", "prior", "importance")


@keras.saving.register_keras_serializable(package="keras_gumbel")
class DiscreteVAE(keras.Model):
    """A variational autoencoder with a Gumbel-softmax categorical latent code.

    The loss is the negative ELBO per image (in nats):

        -ELBO(x) = -log p(x | z) + KL(q(z | x) || p(z)),

    `z ~ sampler(q(z | x))`; the reconstruction term is the sigmoid
    cross-entropy of the decoder's Bernoulli logits, summed over pixels (grey
    levels in `[0, 1]` act as soft targets, as in the tutorial); the KL term
    is analytic for the uniform prior over `K` categories:
    `sum_i sum_k q_ik (log q_ik + log K)`.

    `fit` reports `loss`, `reconstruction` and `kl`; `evaluate` reports them
    with relaxed samples at the sampler's current temperature, and
    `hard_loss` and `hard_reconstruction` with the one-hot of the same
    samples' argmax (an exact categorical sample, Jang et al.'s evaluation).

    With no arguments but `seed` it is the PyTorch tutorial's model: encoder
    784-512-256-(30 x 10) and decoder (30 x 10)-256-512-784 with ReLU
    (`mlp_encoder`, `mlp_decoder`), sampled relaxed by
    `GumbelSoftmax(temperature=1.0)`. The temperature is the sampler's
    variable (`model.sampler.temperature`); anneal it with a
    `keras_gumbel.TemperatureScheduler` (the tutorial's schedule:
    `model.temperature_scheduler()`).

    Randomness: `seed` is the model's root seed. The default encoder's and
    decoder's initializers, the default sampler's training noise, the
    evaluation noise, the prior samples of `sample` and the importance
    samples of `log_likelihood` each draw from their own stream derived from
    it (`derive_seed(seed, purpose)`), so no two start at the same state and
    evaluating never moves the training noise. The streams' states are saved
    with the model, as the sampler's is.

    Args:
        encoder: a Keras layer or model mapping images `[B, input_dim]` to
            logits `[B, latent_dim * num_categories]` or
            `[B, latent_dim, num_categories]` (linear: no activation on the
            logits); `None` builds `mlp_encoder`.
        decoder: a Keras layer or model mapping flat codes
            `[B, latent_dim * num_categories]` to Bernoulli logits
            `[B, input_dim]`; `None` builds `mlp_decoder`.
        sampler: a `keras_gumbel.GumbelSoftmax` over the last axis (any
            estimator, temperature, `hard`, trainable temperature); `None`
            builds the tutorial's relaxed `GumbelSoftmax(temperature=1.0)`.
        latent_dim: the number of categorical latent variables (30).
        num_categories: the classes of each variable, an integer >= 2 (10).
        input_dim: the pixels of an image (784).
        seed: `None` or the integer root seed; the same seed replays the
            same run.
        **kwargs: base model arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float32 images `[B, input_dim]` in `[0, 1]`.
        training: sample relaxed codes (`True`) or use the one-hot of the
            most likely code (`False`, the default).

    Returns (call): pixel probabilities `[B, input_dim]`.

    Example:

    >>> vae = DiscreteVAE(seed=1)             # the tutorial's model
    >>> vae.compile()                        # Adam(1e-3)
    >>> vae.fit(load_mnist("train"), epochs=10, validation_data=load_mnist("test"),
    ...         callbacks=[vae.temperature_scheduler()])
    >>> vae = DiscreteVAE(mlp_encoder(units=(1024,)), mlp_decoder(units=(1024,)),
    ...                   GumbelSoftmax(estimator="reinmax", temperature=1.3, seed=2))
    """

    def __init__(
        self,
        encoder=None,
        decoder=None,
        sampler=None,
        latent_dim=30,
        num_categories=10,
        input_dim=784,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.latent_dim = check_int(latent_dim, "latent_dim")
        self.num_categories = check_int(num_categories, "num_categories", minimum=2)
        self.input_dim = check_int(input_dim, "input_dim")
        self.seed = check_seed(seed)
        code_size = self.latent_dim * self.num_categories
        if encoder is None:
            encoder = mlp_encoder(self.latent_dim, self.num_categories, input_dim=self.input_dim,
                                  seed=derive_seed(seed, "encoder"))
        if decoder is None:
            decoder = mlp_decoder(self.latent_dim, self.num_categories, input_dim=self.input_dim,
                                  seed=derive_seed(seed, "decoder"))
        if sampler is None:
            sampler = GumbelSoftmax(temperature=1.0, seed=derive_seed(seed, "sampler"),
                                    name="sampler")
        self.encoder = _check_part(
            encoder, "encoder", (None, self.input_dim),
            [(None, code_size), (None, self.latent_dim, self.num_categories)],
        )
        self.decoder = _check_part(decoder, "decoder", (None, code_size), [(None, self.input_dim)])
        if not isinstance(sampler, GumbelSoftmax) or sampler.axis not in (-1, 2):
            fail("sampler", "a keras_gumbel.GumbelSoftmax layer over the last axis", sampler)
        self.sampler = sampler
        if not sampler.built:
            sampler.build((None, self.latent_dim, self.num_categories))
        self._streams = {
            name: keras.random.SeedGenerator(derive_seed(seed, name), name=f"{name}_seeds")
            for name in _STREAMS
        }

        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.hard_loss_tracker = keras.metrics.Mean(name="hard_loss")
        self.hard_reconstruction_tracker = keras.metrics.Mean(name="hard_reconstruction")
        # Built now: BackupAndRestore and weight loading need built models.
        self.built = True

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
        execution (`keras_gumbel.apps.common.compat.compile_arguments`).
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

    def temperature_scheduler(self, schedule=None, verbose=0):
        """A `TemperatureScheduler` that anneals the sampler's temperature by
        global step along `schedule`.

        A convenience, not model state: the schedule is training
        configuration and is not saved with the model. `schedule=None` is the
        PyTorch tutorial's, `ExponentialDecay(initial, rate=3e-5,
        minimum=min(initial, 0.5), every=100)` from the sampler's initial
        temperature (with ReinMax the floor is 1, its domain).
        """
        if self.sampler.trainable_temperature:
            raise ValueError(
                "the temperature of a DiscreteVAE whose sampler has "
                "trainable_temperature=True is learned, not annealed: train it "
                "without a TemperatureScheduler"
            )
        if schedule is None:
            initial = self.sampler.initial_temperature
            floor = 1.0 if self.sampler.estimator == "reinmax" else 0.5
            schedule = ExponentialDecay(initial, rate=3e-5, minimum=min(initial, floor), every=100)
        return TemperatureScheduler(schedule, layers=[self.sampler], update="batch", verbose=verbose)

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
        # argmax(logits + g) is an exact sample of q(z | x). The noise is the
        # evaluation stream's, not the sampler's: evaluating does not move
        # the training noise.
        relaxed = gumbel_ops.gumbel_softmax(
            logits, self.sampler.temperature, seed=self._streams["evaluation"]
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

    # The public inference methods check their inputs (a pass over them;
    # `fit` and `evaluate` do not go through them: training data is checked
    # where it is loaded). The SavedModel's signatures call `_encode` and
    # `_decode` with their own argument names.

    def encode(self, x):
        """The posterior of images `x` `[B, input_dim]`, finite pixels in
        `[0, 1]` (else `ValueError`; in a traced function, an assertion's
        `InvalidArgumentError`).

        Returns:
            `(logits, codes)`: float logits `[B, latent_dim, num_categories]`
            of q(z | x) and int32 codes `[B, latent_dim]`, their argmax.
        """
        return self._encode(x, "x")

    def _encode(self, x, name):
        x = self._checked_images(x, name)
        logits = self._logits(ops.cast(x, self.compute_dtype))
        return logits, ops.cast(ops.argmax(logits, axis=-1), "int32")

    def _checked_images(self, x, name):
        return check_tensor_range(x, name, 0, 1, "finite pixel values in [0, 1]")

    def decode(self, z):
        """Pixel probabilities `[B, input_dim]` (float32) of codes `z`.

        Args:
            z: integer codes `[B, latent_dim]` with values in
                `[0, num_categories)` (others raise `ValueError`; in a traced
                function, an assertion's `InvalidArgumentError`), or float
                (one-hot or relaxed) codes `[B, latent_dim, num_categories]`
                or `[B, latent_dim * num_categories]`.
        """
        return self._decode(z, "z")

    def _decode(self, z, name):
        z = ops.convert_to_tensor(z)
        if "int" in keras.backend.standardize_dtype(z.dtype):
            if len(z.shape) != 2 or z.shape[-1] != self.latent_dim:
                raise ValueError(
                    f"integer codes must have shape (B, {self.latent_dim}), "
                    f"received {name} of shape {tuple(z.shape)}"
                )
            # one_hot maps an out-of-range code to zeros: a plausible image.
            z = check_tensor_range(
                z, name, 0, self.num_categories - 1, f"integer codes in [0, {self.num_categories})"
            )
            z = ops.one_hot(z, self.num_categories, dtype=self.compute_dtype)
        elif z.shape[-1] not in (self.num_categories, self.latent_dim * self.num_categories):
            raise ValueError(
                f"{name} must be integer codes (B, {self.latent_dim}) or one-hots "
                f"(B, {self.latent_dim}, {self.num_categories}) or "
                f"(B, {self.latent_dim * self.num_categories}), received {name} of "
                f"dtype {z.dtype} and shape {tuple(z.shape)}"
            )
        return ops.sigmoid(self._pixel_logits(ops.cast(z, self.compute_dtype)))

    def reconstruct(self, x):
        """Pixel probabilities of the most likely code of each image `x`:
        `decode(encode(x)[1])`, deterministic; `x` is checked as in
        `encode`."""
        return self._decode(self._encode(x, "x")[1], "codes")

    def sample(self, n, seed=None):
        """`n` codes drawn from the uniform prior: int32 `[n, latent_dim]`.

        Args:
            n: the number of codes, an integer >= 1.
            seed: `None` (the model's prior stream, derived from the
                constructor's `seed`), an integer or a stateless seed `[2]`.
                An integer seed is mapped to a stateless seed as every
                keras_gumbel op maps it (`keras_gumbel.ops.stateless_seed`),
                not by Keras' own rule (which folds seeds modulo
                `2**31 - 2`), so the exported `sample` signature draws these
                codes for the same int64 seed.
        """
        n = check_int(n, "n")
        seed = gumbel_ops.stateless_seed(self._streams["prior"] if seed is None else seed)
        # Keras' `randint` with a stateless seed (Philox), as the export draws.
        return tf.random.stateless_uniform(
            (n, self.latent_dim), seed=seed, minval=0, maxval=self.num_categories,
            dtype=tf.int32, alg="philox",
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
            x: images `[B, input_dim]`, finite pixels in `[0, 1]` (checked
                as in `encode`).
            samples: `S`, an integer >= 1.
            chunk: codes decoded at once per image (memory `B * chunk *
                input_dim` floats), an integer >= 1.
            seed: `None` (the model's importance-sampling stream, derived
                from the constructor's `seed`), an integer or a stateless
                seed `[2]`.

        Returns:
            float32 `[B]`: the estimates of `log p(x)`.
        """
        samples = check_int(samples, "samples")
        chunk = check_int(chunk, "chunk")
        x = ops.cast(self._checked_images(x, "x"), "float32")
        batch = ops.shape(x)[0]
        logits = ops.cast(self._logits(ops.cast(x, self.compute_dtype)), "float32")
        log_q_table = ops.log_softmax(logits, axis=-1)[:, None]  # [B, 1, L, K]
        log_prior = -self.latent_dim * math.log(self.num_categories)
        seed = self._streams["importance"] if seed is None else gumbel_ops.stateless_seed(seed)
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

    # The random streams' states are saved with the weights (Keras saves
    # variables, not SeedGenerators), so a loaded or resumed model draws the
    # evaluation, prior and importance noise an uninterrupted one would.

    def save_own_variables(self, store):
        super().save_own_variables(store)
        for name, generator in self._streams.items():
            store[f"{name}_seed_state"] = keras.ops.convert_to_numpy(generator.state)

    def load_own_variables(self, store):
        keys = list(store.keys())
        for name, generator in self._streams.items():
            if f"{name}_seed_state" in keys:
                generator.state.assign(store[f"{name}_seed_state"])
        super().load_own_variables(
            {k: store[k] for k in keys if not k.endswith("_seed_state")}
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "decoder": keras.saving.serialize_keras_object(self.decoder),
                "sampler": keras.saving.serialize_keras_object(self.sampler),
                "latent_dim": self.latent_dim,
                "num_categories": self.num_categories,
                "input_dim": self.input_dim,
                "seed": self.seed,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for part in ("encoder", "decoder", "sampler"):
            config[part] = keras.saving.deserialize_keras_object(config[part])
        return cls(**config)
