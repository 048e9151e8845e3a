"""Shared test helpers: statistical tolerances derived from the sample size."""

import numpy as np

# Per-category z bound. With at most a few hundred compared frequencies in the
# whole suite, a 5-sigma bound makes a false alarm less likely than 1e-4.
Z = 5.0


def assert_frequencies(counts, probs, z=Z):
    """Asserts categorical counts are consistent with `probs`: for every
    category |freq - p| <= z * sqrt(p (1 - p) / n), plus one count of slack."""
    counts = np.asarray(counts, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    n = counts.sum()
    freq = counts / n
    tol = z * np.sqrt(probs * (1 - probs) / n) + 1.0 / n
    bad = np.abs(freq - probs) > tol
    assert not bad.any(), (
        f"frequencies {freq.round(4)} differ from probs {probs.round(4)} by more "
        f"than {tol.round(4)} (n={int(n)})"
    )


def ks_two_sample_bound(n, m, alpha=1e-4):
    """Critical value of the two-sample Kolmogorov-Smirnov statistic."""
    c = np.sqrt(-np.log(alpha / 2) / 2)
    return c * np.sqrt((n + m) / (n * m))


def ks_statistic(a, b):
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / len(a)
    cdf_b = np.searchsorted(b, grid, side="right") / len(b)
    return np.abs(cdf_a - cdf_b).max()


def softmax(x, axis=-1):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def small_vae(latent_dim=4, num_categories=3, input_dim=16, units=(32,), seed=0, **sampler_args):
    """A small `DiscreteVAE`: one-hidden-layer MLPs of `units` and a
    `GumbelSoftmax(**sampler_args)` sampler, each seeded from its own stream
    of `seed` (as `keras_gumbel.recipes.vae.build_vae` does)."""
    from keras_gumbel import GumbelSoftmax
    from keras_gumbel.models._seeds import derive_seed
    from keras_gumbel.models.vae import DiscreteVAE, mlp_decoder, mlp_encoder

    sizes = dict(latent_dim=latent_dim, num_categories=num_categories, input_dim=input_dim)
    return DiscreteVAE(
        mlp_encoder(**sizes, units=units, seed=derive_seed(seed, "encoder")),
        mlp_decoder(**sizes, units=units, seed=derive_seed(seed, "decoder")),
        GumbelSoftmax(seed=derive_seed(seed, "sampler"), name="sampler", **sampler_args),
        **sizes,
        seed=seed,
    )


def interrupt_vae_run(train, config, after_epoch):
    """Runs `train(config)` (a VAE recipe with an output folder) and stops it
    with a KeyboardInterrupt once epoch `after_epoch` (1-based) has ended and
    its pictures are drawn, as a Ctrl-C would: the backup then holds that
    epoch. The plotter is restored afterwards."""
    import pytest

    from keras_gumbel.recipes import callbacks as callbacks_lib

    plot = callbacks_lib.ReconstructionPlotter.on_epoch_end

    def stop(self, epoch, logs=None):
        plot(self, epoch, logs)
        if epoch + 1 == after_epoch:
            raise KeyboardInterrupt(f"interrupted after epoch {after_epoch}")

    callbacks_lib.ReconstructionPlotter.on_epoch_end = stop
    try:
        with pytest.raises(KeyboardInterrupt):
            train(config)
    finally:
        callbacks_lib.ReconstructionPlotter.on_epoch_end = plot
