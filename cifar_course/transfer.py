"""Transfer learning (lesson 05): the message when VGG16's weights are missing, its preprocessing, cached features."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np

from .config import MissingHere, cache_dir
from .formats import save_cache

FEATURE_CACHE_VERSION = 1
VGG16_NOTOP_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"  # VGG16's ImageNet weights, without its top
VGG16_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/" + VGG16_NOTOP_FILE  # Keras's source


def vgg16_weights_missing(err: Exception) -> MissingHere:
    """The error when VGG16's weights are neither here nor downloadable: line 1 what is missing, then the fixes.

    Raise it ``from None``: the failed download's own traceback (a hundred lines of urllib) adds nothing.
    """
    first_line = (str(err).strip() or type(err).__name__).splitlines()[0]
    reason = first_line.rpartition(" -- ")[2]  # Keras says "URL fetch failure on <the URL>: None -- <the reason>"
    keras_models = Path(os.environ.get("KERAS_HOME", "~/.keras")) / "models"
    return MissingHere(
        f"VGG16's ImageNet weights are missing: {VGG16_NOTOP_FILE} is not on this machine and Keras could not "
        f"download it ({reason[:100]}).\n"
        'With internet, run: python -c "import keras; keras.applications.VGG16(include_top=False)"\n'
        f"Offline: download {VGG16_URL} on another machine and copy it into {keras_models}/ here, "
        f"or set CIFAR_COURSE_VGG16_WEIGHTS=/path/to/{VGG16_NOTOP_FILE}"
    )


def vgg_preprocess(x) -> np.ndarray:
    """RGB pixels 0..255 -> VGG16's input: BGR order, ImageNet channel means subtracted (always a new array)."""
    from keras.applications.vgg16 import preprocess_input

    return preprocess_input(np.array(x, dtype=np.float32))  # a copy: preprocess_input edits float arrays in place


def fingerprint(*arrays) -> str:
    """A short hash of the shapes, types and bytes of some arrays (model weights, images)."""
    digest = hashlib.sha1()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.shape}{array.dtype.str}".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()[:16]


def feature_cache_path(base, x) -> Path:
    """Where the features of ``x`` through ``base`` are cached, keyed by the base's weights, precision and data."""
    return cache_dir() / "features" / f"{base.name}-{base.dtype_policy.name}-{fingerprint(*base.get_weights(), x)}.npz"


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
    """Run the frozen ``base`` over ``x`` once (progress bar) and cache the result; returns (features, seconds)."""
    from tqdm.auto import tqdm

    if len(x) == 0:
        raise ValueError("extract_features got no images.")
    path = feature_cache_path(base, x) if cache else None
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
