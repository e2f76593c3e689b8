"""The exercise checks: right answers pass, wrong answers fail with a useful message, None means "not answered yet"."""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest

from cifar_course import checks
from cifar_course.checks import CheckFailed


def tiny_model(units: int = 3, input_shape=(4, 4, 1)) -> keras.Model:
    """Flatten + Dense: (16 + 1) * units parameters."""
    return keras.Sequential(
        [keras.Input(shape=input_shape), keras.layers.Flatten(), keras.layers.Dense(units)], name="tiny"
    )


def not_answered(capsys, call) -> None:
    assert call() is None
    assert "Not answered yet" in capsys.readouterr().out


# --------------------------------------------------------------------------- check_shape
def test_check_shape(capsys):
    assert checks.check_shape(np.zeros((2, 3, 1)), (2, 3, 1), "x") is None
    assert "Correct" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match=r"shape \(2, 3\), expected \(2, 3, 1\)"):
        checks.check_shape(np.zeros((2, 3)), (2, 3, 1), "x")
    not_answered(capsys, lambda: checks.check_shape(None, (2, 3)))


# --------------------------------------------------------------------------- check_scaled
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


# --------------------------------------------------------------------------- check_one_hot
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


# --------------------------------------------------------------------------- check_param_count
def test_check_param_count(capsys):
    model = tiny_model(3)  # (16 + 1) * 3 = 51
    assert checks.check_param_count(model, 51) is None
    assert "51 parameters" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="more than the expected 50"):
        checks.check_param_count(model, 50)
    with pytest.raises(CheckFailed, match="fewer than the expected 1,000"):
        checks.check_param_count(model, 1000)
    not_answered(capsys, lambda: checks.check_param_count(None, 51))


# --------------------------------------------------------------------------- check_output_shape
def test_check_output_shape(capsys):
    model = tiny_model(10)
    assert checks.check_output_shape(model, (4, 4, 1), 10) is None
    with pytest.raises(CheckFailed, match="takes inputs of shape"):
        checks.check_output_shape(model, (4, 4, 3), 10)
    with pytest.raises(CheckFailed, match="one unit per class"):
        checks.check_output_shape(model, (4, 4, 1), 100)
    not_answered(capsys, lambda: checks.check_output_shape(None, (4, 4, 1), 10))


# --------------------------------------------------------------------------- check_accuracy_at_least
def test_check_accuracy_at_least(capsys):
    assert checks.check_accuracy_at_least(0.5, 0.1) is None
    assert checks.check_accuracy_at_least(np.float32(0.1), 0.1) is None  # the boundary passes
    with pytest.raises(CheckFailed, match="0.050, below 0.100"):
        checks.check_accuracy_at_least(0.05, 0.1, "test accuracy")
    not_answered(capsys, lambda: checks.check_accuracy_at_least(None, 0.1))


# --------------------------------------------------------------------------- check_value
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


# --------------------------------------------------------------------------- check_all_classes_present
def test_check_all_classes_present(capsys):
    y = np.array([0, 1, 2, 2])
    assert checks.check_all_classes_present(y, 3) is None
    assert checks.check_all_classes_present(np.eye(3)[y], 3) is None  # one-hot works too
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


# --------------------------------------------------------------------------- check_conv_params
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


# --------------------------------------------------------------------------- check_dense_params
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


# --------------------------------------------------------------------------- every check returns None
def correct(capsys, call) -> str:
    """The check passes: it returns None (no stray True under the message) and prints "Correct: ..."."""
    assert call() is None
    out = capsys.readouterr().out
    assert out.startswith("Correct: ") and "True" not in out
    return out


def softmax_model(units: int = 10, **dense) -> keras.Model:
    return keras.Sequential(
        [keras.Input(shape=(4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(units, **dense)], name="small"
    )


SMALL = {"params": 170, "input_shape": (4, 4, 1), "num_classes": 10}  # what softmax_model() has and does


HISTORY = {  # val_accuracy is best at epoch 3 (0.7412); accuracy (training) keeps rising
    "accuracy": [0.50, 0.62, 0.70, 0.78, 0.85],
    "val_accuracy": [0.5521, 0.6603, 0.7412, 0.7288, 0.7105],
    "loss": [1.4, 1.1, 0.9, 0.7, 0.5],
    "val_loss": [1.3, 1.0, 0.8, 0.85, 0.9],
}


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


# --------------------------------------------------------------------------- check_model
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


# --------------------------------------------------------------------------- wrong types: a clear message
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


def test_check_value_asks_for_a_number():
    with pytest.raises(CheckFailed, match=re.escape("kept_value: give a number, not '1.33' (a str)")):
        checks.check_value("1.33", 4 / 3, "kept_value", tol=5e-3)
    with pytest.raises(CheckFailed, match="give one number, not"):
        checks.check_value([4 / 3], 4 / 3, "kept_value", tol=5e-3)
    with pytest.raises(CheckFailed, match="NaN"):
        checks.check_value(float("nan"), 4 / 3, "kept_value")
    with pytest.raises(CheckFailed, match="peak_step: give a whole number"):
        checks.check_value(78.2, 78, "peak_step")  # 0.2 * total_steps, not rounded


# --------------------------------------------------------------------------- impossible accuracies
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


# --------------------------------------------------------------------------- check_best_epoch
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


# --------------------------------------------------------------------------- no answer on failure
VAL_LOSS = [1.55, 1.42, 1.40, 1.47, 1.65, 1.99]  # patience 2: stops after epoch 5, keeps epoch 3


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


def test_check_value_biases_hint_and_direction():
    with pytest.raises(CheckFailed, match="block3_params = 1,474,560 counts the weights but not the biases"):
        checks.check_value(3 * 3 * 128 * 256 + 2 * 3 * 3 * 256 * 256, 1_475_328, "block3_params", biases=3 * 256)
    with pytest.raises(CheckFailed, match="too large"):
        checks.check_value(1_476_000, 1_475_328, "block3_params", biases=768)
    with pytest.raises(CheckFailed, match="close, but not within"):
        checks.check_value(1.33, 4 / 3, "kept_value", tol=1e-3)
    with pytest.raises(CheckFailed, match="at 1 of 3 positions"):
        checks.check_value([1, 2, 4], [1, 2, 3])


# --------------------------------------------------------------------------- check_early_stopping: the hints
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
    assert checks._early_stopping_replay(values, 2, mode) == (4, 2)
    for stop in (None, 4):  # stopping after the last epoch and running to the end are the same thing
        out = correct(capsys, lambda s=stop: checks.check_early_stopping((s, 2), values, patience=2, mode=mode))
        assert "the last epoch that was run" in out and "4 and None are both right" in out
    with pytest.raises(CheckFailed, match="not those of epoch 4"):
        checks.check_early_stopping((None, 4), values, patience=2, mode=mode)  # the best epoch is still checked
    with pytest.raises(CheckFailed, match="does not stop after epoch 3"):
        checks.check_early_stopping((3, 2), values, patience=2, mode=mode)
    with pytest.raises(CheckFailed, match="training does stop early"):  # stopping before the last epoch: None is wrong
        checks.check_early_stopping((None, 2), [*values, 0.1 if mode == "max" else 9.9], patience=2, mode=mode)


# --------------------------------------------------------------------------- check_confusion_matrix: not counts
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


def test_check_layer_params_counts_layers_and_hints_at_biases(capsys):
    import keras

    convs = [keras.layers.Conv2D(8, 3), keras.layers.Conv2D(4, 3)]
    convs[0].build((None, 10, 10, 3))
    convs[1].build((None, 8, 8, 8))
    total = (27 + 1) * 8 + (72 + 1) * 4
    checks.check_layer_params(total, convs)
    assert "Correct: 2 layers hold 516 parameters" in capsys.readouterr().out
    with pytest.raises(checks.CheckFailed, match="not the biases"):
        checks.check_layer_params(total - 12, convs)
    with pytest.raises(checks.CheckFailed, match="one layer's count"):
        checks.check_layer_params(224, convs)
    with pytest.raises(checks.CheckFailed, match="is not it") as err:
        checks.check_layer_params(999, convs)
    assert "516" not in str(err.value)
    with pytest.raises(checks.CheckFailed, match="whole number"):
        checks.check_layer_params("516", convs)


def test_check_schedule_reading_reads_the_schedule_itself(capsys):
    import keras

    schedule = keras.optimizers.schedules.CosineDecay(0.0, 80, alpha=0.0, warmup_target=0.004, warmup_steps=20)
    checks.check_schedule_reading(20, 0.002, schedule)
    assert "Correct:" in capsys.readouterr().out
    for peak_step, lr, hint in [
        (21, 0.002, "count from 0"),
        (10, 0.002, "20% of all steps"),
        (20, 0.004, "the peak itself"),
        (20, 0.001, "which fraction"),
    ]:
        with pytest.raises(checks.CheckFailed, match=hint) as err:
            checks.check_schedule_reading(peak_step, lr, schedule)
        assert "0.002" not in str(err.value) and "step 20" not in str(err.value)
    with pytest.raises(checks.CheckFailed, match="whole number"):
        checks.check_schedule_reading("20", 0.002, schedule)
