"""cifar_course: the helpers behind the notebooks of the CIFAR-10 CNN course; the lessons import it as ``cc``.

Every public function of the modules a lesson reads names, in its docstring, the lesson section that teaches it, as
"(lesson 06 §4)" (tests/test_taught.py checks that the section uses it). Those modules: profiles (profiles, seeds),
runtime (versions, CPU, precision, ``setup``), folders (where the course reads and writes), data (loading and
preparing), models, training (runs), runs (a saved run as a record), plots, evaluation, explain, checks, transfer,
modern, race and reference. Three internal modules serve them and no lesson calls them: arrays (shared helpers), formats
(the file readers behind ``load_dataset``) and tracebacks (the hook ``setup`` installs). The command line and its
helpers live apart, in ``cifar_course.tools``, which no lesson needs.
"""

import importlib
import os
from typing import TYPE_CHECKING

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's start-up chatter (set to 0 to see it)

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
from .folders import MissingHere, runs_dir
from .formats import DataError
from .profiles import PROFILES, Profile, get_profile, set_profile, set_seeds
from .runs import RunRecord
from .runtime import machine, set_precision, setup, versions

if TYPE_CHECKING:  # for editors ("go to definition"); at run time these load on first use, below
    from . import (
        checks,
        evaluation,
        explain,
        folders,
        formats,
        models,
        modern,
        plots,
        profiles,
        race,
        reference,
        runtime,
        training,
        transfer,
    )
    from .evaluation import pick_run
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
_FROM_EVALUATION = ("pick_run",)
_MODULES = (
    "checks",
    "data",
    "evaluation",
    "explain",
    "folders",
    "formats",
    "models",
    "modern",
    "plots",
    "race",
    "profiles",
    "reference",
    "runs",
    "runtime",
    "training",
    "transfer",
)

__all__ = [
    # profiles, runtime and folders: profiles, seeds, precision, machine, runs
    "PROFILES", "MissingHere", "Profile", "get_profile", "machine", "runs_dir", "set_precision", "set_profile",
    "set_seeds", "setup", "versions",
    # data: loading and preparing arrays
    "DATASETS", "DataError", "DataNotFoundError", "Dataset", "load_dataset", "one_hot", "scale_pixels",
    "split_validation", "stratified_subset",
    # training: runs (loaded on first use)
    "EpochTimer", "Run", "interrupted_runs", "latest_run", "list_runs", "load_history", "load_model", "new_run",
    "print_accuracy",
    # runs: what a saved run holds (RunRecord), and choosing the one to analyse (pick_run, loaded on first use)
    "RunRecord", "pick_run",
    # modules, as cc.plots, cc.checks, ... (loaded on first use)
    "checks", "data", "evaluation", "explain", "folders", "formats", "models", "modern", "plots", "profiles",
    "race", "reference", "runs", "runtime", "training", "transfer",
]  # fmt: skip


def __getattr__(name: str):
    if name in _FROM_TRAINING:
        return getattr(importlib.import_module(".training", __name__), name)
    if name in _FROM_EVALUATION:
        return getattr(importlib.import_module(".evaluation", __name__), name)
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'cifar_course' has no attribute {name!r}")
