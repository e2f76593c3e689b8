"""The file formats behind ``load_dataset``: official CIFAR pickles (read safely), archives, IDX, .npz, image folders.

Every reader returns an ``Arrays`` tuple of uint8 images and integer labels, or raises ``DataError`` with what to do.
The cache of decoded image folders and the atomic ``.npz`` writer live here too. An internal module: no lesson calls
it (lesson 01 §1 loads data with ``cc.load_dataset``, which reads through it; so do the data tools).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import tarfile
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .folders import CIFAR_FILES, cache_dir

CACHE_VERSION = 2  # bump when the cache layout changes; older cache files are rebuilt
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
SHUFFLE_SEED = 42  # image folders list class by class: their training images are shuffled once, always the same way
MAX_PIXELS = 50_000_000  # 50 megapixels: a 48-megapixel phone photo fits; a larger image is refused unread


class DataError(ValueError):
    """Data were found but are unusable (corrupt, truncated, inconsistent); the message says what to do."""


class ImageTooLarge(DataError):
    """An image over MAX_PIXELS (50 megapixels), refused from its header before a pixel is decoded."""


class Arrays(NamedTuple):
    """What a reader found: uint8 images (N, H, W, C), integer labels, class names (None: not in the files)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str] | None
    source: str
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------- the official CIFAR pickles
class CifarUnpickler(pickle.Unpickler):
    """Unpickles only what the official CIFAR files hold: dicts, lists, bytes and NumPy arrays."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how Python 3 pickles bytes at protocol 2: a text-to-bytes conversion
    }

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
        obj = CifarUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except DataError:
        raise
    except Exception as err:
        raise DataError(f"{what} is not a readable CIFAR batch ({err}). Delete it and download again.") from err
    if not isinstance(obj, dict):
        raise DataError(f"{what} holds a {type(obj).__name__}, not the dict a CIFAR batch holds.")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


def cifar_arrays(batch: dict, label_key: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    """One unpickled CIFAR batch as (images N x 32 x 32 x 3, labels)."""
    try:
        data = np.asarray(batch["data"], dtype=np.uint8)
        labels = np.asarray(batch[label_key], dtype=np.int64)
        images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    except (KeyError, ValueError) as err:
        raise DataError(f"{what} does not have the CIFAR layout ({err}). Download the official file again.") from err
    if len(images) != len(labels):
        raise DataError(f"{what} has {len(images)} images but {len(labels)} labels.")
    return images, labels


def label_names(meta: dict, key: str) -> list[str]:
    """Class names from a CIFAR meta file (bytes or str)."""
    return [n.decode() if isinstance(n, bytes) else str(n) for n in meta[key]]


def read_cifar_files(read: Callable[[str], bytes], name: str, label_mode: str, where: str) -> Arrays:
    """CIFAR-10 or CIFAR-100 from ``read(filename) -> bytes`` (works on a tar archive or a folder)."""
    files = CIFAR_FILES[name]
    train = [safe_unpickle(read(f), f"{where}: {f}") for f in files.train]
    test = safe_unpickle(read(files.test), f"{where}: {files.test}")
    meta = safe_unpickle(read(files.meta), f"{where}: {files.meta}")
    if name == "cifar10":
        key, names = "labels", label_names(meta, "label_names")
    else:
        key = f"{label_mode}_labels"
        names = label_names(meta, f"{label_mode}_label_names")
    parts = [cifar_arrays(b, key, where) for b in train]
    x_test, y_test = cifar_arrays(test, key, where)
    x_train, y_train = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    return Arrays(x_train, y_train, x_test, y_test, names, where)


def read_cifar_archive(path: Path, name: str, label_mode: str, fix: str) -> Arrays:
    """The official CIFAR python archive (.tar.gz), read in one pass without extracting it."""
    try:
        with gzip.open(path) as gz:
            with tarfile.open(fileobj=gz, mode="r|") as tar:
                files = {Path(m.name).name: tar.extractfile(m).read() for m in tar if m.isfile()}
            gz.read()  # read to the end, so gzip checks its checksum: damage anywhere is an error, not wrong pixels
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
        raise DataError(f"{path} is truncated or corrupt ({err}). {fix}") from err

    def read(fname: str) -> bytes:
        if fname not in files:
            raise DataError(f"{path} has no file {fname!r}: it is incomplete or not the official archive. {fix}")
        return files[fname]

    return read_cifar_files(read, name, label_mode, f"official archive {path}")


def read_cifar_folder(folder: Path, name: str, label_mode: str) -> Arrays:
    """The extracted official CIFAR batches (cifar-10-batches-py/ or cifar-100-python/)."""

    def read(fname: str) -> bytes:
        if not (folder / fname).is_file():
            raise DataError(f"{folder} lacks {fname}: extract the whole official archive again.")
        return (folder / fname).read_bytes()

    return read_cifar_files(read, name, label_mode, f"official batches {folder}")


# --------------------------------------------------------------------------- .npz and IDX
def read_npz(path: Path, cache: bool = False) -> Arrays | None:
    """A Keras-style or course-written .npz (x_train, y_train, x_test, y_test); never with pickle.

    None when the file lacks those arrays, or (``cache=True``) was written by another version of the course.
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = set(npz.files)
            if not {"x_train", "y_train", "x_test", "y_test"} <= keys:
                return None
            version = int(npz["cache_version"]) if "cache_version" in keys else None
            if version != CACHE_VERSION and (cache or version is not None):
                print(
                    f"Ignoring {path}: a cache written by another version of the course (cache version "
                    f"{version}, this version writes {CACHE_VERSION}); rebuilding it if the images are here."
                )
                return None
            x_train, y_train, x_test, y_test = (npz[k] for k in ("x_train", "y_train", "x_test", "y_test"))
            names = [str(n) for n in npz["class_names"]] if "class_names" in keys else None
            source = str(npz["source"]) if "source" in keys else f"arrays {path}"
            notes = tuple(str(n) for n in npz["notes"]) if "notes" in keys else ()
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(
            f"{path} is truncated or corrupt ({err}). Delete it; it will be rebuilt or re-downloaded."
        ) from err
    if x_train.ndim == 3:  # MNIST-style (N, 28, 28): add the channel axis
        x_train, x_test = x_train[..., None], x_test[..., None]
    return Arrays(x_train, y_train.reshape(-1), x_test, y_test.reshape(-1), names, source, notes)


def save_cache(path: Path, **arrays) -> bool:
    """Write a cache file; if that fails (a full or read-only disk) say so in one note and go on: False."""
    try:
        save_npz_atomic(path, **arrays)
    except OSError as err:
        print(
            f"Note: could not write the cache in {path.parent} ({err.strerror or err}): carrying on without it, so "
            "this is computed again next time. Free space there, or set CIFAR_COURSE_CACHE to a folder you can write."
        )
        return False
    return True


def save_npz_atomic(path: Path, **arrays) -> None:
    """Write an .npz atomically (a temporary file, then rename): an interrupted write leaves nothing to trust."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")  # one per process: two notebooks may write at once
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def read_idx(path: Path) -> np.ndarray:
    """One gzipped IDX file (the MNIST/Fashion-MNIST format)."""
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DataError(f"{path} is truncated or corrupt ({err}). Download it again.") from err
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise DataError(f"{path} holds {data.size} values but its header says {dims}: it is truncated.")
    return data.reshape(dims)


def read_idx_folder(folder: Path) -> Arrays | None:
    """The four gzipped IDX files of MNIST or Fashion-MNIST in one folder, or None if they are not all there."""
    files = [folder / f"{p}.gz" for p in IDX_FILES]
    if not all(f.is_file() for f in files):
        return None
    x_train, y_train, x_test, y_test = (read_idx(f) for f in files)
    return Arrays(
        x_train[..., None],
        y_train.astype(np.int64),
        x_test[..., None],
        y_test.astype(np.int64),
        None,
        f"IDX files {folder}",
    )


# --------------------------------------------------------------------------- image folders
FITS = ("crop", "pad")


def decode_image(path, size: tuple[int, int] | None = None, fit: str = "crop") -> np.ndarray:
    """One image file (a path or an open binary file) as uint8 (H, W, 3) or (H, W, 1); brought to ``size`` if given.

    With a size (height, width), every image becomes RGB and ``fit`` says how its shape is matched: "crop" scales it
    to cover the size and cuts the overflow off the centre (the object keeps its proportions and fills the frame;
    the edges are lost), "pad" scales it to fit inside and fills the rest with grey (nothing is lost; the object is
    smaller). EXIF rotation is applied, transparency is laid on white, 16-bit grayscale is scaled to 8 bits. An
    image over MAX_PIXELS (50 megapixels) is refused (``ImageTooLarge``) before it is decoded.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with open_image(path) as img:
            img.load()  # decode now: a truncated file fails here, not later
            if size is None:
                img = to_8bit(img)
                img = img.convert("L" if img.mode in ("L", "1") else "RGB")
            else:
                img = to_8bit(ImageOps.exif_transpose(img))
                if img.mode in ("RGBA", "LA", "P", "PA"):  # palette images may carry transparency too
                    rgba = img.convert("RGBA")
                    img = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
                img = img.convert("RGB")
                target = (size[1], size[0])  # Pillow counts width first
                resample = Image.Resampling.LANCZOS
                img = (
                    ImageOps.fit(img, target, method=resample)
                    if fit == "crop"
                    else ImageOps.pad(img, target, method=resample, color=(128, 128, 128))
                )
            array = np.asarray(img, dtype=np.uint8)
    except ImageTooLarge:
        raise
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise DataError(f"{path} is not a readable image ({err}). Delete or replace that file.") from err
    return array[..., None] if array.ndim == 2 else array


def open_image(path):
    """Open an image lazily (only its header is read) and refuse it if it is over MAX_PIXELS."""
    from PIL import Image

    fix = "Shrink it (e.g. to 4000 pixels on its longest side) or delete it."
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # over Pillow's own limit: refused too
            img = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageTooLarge(
            f"{path} is over the {MAX_PIXELS // 10**6} megapixels the course decodes ({err}). {fix}"
        ) from err
    if img.width * img.height > MAX_PIXELS:
        img.close()
        raise ImageTooLarge(
            f"{path} is {img.width}x{img.height} pixels ({img.width * img.height / 1e6:.0f} megapixels), over the "
            f"{MAX_PIXELS // 10**6} megapixels the course decodes (a small file can claim a huge image and fill the "
            f"memory: a decompression bomb). {fix}"
        )
    return img


def to_8bit(img):
    """16-bit grayscale (Pillow modes I;16 and I) as 8-bit L, 0..65535 scaled to 0..255 (``convert`` would clip it)."""
    from PIL import Image

    if img.mode != "I" and not img.mode.startswith("I;16"):
        return img
    scaled = np.round(np.asarray(img, dtype=np.float64) / 257)
    return Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8))


def class_folders(folder: Path) -> list[str]:
    """The class sub-folders of ``folder``, sorted (hidden folders ignored)."""
    return sorted(d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))


def image_files(folder: Path) -> tuple[list[Path], int]:
    """The image files in one class folder (by suffix), sorted, and how many other files it holds."""
    files = sorted(p for p in folder.iterdir() if p.is_file())
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")]
    return images, len(files) - len(images)


def decode_all(paths: list[Path], desc: str, size, fit: str, skip_unreadable: bool) -> tuple[list, list]:
    """Decode images with a progress bar; with ``skip_unreadable``, bad ones are left out, returned with why."""
    from tqdm.auto import tqdm

    decoded, bad = [], []
    for path in tqdm(paths, desc=desc, leave=False, mininterval=2):
        try:
            decoded.append(decode_image(path, size, fit))
        except DataError as err:
            if not skip_unreadable:
                raise
            decoded.append(None)
            bad.append((path, err))
    return decoded, bad


def skipped_note(paths: list[Path], what: str) -> list[str]:
    """A note for the image files a load skipped, naming the first three (none: no note)."""
    if not paths:
        return []
    shown = ", ".join(p.name for p in paths[:3]) + (", ..." if len(paths) > 3 else "")
    return [f"skipped {len(paths)} {what}: {shown}"]


def read_image_tree(
    root: Path, name: str, size: tuple[int, int] | None = None, fit: str = "crop", test_fraction: float = 0.2
) -> Arrays:
    """Decode ``root/{train,test}/<class>/<image>``, or ``root/<class>/<image>`` (then split, stratified).

    Files that are not images are skipped and counted. Without ``size`` every image must have the same size (the
    CIFAR and MNIST folders); with a size (your own photos) they are brought to it, and unreadable or truncated
    files and images over MAX_PIXELS (50 megapixels) are skipped, counted and named in the notes instead of stopping
    the load.
    """
    if fit not in FITS:
        raise DataError(f"fit must be one of {', '.join(FITS)}, not {fit!r}.")
    split_folders = (root / "train").is_dir() and (root / "test").is_dir()
    splits = ("train", "test") if split_folders else ("all",)
    classes = class_folders(root / "train") if split_folders else class_folders(root)
    if not classes:
        where = root / "train" if split_folders else root
        raise DataError(
            f"{where} has no class folders; expected train/<class>/<image> and test/<class>/<image>, "
            "or one folder per class."
        )
    if len(classes) < 2:
        raise DataError(f"{root} has one class ({classes[0]}): a classifier needs at least two class folders.")
    if split_folders and class_folders(root / "test") != classes:
        missing = sorted(set(classes) ^ set(class_folders(root / "test")))
        raise DataError(
            f"{root}: train classes {classes} differ from test classes {class_folders(root / 'test')} "
            f"(only on one side: {missing}). Every class needs a folder in train/ and in test/."
        )
    arrays, other_files, unreadable = {}, 0, []
    for split in splits:
        paths, labels = [], []
        for label, cls in enumerate(classes):
            folder = root / split / cls if split_folders else root / cls
            images, others = image_files(folder)
            other_files += others
            if not images:
                raise DataError(
                    f"{folder} holds no images: every class needs images"
                    + (" in train and test." if split_folders else ".")
                )
            paths += images
            labels += [label] * len(images)
        decoded, bad = decode_all(paths, f"Decoding {name}/{split}", size, fit, skip_unreadable=size is not None)
        unreadable += bad
        keep = [i for i, a in enumerate(decoded) if a is not None]
        paths, decoded, labels = [paths[i] for i in keep], [decoded[i] for i in keep], [labels[i] for i in keep]
        empty = sorted(set(classes) - {classes[k] for k in labels})
        if empty:
            raise DataError(f"{root}: no readable images left in class(es) {empty} ({split}).")
        first = decoded[0].shape
        for path, array in zip(paths, decoded):
            if array.shape != first:
                raise DataError(
                    f"Mixed image sizes: {paths[0]} is {first} but {path} is {array.shape} (height, width, "
                    "channels). Resize all images to one size and colour mode (RGB or grayscale), or load them "
                    "as your own images with an image_size: cc.load_dataset(folder, image_size=(32, 32))."
                )
        arrays[split] = (np.stack(decoded), np.asarray(labels, dtype=np.int64))
    notes = [f"skipped {other_files} non-image file(s)"] if other_files else []
    broken = [path for path, err in unreadable if not isinstance(err, ImageTooLarge)]
    large = [path for path, err in unreadable if isinstance(err, ImageTooLarge)]
    notes += skipped_note(broken, "unreadable or truncated image(s)")
    notes += skipped_note(large, f"image(s) over {MAX_PIXELS // 10**6} megapixels, the most the course decodes")
    if split_folders:
        (x_train, y_train), (x_test, y_test) = arrays["train"], arrays["test"]
    else:
        x_train, x_test, y_train, y_test = split_test(*arrays["all"], test_fraction, root)
        notes.append(f"no train/ and test/ folders: {test_fraction:.0%} of each class set aside for testing")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(f"{root}: train images are {x_train.shape[1:]} but test images are {x_test.shape[1:]}.")
    order = np.random.default_rng(SHUFFLE_SEED).permutation(len(x_train))
    kind = "JPEG " if paths[0].suffix.lower() in (".jpg", ".jpeg") else ""
    resized = f", brought to {size[0]}x{size[1]} ({fit})" if size else ""
    return Arrays(
        x_train[order], y_train[order], x_test, y_test, classes, f"{kind}image folder {root}{resized}", tuple(notes)
    )


def split_test(x: np.ndarray, y: np.ndarray, fraction: float, root: Path):
    """A stratified test split of one-folder-per-class images: x_train, x_test, y_train, y_test."""
    from sklearn.model_selection import train_test_split

    counts = np.bincount(y)
    if counts.min() < 2:
        raise DataError(
            f"{root}: a class has {counts.min()} readable image; each class needs at least 2 (one to "
            "train on, one to test with), better dozens."
        )
    n_test = max(int(round(fraction * len(y))), len(counts))
    return train_test_split(x, y, test_size=n_test, stratify=y, random_state=SHUFFLE_SEED)


def tree_cache_path(root: Path, name: str, variant: str = "") -> Path:
    """Cache file for an image folder, keyed by its path, ``variant`` and the number, sizes and times of its files."""
    stamp = [str(root.resolve()), variant]
    for d in sorted(p for p in root.glob("*/*") if p.is_dir()) or sorted(p for p in root.glob("*") if p.is_dir()):
        files = [e.stat() for e in os.scandir(d)]  # an image edited in place changes its size or time
        newest = max((f.st_mtime_ns for f in files), default=0)
        stamp.append(f"{d}:{len(files)}:{sum(f.st_size for f in files)}:{newest}")
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    return cache_dir() / f"{safe}-{hashlib.sha1('|'.join(stamp).encode()).hexdigest()[:12]}.npz"


def read_image_tree_cached(root: Path, name: str, size: tuple[int, int] | None = None, fit: str = "crop") -> Arrays:
    """``read_image_tree`` with the decoded arrays cached: the second load takes a second."""
    path = tree_cache_path(root, name, f"{size}-{fit}" if size else "")
    if path.is_file():
        try:
            cached = read_npz(path, cache=True)
        except DataError as err:
            print(f"Rebuilding a damaged cache: {err}")
            cached = None
        if cached is not None:
            return cached._replace(source=cached.source + " (cached)")
    found = read_image_tree(root, name, size, fit)
    save_cache(
        path,
        x_train=found.x_train,
        y_train=found.y_train,
        x_test=found.x_test,
        y_test=found.y_test,
        class_names=np.array(found.class_names),
        source=np.array(found.source),
        notes=np.array(found.notes, dtype=str),
        cache_version=CACHE_VERSION,
    )
    return found
