"""What every check shares: it returns None, asks for a whole number in plain words, never gives the answer away."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
from check_helpers import SMALL, correct, not_answered, softmax_model

from cifar_course import checks
from cifar_course.checks import CheckFailed

ROOT = Path(__file__).resolve().parents[1]


def test_an_unanswered_exercise_is_a_note_but_fails_while_nbgrader_grades(capsys, monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    not_answered(capsys, lambda: checks.check_shape(None, (2, 3), "x"))
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with pytest.raises(CheckFailed, match="not answered: x is still None"):
        checks.check_shape(None, (2, 3), "x")


def test_every_check_a_notebook_calls_is_offered_by_cc_checks():
    called = {
        name
        for path in sorted((ROOT / "notebooks").glob("*.ipynb"))
        for cell in json.loads(path.read_text())["cells"]
        for name in re.findall(r"cc\.checks\.(check_\w+)", "".join(cell["source"]))
    }
    assert len(called) >= 20 and sorted(called - set(checks.__all__)) == []
    assert all(callable(getattr(checks, name)) for name in checks.__all__)


def test_cc_checks_offers_every_check_its_modules_define():
    stems = sorted(p.stem for p in (ROOT / "cifar_course" / "checks").glob("*.py") if p.stem != "__init__")
    defined = {
        name
        for module in (importlib.import_module(f"cifar_course.checks.{stem}") for stem in stems)
        for name, obj in vars(module).items()
        if name.startswith("check_") and obj.__module__ == module.__name__
    }
    assert len(defined) >= 23 and defined == {name for name in checks.__all__ if name.startswith("check_")}


HISTORY = {  # val_accuracy is best at epoch 3 (0.7412); accuracy (training) keeps rising
    "accuracy": [0.50, 0.62, 0.70, 0.78, 0.85],
    "val_accuracy": [0.5521, 0.6603, 0.7412, 0.7288, 0.7105],
    "loss": [1.4, 1.1, 0.9, 0.7, 0.5],
    "val_loss": [1.3, 1.0, 0.8, 0.85, 0.9],
}


VAL_LOSS = [1.55, 1.42, 1.40, 1.47, 1.65, 1.99]  # patience 2: stops after epoch 5, keeps epoch 3


def test_every_check_returns_none(capsys):
    """What used to return True or False (and printed it under the message in a notebook) now returns None."""
    from cifar_course import transfer

    pixels = np.random.default_rng(0).integers(0, 256, (2, 4, 4, 3)).astype(np.uint8)
    history = {"accuracy": [0.5, 0.7], "val_accuracy": [0.5, 0.68]}
    calls = [
        lambda: checks.check_model(softmax_model(activation="softmax"), **SMALL, output="softmax"),
        lambda: checks.check_batchnorm_params(1000 - 12 + 48, 1000, [4, 8]),
        lambda: checks.check_vgg_preprocessed(transfer.vgg_preprocess(pixels), pixels),
        lambda: checks.check_best_epoch(3, HISTORY),
        lambda: checks.check_confident_accuracy(1.0, np.array([[0.95, 0.05]]), [0]),
        lambda: checks.check_confusion_matrix(np.array([[1, 0], [0, 1]]), [0, 1], [0, 1], 2),
    ]
    for call in calls:
        correct(capsys, call)
    # a prediction is no test: right or wrong, the comparison prints and returns None
    assert checks.check_ablation_prediction({"val_accuracy": "lower", "gap": "larger"}, history, history, "x") is None
    assert "of 2 predictions matched" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer, shown",
    [
        ("1216", "'1216' (a str) - remove the quotes"),
        (1216.5, "1216.5 (a float)"),
        (True, "True (a bool)"),
        ([1216], "[1216] (a list)"),
        (np.float32(1216.5), "1216.5 (a float32)"),
        ("twelve", "'twelve' (a str)."),
    ],
)
def test_count_checks_ask_for_a_whole_number(answer, shown):
    count_checks = [
        lambda a: checks.check_conv_params(a, kernel_size=5, in_channels=3, filters=16),
        lambda a: checks.check_dense_params(a, n_inputs=8192, units=256),
        lambda a: checks.check_batchnorm_params(a, 1000, [4, 8]),
        lambda a: checks.check_best_epoch(a, HISTORY),
        lambda a: checks.check_early_stopping((5, a), [1.55, 1.42, 1.40, 1.47, 1.65, 1.99], patience=2),
        lambda a: checks.check_early_stopping((a, 3), [1.55, 1.42, 1.40, 1.47, 1.65, 1.99], patience=2),
        lambda a: checks.check_value(a, 1_475_328, "block3_params"),
    ]
    for check in count_checks:
        with pytest.raises(CheckFailed, match=re.escape(f"give a whole number (an int), not {shown}")):
            check(answer)


def test_count_checks_accept_whole_numbers_of_any_type(capsys):
    for answer in (1216, np.int64(1216), 1216.0, np.float32(1216)):
        correct(capsys, lambda a=answer: checks.check_conv_params(a, kernel_size=5, in_channels=3, filters=16))
    correct(capsys, lambda: checks.check_best_epoch(np.argmax(HISTORY["val_accuracy"]) + 1, HISTORY))


@pytest.mark.parametrize(
    "call, answer",
    [
        (lambda: checks.check_value(0.75, 1 / (1 - 0.25), "kept_value", tol=5e-3), "1.33"),  # lesson 03 Ex2
        (lambda: checks.check_value(1_474_560, 1_475_328, "block3_params", biases=768), "1475328"),  # 05 Ex3
        (lambda: checks.check_value(1_474_560, 1_475_328, "block3_params"), "1475328"),
        (lambda: checks.check_value(79, 78, "peak_step"), "78"),  # lesson 07 Ex2
        (lambda: checks.check_value(0.0021, 0.002, "lr_halfway", tol=4e-6), "0.002 "),
        (lambda: checks.check_best_epoch(4, HISTORY), "epoch 3"),
        (lambda: checks.check_early_stopping((6, 3), VAL_LOSS, patience=2), "epoch 5"),
        (lambda: checks.check_early_stopping((5, 4), VAL_LOSS, patience=2), "epoch 3"),
        (lambda: checks.check_early_stopping((5, 1), VAL_LOSS, patience=2), "epoch 3"),
        (lambda: checks.check_conv_params(1000, 5, 3, 16), "1216"),
        (lambda: checks.check_dense_params(12345, 8192, 256), "2097408"),
        (lambda: checks.check_batchnorm_params(1001, 1000, [4, 8]), "1036"),
    ],
)
def test_a_failed_check_does_not_give_the_answer(call, answer):
    with pytest.raises(CheckFailed) as failed:
        call()
    assert answer not in str(failed.value).replace(",", "")
