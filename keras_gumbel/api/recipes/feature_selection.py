"""Feature selection's recipe (re-exported from
`keras_gumbel.apps.feature_selection.recipe`)."""

from keras_gumbel.apps.feature_selection.recipe import (
    METHOD_DEFAULTS,
    METHODS,
    SelectionConfig,
    SelectionResult,
    build_model,
    build_selector,
    extra_trees_accuracy,
    select_features,
    temperature_schedule,
)

__all__ = ["METHODS", "METHOD_DEFAULTS", "SelectionConfig", "SelectionResult", "build_model",
           "build_selector", "extra_trees_accuracy", "select_features", "temperature_schedule"]
