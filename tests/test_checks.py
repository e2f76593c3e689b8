"""The exercise checks: right answers pass, wrong answers fail with a useful message, None means "not answered yet"."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from cifar_course import checks
from cifar_course.checks import CheckFailed


def tiny_model(units: int = 3, input_shape=(4, 4, 1)) -> keras.Model:
    """Flatten + Dense: (16 + 1) * units parameters."""
    return keras.Sequential([keras.Input(shape=input_shape), keras.layers.Flatten(), keras.layers.Dense(units)],
                            name="tiny")


def not_answered(capsys, call) -> None:
    assert call() is False
    assert "Not answered yet" in capsys.readouterr().out


# --------------------------------------------------------------------------- check_shape
def test_check_shape(capsys):
    assert checks.check_shape(np.zeros((2, 3, 1)), (2, 3, 1), "x") is True
    assert "Correct" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match=r"shape \(2, 3\), expected \(2, 3, 1\)"):
        checks.check_shape(np.zeros((2, 3)), (2, 3, 1), "x")
    not_answered(capsys, lambda: checks.check_shape(None, (2, 3)))


# --------------------------------------------------------------------------- check_scaled
def test_check_scaled(capsys):
    x = np.array([[0, 128, 255]], dtype=np.uint8)
    assert checks.check_scaled(x.astype(np.float32) / 255) is True
    with pytest.raises(CheckFailed, match="float32"):
        checks.check_scaled(x)  # still uint8
    with pytest.raises(CheckFailed, match="divide the uint8 pixels by 255"):
        checks.check_scaled(x.astype(np.float32))  # float but not divided
    with pytest.raises(CheckFailed, match="twice"):
        checks.check_scaled(x.astype(np.float32) / 255 / 255)
    with pytest.raises(CheckFailed, match="runs from -1"):
        checks.check_scaled(x.astype(np.float32) / 127.5 - 1)  # [-1, 1] is another scaling, not this one
    not_answered(capsys, lambda: checks.check_scaled(None))


# --------------------------------------------------------------------------- check_one_hot
def test_check_one_hot(capsys):
    y = np.array([2, 0, 1])
    assert checks.check_one_hot(np.eye(3)[y], y, 3) is True
    with pytest.raises(CheckFailed, match=r"shape \(3, 4\)"):
        checks.check_one_hot(np.eye(4)[y], y, 3)  # one column too many
    with pytest.raises(CheckFailed, match="single 1"):
        checks.check_one_hot(np.eye(3)[[0, 1, 2]], y, 3)  # right shape, wrong positions
    with pytest.raises(CheckFailed, match="single 1"):
        checks.check_one_hot(np.ones((3, 3)), y, 3)
    not_answered(capsys, lambda: checks.check_one_hot(None, y, 3))


# --------------------------------------------------------------------------- check_param_count
def test_check_param_count(capsys):
    model = tiny_model(3)  # (16 + 1) * 3 = 51
    assert checks.check_param_count(model, 51) is True
    assert "51 parameters" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="more than the expected 50"):
        checks.check_param_count(model, 50)
    with pytest.raises(CheckFailed, match="fewer than the expected 1,000"):
        checks.check_param_count(model, 1000)
    not_answered(capsys, lambda: checks.check_param_count(None, 51))


# --------------------------------------------------------------------------- check_output_shape
def test_check_output_shape(capsys):
    model = tiny_model(10)
    assert checks.check_output_shape(model, (4, 4, 1), 10) is True
    with pytest.raises(CheckFailed, match="takes inputs of shape"):
        checks.check_output_shape(model, (4, 4, 3), 10)
    with pytest.raises(CheckFailed, match="one unit per class"):
        checks.check_output_shape(model, (4, 4, 1), 100)
    not_answered(capsys, lambda: checks.check_output_shape(None, (4, 4, 1), 10))


# --------------------------------------------------------------------------- check_accuracy_at_least
def test_check_accuracy_at_least(capsys):
    assert checks.check_accuracy_at_least(0.5, 0.1) is True
    assert checks.check_accuracy_at_least(np.float32(0.1), 0.1) is True  # the boundary passes
    with pytest.raises(CheckFailed, match="0.050, below 0.100"):
        checks.check_accuracy_at_least(0.05, 0.1, "test accuracy")
    not_answered(capsys, lambda: checks.check_accuracy_at_least(None, 0.1))


# --------------------------------------------------------------------------- check_value
def test_check_value(capsys):
    assert checks.check_value(896, 896, "conv1_params") is True
    assert checks.check_value(1 / 0.75, 4 / 3, "kept value", tol=1e-3) is True
    assert checks.check_value(1.333, 4 / 3, "kept value", tol=1e-3) is True
    with pytest.raises(CheckFailed, match="conv1_params is 864, expected 896"):
        checks.check_value(864, 896, "conv1_params")  # forgot the biases
    with pytest.raises(CheckFailed):
        checks.check_value([1, 2], [1, 2, 3])  # shapes differ
    not_answered(capsys, lambda: checks.check_value(None, 896))


# --------------------------------------------------------------------------- check_all_classes_present
def test_check_all_classes_present(capsys):
    y = np.array([0, 1, 2, 2])
    assert checks.check_all_classes_present(y, 3) is True
    assert checks.check_all_classes_present(np.eye(3)[y], 3) is True  # one-hot works too
    with pytest.raises(CheckFailed, match=r"lacks classes \[1\]"):
        checks.check_all_classes_present(np.array([0, 2, 2]), 3)
    with pytest.raises(CheckFailed, match=r"lacks classes \[0, 1\]"):
        checks.check_all_classes_present(np.array([2, 2, 2]), 3, "validation labels")  # a sorted split
    not_answered(capsys, lambda: checks.check_all_classes_present(None, 3))


# --------------------------------------------------------------------------- check_early_stopping
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
    assert checks._early_stopping_replay(values, patience, mode) == keras_early_stopping(values, patience, mode)


def test_check_early_stopping(capsys):
    val_loss = [1.55, 1.42, 1.40, 1.47, 1.65, 1.99]
    assert checks.check_early_stopping((5, 3), val_loss, patience=2) is True
    assert "stops after epoch 5" in capsys.readouterr().out
    assert checks.check_early_stopping((None, 3), val_loss, patience=5) is True
    assert "runs to the end" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="stops after epoch 5, not 6"):
        checks.check_early_stopping((6, 3), val_loss, patience=2)
    with pytest.raises(CheckFailed, match="epoch 3, not 2.*count from 1"):
        checks.check_early_stopping((4, 2), val_loss, patience=2)  # counted from 0
    with pytest.raises(CheckFailed, match="run to the end"):
        checks.check_early_stopping((6, 3), val_loss, patience=5)
    with pytest.raises(CheckFailed, match="epoch 4, not 3"):  # accuracy: the highest value is the best
        checks.check_early_stopping((6, 3), [0.40, 0.52, 0.51, 0.55, 0.54, 0.53, 0.52], 2, mode="max")
    with pytest.raises(CheckFailed, match="give two numbers"):
        checks.check_early_stopping(5, val_loss, patience=2)
    with pytest.raises(ValueError, match="mode"):
        checks.check_early_stopping((5, 3), val_loss, patience=2, mode="lowest")
    not_answered(capsys, lambda: checks.check_early_stopping(None, val_loss, patience=2))



# --------------------------------------------------------------------------- check_conv_params
def test_check_conv_params_agrees_with_keras(capsys):
    layer = keras.layers.Conv2D(16, 5)
    layer.build((None, 32, 32, 3))
    assert checks.check_conv_params(layer.count_params(), 5, 3, 16) is True
    assert "1,216 parameters" in capsys.readouterr().out


def test_check_conv_params_wrong(capsys):
    with pytest.raises(CheckFailed, match="not the biases"):
        checks.check_conv_params(5 * 5 * 3 * 16, 5, 3, 16)
    with pytest.raises(CheckFailed, match="every one of the 3 input channels"):
        checks.check_conv_params((5 * 5 + 1) * 16, 5, 3, 16)
    with pytest.raises(CheckFailed, match="height and width do not matter"):
        checks.check_conv_params(28 * 28 * 16, 5, 3, 16)
    not_answered(capsys, lambda: checks.check_conv_params(None, 5, 3, 16))


# --------------------------------------------------------------------------- check_dense_params
def test_check_dense_params_agrees_with_keras(capsys):
    layer = keras.layers.Dense(256)
    layer.build((None, 16 * 16 * 32))
    assert checks.check_dense_params(layer.count_params(), 16 * 16 * 32, 256) is True
    assert "2,097,408 parameters" in capsys.readouterr().out


def test_check_dense_params_wrong(capsys):
    with pytest.raises(CheckFailed, match="not the biases"):
        checks.check_dense_params(8192 * 256, 8192, 256)
    with pytest.raises(CheckFailed, match="before pooling"):
        checks.check_dense_params((32 * 32 * 32 + 1) * 256, 8192, 256)
    with pytest.raises(CheckFailed, match=r"\(inputs \+ 1\) x units"):
        checks.check_dense_params(12345, 8192, 256)
    not_answered(capsys, lambda: checks.check_dense_params(None, 8192, 256))
