"""Small Keras and NumPy helpers that several of the course's modules share (evaluation, explain, checks, models,
modern), and ``one_line`` for their messages (the tools' too); no lesson calls them directly."""

from __future__ import annotations

import numpy as np


def one_line(text: object, limit: int | None = None) -> str:
    """The first non-blank line of a text or an error's message (an error's type name when it has none; else ""),
    cut to ``limit`` characters with "..." at the end."""
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    if not line and isinstance(text, BaseException):
        line = type(text).__name__
    return line if limit is None or len(line) <= limit else line[: limit - 3] + "..."


def as_probabilities(out) -> np.ndarray:
    """A model's outputs as class probabilities (float64): a softmax unless every row already is one (R1: logits)."""
    from scipy.special import softmax

    out = np.asarray(out, dtype=np.float64)
    if out.min() >= 0 and np.allclose(out.sum(axis=1), 1.0, atol=1e-3):
        return out
    return softmax(out, axis=1)


def flat_layers(model) -> list:
    """The model's layers in order, nested models (M4's VGG16 base and head) opened up."""
    import keras

    return [
        inner for layer in model.layers for inner in (flat_layers(layer) if isinstance(layer, keras.Model) else [layer])
    ]


def model_images(model, images) -> np.ndarray:
    """Images as the float32 batch (N, H, W, C) the model takes (one image: a batch of one), or a clear ValueError."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]  # one image -> a batch of one
    try:
        expected = tuple(model.input_shape[1:])
    except (AttributeError, ValueError) as error:
        raise ValueError(
            f"model {model.name!r} has no input shape yet: start it with keras.Input(shape=...)"
        ) from error
    if images.ndim != 4 or any(e is not None and e != got for e, got in zip(expected, images.shape[1:])):
        want = "x".join("?" if e is None else str(e) for e in expected)
        got = "x".join(str(s) for s in images.shape[-3:])
        raise ValueError(
            f"the model takes {want} images; resize yours first (got {got}, shape {images.shape}): bring a photo "
            "to size with cc.data.load_image(path)."
        )
    if images.dtype.kind != "f":
        raise ValueError(
            f"the images are {images.dtype} (0..255): the model takes float pixels in [0, 1]; scale the uint8 "
            "images with cc.scale_pixels(x) first."
        )
    return images.astype(np.float32)
