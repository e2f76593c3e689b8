"""Lesson 08's checks: a separable convolution's parameters and a residual block's shape and parameters, the right
answers taken from Keras itself."""

from __future__ import annotations

import keras
import pytest
from check_helpers import correct, not_answered
from keras import layers

from cifar_course import checks, models
from cifar_course.checks import CheckFailed


@pytest.fixture(autouse=True)
def not_grading(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)


# --------------------------------------------------------------------------- check_separable_params
def keras_separable(in_channels: int, filters: int, kernel_size: int = 3) -> int:
    layer = layers.SeparableConv2D(filters, kernel_size, padding="same")
    layer.build((None, 16, 16, in_channels))
    return layer.count_params()


@pytest.mark.parametrize("in_channels, filters, kernel_size", [(32, 64, 3), (128, 128, 3), (16, 8, 5)])
def test_check_separable_params_accepts_what_keras_counts(capsys, in_channels, filters, kernel_size):
    answer = keras_separable(in_channels, filters, kernel_size)
    out = correct(capsys, lambda: checks.check_separable_params(answer, in_channels, filters, kernel_size))
    assert f"{answer:,}" in out


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (9 * 32 * 64 + 64, "full Conv2D's count"),  # a plain 3x3 convolution
        (9 * 32 + 32 * 64, "add the biases"),
        (9 * 32 + 32 * 64 + 64 + 32, "only the pointwise step has biases"),
        (9 * 32 * 64 + 32 * 64 + 64, "one k x k filter per \\*input\\* channel"),
        (32 * 64 + 64, "pointwise\\) step alone"),
        (9 * 32, "depthwise step alone"),
        (9 * 32 + 32, "DepthwiseConv2D alone"),
        (12345, "Count the two steps"),
    ],
)
def test_check_separable_params_says_what_is_wrong_without_the_answer(wrong, hint):
    with pytest.raises(CheckFailed, match=hint) as failed:
        checks.check_separable_params(wrong, in_channels=32, filters=64)
    assert "2400" not in str(failed.value).replace(",", "")


def test_check_separable_params_waits_for_an_answer_and_wants_a_number(capsys):
    not_answered(capsys, lambda: checks.check_separable_params(None, 32, 64))
    with pytest.raises(CheckFailed, match="whole number"):
        checks.check_separable_params("2400", 32, 64)


# --------------------------------------------------------------------------- check_residual_block
def keras_block(input_shape, filters, stride) -> keras.Model:
    inputs = keras.Input(shape=input_shape)
    return keras.Model(inputs, models.residual_block(inputs, filters, stride))


@pytest.mark.parametrize(
    "input_shape, filters, stride",
    [((8, 8, 64), 128, 2), ((16, 16, 32), 32, 1), ((8, 8, 16), 32, 1), ((7, 7, 8), 16, 2)],
)
def test_check_residual_block_accepts_what_keras_builds(capsys, input_shape, filters, stride):
    block = keras_block(input_shape, filters, stride)
    shape, params = tuple(block.output_shape[1:]), block.count_params()
    out = correct(capsys, lambda: checks.check_residual_block(shape, params, input_shape, filters, stride))
    assert f"{params:,}" in out and ("projection" in out) == (stride != 1 or input_shape[-1] != filters)
    correct(capsys, lambda: checks.check_residual_block(list(shape), float(params), input_shape, filters, stride))


EXERCISE = {"input_shape": (8, 8, 64), "filters": 128, "stride": 2}  # lesson 08's exercise 2
RIGHT = 9 * 64 * 128 + 9 * 128 * 128 + 64 * 128 + 3 * 4 * 128  # 230,912, as Keras counts it (test above)


@pytest.mark.parametrize(
    "shape, params, hint",
    [
        ((None, 4, 4, 128), RIGHT, "leave out the batch dimension"),
        ((4, 128), RIGHT, "three numbers"),
        ((4, 4, 64), RIGHT, "wrong number of channels"),
        ((8, 8, 128), RIGHT, "stride 2"),
        ((5, 5, 128), RIGHT, "ceil\\(size / s\\)"),
        ("4x4x128", RIGHT, "give a tuple"),
        ((4, 4, 128), RIGHT - 64 * 128 - 4 * 128, "shortcut needs weights"),
        ((4, 4, 128), RIGHT - 2 * 128 * 3, "moving mean and variance"),
        ((4, 4, 128), RIGHT - 12 * 128, "add the BatchNormalization layers"),
        ((4, 4, 128), RIGHT + 3 * 128, "no biases"),
        ((4, 4, 128), RIGHT + 8 * 64 * 128, "projection is a 1x1"),
        ((4, 4, 128), RIGHT + 9 * 64 * 128 - 9 * 128 * 128, "second 3x3 convolution"),
        ((4, 4, 128), 12345, "is not it"),
    ],
)
def test_check_residual_block_says_what_is_wrong_without_the_answer(shape, params, hint):
    with pytest.raises(CheckFailed, match=hint) as failed:
        checks.check_residual_block(shape, params, **EXERCISE)
    assert "230912" not in str(failed.value).replace(",", "")


def test_check_residual_block_knows_when_no_projection_is_needed():
    identity = {"input_shape": (16, 16, 32), "filters": 32, "stride": 1}
    right = keras_block((16, 16, 32), 32, 1).count_params()
    with pytest.raises(CheckFailed, match="the shortcut is x itself"):
        checks.check_residual_block((16, 16, 32), right + 32 * 32 + 4 * 32, **identity)


def test_check_residual_block_waits_for_both_answers_and_wants_numbers(capsys):
    not_answered(capsys, lambda: checks.check_residual_block(None, RIGHT, **EXERCISE))
    not_answered(capsys, lambda: checks.check_residual_block((4, 4, 128), None, **EXERCISE))
    with pytest.raises(CheckFailed, match="whole number"):
        checks.check_residual_block((4, 4, 128), str(RIGHT), **EXERCISE)
    with pytest.raises(CheckFailed, match="whole numbers"):
        checks.check_residual_block((4.5, 4, 128), RIGHT, **EXERCISE)
