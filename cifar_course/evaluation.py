"""Measuring a trained classifier: probabilities, confusion, per-class accuracy, calibration, comparing runs."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .config import ConfigError


def predict_probabilities(model, x, batch_size: int = 256) -> np.ndarray:
    """Class probabilities for ``x``; a softmax is applied when the model outputs logits (as R1 does)."""
    from scipy.special import softmax

    out = np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)
    if out.min() < 0 or not np.allclose(out.sum(axis=1), 1.0, atol=1e-3):
        out = softmax(out, axis=1)
    return out


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
    order = np.argsort(-off.astype(float), axis=None, kind="stable")[:top]  # ties: row-major order
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
    return wrong[np.argsort(-probabilities[wrong, pred[wrong]], kind="stable")[:top]]


# --------------------------------------------------------------------------- comparing saved runs
def reference_key(model_name: str) -> str | None:
    """The reference model a run reproduces ('M3_deeper_cnn' -> 'M3'), or None."""
    from .reference import reference_for

    ref = reference_for(str(model_name))
    return ref["model"] if ref else None


def runs_table(runs: list[dict]):
    """One row per saved run: lesson, model, profile, data, parameters, epochs, training time, accuracies."""
    import pandas as pd

    rows = [{
        "run": Path(r["run"]).name, "lesson": r.get("lesson"), "model": r.get("model"), "profile": r.get("profile"),
        "data": "synthetic" if r.get("synthetic_data") else r.get("dataset"), "params": r.get("params"),
        "epochs": r.get("epochs"),
        "train_seconds": round(float(r.get("train_seconds") or 0) + float(r.get("feature_seconds") or 0), 1),
        "val_accuracy": r.get("val_accuracy"), "test_accuracy": r.get("test_accuracy"),
    } for r in runs]
    return pd.DataFrame(rows, columns=["run", "lesson", "model", "profile", "data", "params", "epochs",
                                       "train_seconds", "val_accuracy", "test_accuracy"])


def find_run(runs: list[dict], name: str) -> dict:
    """The saved run whose folder (or folder name) is ``name``; a clear error lists the choices otherwise."""
    for r in runs:
        if name in (r["run"], Path(r["run"]).name):
            return r
    choices = "\n  ".join(Path(r["run"]).name for r in runs) or "(none saved yet)"
    raise ConfigError(f"No saved run called {name!r}. Saved runs:\n  {choices}")


def best_run(runs: list[dict], *, lesson: str = "05", dataset: str = "cifar10", synthetic: bool = False,
             profile: str | None = None) -> dict | None:
    """The most accurate run on this kind of data, preferring ``lesson`` and ``profile``; None if there is none."""
    same_data = [r for r in runs if r.get("dataset") == dataset and bool(r.get("synthetic_data")) == synthetic]
    tiers = ([r for r in same_data if r.get("lesson") == lesson and r.get("profile") == profile],
             [r for r in same_data if r.get("lesson") == lesson],
             [r for r in same_data if r.get("profile") == profile], same_data)
    found = next((tier for tier in tiers if tier), [])
    return max(found, key=lambda r: r.get("test_accuracy") or 0.0) if found else None


def comparison_table(runs: list[dict], profile: str | None = None, dataset: str = "cifar10", synthetic: bool = False):
    """Per reference model (then lesson 07's): the course's latest run (size, time, test accuracy) beside the references."""
    import pandas as pd

    from .reference import COURSE_MODELS, REFERENCE

    own = {m["model"] for m in COURSE_MODELS}
    latest = {}
    for r in runs:  # runs come oldest first, so later ones win
        key = reference_key(r.get("model", "")) or (r.get("model") if r.get("model") in own else None)
        if (key and r.get("dataset") == dataset and bool(r.get("synthetic_data")) == synthetic
                and (profile is None or r.get("profile") == profile)):
            latest[key] = r
    rows = []
    for ref in REFERENCE + COURSE_MODELS:
        mine = latest.get(ref["model"], {})
        seconds = (mine.get("train_seconds") or 0) + (mine.get("feature_seconds") or 0) if mine else None
        rows.append({"model": ref["model"], "lesson": ref["lesson"], "params": mine.get("params"),
                     "epochs": mine.get("epochs"), "train_seconds": seconds,
                     "reference epochs": ref["epochs"], "reference seconds": ref["measured_seconds"],
                     "this course": mine.get("test_accuracy"),
                     "reference code, JPEG copy": ref["measured_jpeg_test"],
                     "tutorial (reported)": ref["reported_test"] or ref["reported_val"]})
    return pd.DataFrame(rows).set_index("model")
