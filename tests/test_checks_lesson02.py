"""Lesson 02's checks: a convolution's parameters, a model's shapes and output, an accuracy."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from check_helpers import SMALL, correct, not_answered, softmax_model

from cifar_course import checks
from cifar_course.checks import CheckFailed


def test_check_conv_params_agrees_with_keras(capsys):
    layer = keras.layers.Conv2D(16, 5)
    layer.build((None, 32, 32, 3))
    assert checks.check_conv_params(layer.count_params(), 5, 3, 16) is None
    assert "1,216 parameters" in capsys.readouterr().out


def test_check_conv_params_wrong(capsys):
    with pytest.raises(CheckFailed, match="not the biases"):
        checks.check_conv_params(5 * 5 * 3 * 16, 5, 3, 16)
    with pytest.raises(CheckFailed, match="every one of the 3 input channels"):
        checks.check_conv_params((5 * 5 + 1) * 16, 5, 3, 16)
    with pytest.raises(CheckFailed, match="height and width do not matter"):
        checks.check_conv_params(28 * 28 * 16, 5, 3, 16)
    not_answered(capsys, lambda: checks.check_conv_params(None, 5, 3, 16))


def test_check_model_passes_softmax_and_logits_models(capsys):
    out = correct(capsys, lambda: checks.check_model(softmax_model(activation="softmax"), **SMALL, output="softmax"))
    assert "170 parameters" in out and "class probabilities" in out
    out = correct(capsys, lambda: checks.check_model(softmax_model(), **SMALL, output="logits"))
    assert "logits" in out
    not_answered(capsys, lambda: checks.check_model(None, **SMALL, output="logits"))


@pytest.mark.parametrize(
    "last",
    [
        pytest.param([keras.layers.Dense(10, activation="softmax", dtype="float32")], id="Dense-softmax"),
        pytest.param([keras.layers.Dense(10, activation=keras.activations.softmax)], id="Dense-function"),
        pytest.param([keras.layers.Dense(10), keras.layers.Activation("softmax", dtype="float32")], id="Activation"),
        pytest.param([keras.layers.Dense(10), keras.layers.Softmax()], id="Softmax-layer"),
    ],
)
def test_check_model_finds_the_softmax_however_it_is_written(capsys, last):
    model = keras.Sequential([keras.Input(shape=(4, 4, 1)), keras.layers.Flatten(), *last])
    correct(capsys, lambda: checks.check_model(model, **SMALL, output="softmax"))
    with pytest.raises(CheckFailed, match="should output logits"):
        checks.check_model(model, **SMALL, output="logits")


def test_check_model_looks_into_a_model_inside_the_model(capsys):
    """M4 is Sequential([Input, base, head]): the softmax is the last layer of the head."""
    head = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")], name="head")
    model = keras.Sequential([keras.Input(shape=(4, 4, 1)), keras.layers.Conv2D(2, 3, padding="same"), head])
    shapes = {"input_shape": (4, 4, 1), "num_classes": 10}
    correct(capsys, lambda: checks.check_model(model, params=model.count_params(), **shapes, output="softmax"))


def test_check_model_fails_without_softmax_even_with_the_right_parameter_count():
    no_softmax = softmax_model()  # Dense(10) with no activation: 170 parameters, as the softmax one has
    with pytest.raises(CheckFailed, match="the last layer has no softmax: add activation='softmax'"):
        checks.check_model(no_softmax, **SMALL, output="softmax")
    with pytest.raises(CheckFailed, match=r"no softmax \(it ends in relu\)"):
        checks.check_model(softmax_model(activation="relu"), **SMALL, output="softmax")
    with pytest.raises(CheckFailed, match="applies relu, but this model should output logits"):
        checks.check_model(softmax_model(activation="relu"), **SMALL, output="logits")


def test_check_model_fails_on_parameters_and_shapes():
    model = softmax_model(activation="softmax")
    with pytest.raises(CheckFailed, match="170 parameters, more than the expected 169"):
        checks.check_model(model, **{**SMALL, "params": 169}, output="softmax")
    with pytest.raises(CheckFailed, match="takes inputs of shape"):
        checks.check_model(model, **{**SMALL, "input_shape": (32, 32, 3)}, output="softmax")
    with pytest.raises(CheckFailed, match="one unit per class"):
        checks.check_model(model, **{**SMALL, "num_classes": 100}, output="softmax")
    with pytest.raises(CheckFailed, match="not built yet.*keras.Input"):
        checks.check_model(keras.Sequential([keras.layers.Dense(10)]), **SMALL, output="softmax")
    with pytest.raises(CheckFailed, match="should be a Keras model"):
        checks.check_model("model", **SMALL, output="softmax")
    with pytest.raises(ValueError, match="'softmax' or 'logits'"):
        checks.check_model(model, **SMALL, output="probabilities")


def test_check_accuracy_at_least(capsys):
    assert checks.check_accuracy_at_least(0.5, 0.1) is None
    assert checks.check_accuracy_at_least(np.float32(0.1), 0.1) is None  # the boundary passes
    with pytest.raises(CheckFailed, match="0.050, below 0.100"):
        checks.check_accuracy_at_least(0.05, 0.1, "test accuracy")
    not_answered(capsys, lambda: checks.check_accuracy_at_least(None, 0.1))


@pytest.mark.parametrize(
    "value, message",
    [
        (93.5, "accuracies are fractions between 0 and 1: 93.5 looks like a percentage"),
        (100, "looks like a percentage"),
        (-0.2, "-0.2, but accuracies are fractions between 0 and 1"),
        (250.0, "250, but accuracies are fractions"),
        (float("nan"), "NaN"),
        ("0.9", r"give a number between 0 and 1, not '0.9' \(a str\)"),
        (True, r"not True \(a bool\)"),
        ([1.2, 0.61], r"holds 2 numbers.*\[loss, accuracy\]"),
    ],
)
def test_check_accuracy_at_least_refuses_impossible_values(value, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_accuracy_at_least(value, 0.0, "test_accuracy")


def test_check_accuracy_at_least_accepts_the_ends(capsys):
    for value in (0, 1, 1.0, np.float64(0.97), np.array(0.97)):
        correct(capsys, lambda v=value: checks.check_accuracy_at_least(v, 0.0))
