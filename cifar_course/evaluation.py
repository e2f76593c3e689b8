"""Measuring a trained classifier: confusion, per-class accuracy, calibration."""
from __future__ import annotations

import numpy as np


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Counts: row = actual class, column = predicted class."""
    from sklearn.metrics import confusion_matrix as sk_confusion

    return sk_confusion(y_true, y_pred, labels=np.arange(num_classes))


def per_class_accuracy(matrix) -> np.ndarray:
    """Fraction of each actual class predicted correctly (the recall of each class)."""
    matrix = np.asarray(matrix, dtype=float)
    return np.diag(matrix) / np.maximum(matrix.sum(axis=1), 1)


def most_confused_pairs(matrix, class_names, top: int = 5) -> list[tuple[str, str, int]]:
    """The (actual, predicted, count) pairs with the most mistakes, largest first."""
    off = np.array(matrix, copy=True)
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:top]
    pairs = [np.unravel_index(i, off.shape) for i in order]
    return [(class_names[a], class_names[p], int(off[a, p])) for a, p in pairs if off[a, p] > 0]


def reliability_bins(probabilities, y_true, n_bins: int = 10):
    """Per confidence bin: mean confidence, accuracy and count; plus the expected calibration error."""
    probabilities = np.asarray(probabilities)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(y_true)
    edges = np.linspace(0, 1, n_bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    conf = np.bincount(which, weights=confidence, minlength=n_bins) / np.maximum(count, 1)
    acc = np.bincount(which, weights=correct, minlength=n_bins) / np.maximum(count, 1)
    ece = float(np.sum(count * np.abs(acc - conf)) / max(len(confidence), 1))
    return conf, acc, count, ece


def most_confident_mistakes(probabilities, y_true, top: int = 12) -> np.ndarray:
    """Indices of the wrong predictions made with the highest probability."""
    probabilities = np.asarray(probabilities)
    pred = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(pred != np.asarray(y_true))
    return wrong[np.argsort(probabilities[wrong, pred[wrong]])[::-1][:top]]
