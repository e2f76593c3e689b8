"""Fixtures that build tiny data sets in every format the course reads, in a temporary folder."""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Every test gets its own empty data, cache, Keras and runs folders, no network and the smoke profile."""
    from cifar_course import profiles

    for var, sub in (
        ("CIFAR_COURSE_CACHE", "cache"),
        ("KERAS_HOME", "keras"),
        ("CIFAR_COURSE_RUNS", "runs"),
        ("HOME", "home"),
    ):  # HOME: so ~/cifar-course-data is the test's own
        (tmp_path / sub).mkdir()
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.delenv("CIFAR_COURSE_DATA", raising=False)
    monkeypatch.delenv("CIFAR_COURSE_VGG16_WEIGHTS", raising=False)
    monkeypatch.delenv("CIFAR_COURSE_EFFNET_WEIGHTS", raising=False)
    monkeypatch.setenv("CIFAR_COURSE_OFFLINE", "1")
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    monkeypatch.setattr(profiles, "_chosen", None)
    return tmp_path


def cifar_batch(n: int, num_classes: int = 10, seed: int = 0, label_key: bytes = b"labels") -> dict:
    """One batch in the official CIFAR python layout (bytes keys, flat uint8 rows, list of labels)."""
    rng = np.random.default_rng(seed)
    batch = {
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        label_key: [int(i % num_classes) for i in range(n)],
    }
    if label_key == b"fine_labels":
        batch[b"coarse_labels"] = [int(i % 20) for i in range(n)]
    return batch


def cifar10_files(n_per_batch: int = 20) -> dict[str, bytes]:
    """The eight files of cifar-10-batches-py, tiny, pickled as the official ones are (protocol 2)."""
    files = {f"data_batch_{i}": pickle.dumps(cifar_batch(n_per_batch, seed=i), protocol=2) for i in range(1, 6)}
    files["test_batch"] = pickle.dumps(cifar_batch(n_per_batch, seed=9), protocol=2)
    files["batches.meta"] = pickle.dumps({b"label_names": [n.encode() for n in CIFAR10_NAMES]}, protocol=2)
    return files


def cifar100_files(n: int = 200) -> dict[str, bytes]:
    """train, test and meta of cifar-100-python, tiny."""
    meta = {
        b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
        b"coarse_label_names": [f"coarse{i}".encode() for i in range(20)],
    }
    return {
        "train": pickle.dumps(cifar_batch(n, 100, 1, b"fine_labels"), protocol=2),
        "test": pickle.dumps(cifar_batch(n // 2, 100, 2, b"fine_labels"), protocol=2),
        "meta": pickle.dumps(meta, protocol=2),
    }


def write_tar_gz(path: Path, folder: str, files: dict[str, bytes]) -> Path:
    """Write files into folder/ inside a .tar.gz, as the official archives are laid out."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, raw in files.items():
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, raw in files.items():
        (folder / name).write_bytes(raw)
    return folder


def write_image_tree(
    root: Path,
    classes=("cat", "dog", "frog"),
    n_train: int = 12,
    n_test: int = 4,
    size=(32, 32),
    mode: str = "RGB",
    suffix: str = ".png",
) -> Path:
    """root/{train,test}/<class>/NNNN.png with a distinct flat colour per class."""
    for split, n in (("train", n_train), ("test", n_test)):
        for k, cls in enumerate(classes):
            d = root / split / cls
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                value = (40 * k + i) % 256
                color = value if mode == "L" else (value, 255 - value, 7 * k)
                Image.new(mode, size, color).save(d / f"{i:04d}{suffix}")
    return root


@pytest.fixture
def tiny_cifar10_archive(tmp_path) -> Path:
    """data/cifar10/cifar-10-python.tar.gz, 100 train + 20 test images."""
    return write_tar_gz(
        tmp_path / "data" / "cifar10" / "cifar-10-python.tar.gz", "cifar-10-batches-py", cifar10_files()
    )


def run_cli(capsys, *argv):
    """Run ``cifar-course`` with these arguments in this process: (exit status, stdout, stderr)."""
    from cifar_course.tools.cli import main

    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err
