"""The checks no lesson calls any more, kept for notebooks released earlier."""

from __future__ import annotations

import re

import pytest
from check_helpers import not_answered, tiny_model

from cifar_course import checks
from cifar_course.checks import CheckFailed


def test_check_param_count(capsys):
    model = tiny_model(3)  # (16 + 1) * 3 = 51
    assert checks.check_param_count(model, 51) is None
    assert "51 parameters" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="more than the expected 50"):
        checks.check_param_count(model, 50)
    with pytest.raises(CheckFailed, match="fewer than the expected 1,000"):
        checks.check_param_count(model, 1000)
    not_answered(capsys, lambda: checks.check_param_count(None, 51))


def test_check_output_shape(capsys):
    model = tiny_model(10)
    assert checks.check_output_shape(model, (4, 4, 1), 10) is None
    with pytest.raises(CheckFailed, match="takes inputs of shape"):
        checks.check_output_shape(model, (4, 4, 3), 10)
    with pytest.raises(CheckFailed, match="one unit per class"):
        checks.check_output_shape(model, (4, 4, 1), 100)
    not_answered(capsys, lambda: checks.check_output_shape(None, (4, 4, 1), 10))


def test_check_value(capsys):
    assert checks.check_value(896, 896, "conv1_params") is None
    assert checks.check_value(1 / 0.75, 4 / 3, "kept value", tol=1e-3) is None
    assert checks.check_value(1.333, 4 / 3, "kept value", tol=1e-3) is None
    with pytest.raises(CheckFailed, match="conv1_params = 864 is not right yet: it is too small") as failed:
        checks.check_value(864, 896, "conv1_params")  # forgot the biases (no biases= given: no biases hint)
    assert "896" not in str(failed.value)  # the answer is not given away
    with pytest.raises(CheckFailed):
        checks.check_value([1, 2], [1, 2, 3])  # shapes differ
    not_answered(capsys, lambda: checks.check_value(None, 896))


def test_check_value_asks_for_a_number():
    with pytest.raises(CheckFailed, match=re.escape("kept_value: give a number, not '1.33' (a str)")):
        checks.check_value("1.33", 4 / 3, "kept_value", tol=5e-3)
    with pytest.raises(CheckFailed, match="give one number, not"):
        checks.check_value([4 / 3], 4 / 3, "kept_value", tol=5e-3)
    with pytest.raises(CheckFailed, match="NaN"):
        checks.check_value(float("nan"), 4 / 3, "kept_value")
    with pytest.raises(CheckFailed, match="peak_step: give a whole number"):
        checks.check_value(78.2, 78, "peak_step")  # 0.2 * total_steps, not rounded


def test_check_value_biases_hint_and_direction():
    with pytest.raises(CheckFailed, match="block3_params = 1,474,560 counts the weights but not the biases"):
        checks.check_value(3 * 3 * 128 * 256 + 2 * 3 * 3 * 256 * 256, 1_475_328, "block3_params", biases=3 * 256)
    with pytest.raises(CheckFailed, match="too large"):
        checks.check_value(1_476_000, 1_475_328, "block3_params", biases=768)
    with pytest.raises(CheckFailed, match="close, but not within"):
        checks.check_value(1.33, 4 / 3, "kept_value", tol=1e-3)
    with pytest.raises(CheckFailed, match="at 1 of 3 positions"):
        checks.check_value([1, 2, 4], [1, 2, 3])
