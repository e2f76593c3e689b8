"""Checking, counting and importing data sets for `cifar-course data`: checksums, safe tar extraction, summaries."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import uuid
from collections import Counter
from pathlib import Path, PurePosixPath

from ..config import DEFAULT_DATA_DIR, ConfigError, keras_cache_dir
from ..data import DATASETS, DataError, DataNotFoundError, from_folder, load_dataset, validated
from ..formats import IDX_FILES, IMAGE_SUFFIXES
from .common import EXIT_FAILED, ToolError, one_line, say

# published checksums of the official files (the same ones keras.datasets checks)
KNOWN_SHA256 = {
    "cifar-10-python.tar.gz": "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    "cifar-100-python.tar.gz": "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
    "mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
}
OFFICIAL_DIRS = {"cifar-10-batches-py": "cifar10", "cifar-100-python": "cifar100"}
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_sums(sums_file: Path) -> dict[str, str]:
    """A SHA256SUMS file (``<hex>  <name>`` per line) as {name: hex}."""
    sums = {}
    for line in sums_file.read_text().splitlines():
        parts = line.strip().split(maxsplit=1)
        if len(parts) == 2 and len(parts[0]) == 64:
            sums[parts[1].lstrip("*").strip()] = parts[0].lower()
    return sums


def expected_sha256(path: Path) -> tuple[str | None, str]:
    """The checksum a file should have, and where that comes from (SHA256SUMS beside it, or published)."""
    sums_file = path.parent / "SHA256SUMS"
    if sums_file.is_file():
        sums = read_sums(sums_file)
        if path.name in sums:
            return sums[path.name], str(sums_file)
    if path.name in KNOWN_SHA256:
        return KNOWN_SHA256[path.name], "the published checksum"
    return None, ""


def check_checksum(path: Path) -> bool | None:
    """Print and return whether ``path`` has its expected checksum (None: no checksum known)."""
    expected, origin = expected_sha256(path)
    if expected is None:
        say(f"  {path}: no checksum known (no SHA256SUMS beside it, not an official file name)")
        return None
    got = sha256_of(path)
    if got != expected:
        say(f"  {path}: CHECKSUM MISMATCH against {origin}: expected {expected}, got {got}")
        return False
    say(f"  {path}: sha256 ok ({origin})")
    return True


def is_archive(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)


def safe_members(tar: tarfile.TarFile, archive: Path) -> list[tarfile.TarInfo]:
    """The archive's members, refusing any that would land outside the target folder."""
    members = tar.getmembers()
    for m in members:
        name = m.name.replace("\\", "/")
        parts = PurePosixPath(name).parts
        if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in parts:
            raise ToolError(
                f"refused {archive}: member {m.name!r} would be written outside the target folder "
                "(absolute path or '..'); nothing was extracted",
                EXIT_FAILED,
            )
        if m.issym() or m.islnk():
            link = m.linkname.replace("\\", "/")
            if link.startswith("/") or ".." in PurePosixPath(link).parts:
                raise ToolError(
                    f"refused {archive}: link {m.name!r} points outside the archive ({m.linkname!r}); "
                    "nothing was extracted",
                    EXIT_FAILED,
                )
        elif not (m.isfile() or m.isdir()):
            raise ToolError(
                f"refused {archive}: member {m.name!r} is a device or special file; nothing was extracted", EXIT_FAILED
            )
    return members


def safe_extract(archive: Path, dest: Path) -> None:
    """Extract a tar archive into ``dest`` after checking every member (and with tarfile's 'data' filter)."""
    try:
        with tarfile.open(archive) as tar:
            members = safe_members(tar, archive)
            if hasattr(tarfile, "data_filter"):
                tar.extractall(dest, members=members, filter="data")
            else:  # Pythons without extraction filters: regular files and folders only
                tar.extractall(dest, members=[m for m in members if m.isfile() or m.isdir()])
    except ToolError:
        raise
    except (tarfile.TarError, OSError, EOFError) as err:
        raise ToolError(
            f"cannot extract {archive}: {one_line(err)} (truncated or not a tar archive?)", EXIT_FAILED
        ) from err


def count_tree(folder: Path) -> dict[str, Counter]:
    """Image files per split and class in ``folder/{train,test}/<class>/``."""
    counts = {}
    for split in ("train", "test"):
        counter = Counter()
        if (folder / split).is_dir():
            for cls in sorted(p for p in (folder / split).iterdir() if p.is_dir() and not p.name.startswith(".")):
                counter[cls.name] = sum(
                    1 for f in os.scandir(cls) if f.is_file() and Path(f.name).suffix.lower() in IMAGE_SUFFIXES
                )
        counts[split] = counter
    return counts


def tree_summary(counts: dict[str, Counter]) -> str:
    return ", ".join(f"{split} {sum(c.values()):,} images in {len(c)} classes" for split, c in counts.items())


def describe_folder(folder: Path, name: str) -> str:
    """What a data-set folder holds, without decoding anything."""
    official = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}.get(name)
    if official:
        for candidate in (folder / official, folder):
            if (candidate / ("data_batch_1" if name == "cifar10" else "train")).is_file():
                return f"official batches in {candidate}"
        if (folder / DATASETS[name].official).is_file():
            return f"official archive {folder / DATASETS[name].official} (read without extracting)"
    if (folder / "train").is_dir() and (folder / "test").is_dir():
        return "image folder: " + tree_summary(count_tree(folder))
    npz = sorted(p.name for p in folder.glob("*.npz"))
    if npz:
        return "arrays " + ", ".join(npz)
    if list(folder.glob("*-ubyte.gz")):
        return "IDX files " + ", ".join(sorted(p.name for p in folder.glob("*-ubyte.gz")))
    return "nothing the course can read (expected train/<class>/, test/<class>/ or the official files)"


def keras_cache_has(name: str) -> str | None:
    """Where the Keras cache holds a data set, or None."""
    base = keras_cache_dir()
    if not base.is_dir():
        return None
    if name in ("cifar10", "cifar100"):
        marker = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}[name]
        found = [p for p in sorted(base.glob(f"**/{marker}")) if p.is_dir()]
        return str(found[0]) if found else None
    if name == "mnist":
        return str(base / "mnist.npz") if (base / "mnist.npz").is_file() else None
    return str(base / "fashion-mnist") if (base / "fashion-mnist").is_dir() else None


def import_root(given: str | None) -> tuple[Path, str]:
    """Where `data import` puts data: --to, else $CIFAR_COURSE_DATA, else ~/cifar-course-data."""
    if given:
        return Path(given).expanduser(), "--to"
    env = os.environ.get("CIFAR_COURSE_DATA")
    if env:
        return Path(env).expanduser(), "CIFAR_COURSE_DATA"
    return DEFAULT_DATA_DIR.expanduser(), "default"


def name_from(path: Path) -> str | None:
    """Guess a data set from a file or folder name: 'cifar10-jpeg.tar.gz' -> cifar10."""
    stem = path.name.lower()
    for suffix in ARCHIVE_SUFFIXES:
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    stem = stem.replace("-", "_")
    matches = [n for n in DATASETS if stem == n or stem.startswith(n + "_")]
    if stem.startswith("cifar_10") or stem.startswith("cifar_100"):
        matches.append("cifar100" if stem.startswith("cifar_100") else "cifar10")
    return max(matches, key=len) if matches else None


def find_datasets(src: Path, name: str | None, origin: Path) -> list[tuple[str, Path, str]]:
    """Data sets in an extracted archive or a folder: (name, folder to move in as DIR/<name>/, layout)."""
    found: list[tuple[str, Path, str]] = []
    # official CIFAR batches, anywhere within 3 levels
    for depth in ("", "*/", "*/*/"):
        for marker, ds_name in OFFICIAL_DIRS.items():
            for hit in src.glob(f"{depth}{marker}"):
                if hit.is_dir():
                    found.append((ds_name, hit, "official"))
    if found:
        return found
    # the four IDX files of MNIST or Fashion-MNIST: src itself, or one level down
    for folder in (src, *sorted(p for p in src.iterdir() if p.is_dir())):
        if all((folder / f"{stem}.gz").is_file() for stem in IDX_FILES):
            guess = name or name_from(folder if folder != src else origin) or name_from(origin)
            if guess not in ("mnist", "fashion_mnist"):
                raise ToolError(
                    f"{origin} holds IDX files (MNIST's format) but its name does not say which data "
                    "set; add --name mnist or --name fashion_mnist"
                )
            found.append((guess, folder, "IDX files"))
    if found:
        return found
    # image folders: src itself, or src/<name>/ (e.g. cifar10/train/<class>/...)
    if (src / "train").is_dir() and (src / "test").is_dir():
        guess = name or name_from(origin)
        if guess is None:
            raise ToolError(
                f"{origin} holds train/ and test/ but its name does not say which data set; "
                f"add --name ({', '.join(DATASETS)})"
            )
        return [(guess, src, "image folder")]
    for child in sorted(p for p in src.iterdir() if p.is_dir()):
        if (child / "train").is_dir() and (child / "test").is_dir():
            ds_name = child.name if child.name in DATASETS else (name or name_from(child))
            if ds_name is None:
                raise ToolError(
                    f"{origin}: cannot tell which data set {child.name}/ is; add --name ({', '.join(DATASETS)})"
                )
            found.append((ds_name, child, "image folder"))
    if not found:
        raise ToolError(
            f"{origin} holds no data set the course can read: expected the official CIFAR python "
            "files (cifar-10-batches-py/), the four IDX files of MNIST, or an image folder train/<class>/*, "
            "test/<class>/*",
            EXIT_FAILED,
        )
    return found


def install(src: Path, dest: Path, layout: str, move: bool, force: bool) -> None:
    """Put ``src`` at ``dest`` (official batches go to dest/<official dir>/), replacing only with --force."""
    final = dest / src.name if layout == "official" else dest
    if dest.exists() and not force:
        raise ToolError(f"{dest} already exists; use --force to replace it", EXIT_FAILED)
    staging = dest.parent / f".import-{uuid.uuid4().hex[:8]}-{dest.name}"
    target = staging / src.name if layout == "official" else staging
    target.parent.mkdir(parents=True, exist_ok=True)
    if move:
        os.replace(src, target)
    else:
        shutil.copytree(src, target)
    old = None
    if dest.exists():
        old = dest.parent / f".old-{uuid.uuid4().hex[:8]}-{dest.name}"
        os.replace(dest, old)
    os.replace(staging, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    assert final.exists()


def import_npz(path: Path, name: str | None, root: Path, force: bool) -> None:
    name = name or name_from(Path(path.stem))
    if name is None:
        raise ToolError(f"cannot tell which data set {path.name} holds; add --name ({', '.join(DATASETS)})")
    if check_checksum(path) is False:
        raise ToolError(f"{path} does not match its checksum: copy it again; nothing was imported", EXIT_FAILED)
    dest = root / name / path.name
    if dest.exists() and not force:
        raise ToolError(f"{dest} already exists; use --force to replace it", EXIT_FAILED)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".import-{uuid.uuid4().hex[:8]}-{path.name}")
    shutil.copyfile(path, tmp)
    os.replace(tmp, dest)
    say(f"Imported {name} into {dest}")


def import_tree(path: Path, name: str | None, root: Path, force: bool) -> None:
    """Import an archive (checked, then extracted safely into a temporary folder) or a folder (copied)."""
    tmp = None
    try:
        if path.is_file():
            say(f"Checking {path}")
            if check_checksum(path) is False:
                raise ToolError(f"{path} does not match its checksum: copy it again; nothing was imported", EXIT_FAILED)
            tmp = root / f".import-{uuid.uuid4().hex[:8]}"
            tmp.mkdir()
            say(f"Extracting {path} ...")
            safe_extract(path, tmp)
            src, move = tmp, True
        else:
            src, move = path, False
        found = find_datasets(src, name, path)
        if name:
            if name not in {f[0] for f in found}:
                raise ToolError(f"{path} holds {', '.join(f[0] for f in found)}, not {name}", EXIT_FAILED)
            found = [f for f in found if f[0] == name]
        existing = [str(root / f[0]) for f in found if (root / f[0]).exists()]
        if existing and not force:
            raise ToolError(f"{', '.join(existing)} already exists; use --force to replace it", EXIT_FAILED)
        for ds_name, folder, layout in found:
            dest = root / ds_name
            install(folder, dest, layout, move, force)
            what = tree_summary(count_tree(dest)) if layout == "image folder" else describe_folder(dest, ds_name)
            say(f"Imported {ds_name} into {dest}: {what}")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def count_archive(archive: Path) -> bool:
    """Count the images in an archive's train/test class folders without extracting; False if unreadable."""
    try:
        with tarfile.open(archive) as tar:
            names = [m.name for m in tar.getmembers() if m.isfile()]
    except (tarfile.TarError, OSError, EOFError) as err:
        say(f"  {archive}: UNREADABLE ({one_line(err)})")
        return False
    counts: dict[tuple[str, str], Counter] = {}
    official = sorted({p for n in names for p in PurePosixPath(n).parts if p in OFFICIAL_DIRS})
    for n in names:
        parts = PurePosixPath(n).parts
        for i, part in enumerate(parts[:-2]):
            if part in ("train", "test") and PurePosixPath(n).suffix.lower() in IMAGE_SUFFIXES:
                top = "/".join(parts[:i]) or "."
                counts.setdefault((top, part), Counter())[parts[i + 1]] += 1
                break
    for (top, split), c in sorted(counts.items()):
        say(
            f"  {archive.name}: {top}/{split}: {sum(c.values()):,} images, "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(c.items()))
        )
    if official:
        say(f"  {archive.name}: official CIFAR python files ({', '.join(official)}), {len(names)} files")
    if not counts and not official:
        say(f"  {archive.name}: {len(names)} files, no train/<class>/ images or official CIFAR files found")
    return True


def load_test(name: str, root: Path | None, folder: Path | None = None) -> bool:
    """Load a data set fully (no download, no synthetic stand-in) and print images per split and class.

    ``folder``: read that one data-set folder as ``name`` (any folder name), instead of looking in ``root``.
    """
    import numpy as np

    try:
        if folder is not None:
            ds = from_folder(folder, name, "fine")
            if ds is None:
                raise DataError(f"{folder} holds nothing the course can read as {name}")
            ds = validated(ds)
        else:
            ds = load_dataset(name, data_dir=root, profile="full", subset=False, download=False, verbose=False)
    except (DataError, DataNotFoundError, ConfigError) as err:
        say(f"  {name}: LOAD FAILED: {one_line(err)}")
        return False
    if root is not None and str(root) not in ds.source:
        say(f"  {name}: LOAD FAILED: nothing usable in {root / name} (only found: {ds.source})")
        return False
    say(f"  {name}: loaded {ds.summary()}")
    ok = True
    for split, y in (("train", ds.y_train), ("test", ds.y_test)):
        counts = np.bincount(y, minlength=ds.num_classes)
        shown = (
            ", ".join(f"{c} {n:,}" for c, n in zip(ds.class_names, counts))
            if ds.num_classes <= 20
            else f"{ds.num_classes} classes, {counts.min():,} to {counts.max():,} images each"
        )
        say(f"    {split}: {len(y):,} images: {shown}")
        if counts.min() == 0:
            say(f"    {split}: SOME CLASSES HAVE NO IMAGES")
            ok = False
    for note in ds.notes:
        say(f"    note: {note}")
    return ok
