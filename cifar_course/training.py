"""Saving what a lesson trained: run folders that never overwrite, per-epoch history, timing."""
from __future__ import annotations

import csv
import datetime as dt
import json
import os
import time
from pathlib import Path

import keras
import numpy as np

from .config import ConfigError, get_profile, machine, runs_dir, versions


def new_run(lesson: str, model_name: str) -> Path:
    """Create a fresh folder runs/<lesson>_<model>_<timestamp>/ (never reusing an existing one)."""
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
    return path


class EpochTimer(keras.callbacks.Callback):
    """Adds ``epoch_seconds`` and ``images_per_second`` to the logs of every epoch."""

    def __init__(self, images_per_epoch: int):
        super().__init__()
        self.images_per_epoch = images_per_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        if logs is not None:
            logs["epoch_seconds"] = seconds
            logs["images_per_second"] = self.images_per_epoch / seconds


class SafeCheckpoint(keras.callbacks.ModelCheckpoint):
    """ModelCheckpoint that writes to a temporary file, then renames it: a kill mid-save keeps the last best."""

    def __init__(self, path: Path, **kwargs):
        self.final = Path(path)
        super().__init__(self.final.with_name("saving-" + self.final.name), **kwargs)

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if os.path.exists(self.filepath):
            os.replace(self.filepath, self.final)


def training_callbacks(run: Path, images_per_epoch: int, monitor: str = "val_accuracy") -> list:
    """Timer, best-model checkpoint and a CSV log written after every epoch (kept if training is interrupted)."""
    return [
        EpochTimer(images_per_epoch),
        SafeCheckpoint(Path(run) / "best.keras", monitor=monitor, save_best_only=True),
        keras.callbacks.CSVLogger(str(Path(run) / "history.csv")),
    ]


def print_accuracy(split: str, accuracy: float) -> None:
    """Print e.g. ``Test accuracy: 0.6791`` (a line the course's tools read)."""
    print(f"{split.capitalize()} accuracy: {float(accuracy):.4f}")


def _as_dict(history) -> dict[str, list[float]]:
    history = getattr(history, "history", history)
    return {k: [float(v) for v in vals] for k, vals in history.items()}


def save_run(run: Path, model: keras.Model, history, *, test_accuracy: float, data, epochs: int,
             batch_size: int, lesson: str, extra: dict | None = None) -> dict:
    """Save the model (.keras), its history and its metrics in ``run``; returns the metrics."""
    run = Path(run)
    if (run / "metrics.json").exists():
        raise ConfigError(f"{run} already holds a saved run; start a new one with new_run().")
    hist = _as_dict(history)
    model.save(run / "model.keras")
    (run / "history.json").write_text(json.dumps(hist, indent=1))
    seconds = float(np.sum(hist.get("epoch_seconds", [0.0])))
    metrics = {
        "lesson": lesson,
        "model": model.name,
        "params": int(model.count_params()),
        "epochs": len(next(iter(hist.values()), [])) or epochs,
        "epochs_planned": epochs,
        "batch_size": batch_size,
        "precision": model.dtype_policy.name,  # float32, or mixed_bfloat16 where a lesson asked for it
        "train_seconds": round(seconds, 1),
        "images_per_second": round(float(np.mean(hist["images_per_second"])), 1) if "images_per_second" in hist else None,
        "val_accuracy": round(hist["val_accuracy"][-1], 4) if "val_accuracy" in hist else None,
        "test_accuracy": round(float(test_accuracy), 4),
        "dataset": data.name,
        "data_source": data.source,
        "synthetic_data": bool(data.synthetic),
        "train_images": int(len(data.x_train)),
        "profile": get_profile().name,
        "machine": machine(),
        "versions": versions(),
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        **(extra or {}),
    }
    (run / "metrics.json").write_text(json.dumps(metrics, indent=1))
    print(f"Saved model, history and metrics in {run}")
    print(speed_line(metrics))
    return metrics


def speed_line(metrics: dict) -> str:
    """One line on how fast a saved run trained, e.g. ``M3: 20 epochs in 924 s (46.2 s per epoch, ...)``."""
    epochs, seconds = metrics["epochs"], metrics["train_seconds"]
    ips = metrics.get("images_per_second")
    speed = f", {ips:,.0f} images per second" if ips else ""
    return (f"{metrics['model']}: {epochs} epochs in {seconds:,.0f} s ({seconds / max(epochs, 1):.1f} s per epoch"
            f"{speed}, {metrics['precision']}, on {metrics['machine']})")


def load_history(run: Path) -> dict[str, list[float]]:
    """A run's history: history.json when it finished, else the per-epoch CSV of an interrupted run."""
    run = Path(run)
    if (run / "history.json").is_file():
        return json.loads((run / "history.json").read_text())
    if (run / "history.csv").is_file():
        with open(run / "history.csv", newline="") as f:
            rows = [r for r in csv.DictReader(f) if None not in r.values()]  # drop a half-written last line
        keys = [k for k in (rows[0] if rows else {}) if k != "epoch" and any(r[k] != "NA" for r in rows)]
        return {k: [float("nan") if r[k] == "NA" else float(r[k]) for r in rows] for k in keys}  # NA: not logged
    raise FileNotFoundError(f"{run} has no history (history.json or history.csv).")


def list_runs(base: Path | None = None) -> list[dict]:
    """Every finished run under the runs folder, oldest first, each with its folder in 'run'."""
    base = Path(base) if base else runs_dir()
    runs = []
    for path in sorted(base.glob("*/metrics.json")):
        try:
            info = json.loads(path.read_text())
        except (json.JSONDecodeError, OSError) as err:
            print(f"Skipping {path.parent}: unreadable metrics.json ({err})")
            continue
        runs.append({**info, "run": str(path.parent)})
    return sorted(runs, key=lambda r: r.get("date", ""))


def interrupted_runs(base: Path | None = None) -> list[Path]:
    """Runs stopped before save_run (interrupted, killed): they still hold history.csv and usually best.keras."""
    base = Path(base) if base else runs_dir()
    return sorted(p.parent for p in base.glob("*/history.csv") if not (p.parent / "metrics.json").exists())


def latest_run(lesson: str | None = None, model: str | None = None, base: Path | None = None) -> Path | None:
    """The newest finished run of a lesson and/or model name, or None."""
    found = [r for r in list_runs(base)
             if (lesson is None or r["lesson"] == lesson) and (model is None or r["model"] == model)]
    return Path(found[-1]["run"]) if found else None


def load_model(run: Path, best: bool = False) -> keras.Model:
    """Load a run's model with Keras's safe mode on (no arbitrary code from the file)."""
    path = Path(run) / ("best.keras" if best else "model.keras")
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: train the model in its lesson first.")
    try:
        return keras.models.load_model(path, safe_mode=True)
    except ValueError as err:
        if "safe_mode" in str(err):  # Keras refuses a file that holds Python code (e.g. a Lambda layer)
            raise
        raise ValueError(f"{path} is damaged or not a Keras model ({str(err)[:200]}). "
                         "Train the model again in its lesson (was a save interrupted?).") from err
