"""Training runs that `tests/test_distribute.py` starts in subprocesses.

A logical device split (`tf.config.set_logical_device_configuration`) and a
`TF_CONFIG` cluster must be set before TensorFlow initialises its devices,
so these runs cannot share the test process. Each writes its results as JSON.

    python tests/distribute_runs.py mirrored OUT.json
    python tests/distribute_runs.py worker OUT.json   (TF_CONFIG and RUN_CONFIG set)
"""

import json
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

# Small enough for a few CPU seconds, big enough to have hidden layers.
VAE_ARGS = dict(latent_dim=3, num_categories=4, input_dim=16)
# A temperature so high that the Gumbel noise moves a sample by at most
# ~|g| / (K tau) ~ 1e-5 (|g| < 20 for 1e-9-likely draws): with it a run's
# losses do not depend on the noise, and two runs may be compared to float
# round-off, whatever noise each replica draws.
NOISELESS_TEMPERATURE = 1e5


def _images(n=64, seed=0):
    return np.random.default_rng(seed).random((n, VAE_ARGS["input_dim"])).astype("float32")


def _small_vae(temperature, seed=5):
    """A DiscreteVAE with one hidden layer of 8 units each way."""
    from keras_gumbel.layers import GumbelSoftmax
    from keras_gumbel.apps.vae.model import DiscreteVAE, mlp_decoder, mlp_encoder

    return DiscreteVAE(
        mlp_encoder(**VAE_ARGS, units=(8,), seed=seed),
        mlp_decoder(**VAE_ARGS, units=(8,), seed=seed),
        GumbelSoftmax(temperature=temperature, seed=seed, name="sampler"),
        **VAE_ARGS,
        seed=seed,
    )


def _worker_schedule():
    from keras_gumbel.schedules import ExponentialDecay

    return ExponentialDecay(1.0, rate=0.05, minimum=0.5, every=1)


def _dataset(images, batch_size):
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(batch_size, drop_remainder=True)
    options = tf.data.Options()
    # In-memory data: each worker takes its part of every global batch.
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    return dataset.with_options(options)


def _flat_weights(model):
    return np.concatenate([np.ravel(np.asarray(w)) for w in model.get_weights()]).tolist()


def _vae_run(keras, strategy, temperature, epochs=3, batch_size=32):
    with strategy.scope():
        vae = _small_vae(temperature)
        # Plain SGD: unlike Adam its step is proportional to the gradient,
        # so a gradient summed over replicas without scaling would show.
        vae.compile(optimizer=keras.optimizers.SGD(0.05))
    initial = _flat_weights(vae)
    history = vae.fit(_dataset(_images(), batch_size), epochs=epochs, verbose=0)
    evaluation = vae.evaluate(_dataset(_images(), batch_size), verbose=0, return_dict=True)
    return {
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        # hard_* are left out: the argmax of logits + noise depends on the
        # noise at any temperature.
        "evaluate": {k: float(evaluation[k]) for k in ("loss", "reconstruction", "kl")},
        "initial_weights": initial,
        "weights": _flat_weights(vae),
    }


def _gan_run(keras, strategy, temperature):
    from keras_gumbel.data import number_stream
    from keras_gumbel.apps.gan.model import CategoricalGenerator, GumbelGAN

    with strategy.scope():
        gan = GumbelGAN(
            CategoricalGenerator(5, temperature=temperature, seed=3),
            generator_steps=3,
            true_probs=(0.0, 0.0, 0.1, 0.3, 0.6),
        )
        gan.compile(
            d_optimizer=keras.optimizers.SGD(0.5),
            # The generator's gradient is O(1 / temperature): a large rate makes
            # its step big enough to compare.
            g_optimizer=keras.optimizers.SGD(1e4),
        )
    initial = np.asarray(gan.generator.logits).tolist() + _flat_weights(gan.discriminator)
    history = gan.fit(number_stream(batch_size=32, seed=2), epochs=3, steps_per_epoch=2, verbose=0)
    return {
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "initial_weights": initial,
        "weights": np.asarray(gan.generator.logits).tolist() + _flat_weights(gan.discriminator),
    }


def _replica_noise(strategy):
    """Two samplers with one seed, called on the same logits in every replica."""
    from keras_gumbel.layers import GumbelSoftmax

    draws = []
    for _ in range(2):
        with strategy.scope():
            layer = GumbelSoftmax(temperature=1.0, seed=11)
            layer.build((4, 6))

        @tf.function
        def sample(layer=layer):
            return strategy.run(lambda: layer(tf.zeros((4, 6)), training=True))

        draws.append(
            [np.asarray(x).tolist() for x in strategy.experimental_local_results(sample())]
        )
    return draws


def mirrored(out):
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
    import keras

    single = tf.distribute.get_strategy()
    two = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    results = {"replicas": two.num_replicas_in_sync}
    results["vae_single"] = _vae_run(keras, single, NOISELESS_TEMPERATURE)
    results["vae_mirrored"] = _vae_run(keras, two, NOISELESS_TEMPERATURE)
    results["gan_single"] = _gan_run(keras, single, NOISELESS_TEMPERATURE)
    results["gan_mirrored"] = _gan_run(keras, two, NOISELESS_TEMPERATURE)
    results["noise"] = _replica_noise(two)
    vae = _worker_vae(keras, two)
    history = vae.fit(
        _dataset(_images(), WORKER_RUN["batch_size"]),
        epochs=WORKER_RUN["epochs"],
        verbose=0,
        callbacks=[vae.temperature_scheduler(_worker_schedule())],
    )
    results["worker_run"] = _worker_results(vae, history)
    with open(out, "w") as f:
        json.dump(results, f)


class _Progress:
    """Writes the finished epoch to a file and waits `delay` seconds, so that
    a test can kill a worker mid-run at a known point."""

    def __new__(cls, keras, path, delay):
        class Progress(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                # After BackupAndRestore's on_train_begin: the restored step.
                self.start_step = int(self.model.optimizer.iterations.numpy())

            def on_epoch_end(self, epoch, logs=None):
                with open(path, "a") as f:
                    f.write(f"{epoch + 1}\n")
                time.sleep(delay)

        return Progress()


# The multi-worker run; `mirrored` makes the same run on two local replicas.
WORKER_RUN = dict(epochs=6, batch_size=32, learning_rate=0.05)


def _worker_vae(keras, strategy):
    with strategy.scope():
        vae = _small_vae(1.0)
        vae.compile(optimizer=keras.optimizers.SGD(WORKER_RUN["learning_rate"]))
    return vae


def _worker_results(vae, history, start_step=0):
    step = int(vae.optimizer.iterations.numpy())
    strategy = vae.distribute_strategy
    return {
        "start_step": start_step,
        "iterations": step,
        "temperature": float(vae.sampler.temperature.numpy()),
        # The temperature variable on each local replica.
        "temperatures": [
            float(t) for t in strategy.experimental_local_results(vae.sampler.temperature.value)
        ],
        "schedule": [float(_worker_schedule()(t)) for t in range(step)],
        # The scheduler sets the temperature of step t before running it.
        "expected_temperature": float(_worker_schedule()(step - 1)),
        "weights": _flat_weights(vae),
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
    }


def worker(out):
    """One worker of the cluster in TF_CONFIG; RUN_CONFIG (JSON) names the
    backup folder, the progress file, the pause after each epoch and the
    collective timeout."""
    from keras_gumbel.apps.common import distribute

    run = json.loads(os.environ["RUN_CONFIG"])
    strategy = distribute.get_strategy("multiworker", collective_timeout=run["timeout"])
    import keras

    vae = _worker_vae(keras, strategy)
    progress = _Progress(keras, run["progress"], run["delay"])
    history = vae.fit(
        _dataset(_images(), WORKER_RUN["batch_size"]),
        epochs=WORKER_RUN["epochs"],
        verbose=0,
        # BackupAndRestore first: Progress reads the step it restored.
        callbacks=[
            distribute.BackupAndRestore(run["backup_dir"]),
            vae.temperature_scheduler(_worker_schedule()),
            progress,
        ],
    )
    with open(out, "w") as f:
        json.dump(_worker_results(vae, history, progress.start_step), f)


if __name__ == "__main__":
    {"mirrored": mirrored, "worker": worker}[sys.argv[1]](sys.argv[2])
