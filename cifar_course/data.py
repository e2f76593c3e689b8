"""Load CIFAR-10/100, MNIST and Fashion-MNIST from a folder, the Keras cache or the web.

``load_dataset`` tries, in order: the folder in $CIFAR_COURSE_DATA (or ``data_dir``), the Keras
cache in ~/.keras/datasets, the real download, and (only in the smoke profile) a small synthetic
stand-in. It prints which one it used.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import ConfigError, Profile, cache_dir, get_profile

CACHE_VERSION = 2  # bump when the cache layout changes; older cache files are rebuilt
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
SEED = 42

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


@dataclass(frozen=True)
class DatasetInfo:
    """What we know about one data set: image shape, classes, official file names."""

    shape: tuple[int, int, int]
    num_classes: int
    class_names: list[str] | None  # None: read from the files (CIFAR-100)
    official: str  # the official archive or folder name users download
    url: str


DATASETS = {
    "cifar10": DatasetInfo((32, 32, 3), 10, CIFAR10_CLASSES, "cifar-10-python.tar.gz",
                           "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"),
    "cifar100": DatasetInfo((32, 32, 3), 100, None, "cifar-100-python.tar.gz",
                            "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"),
    "mnist": DatasetInfo((28, 28, 1), 10, [str(d) for d in range(10)], "mnist.npz",
                         "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"),
    "fashion_mnist": DatasetInfo((28, 28, 1), 10, FASHION_CLASSES, "train-images-idx3-ubyte.gz (and the other 3 files)",
                                 "https://github.com/zalandoresearch/fashion-mnist"),
}


class DataError(ValueError):
    """Data were found but are unusable (corrupt, truncated, inconsistent); the message says what to do."""


class DataNotFoundError(FileNotFoundError):
    """No source had the data set; the message says how to get it."""


@dataclass
class Dataset:
    """Train and test arrays (uint8 images N x H x W x C, integer labels) with class names and source."""

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

    def summary(self) -> str:
        """One line: name, source, sizes, image shape, classes."""
        h, w, c = self.x_train.shape[1:]
        kind = "SYNTHETIC stand-in for " if self.synthetic else ""
        return (f"{kind}{self.name} from {self.source}: {len(self.x_train):,} train / "
                f"{len(self.x_test):,} test images, {h}x{w}x{c}, {self.num_classes} classes")


# --------------------------------------------------------------------------- safe unpickling
class _CifarUnpickler(pickle.Unpickler):
    """Unpickles only what the official CIFAR files hold: dicts, lists, bytes and NumPy arrays."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"),
               ("_codecs", "encode")}  # how Python 3 pickles bytes at protocol 2: a text-to-bytes conversion

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise DataError(
                f"Refused to unpickle {module}.{name}: official CIFAR files contain only plain data. "
                "This file is not an official CIFAR file (or was tampered with); delete it and download again."
            )
        if module == "numpy.core.multiarray" and int(np.__version__.split(".")[0]) >= 2:
            module = "numpy._core.multiarray"
        return super().find_class(module, name)


def safe_unpickle(raw: bytes, what: str) -> dict:
    """Load one CIFAR batch pickle with the restricted unpickler; keys come back as str."""
    try:
        obj = _CifarUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except DataError:
        raise
    except Exception as err:
        raise DataError(f"{what} is not a readable CIFAR batch ({err}). Delete it and download again.") from err
    if not isinstance(obj, dict):
        raise DataError(f"{what} holds a {type(obj).__name__}, not the dict a CIFAR batch holds.")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _cifar_arrays(batch: dict, label_key: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        data = np.asarray(batch["data"], dtype=np.uint8)
        labels = np.asarray(batch[label_key], dtype=np.int64)
        images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    except (KeyError, ValueError) as err:
        raise DataError(f"{what} does not have the CIFAR layout ({err}). Download the official file again.") from err
    if len(images) != len(labels):
        raise DataError(f"{what} has {len(images)} images but {len(labels)} labels.")
    return images, labels


def _names(meta: dict, key: str) -> list[str]:
    return [n.decode() if isinstance(n, bytes) else str(n) for n in meta[key]]


def _read_cifar_files(read, name: str, label_mode: str, where: str) -> Dataset:
    """Build a CIFAR Dataset from ``read(filename) -> bytes`` (works on a tar archive or a folder)."""
    if name == "cifar10":
        train = [safe_unpickle(read(f"data_batch_{i}"), f"{where}: data_batch_{i}") for i in range(1, 6)]
        test = safe_unpickle(read("test_batch"), f"{where}: test_batch")
        meta = safe_unpickle(read("batches.meta"), f"{where}: batches.meta")
        key, names = "labels", _names(meta, "label_names")
    else:
        train = [safe_unpickle(read("train"), f"{where}: train")]
        test = safe_unpickle(read("test"), f"{where}: test")
        meta = safe_unpickle(read("meta"), f"{where}: meta")
        key = f"{label_mode}_labels"
        names = _names(meta, f"{label_mode}_label_names")
    parts = [_cifar_arrays(b, key, where) for b in train]
    x_test, y_test = _cifar_arrays(test, key, where)
    return Dataset(name, np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                   x_test, y_test, names, where)


def _from_cifar_archive(path: Path, name: str, label_mode: str) -> Dataset:
    """Read the official CIFAR python archive (.tar.gz) in one pass, without extracting it."""
    fix = f"Delete it and download it again from {DATASETS[name].url}"
    try:
        with gzip.open(path) as gz:
            with tarfile.open(fileobj=gz, mode="r|") as tar:
                files = {Path(m.name).name: tar.extractfile(m).read() for m in tar if m.isfile()}
            gz.read()  # read to the end, so gzip checks its checksum: damage anywhere is an error, not wrong pixels
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
        raise DataError(f"{path} is truncated or corrupt ({err}). {fix}") from err

    def read(fname: str) -> bytes:
        if fname not in files:
            raise DataError(f"{path} has no file {fname!r}: it is incomplete or not the official "
                            f"{DATASETS[name].official}. {fix}")
        return files[fname]

    return _read_cifar_files(read, name, label_mode, f"official archive {path}")


def _from_cifar_folder(folder: Path, name: str, label_mode: str) -> Dataset:
    """Read the extracted official CIFAR batches (cifar-10-batches-py/ or cifar-100-python/)."""

    def read(fname: str) -> bytes:
        if not (folder / fname).is_file():
            raise DataError(f"{folder} lacks {fname}: extract the whole official archive again.")
        return (folder / fname).read_bytes()

    return _read_cifar_files(read, name, label_mode, f"official batches {folder}")


# --------------------------------------------------------------------------- other formats
def _from_npz(path: Path, name: str, cache: bool = False) -> Dataset | None:
    """Read a Keras-style or course-written .npz (x_train, y_train, x_test, y_test); never with pickle.

    ``cache=True``: the file must be a cache of this version of the course (else None: rebuild it).
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = set(npz.files)
            if not {"x_train", "y_train", "x_test", "y_test"} <= keys:
                return None
            version = int(npz["cache_version"]) if "cache_version" in keys else None
            if version != CACHE_VERSION and (cache or version is not None):
                print(f"Ignoring {path}: a cache written by another version of the course (cache version "
                      f"{version}, this version writes {CACHE_VERSION}); rebuilding it if the images are here.")
                return None
            arrays = [npz[k] for k in ("x_train", "y_train", "x_test", "y_test")]
            names = [str(n) for n in npz["class_names"]] if "class_names" in keys else DATASETS[name].class_names
            source = str(npz["source"]) if "source" in keys else f"arrays {path}"
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"{path} is truncated or corrupt ({err}). Delete it; it will be rebuilt or re-downloaded.") from err
    if names is None:
        raise DataError(f"{path} has no class_names array: save one with np.savez(..., class_names=np.array(names)).")
    x_train, y_train, x_test, y_test = arrays
    if x_train.ndim == 3:  # MNIST-style (N, 28, 28): add the channel axis
        x_train, x_test = x_train[..., None], x_test[..., None]
    return Dataset(name, x_train, y_train.reshape(-1), x_test, y_test.reshape(-1), names, source)


def _read_idx(path: Path) -> np.ndarray:
    """Read one gzipped IDX file (the MNIST/Fashion-MNIST format)."""
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DataError(f"{path} is truncated or corrupt ({err}). Download it again.") from err
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise DataError(f"{path} holds {data.size} values but its header says {dims}: it is truncated.")
    return data.reshape(dims)


def _from_idx_folder(folder: Path, name: str) -> Dataset | None:
    files = {p: folder / f"{p}.gz" for p in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
    if not all(f.is_file() for f in files.values()):
        return None
    xtr, ytr, xte, yte = (_read_idx(f) for f in files.values())
    return Dataset(name, xtr[..., None], ytr.astype(np.int64), xte[..., None], yte.astype(np.int64),
                   DATASETS[name].class_names, f"IDX files {folder}")


def _decode_image(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = img.convert("L" if img.mode in ("L", "1", "I;16", "I") else "RGB")
            array = np.asarray(img, dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as err:
        raise DataError(f"{path} is not a readable image ({err}). Delete or replace that file.") from err
    return array[..., None] if array.ndim == 2 else array


def _from_image_tree(root: Path, name: str) -> Dataset:
    """Decode ``root/{train,test}/<class>/<image>``; files that are not images are skipped and counted."""
    from tqdm.auto import tqdm

    classes = sorted(d.name for d in (root / "train").iterdir() if d.is_dir() and not d.name.startswith("."))
    test_classes = sorted(d.name for d in (root / "test").iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise DataError(f"{root / 'train'} has no class folders; expected train/<class>/<image>.")
    if classes != test_classes:
        raise DataError(f"{root}: train classes {classes} differ from test classes {test_classes}.")
    arrays, skipped = {}, 0
    for split in ("train", "test"):
        paths, labels = [], []
        for label, cls in enumerate(classes):
            files = sorted(p for p in (root / split / cls).iterdir() if p.is_file())
            images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")]
            skipped += len(files) - len(images)
            if not images:
                raise DataError(f"{root / split / cls} holds no images: every class needs images in train and test.")
            paths += images
            labels += [label] * len(images)
        decoded = [_decode_image(p) for p in tqdm(paths, desc=f"Decoding {name}/{split}", leave=False, mininterval=2)]
        first = decoded[0].shape
        for p, a in zip(paths, decoded):
            if a.shape != first:
                raise DataError(f"Mixed image sizes: {paths[0]} is {first} but {p} is {a.shape} (height, width, "
                                "channels). Resize all images to one size and colour mode (RGB or grayscale).")
        arrays[split] = (np.stack(decoded), np.asarray(labels, dtype=np.int64))
    (x_train, y_train), (x_test, y_test) = arrays["train"], arrays["test"]
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(f"{root}: train images are {x_train.shape[1:]} but test images are {x_test.shape[1:]}.")
    order = np.random.default_rng(SEED).permutation(len(x_train))  # folders list class by class
    kind = "JPEG " if paths[0].suffix.lower() in (".jpg", ".jpeg") else ""
    notes = [f"skipped {skipped} non-image file(s)"] if skipped else []
    return Dataset(name, x_train[order], y_train[order], x_test, y_test, classes,
                   f"{kind}image folder {root}", notes=notes)


def _tree_cache_path(root: Path, name: str) -> Path:
    """Cache file for an image folder, keyed by its path and the number, sizes and times of its files."""
    stamp = [str(root.resolve())]
    for d in sorted((root / s / c) for s in ("train", "test") for c in os.listdir(root / s)):
        files = [e.stat() for e in os.scandir(d)] if d.is_dir() else [d.stat()]  # an image edited in place counts
        newest = max((f.st_mtime_ns for f in files), default=0)
        stamp.append(f"{d}:{len(files)}:{sum(f.st_size for f in files)}:{newest}")
    return cache_dir() / f"{name}-{hashlib.sha1('|'.join(stamp).encode()).hexdigest()[:12]}.npz"


def save_npz_atomic(path: Path, **arrays) -> None:
    """Write an .npz atomically (temporary file, then rename): an interrupted write leaves nothing a later run trusts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")  # one per process: two notebooks may write at once
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _save_cache(ds: Dataset, path: Path) -> None:
    """Cache the decoded arrays of a data set."""
    save_npz_atomic(path, x_train=ds.x_train, y_train=ds.y_train, x_test=ds.x_test, y_test=ds.y_test,
                    class_names=np.array(ds.class_names), source=np.array(ds.source), cache_version=CACHE_VERSION)


def _from_image_tree_cached(root: Path, name: str) -> Dataset:
    path = _tree_cache_path(root, name)
    if path.is_file():
        try:
            cached = _from_npz(path, name, cache=True)
        except DataError as err:
            print(f"Rebuilding a damaged cache: {err}")
            cached = None
        if cached is not None:
            cached.source += " (cached)"
            return cached
    ds = _from_image_tree(root, name)
    _save_cache(ds, path)
    return ds


# --------------------------------------------------------------------------- sources in order
def _from_folder(folder: Path, name: str, label_mode: str) -> Dataset | None:
    """Look in one data-set folder for any supported layout."""
    official_dir = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}.get(name)
    if official_dir:
        for candidate in (folder / official_dir, folder):
            if (candidate / ("data_batch_1" if name == "cifar10" else "train")).is_file():
                return _from_cifar_folder(candidate, name, label_mode)
        if (folder / DATASETS[name].official).is_file():
            return _from_cifar_archive(folder / DATASETS[name].official, name, label_mode)
    if (folder / "train").is_dir() and (folder / "test").is_dir():
        return _from_image_tree_cached(folder, name)
    for npz in sorted(folder.glob("*.npz")):
        ds = _from_npz(npz, name)
        if ds is not None:
            return ds
    return _from_idx_folder(folder, name)


def keras_cache_dir() -> Path:
    """The folder where ``keras.datasets`` keeps downloads ($KERAS_HOME/datasets or ~/.keras/datasets)."""
    return Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "datasets"


def _from_keras_cache(name: str, label_mode: str) -> Dataset | None:
    base = keras_cache_dir()
    if not base.is_dir():
        return None
    if name in ("cifar10", "cifar100"):
        marker = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}[name]
        for found in sorted(base.glob(f"**/{marker}")):
            if found.is_dir():
                try:
                    return _from_cifar_folder(found, name, label_mode)
                except DataError as err:
                    raise DataError(f"{err}\nThis Keras cache folder looks half-extracted (interrupted download?): "
                                    f"delete {found} and run again; Keras re-extracts its checked download.") from err
        return None
    if name == "mnist":
        return _from_npz(base / "mnist.npz", name) if (base / "mnist.npz").is_file() else None
    return _from_idx_folder(base / "fashion-mnist", name)


def _download(name: str, label_mode: str) -> Dataset:
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
    """A small learnable stand-in: each class is a fixed blocky colour pattern plus noise."""
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
    return Dataset(name, x_train, y_train, x_test, y_test, names,
                   "SYNTHETIC stand-in data (no real data found; smoke profile only: numbers mean nothing)",
                   synthetic=True)


def _validate(ds: Dataset) -> Dataset:
    """Refuse inconsistent arrays instead of training on silent garbage."""
    for split, x, y in (("train", ds.x_train, ds.y_train), ("test", ds.x_test, ds.y_test)):
        if x.ndim != 4 or x.dtype != np.uint8:
            raise DataError(f"{ds.source}: {split} images have shape {x.shape} and dtype {x.dtype}; "
                            "expected uint8 images of shape (N, height, width, channels).")
        if len(x) != len(y):
            raise DataError(f"{ds.source}: {len(x)} {split} images but {len(y)} labels.")
        if len(y) and (y.min() < 0 or y.max() >= ds.num_classes):
            raise DataError(f"{ds.source}: {split} labels run from {y.min()} to {y.max()} but there are "
                            f"{ds.num_classes} classes (labels must be 0..{ds.num_classes - 1}).")
    ds.y_train, ds.y_test = ds.y_train.astype(np.int64), ds.y_test.astype(np.int64)
    return ds


DEFAULT_DATA_DIR = Path("~/cifar-course-data")  # where `cifar-course data import` puts data by default


def data_root(data_dir: str | Path | None = None) -> Path | None:
    """The course data folder: the argument, else $CIFAR_COURSE_DATA, else ~/cifar-course-data if it exists."""
    given = data_dir if data_dir is not None else os.environ.get("CIFAR_COURSE_DATA")
    if not given:
        default = DEFAULT_DATA_DIR.expanduser()
        return default if default.is_dir() else None
    root = Path(given).expanduser()
    if not root.is_dir():
        setting = "data_dir" if data_dir is not None else "CIFAR_COURSE_DATA"
        raise ConfigError(f"{setting} points to {root}, which is not a folder. Fix the path or unset {setting}.")
    return root


def describe_sources(name: str = "cifar10", data_dir: str | Path | None = None) -> str:
    """Say where the course will look for a data set, without loading it."""
    try:
        root = data_root(data_dir)
    except ConfigError as err:
        return str(err)
    if root is not None and (root / name).is_dir():
        return f"{name} from the course data folder {root / name}"
    where = f"{root} has no {name}/ folder; " if root else "CIFAR_COURSE_DATA not set; "
    return where + f"next: Keras cache {keras_cache_dir()}, then download"


def how_to_get(name: str) -> str:
    """Instructions for getting a data set onto this machine."""
    info = DATASETS[name]
    return (f"How to get {name}:\n"
            f"  * with internet: python -c \"import keras; keras.datasets.{name}.load_data()\"\n"
            f"  * offline: copy {info.official} (from {info.url}) or an image folder train/<class>/*.png,"
            f" test/<class>/*.png into DIR/{name}/ and set CIFAR_COURSE_DATA=DIR\n"
            f"  * only to test the notebooks: COURSE_PROFILE=smoke uses a synthetic stand-in")


def load_dataset(name: str = "cifar10", data_dir: str | Path | None = None, *, profile: Profile | str | None = None,
                 subset: bool = True, label_mode: str = "fine", download: bool | None = None,
                 verbose: bool = True) -> Dataset:
    """Load a data set from the first source that has it, cut to the profile's size, and say where from."""
    if name not in DATASETS:
        raise ConfigError(f"Unknown data set {name!r}. Choose one of: {', '.join(DATASETS)}.")
    if label_mode not in ("fine", "coarse"):
        raise ConfigError(f"label_mode must be 'fine' or 'coarse' (CIFAR-100 only), not {label_mode!r}.")
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    if download is None:
        download = os.environ.get("CIFAR_COURSE_OFFLINE", "") in ("", "0")
    tried = []
    root = data_root(data_dir)
    ds = None
    if root is not None:
        ds = _from_folder(root / name, name, label_mode) if (root / name).is_dir() else None
        missing = (f"no such folder: point CIFAR_COURSE_DATA (or data_dir) at {root.parent}, the folder that holds "
                   f"{name}/" if root.name == name else f"no such folder (put the data in {root / name}/)")
        tried.append(f"course data folder {root / name}: "
                     f"{'found' if ds else 'nothing usable' if (root / name).is_dir() else missing}")
    if ds is None:
        ds = _from_keras_cache(name, label_mode)
        tried.append(f"Keras cache {keras_cache_dir()}: {'found' if ds else 'nothing'}")
    if ds is None and download:
        try:
            ds = _download(name, label_mode)
        except DataError:
            raise
        except Exception as err:  # no network, server down: report it and go on to the next source
            tried.append(f"download: failed ({str(err).splitlines()[0][:160]})")
    elif ds is None:
        tried.append("download: skipped (CIFAR_COURSE_OFFLINE is set)")
    if ds is None:
        if profile.name != "smoke":
            raise DataNotFoundError(f"No {name} data found. Tried:\n  - " + "\n  - ".join(tried) + "\n" + how_to_get(name))
        ds = synthetic_dataset(name, profile.train_size, profile.test_size)
        ds.notes.append("tried: " + "; ".join(tried))
    ds = _validate(ds)
    if subset:
        ds = for_profile(ds, profile)
    if verbose:
        print(ds.summary() + f" [profile {profile.name}]")
        for note in ds.notes:
            print("  note:", note)
    return ds


# --------------------------------------------------------------------------- preparing arrays
def stratified_subset(x: np.ndarray, y: np.ndarray, n: int | None, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Keep ``n`` examples with the same class proportions (all of them when n is None or too large)."""
    from sklearn.model_selection import train_test_split

    if n is None or n >= len(y):
        return x, y
    x_keep, _, y_keep, _ = train_test_split(x, y, train_size=n, stratify=y, random_state=seed)
    return x_keep, y_keep


def for_profile(ds: Dataset, profile: Profile) -> Dataset:
    """Cut a data set to the profile's sizes with stratified sampling."""
    x_train, y_train = stratified_subset(ds.x_train, ds.y_train, profile.train_size)
    x_test, y_test = stratified_subset(ds.x_test, ds.y_test, profile.test_size)
    return Dataset(ds.name, x_train, y_train, x_test, y_test, ds.class_names, ds.source, ds.synthetic, ds.notes)


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float = 0.1, seed: int = SEED):
    """Split a stratified validation set off the training set: returns (x_train, y_train), (x_val, y_val)."""
    from sklearn.model_selection import train_test_split

    if not 0 < fraction < 1:
        raise ConfigError(f"fraction must be between 0 and 1, got {fraction}.")
    labels = y.argmax(axis=1) if y.ndim == 2 else y
    classes, n_val = len(np.unique(labels)), int(np.ceil(fraction * len(labels)))
    if n_val < classes or len(labels) - n_val < classes:
        raise DataError(f"A {fraction:.0%} validation split of {len(labels)} images cannot hold all {classes} classes "
                        f"on both sides: use a larger fraction or more images (e.g. the quick profile).")
    x_tr, x_val, y_tr, y_val = train_test_split(x, y, test_size=fraction, stratify=labels, random_state=seed)
    return (x_tr, y_tr), (x_val, y_val)


def scale_pixels(x: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255 -> float32 in [0, 1]."""
    if x.dtype != np.uint8:
        raise DataError(f"scale_pixels expects uint8 pixels (0..255) but got {x.dtype} with values "
                        f"{float(x.min()):.3g}..{float(x.max()):.3g}: are these images scaled already?")
    return x.astype(np.float32) / 255.0


def one_hot(y: np.ndarray, num_classes: int) -> np.ndarray:
    """Integer labels -> one-hot rows (float32), for CategoricalCrossentropy."""
    y = np.asarray(y).reshape(-1)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise DataError(f"Labels run from {y.min()} to {y.max()}, outside 0..{num_classes - 1}.")
    return np.eye(num_classes, dtype=np.float32)[y]
