"""VGG16 preprocessing and the feature cache (a tiny stand-in base keeps these fast)."""

import keras
import numpy as np
import pytest

import cifar_course as cc
from cifar_course import checks, pretrained, transfer


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
    f"URL fetch failure on {pretrained.VGG16.url}: None -- [Errno -2] Name or service not known"
)


def test_missing_weights_message_names_the_file_and_the_fixes(monkeypatch):
    monkeypatch.delenv("KERAS_HOME")
    err = pretrained.missing(pretrained.VGG16, KERAS_OFFLINE)
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
    message = str(pretrained.missing(pretrained.VGG16, OSError("Permission denied\nmore details")))
    assert (
        "download it (Permission denied)." in message and f"copy it into {tmp_path / 'kh' / 'models'}/ here" in message
    )
    assert "download it (TimeoutError)." in str(pretrained.missing(pretrained.VGG16, TimeoutError()))


def test_the_weights_url_is_the_one_keras_uses():
    keras_vgg16 = pytest.importorskip("keras.src.applications.vgg16")  # Keras's own module (not public API)
    assert pretrained.VGG16.url == keras_vgg16.WEIGHTS_PATH_NO_TOP


def test_a_feature_cache_that_cannot_be_written_is_skipped_with_one_note(monkeypatch, tmp_path, capsys):
    """Issue 29: a read-only or full cache folder must not stop lesson 05; the features are computed anyway."""
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("CIFAR_COURSE_CACHE", str(tmp_path / "a-file" / "cache"))  # mkdir fails, even for root
    features, _ = transfer.extract_features(tiny_base(), pixels(4).astype(np.float32))
    assert features.shape == (4, 3, 3, 4)
    out = capsys.readouterr().out
    assert out.count("could not write the cache") == 1 and str(tmp_path / "a-file" / "cache") in out
    assert "computed (4, 3, 3, 4)" in out and "cached in" not in out


# --------------------------------------------------------------------------- EfficientNetV2B0 (lesson 05 §12)
KERAS_EFFNET_OFFLINE = Exception(  # what keras.applications.EfficientNetV2B0(weights="imagenet") raises offline
    f"URL fetch failure on {pretrained.EFFICIENTNET.url}: None -- [Errno -2] Name or service not known"
)


@pytest.fixture
def no_download(monkeypatch):
    """Keras's download fails as it does without internet; the test sees every call to it."""
    from keras.src.utils import file_utils

    calls = []

    def offline(fname, origin=None, **kwargs):
        calls.append(origin)
        raise KERAS_EFFNET_OFFLINE

    monkeypatch.setattr(file_utils, "get_file", offline)
    monkeypatch.delenv(pretrained.EFFICIENTNET.env, raising=False)
    return calls


def test_efficientnet_base_falls_back_to_random_weights_in_smoke_only(no_download, capsys):
    base, source = transfer.efficientnet_base(32)
    assert no_download == [pretrained.EFFICIENTNET.url]  # the real path was tried first: weights="imagenet"
    assert source.startswith("RANDOM") and "WARNING" in capsys.readouterr().err
    assert base.name == "efficientnetv2b0_32px" and base.input_shape == (None, 32, 32, 3)
    assert base.output_shape == (None, 1280) and base.trainable_weights == []
    assert base.get_layer("upscale").get_config()["height"] == 32


def test_efficientnet_base_offline_outside_smoke_names_the_file_and_the_fixes(no_download, monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "quick")
    monkeypatch.setenv("KERAS_HOME", "/kh")
    with pytest.raises(cc.MissingHere) as err:
        transfer.efficientnet_base(32)
    what, online, offline = str(err.value).splitlines()
    assert what == (
        "EfficientNetV2B0's ImageNet weights are missing: efficientnetv2-b0_notop.h5 is not on this machine and "
        "Keras could not download it ([Errno -2] Name or service not known)."
    )
    assert online == (
        'With internet, run: python -c "import keras; keras.applications.EfficientNetV2B0(include_top=False)"'
    )
    assert offline == (
        "Offline: download https://storage.googleapis.com/tensorflow/keras-applications/efficientnet_v2/"
        "efficientnetv2-b0_notop.h5 on another machine and copy it into /kh/models/ here, "
        "or set CIFAR_COURSE_EFFNET_WEIGHTS=/path/to/efficientnetv2-b0_notop.h5"
    )


def test_efficientnet_base_loads_a_weights_file_given_or_from_the_environment(no_download, tmp_path, monkeypatch):
    keras.utils.set_random_seed(3)
    saved = transfer._efficientnet(32, None)
    path = tmp_path / "effnet.weights.h5"
    saved.save_weights(path)
    x = pixels(4).repeat(4, axis=1).repeat(4, axis=2).astype(np.float32)  # 32x32 images
    expected = np.asarray(saved(x, training=False))

    base, source = transfer.efficientnet_base(32, weights_file=path)
    assert source == f"ImageNet weights from {path}" and no_download == []  # nothing downloaded
    assert np.allclose(np.asarray(base(x, training=False)), expected, atol=1e-5)

    monkeypatch.setenv(pretrained.EFFICIENTNET.env, str(path))
    from_env, _ = transfer.efficientnet_base(32)
    assert np.allclose(np.asarray(from_env(x, training=False)), expected, atol=1e-5)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Keras warns about each VGG16 array it cannot place
def test_efficientnet_weights_files_that_are_missing_or_wrong(no_download, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="does not exist .set by argument"):
        transfer.efficientnet_base(32, weights_file=tmp_path / "nowhere.h5")
    cached = tmp_path / "keras" / "models" / pretrained.EFFICIENTNET.file  # conftest's KERAS_HOME
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"")
    assert pretrained.local_file(pretrained.EFFICIENTNET) == cached
    vgg_layout = tmp_path / "vgg.weights.h5"
    keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3)).save_weights(vgg_layout)
    with pytest.raises(ValueError, match="does not fit EfficientNetV2B0 without its top .* Set weights_file"):
        transfer.efficientnet_base(32, weights_file=vgg_layout)
    with pytest.raises(ValueError, match="at least 32x32"):
        transfer.efficientnet_base(16)


def test_the_effnet_weights_url_is_the_one_keras_uses():
    keras_effnet = pytest.importorskip("keras.src.applications.efficientnet_v2")  # Keras's own module
    assert pretrained.EFFICIENTNET.url == keras_effnet.BASE_WEIGHTS_PATH + "efficientnetv2-b0" + "_notop.h5"


def bn_base():
    keras.utils.set_random_seed(0)
    inner = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(4, 3, name="conv_a"),
            keras.layers.BatchNormalization(name="bn_a"),
            keras.layers.Conv2D(4, 3, name="conv_b"),
            keras.layers.BatchNormalization(name="bn_b"),
            keras.layers.GlobalAveragePooling2D(),
        ],
        name="inner",
    )
    base = keras.Sequential([keras.Input((8, 8, 3)), inner], name="bn_base")  # nested, as efficientnet_base's
    base.trainable = False
    return base, inner


def one_fit_step(model):
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="categorical_crossentropy")
    x = pixels(16).astype(np.float32)  # 0-255: far from BN's initial moving mean 0
    model.fit(x, keras.utils.to_categorical(np.arange(16) % 2, 2), batch_size=16, epochs=1, verbose=0)


def test_phase_two_trains_the_top_and_keeps_batchnorm_in_inference_mode():
    base, inner = bn_base()
    head = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    assert transfer.unfreeze_top(base, "conv_b") == 3 * 3 * 4 * 4 + 4  # conv_b only: bn_b stays frozen
    assert [layer.name for layer in inner.layers if layer.trainable_weights] == ["conv_b"]
    assert not inner.get_layer("bn_b").trainable  # frozen BN: Keras runs it in inference mode, whatever `training`
    before = {w.path: w.numpy().copy() for w in inner.weights}
    one_fit_step(transfer.base_and_head(base, head))
    after = {w.path: w.numpy() for w in inner.weights}
    changed = sorted(
        path.split("/")[-2] + "/" + path.split("/")[-1]
        for path in before
        if not np.array_equal(before[path], after[path])
    )
    assert changed == ["conv_b/bias", "conv_b/kernel"]  # moving means, variances, gammas, betas and conv_a: untouched


def test_without_the_precautions_batchnorm_statistics_move():
    """The test above can fail: BN trainable, base called in training mode, and the moving mean follows the batch."""
    base, inner = bn_base()
    base.trainable = True
    head = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    before = inner.get_layer("bn_b").moving_mean.numpy().copy()
    one_fit_step(keras.Sequential([base, head]))
    assert not np.allclose(inner.get_layer("bn_b").moving_mean.numpy(), before)


def test_unfreeze_top_names_the_last_layers_when_the_first_is_wrong():
    base, _ = bn_base()
    with pytest.raises(ValueError, match="no layer named 'conv_z'.*bn_b"):
        transfer.unfreeze_top(base, "conv_z")


def test_effnet_ms_per_image_times_whole_batches(no_download):
    x = pixels(12).repeat(4, axis=1).repeat(4, axis=2)  # 32x32
    assert transfer.effnet_ms_per_image(32, x, batch_size=8) > 0 and no_download == []  # random weights: no download
    with pytest.raises(ValueError, match="at least 8 images"):
        transfer.effnet_ms_per_image(32, x[:7], batch_size=8)
