"""Lesson 08's architecture: the residual block, the small ResNet and assert_same_outputs, against Keras itself."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from cifar_course import models


def block_model(input_shape, filters, stride=1) -> keras.Model:
    inputs = keras.Input(shape=input_shape)
    return keras.Model(inputs, models.residual_block(inputs, filters, stride), name="block")


def conv_kernels(model) -> list[tuple]:
    return [tuple(layer.kernel.shape) for layer in model.layers if isinstance(layer, layers.Conv2D)]


def block_params(c_in: int, filters: int, projection: bool) -> int:
    """By hand: two 3x3 convolutions without bias, 4 numbers per BN channel, a 1x1 projection with its own BN."""
    convs = 9 * c_in * filters + 9 * filters * filters
    return convs + 4 * filters * (3 if projection else 2) + (c_in * filters if projection else 0)


@pytest.mark.parametrize(
    "input_shape, filters, stride, output_shape, projection",
    [
        ((16, 16, 32), 32, 1, (16, 16, 32), False),  # same shape: x itself is the shortcut
        ((16, 16, 32), 64, 1, (16, 16, 64), True),  # more channels
        ((16, 16, 32), 32, 2, (8, 8, 32), True),  # half the size
        ((8, 8, 64), 128, 2, (4, 4, 128), True),  # both: lesson 08's exercise 2
        ((7, 7, 8), 16, 2, (4, 4, 16), True),  # an odd size: 'same' rounds up
    ],
)
def test_residual_block_projects_only_when_the_shape_changes(input_shape, filters, stride, output_shape, projection):
    block = block_model(input_shape, filters, stride)
    assert block.output_shape[1:] == output_shape
    c_in = input_shape[-1]
    kernels = conv_kernels(block)
    expected_kernels = [(3, 3, c_in, filters), (3, 3, filters, filters)] + (
        [(1, 1, c_in, filters)] if projection else []
    )
    assert sorted(kernels) == sorted(expected_kernels)
    assert block.count_params() == block_params(c_in, filters, projection)
    assert sum(isinstance(layer, layers.BatchNormalization) for layer in block.layers) == (3 if projection else 2)
    assert not any(layer.use_bias for layer in block.layers if isinstance(layer, layers.Conv2D))


def test_residual_block_adds_its_input_to_F():
    """With F's last BatchNormalization set to output zero, F(x) = 0 and the block is ReLU(x)."""
    block = block_model((8, 8, 4), 4)
    last_bn = [layer for layer in block.layers if isinstance(layer, layers.BatchNormalization)][-1]
    gamma, beta, mean, variance = last_bn.get_weights()
    last_bn.set_weights([np.zeros_like(gamma), np.zeros_like(beta), mean, variance])
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 4)).astype("float32")
    np.testing.assert_allclose(block.predict(x, verbose=0), np.maximum(x, 0), atol=1e-6)
    assert isinstance(block.layers[-1], layers.ReLU) and isinstance(block.layers[-2], layers.Add)


@pytest.mark.parametrize("filters, stride", [(0, 1), (2.5, 1), (True, 1), (8, 3), (8, 0)])
def test_residual_block_refuses_bad_arguments(filters, stride):
    with pytest.raises(ValueError, match="residual_block: (filters|stride)"):
        models.residual_block(keras.Input(shape=(8, 8, 4)), filters, stride)


def test_residual_block_wants_feature_maps():
    with pytest.raises(ValueError, match=r"\(batch, height, width, channels\)"):
        models.residual_block(keras.Input(shape=(16,)), 8)


def test_small_resnet_counts_its_parameters_as_its_parts():
    model = models.small_resnet(10, widths=(16, 32, 64), blocks=1)
    stem = 3 * 3 * 3 * 16 + 4 * 16
    blocks = block_params(16, 16, False) + block_params(16, 32, True) + block_params(32, 64, True)
    assert model.count_params() == stem + blocks + 64 * 10 + 10
    assert model.output_shape == (None, 10)
    assert isinstance(model.layers[-2], layers.GlobalAveragePooling2D)
    assert model.layers[-2].output.shape[1:] == (64,)
    probabilities = model.predict(np.zeros((2, 32, 32, 3), "float32"), verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    "widths, blocks, adds, maps",
    [
        ((16, 32, 64), (1, 1, 1), 3, (8, 8, 64)),
        ((16, 32, 64), 2, 6, (8, 8, 64)),
        ((8, 16), (2, 1), 3, (16, 16, 16)),
        ((8,), 1, 1, (32, 32, 8)),
    ],
)
def test_small_resnet_stages_halve_the_image_after_the_first(widths, blocks, adds, maps):
    model = models.small_resnet(10, widths=widths, blocks=blocks)
    assert sum(isinstance(layer, layers.Add) for layer in model.layers) == adds
    assert model.get_layer(index=-2).input.shape[1:] == maps  # what global average pooling reads
    n_blocks = [blocks] * len(widths) if isinstance(blocks, int) else list(blocks)
    projections = len(widths) - 1  # one per stage after the first (the stem already has the first width)
    one_by_one = [k for k in conv_kernels(model) if k[:2] == (1, 1)]
    assert len(one_by_one) == projections
    assert len(conv_kernels(model)) == 1 + 2 * sum(n_blocks) + projections


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"widths": ()}, "widths"),
        ({"widths": (16, -1)}, "widths"),
        ({"widths": (16, 32), "blocks": (1, 1, 1)}, "blocks"),
        ({"blocks": 0}, "blocks"),
        ({"blocks": (1, 1.5, 1)}, "blocks"),
    ],
)
def test_small_resnet_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=f"small_resnet: {message}"):
        models.small_resnet(**kwargs)


def hand_built_resnet(widths=(16, 32, 64)) -> keras.Model:
    """Lesson 08's small ResNet written out with the Functional API."""
    inputs = keras.Input(shape=(32, 32, 3))
    x = layers.Conv2D(widths[0], 3, padding="same", use_bias=False)(inputs)
    x = layers.BatchNormalization(momentum=0.9)(x)
    x = layers.ReLU()(x)
    for i, width in enumerate(widths):
        x = models.residual_block(x, width, stride=1 if i == 0 else 2)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(10, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="hand_built")


def test_a_hand_built_resnet_matches_the_course_one_in_layers_and_outputs(capsys):
    mine = hand_built_resnet()
    before = [w.copy() for w in mine.get_weights()]
    models.assert_same(mine, lambda: models.small_resnet(10))
    models.assert_same_outputs(mine, lambda: models.small_resnet(10))
    assert "computes what cc.models' small_resnet computes" in capsys.readouterr().out
    assert all(np.array_equal(a, b) for a, b in zip(before, mine.get_weights()))  # the copy took the weights


def test_assert_same_outputs_sees_wiring_that_assert_same_cannot():
    """F's first ReLU moved behind the sum: the same layers in the same order, connected differently."""
    inputs = keras.Input(shape=(8, 8, 4))
    y = layers.Conv2D(4, 3, padding="same", use_bias=False)(inputs)
    y = layers.BatchNormalization(momentum=0.9)(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(4, 3, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization(momentum=0.9)(y)
    wrong = keras.Model(inputs, layers.ReLU()(layers.Add()([y, y])), name="sums_F_twice")  # not x + F(x)
    reference = block_model((8, 8, 4), 4)
    models.assert_same(wrong, reference)  # the layer list cannot tell
    with pytest.raises(AssertionError, match="connected differently"):
        models.assert_same_outputs(wrong, reference)


def test_assert_same_outputs_names_weights_of_other_shapes():
    with pytest.raises(AssertionError, match="different shapes"):
        models.assert_same_outputs(hand_built_resnet((16, 32, 32)), models.small_resnet(10))


def test_m3_written_with_the_functional_api_is_m3(capsys):
    inputs = keras.Input(shape=(32, 32, 3))
    x = inputs
    for filters, pool in ((16, False), (32, True), (32, False), (64, True)):
        x = layers.Conv2D(filters, 3, padding="same")(x)
        x = layers.LeakyReLU(negative_slope=0.1)(x)
        if pool:
            x = layers.Dropout(0.25)(layers.MaxPooling2D(2)(x))
    x = layers.LeakyReLU(negative_slope=0.1)(layers.Dense(256)(layers.Flatten()(x)))
    outputs = layers.Dense(10, activation="softmax", dtype="float32")(layers.Dropout(0.5)(x))
    functional = keras.Model(inputs, outputs, name="M3_functional")
    models.assert_same(functional, models.m3)
    models.assert_same_outputs(functional, models.m3)
    assert "1,084,234 parameters" in capsys.readouterr().out
