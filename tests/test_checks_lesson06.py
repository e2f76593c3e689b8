"""Lesson 06's checks: a confusion matrix of counts, the accuracy of confident predictions."""

from __future__ import annotations

import numpy as np
import pytest
from check_helpers import correct

from cifar_course import checks
from cifar_course.checks import CheckFailed


def test_check_confident_accuracy_refuses_impossible_values(capsys):
    probs = np.array([[0.95, 0.05], [0.92, 0.08], [0.3, 0.7], [0.9, 0.1], [0.4, 0.6]])
    y = np.array([0, 1, 1, 0, 0])  # confident: 3 predictions, 2 of them right
    with pytest.raises(CheckFailed, match="66.67 looks like a percentage"):
        checks.check_confident_accuracy(66.67, probs, y)
    with pytest.raises(CheckFailed, match="fractions between 0 and 1"):
        checks.check_confident_accuracy(-0.5, probs, y)
    with pytest.raises(CheckFailed, match="is NaN, but some predictions do reach 0.9"):
        checks.check_confident_accuracy(float("nan"), probs, y)
    with pytest.raises(CheckFailed, match="give a number between 0 and 1"):
        checks.check_confident_accuracy("2/3", probs, y)
    correct(capsys, lambda: checks.check_confident_accuracy(np.float32(2 / 3), probs, y))


def _labels(n: int = 200, num_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, num_classes, n)
    return y_true, np.where(rng.random(n) < 0.5, y_true, rng.integers(0, num_classes, n))


@pytest.mark.parametrize("normalize, what", [("true", "every row adds up to 1"), ("all", "all the cells add up to 1")])
def test_check_confusion_matrix_says_fractions_are_not_counts(normalize, what):
    from sklearn.metrics import confusion_matrix

    y_true, y_pred = _labels()
    fractions = confusion_matrix(y_true, y_pred, labels=np.arange(10), normalize=normalize)
    with pytest.raises(CheckFailed) as failure:
        checks.check_confusion_matrix(fractions, y_true, y_pred, 10)
    message = str(failure.value)
    assert "fractions" in message and what in message and "counts" in message and "normalize=" in message
    assert "200" in message and "add up to 9" not in message and "add up to 0" not in message


def test_check_confusion_matrix_never_truncates_a_sum_that_is_not_whole(capsys):
    y_true, y_pred = _labels(n=4, num_classes=2)
    matrix = np.zeros((2, 2))
    np.add.at(matrix, (y_true, y_pred), 1)
    correct(capsys, lambda: checks.check_confusion_matrix(matrix, y_true, y_pred, 2))  # whole floats are counts
    with pytest.raises(CheckFailed, match=r"not whole numbers \(the cells add up to 4.5\)"):
        checks.check_confusion_matrix(matrix + np.eye(2) / 4, y_true, y_pred, 2)
    with pytest.raises(CheckFailed, match="NaN"):
        checks.check_confusion_matrix(np.full((2, 2), np.nan), y_true, y_pred, 2)
    matrix[0, 0] += 1
    with pytest.raises(CheckFailed, match="the counts add up to 5, expected 4"):  # whole numbers: as before
        checks.check_confusion_matrix(matrix, y_true, y_pred, 2)
