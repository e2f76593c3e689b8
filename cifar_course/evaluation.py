"""Measuring a trained classifier: probabilities, confusion, per-class accuracy, calibration, comparing runs."""

from __future__ import annotations

from collections.abc import Collection

import keras
import numpy as np

from . import models
from .arrays import as_probabilities, model_images
from .data import Dataset, one_hot, scale_pixels, split_validation
from .folders import MissingHere, runs_dir
from .profiles import get_profile
from .runs import RunRecord
from .training import list_runs, new_run


def predict_probabilities(model, x, batch_size: int = 256) -> np.ndarray:
    """Class probabilities for ``x``; a softmax is applied when the model outputs logits, as R1's (lesson 06 §2)."""
    return as_probabilities(model.predict(model_images(model, x), batch_size=batch_size, verbose=0))


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Counts: row = actual class, column = predicted class (lesson 06 §4)."""
    from sklearn.metrics import confusion_matrix as sk_confusion

    return sk_confusion(y_true, y_pred, labels=np.arange(num_classes))


def per_class_accuracy(matrix) -> np.ndarray:
    """Fraction of each actual class predicted correctly: the recall of each class (lesson 06 §5)."""
    matrix = np.asarray(matrix, dtype=float)
    return np.diag(matrix) / np.maximum(matrix.sum(axis=1), 1)


def most_confused_pairs(matrix, class_names, top: int = 5) -> list[tuple[str, str, int]]:
    """The (actual, predicted, count) pairs with the most mistakes, largest first (lesson 06 §6)."""
    off = np.array(matrix, copy=True)
    np.fill_diagonal(off, 0)
    order = np.argsort(-off.astype(float), axis=None, kind="stable")[:top]  # ties: row-major order
    pairs = [np.unravel_index(i, off.shape) for i in order]
    return [(class_names[a], class_names[p], int(off[a, p])) for a, p in pairs if off[a, p] > 0]


def reliability_bins(probabilities, y_true, n_bins: int = 10):
    """Per confidence bin: mean confidence, accuracy and count; plus the expected calibration error (lesson 06 §9)."""
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
    """Indices of the wrong predictions made with the highest probability (lesson 06 §8)."""
    probabilities = np.asarray(probabilities)
    pred = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(pred != np.asarray(y_true))
    return wrong[np.argsort(-probabilities[wrong, pred[wrong]], kind="stable")[:top]]


# --------------------------------------------------------------------------- comparing saved runs
def runs_table(runs: list[RunRecord]):
    """One row per saved run: lesson, model, profile, data, weights, size, epochs, time, accuracies (lesson 06 §1)."""
    import pandas as pd

    rows = [
        {
            "run": r.name,
            "lesson": r.lesson,
            "model": r.model,
            "profile": r.profile,
            "data": r.data_label,
            "weights": r.weights_kind,
            "params": r.params,
            "epochs": r.epochs,
            "train_seconds": round(r.seconds, 1),
            "val_accuracy": r.val_accuracy,
            "test_accuracy": r.test_accuracy,
        }
        for r in runs
    ]
    columns = "run lesson model profile data weights params epochs train_seconds val_accuracy test_accuracy"
    return pd.DataFrame(rows, columns=columns.split())  # the columns even when there is no run yet


def comparison_table(
    runs: list[RunRecord], profile: str | None = None, dataset: str = "cifar10", synthetic: bool = False
):
    """Per reference model (then lesson 07's): your latest comparable run beside the references (lesson 06 §10).

    The references are CIFAR-10 numbers, so only runs on real CIFAR-10 without RANDOM weights stand beside them
    (``run.comparable``); with synthetic data or another data set the course's columns stay empty.
    """
    import pandas as pd

    from .reference import COURSE_MODELS, REFERENCE

    own = {m["model"] for m in COURSE_MODELS}
    latest: dict[str, RunRecord] = {}
    for r in runs:  # runs come oldest first, so later ones win
        key = _reference_key(r.model) or (r.model if r.model in own else None)
        if key and dataset == "cifar10" and not synthetic and r.comparable and profile in (None, r.profile):
            latest[key] = r
    rows = []
    for ref in REFERENCE + [m for m in COURSE_MODELS if m["model"] in latest]:  # lesson 07's only with a run
        mine = latest.get(ref["model"])
        rows.append(
            {
                "model": ref["model"],
                "lesson": ref["lesson"],
                "params": mine.params if mine else None,
                "epochs": mine.epochs if mine else None,
                "train_seconds": mine.seconds if mine else None,
                "reference epochs": ref["epochs"],
                "reference seconds": ref["measured_seconds"],
                "this course": mine.test_accuracy if mine else None,
                "reference code, JPEG copy": ref["measured_jpeg_test"],
                "tutorial (reported)": ref["reported_test"] or ref["reported_val"],
            }
        )
    whole = {c: "Int64" for c in ("params", "epochs", "reference epochs", "reference seconds")}  # 122,570 not 122570.0
    return pd.DataFrame(rows).set_index("model").astype({"this course": float, **whole})  # NaN where no run compares


def _reference_key(model_name: str) -> str | None:
    """The reference model a run reproduces ('M3_deeper_cnn' -> 'M3'), or None."""
    from .reference import reference_for

    ref = reference_for(str(model_name))
    return ref["model"] if ref else None


# --------------------------------------------------------------------------- choosing the run to analyse
def pick_run(
    lesson: str,
    *,
    data: Dataset,
    prefer_lesson: str,
    run: str | None = None,
    models: Collection[tuple[str, str]] | None = None,
    runs: list[RunRecord] | None = None,
    train_epochs: int = 0,
) -> RunRecord:
    """The saved run that lesson ``lesson`` analyses, with why; an M3 trained there if none fits (lesson 06 §1).

    ``run`` (a run folder's name) is taken as it is. Otherwise, among ``runs`` (default ``cc.list_runs()``) of the
    (lesson, model) pairs in ``models`` (default: any), only runs on the same data as ``data`` are eligible: the
    same data set name, synthetic or real like it, and its class names where the run recorded them (never a model
    of your own photos saved as "cifar10"); outside the smoke profile also never a run of the smoke profile, on
    synthetic data or with RANDOM weights instead of ImageNet's. Among those, the runs whose folder still holds
    model.keras come first; then the first group that is not empty wins, and in it the highest test accuracy:

    1. runs of the current profile from ``prefer_lesson``
    2. runs of the current profile from other lessons
    3. runs of other profiles from ``prefer_lesson``
    4. runs of other profiles from other lessons

    With no eligible run, M3 is trained for ``train_epochs`` and saved as lesson ``lesson``'s run; with
    ``train_epochs=0`` MissingHere says which lesson to run first.
    """
    profile = get_profile().name
    runs = list_runs() if runs is None else runs
    candidates = [] if run else [r for r in runs if models is None or (r.lesson, r.model) in models]
    eligible = [r for r in candidates if not r.why_left_out(data, profile)]
    if run:
        chosen, why = _find_run(runs, run), "you set RUN to it"
    elif eligible:
        chosen = max(eligible, key=_preference(profile, prefer_lesson))
        why = _why_chosen(chosen, eligible, profile, prefer_lesson)
    elif train_epochs:
        print(
            f"No saved run to analyse on {_data_name(data)} data: training M3 for {train_epochs} epoch(s), "
            f"saved as lesson {lesson}'s run."
        )
        chosen, why = _train_m3(data, lesson, train_epochs), "no saved run was eligible, so it was trained just now"
    else:
        _print_left_out(candidates, data, profile)
        raise MissingHere(
            f"No saved run on {_data_name(data)} data in {runs_dir()} that lesson {lesson} can use. Run lesson "
            f"{prefer_lesson} first, or lesson 04 (M3) for a quicker model, then this lesson again."
        )
    _print_choice(chosen, why)
    _print_left_out(candidates, data, profile)
    return chosen


def _data_name(data: Dataset) -> str:
    return "synthetic" if data.synthetic else data.name


def _preference(profile: str, prefer_lesson: str):
    """pick_run's order among eligible runs: a model still there, this profile, the preferred lesson, accuracy."""
    return lambda r: (r.has_model, r.profile == profile, r.lesson == prefer_lesson, r.test_accuracy)


def _why_chosen(chosen: RunRecord, eligible: list[RunRecord], profile: str, prefer_lesson: str) -> str:
    """Which of pick_run's groups the chosen run came from, in words."""
    group = _preference(profile, prefer_lesson)
    if any(group(r)[1:3] > group(chosen)[1:3] for r in eligible):  # chosen for its model.keras alone
        return "the eligible runs preferred to it have lost their model.keras; it is the best run that still has one"
    this_profile, preferred = chosen.profile == profile, chosen.lesson == prefer_lesson
    if this_profile and preferred:
        return f"the most accurate eligible lesson {prefer_lesson} run of the {profile} profile"
    if this_profile:
        return f"no eligible lesson {prefer_lesson} run in the {profile} profile: the most accurate eligible run of it"
    if preferred:
        return f"no eligible run of the {profile} profile: the most accurate eligible lesson {prefer_lesson} run"
    return f"no eligible run of the {profile} profile nor of lesson {prefer_lesson}: the most accurate eligible run"


def _print_choice(run: RunRecord, why: str) -> None:
    """The paragraph lessons 06 and 08 print about the run they analyse."""
    tta = f" ({run.tta} test-time augmentation)" if run.tta else ""
    weights = run.weights_kind or "none (trained from scratch)"
    print(f"Analysing {run.name}: {run.model} from lesson {run.lesson}")
    print(f"  profile {run.profile}, data {run.data_label}, weights {weights}")
    print(f"  {run.epochs} epoch(s); test accuracy when saved {run.test_accuracy:.4f}{tta}")
    print(f"  chosen because: {why}")
    if run.weights_kind == "random":
        print("NOTE: this transfer model was built on RANDOM weights (no ImageNet weights on that machine).")


def _print_left_out(candidates: list[RunRecord], data: Dataset, profile: str) -> None:
    """One line per run that pick_run left out, with the reasons."""
    for r in candidates:
        reasons = r.why_left_out(data, profile)
        if reasons:
            print(f"  left out: {r.name} ({', '.join(reasons)})")


def _find_run(runs: list[RunRecord], name: str) -> RunRecord:
    """The saved run whose folder (or folder name) is ``name``; a clear error lists the choices otherwise."""
    for r in runs:
        if name in (str(r.folder), r.name):
            return r
    choices = "\n  ".join(r.name for r in runs) or "(none saved yet)"
    raise ValueError(f"No saved run called {name!r}. Saved runs:\n  {choices}")


def _train_m3(data: Dataset, lesson: str, epochs: int) -> RunRecord:
    """pick_run's fallback: M3 trained on ``data`` as in lesson 04, for ``epochs``, saved as lesson ``lesson``'s run."""
    (x_train, y_train), (x_val, y_val) = split_validation(data.x_train, data.y_train, fraction=0.1)
    x_train, x_val, x_test = scale_pixels(x_train), scale_pixels(x_val), scale_pixels(data.x_test)
    y_train, y_val, y_test = (one_hot(y, data.num_classes) for y in (y_train, y_val, data.y_test))
    model = models.m3(num_classes=data.num_classes)
    model.compile(
        optimizer=keras.optimizers.Adamax(learning_rate=0.001),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=32,
    )
    run = new_run(lesson, "M3", data=data, batch_size=32)
    history = model.fit(
        x_train,
        y_train,
        epochs=epochs,
        batch_size=32,
        validation_data=(x_val, y_val),
        callbacks=run.callbacks(),
        verbose=2,
    )
    metrics = run.save(model, history, test_accuracy=model.evaluate(x_test, y_test, verbose=0)[1])
    return RunRecord.from_metrics(metrics, run.path)
