"""Lesson 01's checks: shapes, scaled pixels, one-hot labels, every class in a split."""

from __future__ import annotations

import numpy as np
import pytest
from check_helpers import not_answered

from cifar_course import checks
from cifar_course.checks import CheckFailed


def test_check_shape(capsys):
    assert checks.check_shape(np.zeros((2, 3, 1)), (2, 3, 1), "x") is None
    assert "Correct" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match=r"shape \(2, 3\), expected \(2, 3, 1\)"):
        checks.check_shape(np.zeros((2, 3)), (2, 3, 1), "x")
    not_answered(capsys, lambda: checks.check_shape(None, (2, 3)))


def test_check_scaled(capsys):
    x = np.array([[0, 128, 255]], dtype=np.uint8)
    assert checks.check_scaled(x.astype(np.float32) / 255) is None
    with pytest.raises(CheckFailed, match="float32"):
        checks.check_scaled(x)  # still uint8
    with pytest.raises(CheckFailed, match="divide the uint8 pixels by 255"):
        checks.check_scaled(x.astype(np.float32))  # float but not divided
    with pytest.raises(CheckFailed, match="twice"):
        checks.check_scaled(x.astype(np.float32) / 255 / 255)
    with pytest.raises(CheckFailed, match="runs from -1"):
        checks.check_scaled(x.astype(np.float32) / 127.5 - 1)  # [-1, 1] is another scaling, not this one
    not_answered(capsys, lambda: checks.check_scaled(None))


def test_check_one_hot(capsys):
    y = np.array([2, 0, 1])
    assert checks.check_one_hot(np.eye(3)[y], y, 3) is None
    with pytest.raises(CheckFailed, match=r"shape \(3, 4\)"):
        checks.check_one_hot(np.eye(4)[y], y, 3)  # one column too many
    with pytest.raises(CheckFailed, match="single 1"):
        checks.check_one_hot(np.eye(3)[[0, 1, 2]], y, 3)  # right shape, wrong positions
    with pytest.raises(CheckFailed, match="single 1"):
        checks.check_one_hot(np.ones((3, 3)), y, 3)
    not_answered(capsys, lambda: checks.check_one_hot(None, y, 3))


def test_check_all_classes_present(capsys):
    y = np.array([0, 1, 2, 2])
    assert checks.check_all_classes_present(y, 3) is None
    assert checks.check_all_classes_present(np.eye(3)[y], 3) is None  # one-hot works too
    with pytest.raises(CheckFailed, match=r"lacks classes \[1\]"):
        checks.check_all_classes_present(np.array([0, 2, 2]), 3)
    with pytest.raises(CheckFailed, match=r"lacks classes \[0, 1\]"):
        checks.check_all_classes_present(np.array([2, 2, 2]), 3, "validation labels")  # a sorted split
    not_answered(capsys, lambda: checks.check_all_classes_present(None, 3))
