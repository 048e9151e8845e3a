"""Keras' own layer test harness, `keras.src.testing.TestCase.run_layer_test`,
used as it is on every configuration of both sampling layers.

The harness builds the layer eagerly and symbolically, checks the weight,
variable and seed-generator counts, masking support, a JSON serialization
round trip, the output shape and dtype, one compiled `fit` step (XLA on
TensorFlow, `jit_compile="auto"`) and the `mixed_float16` policy.

The configurations cover each option at least once rather than their full
product (which would cost minutes): every estimator (Gumbel-Rao with one and
several samples) in training, every inference mode outside it, a trainable
temperature with each estimator that learns it, and other category axes
(not the batch axis, which the harness leaves unknown).
"""

import pytest

from keras.src.testing import TestCase
from keras_gumbel import GumbelSoftmax, RelaxedBernoulli

SHAPE = (2, 3, 5)

GUMBEL_SOFTMAX = [
    # estimators in training
    {"init": {}, "training": True},
    {"init": {"hard": True}, "training": True},
    {"init": {"estimator": "relaxed"}, "training": True},
    {"init": {"estimator": "straight_through"}, "training": True},
    {"init": {"estimator": "gumbel_rao"}, "training": True},
    {"init": {"estimator": "gumbel_rao", "samples": 4}, "training": True},
    {"init": {"estimator": "reinmax", "temperature": 1.5}, "training": True},
    {"init": {"estimator": "gapped_straight_through"}, "training": True},
    # inference modes
    {"init": {"inference": "argmax"}, "training": False},
    {"init": {"inference": "softmax", "temperature": 0.3}, "training": False},
    {"init": {"inference": "sample", "hard": True}, "training": False},
    {"init": {"inference": "sample"}, "training": None},
    {"init": {"inference": "softmax", "estimator": "reinmax", "temperature": 2.0}, "training": False},
    # trainable temperature
    {"init": {"trainable_temperature": True, "min_temperature": 0.1}, "training": True},
    {"init": {"trainable_temperature": True, "hard": True}, "training": True},
    {"init": {"trainable_temperature": True, "estimator": "gumbel_rao", "samples": 3}, "training": True},
    {"init": {"trainable_temperature": True, "estimator": "gapped_straight_through"}, "training": True},
    {"init": {"trainable_temperature": True, "inference": "softmax"}, "training": False},
    # other axes
    {"init": {"axis": 1, "hard": True}, "training": True},
    {"init": {"axis": -2, "estimator": "gumbel_rao", "samples": 2}, "training": True},
    {"init": {"axis": 1, "inference": "softmax"}, "training": False},
    {"init": {"axis": -2, "inference": "argmax"}, "training": False},
    {"init": {"axis": 1, "estimator": "reinmax", "temperature": 1.0}, "training": True},
]

RELAXED_BERNOULLI = [
    {"init": {}, "training": True},
    {"init": {"hard": True}, "training": True},
    {"init": {"temperature": 0.2}, "training": True},
    {"init": {"inference": "argmax"}, "training": False},
    {"init": {"inference": "softmax", "temperature": 0.3}, "training": False},
    {"init": {"inference": "sample", "hard": True}, "training": None},
    {"init": {"trainable_temperature": True}, "training": True},
    {"init": {"trainable_temperature": True, "hard": True, "min_temperature": 0.05}, "training": True},
    {"init": {"trainable_temperature": True, "inference": "softmax"}, "training": False},
]


def _id(case):
    init = ",".join(f"{k}={v}" for k, v in case["init"].items()) or "defaults"
    return f"{init};training={case['training']}"


def run_harness(cls, case):
    init = {"seed": 3, **case["init"]}
    trainable = init.get("trainable_temperature", False)
    # A bare TestCase: run_layer_test needs only its assertions.
    TestCase().run_layer_test(
        cls,
        init_kwargs=init,
        input_shape=SHAPE,
        call_kwargs={"training": case["training"]},
        expected_output_shape=SHAPE,
        expected_output_dtype="float32",
        expected_num_trainable_weights=1 if trainable else 0,
        expected_num_non_trainable_weights=0 if trainable else 1,
        expected_num_seed_generators=1,
        expected_num_losses=0,
        supports_masking=True,
    )


@pytest.mark.parametrize("case", GUMBEL_SOFTMAX, ids=_id)
def test_gumbel_softmax_passes_the_keras_layer_harness(case):
    run_harness(GumbelSoftmax, case)


@pytest.mark.parametrize("case", RELAXED_BERNOULLI, ids=_id)
def test_relaxed_bernoulli_passes_the_keras_layer_harness(case):
    run_harness(RelaxedBernoulli, case)

