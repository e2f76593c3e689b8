"""cifar_course: the helpers behind the notebooks of the CIFAR-10 CNN course.

Every function here first appears, explained, in a lesson; the lessons import it as ``cc``.
Modules: config (profiles, seeds), data (loading), models, training (runs), plots, evaluation, checks.
"""
import importlib
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's start-up chatter (set to 0 to see it)

from .config import (PROFILES, ConfigError, Profile, get_profile, machine, runs_dir, set_profile, set_seeds,
                     setup, versions)
from .data import (DATASETS, DataError, Dataset, DataNotFoundError, load_dataset, one_hot, scale_pixels,
                   split_validation, stratified_subset)

__version__ = "0.1.0"

# These need TensorFlow, which takes seconds to import: they load on first use (so `cifar-course --help` is fast).
_TRAINING = {"EpochTimer", "interrupted_runs", "latest_run", "list_runs", "load_history", "load_model", "new_run",
             "print_accuracy", "save_run", "training_callbacks"}
_MODULES = {"checks", "config", "data", "evaluation", "models", "modern", "plots", "reference", "report",
            "training", "transfer"}


def __getattr__(name: str):
    if name in _TRAINING:
        return getattr(importlib.import_module(".training", __name__), name)
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'cifar_course' has no attribute {name!r}")
