"""The reference models, as the lessons build them, for reuse in later lessons and tests.

Each lesson writes its model out in full first; these functions are the same code, kept here so
that later lessons (and the tests) can rebuild a model without copying it.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import keras
from keras import layers

from .config import ConfigError, get_profile


def r1(num_classes: int = 10, input_shape=(32, 32, 3)) -> keras.Model:
    """R1, the baseline CNN (lesson 02): 122,570 parameters on CIFAR-10; outputs logits."""
    return keras.Sequential([
        keras.Input(shape=input_shape),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(num_classes),
    ], name="R1_baseline")


def r4(num_classes: int = 10, input_shape=(28, 28, 1)) -> keras.Model:
    """R4, the MNIST CNN (lesson 02 exercise); softmax outputs."""
    return keras.Sequential([
        keras.Input(shape=input_shape),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(num_classes, activation="softmax"),
    ], name="R4_mnist")


def _conv(filters: int) -> list:
    return [layers.Conv2D(filters, 3, padding="same"), layers.LeakyReLU(negative_slope=0.1)]


def m1(dropout: bool = False, num_classes: int = 10, input_shape=(32, 32, 3)) -> keras.Model:
    """M1 "first CNN" (lesson 03), or M2 with ``dropout=True``: 2,105,066 parameters either way."""
    drop = (lambda rate: [layers.Dropout(rate)]) if dropout else (lambda rate: [])
    return keras.Sequential([
        keras.Input(shape=input_shape),
        *_conv(16), *drop(0.2),
        *_conv(32), *drop(0.2),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(256), layers.LeakyReLU(negative_slope=0.1), *drop(0.5),
        layers.Dense(num_classes, activation="softmax", dtype="float32"),  # float32 output under bfloat16 too
    ], name="M2_dropout" if dropout else "M1_first_cnn")


def m3(num_classes: int = 10, input_shape=(32, 32, 3)) -> keras.Model:
    """M3 "deeper CNN" (lesson 04): 1,084,234 parameters."""
    return keras.Sequential([
        keras.Input(shape=input_shape),
        *_conv(16), *_conv(32),
        layers.MaxPooling2D(2), layers.Dropout(0.25),
        *_conv(32), *_conv(64),
        layers.MaxPooling2D(2), layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(256), layers.LeakyReLU(negative_slope=0.1), layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax", dtype="float32"),  # float32 output under bfloat16 too
    ], name="M3_deeper_cnn")


VGG16_NOTOP_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"


def vgg16_weights_path(weights_file: str | Path | None = None) -> Path | None:
    """A local VGG16 'notop' weights file: the argument, $CIFAR_COURSE_VGG16_WEIGHTS, or the Keras cache."""
    given = weights_file or os.environ.get("CIFAR_COURSE_VGG16_WEIGHTS")
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise ConfigError(f"VGG16 weights file {path} does not exist (set by "
                              f"{'argument' if weights_file else 'CIFAR_COURSE_VGG16_WEIGHTS'}). Fix the path.")
        return path
    cached = Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "models" / VGG16_NOTOP_FILE
    return cached if cached.is_file() else None


def vgg16_base(input_shape=(32, 32, 3), weights_file: str | Path | None = None,
               cut: str = "block3_pool") -> tuple[keras.Model, str]:
    """VGG16 without its top, ImageNet weights, cut at ``cut``; returns (model, where the weights came from).

    Order: a local weights file, then Keras's download; only the smoke profile falls back to random weights.
    """
    path = vgg16_weights_path(weights_file)
    if path is not None:
        full = keras.applications.VGG16(include_top=False, weights=None, input_shape=input_shape)
        env = "CIFAR_COURSE_VGG16_WEIGHTS"
        setting = "weights_file" if weights_file else env if os.environ.get(env) else None  # None: the Keras cache
        try:
            full.load_weights(path)
        except (ValueError, OSError) as err:
            fix = (f"Set {setting} to the file {VGG16_NOTOP_FILE} from the Keras applications release." if setting
                   else "Delete it: Keras then downloads the right file.")
            raise ConfigError(f"{path} (from {setting or 'the Keras cache'}) does not fit VGG16 without its top "
                              f"({str(err)[:200]}). {fix}") from err
        source = f"ImageNet weights from {path}"
    else:
        try:
            full = keras.applications.VGG16(include_top=False, weights="imagenet", input_shape=input_shape)
            source = "ImageNet weights (downloaded by Keras)"
        except Exception as err:  # offline: say so, then decide by profile
            if get_profile().name != "smoke":
                raise ConfigError(
                    f"Could not get VGG16's ImageNet weights ({str(err).splitlines()[0][:120]}). "
                    f"With internet, run: python -c \"import keras; keras.applications.VGG16(include_top=False)\". "
                    f"Offline, copy {VGG16_NOTOP_FILE} to ~/.keras/models/ or set CIFAR_COURSE_VGG16_WEIGHTS=/path/to/it."
                ) from err
            print("WARNING: no ImageNet weights here; using RANDOM weights (smoke profile only). "
                  "Transfer-learning numbers from this run mean nothing.", file=sys.stderr)
            full = keras.applications.VGG16(include_top=False, weights=None, input_shape=input_shape)
            source = "RANDOM weights (smoke profile fallback: no ImageNet weights available)"
    base = keras.Model(full.input, full.get_layer(cut).output, name=f"vgg16_to_{cut}")
    base.trainable = False
    return base, source


def m4_head(input_shape=(4, 4, 256), num_classes: int = 10) -> keras.Model:
    """M4's classification head, trained on top of the frozen VGG16 features."""
    return keras.Sequential([
        keras.Input(shape=input_shape),
        layers.Flatten(),
        layers.Dense(256, activation="relu"),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.3),
        layers.Dense(64, activation="relu"),
        layers.BatchNormalization(),
        layers.Dense(num_classes, activation="softmax", dtype="float32"),
    ], name="M4_head")


def count_params(model: keras.Model) -> int:
    """Total number of parameters (trainable and frozen)."""
    return int(model.count_params())
