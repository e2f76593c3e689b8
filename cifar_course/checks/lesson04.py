"""Checks for lesson 04, the deeper CNN: the best epoch of a training history."""

from __future__ import annotations

import numpy as np

from ._core import CheckFailed, answered, is_number, ok, plain, whole_number


def check_best_epoch(epoch, history, key: str = "val_accuracy") -> None:
    """The epoch, counted from 1 as Keras prints them, with the best value of ``key`` in a training history
    (lesson 04 §4)."""
    if not answered(epoch, "best_epoch"):
        return
    hist = getattr(history, "history", history)
    values = [float(v) for v in hist[key]]
    higher_is_better = "acc" in key
    best_value = max(values) if higher_is_better else min(values)
    what = key.replace("val_", "validation ").replace("_", " ")
    if is_number(epoch) and not float(plain(epoch)).is_integer():  # a value from the history, not an epoch?
        if np.isclose(epoch, best_value, rtol=0, atol=5e-4):
            raise CheckFailed(f"{epoch} is the best {what} itself; the answer is the epoch number (1, 2, ...).")
        if np.any(np.isclose(epoch, values, rtol=0, atol=5e-4)):
            raise CheckFailed(f"{epoch} is one of the {what} values; the answer is an epoch number (1, 2, ...).")
    epoch = whole_number(epoch, "best_epoch")
    best_epochs = [i + 1 for i, v in enumerate(values) if v == best_value]
    if epoch in best_epochs:
        return ok(f"epoch {epoch} has the best {what}, {best_value:.4f}.")
    if epoch + 1 in best_epochs:
        raise CheckFailed(
            "Keras counts epochs from 1 in its log (Epoch 1/...), but a position in a Python list or numpy "
            "array counts from 0: the epoch number is the position + 1."
        )
    if not 1 <= epoch <= len(values):
        raise CheckFailed(f"there are {len(values)} epochs, numbered 1 to {len(values)}: {epoch} is not one of them.")
    train_key = key.replace("val_", "")
    if train_key != key and train_key in hist:
        train = [float(v) for v in hist[train_key]]
        if int(np.argmax(train) if higher_is_better else np.argmin(train)) + 1 == epoch:
            raise CheckFailed(f"epoch {epoch} is best on the training data ({train_key}); look at {key} instead.")
    worst_value = min(values) if higher_is_better else max(values)
    if values[epoch - 1] == worst_value:
        better = "higher" if higher_is_better else "lower"
        raise CheckFailed(f"epoch {epoch} has the worst {what}: for {what}, {better} is better.")
    best = "highest" if higher_is_better else "lowest"
    raise CheckFailed(
        f"epoch {epoch} is not the best: its {what} is {values[epoch - 1]:.4f}, and another epoch does better. "
        f"Find the {best} value in history.history[{key!r}] and its epoch number (counted from 1)."
    )
