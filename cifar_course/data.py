"""Loading a data set and preparing its arrays: ``load_dataset``, ``split_validation``, ``scale_pixels``, ``one_hot``.

``load_dataset`` tries, in order: the course data folder ($CIFAR_COURSE_DATA, or ~/cifar-course-data), the Keras
cache in ~/.keras/datasets, the real download, and (only in the smoke profile) a small synthetic stand-in. It says
which one it used. The readers of each file format are in ``formats.py``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import formats
from .arrays import one_line
from .folders import (
    CIFAR_FILES,
    MissingHere,
    data_folder,
    describe_sources,
    in_keras_cache,
    keras_cache_dir,
    official_batches,
)
from .formats import DataError
from .profiles import Profile, current_seed, get_profile

SUBSET_SEED = 42  # the profiles' subsets are the same images whatever seed a lesson uses

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


@dataclass(frozen=True)
class _DatasetInfo:
    """What we know about one data set: image shape, classes, official file names."""

    shape: tuple[int, int, int]
    num_classes: int
    class_names: list[str] | None  # None: read from the files (CIFAR-100)
    official: str  # the official archive or folder name users download
    url: str


DATASETS = {
    "cifar10": _DatasetInfo(
        (32, 32, 3),
        10,
        CIFAR10_CLASSES,
        "cifar-10-python.tar.gz",
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    ),
    "cifar100": _DatasetInfo(
        (32, 32, 3), 100, None, "cifar-100-python.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    ),
    "mnist": _DatasetInfo(
        (28, 28, 1),
        10,
        [str(d) for d in range(10)],
        "mnist.npz",
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    ),
    "fashion_mnist": _DatasetInfo(
        (28, 28, 1),
        10,
        FASHION_CLASSES,
        "train-images-idx3-ubyte.gz (and the other 3 files)",
        "https://github.com/zalandoresearch/fashion-mnist",
    ),
}


class DataNotFoundError(MissingHere, FileNotFoundError):
    """No source had the data set; the message says how to get it (a lesson without its data is not run here) (lesson
    01 §11)."""


@dataclass
class Dataset:
    """Train and test arrays (uint8 images N x H x W x C, integer labels) with class names and source; unpacks like
    ``keras.datasets.cifar10.load_data()`` (lesson 01 §1)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    source: str
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __iter__(self):
        """Unpack like ``keras.datasets.cifar10.load_data()``: ``(x_train, y_train), (x_test, y_test) = data``.

        The images are this data set's own arrays (not copies); the labels come as CIFAR's Keras loaders give them,
        one column of shape (n, 1), uint8 (the labels' own integer type when there are more than 256 classes),
        whatever the data set. ``data.y_train`` and ``data.y_test`` stay flat arrays of shape (n,) (lesson 01 §1).
        """
        train, test = (self.x_train, self._keras_labels(self.y_train)), (self.x_test, self._keras_labels(self.y_test))
        return iter((train, test))

    def _keras_labels(self, y: np.ndarray) -> np.ndarray:
        """Flat integer labels as ``keras.datasets`` returns them: a (n, 1) column, uint8 where all classes fit."""
        y = np.asarray(y)
        fits = self.num_classes <= np.iinfo(np.uint8).max + 1
        return y.astype(np.uint8 if fits else y.dtype).reshape(-1, 1)

    def summary(self) -> str:
        """One line: name, source, sizes, image shape, classes."""
        h, w, c = self.x_train.shape[1:]
        kind = "SYNTHETIC stand-in for " if self.synthetic else ""
        return (
            f"{kind}{self.name} from {self.source}: {len(self.x_train):,} train / "
            f"{len(self.x_test):,} test images, {h}x{w}x{c}, {self.num_classes} classes"
        )


# --------------------------------------------------------------------------- what the lessons call
def load_dataset(
    name: str = "cifar10",
    data_dir: str | Path | None = None,
    *,
    profile: Profile | str | None = None,
    subset: bool = True,
    label_mode: str = "fine",
    download: bool | None = None,
    verbose: bool = True,
    image_size: tuple[int, int] | None = None,
    fit: str = "crop",
    cache: bool = True,
) -> Dataset:
    """Load a data set from the first source that has it, cut to the profile's size, and say where from.

    ``name`` is one of DATASETS, or the path of a folder of your own images: ``train/<class>/...`` and
    ``test/<class>/...``, or one folder per class (20% of each class is then set aside for testing). Your photos may
    have any size and colour mode: they are brought to ``image_size`` (height, width; default 32x32, what the course's
    models take) by ``fit="crop"`` (fill the frame, cut the edges) or ``fit="pad"`` (keep everything, grey borders),
    and cached (``cache=False``: decode them every time, e.g. for a throw-away folder) (lesson 01 setup).
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"label_mode must be 'fine' or 'coarse' (CIFAR-100 only), not {label_mode!r}.")
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    if name not in DATASETS:
        ds = _own_images(name, image_size or (32, 32), fit, cache)
        tried = []
    elif image_size is not None:
        raise ValueError(f"image_size is for folders of your own images; {name} comes in its own size.")
    else:
        if download is None:
            download = os.environ.get("CIFAR_COURSE_OFFLINE", "") in ("", "0")
        ds, tried = _find_dataset(name, data_dir, label_mode, download)
    if ds is None:
        if profile.name != "smoke":
            raise DataNotFoundError(
                f"No {name} data found. Tried:\n  - " + "\n  - ".join(tried) + "\n" + _how_to_get(name)
            )
        ds = synthetic_dataset(name, profile.train_size, profile.test_size)
        ds.notes.append("tried: " + "; ".join(tried))
    ds = validated(ds)
    if name in DATASETS:
        check_shape(ds, name)
    if subset:
        ds = _for_profile(ds, profile)
    if verbose:
        print(ds.summary() + f" [profile {profile.name}]")
        for note in ds.notes:
            print("  note:", note)
    return ds


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float = 0.1, seed: int | None = None):
    """Split a stratified validation set off the training set: returns (x_train, y_train), (x_val, y_val).

    The split follows the seed given to ``cc.setup`` (42 by default) unless ``seed`` is given. (lesson 01 §7)
    """
    from sklearn.model_selection import train_test_split

    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction}.")
    labels = y.argmax(axis=1) if y.ndim == 2 else y
    classes, n_val = len(np.unique(labels)), int(np.ceil(fraction * len(labels)))
    if n_val < classes or len(labels) - n_val < classes:
        raise DataError(
            f"A {fraction:.0%} validation split of {len(labels)} images cannot hold all {classes} classes "
            f"on both sides: use a larger fraction or more images (e.g. the quick profile)."
        )
    seed = current_seed() if seed is None else seed
    x_tr, x_val, y_tr, y_val = train_test_split(x, y, test_size=fraction, stratify=labels, random_state=seed)
    return (x_tr, y_tr), (x_val, y_val)


def scale_pixels(x: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255 -> float32 in [0, 1] (lesson 01 §8)."""
    if x.dtype != np.uint8:
        raise DataError(
            f"scale_pixels expects uint8 pixels (0..255) but got {x.dtype} with values "
            f"{float(x.min()):.3g}..{float(x.max()):.3g}: are these images scaled already?"
        )
    return x.astype(np.float32) / 255.0


def one_hot(y: np.ndarray, num_classes: int) -> np.ndarray:
    """Integer labels -> one-hot rows (float32), for CategoricalCrossentropy (lesson 01 §9)."""
    y = np.asarray(y).reshape(-1)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise DataError(f"Labels run from {y.min()} to {y.max()}, outside 0..{num_classes - 1}.")
    return np.eye(num_classes, dtype=np.float32)[y]


def load_image(source, image_size: tuple[int, int] = (32, 32), fit: str = "crop") -> np.ndarray:
    """One photo (a path, or the bytes of an upload) as uint8 (height, width, 3), the way the course's models see it
    (lesson 02 §13)."""
    import io

    if isinstance(source, (bytes, bytearray, memoryview)):
        return formats.decode_image(io.BytesIO(bytes(source)), tuple(image_size), fit)
    path = Path(source).expanduser()
    if not path.is_file():
        raise DataError(f"{path} is not a file: give the path of a photo (any format Pillow reads).")
    return formats.decode_image(path, tuple(image_size), fit)


def stratified_subset(
    x: np.ndarray, y: np.ndarray, n: int | None, seed: int = SUBSET_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Keep ``n`` examples with the same class proportions (all of them when n is None or too large) (lesson 05 §10)."""
    from sklearn.model_selection import train_test_split

    if n is None or n >= len(y):
        return x, y
    x_keep, _, y_keep, _ = train_test_split(x, y, train_size=n, stratify=y, random_state=seed)
    return x_keep, y_keep


def _for_profile(ds: Dataset, profile: Profile) -> Dataset:
    """Cut a data set to the profile's sizes with stratified sampling."""
    x_train, y_train = stratified_subset(ds.x_train, ds.y_train, profile.train_size)
    x_test, y_test = stratified_subset(ds.x_test, ds.y_test, profile.test_size)
    return Dataset(ds.name, x_train, y_train, x_test, y_test, ds.class_names, ds.source, ds.synthetic, ds.notes)


def _own_images(folder: str | Path, image_size: tuple[int, int], fit: str, cache: bool = True) -> Dataset:
    """A folder of your own images as a Dataset named after the folder (decoded once, then cached)."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ValueError(
            f"Unknown data set {str(folder)!r}. Choose one of: {', '.join(DATASETS)}, or give the path "
            "of a folder of your own images (train/<class>/..., test/<class>/..., or one folder per class)."
        )
    if fit not in formats.FITS:
        raise ValueError(f"fit must be one of {', '.join(formats.FITS)}, not {fit!r}.")
    size = tuple(int(v) for v in image_size)
    if len(size) != 2 or min(size) < 8:
        raise ValueError(f"image_size must be (height, width) of at least 8 pixels each, not {image_size!r}.")
    read = formats.read_image_tree_cached if cache else formats.read_image_tree
    return _as_dataset(read(root, root.resolve().name, size, fit), root.resolve().name)


def _how_to_get(name: str) -> str:
    """Instructions for getting a data set onto this machine."""
    info = DATASETS[name]
    return (
        f"How to get {name}:\n"
        f'  * with internet: python -c "import keras; keras.datasets.{name}.load_data()"\n'
        f"  * offline: cifar-course data import PATH, with {info.official} (from {info.url}) or an image folder"
        f" train/<class>/*.png, test/<class>/*.png: it lands in ~/cifar-course-data/{name}/, which the course finds by"
        f" itself (or copy it into DIR/{name}/ and set CIFAR_COURSE_DATA=DIR)\n"
        f"  * only to test the notebooks: COURSE_PROFILE=smoke uses a synthetic stand-in"
    )


# --------------------------------------------------------------------------- the sources, in order
def _find_dataset(name: str, data_dir, label_mode: str, download: bool) -> tuple[Dataset | None, list[str]]:
    """The data set from the first source that has it (or None), and what each source tried said."""
    tried, ds = [], None
    root = data_folder(data_dir)[0]
    if root is not None:
        folder = root / name
        ds = from_folder(folder, name, label_mode) if folder.is_dir() else None
        missing = (
            f"no such folder: point CIFAR_COURSE_DATA (or data_dir) at {root.parent}, the folder that holds {name}/"
            if root.name == name
            else f"no such folder (put the data in {folder}/)"
        )
        tried.append(
            f"course data folder {folder}: {'found' if ds else 'nothing usable' if folder.is_dir() else missing}"
        )
    else:
        tried.append(describe_sources(name, data_dir).split(";")[0])
    if ds is None:
        ds = _from_keras_cache(name, label_mode)
        tried.append(f"Keras cache {keras_cache_dir()}: {'found' if ds else 'nothing'}")
    if ds is None and download and not _reachable(DOWNLOAD_HOSTS[name]):
        tried.append(f"download: skipped (no network: {DOWNLOAD_HOSTS[name]} cannot be reached)")
    elif ds is None and download:
        try:
            ds = _download_dataset(name, label_mode)
        except DataError:
            raise
        except Exception as err:  # no network, server down: report it and go on to the next source
            tried.append(f"download: failed ({one_line(err, 160)})")
    elif ds is None:
        tried.append("download: skipped (CIFAR_COURSE_OFFLINE is set)")
    return ds, tried


DOWNLOAD_HOSTS = {
    "cifar10": "www.cs.toronto.edu",
    "cifar100": "www.cs.toronto.edu",
    "mnist": "storage.googleapis.com",
    "fashion_mnist": "storage.googleapis.com",
}  # where Keras downloads


def _reachable(host: str, timeout: float = 3.0) -> bool:
    """Whether a server answers on port 443: checked before a download, so offline is one clear line."""
    import socket

    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _as_dataset(found: formats.Arrays | None, name: str) -> Dataset | None:
    """A reader's arrays as a Dataset, with the known class names where the files have none."""
    if found is None:
        return None
    names = found.class_names or (DATASETS[name].class_names if name in DATASETS else None)
    if names is None:
        raise DataError(
            f"{found.source} has no class_names array: save one with np.savez(..., class_names=np.array(names))."
        )
    return Dataset(
        name,
        found.x_train,
        found.y_train,
        found.x_test,
        found.y_test,
        list(names),
        found.source,
        notes=list(found.notes),
    )


def from_folder(folder: Path, name: str, label_mode: str) -> Dataset | None:
    """Look in one data-set folder for any supported layout (used by the tools)."""
    batches = official_batches(folder, name)
    if batches is not None:
        return _as_dataset(formats.read_cifar_folder(batches, name, label_mode), name)
    if name in CIFAR_FILES and (folder / DATASETS[name].official).is_file():
        fix = f"Delete it and download it again from {DATASETS[name].url}"
        return _as_dataset(formats.read_cifar_archive(folder / DATASETS[name].official, name, label_mode, fix), name)
    if (folder / "train").is_dir() and (folder / "test").is_dir():
        return _as_dataset(formats.read_image_tree_cached(folder, name), name)
    for npz in sorted(folder.glob("*.npz")):
        ds = _as_dataset(formats.read_npz(npz), name)
        if ds is not None:
            return ds
    return _as_dataset(formats.read_idx_folder(folder), name)


def _from_keras_cache(name: str, label_mode: str) -> Dataset | None:
    """The data set from the folder where ``keras.datasets`` keeps its downloads, or None."""
    found = in_keras_cache(name)
    if found is None:
        return None
    if name == "mnist":
        return _as_dataset(formats.read_npz(found), name)
    if name == "fashion_mnist":
        return _as_dataset(formats.read_idx_folder(found), name)
    try:
        return _as_dataset(formats.read_cifar_folder(found, name, label_mode), name)
    except DataError as err:
        raise DataError(
            f"{err}\nThis Keras cache folder looks half-extracted (interrupted download?): "
            f"delete {found} and run again; Keras re-extracts its checked download."
        ) from err


def _download_dataset(name: str, label_mode: str) -> Dataset:
    """Let Keras download the official files into its cache, then read them from there."""
    import keras

    loader = getattr(keras.datasets, name)
    loader.load_data() if name != "cifar100" else loader.load_data(label_mode=label_mode)
    ds = _from_keras_cache(name, label_mode)
    if ds is None:
        raise DataError(f"Keras downloaded {name} but the files are not in {keras_cache_dir()}.")
    ds.source = f"download into {keras_cache_dir()}"
    return ds


def synthetic_dataset(name: str = "cifar10", n_train: int = 600, n_test: int = 200, seed: int = 0) -> Dataset:
    """A small learnable stand-in: each class is a fixed blocky colour pattern plus noise (used by the tools)."""
    info = DATASETS[name]
    h, w, c = info.shape
    k = info.num_classes
    rng = np.random.default_rng(seed)
    patterns = rng.uniform(0, 255, (k, 4, 4, c)).repeat(h // 4, axis=1).repeat(w // 4, axis=2)

    def make(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.arange(n) % k
        rng.shuffle(y)
        x = patterns[y] + rng.normal(0, 45, (n, h, w, c))
        return np.clip(x, 0, 255).astype(np.uint8), y.astype(np.int64)

    (x_train, y_train), (x_test, y_test) = make(n_train), make(n_test)
    names = [f"synthetic_{i}" for i in range(k)]
    return Dataset(
        name,
        x_train,
        y_train,
        x_test,
        y_test,
        names,
        "SYNTHETIC stand-in data (no real data found; smoke profile only: numbers mean nothing)",
        synthetic=True,
    )


def validated(ds: Dataset) -> Dataset:
    """Refuse inconsistent arrays instead of training on silent garbage (used by the tools)."""
    for split, x, y in (("train", ds.x_train, ds.y_train), ("test", ds.x_test, ds.y_test)):
        if x.ndim != 4 or x.dtype != np.uint8:
            raise DataError(
                f"{ds.source}: {split} images have shape {x.shape} and dtype {x.dtype}; "
                "expected uint8 images of shape (N, height, width, channels)."
            )
        if len(x) != len(y):
            raise DataError(f"{ds.source}: {len(x)} {split} images but {len(y)} labels.")
        if len(y) and (y.min() < 0 or y.max() >= ds.num_classes):
            raise DataError(
                f"{ds.source}: {split} labels run from {y.min()} to {y.max()} but there are "
                f"{ds.num_classes} classes (labels must be 0..{ds.num_classes - 1})."
            )
    ds.y_train, ds.y_test = ds.y_train.astype(np.int64), ds.y_test.astype(np.int64)
    return ds


def check_shape(ds: Dataset, name: str) -> None:
    """Refuse images of another shape than the named data set's (e.g. 28x28 grayscale in cifar10/, with its classes)
    (lesson 01 exercises)."""
    info = DATASETS[name]
    claims = ds.class_names == info.class_names if info.class_names else ds.num_classes == info.num_classes
    shapes = {tuple(ds.x_train.shape[1:]), tuple(ds.x_test.shape[1:])}
    if claims and shapes != {info.shape}:
        found = " and ".join(sorted("x".join(map(str, s)) for s in shapes))
        raise DataError(
            f"{ds.source}: {name} images are {'x'.join(map(str, info.shape))} (height x width x channels) but these "
            f"are {found}, so the lessons' models cannot take them. These are not the {name} files (resized or "
            f"converted?): get the official ones ({info.official}, {info.url}), or load a folder of your own images "
            "by its path, which brings them to one size: cc.load_dataset(folder, image_size=(32, 32))."
        )
