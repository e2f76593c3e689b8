"""Saving what a lesson trained: a Run (its own folder, never overwritten), per-epoch history and timing."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from .folders import runs_dir
from .plots import live_notebook
from .profiles import get_profile
from .runs import DATA_KINDS, NUMBERING, RunRecord
from .runtime import machine, versions

TENSORBOARD_LOGS = "logs"  # in each run folder: TensorBoard's event files, in logs/train and logs/validation


@dataclass
class Run:
    """One training run: its own folder, and what the run knows about itself (lesson, model, data, batch size).

    ``run.callbacks()`` goes into ``fit``; ``run.save(model, history, test_accuracy=...)`` writes the model, its
    history and its metrics; ``run.metrics()`` reads them back (lesson 02 §9).
    """

    path: Path
    lesson: str
    model_name: str
    data: Any = None  # the Dataset trained on (cc.load_dataset's result)
    batch_size: int | None = None

    def __fspath__(self) -> str:  # so Path(run), open(run / ...) and os functions take a Run
        return str(self.path)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    @property
    def name(self) -> str:
        return self.path.name

    def callbacks(
        self,
        monitor: str = "val_accuracy",
        images_per_epoch: int | None = None,
        progress: bool = False,
        live_curves: bool = False,
    ) -> list:
        """Timer, best-model checkpoint (best.keras), a CSV log (history.csv) and TensorBoard's logs (logs/, one scalar
        per metric and epoch: ``tensorboard --logdir runs``), all written after every epoch.

        For epochs that take minutes: ``progress=True`` adds a progress bar over the batches of each epoch (tqdm);
        ``live_curves=True`` learning curves redrawn in the notebook after every epoch (livelossplot), where a person
        has the notebook open and not in the smoke profile (a tool running the lesson keeps Keras's lines) (lesson 04
        §4).
        """
        callbacks = [
            EpochTimer(images_per_epoch, batch_size=self.batch_size),
            SafeCheckpoint(self.path / "best.keras", monitor=monitor, save_best_only=True),
            keras.callbacks.CSVLogger(str(self.path / "history.csv")),
            keras.callbacks.TensorBoard(  # light: epoch scalars and the model's summary; no histograms, no profiling
                str(self.path / TENSORBOARD_LOGS), histogram_freq=0, update_freq="epoch", profile_batch=0
            ),
        ]
        if progress and images_per_epoch and self.batch_size:
            from tqdm.keras import TqdmCallback

            callbacks.append(TqdmCallback(data_size=images_per_epoch, batch_size=self.batch_size, verbose=1))
        if live_curves and get_profile().name != "smoke" and live_notebook():
            from livelossplot import PlotLossesKeras

            callbacks.insert(0, PlotLossesKeras())  # first: it plots Keras's own numbers, before the timer adds its own
        return callbacks

    def save(self, model: keras.Model, history, *, test_accuracy: float, extra: dict | None = None) -> dict:
        """Save the model (.keras), its history and its metrics in the run folder; returns the metrics."""
        if (self.path / "metrics.json").exists():
            raise ValueError(f"{self.path} already holds a saved run; start a new one with cc.new_run().")
        if self.data is None:
            raise ValueError(
                "This run does not know its data: create it with cc.new_run(lesson, model, data=data, batch_size=...)."
            )
        hist = _as_dict(history)
        model.save(self.path / "model.keras")
        (self.path / "history.json").write_text(json.dumps(hist, indent=1))
        seconds = float(np.sum(hist.get("epoch_seconds", [0.0])))
        epochs = len(next(iter(hist.values()), []))
        data = self.data
        metrics = {
            "lesson": self.lesson,
            "numbering": NUMBERING,  # the lessons' numbering (cc.runs.current_lesson reads older runs)
            "model": model.name,
            "params": int(model.count_params()),
            "epochs": epochs,
            "epochs_planned": getattr(history, "params", {}).get("epochs", epochs),
            "batch_size": self.batch_size,
            "precision": model.dtype_policy.name,  # float32, or mixed_bfloat16 where a lesson asked for it
            "train_seconds": round(seconds, 1),
            "images_per_second": (
                round(float(np.mean(hist["images_per_second"])), 1) if "images_per_second" in hist else None
            ),
            "val_accuracy": round(hist["val_accuracy"][-1], 4) if "val_accuracy" in hist else None,
            "test_accuracy": round(float(test_accuracy), 4),
            "dataset": data.name,
            "data_source": data.source,
            "synthetic_data": bool(data.synthetic),
            "class_names": list(data.class_names),
            "train_images": int(len(data.x_train)),
            "profile": get_profile().name,
            "machine": machine(),
            "versions": versions(),
            "date": dt.datetime.now().isoformat(timespec="seconds"),
            **(extra or {}),
        }
        record = RunRecord.from_metrics(metrics, self.path)  # the data, source and weights kinds, named once here
        metrics |= {kind: getattr(record, kind) for kind in ("data_kind", "source_kind", "weights_kind")}
        (self.path / "metrics.json").write_text(json.dumps(metrics, indent=1))
        print(f"Saved model, history and metrics in {self.path}")
        print(_speed_line(metrics))
        return metrics

    def metrics(self) -> dict:
        """What ``save`` wrote (metrics.json), checked by ``_read_metrics``."""
        if not (self.path / "metrics.json").is_file():
            raise FileNotFoundError(f"{self.path} has no metrics.json yet: call run.save(model, history, ...) first.")
        return _read_metrics(self.path)


def new_run(lesson: str, model_name: str, *, data=None, batch_size: int | None = None) -> Run:
    """A fresh run in its own folder runs/<lesson>_<model>_<timestamp>/ (never reusing an existing one) (lesson 02
    §9)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = runs_dir() / f"{lesson}_{model_name}_{stamp}"
    path, n = base, 1
    while True:
        try:
            path.mkdir(parents=True, exist_ok=False)
            break
        except FileExistsError:
            n += 1
            path = base.with_name(f"{base.name}-{n}")
    print(f"This run is saved in {path}")
    return Run(path, lesson, model_name, data, batch_size)


class EpochTimer(keras.callbacks.Callback):
    """Adds ``epoch_seconds`` and ``images_per_second`` to the logs of every epoch.

    Give ``images_per_epoch``, or ``batch_size`` to count the batches trained (the last, smaller one as a full one).
    (lesson 02 §9)
    """

    def __init__(self, images_per_epoch: int | None = None, batch_size: int | None = None):
        super().__init__()
        self.images_per_epoch, self.batch_size = images_per_epoch, batch_size

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._steps = time.perf_counter(), 0

    def on_train_batch_end(self, batch, logs=None):
        self._steps = batch + 1  # with steps_per_execution, Keras reports the last step of each call

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        images = self.images_per_epoch or (self._steps * self.batch_size if self.batch_size else None)
        if logs is not None:
            logs["epoch_seconds"] = seconds
            if images:
                logs["images_per_second"] = images / seconds


class SafeCheckpoint(keras.callbacks.ModelCheckpoint):
    """ModelCheckpoint that writes to a temporary file, then renames it: a kill mid-save keeps the last best (lesson
    02 §9)."""

    def __init__(self, path: Path, **kwargs):
        self.final = Path(path)
        super().__init__(self.final.with_name("saving-" + self.final.name), **kwargs)

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if os.path.exists(self.filepath):
            os.replace(self.filepath, self.final)


def print_accuracy(split: str, accuracy: float) -> None:
    """Print e.g. ``Test accuracy: 0.6791`` (a line the course's tools read) (lesson 01 §10)."""
    print(f"{split.capitalize()} accuracy: {float(accuracy):.4f}")


def _as_dict(history) -> dict[str, list[float]]:
    history = getattr(history, "history", history)
    return {k: [float(v) for v in vals] for k, vals in history.items()}


def _speed_line(metrics: dict) -> str:
    """One line on how fast a saved run trained, e.g. ``M3: 20 epochs in 924 s (46.2 s per epoch, ...)``."""
    epochs, seconds = metrics["epochs"], metrics["train_seconds"]
    ips = metrics.get("images_per_second")
    speed = f", {ips:,.0f} images per second" if ips else ""
    return (
        f"{metrics['model']}: {epochs} epochs in {seconds:,.0f} s ({seconds / max(epochs, 1):.1f} s per epoch"
        f"{speed}, {metrics['precision']}, on {metrics['machine']})"
    )


def load_history(run: Path) -> dict[str, list[float]]:
    """A run's history: history.json when it finished, else the per-epoch CSV of an interrupted run (lesson 04 §5)."""
    run = Path(run)
    if (run / "history.json").is_file():
        return json.loads((run / "history.json").read_text())
    if (run / "history.csv").is_file():
        with open(run / "history.csv", newline="") as f:
            rows = [r for r in csv.DictReader(f) if None not in r.values()]  # drop a half-written last line
        keys = [k for k in (rows[0] if rows else {}) if k != "epoch" and any(r[k] != "NA" for r in rows)]
        return {k: [float("nan") if r[k] == "NA" else float(r[k]) for r in rows] for k in keys}  # NA: not logged
    raise FileNotFoundError(f"{run} has no history (history.json or history.csv).")


def _is_number(value) -> bool:
    """True for a finite int or float (not True/False, not NaN or infinity)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


TEXT = (lambda v: isinstance(v, str), "text")
AMOUNT = (lambda v: _is_number(v) and v >= 0, "a number >= 0")
ACCURACY = (lambda v: _is_number(v) and 0 <= v <= 1, "an accuracy from 0 to 1")
NAMES = (lambda v: isinstance(v, list) and all(isinstance(n, str) for n in v), "a list of names")
METRIC_KINDS = {  # what run.save writes under each name (where it is there; None is allowed but for REQUIRED)
    **dict.fromkeys(("lesson", "model", "profile", "dataset", "data_source", "date", "machine", "tta"), TEXT),
    **dict.fromkeys(("precision", "weights", "source_kind", "weights_kind"), TEXT),
    "data_kind": (lambda v: v in DATA_KINDS, " or ".join(DATA_KINDS)),
    **dict.fromkeys(("params", "epochs", "batch_size", "train_images", "train_seconds", "feature_seconds"), AMOUNT),
    "images_per_second": AMOUNT,
    **dict.fromkeys(("test_accuracy", "val_accuracy", "test_accuracy_no_tta"), ACCURACY),
    "class_names": NAMES,
}
REQUIRED = ("lesson", "model", "profile", "epochs", "test_accuracy")  # what the lessons and tools read of every run


def _metrics_problem(info) -> str | None:
    """What is wrong with the contents of a metrics.json (its shape, types, accuracies in 0..1), or None."""
    if not isinstance(info, dict):
        return f"holds a JSON {type(info).__name__}, not the object of names and values that run.save writes"
    missing = [key for key in REQUIRED if info.get(key) is None]
    if missing:
        return f"lacks {', '.join(missing)}"
    for key, (ok, want) in METRIC_KINDS.items():
        if info.get(key) is not None and not ok(info[key]):
            return f"has {key} = {json.dumps(info[key])[:40]}, not {want}"
    return None


def _read_metrics(run: Path) -> dict:
    """A run's metrics.json, checked: a ValueError, one line, says what is wrong with it (list_runs skips such runs)."""
    path = Path(run) / "metrics.json"
    try:
        info = json.loads(path.read_text())
    except ValueError as err:  # not JSON, not text
        raise ValueError(f"{path} is not readable JSON ({err}); delete its run folder or train again.") from err
    problem = _metrics_problem(info)
    if problem:
        raise ValueError(f"{path} {problem}: run.save did not write this; fix the file or delete its run folder.")
    return info


def list_runs(base: Path | None = None) -> list[RunRecord]:
    """Every finished run under the runs folder, oldest first, each as a RunRecord read from its metrics.json.

    A run whose metrics.json is damaged or not what ``run.save`` writes is left out, with one line saying why.
    (lesson 06 §1)
    """
    base = Path(base) if base else runs_dir()
    runs = []
    for path in sorted(base.glob("*/metrics.json")):
        try:
            info = _read_metrics(path.parent)
        except (ValueError, OSError) as err:
            print(f"Skipping a saved run: {err}")
            continue
        runs.append(RunRecord.from_metrics(info, path.parent))
    return sorted(runs, key=lambda r: r.date)


def interrupted_runs(base: Path | None = None) -> list[Path]:
    """Runs stopped before save_run (interrupted, killed): they still hold history.csv and usually best.keras
    (docs/troubleshooting.md)."""
    base = Path(base) if base else runs_dir()
    return sorted(p.parent for p in base.glob("*/history.csv") if not (p.parent / "metrics.json").exists())


def latest_run(lesson: str | None = None, model: str | None = None, base: Path | None = None) -> Path | None:
    """The newest finished run of a lesson and/or model name, or None (lesson 04 §5)."""
    found = [r for r in list_runs(base) if lesson in (None, r.lesson) and model in (None, r.model)]
    return found[-1].folder if found else None


def load_model(run: Path, best: bool = False) -> keras.Model:
    """Load a run's model with Keras's safe mode on (no arbitrary code from the file) (lesson 06 §2)."""
    path = Path(run) / ("best.keras" if best else "model.keras")
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: train the model in its lesson first.")
    from . import modern  # noqa: F401 (registers the course's optimizer and schedule, which saved runs name)

    try:
        return keras.models.load_model(path, safe_mode=True)
    except (ValueError, KeyError) as err:  # KeyError: a zip without config.json, so not a model Keras saved
        if "safe_mode" in str(err):  # Keras refuses a file that holds Python code (e.g. a Lambda layer)
            raise
        reason = err.args[0] if isinstance(err, KeyError) and err.args else err
        raise ValueError(
            f"{path} is damaged or not a Keras model ({str(reason)[:200]}). "
            "Train the model again in its lesson (was a save interrupted?)."
        ) from err
    except TypeError as err:
        found = re.search(r"Could not locate class '([^']+)'", str(err))
        if not found and "safe_mode" in str(err):  # safe mode refused a part, e.g. a vocabulary file outside the file
            reason = str(err).split("Exception encountered: ")[-1].strip()  # Keras's innermost words, not its configs
            raise ValueError(
                f"{path} was refused by Keras's safe mode: {reason[:600]} (The course's models never need this: "
                "train the model again in its lesson.)"
            ) from err
        if not found:
            raise
        raise ValueError(
            f"{path} names {found.group(1)}, which this Python session does not define: it was saved with code that "
            "is not here (a newer course, or a class from your own notebook). Define or import that class before "
            "loading, or train the model again in its lesson."
        ) from err
