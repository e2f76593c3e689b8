"""Checks that no lesson calls any more, kept for notebooks released before each exercise had a check of its own.

check_value served lessons 03, 05 and 07 until check_dropout_kept_value, check_layer_params and check_schedule_reading
replaced it; check_param_count and check_output_shape served lesson 04 until check_model, which runs both tests.
"""

from __future__ import annotations

import numpy as np

from ._core import CheckFailed, answered, ok, plain, shown, whole_number
from ._models import built_model, raise_if_wrong_params, raise_if_wrong_shapes


def check_value(got, expected, name: str = "value", tol: float = 1e-6, *, biases: int = 0) -> None:
    """A number (or array) equals ``expected`` within ``tol``; ``biases``: how many of a parameter count are biases."""
    if not answered(got, name):
        return
    if isinstance(plain(expected), int):
        got = whole_number(got, name)
    elif np.asarray(got).dtype.kind not in "iuf":  # a str, a bool, a list holding None...
        raise CheckFailed(f"{name}: give a number, not {shown(got)}.")
    got = plain(np.asarray(got))
    if np.ndim(expected) == 0 and np.ndim(got) > 0:
        raise CheckFailed(f"{name}: give one number, not {shown(got)}.")
    if np.shape(got) != np.shape(expected):
        raise CheckFailed(f"{name} has shape {np.shape(got)}, but the answer has shape {np.shape(expected)}.")
    if np.any(np.isnan(got)):
        raise CheckFailed(f"{name} is (or holds) NaN: something in the calculation was not a number.")
    if np.allclose(got, expected, atol=tol):
        return ok(f"{name} = {got}.")
    if np.ndim(expected) > 0:
        wrong = int(np.sum(~np.isclose(got, expected, atol=tol)))
        raise CheckFailed(f"{name} is not right yet at {wrong} of {np.size(expected)} positions.")
    if biases and got == expected - biases:
        raise CheckFailed(
            f"{name} = {got:,} counts the weights but not the biases: every filter (or unit) has one bias as well."
        )
    if isinstance(got, float) and np.isclose(got, expected, rtol=0.01):
        raise CheckFailed(f"{name} = {got} is close, but not within {tol:g}: compute it rather than round it.")
    direction = "too large" if got > expected else "too small"
    raise CheckFailed(f"{name} = {got} is not right yet: it is {direction}. Work it out again step by step.")


def check_param_count(model, expected: int) -> None:
    """The model has exactly the expected number of parameters: check_model's parameter test alone."""
    if not answered(model, "your model"):
        return
    model = built_model(model)
    raise_if_wrong_params(model, expected)
    ok(f"{model.name} has {expected:,} parameters.")


def check_output_shape(model, input_shape: tuple, num_classes: int) -> None:
    """The model takes images of ``input_shape`` and gives one score per class: check_model's shape test alone."""
    if not answered(model, "your model"):
        return
    model = built_model(model)
    raise_if_wrong_shapes(model, input_shape, num_classes)
    ok(f"{model.name} maps {tuple(input_shape)} images to {num_classes} class scores.")
