"""Measuring a trained classifier: probabilities, confusion, per-class accuracy, calibration, comparing runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .arrays import as_probabilities, model_images
from .config import ConfigError
from .data import DATASETS


def predict_probabilities(model, x, batch_size: int = 256) -> np.ndarray:
    """Class probabilities for ``x``; a softmax is applied when the model outputs logits (as R1 does)."""
    return as_probabilities(model.predict(model_images(model, x), batch_size=batch_size, verbose=0))


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


def is_synthetic(run: dict) -> bool:
    """True when a run trained on the synthetic smoke-test stand-in (its numbers mean nothing)."""
    return bool(run.get("synthetic_data")) or str(run.get("data_source", "")).startswith("SYNTHETIC")


def weights_kind(run: dict) -> str:
    """Lesson 05's pretrained weights: 'ImageNet', 'random' (a smoke-test fallback), '' for models without them."""
    weights = str(run.get("weights") or "")
    if weights.lower().startswith("random"):
        return "random"
    return "ImageNet" if "imagenet" in weights.lower() else weights


def own_data(run: dict) -> bool:
    """True when a run's class names are not its data set's usual ones (e.g. your own photos saved as 'cifar10')."""
    names = run.get("class_names")  # runs saved before class names were recorded have none: not known
    usual = DATASETS[run["dataset"]].class_names if run.get("dataset") in DATASETS else None
    return bool(names and usual) and not is_synthetic(run) and list(names) != usual


def data_label(run: dict) -> str:
    """What a run trained on: 'synthetic', 'own data, 2 classes', or the data set's name ('cifar10')."""
    if is_synthetic(run):
        return "synthetic"
    if own_data(run):
        return f"own data, {len(run['class_names'])} classes"
    return str(run.get("dataset") or "?")


def source_kind(run: dict) -> str:
    """Where a run's images came from, without the path: 'JPEG image folder', 'official archive', 'download', ..."""
    source = str(run.get("data_source") or "")
    if is_synthetic(run):
        return "synthetic stand-in"
    if source.startswith("download"):
        return "download"
    words = []
    for word in source.split():
        if "/" in word or "\\" in word:  # the path starts here
            break
        words.append(word)
    return " ".join(words) or "?"


def describe_run(run: dict) -> str:
    """A run in words: 'lesson 05, M4_transfer, quick, cifar10 (JPEG image folder), ImageNet weights, test 50.5%'."""
    parts = [
        f"lesson {run.get('lesson')}",
        str(run.get("model")),
        str(run.get("profile")),
        "SYNTHETIC stand-in data" if is_synthetic(run) else f"{data_label(run)} ({source_kind(run)})",
    ]
    weights = weights_kind(run)
    if weights:
        parts.append(f"{'RANDOM' if weights == 'random' else weights} weights")
    if run.get("test_accuracy") is not None:
        tta = run.get("tta") if run.get("tta") not in (None, "none") else None  # lesson 07: test-time augmentation
        parts.append(f"test {100 * float(run['test_accuracy']):.1f}%" + (f" ({tta} TTA)" if tta else ""))
    return ", ".join(parts)


def on_cifar10(run: dict) -> bool:
    """True for runs on real CIFAR-10: data set 'cifar10', not synthetic, its 10 class names where recorded."""
    return run.get("dataset") == "cifar10" and not is_synthetic(run) and not own_data(run)


def why_not_comparable(run: dict) -> list[str]:
    """Why a run may not stand beside the CIFAR-10 reference numbers (an empty list: it may)."""
    reasons = []
    if is_synthetic(run):
        reasons.append("synthetic data")
    elif run.get("dataset") != "cifar10":
        reasons.append(f"trained on {run.get('dataset') or 'unknown data'}, not CIFAR-10")
    elif own_data(run):
        reasons.append(f"own data ({len(run['class_names'])} classes), not CIFAR-10's 10 classes")
    if weights_kind(run) == "random":
        reasons.append("RANDOM weights, not ImageNet")
    return reasons


def comparable_with_reference(run: dict) -> bool:
    """True for runs on real CIFAR-10 (its 10 classes) without RANDOM weights: like the reference numbers."""
    return not why_not_comparable(run)


def other_runs(runs: list[dict]) -> list[dict]:
    """The runs that may not stand beside the reference numbers (other data, synthetic data, RANDOM weights)."""
    return [r for r in runs if not comparable_with_reference(r)]


def runs_table(runs: list[dict]):
    """One row per saved run: lesson, model, profile, data, weights, parameters, epochs, training time, accuracies."""
    import pandas as pd

    rows = [
        {
            "run": Path(r["run"]).name,
            "lesson": r.get("lesson"),
            "model": r.get("model"),
            "profile": r.get("profile"),
            "data": data_label(r),
            "weights": weights_kind(r),
            "params": r.get("params"),
            "epochs": r.get("epochs"),
            "train_seconds": round(float(r.get("train_seconds") or 0) + float(r.get("feature_seconds") or 0), 1),
            "val_accuracy": r.get("val_accuracy"),
            "test_accuracy": r.get("test_accuracy"),
        }
        for r in runs
    ]
    columns = "run lesson model profile data weights params epochs train_seconds val_accuracy test_accuracy"
    return pd.DataFrame(rows, columns=columns.split())  # the columns even when there is no run yet


def find_run(runs: list[dict], name: str) -> dict:
    """The saved run whose folder (or folder name) is ``name``; a clear error lists the choices otherwise."""
    for r in runs:
        if name in (r["run"], Path(r["run"]).name):
            return r
    choices = "\n  ".join(Path(r["run"]).name for r in runs) or "(none saved yet)"
    raise ConfigError(f"No saved run called {name!r}. Saved runs:\n  {choices}")


def skip_reasons(
    run: dict,
    *,
    dataset: str = "cifar10",
    synthetic: bool = False,
    profile: str | None = None,
    class_names: list[str] | None = None,
) -> list[str]:
    """Why ``best_run`` (same arguments) leaves this run out; an empty list: the run is eligible."""
    reasons = []
    if run.get("dataset") != dataset:
        reasons.append(f"trained on {run.get('dataset') or 'unknown data'}, not {dataset}")
    if class_names is None and not synthetic and dataset in DATASETS:
        class_names = DATASETS[dataset].class_names  # the data set's usual classes (None: not known)
    names = run.get("class_names")  # None in runs saved before class names were recorded
    same_name = run.get("dataset") == dataset and not is_synthetic(run)
    if same_name and names and class_names and list(names) != list(class_names):
        reasons.append(f"other classes ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})")
    if is_synthetic(run) and (not synthetic or profile != "smoke"):
        reasons.append("synthetic data")
    if synthetic and not is_synthetic(run):
        reasons.append("real data, but the data now is synthetic")
    if profile != "smoke" and run.get("profile") == "smoke":
        reasons.append("smoke profile")
    if profile != "smoke" and weights_kind(run) == "random":
        reasons.append("RANDOM weights")
    return reasons


def best_run(
    runs: list[dict],
    *,
    lesson: str = "05",
    dataset: str = "cifar10",
    synthetic: bool = False,
    profile: str | None = None,
    class_names: list[str] | None = None,
) -> dict | None:
    """The saved run to analyse: the best eligible one, preferring this profile and ``lesson``; None if there is none.

    Eligible are only runs trained on the same data as now: the same data set name, synthetic or real like now,
    and the same class names (``class_names``, by default the data set's usual ones) where the run recorded them,
    so never a model of your own photos saved as "cifar10". Outside the ``smoke`` profile (``profile`` is not
    "smoke") also never a run of the smoke profile, on synthetic data, or with RANDOM weights instead of ImageNet's.
    Among the eligible runs, the first group that is not empty wins, and in it the highest test accuracy:

    1. runs of the current ``profile`` from ``lesson``
    2. runs of the current ``profile`` from other lessons
    3. runs of other profiles from ``lesson``
    4. runs of other profiles from other lessons

    Before all of these come the runs whose folder still holds its model (model.keras): a run without one is chosen
    only when no eligible run has one. ``skip_reasons(run, ...)`` (same arguments) says why a run is not eligible;
    ``describe_run(run)`` describes one.
    """
    eligible = [
        r
        for r in runs
        if not skip_reasons(r, dataset=dataset, synthetic=synthetic, profile=profile, class_names=class_names)
    ]
    return max(
        eligible,
        default=None,
        key=lambda r: (
            has_model(r),
            r.get("profile") == profile,
            r.get("lesson") == lesson,
            r.get("test_accuracy") or 0.0,
        ),
    )


def has_model(run: dict) -> bool:
    """True when the run's folder holds its trained model (model.keras), so cc.load_model can load it."""
    return bool(run.get("run")) and (Path(run["run"]) / "model.keras").is_file()


def comparison_table(runs: list[dict], profile: str | None = None, dataset: str = "cifar10", synthetic: bool = False):
    """Per reference model (then lesson 07's): the latest comparable run (size, time, accuracy) beside the references.

    The references are CIFAR-10 numbers, so only runs on real CIFAR-10 without RANDOM weights stand beside them
    (``comparable_with_reference``); with synthetic data or another data set the course's columns stay empty.
    ``other_runs(runs)`` lists the runs left out.
    """
    import pandas as pd

    from .reference import COURSE_MODELS, REFERENCE

    own = {m["model"] for m in COURSE_MODELS}
    latest = {}
    for r in runs:  # runs come oldest first, so later ones win
        key = reference_key(r.get("model", "")) or (r.get("model") if r.get("model") in own else None)
        if (
            key
            and dataset == "cifar10"
            and not synthetic
            and comparable_with_reference(r)
            and (profile is None or r.get("profile") == profile)
        ):
            latest[key] = r
    rows = []
    for ref in REFERENCE + [m for m in COURSE_MODELS if m["model"] in latest]:  # lesson 07's only with a run
        mine = latest.get(ref["model"], {})
        seconds = (mine.get("train_seconds") or 0) + (mine.get("feature_seconds") or 0) if mine else None
        rows.append(
            {
                "model": ref["model"],
                "lesson": ref["lesson"],
                "params": mine.get("params"),
                "epochs": mine.get("epochs"),
                "train_seconds": seconds,
                "reference epochs": ref["epochs"],
                "reference seconds": ref["measured_seconds"],
                "this course": mine.get("test_accuracy"),
                "reference code, JPEG copy": ref["measured_jpeg_test"],
                "tutorial (reported)": ref["reported_test"] or ref["reported_val"],
            }
        )
    whole = {c: "Int64" for c in ("params", "epochs", "reference epochs", "reference seconds")}  # 122,570 not 122570.0
    return pd.DataFrame(rows).set_index("model").astype({"this course": float, **whole})  # NaN where no run compares
