"""Transfer learning (lesson 05): VGG16's preprocessing, cached features, and EfficientNetV2B0 with its fine-tuning."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import pretrained
from .arrays import flat_layers
from .folders import cache_dir
from .formats import save_cache

if TYPE_CHECKING:
    import keras

FEATURE_CACHE_VERSION = 1


def vgg_preprocess(x) -> np.ndarray:
    """RGB pixels 0..255 -> VGG16's input: BGR order, ImageNet channel means subtracted (always a new array) (lesson
    05 §5)."""
    from keras.applications.vgg16 import preprocess_input

    return preprocess_input(np.array(x, dtype=np.float32))  # a copy: preprocess_input edits float arrays in place


def _fingerprint(*arrays) -> str:
    """A short hash of the shapes, types and bytes of some arrays (model weights, images)."""
    digest = hashlib.sha1()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.shape}{array.dtype.str}".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()[:16]


def _feature_cache_path(base, x) -> Path:
    """Where the features of ``x`` through ``base`` are cached, keyed by the base's weights, precision and data."""
    return cache_dir() / "features" / f"{base.name}-{base.dtype_policy.name}-{_fingerprint(*base.get_weights(), x)}.npz"


def _load_cached(path: Path) -> tuple[np.ndarray, float] | None:
    try:
        with np.load(path, allow_pickle=False) as npz:
            if int(npz["version"]) != FEATURE_CACHE_VERSION:
                return None
            return npz["features"], float(npz["seconds"])
    except (OSError, ValueError, KeyError, EOFError) as err:
        print(f"Ignoring the damaged cache file {path} ({err}); computing the features again.")
        return None


def extract_features(
    base, x, batch_size: int = 256, cache: bool = True, desc: str = "features"
) -> tuple[np.ndarray, float]:
    """Run the frozen ``base`` over ``x`` once (progress bar) and cache the result; returns (features, seconds)
    (lesson 05 §7)."""
    from tqdm.auto import tqdm

    if len(x) == 0:
        raise ValueError("extract_features got no images.")
    path = _feature_cache_path(base, x) if cache else None
    found = _load_cached(path) if path is not None and path.is_file() else None
    if found is not None:
        print(f"{desc}: loaded {found[0].shape} from the cache {path} (computing them took {found[1]:.1f} s)")
        return found
    start = time.perf_counter()
    parts = [
        np.asarray(base.predict_on_batch(x[i : i + batch_size]), dtype=np.float32)
        for i in tqdm(range(0, len(x), batch_size), desc=desc, unit="batch", mininterval=2)
    ]
    features, seconds = np.concatenate(parts), time.perf_counter() - start
    if path is not None and not save_cache(path, features=features, seconds=seconds, version=FEATURE_CACHE_VERSION):
        path = None  # not cached: a full or read-only disk (save_cache said so)
    size = f", cached in {path} ({features.nbytes / 2**20:.0f} MiB)" if path is not None else ""
    print(f"{desc}: computed {features.shape} in {seconds:.1f} s{size}")
    return features, seconds


# --------------------------------------------------------------------------- EfficientNetV2B0 (lesson 05 §12)
def _efficientnet(input_size: int, weights):
    """keras.applications.EfficientNetV2B0 without its top, average-pooled, taking 0-255 pixels of ``input_size``."""
    import keras

    return keras.applications.EfficientNetV2B0(
        include_top=False,
        weights=weights,
        input_shape=(input_size, input_size, 3),
        pooling="avg",  # GlobalAveragePooling2D inside the base: 1,280 features per image
        include_preprocessing=True,  # its own Rescaling + Normalization: feed it 0-255 pixels
    )


def efficientnet_base(
    input_size: int = 64, weights_file: str | Path | None = None, image_shape=(32, 32, 3)
) -> tuple[keras.Model, str]:
    """Frozen EfficientNetV2B0 (ImageNet weights) behind a Resizing to ``input_size``; returns (model, where the
    weights came from). Order: a local weights file, then Keras's download; only smoke falls back to random weights.
    (lesson 05 §12)"""
    import keras

    if int(input_size) < 32:
        raise ValueError(f"input_size={input_size}: EfficientNetV2B0 needs images of at least 32x32 pixels.")
    backbone, source = pretrained.load(
        pretrained.EFFICIENTNET, lambda weights: _efficientnet(input_size, weights), weights_file
    )
    base = keras.Sequential(
        [keras.Input(shape=image_shape), keras.layers.Resizing(input_size, input_size, name="upscale"), backbone],
        name=f"efficientnetv2b0_{input_size}px",
    )
    base.trainable = False
    return base, source


def unfreeze_top(model: keras.Model, first_layer: str) -> int:
    """Make ``first_layer`` and every layer after it trainable, except BatchNormalization layers, which stay frozen
    (nested models opened up); returns the number of trainable parameters (lesson 05 §12)."""
    import keras

    layers = flat_layers(model)
    names = [layer.name for layer in layers]
    if first_layer not in names:
        raise ValueError(
            f"{model.name} has no layer named {first_layer!r}. Its last layers are: {', '.join(names[-8:])}."
        )
    start = names.index(first_layer)
    model.trainable = True  # sets every layer inside; the loop below freezes all but the top again
    for i, layer in enumerate(layers):
        layer.trainable = i >= start and not isinstance(layer, keras.layers.BatchNormalization)
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def base_and_head(base: keras.Model, head: keras.Model, name: str = "base_and_head") -> keras.Model:
    """One model that takes images: ``base`` called with training=False (its BatchNormalization layers stay in
    inference mode, even while fine-tuning), then ``head`` (lesson 05 §12)."""
    import keras

    images = keras.Input(shape=base.input_shape[1:])
    return keras.Model(images, head(base(images, training=False)), name=name)


def effnet_ms_per_image(input_size: int, x, batch_size: int = 64) -> float:
    """Milliseconds per image of the frozen EfficientNetV2B0 at ``input_size`` on this machine, after a warm-up batch;
    random weights, as the time does not depend on their values (lesson 05 §12)."""
    import keras

    n = len(x) // batch_size * batch_size  # whole batches only: a smaller last batch would build a new graph
    if n == 0:
        raise ValueError(f"effnet_ms_per_image needs at least {batch_size} images (one batch), got {len(x)}.")
    model = keras.Sequential(
        [
            keras.Input(shape=np.shape(x)[1:]),
            keras.layers.Resizing(input_size, input_size),
            _efficientnet(input_size, None),
        ]
    )
    model.predict_on_batch(x[:batch_size])  # the first call builds the graph: not timed
    start = time.perf_counter()
    for i in range(0, n, batch_size):
        model.predict_on_batch(x[i : i + batch_size])
    return 1000 * (time.perf_counter() - start) / n
