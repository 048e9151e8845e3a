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
    from keras_gumbel.apps.common.seeds import derive_seed
    from keras_gumbel.apps.vae.model import DiscreteVAE, mlp_decoder, mlp_encoder

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

    from keras_gumbel.apps.vae import callbacks as callbacks_lib

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


def run_command_in_process(main, prog, *args, cwd):
    """`keras_gumbel.apps.common.cli.run_command(main, prog, args)` run in this process
    from the folder `cwd`, as its console script runs it (which then exits
    with the status returned), but without a fresh process's start:
    returns a `subprocess.CompletedProcess` with the exit status and the
    text written to sys.stdout and sys.stderr."""
    import contextlib
    import io
    import os
    import subprocess

    from keras_gumbel.apps.common.cli import run_command

    argv = [os.fspath(a) for a in args]
    out, err, here = io.StringIO(), io.StringIO(), os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = run_command(main, prog, argv)
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess([prog, *argv], status, out.getvalue(), err.getvalue())


# -- the same tests on every Keras backend --------------------------------------
# Tensors go in as NumPy arrays through `tensor` and come out through `numpy`;
# `value_and_grad` differentiates with the backend's own autodiff.


def tensor(x, dtype=None):
    """`x` (array-like) as a tensor of the current backend."""
    import keras

    x = np.asarray(x)
    if dtype is None and x.dtype == np.float64:
        dtype = "float32"
    return keras.ops.convert_to_tensor(x, dtype=dtype)


def numpy(x):
    """A tensor or variable of any backend as a NumPy array."""
    import keras

    if keras.backend.backend() == "tensorflow" and hasattr(x, "numpy"):
        # keras.ops.convert_to_numpy fails on 0-d bfloat16 tensors (np.array
        # of a TF scalar bfloat16 raises; TF 2.21, Keras 3.15).
        return x.numpy()
    return keras.ops.convert_to_numpy(x)


def compiled(fn):
    """`fn` as a compiled (XLA) function of this backend; eager on PyTorch."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=True)
    if backend == "jax":
        import jax

        return jax.jit(fn)
    return fn


def normal(shape, seed, dtype="float32"):
    """Standard normal test data of `shape`, the same on every backend."""
    return tensor(np.random.default_rng(seed).normal(size=shape), dtype)


def dtype_of(x):
    import keras

    return keras.backend.standardize_dtype(x.dtype)


def value_and_grad(fn, *args, seed_generators=()):
    """`fn(*args)` (a scalar) and its gradients with respect to each of
    `args` (tensors or trainable `keras.Variable`s), as NumPy arrays.

    `seed_generators`: the `keras.random.SeedGenerator`s that `fn` draws
    from; they advance as they would eagerly (JAX differentiates a pure
    function, so their new states are carried out of it explicitly)."""
    import keras

    backend = keras.backend.backend()
    variables = [isinstance(a, keras.Variable) for a in args]
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            for a, is_var in zip(args, variables):
                if not is_var:
                    tape.watch(a)
            y = fn(*args)
        sources = [a.value if v else a for a, v in zip(args, variables)]
        grads = tape.gradient(y, sources, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return numpy(y), [numpy(g) for g in grads]
    if backend == "jax":
        import jax

        states = [g.state for g in seed_generators]

        def pure(*values):
            mapping = [(a, v) for a, v, is_var in zip(args, values, variables) if is_var]
            mapping += [(s, s.value) for s in states]
            with keras.StatelessScope(state_mapping=mapping) as scope:
                y = fn(*[a if is_var else v for a, v, is_var in zip(args, values, variables)])
            return y, [scope.get_current_value(s) for s in states]

        values = [a.value if is_var else a for a, is_var in zip(args, variables)]
        (y, new_states), grads = jax.value_and_grad(
            pure, argnums=tuple(range(len(args))), has_aux=True
        )(*values)
        for s, value in zip(states, new_states):
            s.assign(value)
        return numpy(y), [numpy(g) for g in grads]
    if backend == "torch":
        import torch

        leaves = []
        for a, is_var in zip(args, variables):
            leaf = a.value if is_var else a.detach().clone().requires_grad_(True)
            if leaf.grad is not None:
                leaf.grad = None
            leaves.append(leaf)
        y = fn(*[a if is_var else leaf for a, leaf, is_var in zip(args, leaves, variables)])
        if not y.requires_grad:  # nothing depends on the sources (an argmax)
            return numpy(y.detach()), [np.zeros(tuple(leaf.shape)) for leaf in leaves]
        y.backward()
        grads = [leaf.grad if leaf.grad is not None else torch.zeros_like(leaf) for leaf in leaves]
        return numpy(y.detach()), [numpy(g) for g in grads]
    raise ValueError(f"value_and_grad has no case for the {backend!r} backend")
