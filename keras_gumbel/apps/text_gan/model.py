"""A Gumbel-softmax sequence GAN (Kusner & Hernandez-Lobato 2016; RelGAN,
Nie et al. 2019) for the synthetic-oracle benchmark.

The generator is an LSTM language model (`oracle.language_model`). In
adversarial training it runs token by token: at step `t` its logits `o_t`
give a `GumbelSoftmax` sample `y_t = softmax((o_t + g_t) / tau)`; the hard
token `argmax(o_t + g_t)` (an exact categorical draw, whatever `tau`) is fed
back as the next input, and the relaxed one-hots `y_1 .. y_T` go to the
discriminator, so its gradient reaches the generator's weights. The
temperature `tau` is the sampler's variable, annealed by
`TemperatureScheduler` by global step (the discriminator optimizer's
`iterations`, which counts adversarial steps only).

The discriminator (`SequenceDiscriminator`) is RelGAN's kind of CNN over
the one-hot sequence: a linear embedding of the one-hots, convolutions of
several widths, max-pooling over time, a highway layer, dropout and one
logit.

`SequenceGAN.fit` runs both phases in one `model.fit`: the first
`mle_steps` steps are maximum-likelihood (teacher-forced cross-entropy)
pre-training of the generator with its own optimizer, the rest are
adversarial steps with the relativistic standard GAN loss (RSGAN, as
RelGAN):

    d_loss = mean softplus(-(D(real) - D(fake)))
    g_loss = mean softplus(-(D(fake) - D(real))) + mle_weight * MLE(real)

both computed from one batch of generated sequences and applied together
(simultaneous updates). The MLE term (0 turns it off) keeps the generator's
likelihood of real data from drifting during adversarial training, the
drift RelGAN's users report; `NLL_gen` measures it. With `d_steps = k > 1`
the generator is updated on every k-th adversarial step only, the
discriminator on every one (RelGAN: k = 5).

With `ema_momentum = m > 0`, the model also keeps `ema_generator`, the
exponential moving average of the generator's weights over its adversarial
updates (`w_ema <- m w_ema + (1 - m) w` after each, equal to the
generator up to the first; Yazici et al. 2019, "The Unusual Effectiveness of Averaging in
GAN Training"): the adversarial game makes the last iterate oscillate,
and the average moves more smoothly (measured in docs/text_gan.md). It is
the generator that `sampling_generator` returns: the one the recipe scores,
saves and exports. It is part of the model's weights, so a backup or a
`.keras` file restores it.
"""

from keras_gumbel.apps.common import backend  # noqa: F401, I001 (first: a clear error without TensorFlow)

import keras
import tensorflow as tf
from keras import ops

from keras_gumbel import _random
from keras_gumbel._checks import check_choice, check_fraction, check_int, check_nonnegative
from keras_gumbel.apps.common.compat import step_logs
from keras_gumbel.apps.text_gan.oracle import START_TOKEN, initial_states, next_token_logits, teacher_inputs
from keras_gumbel.layers import GumbelSoftmax

__all__ = ["REAL_INPUTS", "SequenceDiscriminator", "SequenceGAN", "conditional_relaxation"]

# What the discriminator sees of a real sequence (`SequenceGAN`'s `real_input`).
REAL_INPUTS = ("onehot", "conditional")


@keras.saving.register_keras_serializable(package="keras_gumbel")
class SequenceDiscriminator(keras.layers.Layer):
    """A CNN that scores token sequences, real or generated.

    Inputs are int tokens `[B, T]` (real data: the embedding rows are
    gathered) or float one-hot-like vectors `[B, T, V]` (the generator's
    relaxed samples: multiplied by the embedding matrix), the same linear
    map either way. Then, for each width `w` in `filter_sizes`, a
    `Conv1D(filters, w)` with ReLU max-pooled over time; the concatenation
    goes through a highway layer (Srivastava et al. 2015), dropout and a
    `Dense(1)`: the logit that the sequence is real.

    Args:
        vocab_size: the vocabulary `V`, an integer >= 2.
        embedding_dim: the embedding size (RelGAN: 64).
        filter_sizes: the convolution widths (each <= the sequence length).
        filters: the filters per width.
        dropout: the dropout rate before the logit, in [0, 1).
        seed: the seed of the dropout and the initializers.
    """

    def __init__(self, vocab_size, embedding_dim=64, filter_sizes=(2, 3, 4, 5), filters=64,
                 dropout=0.25, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = check_int(vocab_size, "vocab_size", minimum=2)
        self.embedding_dim = check_int(embedding_dim, "embedding_dim")
        self.filter_sizes = tuple(check_int(w, "filter_sizes") for w in filter_sizes)
        if not self.filter_sizes:
            raise ValueError("filter_sizes must name at least one width, received filter_sizes=()")
        self.filters = check_int(filters, "filters")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a number in [0, 1), received dropout={dropout!r}")
        self.dropout_rate = float(dropout)
        self.seed = seed
        init = keras.initializers.GlorotUniform(seed=seed)
        self.embedding = self.add_weight(name="embedding", shape=(self.vocab_size, self.embedding_dim),
                                         initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=seed))
        self.convolutions = [keras.layers.Conv1D(self.filters, w, activation="relu", kernel_initializer=init,
                                                 name=f"conv_{w}") for w in self.filter_sizes]
        features = self.filters * len(self.filter_sizes)
        self.highway = keras.layers.Dense(2 * features, kernel_initializer=init, name="highway")
        self.dropout = keras.layers.Dropout(self.dropout_rate, seed=seed)
        self.output_layer = keras.layers.Dense(1, kernel_initializer=init, name="logit")

    def build(self, input_shape):
        length = input_shape[1]
        if length is not None and length < max(self.filter_sizes):
            raise ValueError(
                f"filter_sizes must be <= the sequence length {length}, received "
                f"filter_sizes={self.filter_sizes!r}")
        embedded = (input_shape[0], length, self.embedding_dim)
        for convolution in self.convolutions:
            convolution.build(embedded)
        features = self.filters * len(self.filter_sizes)
        self.highway.build((input_shape[0], features))
        self.output_layer.build((input_shape[0], features))
        self.built = True

    def call(self, inputs, training=None):
        if "int" in keras.backend.standardize_dtype(inputs.dtype):
            x = ops.take(self.embedding, inputs, axis=0)
        else:
            x = ops.matmul(ops.cast(inputs, self.compute_dtype), self.embedding)
        pooled = ops.concatenate([ops.max(conv(x), axis=1) for conv in self.convolutions], axis=-1)
        transform, gate = ops.split(self.highway(pooled), 2, axis=-1)
        gate = ops.sigmoid(gate)
        x = gate * ops.relu(transform) + (1.0 - gate) * pooled
        return self.output_layer(self.dropout(x, training=training))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, embedding_dim=self.embedding_dim,
                      filter_sizes=list(self.filter_sizes), filters=self.filters,
                      dropout=self.dropout_rate, seed=self.seed)
        return config


def conditional_relaxation(logits, tokens, temperature, seed):
    """Relaxed one-hots of given tokens: `softmax(z / temperature)`, with
    `z = log_softmax(logits) + g` Gumbel-perturbed log-probabilities drawn
    conditionally on `argmax(z) = tokens` (REBAR, Tucker et al. 2017,
    appendix: `z_b = -log(-log v_b)` for the token `b` and
    `z_i = -log(-log(v_i) / p_i - log v_b)` for the others, `v` uniform).

    Where `tokens` are draws from `softmax(logits)` this is exactly the
    distribution of the Gumbel-softmax sample whose hard token they are, so
    a discriminator shown relaxed fakes and conditionally relaxed reals
    cannot tell them apart by how soft they are, only by which tokens they
    hold.

    Args:
        logits: float `[..., V]`.
        tokens: int `[...]`, each in `[0, V)`.
        temperature: a number or scalar tensor > 0.
        seed: an int or `keras.random.SeedGenerator` (the noise's).

    Returns: float32 `[..., V]` (rows on the simplex, argmax = `tokens`).
    """
    log_p = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    log_u = ops.log(_random.uniform(ops.shape(log_p), seed, "float32"))
    onehot = ops.one_hot(ops.cast(tokens, "int32"), ops.shape(log_p)[-1], dtype="float32")
    # log(-log v_b) of the token's own uniform, and log(-log v_i) - log p_i
    # for every category, so the others' z in log space (no overflow of 1 / p).
    log_top = ops.log(-ops.sum(log_u * onehot, axis=-1, keepdims=True))
    z = ops.where(onehot > 0, -log_top, -ops.logaddexp(ops.log(-log_u) - log_p, log_top))
    return ops.softmax(z / ops.cast(temperature, "float32"), axis=-1)


def check_real_input(value, estimator="relaxed", name="real_input"):
    """`value` if one of `REAL_INPUTS` that `estimator` can use (the hard
    estimators show the discriminator exact one-hots of both kinds)."""
    check_choice(value, name, REAL_INPUTS)
    if value != "onehot" and estimator != "relaxed":
        raise ValueError(f"{name}={value!r} needs estimator='relaxed' (the hard estimators show the "
                         f"discriminator exact one-hots), received estimator={estimator!r}")
    return value


def check_ema_momentum(value, name="ema_momentum"):
    """`value` as a float, if it is a number in [0, 1) (a moving average's
    momentum; 0: no average)."""
    return check_fraction(value, name, "a number in [0, 1) (0: no average)")


def _sequence_cross_entropy(model, real, start_token):
    logits = ops.cast(model(teacher_inputs(real, start_token), training=True), "float32")
    return ops.mean(keras.losses.sparse_categorical_crossentropy(real, logits, from_logits=True))


@keras.saving.register_keras_serializable(package="keras_gumbel")
class SequenceGAN(keras.Model):
    """MLE pre-training, then Gumbel-softmax adversarial training, of a
    token-sequence generator (see the module's docstring).

    Args:
        generator: an LSTM language model (`oracle.language_model`: layers
            `"embedding"`, `"lstm"`, `"logits"`).
        discriminator: a `SequenceDiscriminator` (or a layer mapping int
            tokens `[B, T]` and float one-hots `[B, T, V]` to logits `[B, 1]`).
        sequence_length: tokens per sequence `T`, an integer >= 2.
        mle_steps: the number of MLE steps before the adversarial ones.
        mle_weight: the weight of the MLE term in the generator's
            adversarial loss (>= 0).
        temperature: the Gumbel-softmax temperature at the start (> 0).
        start_token: the token before the first one.
        seed: the seed of the Gumbel noise (the sampler's `SeedGenerator`).
        estimator: the sampler's gradient estimator (`ops.ESTIMATORS`):
            `"relaxed"` gives the discriminator the relaxed one-hots; the
            others (`"straight_through"`, `"reinmax"`, ...) give it the exact
            one-hots of the hard tokens and backpropagate through their
            surrogate.
        d_steps: discriminator steps per generator step in adversarial
            training (an integer >= 1; RelGAN: 5).
        ema_momentum: the momentum in [0, 1) of the moving average of the
            generator's weights (`ema_generator`); 0: no average.
        real_input: what the discriminator sees of a real sequence under
            the `"relaxed"` estimator: `"onehot"`, its exact one-hots, or
            `"conditional"`, relaxed one-hots at the sampler's temperature
            drawn by `conditional_relaxation` from the generator's
            teacher-forced logits given the real tokens (the sampler's noise
            stream; no gradient to the generator through them), so that
            real and generated inputs are equally soft.

    Call arguments:
        inputs: int tokens `[B, T]` or one-hots `[B, T, V]`.

    Returns from `call`: the discriminator's logits.
    """

    def __init__(self, generator, discriminator, sequence_length, mle_steps=0, mle_weight=0.0,
                 temperature=1.0, start_token=START_TOKEN, seed=None, estimator="relaxed", d_steps=1,
                 ema_momentum=0.0, real_input="onehot", **kwargs):
        super().__init__(**kwargs)
        for name in ("embedding", "lstm", "logits"):
            try:
                generator.get_layer(name)
            except (ValueError, AttributeError):
                raise ValueError(
                    "generator must be a language model with layers 'embedding', 'lstm' and "
                    f"'logits' (keras_gumbel.apps.text_gan.oracle.language_model), received "
                    f"generator={generator!r}") from None
        self.generator = generator
        self.discriminator = discriminator
        self.sequence_length = check_int(sequence_length, "sequence_length", minimum=2)
        self.mle_steps = check_int(mle_steps, "mle_steps", minimum=0)
        self.mle_weight = check_nonnegative(mle_weight, "mle_weight")
        self.start_token = check_int(start_token, "start_token", minimum=0)
        self.vocab_size = generator.get_layer("logits").units
        self.sampler = GumbelSoftmax(temperature=temperature, seed=seed, inference="sample",
                                     estimator=estimator, name="gumbel_softmax")
        self.seed = seed
        self.d_steps = check_int(d_steps, "d_steps")
        self.ema_momentum = check_ema_momentum(ema_momentum)
        self.real_input = check_real_input(real_input, estimator)
        self.ema_generator = None
        if self.ema_momentum:
            # The same architecture, its own (non-trainable) weights.
            config = keras.saving.serialize_keras_object(generator)
            config["config"]["name"] = f"{generator.name}_ema"
            self.ema_generator = keras.saving.deserialize_keras_object(config)
            self.ema_generator.trainable = False
            for average, weight in zip(self.ema_generator.weights, generator.weights):
                average.assign(weight)
        if not discriminator.built:
            discriminator.build((None, self.sequence_length, self.vocab_size))
        self.mle_loss_tracker = keras.metrics.Mean(name="mle_loss")
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.built = True

    @property
    def temperature(self):
        """The sampler's temperature variable."""
        return self.sampler.temperature

    @property
    def sampling_generator(self):
        """The generator to sample from: `ema_generator` with an
        `ema_momentum` > 0, else `generator`."""
        return self.generator if self.ema_generator is None else self.ema_generator

    @property
    def metrics(self):
        return [self.mle_loss_tracker, self.d_loss_tracker, self.g_loss_tracker]

    def call(self, inputs, training=None):
        return self.discriminator(inputs, training=training)

    def compile(self, mle_optimizer, g_optimizer, d_optimizer, **kwargs):
        """Configures training: three optimizers, each its own instance (the
        discriminator's becomes `optimizer`, whose `iterations` count the
        adversarial steps); `jit_compile`, `steps_per_execution`,
        `run_eagerly` go to `keras.Model.compile`. Under a
        `"mixed_float16"` dtype policy each optimizer is wrapped in
        `keras.optimizers.LossScaleOptimizer` (as `keras.Model.compile` does
        for its one optimizer) and every step scales its losses."""
        unknown = set(kwargs) - {"jit_compile", "steps_per_execution", "run_eagerly"}
        if unknown:
            raise ValueError("SequenceGAN.compile takes mle_optimizer, g_optimizer, d_optimizer, "
                             f"jit_compile, steps_per_execution and run_eagerly, received {sorted(unknown)}")
        optimizers = [keras.optimizers.get(o) for o in (mle_optimizer, g_optimizer, d_optimizer)]
        if len({id(o) for o in optimizers}) != 3:
            raise ValueError("mle_optimizer, g_optimizer and d_optimizer must be different "
                             "optimizer instances (each keeps its own slots and step count)")
        if self.dtype_policy.name == "mixed_float16":
            optimizers = [o if isinstance(o, keras.optimizers.LossScaleOptimizer)
                          else keras.optimizers.LossScaleOptimizer(o) for o in optimizers]
        self.mle_optimizer, self.g_optimizer, d_optimizer = optimizers
        super().compile(optimizer=d_optimizer, **kwargs)
        self.d_optimizer = self.optimizer
        # Built now: variables cannot be created inside the compiled step's
        # branches, and a loaded model restores them.
        self.mle_optimizer.build(self.generator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self._compile_args = dict(kwargs)

    def get_compile_config(self):
        if not self.compiled:
            return {}
        return keras.saving.serialize_keras_object(
            {"mle_optimizer": self.mle_optimizer, "g_optimizer": self.g_optimizer,
             "d_optimizer": self.d_optimizer, **self._compile_args})

    def compile_from_config(self, config):
        self.compile(**keras.saving.deserialize_keras_object(config))

    def generate(self, batch_size):
        """Relaxed one-hots `[B, T, V]` from the generator, feeding back the
        hard token of each step (see the module's docstring)."""
        token = ops.full((batch_size,), self.start_token, "int32")
        states = initial_states(self.generator, batch_size)
        samples = []
        for _ in range(self.sequence_length):
            logits, states = next_token_logits(self.generator, token, states)
            soft = self.sampler(logits, training=True)
            token = ops.cast(ops.argmax(soft, axis=-1), "int32")
            samples.append(soft)
        return ops.stack(samples, axis=1)

    def _mle_step(self, real):
        weights = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            loss = _sequence_cross_entropy(self.generator, real, self.start_token)
            scaled = self.mle_optimizer.scale_loss(loss)
        self.mle_optimizer.apply(tape.gradient(scaled, weights), weights)
        self.mle_loss_tracker.update_state(loss)
        self._update_average(0.0)
        return tf.constant(True)

    def _update_average(self, momentum):
        # momentum 0: the average follows the generator (before adversarial
        # training, it is the generator).
        if self.ema_generator is None:
            return
        for average, weight in zip(self.ema_generator.weights, self.generator.weights):
            average.assign(momentum * average + (1.0 - momentum) * ops.cast(weight, average.dtype))

    def _adversarial_step(self, real):
        if self.d_steps == 1:
            return self._gan_step(real, update_generator=True)
        return tf.cond(self.d_optimizer.iterations % self.d_steps == 0,
                       lambda: self._gan_step(real, update_generator=True),
                       lambda: self._gan_step(real, update_generator=False))

    def _gan_step(self, real, update_generator):
        g_weights = self.generator.trainable_variables
        d_weights = self.discriminator.trainable_variables
        # A discriminator-only step samples outside the tape (no gradient
        # to the generator is needed).
        fake = None if update_generator else ops.stop_gradient(self.generate(ops.shape(real)[0]))
        with tf.GradientTape(persistent=True) as tape:
            if fake is None:
                fake = self.generate(ops.shape(real)[0])
            # The losses in float32 (the logits are float16 under mixed_float16).
            real_logits = ops.cast(self.discriminator(self._real_input(real), training=True), "float32")
            fake_logits = ops.cast(self.discriminator(fake, training=True), "float32")
            d_loss = ops.mean(ops.softplus(fake_logits - real_logits))
            g_loss = ops.mean(ops.softplus(real_logits - fake_logits))
            total = g_loss
            if self.mle_weight and update_generator:
                mle = _sequence_cross_entropy(self.generator, real, self.start_token)
                total = g_loss + self.mle_weight * mle
                self.mle_loss_tracker.update_state(mle)
            # The identity unless the optimizers scale losses (mixed_float16).
            d_scaled = self.d_optimizer.scale_loss(d_loss)
            g_scaled = self.g_optimizer.scale_loss(total)
        self.d_optimizer.apply(tape.gradient(d_scaled, d_weights), d_weights)
        if update_generator:
            self.g_optimizer.apply(tape.gradient(g_scaled, g_weights), g_weights)
            # The first update starts the average from the generator (the
            # weights the adversarial phase started from, however they came).
            started = ops.cast(self.g_optimizer.iterations > 1, "float32")
            self._update_average(started * self.ema_momentum)
        del tape
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return tf.constant(True)

    def _real_input(self, real):
        if self.real_input == "onehot":
            return real
        logits = self.generator(teacher_inputs(real, self.start_token), training=False)
        return ops.stop_gradient(conditional_relaxation(
            logits, real, self.sampler.temperature, self.sampler.seed_generator))

    def train_step(self, data):
        real = ops.cast(data[0] if isinstance(data, (tuple, list)) else data, "int32")
        if self.mle_steps:
            tf.cond(self.mle_optimizer.iterations < self.mle_steps,
                    lambda: self._mle_step(real), lambda: self._adversarial_step(real))
        else:
            self._adversarial_step(real)
        return step_logs({m.name: m.result() for m in self.metrics})

    def test_step(self, data):
        real = ops.cast(data[0] if isinstance(data, (tuple, list)) else data, "int32")
        self.mle_loss_tracker.update_state(_sequence_cross_entropy(self.generator, real, self.start_token))
        return step_logs({m.name: m.result() for m in self.metrics})

    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            sequence_length=self.sequence_length, mle_steps=self.mle_steps,
            mle_weight=self.mle_weight, temperature=self.sampler.initial_temperature,
            start_token=self.start_token, seed=self.seed, estimator=self.sampler.estimator,
            d_steps=self.d_steps, ema_momentum=self.ema_momentum, real_input=self.real_input)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)
