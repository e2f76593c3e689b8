"""The folders the course reads and writes (saved runs, caches, the course data folder, Keras's home), where each data
set's official files sit in them, and ``MissingHere``, the error for something a lesson needs that is not here."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple


class MissingHere(Exception):
    """Something a lesson needs (data, weights, a saved run) is not on this machine; the message says how to get it.
    `cifar-course run` reports such a lesson as not run (exit 3), not as broken (lesson 05 §3)."""


# --------------------------------------------------------------------------- what the course writes
def runs_dir(notebooks: str | Path | None = None) -> Path:
    """Where trained runs are saved: $CIFAR_COURSE_RUNS, else ``runs/`` beside the notebooks folder (``notebooks``,
    else the current folder) (lesson 06 §1)."""
    env = os.environ.get("CIFAR_COURSE_RUNS")
    if env:
        return Path(env).expanduser()
    here = Path.cwd() if notebooks is None else Path(notebooks).expanduser().resolve()
    return (here.parent if here.name == "notebooks" else here) / "runs"


def cache_dir() -> Path:
    """Where decoded data sets and features are cached: $CIFAR_COURSE_CACHE, else ~/.cache/cifar-course
    (used by the tools)."""
    return Path(os.environ.get("CIFAR_COURSE_CACHE", "~/.cache/cifar-course")).expanduser()


# --------------------------------------------------------------------------- what the course reads
DEFAULT_DATA_DIR = Path("~/cifar-course-data")  # where `cifar-course data import` puts data by default


def data_folder(data_dir: str | Path | None = None) -> tuple[Path | None, str]:
    """The course data folder (or None) and why: the argument, else $CIFAR_COURSE_DATA, else ~/cifar-course-data if it
    exists (used by the tools)."""
    if data_dir is not None or os.environ.get("CIFAR_COURSE_DATA"):
        setting = "data_dir" if data_dir is not None else "CIFAR_COURSE_DATA"
        root = Path(data_dir if data_dir is not None else os.environ["CIFAR_COURSE_DATA"]).expanduser()
        if not root.is_dir():
            raise ValueError(f"{setting} points to {root}, which is not a folder. Fix the path or unset {setting}.")
        return root, f"from {setting}"
    default = DEFAULT_DATA_DIR.expanduser()
    if default.is_dir():
        return default, f"the default folder {DEFAULT_DATA_DIR}, found by itself"
    return None, f"none: CIFAR_COURSE_DATA is not set and {DEFAULT_DATA_DIR} does not exist"


def keras_home(expand: bool = True) -> Path:
    """Where Keras keeps its downloads: $KERAS_HOME, else ~/.keras (``expand=False``: with its ~, for messages);
    VGG16's weights go in its models/ (used by the tools)."""
    home = Path(os.environ.get("KERAS_HOME", "~/.keras"))
    return home.expanduser() if expand else home


def keras_cache_dir() -> Path:
    """The folder where ``keras.datasets`` keeps its downloads, keras_home()/datasets (used by the tools)."""
    return keras_home() / "datasets"


def describe_sources(name: str = "cifar10", data_dir: str | Path | None = None) -> str:
    """Say where the course will look for a data set, without loading it (used by the tools)."""
    try:
        root, why = data_folder(data_dir)
    except ValueError as err:
        return str(err)
    if root is not None and (root / name).is_dir():
        return f"{name} from the course data folder {root / name} ({why})"
    where = f"the course data folder {root} ({why}) has no {name}/; " if root else f"no course data folder ({why}); "
    return where + f"next: Keras cache {keras_cache_dir()}, then download"


# --------------------------------------------------------------------------- where each data set's files sit
class _CifarFiles(NamedTuple):
    """The official CIFAR python layout: the folder its archive holds, and the train, test and meta files in it
    (used by the tools)."""

    folder: str
    train: tuple[str, ...]
    test: str
    meta: str


CIFAR_FILES = {
    "cifar10": _CifarFiles(
        "cifar-10-batches-py", tuple(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta"
    ),
    "cifar100": _CifarFiles("cifar-100-python", ("train",), "test", "meta"),
}
# the others in the Keras cache: MNIST as one .npz, Fashion-MNIST as a folder of the four IDX files
KERAS_CACHE_NAMES = {"mnist": "mnist.npz", "fashion_mnist": "fashion-mnist"}


def official_batches(folder: Path, name: str) -> Path | None:
    """The folder of a data-set folder that holds the official CIFAR batches of ``name``: its cifar-10-batches-py/
    (cifar-100-python/), or the folder itself; None when neither does, or ``name`` is no CIFAR (used by the tools)."""
    files = CIFAR_FILES.get(name)
    if files is None:
        return None
    return next((c for c in (folder / files.folder, folder) if (c / files.train[0]).is_file()), None)


def in_keras_cache(name: str) -> Path | None:
    """Where the Keras cache holds a data set (an official CIFAR folder, mnist.npz, fashion-mnist/), or None
    (used by the tools)."""
    base = keras_cache_dir()
    if not base.is_dir():
        return None
    if name in CIFAR_FILES:
        return next((p for p in sorted(base.glob(f"**/{CIFAR_FILES[name].folder}")) if p.is_dir()), None)
    path = base / KERAS_CACHE_NAMES[name]
    return path if path.is_file() or path.is_dir() else None
