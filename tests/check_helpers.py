"""What the check tests share: a check's two verdicts, and two tiny models to check."""

from __future__ import annotations

import keras


def correct(capsys, call) -> str:
    """The check passes: it returns None (no stray True under the message) and prints "Correct: ..."."""
    assert call() is None
    out = capsys.readouterr().out
    assert out.startswith("Correct: ") and "True" not in out
    return out


def not_answered(capsys, call) -> None:
    assert call() is None
    assert "Not answered yet" in capsys.readouterr().out


def tiny_model(units: int = 3, input_shape=(4, 4, 1)) -> keras.Model:
    """Flatten + Dense: (16 + 1) * units parameters."""
    return keras.Sequential(
        [keras.Input(shape=input_shape), keras.layers.Flatten(), keras.layers.Dense(units)], name="tiny"
    )


def softmax_model(units: int = 10, **dense) -> keras.Model:
    return keras.Sequential(
        [keras.Input(shape=(4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(units, **dense)], name="small"
    )


SMALL = {"params": 170, "input_shape": (4, 4, 1), "num_classes": 10}  # what softmax_model() has and does
