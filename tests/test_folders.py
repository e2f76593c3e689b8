"""The folders the course reads and writes, where each data set's files sit, and MissingHere (folders.py)."""

from __future__ import annotations

from pathlib import Path

import cifar_course as cc
from cifar_course import folders


def test_runs_dir_follows_setting_or_sits_beside_notebooks(tmp_path, monkeypatch):
    monkeypatch.setenv("CIFAR_COURSE_RUNS", str(tmp_path / "r"))
    assert cc.runs_dir() == tmp_path / "r"
    monkeypatch.delenv("CIFAR_COURSE_RUNS")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert cc.runs_dir() == tmp_path / "runs"


def test_the_runner_saves_runs_where_the_lessons_do(tmp_path, monkeypatch):
    """One rule for the runs folder: cc.runs_dir from the lessons' folder, as `cifar-course run` gives the kernels."""
    from cifar_course.tools import runner

    (tmp_path / "notebooks").mkdir()
    monkeypatch.delenv("CIFAR_COURSE_RUNS")
    assert folders.runs_dir(tmp_path / "notebooks") == folders.runs_dir(tmp_path) == tmp_path / "runs"
    assert runner.kernel_env("smoke", None, folders.runs_dir(tmp_path / "notebooks"))["CIFAR_COURSE_RUNS"] == str(
        tmp_path / "runs"
    )
    monkeypatch.setenv("CIFAR_COURSE_RUNS", "~/elsewhere")
    assert folders.runs_dir(tmp_path / "notebooks") == Path("~/elsewhere").expanduser()


def test_keras_home_is_the_one_place_keras_downloads_go(tmp_path, monkeypatch):
    from cifar_course import pretrained

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "k"))
    assert folders.keras_home() == tmp_path / "k" and folders.keras_cache_dir() == tmp_path / "k" / "datasets"
    weights = tmp_path / "k" / "models" / pretrained.VGG16.file
    assert pretrained.local_file(pretrained.VGG16) is None
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"")
    assert pretrained.local_file(pretrained.VGG16) == weights
    offline = OSError("offline")
    assert f"copy it into {tmp_path / 'k' / 'models'}/ here" in str(pretrained.missing(pretrained.VGG16, offline))
    monkeypatch.setenv("KERAS_HOME", "~/keras-elsewhere")  # a ~ is the home folder; messages keep it as written
    assert "copy it into ~/keras-elsewhere/models/ here" in str(pretrained.missing(pretrained.VGG16, offline))
    assert folders.keras_home() == Path("~/keras-elsewhere").expanduser()


def test_official_batches_sit_in_their_folder_or_in_the_data_set_folder_itself(tmp_path):
    cifar10, cifar100 = folders.CIFAR_FILES["cifar10"], folders.CIFAR_FILES["cifar100"]
    assert cifar10.train[0] == "data_batch_1" and cifar100.train == ("train",)
    inside = tmp_path / "a" / cifar10.folder
    inside.mkdir(parents=True)
    (inside / "data_batch_1").write_bytes(b"")
    assert folders.official_batches(tmp_path / "a", "cifar10") == inside
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "train").write_bytes(b"")  # CIFAR-100's batches extracted straight into cifar100/
    assert folders.official_batches(tmp_path / "b", "cifar100") == tmp_path / "b"
    assert folders.official_batches(tmp_path / "b", "cifar10") is None
    assert folders.official_batches(tmp_path / "b", "mnist") is None


def test_in_keras_cache_finds_what_keras_datasets_leaves_there():
    base = folders.keras_cache_dir()
    assert all(folders.in_keras_cache(name) is None for name in cc.DATASETS)  # no cache folder at all
    (base / "cifar-10-batches-py-extracted" / "cifar-10-batches-py").mkdir(parents=True)  # as Keras 3 extracts it
    (base / "fashion-mnist").mkdir()
    (base / "mnist.npz").write_bytes(b"")
    assert folders.in_keras_cache("cifar10") == base / "cifar-10-batches-py-extracted" / "cifar-10-batches-py"
    assert folders.in_keras_cache("cifar100") is None
    assert folders.in_keras_cache("fashion_mnist") == base / "fashion-mnist"
    assert folders.in_keras_cache("mnist") == base / "mnist.npz"


def test_missing_here_is_its_own_error_and_missing_data_is_one():
    assert not issubclass(cc.MissingHere, ValueError)
    assert issubclass(cc.DataNotFoundError, cc.MissingHere) and issubclass(cc.DataNotFoundError, FileNotFoundError)
