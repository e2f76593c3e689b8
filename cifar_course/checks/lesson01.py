"""Checks for lesson 01, data exploration: shapes, scaled pixels, one-hot labels, a stratified split."""

from __future__ import annotations

import numpy as np

from ._core import CheckFailed, answered, ok


def check_shape(array, expected: tuple, name: str = "array") -> None:
    """The array has exactly this shape (lesson 01 exercises; again in lesson 05 §10)."""
    if not answered(array, name):
        return
    got = tuple(np.shape(array))
    if got != tuple(expected):
        raise CheckFailed(f"{name} has shape {got}, expected {tuple(expected)}.")
    ok(f"{name} has shape {got}.")


def check_scaled(x, name: str = "x") -> None:
    """Pixels are floats in [0, 1], not 0..255 and not scaled twice (lesson 01 exercises)."""
    if not answered(x, name):
        return
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise CheckFailed(f"{name} is {x.dtype}: convert to float32 before dividing by 255.")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 1:
        raise CheckFailed(f"{name} runs from {lo:.3g} to {hi:.3g}: divide the uint8 pixels by 255.")
    if hi < 0.05:
        raise CheckFailed(f"{name} tops out at {hi:.3g}: it looks divided by 255 twice.")
    ok(f"{name} is {x.dtype} in [{lo:.2f}, {hi:.2f}].")


def check_one_hot(y_one_hot, y_int, num_classes: int) -> None:
    """One-hot rows match the integer labels (lesson 01 exercises)."""
    if not answered(y_one_hot, "the one-hot labels"):
        return
    y_one_hot = np.asarray(y_one_hot)
    if y_one_hot.shape != (len(y_int), num_classes):
        raise CheckFailed(f"one-hot labels have shape {y_one_hot.shape}, expected {(len(y_int), num_classes)}.")
    if not np.all(y_one_hot.sum(axis=1) == 1) or not np.array_equal(y_one_hot.argmax(axis=1), np.asarray(y_int)):
        raise CheckFailed("each row must hold a single 1, at the position of that image's integer label.")
    ok(f"{len(y_int)} labels one-hot encoded into {num_classes} columns.")


def check_all_classes_present(y, num_classes: int, name: str = "labels") -> None:
    """Every class appears at least once, e.g. in a validation split (lesson 01 §7)."""
    if not answered(y, name):
        return
    y = np.asarray(y)
    y = y.argmax(axis=1) if y.ndim == 2 else y
    missing = sorted(set(range(num_classes)) - set(np.unique(y).tolist()))
    if missing:
        raise CheckFailed(f"{name} lacks classes {missing}: split with stratification (split_validation).")
    ok(f"all {num_classes} classes appear in {name}.")
