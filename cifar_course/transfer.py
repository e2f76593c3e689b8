"""Transfer learning (lesson 05): VGG16's preprocessing and its cached features."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np

from .folders import cache_dir
from .formats import save_cache

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
