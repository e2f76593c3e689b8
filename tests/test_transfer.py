"""VGG16 preprocessing and the feature cache (a tiny stand-in base keeps these fast)."""

import keras
import numpy as np
import pytest

import cifar_course as cc
from cifar_course import checks, models, transfer


@pytest.fixture
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv("CIFAR_COURSE_CACHE", str(tmp_path))
    return tmp_path


def tiny_base(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, activation="relu"), keras.layers.MaxPooling2D(2)],
        name="tiny",
    )


def pixels(n=10):
    return np.random.default_rng(0).integers(0, 256, (n, 8, 8, 3)).astype(np.uint8)


def test_vgg_preprocess_by_hand():
    x = np.zeros((1, 1, 1, 3), np.uint8) + np.array([10, 20, 30], np.uint8)  # R, G, B
    out = transfer.vgg_preprocess(x)
    assert out.dtype == np.float32
    assert np.allclose(out[0, 0, 0], [30 - 103.939, 20 - 116.779, 10 - 123.68])  # B, G, R minus ImageNet means


def test_vgg_preprocess_leaves_its_input_alone():
    x = np.full((2, 2, 2, 3), 100.0, np.float32)  # keras's preprocess_input edits float arrays in place
    transfer.vgg_preprocess(x)
    assert (x == 100.0).all()


def test_fingerprint():
    a = np.arange(6, dtype=np.float32)
    assert transfer._fingerprint(a) == transfer._fingerprint(a.copy())
    assert transfer._fingerprint(a) != transfer._fingerprint(a.reshape(2, 3))  # shape counts
    assert transfer._fingerprint(a) != transfer._fingerprint(a.astype(np.float64))  # dtype counts
    assert transfer._fingerprint(a) != transfer._fingerprint(a + 1)


def test_extract_features_computes_then_loads_from_cache(cache, capsys):
    base, x = tiny_base(), pixels(10).astype(np.float32)
    features, seconds = transfer.extract_features(base, x, batch_size=4)
    assert features.shape == (10, 3, 3, 4) and features.dtype == np.float32
    assert np.allclose(features, base.predict(x, verbose=0), atol=1e-5)
    assert "computed" in capsys.readouterr().out
    assert len(list((cache / "features").glob("tiny-*.npz"))) == 1

    again, seconds_again = transfer.extract_features(base, x)
    assert np.array_equal(again, features) and seconds_again == pytest.approx(seconds)
    assert "loaded" in capsys.readouterr().out


def test_cache_key_follows_weights_and_data(cache):
    x = pixels(6).astype(np.float32)
    base = tiny_base(0)
    transfer.extract_features(base, x)
    transfer.extract_features(base, x[:5])  # other data
    transfer.extract_features(tiny_base(1), x)  # other weights
    assert len(list((cache / "features").glob("*.npz"))) == 3


def test_no_cache_and_damaged_cache(cache, capsys):
    base, x = tiny_base(), pixels(4).astype(np.float32)
    transfer.extract_features(base, x, cache=False)
    assert not (cache / "features").exists()
    path = transfer._feature_cache_path(base, x)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an npz")
    features, _ = transfer.extract_features(base, x)
    assert features.shape == (4, 3, 3, 4)
    assert "damaged" in capsys.readouterr().out
    with np.load(path, allow_pickle=False) as npz:  # rewritten properly
        assert npz["features"].shape == (4, 3, 3, 4)


def test_extract_features_needs_images(cache):
    with pytest.raises(ValueError, match="no images"):
        transfer.extract_features(tiny_base(), np.zeros((0, 8, 8, 3), np.float32))


def test_check_vgg_preprocessed(capsys):
    x = pixels(3)
    assert checks.check_vgg_preprocessed(None, x) is None
    assert "Not answered" in capsys.readouterr().out
    assert checks.check_vgg_preprocessed(transfer.vgg_preprocess(x), x) is None
    assert "Correct" in capsys.readouterr().out
    mean = np.array([103.939, 116.779, 123.68], np.float32)
    with pytest.raises(checks.CheckFailed, match="RGB order"):
        checks.check_vgg_preprocessed(x.astype(np.float32) - mean[::-1], x)
    with pytest.raises(checks.CheckFailed, match="divide by 255"):
        checks.check_vgg_preprocessed(x / 255.0, x)
    with pytest.raises(checks.CheckFailed, match="means are not subtracted"):
        checks.check_vgg_preprocessed(x[..., ::-1].astype(np.float32), x)
    with pytest.raises(checks.CheckFailed, match="shape"):
        checks.check_vgg_preprocessed(transfer.vgg_preprocess(x)[:2], x)
    with pytest.raises(checks.CheckFailed, match="preprocess_input"):
        checks.check_vgg_preprocessed(x.astype(np.float32) - 120, x)


KERAS_OFFLINE = Exception(  # what keras.applications.VGG16(weights="imagenet") raises without internet
    f"URL fetch failure on {models.VGG16_URL}: None -- [Errno -2] Name or service not known"
)


def test_missing_weights_message_names_the_file_and_the_fixes(monkeypatch):
    monkeypatch.delenv("KERAS_HOME")
    err = models._vgg16_weights_missing(KERAS_OFFLINE)
    assert isinstance(err, cc.MissingHere) and not isinstance(err, ValueError)  # cifar-course run: "not run here"
    what, online, offline = str(err).splitlines()
    assert what == (
        "VGG16's ImageNet weights are missing: vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 is not on this "
        "machine and Keras could not download it ([Errno -2] Name or service not known)."
    )
    assert len(what) < 240  # the runner's "not run: <first line>" keeps it whole
    assert online == 'With internet, run: python -c "import keras; keras.applications.VGG16(include_top=False)"'
    assert offline == (
        "Offline: download https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 on another machine and copy it into ~/.keras/models/ "
        "here, or set CIFAR_COURSE_VGG16_WEIGHTS=/path/to/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    )


def test_missing_weights_message_follows_keras_home_and_any_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    message = str(models._vgg16_weights_missing(OSError("Permission denied\nmore details")))
    assert (
        "download it (Permission denied)." in message and f"copy it into {tmp_path / 'kh' / 'models'}/ here" in message
    )
    assert "download it (TimeoutError)." in str(models._vgg16_weights_missing(TimeoutError()))


def test_the_weights_url_is_the_one_keras_uses():
    keras_vgg16 = pytest.importorskip("keras.src.applications.vgg16")  # Keras's own module (not public API)
    assert models.VGG16_URL == keras_vgg16.WEIGHTS_PATH_NO_TOP


def test_a_feature_cache_that_cannot_be_written_is_skipped_with_one_note(monkeypatch, tmp_path, capsys):
    """Issue 29: a read-only or full cache folder must not stop lesson 05; the features are computed anyway."""
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("CIFAR_COURSE_CACHE", str(tmp_path / "a-file" / "cache"))  # mkdir fails, even for root
    features, _ = transfer.extract_features(tiny_base(), pixels(4).astype(np.float32))
    assert features.shape == (4, 3, 3, 4)
    out = capsys.readouterr().out
    assert out.count("could not write the cache") == 1 and str(tmp_path / "a-file" / "cache") in out
    assert "computed (4, 3, 3, 4)" in out and "cached in" not in out
