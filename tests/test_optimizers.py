"""RAdam against a NumPy implementation of the published rule (Liu et al.
2020, Algorithm 2, with PyTorch's threshold and epsilon) and against
torch.optim.RAdam itself: eager steps, compiled `fit`, serialization,
`.keras` round trips that resume training, argument checks."""

import json
import math
import re

import keras
import numpy as np
import pytest

from keras_gumbel import RAdam
from keras_gumbel.optimizers import RECTIFICATION_THRESHOLD, first_rectified_step

STEPS = 20
# float32 trajectories against a float64 reference, parameters of size ~1.
RTOL, ATOL = 1e-5, 1e-6


def radam_reference(grad, theta, steps, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                    epsilon=1e-8, weight_decay=0.0, threshold=RECTIFICATION_THRESHOLD):
    """RAdam in float64, written from the rule: `grad(theta, t)` gives the
    gradient of step t (1, 2, ...). Returns the parameters after each step
    `[steps, ...]` and whether each step was rectified (rho_t > threshold)."""
    theta = np.array(theta, np.float64)
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    rho_inf = 2 / (1 - beta_2) - 1
    trajectory, rectified = [], []
    for t in range(1, steps + 1):
        g = np.asarray(grad(theta, t), np.float64)
        theta = theta - learning_rate * weight_decay * theta  # decoupled, before the step
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g**2
        m_hat = m / (1 - beta_1**t)
        rho_t = rho_inf - 2 * t * beta_2**t / (1 - beta_2**t)
        if rho_t > threshold:
            r_t = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                            / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            l_t = math.sqrt(1 - beta_2**t) / (np.sqrt(v) + epsilon)
            theta = theta - learning_rate * r_t * m_hat * l_t
        else:
            theta = theta - learning_rate * m_hat
        trajectory.append(theta)
        rectified.append(rho_t > threshold)
    return np.stack(trajectory), rectified


def keras_trajectory(optimizer, grad, theta, steps):
    """The same steps with `optimizer.apply`, eagerly, on a float32 variable."""
    variable = keras.Variable(np.asarray(theta, np.float32))
    trajectory = []
    for t in range(1, steps + 1):
        g = np.asarray(grad(keras.ops.convert_to_numpy(variable).astype(np.float64), t), np.float32)
        optimizer.apply([keras.ops.convert_to_tensor(g)], [variable])
        trajectory.append(keras.ops.convert_to_numpy(variable))
    return np.stack(trajectory)


# A quadratic 0.5 * sum(a (theta - c)^2), curvatures from 0.1 to 10.
A = np.array([0.1, 1.0, 3.0, 10.0])
C = np.array([1.0, -2.0, 0.5, 3.0])
THETA0 = np.array([0.0, 0.0, 2.0, -1.0])


def quadratic_grad(theta, t):
    return A * (theta - C)


def random_grads(seed, steps=STEPS):
    """Gradients of scales 1 down to 1e-8: at the small ones epsilon (1e-8)
    decides the step, so its place in the rule is tested."""
    scales = np.array([1.0, 1e-2, 1e-4, 1e-6, 1e-8])
    grads = np.random.default_rng(seed).normal(size=(steps, scales.size)) * scales
    return lambda theta, t: grads[t - 1]


# (beta_1, beta_2): the defaults; beta_1 = 0 (no momentum); beta_2 = 0.9999,
# whose rho_5 = 4.9996 is a rounding away from the threshold; beta_2 = 0.6,
# rho_inf = 4: never rectified, every step a momentum step.
BETAS = [(0.9, 0.999), (0.0, 0.99), (0.9, 0.9999), (0.5, 0.6)]


@pytest.mark.parametrize("beta_1, beta_2", BETAS)
def test_quadratic_trajectory_is_the_published_rule(beta_1, beta_2):
    kwargs = {"learning_rate": 0.05, "beta_1": beta_1, "beta_2": beta_2, "epsilon": 1e-8}
    expected, rectified = radam_reference(quadratic_grad, THETA0, STEPS, **kwargs)
    got = keras_trajectory(RAdam(**kwargs), quadratic_grad, THETA0, STEPS)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
    if beta_2 == 0.6:
        assert not any(rectified)
    else:  # both branches: momentum steps while rho_t <= 5, then rectified Adam steps
        assert rectified == [False] * 5 + [True] * (STEPS - 5)
    # The trajectory is not trivially close to its start: the test can fail.
    assert np.abs(expected[-1] - THETA0).max() > 0.1


@pytest.mark.parametrize("beta_1, beta_2", BETAS)
def test_random_gradient_trajectory_is_the_published_rule(beta_1, beta_2):
    grad = random_grads(seed=3)
    kwargs = {"learning_rate": 0.01, "beta_1": beta_1, "beta_2": beta_2, "epsilon": 1e-8}
    expected, _ = radam_reference(grad, np.ones(5), STEPS, **kwargs)
    got = keras_trajectory(RAdam(**kwargs), grad, np.ones(5), STEPS)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


def test_the_first_steps_are_momentum_steps_and_then_rectified():
    # With one gradient g repeated, m_hat = g: steps 1-5 move by lr * g (the
    # unrectified branch), step 6 by lr * r_6 * g / |g| (epsilon = 0), the
    # same for every scale of g. A small g keeps the parameters small, so
    # their float32 differences resolve the steps.
    lr, g = 0.1, np.array([2e-3, -5e-4], np.float32)
    got = keras_trajectory(RAdam(learning_rate=lr, epsilon=0.0), lambda theta, t: g,
                           np.zeros(2), 6)
    steps = -np.diff(np.concatenate([np.zeros((1, 2)), got]), axis=0)
    np.testing.assert_allclose(steps[:5], np.tile(lr * g, (5, 1)), rtol=1e-5)
    rho_inf = 2 / (1 - 0.999) - 1
    rho_6 = rho_inf - 2 * 6 * 0.999**6 / (1 - 0.999**6)
    r_6 = math.sqrt((rho_6 - 4) * (rho_6 - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_6))
    np.testing.assert_allclose(steps[5], lr * r_6 * np.sign(g), rtol=1e-5)
    assert 0.02 < r_6 < 0.03  # a step 40 times smaller than Adam's: the warm-up


@pytest.mark.parametrize("beta_2, step", [(0.999, 6), (0.9999, 6), (0.99, 6), (0.9, 6),
                                          (0.7, 10), (0.6, None), (0.0, None)])
def test_first_rectified_step(beta_2, step):
    assert first_rectified_step(beta_2) == step
    if step is not None:  # the float64 rho_t, as torch computes it, crosses 5 there
        rho = [2 / (1 - beta_2) - 1 - 2 * t * beta_2**t / (1 - beta_2**t) for t in (step - 1, step)]
        assert rho[0] <= 5 < rho[1]


# On the PyTorch backend's run, where torch is installed (CI installs it for
# that run only; torch is never a dependency).
@pytest.mark.backends("torch")
@pytest.mark.parametrize("weight_decay", [None, 0.1])
@pytest.mark.parametrize("beta_1, beta_2", [(0.9, 0.999), (0.8, 0.9999)])
def test_matches_torch_optim_radam(beta_1, beta_2, weight_decay):
    import torch

    grad = random_grads(seed=5)
    theta0 = np.linspace(-1.0, 1.0, 5).astype(np.float32)
    lr, eps = 0.01, 1e-8
    param = torch.nn.Parameter(torch.tensor(theta0))
    # Keras' weight_decay is decoupled: torch's RAdamW form.
    reference = torch.optim.RAdam(
        [param], lr=lr, betas=(beta_1, beta_2), eps=eps, weight_decay=weight_decay or 0.0,
        decoupled_weight_decay=weight_decay is not None)
    expected = []
    for t in range(1, STEPS + 1):
        param.grad = torch.tensor(grad(None, t), dtype=torch.float32)
        reference.step()
        expected.append(param.detach().numpy().copy())
    optimizer = RAdam(learning_rate=lr, beta_1=beta_1, beta_2=beta_2, epsilon=eps,
                      weight_decay=weight_decay)
    got = keras_trajectory(optimizer, grad, theta0, STEPS)
    np.testing.assert_allclose(got, np.stack(expected), rtol=RTOL, atol=1e-7)
    ours, _ = radam_reference(grad, theta0, STEPS, learning_rate=lr, beta_1=beta_1,
                              beta_2=beta_2, epsilon=eps, weight_decay=weight_decay or 0.0)
    np.testing.assert_allclose(np.stack(expected), ours, rtol=RTOL, atol=1e-7)


def linear_problem(seed=0, n=64):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = (x @ np.array([[1.5], [-2.0], [0.5]]) + 0.1 * rng.normal(size=(n, 1))).astype(np.float32)
    return x, y


def linear_model():
    model = keras.Sequential([
        keras.Input((3,)),
        keras.layers.Dense(1, use_bias=False, kernel_initializer=keras.initializers.Constant(0.1)),
    ])
    return model


JIT = [False, pytest.param(True, marks=pytest.mark.backends("tensorflow", "jax"))]


@pytest.mark.parametrize("jit_compile", JIT)
def test_compiled_fit_follows_the_rule_and_reduces_the_loss(jit_compile):
    x, y = linear_problem()
    model = linear_model()
    model.compile(optimizer=RAdam(learning_rate=0.05), loss="mse", jit_compile=jit_compile)
    kernels = []
    # One step per epoch, read at its end (JAX's fit writes the variables
    # back to the model at the end of an epoch, not of a batch).
    callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: kernels.append(
        keras.ops.convert_to_numpy(model.layers[0].kernel)[:, 0].copy()))
    history = model.fit(x, y, epochs=STEPS, batch_size=len(x), shuffle=False, verbose=0,
                        callbacks=[callback])

    def mse_grad(theta, t):  # of mean((x theta - y)^2), the full batch
        return 2 / len(x) * x.T.astype(np.float64) @ (x @ theta - y[:, 0])

    expected, _ = radam_reference(mse_grad, np.full(3, 0.1), STEPS, learning_rate=0.05)
    np.testing.assert_allclose(np.stack(kernels), expected, rtol=RTOL, atol=ATOL)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    assert int(model.optimizer.iterations) == STEPS


def test_mixed_precision_fit_reduces_the_loss(mixed_policy):
    # float16 computations, float32 variables, Keras' loss scaling around RAdam.
    mixed_policy("mixed_float16")
    x, y = linear_problem()
    model = linear_model()
    model.compile(optimizer=RAdam(learning_rate=0.05), loss="mse")
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    losses = model.fit(x, y, epochs=STEPS, batch_size=len(x), verbose=0).history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < 0.5 * losses[0], losses


def test_config_round_trip():
    optimizer = RAdam(learning_rate=0.02, beta_1=0.8, beta_2=0.99, epsilon=1e-6,
                      weight_decay=0.01, clipnorm=1.0)
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(optimizer)))
    assert config["registered_name"] == "keras_gumbel>RAdam"
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is RAdam and clone.get_config() == optimizer.get_config()
    assert (clone.beta_1, clone.beta_2, clone.epsilon) == (0.8, 0.99, 1e-6)
    assert RAdam.from_config(optimizer.get_config()).get_config() == optimizer.get_config()

    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    with_schedule = RAdam(learning_rate=schedule)
    clone = RAdam.from_config(json.loads(json.dumps(with_schedule.get_config())))
    assert isinstance(clone._learning_rate, keras.optimizers.schedules.ExponentialDecay)
    assert clone._learning_rate.get_config() == schedule.get_config()


def test_keras_file_keeps_the_state_and_training_resumes_identically(tmp_path):
    x, y = linear_problem(seed=1)
    model = linear_model()
    model.compile(optimizer=RAdam(learning_rate=0.05, beta_2=0.99), loss="mse")
    # 3 steps: saved before the rectification starts, resumed across it.
    model.fit(x, y, epochs=3, batch_size=len(x), shuffle=False, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)

    assert type(loaded.optimizer) is RAdam
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert int(loaded.optimizer.iterations) == 3
    # iterations, learning_rate, the kernel's momentum and velocity, in order
    # (their paths name the model, which the loaded one names anew).
    saved, restored = model.optimizer.variables, loaded.optimizer.variables
    assert [v.name.rsplit("_", 1)[-1] for v in saved] == [
        "iteration", "rate", "momentum", "velocity"]
    assert [v.name.rsplit("_", 1)[-1] for v in restored] == [
        v.name.rsplit("_", 1)[-1] for v in saved]
    for before, after in zip(saved, restored, strict=True):
        value = keras.ops.convert_to_numpy(before)
        assert np.abs(value).max() > 0, before.name
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(after), value, err_msg=before.name)

    for m in (model, loaded):
        m.fit(x, y, epochs=10, batch_size=len(x), shuffle=False, verbose=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.layers[0].kernel),
                               keras.ops.convert_to_numpy(model.layers[0].kernel), rtol=1e-6)
    assert int(loaded.optimizer.iterations) == 13

    # And the resumed run is the uninterrupted one.
    uninterrupted = linear_model()
    uninterrupted.compile(optimizer=RAdam(learning_rate=0.05, beta_2=0.99), loss="mse")
    uninterrupted.fit(x, y, epochs=13, batch_size=len(x), shuffle=False, verbose=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.layers[0].kernel),
                               keras.ops.convert_to_numpy(uninterrupted.layers[0].kernel),
                               rtol=1e-6)


@pytest.mark.parametrize("name, value, allowed", [
    ("learning_rate", 0.0, "a finite number > 0"),
    ("learning_rate", -0.001, "a finite number > 0"),
    ("learning_rate", float("nan"), "a finite number > 0"),
    ("learning_rate", float("inf"), "a finite number > 0"),
    ("learning_rate", True, "a finite number > 0"),
    ("learning_rate", "fast", "a finite number > 0"),
    ("beta_1", 1.0, "a number in [0, 1)"),
    ("beta_1", -0.1, "a number in [0, 1)"),
    ("beta_1", float("nan"), "a number in [0, 1)"),
    ("beta_2", 1.0, "a number in [0, 1)"),
    ("beta_2", 1.5, "a number in [0, 1)"),
    ("beta_2", None, "a number in [0, 1)"),
    ("epsilon", -1e-8, "a finite number >= 0"),
    ("epsilon", float("inf"), "a finite number >= 0"),
    ("epsilon", False, "a finite number >= 0"),
])
def test_bad_arguments_are_refused(name, value, allowed):
    message = f"{name} must be {allowed}, received {name}={value!r}"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        RAdam(**{name: value})


def test_good_edge_arguments_are_taken():
    optimizer = RAdam(learning_rate=1, beta_1=0, beta_2=0.0, epsilon=0)
    assert (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon) == (0.0, 0.0, 0.0)
    assert float(optimizer.learning_rate) == 1.0
    assert float(RAdam(learning_rate=lambda: 0.01).learning_rate) == pytest.approx(0.01)
