"""The reference models: parameter counts, and VGG16's weights lookup (local file, download, smoke fallback)."""
import keras
import pytest

import cifar_course as cc
from cifar_course import config, models


@pytest.mark.parametrize("build, expected", [
    (models.r1, 122_570),
    (models.m1, 2_105_066),
    (lambda: models.m1(dropout=True), 2_105_066),
    (models.m3, 1_084_234),
    (models.r4, 225_034),
])
def test_parameter_counts(build, expected):
    assert build().count_params() == expected


def test_m2_is_m1_with_dropout():
    m1, m2 = models.m1(), models.m1(dropout=True)
    assert (m1.name, m2.name) == ("M1_first_cnn", "M2_dropout")
    assert sum(isinstance(layer, keras.layers.Dropout) for layer in m2.layers) == 3
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in m1.layers)


def test_m3_shapes():
    m3 = models.m3()
    assert m3.name == "M3_deeper_cnn"
    assert m3.output_shape == (None, 10)
    assert m3.get_layer(index=-5).output.shape[1:] == (8 * 8 * 64,)  # the Flatten after two poolings


def test_m4_head():
    head = models.m4_head()
    assert head.count_params() == 1_090_890
    assert head.output_shape == (None, 10)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No local weights file and a download that fails at once (as on a machine without internet)."""
    monkeypatch.delenv("CIFAR_COURSE_VGG16_WEIGHTS", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    original = keras.applications.VGG16

    def vgg16(*args, **kwargs):
        if kwargs.get("weights") == "imagenet":
            raise OSError("URL fetch failure: no network in this test")
        return original(*args, **kwargs)

    monkeypatch.setattr(keras.applications, "VGG16", vgg16)
    monkeypatch.setattr(config, "_chosen", None)
    return tmp_path


@pytest.fixture
def vgg_weights_file(tmp_path):
    """A VGG16 'notop' weights file written by the test (random weights, the right layout)."""
    vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = tmp_path / "vgg16_notop.weights.h5"
    vgg.save_weights(path)
    return path, vgg.get_layer("block1_conv1").get_weights()[0]


def test_vgg16_base_from_a_local_file_argument(offline, vgg_weights_file, monkeypatch):
    path, first_kernel = vgg_weights_file
    monkeypatch.setenv("COURSE_PROFILE", "quick")
    base, source = models.vgg16_base(weights_file=path)
    assert str(path) in source
    assert base.output_shape == (None, 4, 4, 256)
    assert base.count_params() == 1_735_488
    assert not base.trainable and not base.trainable_weights
    assert (base.get_layer("block1_conv1").get_weights()[0] == first_kernel).all()


def test_vgg16_base_from_the_environment_variable(offline, vgg_weights_file, monkeypatch):
    monkeypatch.setenv("CIFAR_COURSE_VGG16_WEIGHTS", str(vgg_weights_file[0]))
    monkeypatch.setenv("COURSE_PROFILE", "full")
    base, source = models.vgg16_base(cut="block2_pool")
    assert str(vgg_weights_file[0]) in source
    assert base.output_shape == (None, 8, 8, 128)


def test_vgg16_base_from_the_keras_cache(offline, vgg_weights_file, monkeypatch):
    cached = offline / "keras_home" / "models" / models.VGG16_NOTOP_FILE
    cached.parent.mkdir(parents=True)
    # the official file is in Keras's older .h5 layout; write one the same way
    h5py = pytest.importorskip("h5py")
    legacy = pytest.importorskip("keras.src.legacy.saving.legacy_h5_format")
    vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    with h5py.File(cached, "w") as f:
        legacy.save_weights_to_hdf5_group(f, vgg)
    monkeypatch.setenv("COURSE_PROFILE", "quick")
    base, source = models.vgg16_base()
    assert str(cached) in source
    assert (base.get_layer("block3_conv3").get_weights()[0] == vgg.get_layer("block3_conv3").get_weights()[0]).all()


def test_wrong_weights_file_is_a_config_error(offline, tmp_path, monkeypatch):
    wrong = tmp_path / "gray.weights.h5"  # VGG16 for 1-channel images: the first kernel has the wrong shape
    keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 1)).save_weights(wrong)
    monkeypatch.setenv("COURSE_PROFILE", "smoke")  # even smoke must not hide a broken file
    with pytest.raises(cc.ConfigError, match="does not fit VGG16"):
        models.vgg16_base(weights_file=wrong)


def test_missing_weights_file_is_a_config_error(offline, tmp_path):
    with pytest.raises(cc.ConfigError, match="does not exist"):
        models.vgg16_base(weights_file=tmp_path / "nowhere.h5")


def test_offline_smoke_falls_back_to_random_weights(offline, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    base, source = models.vgg16_base()
    assert "RANDOM" in source
    assert "RANDOM weights" in capsys.readouterr().err
    assert base.output_shape == (None, 4, 4, 256)


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_offline_without_a_file_is_a_clear_error(offline, monkeypatch, profile):
    monkeypatch.setenv("COURSE_PROFILE", profile)
    with pytest.raises(cc.ConfigError, match="CIFAR_COURSE_VGG16_WEIGHTS"):
        models.vgg16_base()
