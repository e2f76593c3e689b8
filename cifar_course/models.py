"""Every model the course teaches, defined once: R1, R3, R4, M1, M2, M3, M4 (VGG16 base and head), lesson 08's CNNs
(its small ResNet, the wide networks and the final model).

Each lesson builds its model cell by cell first, then checks it against this file with ``assert_same``, so the
two cannot drift; later lessons, benchmarks and tests build their models from here.
"""

from __future__ import annotations

import random
from pathlib import Path

import keras
import numpy as np
from keras import layers

from . import pretrained
from .arrays import flat_layers


def r1(
    num_classes: int = 10, input_shape=(32, 32, 3), activation: str | None = None, name: str = "R1_baseline"
) -> keras.Model:
    """R1, the baseline CNN (lesson 02): 122,570 parameters on CIFAR-10; outputs logits unless given an activation
    (lesson 02 §6)."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(num_classes, activation=activation),
        ],
        name=name,
    )


def r3(num_classes: int = 100, input_shape=(32, 32, 3)) -> keras.Model:
    """R3, R1 adapted to CIFAR-100 (lesson 02 exercise): 100 softmax outputs, 128,420 parameters (lesson 02
    exercises)."""
    return r1(num_classes, input_shape, activation="softmax", name="R3_cifar100")


def r4(num_classes: int = 10, input_shape=(28, 28, 1)) -> keras.Model:
    """R4, the MNIST CNN (lesson 02 exercise): 225,034 parameters; softmax outputs (lesson 02 exercises)."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="R4_mnist",
    )


def leaky_conv(filters: int, batch_norm: bool = False) -> list:
    """Conv2D 3x3 'same' + LeakyReLU(0.1); with ``batch_norm``, Conv2D (no bias) -> BatchNormalization -> LeakyReLU
    (lesson 04 §3)."""
    if batch_norm:  # the convolution's bias is dropped: BatchNormalization has its own shift (beta)
        return [
            layers.Conv2D(filters, 3, padding="same", use_bias=False),
            layers.BatchNormalization(momentum=0.9),
            layers.LeakyReLU(negative_slope=0.1),
        ]
    return [layers.Conv2D(filters, 3, padding="same"), layers.LeakyReLU(negative_slope=0.1)]


def m1(dropout: bool = False, num_classes: int = 10, input_shape=(32, 32, 3)) -> keras.Model:
    """M1 "first CNN" (lesson 03), or M2 with ``dropout=True``: 2,105,066 parameters either way (lesson 03 §2)."""
    drop = (lambda rate: [layers.Dropout(rate)]) if dropout else (lambda rate: [])
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            *leaky_conv(16),
            *drop(0.2),
            *leaky_conv(32),
            *drop(0.2),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(256),
            layers.LeakyReLU(negative_slope=0.1),
            *drop(0.5),
            layers.Dense(num_classes, activation="softmax", dtype="float32"),  # float32 output under bfloat16 too
        ],
        name="M2_dropout" if dropout else "M1_first_cnn",
    )


def m2(num_classes: int = 10, input_shape=(32, 32, 3)) -> keras.Model:
    """M2 "with dropout" (lesson 03): M1 with Dropout(0.2) after each convolution and Dropout(0.5) before the output
    (lesson 03 §6)."""
    return m1(dropout=True, num_classes=num_classes, input_shape=input_shape)


def m3(
    num_classes: int = 10, input_shape=(32, 32, 3), batch_norm: bool = False, name: str = "M3_deeper_cnn"
) -> keras.Model:
    """M3 "deeper CNN" (lesson 04): 1,084,234 parameters; ``batch_norm=True`` is lesson 07's step 1 (no dropout)
    (lesson 04 §2)."""
    drop = (lambda rate: []) if batch_norm else (lambda rate: [layers.Dropout(rate)])
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            *leaky_conv(16, batch_norm),
            *leaky_conv(32, batch_norm),
            layers.MaxPooling2D(2),
            *drop(0.25),
            *leaky_conv(32, batch_norm),
            *leaky_conv(64, batch_norm),
            layers.MaxPooling2D(2),
            *drop(0.25),
            layers.Flatten(),
            layers.Dense(256),
            layers.LeakyReLU(negative_slope=0.1),
            *drop(0.5),
            layers.Dense(num_classes, activation="softmax", dtype="float32"),  # float32 output under bfloat16 too
        ],
        name=name,
    )


def _conv_bn_relu(filters: int) -> list:
    """Conv2D 3x3 'same' without bias -> BatchNormalization -> ReLU (lesson 07)."""
    return [
        layers.Conv2D(filters, 3, padding="same", use_bias=False),
        layers.BatchNormalization(momentum=0.9),
        layers.ReLU(),
    ]


def pool_block(filters: int) -> list:
    """The wide networks' block: conv -> 2x2 max-pool -> BN -> ReLU -> conv -> BN -> ReLU (halves the image) (lesson 08
    §8)."""
    return [
        layers.Conv2D(filters, 3, padding="same", use_bias=False),
        layers.MaxPooling2D(2),
        layers.BatchNormalization(momentum=0.9),
        layers.ReLU(),
        *_conv_bn_relu(filters),
    ]


def whitened_cnn(
    whitening: tuple[np.ndarray, np.ndarray] | None,
    num_classes: int = 10,
    input_shape=(32, 32, 3),
    widths=(64, 256, 256),
) -> keras.Model:
    """Lesson 07's steps 8 (``whitening=None``: that first layer learned) and 9: a frozen 2x2 patch-whitening
    convolution, three wide pooling blocks, global max pooling, Dense; 1,975,096 parameters. ``whitening`` is
    (kernel, bias) from ``cc.modern.patch_whitening`` (lesson 08 §8)."""
    first = layers.Conv2D(24, 2, trainable=whitening is None, name="whitening" if whitening else "learned_2x2")
    model = keras.Sequential(
        [
            keras.Input(shape=input_shape),
            first,  # 32x32x3 -> 31x31x24
            layers.ReLU(),
            *[layer for width in widths for layer in pool_block(width)],  # 31 -> 15 -> 7 -> 3
            layers.GlobalMaxPooling2D(),
            layers.Dense(num_classes, use_bias=False),
            layers.Activation("softmax", dtype="float32"),  # float32 probabilities under bfloat16 too
        ],
        name="whitened_cnn" if whitening else "learned_2x2_cnn",
    )
    if whitening is not None:
        first.set_weights(list(whitening))
    return model


def identity_init(model: keras.Model) -> keras.Model:
    """Start every 3x3 convolution as an identity on its first input channels (the rest stays random) (lesson 08
    §10)."""
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D) and layer.trainable and layer.kernel_size == (3, 3):
            kernel = layer.get_weights()[0]  # (3, 3, in, out)
            for channel in range(min(kernel.shape[2], kernel.shape[3])):
                kernel[..., channel] = 0.0
                kernel[1, 1, channel, channel] = 1.0  # output channel i starts as a copy of input channel i
            layer.set_weights([kernel])
    return model


def torch_uniform() -> keras.initializers.Initializer:
    """PyTorch's default initializer for convolutions and dense layers: uniform within ±1/sqrt(inputs) (lesson 08
    §10)."""
    return keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform")


def airbench_block(filters: int) -> list:
    """airbench's block: conv -> 2x2 max-pool -> BN -> GELU -> conv -> BN -> GELU, BN with a shift only and fast
    statistics (Keras's momentum 0.6 is airbench's: PyTorch's momentum=0.4 is the weight of the new batch) (lesson 08
    §10)."""

    def conv():
        return layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer=torch_uniform())

    def norm():
        return layers.BatchNormalization(momentum=0.6, epsilon=1e-5, scale=False)

    return [
        conv(),
        layers.MaxPooling2D(2),
        norm(),
        layers.Activation("gelu"),
        conv(),
        norm(),
        layers.Activation("gelu"),
    ]


def airbench_cnn(
    whitening: tuple[np.ndarray, np.ndarray],
    num_classes: int = 10,
    input_shape=(32, 32, 3),
    widths=(64, 256, 256),
) -> keras.Model:
    """Lesson 07's steps 10-12 and its final model (step 13, ``cc.modern.final_recipe``), after Keller Jordan's
    airbench: whitened_cnn's layout with GELU, shift-only batch norm with fast statistics, identity-initialized
    convolutions and outputs scaled by 1/9, the whitening computed in float32 under mixed precision too; 1,973,944
    parameters (lesson 08 §10)."""
    # float32 even under bfloat16: its filters multiply the weakest pixel differences up to ~45 times
    first = layers.Conv2D(24, 2, trainable=False, name="whitening", dtype="float32")
    model = keras.Sequential(
        [
            keras.Input(shape=input_shape),
            first,  # 32x32x3 -> 31x31x24, frozen
            layers.Activation("gelu"),
            *[layer for width in widths for layer in airbench_block(width)],  # 31 -> 15 -> 7 -> 3
            layers.GlobalMaxPooling2D(),
            layers.Dense(num_classes, use_bias=False, kernel_initializer=torch_uniform()),
            layers.Rescaling(1 / 9),  # smaller outputs: a softer softmax early in training
            layers.Activation("softmax", dtype="float32"),  # float32 probabilities under bfloat16 too
        ],
        name="airbench_cnn",
    )
    first.set_weights(list(whitening))
    return identity_init(model)


def residual_block(x, filters: int, stride: int = 1):
    """A residual block, y = ReLU(x + F(x)) with F = conv-BN-ReLU-conv-BN (3x3, the first with ``stride``); the
    shortcut is x itself, or a 1x1 convolution with ``stride`` + BN (a projection) where F changes the shape (He et
    al. 2015). Takes and returns a Functional API tensor (lesson 08 §5)."""
    if not isinstance(filters, int) or isinstance(filters, bool) or filters < 1:
        raise ValueError(f"residual_block: filters must be a positive whole number, not {filters!r}.")
    if stride not in (1, 2):
        raise ValueError(
            f"residual_block: stride must be 1 (same size) or 2 (half the height and width), not {stride!r}."
        )
    if len(x.shape) != 4:
        raise ValueError(
            f"residual_block takes feature maps of shape (batch, height, width, channels), not a tensor of shape "
            f"{tuple(x.shape)}: call it on keras.Input(shape=(32, 32, 3)) or on the output of a Conv2D."
        )
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    y = layers.BatchNormalization(momentum=0.9)(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization(momentum=0.9)(y)
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:  # x does not fit F(x): project it to F(x)'s shape
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False)(x)
        shortcut = layers.BatchNormalization(momentum=0.9)(shortcut)
    return layers.ReLU()(layers.Add()([shortcut, y]))


def small_resnet(
    num_classes: int = 10,
    input_shape=(32, 32, 3),
    widths=(16, 32, 64),
    blocks=(1, 1, 1),
    name: str = "small_resnet",
) -> keras.Model:
    """A small ResNet: a stem (3x3 conv-BN-ReLU), one stage of ``residual_block``s per width, each stage
    after the first halving the image (its first block with stride 2), global average pooling and Dense; ``blocks``:
    blocks per stage, one number or one per width (lesson 08 §5)."""
    widths = tuple(widths)
    blocks = (blocks,) * len(widths) if isinstance(blocks, int) else tuple(blocks)
    if not widths or any(not isinstance(w, int) or isinstance(w, bool) or w < 1 for w in widths):
        raise ValueError(f"small_resnet: widths must be positive whole numbers, one per stage, not {widths!r}.")
    if len(blocks) != len(widths) or any(not isinstance(b, int) or isinstance(b, bool) or b < 1 for b in blocks):
        raise ValueError(
            f"small_resnet: blocks must be one positive whole number, or one per stage ({len(widths)} widths), "
            f"not {blocks!r}."
        )
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(widths[0], 3, padding="same", use_bias=False)(inputs)  # the stem
    x = layers.BatchNormalization(momentum=0.9)(x)
    x = layers.ReLU()(x)
    for stage, (width, n) in enumerate(zip(widths, blocks)):
        for i in range(n):
            x = residual_block(x, width, stride=2 if stage > 0 and i == 0 else 1)
    x = layers.GlobalAveragePooling2D()(x)  # one number per channel: the channel's mean over the whole map
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32")(x)  # float32 under bfloat16 too
    return keras.Model(inputs, outputs, name=name)


def vgg16_base(
    input_shape=(32, 32, 3), weights_file: str | Path | None = None, cut: str = "block3_pool"
) -> tuple[keras.Model, str]:
    """VGG16 without its top, ImageNet weights, cut at ``cut``; returns (model, where the weights came from).

    Order: a local weights file, then Keras's download; only the smoke profile falls back to random weights.
    (lesson 05 §3)
    """
    full, source = pretrained.load(
        pretrained.VGG16,
        lambda weights: keras.applications.VGG16(include_top=False, weights=weights, input_shape=input_shape),
        weights_file,
    )
    base = keras.Model(full.input, full.get_layer(cut).output, name=f"vgg16_to_{cut}")
    base.trainable = False
    return base, source


def m4_head(input_shape=(4, 4, 256), num_classes: int = 10) -> keras.Model:
    """M4's classification head, trained on top of the frozen VGG16 features (lesson 05 §8)."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.3),
            layers.Dense(64, activation="relu"),
            layers.BatchNormalization(),
            layers.Dense(num_classes, activation="softmax", dtype="float32"),
        ],
        name="M4_head",
    )


def m4(base: keras.Model, head: keras.Model, name: str = "M4_transfer") -> keras.Model:
    """M4 as one model that takes images: the frozen VGG16 base, then the head trained on its features (lesson 05
    §8)."""
    return keras.Sequential([keras.Input(shape=base.input_shape[1:]), base, head], name=name)


# --------------------------------------------------------------------------- a lesson's model against this file
def _layer_specs(model: keras.Model) -> list[tuple[str, dict]]:
    """Each layer's type and configuration (names left out), with nested models opened up; a Functional model's
    InputLayer is left out, as a Sequential model's list leaves it out."""
    return [
        (type(layer).__name__, {k: v for k, v in layer.get_config().items() if k != "name"})
        for layer in flat_layers(model)
        if not isinstance(layer, layers.InputLayer)
    ]


def _describe(spec: tuple[str, dict]) -> str:
    kind, config = spec
    shown = {
        k: config[k]
        for k in (
            "filters",
            "kernel_size",
            "units",
            "rate",
            "activation",
            "pool_size",
            "padding",
            "use_bias",
            "negative_slope",
        )
        if k in config
    }
    return f"{kind}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


def _built(reference) -> keras.Model:
    """``reference`` itself, or the model its function builds, the random state saved and restored around it."""
    if isinstance(reference, keras.Model) or not callable(reference):
        return reference
    state, np_state = random.getstate(), np.random.get_state()
    try:
        return reference()
    finally:
        random.setstate(state)
        np.random.set_state(np_state)


def assert_same(model: keras.Model, reference) -> None:
    """Raise unless ``model`` has the layers, configurations and parameter count of ``reference``.

    ``reference`` is a model or a function that builds one (e.g. ``cc.models.r1``); it is built with the random
    state saved and restored, so checking a model does not change what the lesson trains next. (lesson 02 §6)
    """
    reference = _built(reference)
    mine, theirs = _layer_specs(model), _layer_specs(reference)
    where = f"{model.name} and cc.models' {reference.name}"
    for i, (a, b) in enumerate(zip(mine, theirs)):
        if a != b:
            keys = sorted(k for k in set(a[1]) | set(b[1]) if a[1].get(k) != b[1].get(k))
            raise AssertionError(
                f"{where} differ at layer {i}: {_describe(a)} against {_describe(b)}"
                + (f" (in {', '.join(keys)})" if a[0] == b[0] else "")
            )
    if len(mine) != len(theirs):
        raise AssertionError(f"{where} have {len(mine)} and {len(theirs)} layers.")
    if model.count_params() != reference.count_params():
        raise AssertionError(f"{where} have {model.count_params():,} and {reference.count_params():,} parameters.")
    print(f"{model.name} matches cc.models' {reference.name}: {len(mine)} layers, {model.count_params():,} parameters.")


def assert_same_outputs(model: keras.Model, reference, images=None, atol: float = 1e-5) -> None:
    """Raise unless ``model``, given the weights of ``reference`` (a model or a function that builds one), computes
    the same outputs: the same layers *and* the same wiring, which ``assert_same`` cannot see in a Functional model.
    ``model`` itself is left as it is (a copy takes the weights) (lesson 08 §2)."""
    reference = _built(reference)
    where = f"{model.name} and cc.models' {reference.name}"
    copy = keras.models.clone_model(model)
    theirs = reference.get_weights()
    shapes = [w.shape for w in copy.get_weights()], [w.shape for w in theirs]
    if shapes[0] != shapes[1]:
        raise AssertionError(
            f"{where} hold weights of different shapes ({len(shapes[0])} and {len(shapes[1])} arrays): "
            "run cc.models.assert_same(model, reference) to find the layer that differs."
        )
    copy.set_weights(theirs)
    if images is None:  # a fixed batch of random images in the model's input shape
        images = np.random.default_rng(0).random((4, *reference.input_shape[1:]), dtype=np.float32)
    mine, expected = copy.predict(images, verbose=0), reference.predict(images, verbose=0)
    gap = float(np.max(np.abs(np.asarray(mine, dtype=np.float32) - np.asarray(expected, dtype=np.float32))))
    if not gap <= atol:
        raise AssertionError(
            f"{where} have the same weights but compute different outputs (largest difference {gap:.2g}): the layers "
            "are connected differently. Check which tensor each layer is called on, and what the Add() sums."
        )
    print(f"{model.name} computes what cc.models' {reference.name} computes, with the same weights.")
