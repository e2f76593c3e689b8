"""cc.explain (lesson 09): a tiny CNN learns to find a bright square; Grad-CAM and occlusion must point at it."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from cifar_course import explain

SQUARES = [(2, 24), (24, 2)]  # top-right and bottom-left corners: a transposed or flipped map points elsewhere
SIZE = 6  # the bright square is 6x6 pixels


def _images(n: int, seed: int, squares=None) -> tuple[np.ndarray, np.ndarray]:
    """Noise in [0, 0.5] with a grey 4..10 px square anywhere; class 1 iff a bright 6x6 square is there too."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 0.5, (n, 32, 32, 3)).astype(np.float32)
    y = np.arange(n) % 2 if squares is None else np.ones(n, int)
    for i in range(n):
        if squares is None:  # training images hold grey squares, so hiding part of an image with grey is neutral
            side = rng.integers(4, 11)
            r, c = rng.integers(0, 33 - side, 2)
            x[i, r : r + side, c : c + side] = 0.5
        if y[i]:
            r, c = rng.integers(0, 33 - SIZE, 2) if squares is None else squares[i]
            x[i, r : r + SIZE, c : c + SIZE] = 1.0
    return x, y


def _layers(dense_softmax: bool = False, softmax: bool = True, output_dtype=None) -> list:
    """Conv -> pool -> conv -> global max pool -> class scores (-> softmax), the same names and weights each time."""
    head = [layers.Dense(2, name="scores", dtype=output_dtype)]
    if dense_softmax:
        head = [layers.Dense(2, activation="softmax", name="scores", dtype=output_dtype)]
    elif softmax:
        head.append(layers.Activation("softmax", name="probs", dtype=output_dtype))
    return [
        layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1"),
        layers.MaxPooling2D(2, name="pool1"),
        layers.Conv2D(8, 3, padding="same", activation="relu", name="conv2"),
        layers.GlobalMaxPooling2D(name="gmp"),
        *head,
    ]


def _functional(stack: list, name: str) -> keras.Model:
    x = inputs = keras.Input((32, 32, 3))
    for layer in stack:
        x = layer(x)
    return keras.Model(inputs, x, name=name)


def _variant(kind: str, weights=None, output_dtype=None) -> keras.Model:
    """The tiny CNN as a Sequential, functional, nested (like M4) or logits model; with the given weights."""
    if kind == "sequential":
        model = keras.Sequential([keras.Input((32, 32, 3)), *_layers(output_dtype=output_dtype)], name=kind)
    elif kind == "functional":  # ends in Dense(activation="softmax")
        model = _functional(_layers(dense_softmax=True, output_dtype=output_dtype), kind)
    elif kind == "nested":  # Sequential [Input, functional base, Sequential head], as cc.models.m4
        stack = _layers(dense_softmax=True, output_dtype=output_dtype)
        base, head = _functional(stack[:3], "base"), keras.Sequential(stack[3:], name="head")
        model = keras.Sequential([keras.Input((32, 32, 3)), base, head], name=kind)
    else:  # "logits": no softmax at the end
        model = keras.Sequential([keras.Input((32, 32, 3)), *_layers(softmax=False)], name=kind)
    if weights is not None:
        model.set_weights(weights)
    return model


VARIANTS = ["sequential", "functional", "nested", "logits"]


@pytest.fixture(scope="module")
def trained() -> tuple[keras.Model, float]:
    """The Sequential tiny CNN, trained 4 epochs on 512 images (seeded, a few seconds), and its test accuracy."""
    keras.utils.set_random_seed(0)
    model = _variant("sequential")
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(*_images(512, seed=1), epochs=4, batch_size=32, verbose=0)
    return model, model.evaluate(*_images(200, seed=2), verbose=0)[1]


@pytest.fixture(scope="module")
def models(trained) -> dict[str, keras.Model]:
    weights = trained[0].get_weights()
    return {kind: trained[0] if kind == "sequential" else _variant(kind, weights) for kind in VARIANTS}


@pytest.fixture
def bfloat16():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


def _positives() -> np.ndarray:
    return _images(len(SQUARES), seed=5, squares=SQUARES)[0]


def _near_square(heat: np.ndarray, square: tuple[int, int], margin: int = 3) -> bool:
    """Whether the hottest pixel of a map lies in the square or at most ``margin`` pixels outside it."""
    r, c = np.unravel_index(np.argmax(heat), heat.shape)
    return all(start - margin <= p < start + SIZE + margin for p, start in zip((r, c), square))


def _assert_heat_maps(maps: np.ndarray, n: int):
    assert maps.shape == (n, 32, 32) and maps.dtype == np.float32
    assert np.isfinite(maps).all() and maps.min() >= 0.0 and maps.max() <= 1.0


def test_the_tiny_cnn_learned_its_task(trained):
    assert trained[1] > 0.95


@pytest.mark.parametrize("kind", VARIANTS)
def test_conv_layers_in_order(models, kind):
    assert explain.conv_layers(models[kind]) == ["conv1", "conv2"]


def test_conv_layers_of_a_model_without_convolutions():
    assert explain.conv_layers(keras.Sequential([keras.Input((32, 32, 3)), layers.Flatten(), layers.Dense(2)])) == []


@pytest.mark.parametrize("kind", VARIANTS)
def test_grad_cam_points_at_the_square(models, kind):
    maps = explain.grad_cam(models[kind], _positives())
    _assert_heat_maps(maps, len(SQUARES))
    for heat, square in zip(maps, SQUARES):
        assert _near_square(heat, square), (kind, square, np.unravel_index(np.argmax(heat), heat.shape))
    # every variant has the same class scores before the softmax, so the same maps as the logits model
    np.testing.assert_allclose(maps, explain.grad_cam(models["logits"], _positives()), atol=1e-5)


def test_grad_cam_for_given_classes(models):
    model, images = models["sequential"], _positives()
    np.testing.assert_allclose(explain.grad_cam(model, images, class_index=1), explain.grad_cam(model, images))
    per_image = explain.grad_cam(model, images, class_index=np.array([1, 0]))
    np.testing.assert_allclose(per_image[0], explain.grad_cam(model, images[:1])[0])
    _assert_heat_maps(per_image, 2)
    with pytest.raises(ValueError, match=r"class_index must lie in 0\.\.1"):
        explain.grad_cam(model, images, class_index=2)


def test_grad_cam_at_a_named_layer_and_for_one_image(models):
    heat = explain.grad_cam(models["nested"], _positives()[0], layer_name="conv1")  # (H, W, C): a batch of one
    _assert_heat_maps(heat, 1)
    assert _near_square(heat[0], SQUARES[0])
    with pytest.raises(ValueError, match=r"no layer 'conv9'.*\['conv1', 'conv2'\]"):
        explain.grad_cam(models["nested"], _positives(), layer_name="conv9")


def test_grad_cam_of_a_blank_image_is_zeros_not_nan(models):
    dead = _variant("sequential", [np.zeros_like(w) for w in models["sequential"].get_weights()])
    blank = np.zeros((1, 32, 32, 3), np.float32)
    maps = explain.grad_cam(dead, blank)  # every gradient is 0
    assert maps.shape == (1, 32, 32) and not maps.any()
    _assert_heat_maps(explain.grad_cam(models["sequential"], blank), 1)


def test_grad_cam_reads_a_linear_convolution_after_its_activation():
    # as in M3 (Conv2D, then LeakyReLU) and lesson 07 (Conv2D -> BatchNormalization -> ReLU): the maps Grad-CAM
    # weighs are the rectified ones; the raw convolution's weighted sum can be negative everywhere (an empty map)
    keras.utils.set_random_seed(3)
    stack = [
        keras.Input((32, 32, 3)),
        layers.Conv2D(8, 3, padding="same", name="conv_a"),
        layers.LeakyReLU(0.1, name="act_a"),
        layers.Conv2D(8, 3, padding="same", name="conv_b"),
        layers.BatchNormalization(name="bn_b"),
        layers.ReLU(name="act_b"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(2, activation="softmax"),
    ]
    model = keras.Sequential(stack)
    images = _positives()
    np.testing.assert_allclose(explain.grad_cam(model, images), explain.grad_cam(model, images, layer_name="act_b"))
    np.testing.assert_allclose(
        explain.grad_cam(model, images, layer_name="conv_a"), explain.grad_cam(model, images, layer_name="act_a")
    )
    bn_maps = explain.grad_cam(model, images, layer_name="bn_b")  # not a convolution: read as it is, before the ReLU
    assert not np.allclose(bn_maps, explain.grad_cam(model, images, layer_name="act_b"))


def test_grad_cam_of_no_images_is_no_maps(models):
    # a model with no mistakes on the shown images leaves nothing to explain: (0, 32, 32), not an error deep in TF
    maps = explain.grad_cam(models["sequential"], np.zeros((0, 32, 32, 3), np.float32))
    assert maps.shape == (0, 32, 32) and maps.dtype == np.float32


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_grad_cam_under_mixed_bfloat16(models, bfloat16, kind):
    model = _variant(kind, models["sequential"].get_weights(), output_dtype="float32")  # as the course's models
    assert model.get_layer("conv2").compute_dtype == "bfloat16"
    maps = explain.grad_cam(model, _positives())
    _assert_heat_maps(maps, len(SQUARES))
    for heat, square in zip(maps, SQUARES):
        assert _near_square(heat, square, margin=4)
    drops = explain.occlusion_map(model, _positives()[0], patch=8)
    assert drops.dtype == np.float32 and _near_square(drops, SQUARES[0], margin=4)


def test_explaining_leaves_the_model_as_it_was(models, tmp_path):
    model, images = models["nested"], _positives()
    before, weights = model.predict(images, verbose=0), model.get_weights()
    explain.grad_cam(model, images)
    explain.feature_maps(model, images[0])
    explain.occlusion_map(model, images[0])
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    model.save(tmp_path / "nested.keras")
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "nested.keras").predict(images, verbose=0), before)


@pytest.mark.parametrize("kind", VARIANTS)
def test_occlusion_map_points_at_the_square(models, kind):
    for image, square in zip(_positives(), SQUARES):
        drops = explain.occlusion_map(models[kind], image, patch=8)  # 8x8: hides the whole 6x6 square
        assert drops.shape == (32, 32) and drops.dtype == np.float32 and np.isfinite(drops).all()
        assert _near_square(drops, square) and drops.max() > 0.5
        assert drops.min() >= -1.0 and drops.max() <= 1.0
        small = explain.occlusion_map(models[kind], image)  # the default 4x4 patch hides part of it
        assert small.shape == (32, 32) and _near_square(small, square)


def test_occlusion_map_of_a_logits_model_uses_probabilities(models):
    image = _positives()[0]
    np.testing.assert_allclose(
        explain.occlusion_map(models["logits"], image), explain.occlusion_map(models["sequential"], image), atol=1e-5
    )


@pytest.mark.parametrize("kind", ["sequential", "nested"])
def test_feature_maps_shapes_and_values(models, kind):
    image = _positives()[0]
    maps = explain.feature_maps(models[kind], image, ["conv2", "conv1"])
    assert list(maps) == ["conv2", "conv1"]
    assert maps["conv1"].shape == (32, 32, 8) and maps["conv2"].shape == (16, 16, 8)
    assert all(m.dtype == np.float32 for m in maps.values())
    functional = models["functional"]  # the keras-io way works on a plain functional model: the same numbers
    expected = keras.Model(functional.input, functional.get_layer("conv2").output)(image[None])[0]
    np.testing.assert_allclose(maps["conv2"], np.asarray(expected), atol=1e-5)
    assert list(explain.feature_maps(models[kind], image)) == ["conv1", "conv2"]  # default: every convolution
    if kind == "nested":  # a nested model's output, by its name
        np.testing.assert_allclose(explain.feature_maps(models[kind], image, ["base"])["base"], maps["conv2"])
    with pytest.raises(ValueError, match="one image"):
        explain.feature_maps(models[kind], _positives(), ["conv1"])


def test_agreement():
    rng = np.random.default_rng(0)
    heat = rng.random((32, 32))
    assert explain.agreement(heat, heat) == 1.0
    left, right = np.zeros((32, 32)), np.zeros((32, 32))
    left[:, :16], right[:, 16:] = 1.0, 1.0
    assert explain.agreement(left, right) == 0.0
    assert explain.agreement(np.zeros((32, 32)), np.zeros((32, 32))) == 1.0  # ties: the same pixels
    assert 0.0 < explain.agreement(heat, rng.random((32, 32))) < 0.3  # random maps: about 0.11
    with pytest.raises(ValueError, match="differ in size"):
        explain.agreement(heat, heat[:16])


def test_grad_cam_and_occlusion_agree_on_the_square(models):
    model, image = models["sequential"], _positives()[:1]
    score = explain.agreement(explain.grad_cam(model, image)[0], explain.occlusion_map(model, image[0], patch=8))
    assert score > 0.2  # twice what two random maps score


def test_overlay():
    image = _positives()[0]
    heat = np.zeros((32, 32))
    heat[2:8, 24:30] = 1.0
    rgb = explain.overlay(image, heat)
    assert rgb.shape == (32, 32, 3) and rgb.dtype == np.float32 and rgb.min() >= 0.0 and rgb.max() <= 1.0
    np.testing.assert_allclose(explain.overlay(image, heat, alpha=0.0), image)
    as_uint8 = (image * 255).round().astype(np.uint8)
    np.testing.assert_allclose(explain.overlay(as_uint8, heat), rgb, atol=0.01)
    assert explain.overlay(image, heat[::4, ::4]).shape == (32, 32, 3)  # a small map is resized
    assert explain.overlay(image[..., :1], heat).shape == (32, 32, 3)  # greyscale


def test_clear_errors(models):
    flat = keras.Sequential([keras.Input((32, 32, 3)), layers.Flatten(), layers.Dense(2)], name="flat")
    with pytest.raises(ValueError, match="no Conv2D layer.*pass a CNN"):
        explain.grad_cam(flat, _positives())
    with pytest.raises(ValueError, match="no Conv2D layer"):
        explain.feature_maps(flat, _positives()[0])
    with pytest.raises(ValueError, match="the model takes 32x32x3 images; resize yours first"):
        explain.grad_cam(models["sequential"], np.zeros((2, 28, 28, 3), np.float32))
    with pytest.raises(ValueError, match="32x32x3 images; resize yours first"):
        explain.occlusion_map(models["functional"], np.zeros((32, 32, 1), np.float32))
    with pytest.raises(ValueError, match="uint8.*scale the uint8 images with cc.scale_pixels"):
        explain.grad_cam(models["sequential"], np.zeros((1, 32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="patch must be"):
        explain.occlusion_map(models["sequential"], _positives()[0], patch=40)
