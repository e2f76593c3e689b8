"""Bad input and faults (issue 4): each gives a clear error or a counted skip, never a silently wrong result.

test_data.py, test_profiles.py, test_runtime.py and test_folders.py hold the happy paths and the main errors; this file
goes through the faults.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

import cifar_course as cc
from cifar_course import data as data_mod
from cifar_course import formats, training
from conftest import cifar10_files, write_folder, write_image_tree, write_tar_gz

REPO = Path(__file__).resolve().parents[1]


def _npz(path: Path, y_train, y_test=(0, 1), **extra) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        x_train=np.zeros((len(y_train), 32, 32, 3), np.uint8),
        y_train=np.array(y_train),
        x_test=np.zeros((len(y_test), 32, 32, 3), np.uint8),
        y_test=np.array(y_test),
        **extra,
    )
    return path


# --------------------------------------------------------------------------- missing data, settings
@pytest.mark.parametrize("profile", ["quick", "full"])
def test_missing_data_offline_says_how_to_get_it(tmp_path, monkeypatch, profile):
    (tmp_path / "d").mkdir()
    monkeypatch.setenv("CIFAR_COURSE_DATA", str(tmp_path / "d"))
    with pytest.raises(cc.DataNotFoundError) as err:
        cc.load_dataset("cifar10", profile=profile)
    message = str(err.value)
    assert "CIFAR_COURSE_DATA" in message and "keras.datasets.cifar10.load_data()" in message
    assert f"{tmp_path / 'd' / 'cifar10'}: no such folder" in message
    assert "skipped (CIFAR_COURSE_OFFLINE is set)" in message and "cifar-10-python.tar.gz" in message


def test_data_folder_pointing_at_the_data_set_itself_says_which_folder_to_use(tmp_path, monkeypatch):
    write_image_tree(tmp_path / "d" / "cifar10")
    monkeypatch.setenv("CIFAR_COURSE_DATA", str(tmp_path / "d" / "cifar10"))  # common slip: one level too deep
    with pytest.raises(cc.DataNotFoundError, match=re.escape(f"at {tmp_path / 'd'}, the folder that holds cifar10/")):
        cc.load_dataset("cifar10", profile="quick")


def test_data_folder_that_does_not_exist_names_the_setting(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"data_dir points to .*nope, which is not a folder.*unset data_dir"):
        cc.load_dataset("cifar10", tmp_path / "nope")
    (tmp_path / "a-file").write_text("x")
    monkeypatch.setenv("CIFAR_COURSE_DATA", str(tmp_path / "a-file"))
    with pytest.raises(ValueError, match="CIFAR_COURSE_DATA points to .*a-file, which is not a folder"):
        cc.load_dataset("cifar10")
    # setup() prints the problem as the data source instead of crashing before the lesson starts
    assert "CIFAR_COURSE_DATA points to" in data_mod.describe_sources("cifar10")


def test_unknown_profile_as_an_argument_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"Unknown profile 'fast' \(argument\). Valid profiles: smoke, quick, full"):
        cc.load_dataset("cifar10", profile="fast")
    assert cc.get_profile(" Quick ").name == "quick"  # stray spaces and capitals are forgiven


# --------------------------------------------------------------------------- archives and batches
def _damage(kind: str, raw: bytes) -> bytes:
    middle = len(raw) // 2
    return {
        "truncated": raw[: len(raw) * 9 // 10],
        "flipped bytes": raw[:middle] + bytes(b ^ 0xFF for b in raw[middle : middle + 16]) + raw[middle + 16 :],
        "not gzip": b"<html>404 Not Found</html>",
        "empty": b"",
    }[kind]


@pytest.mark.parametrize("kind", ["truncated", "flipped bytes", "not gzip", "empty"])
def test_damaged_archive_is_an_error_with_the_download_address(tiny_cifar10_archive, tmp_path, kind):
    tiny_cifar10_archive.write_bytes(_damage(kind, tiny_cifar10_archive.read_bytes()))
    with pytest.raises(cc.DataError, match="truncated or corrupt.*download it again from https://www.cs.toronto.edu"):
        cc.load_dataset("cifar10", tmp_path / "data")


def test_archive_missing_a_batch_is_an_error(tmp_path):
    files = cifar10_files()
    del files["data_batch_4"]
    write_tar_gz(tmp_path / "d" / "cifar10" / "cifar-10-python.tar.gz", "cifar-10-batches-py", files)
    with pytest.raises(cc.DataError, match="no file 'data_batch_4': it is incomplete or not the official"):
        cc.load_dataset("cifar10", tmp_path / "d")


def test_truncated_extracted_batch_is_an_error(tmp_path):
    files = cifar10_files()
    files["data_batch_3"] = files["data_batch_3"][:-100]
    write_folder(tmp_path / "d" / "cifar10" / "cifar-10-batches-py", files)
    with pytest.raises(cc.DataError, match="data_batch_3 is not a readable CIFAR batch"):
        cc.load_dataset("cifar10", tmp_path / "d")


def test_half_extracted_keras_cache_says_what_to_delete(tmp_path):
    files = cifar10_files()
    del files["test_batch"]  # an extraction killed before the last file
    folder = write_folder(tmp_path / "keras" / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py", files)
    with pytest.raises(cc.DataError, match=f"(?s)lacks test_batch.*half-extracted.*delete {re.escape(str(folder))}"):
        cc.load_dataset("cifar10")


def test_truncated_fashion_mnist_download_is_an_error(tmp_path):
    """Keras publishes no checksum for Fashion-MNIST; gzip's own checksum catches a cut download."""
    import gzip

    folder = tmp_path / "keras" / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    for prefix, n in (("train", 20), ("t10k", 10)):
        images = bytes([0, 0, 8, 3]) + b"".join(v.to_bytes(4, "big") for v in (n, 28, 28)) + bytes(n * 784)
        labels = bytes([0, 0, 8, 1]) + n.to_bytes(4, "big") + bytes(range(10)) * (n // 10)
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(images))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels))
    cut = folder / "train-images-idx3-ubyte.gz"
    cut.write_bytes(cut.read_bytes()[:-12])
    with pytest.raises(cc.DataError, match="train-images-idx3-ubyte.gz is truncated or corrupt"):
        cc.load_dataset("fashion_mnist")


# --------------------------------------------------------------------------- image folders
def test_non_image_files_are_skipped_and_counted(tmp_path, capsys):
    root = write_image_tree(tmp_path / "d" / "cifar10")
    (root / "train" / "cat" / "notes.txt").write_text("my notes")
    (root / "train" / "dog" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "test" / "frog" / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    ds = cc.load_dataset("cifar10", tmp_path / "d", subset=False)
    assert len(ds.x_train) == 36 and len(ds.x_test) == 12
    assert ds.notes == ["skipped 3 non-image file(s)"]
    assert "note: skipped 3 non-image file(s)" in capsys.readouterr().out


@pytest.mark.parametrize("content", ["garbage", "truncated", "empty"])
def test_corrupt_file_with_an_image_suffix_is_an_error_naming_it(tmp_path, content):
    root = write_image_tree(tmp_path / "d" / "cifar10")
    bad = root / "train" / "dog" / "0003.png"
    raw = {"garbage": b"this is not a png", "truncated": bad.read_bytes()[:60], "empty": b""}[content]
    bad.write_bytes(raw)
    with pytest.raises(cc.DataError, match=f"{re.escape(str(bad))} is not a readable image.*Delete or replace"):
        cc.load_dataset("cifar10", tmp_path / "d")
    assert not list((tmp_path / "cache").glob("*.npz")), "a failed decode must not leave a cache"


def test_mixed_image_sizes_and_colour_modes_are_errors(tmp_path):
    root = write_image_tree(tmp_path / "d" / "cifar10")
    odd = root / "train" / "frog" / "0005.png"
    Image.new("RGB", (40, 30), (1, 2, 3)).save(odd)
    with pytest.raises(
        cc.DataError,
        match=rf"Mixed image sizes: .* is \(32, 32, 3\) but {re.escape(str(odd))} "
        r"is \(30, 40, 3\).*Resize",
    ):
        cc.load_dataset("cifar10", tmp_path / "d")
    Image.new("L", (32, 32), 9).save(odd)  # a grayscale photo among colour ones
    with pytest.raises(cc.DataError, match=r"is \(32, 32, 1\).*colour mode"):
        cc.load_dataset("cifar10", tmp_path / "d")


def test_train_and_test_of_different_sizes_are_an_error(tmp_path):
    write_image_tree(tmp_path / "d" / "cifar10", n_test=0)
    write_image_tree(tmp_path / "d" / "cifar10", n_train=0, size=(28, 28))
    with pytest.raises(cc.DataError, match=r"train images are \(32, 32, 3\) but test images are \(28, 28, 3\)"):
        cc.load_dataset("cifar10", tmp_path / "d")


@pytest.mark.parametrize("filler", [None, "readme.txt"])
def test_empty_class_folder_is_an_error(tmp_path, filler):
    root = write_image_tree(tmp_path / "d" / "cifar10")
    empty = root / "train" / "horse"
    empty.mkdir()
    write_image_tree(root, classes=("horse",), n_train=0)
    if filler:
        (empty / filler).write_text("not an image")
    with pytest.raises(cc.DataError, match=f"{re.escape(str(empty))} holds no images"):
        cc.load_dataset("cifar10", tmp_path / "d")


# --------------------------------------------------------------------------- labels
@pytest.mark.parametrize("bad", [10, -1])
def test_labels_out_of_range_in_an_npz_are_an_error(tmp_path, bad):
    _npz(tmp_path / "d" / "cifar10" / "arrays.npz", [0, 1, 2, bad])
    with pytest.raises(
        cc.DataError,
        match=rf"train labels run from {min(0, bad)} to {max(2, bad)} but there are "
        r"10 classes \(labels must be 0..9\)",
    ):
        cc.load_dataset("cifar10", tmp_path / "d")


def test_labels_out_of_range_in_a_cifar_batch_are_an_error(tmp_path):
    files = cifar10_files()
    batch = pickle.loads(files["test_batch"])
    batch[b"labels"][0] = 10
    files["test_batch"] = pickle.dumps(batch, protocol=2)
    write_folder(tmp_path / "d" / "cifar10" / "cifar-10-batches-py", files)
    with pytest.raises(cc.DataError, match="test labels run from 0 to 10 but there are 10 classes"):
        cc.load_dataset("cifar10", tmp_path / "d")


def test_npz_without_class_names_for_cifar100_is_an_error(tmp_path):
    _npz(tmp_path / "d" / "cifar100" / "arrays.npz", [0, 1])
    with pytest.raises(cc.DataError, match="has no class_names array"):
        cc.load_dataset("cifar100", tmp_path / "d")


@pytest.mark.parametrize("kind", ["truncated", "flipped bytes"])
def test_corrupt_npz_is_a_data_error(tmp_path, kind):
    path = _npz(tmp_path / "d" / "cifar10" / "arrays.npz", list(range(10)))
    path.write_bytes(_damage(kind, path.read_bytes()))
    with pytest.raises(cc.DataError, match="arrays.npz is truncated or corrupt"):
        cc.load_dataset("cifar10", tmp_path / "d")


# --------------------------------------------------------------------------- the decoded-image cache
def _cache_files(tmp_path) -> list[Path]:
    return sorted((tmp_path / "cache").iterdir()) if (tmp_path / "cache").exists() else []


@pytest.mark.parametrize("version", [1, None])
def test_cache_from_another_version_is_rebuilt_with_a_message(tmp_path, capsys, version):
    root = write_image_tree(tmp_path / "d" / "cifar10")
    path = formats.tree_cache_path(root, "cifar10")
    stale = {"cache_version": version} if version is not None else {}
    _npz(path, [0] * 36, [0] * 12, class_names=np.array(["cat", "dog", "frog"]), **stale)  # all-black, all "cat"
    ds = cc.load_dataset("cifar10", tmp_path / "d", subset=False)
    assert f"Ignoring {path}: a cache written by another version" in capsys.readouterr().out
    assert "(cached)" not in ds.source and set(ds.y_train) == {0, 1, 2} and ds.x_train.max() > 0
    with np.load(path) as npz:
        assert int(npz["cache_version"]) == formats.CACHE_VERSION
    assert cc.load_dataset("cifar10", tmp_path / "d", subset=False).source.endswith("(cached)")


def test_old_cache_in_the_data_folder_is_ignored_with_a_message(tmp_path, capsys):
    _npz(tmp_path / "d" / "cifar10" / "cifar10-0123456789ab.npz", [0, 1], cache_version=1)
    with pytest.raises(cc.DataNotFoundError):
        cc.load_dataset("cifar10", tmp_path / "d", profile="quick")
    assert "a cache written by another version of the course (cache version 1" in capsys.readouterr().out


def test_image_edited_in_place_invalidates_the_cache(tmp_path):
    root = write_image_tree(tmp_path / "d" / "cifar10", n_train=2, n_test=1)
    cc.load_dataset("cifar10", tmp_path / "d", subset=False)
    edited = root / "test" / "cat" / "0000.png"
    Image.new("RGB", (32, 32), (201, 202, 203)).save(edited)  # same name, same folder: the folder's time is unchanged
    stat = edited.stat()
    os.utime(edited, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    ds = cc.load_dataset("cifar10", tmp_path / "d", subset=False)
    assert "(cached)" not in ds.source
    assert (ds.x_test == np.array([201, 202, 203], np.uint8)).all(axis=-1).all(axis=(1, 2)).any()


def test_damaged_cache_is_rebuilt(tmp_path, capsys):
    root = write_image_tree(tmp_path / "d" / "cifar10")
    first = cc.load_dataset("cifar10", tmp_path / "d", subset=False)
    path = formats.tree_cache_path(root, "cifar10")
    path.write_bytes(path.read_bytes()[:1000])
    again = cc.load_dataset("cifar10", tmp_path / "d", subset=False)
    assert "Rebuilding a damaged cache" in capsys.readouterr().out and "(cached)" not in again.source
    np.testing.assert_array_equal(first.x_train, again.x_train)


def test_interrupted_cache_write_leaves_nothing_a_later_run_trusts(tmp_path, monkeypatch):
    root = write_image_tree(tmp_path / "d" / "cifar10")
    real_savez = np.savez

    def savez_then_interrupted(file, **arrays):  # half the file is on disk when Ctrl-C arrives
        Path(file).write_bytes(b"PK\x03\x04" + bytes(5000))
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", savez_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        cc.load_dataset("cifar10", tmp_path / "d")
    assert _cache_files(tmp_path) == [], "the interrupted write left a file behind"
    # a temporary file left by a killed process is never read either
    (tmp_path / "cache" / f"{formats.tree_cache_path(root, 'cifar10').stem}.999.tmp.npz").write_bytes(b"junk")
    monkeypatch.setattr(np, "savez", real_savez)
    ds = cc.load_dataset("cifar10", tmp_path / "d", subset=False)
    assert "(cached)" not in ds.source and len(ds.x_train) == 36
    assert formats.tree_cache_path(root, "cifar10").is_file()


@pytest.mark.parametrize("how", ["under a file", "disk full"])
def test_a_cache_that_cannot_be_written_is_skipped_with_one_note(tmp_path, monkeypatch, capsys, how):
    """Issue 29: a read-only or full cache folder made load_dataset fail with [Errno 28] after decoding everything."""
    write_image_tree(tmp_path / "d" / "cifar10")
    if how == "under a file":  # mkdir fails, for root too (chmod would not stop root)
        (tmp_path / "a-file").write_text("not a folder")
        cache = tmp_path / "a-file" / "cache"
        monkeypatch.setenv("CIFAR_COURSE_CACHE", str(cache))
    else:
        cache = tmp_path / "cache"

        def disk_full(file, **arrays):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(np, "savez", disk_full)
    ds = cc.load_dataset("cifar10", tmp_path / "d", subset=False)
    assert len(ds.x_train) == 36 and "(cached)" not in ds.source
    notes = [line for line in capsys.readouterr().out.splitlines() if "could not write the cache" in line]
    assert len(notes) == 1 and str(cache) in notes[0] and "CIFAR_COURSE_CACHE" in notes[0], notes
    assert _cache_files(tmp_path) == []


def test_named_data_set_of_the_wrong_image_shape_is_one_clear_error_at_load_time(tmp_path):
    """Issue 29: 28x28 grayscale or 64x64 images in cifar10/, under its class names, failed 24 cells later."""
    names = list(data_mod.CIFAR10_CLASSES)
    write_image_tree(tmp_path / "gray" / "cifar10", classes=names, n_train=2, n_test=1, size=(28, 28), mode="L")
    with pytest.raises(cc.DataError, match=r"cifar10 images are 32x32x3 .* but these are 28x28x1.*image_size"):
        cc.load_dataset("cifar10", tmp_path / "gray")
    write_image_tree(tmp_path / "big" / "cifar10", classes=names, n_train=2, n_test=1, size=(64, 64))
    with pytest.raises(cc.DataError, match=r"but these are 64x64x3.*cifar-10-python.tar.gz"):
        cc.load_dataset("cifar10", tmp_path / "big")
    write_image_tree(tmp_path / "rgb" / "mnist", classes=[str(d) for d in range(10)], n_train=2, n_test=1)
    with pytest.raises(cc.DataError, match=r"mnist images are 28x28x1 .* but these are 32x32x3"):
        cc.load_dataset("mnist", tmp_path / "rgb")
    small = tmp_path / "npz" / "cifar100"
    small.mkdir(parents=True)
    np.savez(
        small / "arrays.npz",
        x_train=np.zeros((100, 16, 16, 3), np.uint8),
        y_train=np.arange(100),
        x_test=np.zeros((100, 16, 16, 3), np.uint8),
        y_test=np.arange(100),
        class_names=np.array([f"c{i}" for i in range(100)]),
    )
    with pytest.raises(cc.DataError, match=r"cifar100 images are 32x32x3 .* but these are 16x16x3"):
        cc.load_dataset("cifar100", tmp_path / "npz")
    # other classes in a data set's folder are images of your own: their size is not the data set's business
    write_image_tree(tmp_path / "own" / "cifar10", classes=("cat", "dog"), size=(8, 8))
    assert cc.load_dataset("cifar10", tmp_path / "own", subset=False).x_train.shape[1:] == (8, 8, 3)


# --------------------------------------------------------------------------- pickles that would run code
class _Payload:
    """Unpickling this object would call ``func(*args)``."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _payloads(marker: Path) -> dict:
    touch = f"touch {marker}"
    return {
        "os.system": _Payload(os.system, touch),
        "subprocess.Popen": _Payload(subprocess.Popen, ["touch", str(marker)]),
        "builtins.eval": _Payload(eval, f"open({str(marker)!r}, 'w')"),
        "builtins.exec": _Payload(exec, f"open({str(marker)!r}, 'w')"),
    }


@pytest.mark.parametrize("payload", ["os.system", "subprocess.Popen", "builtins.eval", "builtins.exec"])
@pytest.mark.parametrize(
    "layout, where",
    [
        ("archive", "data_batch_1"),
        ("archive", "batches.meta"),
        ("archive", "object array in test_batch"),
        ("folder", "data_batch_1"),
    ],
)
def test_pickle_that_would_run_code_is_refused_and_never_runs(tmp_path, payload, layout, where):
    marker = tmp_path / "code-ran"
    evil = _payloads(marker)[payload]
    files = cifar10_files()
    if where == "batches.meta":
        files["batches.meta"] = pickle.dumps({b"label_names": [b"cat", evil]}, protocol=2)
    elif where == "data_batch_1":
        files["data_batch_1"] = pickle.dumps({b"data": evil, b"labels": [0]}, protocol=2)
    else:  # hidden inside an ndarray of Python objects
        files["test_batch"] = pickle.dumps({b"data": np.array([evil, 1], dtype=object), b"labels": [0]}, protocol=2)
    if layout == "archive":
        write_tar_gz(tmp_path / "d" / "cifar10" / "cifar-10-python.tar.gz", "cifar-10-batches-py", files)
    else:
        write_folder(tmp_path / "d" / "cifar10" / "cifar-10-batches-py", files)
    with pytest.raises(cc.DataError, match=r"Refused to unpickle \S+\.(system|Popen|eval|exec): official CIFAR"):
        cc.load_dataset("cifar10", tmp_path / "d")
    assert not marker.exists(), "the pickle ran code"


def test_payloads_would_run_code_with_a_plain_unpickler(tmp_path):
    """Guards the test above: with pickle.loads each payload really does run (so 'refused' means something)."""
    marker = tmp_path / "code-ran"
    for name in ("os.system", "builtins.exec"):
        pickle.loads(pickle.dumps(_payloads(marker)[name], protocol=2))
        assert marker.exists(), name
        marker.unlink()


# --------------------------------------------------------------------------- models
def test_model_with_python_code_is_refused_by_load_model(tmp_path):
    marker = tmp_path / "lambda-ran"
    touch_marker = eval(f"lambda x: (__import__('pathlib').Path({str(marker)!r}).touch(), x)[1]")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(touch_marker), keras.layers.Dense(2)])
    model.save(tmp_path / "model.keras")
    marker.unlink()  # building the model ran the function once; loading must not
    with pytest.raises(ValueError, match="Lambda.*safe_mode"):
        cc.load_model(tmp_path)
    assert not marker.exists()


def test_damaged_model_file_is_a_clear_error(tmp_path):
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(tmp_path / "best.keras")
    path = tmp_path / "best.keras"
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ValueError, match="best.keras is damaged or not a Keras model.*Train the model again"):
        cc.load_model(tmp_path, best=True)


def test_model_naming_an_unknown_class_is_a_clear_error(tmp_path):
    """A run saved with code this copy of the course lacks (a newer version, a student's own layer)."""

    class StudentsDense(keras.layers.Dense):  # not registered: Keras cannot find it again when loading
        pass

    keras.Sequential([keras.Input((4,)), StudentsDense(2)]).save(tmp_path / "model.keras")
    with pytest.raises(ValueError, match="model.keras names StudentsDense, which this Python session does not define"):
        cc.load_model(tmp_path)


def test_keras_zip_without_config_json_is_a_clear_error_naming_the_file(tmp_path):
    """Issue 29: a .keras zip without config.json raised a bare KeyError."""
    with zipfile.ZipFile(tmp_path / "model.keras", "w") as zf:
        zf.writestr("metadata.json", "{}")
    with pytest.raises(ValueError, match=r"model.keras is damaged or not a Keras model \(.*'config.json'.*Train"):
        cc.load_model(tmp_path)


def test_model_refused_for_a_vocabulary_file_outside_it_is_not_called_an_unknown_class(tmp_path):
    """Issue 29: safe mode refusing an outside vocabulary file was reworded as "define or import that class"."""
    keras.Sequential([keras.Input((1,), dtype="string"), keras.layers.StringLookup(vocabulary=["cat", "dog"])]).save(
        tmp_path / "saved.keras"
    )
    with zipfile.ZipFile(tmp_path / "saved.keras") as saved, zipfile.ZipFile(tmp_path / "model.keras", "w") as edited:
        for item in saved.infolist():
            raw = saved.read(item.filename)
            if item.filename == "config.json":  # point the vocabulary at a file outside the model, as an attacker would
                raw = raw.replace(b'["cat", "dog"]', json.dumps(str(tmp_path / "secret.txt")).encode())
            edited.writestr(item, raw)
    (tmp_path / "secret.txt").write_text("password\n")
    with pytest.raises(ValueError) as refused:
        cc.load_model(tmp_path)
    message = str(refused.value)
    assert "safe mode" in message and "vocabulary file outside of the model archive" in message, message
    assert "Define or import" not in message and "config={" not in message and len(message) < 1000


UNSAFE = {
    r"allow_pickle\s*=\s*True": "np.load(allow_pickle=True) runs code from the file",
    r"safe_mode\s*=\s*False": "Keras safe mode off runs code from the file",
    r"enable_unsafe_deserialization": "turns Keras safe mode off everywhere",
    r"\bpickle\.loads?\(": "use data.safe_unpickle for CIFAR batches",
}


def _sources() -> dict[str, str]:
    import json

    found = {str(p.relative_to(REPO)): p.read_text() for p in (REPO / "cifar_course").glob("*.py")}
    for nb in (REPO / "notebooks").rglob("*.ipynb"):
        cells = json.loads(nb.read_text()).get("cells", [])
        found[str(nb.relative_to(REPO))] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return found


def test_no_unsafe_loading_in_the_package_or_the_notebooks():
    sources = _sources()
    assert "cifar_course/data.py" in sources
    problems = [
        f"{path}: {pattern} ({why})"
        for path, text in sources.items()
        for pattern, why in UNSAFE.items()
        if re.search(pattern, text)
    ]
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- saved runs
def test_two_runs_in_the_same_second_never_share_a_folder(monkeypatch):
    import datetime as dt
    from types import SimpleNamespace

    frozen = dt.datetime(2026, 1, 2, 3, 4, 5)
    monkeypatch.setattr(training, "dt", SimpleNamespace(datetime=SimpleNamespace(now=lambda: frozen)))
    runs = [cc.new_run("02", "R1") for _ in range(3)]
    assert [r.name for r in runs] == ["02_R1_20260102-030405", "02_R1_20260102-030405-2", "02_R1_20260102-030405-3"]
    assert all(r.path.is_dir() and not any(r.path.iterdir()) for r in runs)


def _tiny_model_and_data(seed: int = 0):
    cc.set_seeds(seed)
    ds = data_mod.synthetic_dataset("cifar10", 200, 40)
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Conv2D(4, 3, strides=2, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ],
        name="tiny",
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, cc.scale_pixels(ds.x_train), ds.y_train


class _StopAfter(keras.callbacks.Callback):
    """Raises KeyboardInterrupt (Ctrl-C, or the notebook's stop button) after ``epochs`` epochs."""

    def __init__(self, epochs: int):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            raise KeyboardInterrupt


def test_interrupted_training_keeps_history_and_best_checkpoint():
    model, x, y = _tiny_model_and_data()
    run = cc.new_run("02", "tiny")
    with pytest.raises(KeyboardInterrupt):
        model.fit(
            x, y, validation_split=0.2, epochs=5, batch_size=50, verbose=0, callbacks=run.callbacks() + [_StopAfter(2)]
        )
    assert len((run / "history.csv").read_text().strip().splitlines()) == 1 + 2  # header + 2 epochs
    history = cc.load_history(run)
    assert len(history["loss"]) == 2 and len(history["val_accuracy"]) == 2
    assert cc.load_model(run, best=True).count_params() == model.count_params()
    assert training.interrupted_runs() == [run.path] and cc.list_runs() == []
    assert not (run / "saving-best.keras").exists()


def test_interrupt_while_saving_the_checkpoint_keeps_the_previous_best(monkeypatch):
    model, x, y = _tiny_model_and_data()
    run = cc.new_run("02", "tiny")
    real_save, saves = keras.Model.save, []

    def save_cut_short(self, filepath, *args, **kwargs):
        saves.append(filepath)
        if len(saves) == 2:  # the second checkpoint is half written when Ctrl-C arrives
            Path(filepath).write_bytes(b"PK\x03\x04 half a file")
            raise KeyboardInterrupt
        return real_save(self, filepath, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save", save_cut_short)
    with pytest.raises(KeyboardInterrupt):
        model.fit(
            x, y, epochs=5, batch_size=50, verbose=0, callbacks=run.callbacks(monitor="loss")
        )  # the training loss falls each epoch
    monkeypatch.setattr(keras.Model, "save", real_save)
    assert len(saves) == 2
    assert cc.load_model(run, best=True).count_params() == model.count_params()  # epoch 1's model, intact
    history = cc.load_history(run)  # no validation data: CSVLogger wrote val_* columns of "NA", dropped here
    assert len(history["loss"]) == 1 and not any(k.startswith("val_") for k in history)


KILLED_TRAINING = """
import os, signal, sys
sys.path.insert(0, {tests!r})
import keras
import cifar_course as cc
from test_faults import _tiny_model_and_data

class KillAfterTwo(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            os.kill(os.getpid(), signal.SIGKILL)  # no clean-up of any kind, as when a kernel dies

model, x, y = _tiny_model_and_data()
run = cc.new_run("02", "tiny")
model.fit(x, y, validation_split=0.2, epochs=5, batch_size=50, verbose=0,
          callbacks=run.callbacks() + [KillAfterTwo()])
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_killed_training_keeps_history_and_best_checkpoint():
    script = KILLED_TRAINING.format(tests=str(Path(__file__).parent))
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == -9, proc.stderr[-2000:]
    [run] = training.interrupted_runs()
    assert len(cc.load_history(run)["loss"]) == 2
    assert cc.load_model(run, best=True).count_params() > 0


def test_half_written_history_line_is_ignored(tmp_path):
    (tmp_path / "history.csv").write_text("epoch,accuracy,loss\n0,0.2,2.1\n1,0.3,1.9\n2,0.4")
    assert cc.load_history(tmp_path) == {"accuracy": [0.2, 0.3], "loss": [2.1, 1.9]}


# --------------------------------------------------------------------------- VGG16 weights
@pytest.mark.parametrize("given_by", ["argument", "environment", "keras cache"])
def test_vgg16_weights_of_the_wrong_shape_name_the_setting_and_the_fix(tmp_path, monkeypatch, given_by):
    from cifar_course.models import vgg16_base
    from cifar_course.pretrained import VGG16

    wrong = tmp_path / "wrong.weights.h5"  # VGG16 for 1-channel images: block1_conv1 is (3, 3, 1, 64)
    keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 1)).save_weights(wrong)
    kwargs = {}
    if given_by == "argument":
        kwargs["weights_file"] = wrong
        setting, fix = "weights_file", "Set weights_file to the file " + VGG16.file
    elif given_by == "environment":
        monkeypatch.setenv("CIFAR_COURSE_VGG16_WEIGHTS", str(wrong))
        setting, fix = "CIFAR_COURSE_VGG16_WEIGHTS", "Set CIFAR_COURSE_VGG16_WEIGHTS to the file " + VGG16.file
    else:
        cached = tmp_path / "keras" / "models" / VGG16.file
        cached.parent.mkdir(parents=True)
        cached.write_bytes(wrong.read_bytes())
        setting, fix = "the Keras cache", "Delete it: Keras then downloads the right file"
    with pytest.raises(ValueError, match=rf"(?s)\(from {setting}\) does not fit VGG16 without its top .*{fix}"):
        vgg16_base(**kwargs)
