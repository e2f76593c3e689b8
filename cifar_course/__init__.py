"""cifar_course: the helpers behind the notebooks of the CIFAR-10 CNN course; the lessons import it as ``cc``.

Every function here first appears, explained, in a lesson. What ``cc.`` offers is listed below; the modules a
lesson reads are config (profiles, seeds, precision, folders), data (loading and preparing), formats (the file
readers), models, training (runs), plots, evaluation, checks, transfer, modern and reference. The command line
and its helpers live apart, in ``cifar_course.tools``, which no lesson needs.
"""

import importlib
import os
from typing import TYPE_CHECKING

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's start-up chatter (set to 0 to see it)

from .config import (
    PROFILES,
    ConfigError,
    MissingHere,
    Profile,
    get_profile,
    machine,
    runs_dir,
    set_precision,
    set_profile,
    set_seeds,
    setup,
    versions,
)
from .data import (
    DATASETS,
    DataNotFoundError,
    Dataset,
    load_dataset,
    one_hot,
    scale_pixels,
    split_validation,
    stratified_subset,
)
from .formats import DataError

if TYPE_CHECKING:  # for editors ("go to definition"); at run time these load on first use, below
    from . import checks, evaluation, explain, formats, models, modern, plots, reference, training, transfer
    from .training import (
        EpochTimer,
        Run,
        interrupted_runs,
        latest_run,
        list_runs,
        load_history,
        load_model,
        new_run,
        print_accuracy,
    )

__version__ = "0.1.0"

# These need TensorFlow, which takes seconds to import: they load on first use (so `cifar-course --help` is fast).
_FROM_TRAINING = (
    "EpochTimer",
    "Run",
    "interrupted_runs",
    "latest_run",
    "list_runs",
    "load_history",
    "load_model",
    "new_run",
    "print_accuracy",
)
_MODULES = (
    "checks",
    "config",
    "data",
    "evaluation",
    "explain",
    "formats",
    "models",
    "modern",
    "plots",
    "reference",
    "training",
    "transfer",
)

__all__ = [
    # config: profiles, seeds, precision, machine
    "PROFILES", "ConfigError", "MissingHere", "Profile", "get_profile", "machine", "runs_dir", "set_precision",
    "set_profile", "set_seeds", "setup", "versions",
    # data: loading and preparing arrays
    "DATASETS", "DataError", "DataNotFoundError", "Dataset", "load_dataset", "one_hot", "scale_pixels",
    "split_validation", "stratified_subset",
    # training: runs (loaded on first use)
    "EpochTimer", "Run", "interrupted_runs", "latest_run", "list_runs", "load_history", "load_model", "new_run",
    "print_accuracy",
    # modules, as cc.plots, cc.checks, ... (loaded on first use)
    "checks", "config", "data", "evaluation", "explain", "formats", "models", "modern", "plots", "reference",
    "training", "transfer",
]  # fmt: skip


def __getattr__(name: str):
    if name in _FROM_TRAINING:
        return getattr(importlib.import_module(".training", __name__), name)
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'cifar_course' has no attribute {name!r}")
