"""Lesson 04's check: the best epoch of a training history, counted from 1."""

from __future__ import annotations

import re

import numpy as np
import pytest

from cifar_course import checks
from cifar_course.checks import CheckFailed

HISTORY = {  # val_accuracy is best at epoch 3 (0.7412); accuracy (training) keeps rising
    "accuracy": [0.50, 0.62, 0.70, 0.78, 0.85],
    "val_accuracy": [0.5521, 0.6603, 0.7412, 0.7288, 0.7105],
    "loss": [1.4, 1.1, 0.9, 0.7, 0.5],
    "val_loss": [1.3, 1.0, 0.8, 0.85, 0.9],
}


def test_check_best_epoch_diagnoses_the_value_instead_of_the_epoch():
    itself = "0.7412 is the best validation accuracy itself; the answer is the epoch number (1, 2, ...)"
    with pytest.raises(CheckFailed, match=re.escape(itself)):
        checks.check_best_epoch(0.7412, HISTORY)  # max(...) gives the value
    with pytest.raises(CheckFailed, match="best validation accuracy itself"):
        checks.check_best_epoch(np.float32(0.7412), HISTORY)
    with pytest.raises(CheckFailed, match="best validation accuracy itself"):
        checks.check_best_epoch(0.741, HISTORY)  # read off a log rounded to 3 decimals
    with pytest.raises(CheckFailed, match="one of the validation accuracy values"):
        checks.check_best_epoch(0.7288, HISTORY)
    with pytest.raises(CheckFailed, match="best validation loss itself"):
        checks.check_best_epoch(0.8, HISTORY, key="val_loss")


def test_check_best_epoch_off_by_one_does_not_assume_argmax():
    with pytest.raises(CheckFailed, match="counts epochs from 1.*position \\+ 1") as failed:
        checks.check_best_epoch(2, HISTORY)  # the index counted from 0
    assert "argmax" not in str(failed.value)
    with pytest.raises(CheckFailed, match="counts epochs from 1"):
        checks.check_best_epoch(0, {"val_accuracy": [0.9, 0.5]})


def test_check_best_epoch_other_hints_and_never_the_answer():
    with pytest.raises(CheckFailed, match="best on the training data") as failed:
        checks.check_best_epoch(5, HISTORY)
    with pytest.raises(CheckFailed, match="worst validation accuracy: for validation accuracy, higher is better"):
        checks.check_best_epoch(1, HISTORY)  # argmin instead of argmax
    with pytest.raises(CheckFailed, match="there are 5 epochs, numbered 1 to 5: 9 is not one of them"):
        checks.check_best_epoch(9, HISTORY)
    with pytest.raises(CheckFailed, match="epoch 4 is not the best: its validation accuracy is 0.7288") as failed:
        checks.check_best_epoch(4, HISTORY)
    assert "3" not in str(failed.value) and "0.7412" not in str(failed.value)
