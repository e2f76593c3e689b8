"""Checks for lesson 05, transfer learning: images prepared for VGG16, the parameters of a VGG16 block."""

from __future__ import annotations

import numpy as np

from ._core import CheckFailed, answered, ok, whole_number


def check_vgg_preprocessed(x_mine, x_pixels) -> None:
    """Images prepared as VGG16 expects: 0-255 scale, BGR channel order, ImageNet channel means subtracted
    (lesson 05 §5)."""
    if not answered(x_mine, "the preprocessed images"):
        return
    from keras.applications.vgg16 import preprocess_input

    pixels = np.array(x_pixels, dtype=np.float32)
    expected = preprocess_input(pixels.copy())
    mine = np.asarray(x_mine, dtype=np.float32)
    if mine.shape != expected.shape:
        raise CheckFailed(f"the preprocessed images have shape {mine.shape}, expected {expected.shape}.")
    if np.allclose(mine, expected, atol=1e-3):
        return ok("BGR order, ImageNet means subtracted, 0-255 scale: what VGG16 saw in training.")
    if np.allclose(mine[..., ::-1], expected, atol=1e-3):
        raise CheckFailed("the means are right but the channels are in RGB order: reverse them with x[..., ::-1].")
    if float(np.abs(mine).max()) <= 1.0 + 1e-6:
        raise CheckFailed("the values lie within [-1, 1]: VGG16 was trained on 0-255 pixels, do not divide by 255.")
    if np.allclose(mine, pixels[..., ::-1], atol=1e-3):
        raise CheckFailed("the channels are flipped to BGR but the ImageNet means are not subtracted yet.")
    raise CheckFailed(
        "not what keras.applications.vgg16.preprocess_input gives: flip RGB to BGR, then subtract "
        "the means [103.939, 116.779, 123.68] from the B, G and R channels."
    )


def check_layer_params(answer, layers: list) -> None:
    """The parameters of some Keras layers together, e.g. the three convolutions of one VGG16 block (lesson 05 §11)."""
    if not answered(answer, "the parameter count"):
        return
    answer = whole_number(answer, "the parameter count")
    counts = [int(layer.count_params()) for layer in layers]
    expected = sum(counts)
    biases = sum(int(np.prod(w.shape)) for layer in layers for w in layer.weights if w.name.endswith("bias"))
    if answer == expected:
        return ok(f"{len(layers)} layers hold {expected:,} parameters ({', '.join(f'{c:,}' for c in counts)}).")
    if answer == expected - biases:
        raise CheckFailed(f"{answer:,} counts the weights but not the biases: every filter has one bias as well.")
    if answer in counts:
        raise CheckFailed(f"{answer:,} is one layer's count: add up all {len(layers)} layers.")
    raise CheckFailed(
        f"{answer:,} is not it. Per convolution: (k x k x input channels + 1) x filters; the input "
        "channels of a layer are the filters of the one before it."
    )
