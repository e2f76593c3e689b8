"""ImageNet weights of lesson 05's pretrained networks (VGG16, EfficientNetV2B0): where a local file is, loading it,
and the error offline. ``cc.models.vgg16_base`` and ``cc.transfer.efficientnet_base`` use it; no lesson calls it."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .arrays import one_line
from .folders import MissingHere, keras_home
from .profiles import get_profile

KERAS_WEIGHTS = "https://storage.googleapis.com/tensorflow/keras-applications/"  # where Keras downloads them from


@dataclass(frozen=True)
class Weights:
    """One network's ImageNet weights without the top: its Keras application, file, download URL and setting."""

    name: str  # keras.applications.<name>
    file: str  # the file name Keras caches it under, in ~/.keras/models/
    url: str
    env: str  # the environment variable naming a local copy


VGG16 = Weights(
    "VGG16",
    "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    KERAS_WEIGHTS + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "CIFAR_COURSE_VGG16_WEIGHTS",
)
EFFICIENTNET = Weights(
    "EfficientNetV2B0",
    "efficientnetv2-b0_notop.h5",
    KERAS_WEIGHTS + "efficientnet_v2/efficientnetv2-b0_notop.h5",
    "CIFAR_COURSE_EFFNET_WEIGHTS",
)


def local_file(weights: Weights, weights_file: str | Path | None = None) -> Path | None:
    """A local copy of the weights: the argument, then ``$env``, then the Keras cache; None when there is none."""
    given = weights_file or os.environ.get(weights.env)
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise ValueError(
                f"{weights.name} weights file {path} does not exist (set by "
                f"{'argument' if weights_file else weights.env}). Fix the path."
            )
        return path
    cached = keras_home() / "models" / weights.file
    return cached if cached.is_file() else None


def missing(weights: Weights, err: Exception) -> MissingHere:
    """The error when the weights are neither here nor downloadable: line 1 what is missing, then the fixes (raise it
    ``from None``: the failed download's traceback adds nothing)."""
    reason = one_line(err).rpartition(" -- ")[2]  # Keras says "URL fetch failure on <the URL>: None -- <the reason>"
    keras_models = keras_home(expand=False) / "models"  # ~/.keras/models, as the student knows it
    return MissingHere(
        f"{weights.name}'s ImageNet weights are missing: {weights.file} is not on this machine and Keras could not "
        f"download it ({reason[:100]}).\n"
        f'With internet, run: python -c "import keras; keras.applications.{weights.name}(include_top=False)"\n'
        f"Offline: download {weights.url} on another machine and copy it into {keras_models}/ here, "
        f"or set {weights.env}=/path/to/{weights.file}"
    )


def load(weights: Weights, build: Callable, weights_file: str | Path | None = None) -> tuple:
    """The network and where its weights came from: ``build(None)`` loading a local file (``local_file``), else
    ``build("imagenet")``, Keras's download; offline ``missing`` is raised, except in smoke, which goes on with
    random weights and says so."""
    path = local_file(weights, weights_file)
    if path is not None:
        setting = "weights_file" if weights_file else weights.env if os.environ.get(weights.env) else None
        network = build(None)
        try:
            network.load_weights(path)
        except (ValueError, OSError) as err:
            fix = (
                f"Set {setting} to the file {weights.file} from the Keras applications release."
                if setting
                else "Delete it: Keras then downloads the right file."
            )
            raise ValueError(
                f"{path} (from {setting or 'the Keras cache'}) does not fit {weights.name} without its top "
                f"({one_line(err, 200)}). {fix}"
            ) from err
        return network, f"ImageNet weights from {path}"
    try:
        return build("imagenet"), "ImageNet weights (downloaded by Keras)"
    except Exception as err:  # offline: say so, then decide by profile
        if get_profile().name != "smoke":
            raise missing(weights, err) from None
        print(
            f"WARNING: no ImageNet weights for {weights.name} here; using RANDOM weights (smoke profile only). "
            "Its numbers from this run mean nothing.",
            file=sys.stderr,
        )
        return build(None), "RANDOM weights (smoke profile fallback: no ImageNet weights available)"
