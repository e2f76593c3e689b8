"""Checking, counting and importing data sets for `cifar-course data`: checksums, safe tar extraction, summaries.

`data import` checks before it writes. An archive is first read to its very end: every member's path, no links,
the size caps, its compression's own checksum (gzip, bzip2 and xz check theirs only there) and tar's end-of-archive
marker (a tar cut at a member boundary lacks it). A folder is walked without following links. An image folder whose
test set is its training set, or a copy whose name promises the complete data set but lacks images, is refused.
Only then is it extracted or copied, into a staging folder that is removed whatever goes wrong.
"""

from __future__ import annotations

import bz2
import errno
import gzip
import hashlib
import lzma
import os
import shutil
import tarfile
import uuid
import zlib
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, NamedTuple

from ..data import CIFAR10_CLASSES, DATASETS, DataError, DataNotFoundError, from_folder, load_dataset, validated
from ..folders import CIFAR_FILES, DEFAULT_DATA_DIR, official_batches
from ..formats import IDX_FILES, IMAGE_SUFFIXES
from .common import EXIT_FAILED, ToolError, one_line, say

if TYPE_CHECKING:
    import numpy as np

# published checksums of the official files (the same ones keras.datasets checks)
KNOWN_SHA256 = {
    "cifar-10-python.tar.gz": "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    "cifar-100-python.tar.gz": "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
    "mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
}
OFFICIAL_DIRS = {files.folder: name for name, files in CIFAR_FILES.items()}  # cifar-10-batches-py -> cifar10
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz")

# The most `data import` takes from one archive or data-set folder, in file contents and in files and folders: a few
# times the largest data set the course reads (the official CIFAR batches are 186 MB, MNIST as PNG images 70,000 files,
# the CIFAR-10 JPEG copy 55 MB in 60,000 files). Anything bigger is not one of them, or was made to fill the disk.
MAX_IMPORT_BYTES = 500_000_000
MAX_IMPORT_FILES = 250_000
MAX_TAR_PADDING = 16 << 20  # zeros after tar's end-of-archive marker (tar pads to its record size, 10 KiB by default)
COMPRESSED = {b"\x1f\x8b": gzip.open, b"BZh": bz2.open, b"\xfd7zXZ\x00": lzma.open}  # told by first bytes, not name
READ_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError)
BLOCK = tarfile.BLOCKSIZE
FILTER_ERRORS = getattr(tarfile, "FilterError", ())  # Pythons without extraction filters have none


class FullCopy(NamedTuple):
    """A complete copy that an archive's or folder's name promises: its data set and images per split and class."""

    name: str
    what: str
    counts: dict[str, dict[str, int]]


MNIST_DIGITS = [str(d) for d in range(10)]
# the offline copies the course is developed and tested with, by name without the archive suffix
FULL_COPIES = {
    "cifar10-jpeg": FullCopy(
        "cifar10",
        "the complete CIFAR-10 JPEG copy (50,000 train and 10,000 test images, 5,000 and 1,000 per class)",
        {"train": dict.fromkeys(CIFAR10_CLASSES, 5000), "test": dict.fromkeys(CIFAR10_CLASSES, 1000)},
    ),
    "mnist-png": FullCopy(
        "mnist",
        "the complete MNIST PNG copy (60,000 train and 10,000 test images)",
        {
            "train": dict(zip(MNIST_DIGITS, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])),
            "test": dict(zip(MNIST_DIGITS, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])),
        },
    ),
}


# --------------------------------------------------------------------------- checksums
def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_sums(sums_file: Path) -> dict[str, str]:
    """A SHA256SUMS file (``<hex>  <name>`` per line) as {name: hex}."""
    sums = {}
    for line in sums_file.read_text(errors="replace").splitlines():
        parts = line.strip().split(maxsplit=1)
        if len(parts) == 2 and len(parts[0]) == 64:
            sums[parts[1].lstrip("*").strip()] = parts[0].lower()
    return sums


def sums_beside(path: Path) -> str | None:
    """The checksum a SHA256SUMS beside ``path`` lists for it, if any."""
    sums_file = path.parent / "SHA256SUMS"
    return read_sums(sums_file).get(path.name) if sums_file.is_file() else None


def expected_sha256(path: Path) -> tuple[str | None, str]:
    """The checksum a file should have and where that comes from: published for an official name, else SHA256SUMS.

    A SHA256SUMS beside an official file name cannot override its published checksum: anyone can write one.
    """
    if path.name in KNOWN_SHA256:
        return KNOWN_SHA256[path.name], "the published checksum"
    listed = sums_beside(path)
    if listed is not None:
        return listed, str(path.parent / "SHA256SUMS")
    return None, ""


def check_checksum(path: Path) -> bool | None:
    """Print and return whether ``path`` has its expected checksum (None: no checksum known)."""
    expected, origin = expected_sha256(path)
    if expected is None:
        say(f"  {path}: no checksum known (no SHA256SUMS beside it, not an official file name)")
        return None
    listed = sums_beside(path)
    overruled = (
        f" (the SHA256SUMS beside it lists {listed}, which does not count for an official file name)"
        if path.name in KNOWN_SHA256 and listed not in (None, expected)
        else ""
    )
    got = sha256_of(path)
    if got != expected:
        say(f"  {path}: CHECKSUM MISMATCH against {origin}: expected {expected}, got {got}{overruled}")
        return False
    say(f"  {path}: sha256 ok ({origin}){overruled}")
    return True


def is_archive(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)


# --------------------------------------------------------------------------- reading an archive to its very end
@dataclass
class Scan:
    """What reading an archive or walking a folder found: members, bytes, and each file's content hash by path."""

    origin: Path
    members: int = 0
    size: int = 0
    digests: dict[str, bytes] = field(default_factory=dict)

    def count(self, size: int) -> None:
        """Count one member of ``size`` bytes, refusing it before it is written if it takes the import past a cap."""
        self.members += 1
        self.size += size
        if self.members > MAX_IMPORT_FILES:
            raise over_cap(self.origin, f"holds more than {MAX_IMPORT_FILES:,} files and folders")
        if self.size > MAX_IMPORT_BYTES:
            raise over_cap(self.origin, f"expands to more than {MAX_IMPORT_BYTES / 1e6:,.0f} MB")

    def under(self, prefix: str) -> dict[str, bytes]:
        """The content hashes of the files under the relative folder ``prefix`` ('.': all), by path within it."""
        if prefix in ("", "."):
            return dict(self.digests)
        start = prefix.rstrip("/") + "/"
        return {p[len(start) :]: d for p, d in self.digests.items() if p.startswith(start)}


def nothing_done(origin: Path) -> str:
    return "nothing was extracted" if origin.is_file() else "nothing was copied"


def over_cap(origin: Path, what: str) -> ToolError:
    """The refusal of an archive or folder past the caps, with the caps and what to do."""
    return ToolError(
        f"refused {origin}: it {what}, past what `data import` takes ({MAX_IMPORT_BYTES / 1e6:,.0f} MB and "
        f"{MAX_IMPORT_FILES:,} files, a few times the largest data set the course reads: the official CIFAR batches "
        "are 186 MB, MNIST as images 70,000 files). It is not one of the course's data sets, or it was made to fill "
        f"the disk; import the data set's own archive or folder; {nothing_done(origin)}",
        EXIT_FAILED,
    )


def damaged(archive: Path, why: str) -> ToolError:
    return ToolError(
        f"{archive} is damaged: {why}. Copy it again from its source (the checksum published there, or a SHA256SUMS "
        "from there beside it, tells a good copy); nothing was extracted",
        EXIT_FAILED,
    )


def read_failure(archive: Path, err: BaseException) -> ToolError:
    """An error met while reading an archive, as one line that says what it means."""
    if isinstance(err, EOFError):
        return damaged(archive, "its compressed data end too early (the copy was cut short)")
    if isinstance(err, tarfile.ReadError) and "unexpected end of data" in str(err):
        return damaged(archive, "it ends inside a file (the copy was cut short)")
    if isinstance(err, tarfile.TarError):
        return damaged(archive, f"it is not a readable tar archive ({one_line(err)})")
    if isinstance(err, OSError) and err.errno is not None:
        return ToolError(f"cannot read {archive}: {err.strerror}; nothing was extracted", EXIT_FAILED)
    return damaged(archive, f"its compressed data do not check out ({one_line(err)})")


def check_member(m: tarfile.TarInfo, archive: Path) -> None:
    """Refuse a member that would land outside the target folder, a symbolic link, or a device or special file."""
    name = m.name.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in parts:
        raise ToolError(
            f"refused {archive}: member {m.name!r} would be written outside the target folder "
            "(absolute path or '..'); nothing was extracted",
            EXIT_FAILED,
        )
    if m.issym():
        raise ToolError(
            f"refused {archive}: member {m.name!r} is a symbolic link (to {m.linkname!r}). `data import` takes no "
            "links: one can point outside the data set, or make test/ the training set. Make the archive from the "
            "files themselves (tar --dereference) and import it again; nothing was extracted",
            EXIT_FAILED,
        )
    if m.islnk():
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


class TailKeeper:
    """A stream that passes reads on and keeps the last chunks read, to look at the end of a tar archive afterwards."""

    def __init__(self, raw) -> None:
        self.raw, self.pos, self.chunks = raw, 0, deque(maxlen=8)

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.read(size)
        self.chunks.append((self.pos, chunk))
        self.pos += len(chunk)
        return chunk

    def since(self, offset: int) -> bytes:
        """The bytes read from ``offset`` on (tarfile reads one block past its last member, so they are kept)."""
        start = self.chunks[0][0] if self.chunks else self.pos
        return b"".join(c for _, c in self.chunks)[offset - start :] if offset >= start else b""


def open_stream(archive: Path):
    """The tar data of an archive, decompressed by its first bytes (not its name)."""
    with open(archive, "rb") as f:
        head = f.read(6)
    opener = next((o for magic, o in COMPRESSED.items() if head.startswith(magic)), open)
    return opener(archive, "rb")


def check_end(tail: TailKeeper, end: int, archive: Path) -> None:
    """Refuse tar data without the end-of-archive marker at ``end`` or with data after it; read them to their end."""
    rest = tail.since(end)
    if rest[:BLOCK] != bytes(BLOCK):
        raise damaged(
            archive,
            f"its tar data stop at byte {end:,} without the end-of-archive marker (the copy was cut short, or a "
            "header is damaged)",
        )
    while rest:  # to the very end: gzip, bzip2 and xz check their checksum and length only there
        if rest.count(0) != len(rest):
            raise damaged(archive, "it holds more data after the end of its tar archive (two joined, or damage)")
        if tail.pos - end > MAX_TAR_PADDING:
            raise damaged(archive, f"it holds more than {MAX_TAR_PADDING >> 20} MiB of zeros after its tar archive")
        rest = tail.read(1 << 20)


def read_archive(archive: Path, take: Callable[[tarfile.TarFile, tarfile.TarInfo, Scan], None]) -> Scan:
    """Read an archive to its very end, checking each member and the caps before handing it to ``take``."""
    scan = Scan(archive)
    try:
        with open_stream(archive) as raw:
            tail = TailKeeper(raw)
            with tarfile.open(fileobj=tail, mode="r|") as tar:
                for member in tar:
                    check_member(member, archive)
                    scan.count(member.size if member.isfile() else 0)
                    take(tar, member, scan)
                end = tar.offset
            check_end(tail, end, archive)
    except ToolError:
        raise
    except READ_ERRORS as err:
        raise read_failure(archive, err) from err
    return scan


def hash_member(tar: tarfile.TarFile, member: tarfile.TarInfo, scan: Scan) -> None:
    """Read a file member to its end (cut data fail here), keeping its content hash (a hard link: its file's)."""
    target = PurePosixPath(member.linkname).as_posix() if member.islnk() else None
    if target in scan.digests:
        scan.digests[PurePosixPath(member.name).as_posix()] = scan.digests[target]
    elif member.isfile():
        digest = hashlib.blake2b(digest_size=16)
        with tar.extractfile(member) as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        scan.digests[PurePosixPath(member.name).as_posix()] = digest.digest()


def extract_member(dest: Path, tar: tarfile.TarFile, member: tarfile.TarInfo, scan: Scan) -> None:
    """Write one checked member into ``dest`` (with tarfile's 'data' filter where this Python has it)."""
    try:
        if hasattr(tarfile, "data_filter"):
            tar.extract(member, dest, filter="data")
        elif member.isfile() or member.isdir():  # Pythons without extraction filters: regular files and folders only
            tar.extract(member, dest)
    except FILTER_ERRORS as err:
        raise ToolError(f"refused {scan.origin}: {one_line(err)}; nothing was imported", EXIT_FAILED) from err
    except OSError as err:
        if err.errno is None:  # reading the archive failed (damage): read_archive says so
            raise
        raise write_failure(err, dest) from err


def scan_archive(archive: Path) -> Scan:
    """Check a whole archive without writing anything: paths, links, caps, damage; hashes of its files."""
    return read_archive(archive, hash_member)


def safe_extract(archive: Path, dest: Path) -> None:
    """Extract a tar archive into ``dest`` in one streaming read, checking every member again as it comes."""
    read_archive(archive, partial(extract_member, dest))


# --------------------------------------------------------------------------- folders: no links followed
def file_digest(path: Path) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.digest()


def odd_entry(path: Path) -> str:
    """A link or special file, described: 'a/leak.png -> /etc/passwd'."""
    if path.is_symlink():
        return f"{path} -> {os.readlink(path)}"
    return f"{path} (a device, pipe or socket)"


def refuse_links(origin: Path, odd: list[str]) -> ToolError:
    more = f" (and {len(odd) - 1:,} more link(s) or special file(s))" if len(odd) > 1 else ""
    return ToolError(
        f"refused {origin}: {odd[0]} is a link or special file{more}. `data import` does not follow links: one can "
        "point outside the data set (copying files that are not the data) or make test/ the training set. Replace "
        "each link by the file it stands for, or delete it, and import again; nothing was copied",
        EXIT_FAILED,
    )


def scan_folder(folder: Path, base: Path) -> Scan:
    """Walk a data-set folder within ``base`` without following links: count, hash its images; refuse links."""
    scan = Scan(base)
    odd = [odd_entry(p) for p in (folder, *folder.parents) if p.is_relative_to(base) and p != base and p.is_symlink()]
    todo = [folder] if not odd else []
    try:
        while todo:
            with os.scandir(todo.pop()) as entries:
                for entry in entries:
                    path = Path(entry.path)
                    if entry.is_dir(follow_symlinks=False):
                        scan.count(0)
                        todo.append(path)
                    elif entry.is_file(follow_symlinks=False):
                        scan.count(entry.stat(follow_symlinks=False).st_size)
                        if path.suffix.lower() in IMAGE_SUFFIXES:
                            scan.digests[path.relative_to(folder).as_posix()] = file_digest(path)
                    else:
                        odd.append(odd_entry(path))
    except OSError as err:
        raise ToolError(
            f"cannot read {err.filename or folder}: {err.strerror or one_line(err)}; nothing was copied", EXIT_FAILED
        ) from err
    if odd:
        raise refuse_links(base, odd)
    return scan


def copy_tree(src: Path, dst: Path) -> None:
    """Copy files and sub-folders: a link or special file met (one made since the check) is an error, not followed."""
    dst.mkdir(parents=True)  # a new folder, writable: never the source's (maybe read-only) permissions
    with os.scandir(src) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                copy_tree(Path(entry.path), dst / entry.name)
            elif entry.is_file(follow_symlinks=False):
                shutil.copy2(entry.path, dst / entry.name, follow_symlinks=False)
            else:
                raise refuse_links(src, [odd_entry(Path(entry.path))])


def write_failure(err: OSError, where: Path) -> ToolError:
    """A failed write as one line: what failed and what to do (a full disk: free space, or import elsewhere)."""
    full = err.errno in (errno.ENOSPC, errno.EDQUOT)
    fix = "Free space there, or import into a folder on another disk" if full else "Check that you may write there"
    return ToolError(
        f"could not write {err.filename or where}: {err.strerror or one_line(err)}. {fix} (--to DIR); nothing was "
        "imported (the partial copy was removed)",
        EXIT_FAILED,
    )


# --------------------------------------------------------------------------- what an image folder must be
def train_copies_in_test(digests: dict[str, bytes]) -> tuple[int, int]:
    """How many test images (test/<class>/<image>) are byte-for-byte copies of training images, of how many."""
    split_files: dict[str, list[bytes]] = {"train": [], "test": []}
    for path, digest in digests.items():
        parts = PurePosixPath(path).parts
        if len(parts) == 3 and parts[0] in split_files and PurePosixPath(path).suffix.lower() in IMAGE_SUFFIXES:
            split_files[parts[0]].append(digest)
    train = set(split_files["train"])
    return sum(d in train for d in split_files["test"]), len(split_files["test"])


def check_test_set(digests: dict[str, bytes], ds_name: str, origin: Path) -> str:
    """Refuse an image folder whose test images are (half or more) copies of its training images; else a note."""
    copies, total = train_copies_in_test(digests)
    if total and 2 * copies >= total:
        raise ToolError(
            f"refused {origin}: {copies:,} of the {total:,} test images of {ds_name} are byte-for-byte copies of its "
            "training images, so its test set is the training set (a link, or a copy made by mistake); test "
            "accuracy would measure memory, not learning. Put the real test images into test/<class>/ and import "
            "again; nothing was imported",
            EXIT_FAILED,
        )
    return f"note: {copies:,} test image(s) are byte-for-byte copies of training images" if copies else ""


def archive_stem(name: str) -> str:
    """A file or folder name without its archive suffix, lower case: 'CIFAR10-jpeg.tar.gz' -> 'cifar10-jpeg'."""
    name = name.lower()
    return next((name[: -len(s)] for s in ARCHIVE_SUFFIXES if name.endswith(s)), name)


def promised_copy(path: Path) -> FullCopy | None:
    """The complete copy that a file or folder name promises (cifar10-jpeg.tar.gz), if any."""
    return FULL_COPIES.get(archive_stem(path.name))


def shortfall(copy: FullCopy, counts: dict[str, Counter]) -> str:
    """How images per split and class differ from the complete copy's, in words ('' when they do not)."""
    diffs = []
    for split, expected in copy.counts.items():
        got = counts.get(split, Counter())
        for cls in sorted(set(expected) | set(got)):
            if got.get(cls, 0) != expected.get(cls, 0):
                diffs.append(f"{split}/{cls} {got.get(cls, 0):,} instead of {expected.get(cls, 0):,}")
    if not diffs:
        return ""
    totals = " and ".join(f"{sum(counts.get(split, Counter()).values()):,} {split}" for split in copy.counts)
    more = f", and {len(diffs) - 3} more" if len(diffs) > 3 else ""
    return f"{totals} images ({', '.join(diffs[:3])}{more})"


def check_promised(path: Path, found: list[tuple[str, Path, str]]) -> None:
    """Refuse an archive or folder whose name promises a complete copy (FULL_COPIES) that it does not hold."""
    copy = promised_copy(path)
    if copy is None:
        return
    folders = [folder for ds_name, folder, layout in found if ds_name == copy.name and layout == "image folder"]
    gap = shortfall(copy, count_tree(folders[0])) if folders else f"no {copy.name}/ image folder"
    if gap:
        raise ToolError(
            f"refused {path}: its name says it is {copy.what}, but it holds {gap}: it is incomplete or damaged. Copy "
            "it again from its source and compare its checksum (SHA256SUMS); if it is a subset you made on purpose, "
            f"give it another name (e.g. {copy.name}-subset.tar.gz); nothing was imported",
            EXIT_FAILED,
        )


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
    batches = official_batches(folder, name)
    if batches is not None:
        return f"official batches in {batches}"
    if name in CIFAR_FILES and (folder / DATASETS[name].official).is_file():
        return f"official archive {folder / DATASETS[name].official} (read without extracting)"
    if (folder / "train").is_dir() and (folder / "test").is_dir():
        return "image folder: " + tree_summary(count_tree(folder))
    npz = sorted(p.name for p in folder.glob("*.npz"))
    if npz:
        return "arrays " + ", ".join(npz)
    if list(folder.glob("*-ubyte.gz")):
        return "IDX files " + ", ".join(sorted(p.name for p in folder.glob("*-ubyte.gz")))
    return "nothing the course can read (expected train/<class>/, test/<class>/ or the official files)"


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


def swap_in(staging: Path, dest: Path) -> None:
    """Rename ``staging`` to ``dest``; a folder already at ``dest`` is removed only once the new one is in place."""
    old = None
    if dest.exists():
        old = dest.parent / f".old-{uuid.uuid4().hex[:8]}-{dest.name}"
        os.replace(dest, old)
    try:
        os.replace(staging, dest)
    except OSError:
        if old is not None:
            os.replace(old, dest)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def install(src: Path, dest: Path, layout: str, move: bool, force: bool) -> None:
    """Put ``src`` at ``dest`` (official batches go to dest/<official dir>/), replacing only with --force.

    It goes into a staging folder beside ``dest`` first (moved, or copied without following links), which is removed
    whatever goes wrong.
    """
    final = dest / src.name if layout == "official" else dest
    if dest.exists() and not force:
        raise ToolError(f"{dest} already exists; use --force to replace it", EXIT_FAILED)
    staging = dest.parent / f".import-{uuid.uuid4().hex[:8]}-{dest.name}"
    target = staging / src.name if layout == "official" else staging
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if move:
            os.replace(src, target)
        else:
            copy_tree(src, target)
        swap_in(staging, dest)
    except OSError as err:
        raise write_failure(err, staging) from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
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
    try:
        shutil.copyfile(path, tmp)
        os.replace(tmp, dest)
    except OSError as err:
        raise write_failure(err, tmp) from err
    finally:
        tmp.unlink(missing_ok=True)
    say(f"Imported {name} into {dest}")


def check_found(found: list[tuple[str, Path, str]], src: Path, scan: Scan | None, origin: Path) -> dict[str, str]:
    """Check each data set found before anything is installed (links, caps, test set); notes by data set."""
    notes = {}
    for ds_name, folder, layout in found:
        digests = scan.under(folder.relative_to(src).as_posix()) if scan else scan_folder(folder, src).digests
        notes[ds_name] = check_test_set(digests, ds_name, origin) if layout == "image folder" else ""
    check_promised(origin, found)
    return notes


def import_tree(path: Path, name: str | None, root: Path, force: bool) -> None:
    """Import an archive (read to its end and checked, then extracted into a temporary folder) or a folder (copied)."""
    tmp = None
    try:
        if path.is_file():
            say(f"Checking {path}")
            if check_checksum(path) is False:
                raise ToolError(
                    f"{path} does not match its checksum: it is damaged, or not the file its name says. Copy or "
                    "download it again; nothing was imported",
                    EXIT_FAILED,
                )
            scan = scan_archive(path)
            tmp = root / f".import-{uuid.uuid4().hex[:8]}"
            tmp.mkdir()
            say(f"Extracting {path} ...")
            safe_extract(path, tmp)
            src, move = tmp, True
        else:
            src, move, scan = path, False, None
        found = find_datasets(src, name, path)
        if name:
            if name not in {f[0] for f in found}:
                raise ToolError(f"{path} holds {', '.join(f[0] for f in found)}, not {name}", EXIT_FAILED)
            found = [f for f in found if f[0] == name]
        existing = [str(root / f[0]) for f in found if (root / f[0]).exists()]
        if existing and not force:
            raise ToolError(f"{', '.join(existing)} already exists; use --force to replace it", EXIT_FAILED)
        notes = check_found(found, src, scan, path)
        for ds_name, folder, layout in found:
            dest = root / ds_name
            install(folder, dest, layout, move, force)
            what = tree_summary(count_tree(dest)) if layout == "image folder" else describe_folder(dest, ds_name)
            say(f"Imported {ds_name} into {dest}: {what}")
            if notes[ds_name]:
                say(f"  {notes[ds_name]}")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def count_archive(archive: Path) -> bool:
    """Read an archive to its end (damage, links, caps) and count its train/test class images; False if unusable."""
    try:
        names = list(scan_archive(archive).digests)
    except ToolError as err:
        say(f"  {archive}: UNUSABLE: {err}")
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
    return promise_kept(archive, counts)


def promise_kept(archive: Path, counts: dict[tuple[str, str], Counter]) -> bool:
    """Whether an archive named as a complete copy (FULL_COPIES) holds all its images; says so when it does not."""
    copy = promised_copy(archive)
    if copy is None:
        return True
    splits = {split: c for (top, split), c in counts.items() if top == copy.name}
    gap = shortfall(copy, splits) if splits else f"no {copy.name}/ image folder"
    if gap:
        say(f"  {archive.name}: INCOMPLETE: its name says it is {copy.what}, but it holds {gap}")
        return False
    say(f"  {archive.name}: complete: {copy.what}")
    return True


def copies_in_test(x_train: np.ndarray, x_test: np.ndarray) -> int:
    """How many test images are pixel-for-pixel copies of training images."""

    def key(image) -> bytes:
        return hashlib.blake2b(image.tobytes(), digest_size=16).digest()

    seen = {key(image) for image in x_train}
    return sum(key(image) in seen for image in x_test)


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
    except (DataNotFoundError, ValueError) as err:  # ValueError: a DataError, or a data folder that is no folder
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
    copies = copies_in_test(ds.x_train, ds.x_test)
    if copies and 2 * copies >= len(ds.x_test):
        say(
            f"    test: {copies:,} of {len(ds.x_test):,} images are copies of training images: THE TEST SET IS THE "
            "TRAINING SET (a link or a copy made by mistake); put the real test images in its place"
        )
        ok = False
    elif copies:
        say(f"    note: {copies:,} test image(s) are pixel-for-pixel copies of training images")
    for note in ds.notes:
        say(f"    note: {note}")
    return ok
