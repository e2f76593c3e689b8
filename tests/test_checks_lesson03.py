"""Lesson 03's checks: a dense layer's parameters, what dropout keeps, when early stopping stops."""

from __future__ import annotations

import keras
import pytest
from check_helpers import correct, not_answered, tiny_model

from cifar_course import checks
from cifar_course.checks import CheckFailed, lesson03

VAL_LOSS = [1.55, 1.42, 1.40, 1.47, 1.65, 1.99]  # patience 2: stops after epoch 5, keeps epoch 3


def test_check_dense_params_agrees_with_keras(capsys):
    layer = keras.layers.Dense(256)
    layer.build((None, 16 * 16 * 32))
    assert checks.check_dense_params(layer.count_params(), 16 * 16 * 32, 256) is None
    assert "2,097,408 parameters" in capsys.readouterr().out


def test_check_dense_params_wrong(capsys):
    with pytest.raises(CheckFailed, match="not the biases"):
        checks.check_dense_params(8192 * 256, 8192, 256)
    with pytest.raises(CheckFailed, match="before pooling"):
        checks.check_dense_params((32 * 32 * 32 + 1) * 256, 8192, 256)
    with pytest.raises(CheckFailed, match=r"\(inputs \+ 1\) x units"):
        checks.check_dense_params(12345, 8192, 256)
    not_answered(capsys, lambda: checks.check_dense_params(None, 8192, 256))


def test_check_dropout_kept_value_diagnoses_without_giving_the_answer(capsys):
    checks.check_dropout_kept_value(1 / 0.75, rate=0.25)
    checks.check_dropout_kept_value(1.3359, rate=0.25)  # what bfloat16 shows
    assert capsys.readouterr().out.count("Correct:") == 2
    for wrong, hint in [
        (1.0, "outside training"),
        (0.75, "a fraction of values"),
        (0.25, "a fraction of values"),
        (0.5, "grow, they do not shrink"),
        (2.0, "run the layer on ones"),
        ("1.33", "give a number"),
    ]:
        with pytest.raises(checks.CheckFailed, match=hint) as err:
            checks.check_dropout_kept_value(wrong, rate=0.25)
        assert "1.333" not in str(err.value)


def keras_early_stopping(values, patience: int, mode: str = "min") -> tuple[int | None, int]:
    """What keras.callbacks.EarlyStopping itself decides on these per-epoch values (1-based epochs)."""
    callback = keras.callbacks.EarlyStopping(monitor="m", patience=patience, mode=mode)
    model = tiny_model()
    callback.set_model(model)
    model.stop_training = False
    callback.on_train_begin()
    for epoch, value in enumerate(values):
        callback.on_epoch_end(epoch, {"m": value})
        if getattr(model, "stop_training", False):
            return epoch + 1, callback.best_epoch + 1
    return None, callback.best_epoch + 1


CURVES = [
    ([1.55, 1.42, 1.40, 1.47, 1.65, 1.99], 2, "min"),  # the overfitting curve of lesson 03: best 3, stop 5
    ([1.55, 1.42, 1.40, 1.47, 1.65, 1.99], 1, "min"),
    ([1.55, 1.42, 1.40, 1.47, 1.65, 1.99], 5, "min"),  # patience too long: runs to the end
    ([2.0, 1.5, 1.2, 1.1, 1.0], 2, "min"),  # always improving: runs to the end, keeps the last
    ([1.0, 1.0, 1.0], 2, "min"),  # a tie is no improvement
    ([0.40, 0.52, 0.51, 0.55, 0.54, 0.53, 0.52], 2, "max"),
    ([0.40, 0.52, 0.51, 0.55, 0.54, 0.53, 0.52], 0, "max"),
    ([0.5], 2, "max"),  # one epoch (the smoke profile)
]


@pytest.mark.parametrize("values,patience,mode", CURVES)
def test_early_stopping_replay_matches_keras(values, patience, mode):
    assert lesson03._early_stopping_replay(values, patience, mode) == keras_early_stopping(values, patience, mode)


def test_check_early_stopping(capsys):
    val_loss = [1.55, 1.42, 1.40, 1.47, 1.65, 1.99]
    assert checks.check_early_stopping((5, 3), val_loss, patience=2) is None
    assert "stops after epoch 5" in capsys.readouterr().out
    assert checks.check_early_stopping((None, 3), val_loss, patience=5) is None
    assert "runs to the end" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="does not stop after epoch 6: it stops once 2 epochs"):
        checks.check_early_stopping((6, 3), val_loss, patience=2)
    with pytest.raises(CheckFailed, match="not those of epoch 2.*count from 1"):
        checks.check_early_stopping((4, 2), val_loss, patience=2)  # counted from 0
    with pytest.raises(CheckFailed, match="runs to the end"):
        checks.check_early_stopping((6, 3), val_loss, patience=5)
    with pytest.raises(CheckFailed, match="not those of epoch 3"):  # accuracy: the highest value is the best
        checks.check_early_stopping((6, 3), [0.40, 0.52, 0.51, 0.55, 0.54, 0.53, 0.52], 2, mode="max")
    with pytest.raises(CheckFailed, match="give two numbers"):
        checks.check_early_stopping(5, val_loss, patience=2)
    with pytest.raises(ValueError, match="mode"):
        checks.check_early_stopping((5, 3), val_loss, patience=2, mode="lowest")
    not_answered(capsys, lambda: checks.check_early_stopping(None, val_loss, patience=2))


def test_check_early_stopping_hints():
    accuracy = [0.40, 0.52, 0.51, 0.55, 0.54, 0.53, 0.52]  # mode max, patience 2: stops after 6, keeps 4
    with pytest.raises(CheckFailed, match="For an accuracy, higher is better"):
        checks.check_early_stopping((3, 1), accuracy, patience=2, mode="max")  # replayed as a loss
    with pytest.raises(CheckFailed, match="Epoch 6 never runs"):
        checks.check_early_stopping((5, 6), [1.5, 1.4, 1.45, 1.5, 1.6, 1.0], patience=2)  # the best of all epochs
    with pytest.raises(CheckFailed, match="training does stop early"):
        checks.check_early_stopping((None, 3), VAL_LOSS, patience=2)
    with pytest.raises(CheckFailed, match="before the epoch whose weights it keeps"):
        checks.check_early_stopping((2, 3), VAL_LOSS, patience=2)
    with pytest.raises(CheckFailed, match="does not stop after epoch 4.*count from 1"):
        checks.check_early_stopping((4, 3), VAL_LOSS, patience=2)
    with pytest.raises(CheckFailed, match="there are only 6 epochs"):
        checks.check_early_stopping((7, 3), VAL_LOSS, patience=5)
    with pytest.raises(CheckFailed, match="There are 6 epochs, numbered 1 to 6"):
        checks.check_early_stopping((5, 9), VAL_LOSS, patience=2)


@pytest.mark.parametrize(
    "values, mode",
    [([0.40, 0.52, 0.51, 0.50], "max"), ([1.5, 1.2, 1.3, 1.25], "min")],  # patience 2 runs out after epoch 4 of 4
)
def test_check_early_stopping_after_the_last_epoch_accepts_none(capsys, values, mode):
    assert lesson03._early_stopping_replay(values, 2, mode) == (4, 2)
    for stop in (None, 4):  # stopping after the last epoch and running to the end are the same thing
        out = correct(capsys, lambda s=stop: checks.check_early_stopping((s, 2), values, patience=2, mode=mode))
        assert "the last epoch that was run" in out and "4 and None are both right" in out
    with pytest.raises(CheckFailed, match="not those of epoch 4"):
        checks.check_early_stopping((None, 4), values, patience=2, mode=mode)  # the best epoch is still checked
    with pytest.raises(CheckFailed, match="does not stop after epoch 3"):
        checks.check_early_stopping((3, 2), values, patience=2, mode=mode)
    with pytest.raises(CheckFailed, match="training does stop early"):  # stopping before the last epoch: None is wrong
        checks.check_early_stopping((None, 2), [*values, 0.1 if mode == "max" else 9.9], patience=2, mode=mode)
