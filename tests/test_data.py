"""Every data source load_dataset tries, in order, and the array helpers."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

import cifar_course as cc
from cifar_course import data as data_mod
from conftest import CIFAR10_NAMES, cifar10_files, cifar100_files, write_folder, write_image_tree, write_tar_gz


def test_official_cifar10_archive_is_read_without_extracting(tiny_cifar10_archive, tmp_path):
    ds = cc.load_dataset("cifar10", tmp_path / "data", subset=False)
    assert ds.x_train.shape == (100, 32, 32, 3) and ds.x_train.dtype == np.uint8
    assert ds.x_test.shape == (20, 32, 32, 3)
    assert ds.class_names == CIFAR10_NAMES
    assert "official archive" in ds.source and not ds.synthetic
    # pixel layout: the official rows are 1024 red, 1024 green, 1024 blue values
    batch1 = pickle.loads(cifar10_files()["data_batch_1"])[b"data"]
    np.testing.assert_array_equal(ds.x_train[0, :, :, 0].ravel(), batch1[0, :1024])
    np.testing.assert_array_equal(ds.x_train[0, :, :, 2].ravel(), batch1[0, 2048:])


def test_extracted_cifar10_batches(tmp_path):
    write_folder(tmp_path / "d" / "cifar10" / "cifar-10-batches-py", cifar10_files())
    ds = cc.load_dataset("cifar10", tmp_path / "d", subset=False)
    assert len(ds.x_train) == 100 and "official batches" in ds.source


def test_cifar100_fine_and_coarse_labels(tmp_path):
    write_tar_gz(tmp_path / "d" / "cifar100" / "cifar-100-python.tar.gz", "cifar-100-python", cifar100_files())
    fine = cc.load_dataset("cifar100", tmp_path / "d", subset=False)
    coarse = cc.load_dataset("cifar100", tmp_path / "d", subset=False, label_mode="coarse")
    assert fine.num_classes == 100 and coarse.num_classes == 20
    assert fine.y_train.max() == 99 and coarse.y_train.max() == 19
    assert coarse.class_names[0] == "coarse0"


def test_image_tree_is_shuffled_cached_and_named_by_folders(tmp_path, capsys):
    root = write_image_tree(tmp_path / "d" / "cifar10")
    first = cc.load_dataset("cifar10", tmp_path / "d", subset=False)
    assert first.class_names == ["cat", "dog", "frog"]
    assert first.x_train.shape == (36, 32, 32, 3)
    # the folder lists class by class; the loader must not keep that order
    assert not np.array_equal(first.y_train, np.sort(first.y_train))
    assert list(tmp_path.joinpath("cache").glob("cifar10-*.npz")), "decoded arrays were not cached"
    second = cc.load_dataset("cifar10", tmp_path / "d", subset=False)
    assert second.source.endswith("(cached)")
    np.testing.assert_array_equal(first.x_train, second.x_train)
    np.testing.assert_array_equal(first.y_train, second.y_train)
    # a changed folder invalidates the cache
    write_image_tree(root, classes=("cat", "dog", "frog", "ship"))
    third = cc.load_dataset("cifar10", tmp_path / "d", subset=False)
    assert third.num_classes == 4 and "(cached)" not in third.source


def test_grayscale_image_tree_keeps_one_channel(tmp_path):
    write_image_tree(tmp_path / "d" / "mnist", classes=("0", "1"), size=(28, 28), mode="L")
    ds = cc.load_dataset("mnist", tmp_path / "d", subset=False)
    assert ds.x_train.shape == (24, 28, 28, 1)


def test_keras_style_npz_in_data_folder(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "d" / "mnist"
    folder.mkdir(parents=True)
    np.savez(
        folder / "mnist.npz",
        x_train=rng.integers(0, 255, (30, 28, 28), dtype=np.uint8),
        y_train=np.arange(30) % 10,
        x_test=rng.integers(0, 255, (10, 28, 28), dtype=np.uint8),
        y_test=np.arange(10),
    )
    ds = cc.load_dataset("mnist", tmp_path / "d", subset=False)
    assert ds.x_train.shape == (30, 28, 28, 1) and ds.class_names[3] == "3"


def test_data_folder_is_tried_before_the_keras_cache(tmp_path, tiny_cifar10_archive):
    write_folder(
        tmp_path / "keras" / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py",
        cifar10_files(n_per_batch=4),
    )
    os.environ["CIFAR_COURSE_DATA"] = str(tmp_path / "data")
    assert len(cc.load_dataset("cifar10", subset=False).x_train) == 100
    del os.environ["CIFAR_COURSE_DATA"]
    from_cache = cc.load_dataset("cifar10", subset=False)
    assert len(from_cache.x_train) == 20 and "official batches" in from_cache.source


def test_keras_cache_mnist_and_fashion(tmp_path):
    import gzip

    base = tmp_path / "keras" / "datasets"
    base.mkdir(parents=True)
    np.savez(
        base / "mnist.npz",
        x_train=np.zeros((20, 28, 28), np.uint8),
        y_train=np.arange(20) % 10,
        x_test=np.zeros((10, 28, 28), np.uint8),
        y_test=np.arange(10),
    )
    assert cc.load_dataset("mnist", subset=False).x_train.shape == (20, 28, 28, 1)

    def idx(array: np.ndarray) -> bytes:
        header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
        return gzip.compress(header + array.astype(np.uint8).tobytes())

    fashion = base / "fashion-mnist"
    fashion.mkdir()
    for prefix, n in (("train", 30), ("t10k", 10)):
        (fashion / f"{prefix}-images-idx3-ubyte.gz").write_bytes(idx(np.full((n, 28, 28), 7)))
        (fashion / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(idx(np.arange(n) % 10))
    ds = cc.load_dataset("fashion_mnist", subset=False)
    assert ds.x_train.shape == (30, 28, 28, 1) and ds.class_names[9] == "Ankle boot"


def test_download_is_used_when_nothing_is_local(tmp_path, monkeypatch):
    import keras

    calls = []

    def fake_load_data():  # what Keras does: put the official files into its cache
        calls.append(1)
        write_folder(
            tmp_path / "keras" / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py",
            cifar10_files(n_per_batch=2),
        )

    monkeypatch.setattr(keras.datasets.cifar10, "load_data", fake_load_data)
    monkeypatch.setattr(data_mod, "_reachable", lambda host: True)
    ds = cc.load_dataset("cifar10", download=True, subset=False)
    assert calls and ds.source.startswith("download") and len(ds.x_train) == 10


def test_failed_download_falls_back_to_synthetic_only_in_smoke(monkeypatch, capsys):
    import keras

    def offline():
        raise Exception("URL fetch failure: Name or service not known")

    monkeypatch.setattr(keras.datasets.cifar10, "load_data", offline)
    monkeypatch.setattr(data_mod, "_reachable", lambda host: True)  # the server answers, the download then fails
    ds = cc.load_dataset("cifar10", download=True)
    assert ds.synthetic and all(n.startswith("synthetic") for n in ds.class_names)
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out and "URL fetch failure" in out
    with pytest.raises(cc.DataNotFoundError) as err:
        cc.load_dataset("cifar10", download=True, profile="quick")
    message = str(err.value)
    assert "URL fetch failure" in message and "CIFAR_COURSE_DATA" in message
    assert "keras.datasets.cifar10.load_data()" in message and "cifar-10-python.tar.gz" in message


def test_no_network_skips_the_download_with_one_clear_line(monkeypatch, capsys):
    import socket

    import keras

    def no_network(address, timeout=None):
        raise OSError("Network is unreachable")

    def must_not_run(*args, **kwargs):
        raise AssertionError("load_data must not start (it would print 'Downloading data from ...' first)")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(keras.datasets.cifar100, "load_data", must_not_run)
    with pytest.raises(cc.DataNotFoundError) as err:
        cc.load_dataset("cifar100", download=True, profile="quick")
    assert "download: skipped (no network: www.cs.toronto.edu cannot be reached)" in str(err.value)
    assert "Downloading data from" not in capsys.readouterr().out


def test_synthetic_stand_in_is_learnable_and_balanced():
    ds = data_mod.synthetic_dataset("cifar10", 600, 200)
    assert ds.x_train.shape == (600, 32, 32, 3) and ds.x_train.dtype == np.uint8
    assert np.bincount(ds.y_train).tolist() == [60] * 10
    # a nearest-class-mean classifier separates the classes: the data carry signal, not noise
    x = ds.x_train.reshape(600, -1).astype(float)
    means = np.stack([x[ds.y_train == k].mean(0) for k in range(10)])
    xt = ds.x_test.reshape(200, -1).astype(float)
    pred = np.argmin(((xt[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert (pred == ds.y_test).mean() > 0.9


def test_profiles_cut_the_data_stratified(tiny_cifar10_archive, tmp_path):
    small = cc.Profile("tiny", 50, 10, "test")
    ds = cc.load_dataset("cifar10", tmp_path / "data", profile=small)
    assert len(ds.x_train) == 50 and len(ds.x_test) == 10
    assert np.bincount(ds.y_train).tolist() == [5] * 10
    full = cc.load_dataset("cifar10", tmp_path / "data", profile="full")
    assert len(full.x_train) == 100


def test_dataset_unpacks_like_keras_load_data_and_keeps_its_attributes(tiny_cifar10_archive, tmp_path):
    ds = cc.load_dataset("cifar10", tmp_path / "data", subset=False)
    y_train, y_test = ds.y_train.copy(), ds.y_test.copy()
    (train_images, train_labels), (test_images, test_labels) = ds  # as keras.datasets.cifar10.load_data()
    assert train_images.shape == (100, 32, 32, 3) and test_images.shape == (20, 32, 32, 3)
    assert train_images.dtype == test_images.dtype == np.uint8
    assert train_labels.shape == (100, 1) and test_labels.shape == (20, 1)
    assert train_labels.dtype == test_labels.dtype == np.uint8  # what Keras returns for CIFAR
    np.testing.assert_array_equal(train_labels[:, 0], ds.y_train)
    np.testing.assert_array_equal(test_labels[:, 0], ds.y_test)
    assert ds.class_names[train_labels[3][0]] == CIFAR10_NAMES[ds.y_train[3]]  # the tutorial's indexing
    assert train_images is ds.x_train and test_images is ds.x_test  # the images are not copied
    # attribute access is unchanged: flat int64 labels, untouched by the unpacking
    assert ds.y_train.shape == (100,) and ds.y_test.shape == (20,) and ds.y_train.dtype == np.int64
    np.testing.assert_array_equal(ds.y_train, y_train)
    np.testing.assert_array_equal(ds.y_test, y_test)
    # unpacking twice gives the same; more classes than uint8 holds keep the labels' own type
    (_, again), _ = ds
    np.testing.assert_array_equal(again, train_labels)
    many = np.arange(300)
    big = data_mod.Dataset(
        "own", np.zeros((300, 8, 8, 3), np.uint8), many, ds.x_test[:0], many[:0], [f"c{k}" for k in many], "t"
    )
    (_, big_labels), (_, big_test_labels) = big
    assert big_labels.dtype == np.int64 and big_labels.shape == (300, 1) and big_labels[299, 0] == 299
    assert big_test_labels.shape == (0, 1)


def test_validation_split_is_stratified_and_disjoint_on_class_sorted_data():
    x = np.arange(1000).reshape(1000, 1)
    y = np.repeat(np.arange(10), 100)  # sorted by class, as an image-folder listing is
    (x_tr, y_tr), (x_val, y_val) = cc.split_validation(x, y, 0.1)
    assert len(x_val) == 100 and len(x_tr) == 900
    assert np.bincount(y_val).tolist() == [10] * 10  # Keras's validation_split would give class 9 only
    assert not set(x_tr.ravel()) & set(x_val.ravel())
    (_, y1h_tr), (_, y1h_val) = cc.split_validation(x, cc.one_hot(y, 10), 0.2)
    assert y1h_val.shape == (200, 10) and np.all(y1h_val.sum(0) == 20)


def test_every_class_in_train_validation_and_test(tmp_path):
    write_image_tree(tmp_path / "d" / "cifar10", classes=tuple(CIFAR10_NAMES), n_train=20, n_test=3)
    ds = cc.load_dataset("cifar10", tmp_path / "d", subset=False)
    (x_tr, y_tr), (x_val, y_val) = cc.split_validation(ds.x_train, ds.y_train, 0.1)
    for y in (y_tr, y_val, ds.y_test):
        assert set(np.unique(y)) == set(range(10))


def test_scale_pixels_and_one_hot():
    x = np.array([[0, 128, 255]], dtype=np.uint8)
    scaled = cc.scale_pixels(x)
    assert scaled.dtype == np.float32 and scaled.max() == 1.0 and abs(scaled[0, 1] - 128 / 255) < 1e-7
    with pytest.raises(cc.DataError, match="scaled already"):
        cc.scale_pixels(scaled)
    np.testing.assert_array_equal(cc.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(cc.DataError, match="outside 0..2"):
        cc.one_hot(np.array([3]), 3)


def test_bad_names_and_folders_give_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="Unknown data set 'cifar11'.*cifar10"):
        cc.load_dataset("cifar11")
    with pytest.raises(ValueError, match="CIFAR_COURSE_DATA points to .*not a folder"):
        os.environ["CIFAR_COURSE_DATA"] = str(tmp_path / "nope")
        try:
            cc.load_dataset("cifar10")
        finally:
            del os.environ["CIFAR_COURSE_DATA"]


def test_truncated_archive_is_an_error_not_half_a_data_set(tiny_cifar10_archive, tmp_path):
    raw = tiny_cifar10_archive.read_bytes()
    tiny_cifar10_archive.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(cc.DataError, match="truncated or corrupt"):
        cc.load_dataset("cifar10", tmp_path / "data")


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("touch /tmp/cifar-course-pwned",))


def test_malicious_pickle_is_refused(tmp_path):
    files = cifar10_files()
    files["data_batch_1"] = pickle.dumps({b"data": _RunsCode(), b"labels": [0]}, protocol=2)
    write_tar_gz(tmp_path / "d" / "cifar10" / "cifar-10-python.tar.gz", "cifar-10-batches-py", files)
    with pytest.raises(cc.DataError, match=r"Refused to unpickle (posix|os)\.system"):
        cc.load_dataset("cifar10", tmp_path / "d")
    assert not os.path.exists("/tmp/cifar-course-pwned")


def test_validation_split_too_small_for_the_classes_is_a_clear_error():
    y = np.arange(200) % 100
    with pytest.raises(cc.DataError, match="cannot hold all 100 classes"):
        cc.split_validation(np.zeros((200, 1)), y, 0.1)


def test_default_data_folder_is_found_without_setting(tmp_path, tiny_cifar10_archive):
    assert cc.folders.data_folder()[0] is None  # no ~/cifar-course-data yet
    home_data = tmp_path / "home" / "cifar-course-data"
    home_data.mkdir()
    (tiny_cifar10_archive.parent).rename(home_data / "cifar10")
    ds = cc.load_dataset("cifar10", subset=False)
    assert len(ds.x_train) == 100 and str(home_data) in ds.source


def test_split_validation_follows_the_seed_given_to_setup():
    x, y = np.arange(200).reshape(200, 1), np.arange(200) % 4
    cc.set_seeds(42)
    (_, _), (first, _) = cc.split_validation(x, y, 0.2)
    (_, _), (again, _) = cc.split_validation(x, y, 0.2, seed=42)
    cc.set_seeds(7)
    (_, _), (other, _) = cc.split_validation(x, y, 0.2)
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    cc.set_seeds(42)  # the other tests' default
