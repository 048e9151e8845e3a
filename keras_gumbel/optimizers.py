"""Optimizers Keras does not have: `RAdam` (Rectified Adam).

Written as Keras writes its own (`keras/src/optimizers/adam.py`): `build`
creates the slot variables, `update_step` changes them with `self.assign`,
`self.assign_add` and `self.assign_sub`, in `keras.ops` only, so the same
code runs inside a compiled train function on every backend.
"""

import math

import keras
from keras import ops

from keras_gumbel import _checks

__all__ = ["RAdam"]

# rho_t must exceed it for the adaptive step to be used: PyTorch's
# torch.optim.RAdam (see RAdam's docstring for why not the paper's 4).
RECTIFICATION_THRESHOLD = 5.0

# A guard on the search for the first rectified step: rho_inf - rho_t falls
# like 2 t beta_2^t, so for every beta_2 with rho_inf > 5 in float64 (down to
# the float next to 2/3) it ends within 100 steps.
_MAX_SEARCH_STEPS = 10**6


def _check_learning_rate(value):
    # Schedules and callables are Keras' to call; a number is checked here.
    if isinstance(value, keras.optimizers.schedules.LearningRateSchedule) or callable(value):
        return value
    return _checks.check_positive(value, "learning_rate")


def _log(beta):
    return math.log(beta) if beta > 0 else -math.inf


def _rho(step, beta_2):
    """`rho_t`, the length of the approximated simple moving average, in
    float64 and written as PyTorch writes it (its branch is taken on it)."""
    return 2.0 / (1.0 - beta_2) - 1.0 - 2.0 * step * beta_2**step / (1.0 - beta_2**step)


# expm1(x) - x = sum over k >= 2 of x^k / k!: to 12 terms it is exact in
# float64 for x <= 1 (the rest is < 1e-9 of it).
_SERIES_TERMS = 12


def _rho_tensor(t, beta_2):
    """`rho_t` for a float tensor `t`, to the precision of its dtype, for
    `beta_2` in `(2/3, 1)` (`rho_inf > 5`).

    `rho_inf - 2 t beta_2^t / (1 - beta_2^t)`, as written, subtracts two
    numbers near `rho_inf` (about 2000 for `beta_2 = 0.999`) to leave
    `rho_t` (about `t` in the first steps): float32 would keep 4 of its 7
    digits, an error of 4e-5 in `r_6` (4e-4 for `beta_2 = 0.9999`). With
    `c = -log(beta_2)` and `x = c t`, `2 t beta_2^t / (1 - beta_2^t) = (2 /
    c) x / expm1(x)`, so `rho_t = (rho_inf - 2 / c) + (2 / c) h(x)`, `h(x) =
    1 - x / expm1(x)`; the first term is a float64 constant, and `h` is
    `(expm1(x) - x) / expm1(x)` from the series of `expm1(x) - x` while
    `x < 1`, where the subtraction would cancel, `1 - x / expm1(x)` above.
    """
    c = -math.log(beta_2)
    x = t * c
    small = ops.minimum(x, 1.0)  # the series' argument; x >= 1 takes the other branch
    series = 1.0 / math.factorial(_SERIES_TERMS)
    for k in range(_SERIES_TERMS - 1, 1, -1):
        series = 1.0 / math.factorial(k) + small * series
    series = small * small * series  # expm1(small) - small
    h = ops.where(x < 1.0, series / ops.expm1(small), 1.0 - x / ops.expm1(x))
    rho_inf = 2.0 / (1.0 - beta_2) - 1.0
    return (rho_inf - 2.0 / c) + (2.0 / c) * h


def first_rectified_step(beta_2, threshold=RECTIFICATION_THRESHOLD):
    """The first step `t` (counted from 1) at which `rho_t > threshold`, or
    `None` if there is none (`rho_inf <= threshold`: `beta_2 <= 2/3` for 5).

    `rho_t` increases with `t`, so the rectified steps are `t >=` this one.
    It is found once, in float64, as PyTorch computes `rho_t`: in float32,
    `rho_inf - 2 t beta_2^t / (1 - beta_2^t)` subtracts two numbers near
    `rho_inf` (2e4 for `beta_2 = 0.9999`, whose `rho_5` is 4.9996), and the
    rounding could move a step across the threshold.
    """
    rho_inf = 2.0 / (1.0 - beta_2) - 1.0
    if rho_inf <= threshold:
        return None
    step = 1
    while _rho(step, beta_2) <= threshold:
        step += 1
        if step > _MAX_SEARCH_STEPS:
            return None
    return step


@keras.saving.register_keras_serializable(package="keras_gumbel")
class RAdam(keras.optimizers.Optimizer):
    """Rectified Adam (Liu et al., ICLR 2020, "On the Variance of the Adaptive
    Learning Rate and Beyond", arXiv:1908.03265, Algorithm 2).

    Adam's adaptive learning rate has a large variance in the first steps,
    when the second moment `v` is estimated from a few gradients. RAdam
    measures it by `rho_t`, the length of the simple moving average that
    the exponential one approximates, and takes plain momentum-SGD steps
    while it is too short to trust, then Adam steps scaled by the
    rectification `r_t`, which removes the variance's excess:

    ```text
    rho_inf = 2 / (1 - beta_2) - 1
    m_t     = beta_1 m_{t-1} + (1 - beta_1) g_t
    v_t     = beta_2 v_{t-1} + (1 - beta_2) g_t^2
    m_hat   = m_t / (1 - beta_1^t)
    rho_t   = rho_inf - 2 t beta_2^t / (1 - beta_2^t)
    if rho_t > 5:
        r_t     = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
        theta_t = theta_{t-1} - lr r_t m_hat sqrt(1 - beta_2^t) / (sqrt(v_t) + epsilon)
    else:
        theta_t = theta_{t-1} - lr m_hat
    ```

    This is exactly `torch.optim.RAdam` (PyTorch 2.x, its docstring and
    source), so results compare with PyTorch code:

    - The threshold is PyTorch's `rho_t > 5`, not the paper's `rho_t > 4`.
      The two differ at one step only (with `beta_2 = 0.999`, `rho_5 =
      4.996`: the paper rectifies from step 5, PyTorch from step 6). There
      `r_5 = 0.017`, `sqrt(rho_t - 4)` of a variance estimated from about
      five gradients: `r_t` is defined (real) for `rho_t > 4`, but 5 keeps
      one more momentum step before trusting it.
    - `epsilon` is added to `sqrt(v_t)`, before the bias correction, as
      PyTorch and Keras' `Adam` do (Algorithm 2 has no epsilon: `l_t =
      sqrt((1 - beta_2^t) / v_t)`). The step is `m_hat / (sqrt(v_hat) +
      epsilon / sqrt(1 - beta_2^t))`: the same as `m_hat / (sqrt(v_hat) +
      epsilon)` up to the size of epsilon (1e-8).
    - `weight_decay` is Keras' decoupled decay, `theta -= lr * weight_decay
      * theta` before the step: PyTorch's `decoupled_weight_decay=True`
      (RAdamW, which PyTorch documents as closer to the authors' code),
      not its default L2 penalty added to the gradient.

    The branch is taken with `keras.ops.where`, inside compiled train
    functions (`jit_compile`, `jax.jit`) as well, on the step count: the
    first rectified step is found once, in float64, as PyTorch decides it
    (`first_rectified_step`). The step's scalars are computed in float32
    (float64 for float64 variables) and cast to the variable's dtype:
    `1 - beta^t` as `-expm1(t log beta)`, and `rho_t` without the
    cancellation of its formula (`_rho_tensor`), so `r_t` keeps float32's
    precision where PyTorch computes it in float64. The slot variables
    `momentum` and `velocity` and `iterations` are saved in `.keras` files
    and checkpoints, so a resumed run continues the interrupted one.

    Args:
        learning_rate: a finite number > 0, a
            `keras.optimizers.schedules.LearningRateSchedule`, or a callable
            that takes no arguments and returns the value to use.
        beta_1: the decay rate of the first moment, a number in [0, 1).
        beta_2: the decay rate of the second moment, a number in [0, 1).
            For `beta_2 <= 2/3`, `rho_inf <= 5`: every step is a momentum
            step.
        epsilon: added to `sqrt(v_t)`, a finite number >= 0.
        **kwargs: Keras' optimizer arguments (`weight_decay`, `clipnorm`,
            `clipvalue`, `global_clipnorm`, `use_ema`, `ema_momentum`,
            `ema_overwrite_frequency`, `loss_scale_factor`,
            `gradient_accumulation_steps`, `name`), passed to
            `keras.optimizers.Optimizer` (see Keras' `Adam`).

    Example:

    >>> model.compile(optimizer=keras_gumbel.RAdam(learning_rate=1e-3), loss="mse")
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        learning_rate = _check_learning_rate(learning_rate)
        beta_1 = _checks.check_fraction(beta_1, "beta_1")
        beta_2 = _checks.check_fraction(beta_2, "beta_2")
        epsilon = _checks.check_nonnegative(epsilon, "epsilon")
        super().__init__(
            learning_rate=learning_rate,
            name=name,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            **kwargs,
        )
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        # Python constants of the rule, computed once in float64.
        self._rho_inf = 2.0 / (1.0 - beta_2) - 1.0
        self._first_rectified_step = first_rectified_step(beta_2)

    def build(self, var_list):
        """Creates the slot variables: a `momentum` (m) and a `velocity` (v)
        per model variable.

        Args:
            var_list: the model variables to optimize.
        """
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"]
        )

    def update_step(self, gradient, variable, learning_rate):
        """One RAdam step of `variable` for `gradient` (the class docstring
        has the rule)."""
        dtype = variable.dtype
        # The step's scalars: float32 at least (t, beta^t, rho_t lose their
        # digits in float16), float64 for float64 variables.
        scalar = "float64" if keras.backend.standardize_dtype(dtype) == "float64" else "float32"
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = self.iterations + 1
        t = ops.cast(step, scalar)

        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(
            v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2)
        )

        # 1 - beta^t as -expm1(t log beta), log beta a float64 constant:
        # 1 - power(beta, t) in float32 loses beta's last digits (1e-5 of
        # 1 - 0.999 at t = 1).
        bias_correction_1 = -ops.expm1(t * _log(self.beta_1))
        momentum_step = ops.multiply(m, lr / ops.cast(bias_correction_1, dtype))

        if self._first_rectified_step is None:  # rho_inf <= 5: never rectified
            self.assign_sub(variable, momentum_step)
            return

        bias_correction_2 = -ops.expm1(t * _log(self.beta_2))
        rho_t = _rho_tensor(t, self.beta_2)
        rho_inf = self._rho_inf
        ratio = (rho_t - 4.0) * (rho_t - 2.0) / rho_t * (
            rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0))
        )
        # The unrectified steps compute r_t too (ops.where takes both
        # branches): clipped at 0, rho_t < 4 gives no NaN.
        r_t = ops.sqrt(ops.maximum(ratio, 0.0))
        scale = ops.cast(r_t * ops.sqrt(bias_correction_2), dtype)
        adaptive = ops.divide(scale, ops.add(ops.sqrt(v), ops.cast(self.epsilon, dtype)))
        rectified = ops.greater_equal(step, self._first_rectified_step)
        self.assign_sub(
            variable,
            ops.multiply(momentum_step, ops.where(rectified, adaptive, ops.ones((), dtype))),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "beta_1": self.beta_1,
                "beta_2": self.beta_2,
                "epsilon": self.epsilon,
            }
        )
        return config
