"""The reference models: parameter counts, and VGG16's weights lookup (local file, download, smoke fallback)."""

import keras
import numpy as np
import pytest

import cifar_course as cc
from cifar_course import models, pretrained, profiles


@pytest.mark.parametrize(
    "build, expected",
    [
        (models.r1, 122_570),
        (models.m1, 2_105_066),
        (lambda: models.m1(dropout=True), 2_105_066),
        (models.m3, 1_084_234),
        (models.r4, 225_034),
        (models.r3, 128_420),
        (models.m2, 2_105_066),
        (lambda: models.m3(batch_norm=True), 1_084_666),  # lesson 07's step 1: +3 per channel of 144
    ],
)
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
    monkeypatch.setattr(profiles, "_chosen", None)
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
    cached = offline / "keras_home" / "models" / pretrained.VGG16.file
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


def test_wrong_weights_file_is_a_value_error(offline, tmp_path, monkeypatch):
    wrong = tmp_path / "gray.weights.h5"  # VGG16 for 1-channel images: the first kernel has the wrong shape
    keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 1)).save_weights(wrong)
    monkeypatch.setenv("COURSE_PROFILE", "smoke")  # even smoke must not hide a broken file
    with pytest.raises(ValueError, match="does not fit VGG16"):
        models.vgg16_base(weights_file=wrong)


def test_missing_weights_file_is_a_value_error(offline, tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
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
    with pytest.raises(cc.MissingHere, match="CIFAR_COURSE_VGG16_WEIGHTS"):
        models.vgg16_base()


def test_m3_with_batch_norm_has_no_dropout_and_no_conv_biases():
    model = models.m3(batch_norm=True, name="step1")
    kinds = [type(layer).__name__ for layer in model.layers]
    assert model.name == "step1" and "Dropout" not in kinds and kinds.count("BatchNormalization") == 4
    assert all(not layer.use_bias for layer in model.layers if isinstance(layer, keras.layers.Conv2D))


def test_m4_joins_the_base_and_the_head():
    base = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(256, 8, strides=8)], name="tiny_base")
    model = models.m4(base, models.m4_head())
    assert model.name == "M4_transfer" and model.input_shape == (None, 32, 32, 3) and model.output_shape == (None, 10)


def _r1_by_hand(last_units: int = 10, activation=None) -> keras.Model:
    """R1 as lesson 02 builds it: a separate convolutional base inside the model."""
    base = keras.Sequential(
        [
            keras.Input(shape=(32, 32, 3)),
            keras.layers.Conv2D(32, (3, 3), activation="relu"),
            keras.layers.MaxPooling2D((2, 2)),
            keras.layers.Conv2D(64, (3, 3), activation="relu"),
            keras.layers.MaxPooling2D((2, 2)),
            keras.layers.Conv2D(64, (3, 3), activation="relu"),
        ],
        name="conv_base",
    )
    return keras.Sequential([base, keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"),
                             keras.layers.Dense(last_units, activation=activation)], name="R1_baseline")  # fmt: skip


def test_assert_same_accepts_the_lessons_build_and_names_the_first_difference(capsys):
    models.assert_same(_r1_by_hand(), models.r1)
    assert "R1_baseline matches cc.models' R1_baseline: 8 layers, 122,570 parameters." in capsys.readouterr().out
    with pytest.raises(
        AssertionError, match=r"differ at layer 7: Dense\(units=10, activation='softmax'.*\(in activation\)"
    ):
        models.assert_same(_r1_by_hand(activation="softmax"), models.r1)
    with pytest.raises(AssertionError, match="differ at layer 7: .*units=100.*in activation, units"):
        models.assert_same(_r1_by_hand(), models.r3)
    shorter = keras.Sequential([keras.Input((32, 32, 3)), *models.r1().layers[:-1]], name="short")
    with pytest.raises(AssertionError, match="have 7 and 8 layers"):
        models.assert_same(shorter, models.r1)
    with pytest.raises(AssertionError, match=r"differ at layer 5: Flatten\(\) against Dropout\(rate=0.25\)"):
        models.assert_same(models.m1(), models.m3)


def test_assert_same_leaves_the_random_state_as_it_was():
    """Checking a lesson's model must not change what it trains next (lessons 02 and 04 reproduce their numbers)."""

    def next_model_after(check: bool) -> list:
        cc.set_seeds(7)
        model = _r1_by_hand()
        if check:
            models.assert_same(model, models.r1)
        following = models.m3()  # built next: initializers and dropout seeds draw from the random state
        return [w.numpy() for w in following.weights] + [
            layer.seed_generator.get_config()["seed"] for layer in following.layers if hasattr(layer, "seed_generator")
        ]

    without, with_check = next_model_after(False), next_model_after(True)
    assert len(without) == len(with_check) > 10
    for a, b in zip(without, with_check, strict=True):
        assert np.array_equal(a, b)


def test_whitened_cnn_starts_with_a_frozen_whitening_layer():
    rng = np.random.default_rng(0)
    kernel, bias = rng.random((2, 2, 3, 24)).astype("float32"), rng.random(24).astype("float32")
    model = models.whitened_cnn((kernel, bias))
    first = model.get_layer("whitening")
    assert not first.trainable and model.layers[0] is first
    np.testing.assert_array_equal(first.get_weights()[0], kernel)
    np.testing.assert_array_equal(first.get_weights()[1], bias)
    assert model.count_params() == 1_975_096
    assert sum(int(np.prod(w.shape)) for w in model.non_trainable_weights) == 24 * 13 + 2 * 2 * (64 + 256 + 256)
    assert model.output_shape == (None, 10)
    assert model.get_layer(index=-3).output.shape[1:] == (256,)  # global max pooling over the 3x3 map


def test_whitened_cnn_without_whitening_learns_its_first_layer():
    model = models.whitened_cnn(None)
    assert model.layers[0].trainable and model.name == "learned_2x2_cnn"
    assert model.count_params() == 1_975_096  # the same network: only the first layer is trained, not set
    assert len(model.trainable_weights) == len(models.whitened_cnn(models_whitening()).trainable_weights) + 2


def test_airbench_cnn_is_whitened_cnn_with_shift_only_batch_norm_and_identity_convolutions():
    rng = np.random.default_rng(0)
    kernel, bias = rng.random((2, 2, 3, 24)).astype("float32"), rng.random(24).astype("float32")
    model = models.airbench_cnn((kernel, bias))
    first = model.get_layer("whitening")
    assert not first.trainable and model.layers[0] is first
    np.testing.assert_array_equal(first.get_weights()[0], kernel)
    assert model.count_params() == 1_973_944 == models.whitened_cnn((kernel, bias)).count_params() - 2 * 576
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 6 and all(not n.scale and n.momentum == 0.6 for n in norms)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D) and layer.trainable]
    assert [c.filters for c in convs] == [64, 64, 256, 256, 256, 256]
    for conv in convs:  # output channel i starts as a copy of input channel i, for as many as both have
        k = conv.get_weights()[0]
        n = min(k.shape[2], k.shape[3])
        np.testing.assert_array_equal(k[:, :, :, :n].sum(axis=(0, 1)), np.eye(k.shape[2], n))
        if n < k.shape[3]:  # wider than its input: the other filters stay random
            assert np.abs(k[:, :, :, n:]).sum() > 0
    assert model.output_shape == (None, 10)
    x = rng.random((4, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0).sum(axis=1), 1.0, rtol=1e-5)


def models_whitening():
    return np.ones((2, 2, 3, 24), "float32"), np.zeros(24, "float32")
