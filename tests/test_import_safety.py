"""`cifar-course data import` and `data verify` on bad input: damaged, cut, linked, oversized or self-testing data."""

from __future__ import annotations

import errno
import gzip
import hashlib
import io
import os
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cifar_course.tools import datatools
from conftest import cifar10_files, write_tar_gz
from conftest import run_cli as _run


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("cifar-course: error: ") and len(lines[0]) < 800, lines[0]
    return lines[0]


def _png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def _image_tree(root: Path, classes=("cat", "dog"), per_class=3) -> Path:
    """root/{train,test}/<class>/<i>.png, every image different (none of the test images is a training image)."""
    seed = 0
    for split in ("train", "test"):
        for cls in classes:
            (root / split / cls).mkdir(parents=True)
            for i in range(per_class):
                seed += 1
                (root / split / cls / f"{i}.png").write_bytes(_png(seed))
    return root


def _archive(path: Path, tree: Path, mode: str = "w:gz", **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, mode, **kwargs) as tar:
        tar.add(tree, arcname=tree.name)
    return path


def _nothing_imported(root: Path) -> None:
    """No data set and no staging or extraction folder left behind."""
    left = sorted(p.name for p in root.iterdir()) if root.exists() else []
    assert left == [], left


@pytest.fixture
def tree(isolated) -> Path:
    return _image_tree(isolated / "src" / "cifar10")


# --------------------------------------------------------------------------- 1. damaged archives
def test_flipped_bit_in_a_gzip_archive_is_refused_by_import_and_verify(isolated, tree, capsys):
    archive = _archive(
        isolated / "usb" / "cifar10-small.tar.gz", tree, compresslevel=0
    )  # stored: bytes stay as they are
    raw = bytearray(archive.read_bytes())
    at = raw.find(_png(1)[40:60])  # the first image's pixel data: tar is fine, only gzip's CRC can tell
    assert at > 0
    raw[at + 5] ^= 0x04
    archive.write_bytes(bytes(raw))
    with pytest.raises(gzip.BadGzipFile, match="CRC"):  # the damage is there, read to the end
        gzip.decompress(bytes(raw))
    root = isolated / "course-data"
    status, _, err = _run(capsys, "data", "import", archive, "--to", root)
    assert status == 1
    line = _one_error_line(err)
    assert "is damaged" in line and "CRC" in line and "Copy it again" in line
    _nothing_imported(root)
    status, out, err = _run(capsys, "data", "verify", archive)
    assert status == 1 and "UNUSABLE" in out and "is damaged" in out


def test_gzip_archive_without_its_trailer_is_refused(isolated, tree, capsys):
    archive = _archive(isolated / "usb" / "cifar10-small.tar.gz", tree)
    archive.write_bytes(archive.read_bytes()[:-8])  # gzip's CRC and length, the last 8 bytes
    root = isolated / "course-data"
    status, _, err = _run(capsys, "data", "import", archive, "--to", root)
    assert status == 1 and "cut short" in _one_error_line(err)
    _nothing_imported(root)


def _cut_before_last_member(archive: Path) -> None:
    with tarfile.open(archive) as tar:
        last = tar.getmembers()[-1]
    archive.write_bytes(archive.read_bytes()[: last.offset])  # a member boundary: no end-of-archive blocks


def _damage_a_header(archive: Path) -> None:
    with tarfile.open(archive) as tar:
        middle = tar.getmembers()[len(tar.getmembers()) // 2]
    raw = bytearray(archive.read_bytes())
    raw[middle.offset + 10] ^= 0x01  # the header's checksum no longer matches: tarfile stops there, silently
    archive.write_bytes(bytes(raw))


@pytest.mark.parametrize("damage", [_cut_before_last_member, _damage_a_header])
def test_plain_tar_cut_at_a_member_boundary_or_with_a_bad_header_is_refused(isolated, tree, capsys, damage):
    archive = _archive(isolated / "usb" / "cifar10-small.tar", tree, mode="w")
    damage(archive)
    root = isolated / "course-data"
    status, _, err = _run(capsys, "data", "import", archive, "--to", root)
    assert status == 1
    line = _one_error_line(err)
    assert "without the end-of-archive marker" in line and "cut short" in line
    _nothing_imported(root)
    status, out, _ = _run(capsys, "data", "verify", archive)
    assert status == 1 and "UNUSABLE" in out


def test_archive_named_as_the_complete_cifar10_copy_must_hold_all_of_it(isolated, tree, capsys):
    archive = _archive(isolated / "usb" / "cifar10-jpeg.tar.gz", tree)  # the name of the 60,000-image copy
    root = isolated / "course-data"
    status, _, err = _run(capsys, "data", "import", archive, "--to", root)
    assert status == 1
    line = _one_error_line(err)
    assert "complete CIFAR-10 JPEG copy (50,000 train and 10,000 test images" in line
    assert "but it holds 6 train and 6 test images (train/airplane 0 instead of 5,000," in line
    assert "it is incomplete or damaged" in line and "another name" in line
    _nothing_imported(root)
    status, out, _ = _run(capsys, "data", "verify", archive)
    assert status == 1 and "INCOMPLETE" in out
    # the same images under a name that promises nothing: imported
    small = shutil.copyfile(archive, isolated / "usb" / "cifar10-small.tar.gz")
    status, out, err = _run(capsys, "data", "import", small, "--to", root)
    assert status == 0, err
    assert "train 6 images in 2 classes" in out


def test_a_complete_copy_imports_and_one_image_less_does_not(isolated, tree, capsys, monkeypatch):
    expected = {split: {"cat": 3, "dog": 3} for split in ("train", "test")}
    monkeypatch.setitem(datatools.FULL_COPIES, "tiny-full", datatools.FullCopy("cifar10", "the tiny copy", expected))
    root = isolated / "course-data"
    status, _, err = _run(capsys, "data", "import", _archive(isolated / "a" / "tiny-full.tar.gz", tree), "--to", root)
    assert status == 0, err
    (tree / "test" / "dog" / "2.png").unlink()
    archive = _archive(isolated / "b" / "tiny-full.tar", tree, "w")
    status, _, err = _run(capsys, "data", "import", archive, "--to", root, "--force")
    assert status == 1 and "test/dog 2 instead of 3" in _one_error_line(err)
    assert (root / "cifar10" / "test" / "dog" / "2.png").is_file()  # the complete copy imported before is kept


@pytest.mark.parametrize("mode, suffix", [("w", ".tar"), ("w:bz2", ".tar.bz2"), ("w:xz", ".tar.xz"), ("w:gz", ".tgz")])
def test_good_archives_of_every_kind_still_import(isolated, tree, capsys, mode, suffix):
    archive = _archive(isolated / "usb" / f"cifar10-small{suffix}", tree, mode)
    root = isolated / "course-data"
    status, out, err = _run(capsys, "data", "import", archive, "--to", root)
    assert status == 0, err
    assert (root / "cifar10" / "test" / "dog" / "2.png").read_bytes() == (tree / "test" / "dog" / "2.png").read_bytes()
    assert [p.name for p in root.iterdir()] == ["cifar10"]
    assert _run(capsys, "data", "verify", archive)[0] == 0


def test_archives_joined_together_are_refused(isolated, tree, capsys):
    first = _archive(isolated / "a.tar", tree, "w").read_bytes()
    archive = isolated / "cifar10-small.tar"
    archive.write_bytes(first + _archive(isolated / "b.tar", tree, "w").read_bytes())  # tarfile would read only a.tar
    status, _, err = _run(capsys, "data", "import", archive, "--to", isolated / "course-data")
    assert status == 1 and "more data after the end of its tar archive" in _one_error_line(err)


# --------------------------------------------------------------------------- 2. folders: links, loops, full disk
def test_folder_import_never_copies_the_file_a_link_points_to(isolated, tree, capsys):
    private = isolated / "private" / "secret.png"
    private.parent.mkdir()
    private.write_bytes(_png(99) + b"private bytes")
    (tree / "train" / "cat" / "leak.png").symlink_to(private)
    root = isolated / "course-data"
    status, _, err = _run(capsys, "data", "import", tree, "--to", root)
    assert status == 1
    line = _one_error_line(err)
    assert f"{tree / 'train' / 'cat' / 'leak.png'} -> {private}" in line and "does not follow links" in line
    assert "nothing was copied" in line
    _nothing_imported(root)


def test_folder_import_never_copies_a_linked_folder(isolated, tree, capsys):
    elsewhere = _image_tree(isolated / "elsewhere", classes=("bird",))
    (tree / "train" / "bird").symlink_to(elsewhere / "train" / "bird", target_is_directory=True)
    root = isolated / "course-data"
    status, _, err = _run(capsys, "data", "import", tree, "--to", root)
    assert status == 1 and "is a link or special file" in _one_error_line(err)
    _nothing_imported(root)


def test_link_loop_is_one_line_and_leaves_nothing_behind(isolated, tree, capsys):
    (tree / "train" / "cat" / "loop").symlink_to("..", target_is_directory=True)
    root = isolated / "course-data"
    status, _, err = _run(capsys, "data", "import", tree.parent, "--to", root)  # the folder above: cifar10/ found
    assert status == 1 and "loop -> .." in _one_error_line(err)
    _nothing_imported(root)


def test_full_disk_during_a_folder_copy_is_one_line_and_leaves_nothing_behind(isolated, tree, capsys, monkeypatch):
    copied = []
    real_copyfile = shutil.copyfile

    def copyfile_until_full(src, dst, *args, **kwargs):
        if len(copied) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        copied.append(dst)
        return real_copyfile(src, dst, *args, **kwargs)

    monkeypatch.setattr(shutil, "copyfile", copyfile_until_full)
    root = isolated / "course-data"
    root.mkdir()
    status, _, err = _run(capsys, "data", "import", tree, "--to", root)
    assert status == 1
    line = _one_error_line(err)
    assert "No space left on device" in line and "Free space there, or import into a folder on another disk" in line
    _nothing_imported(root)


def test_full_disk_during_extraction_is_one_line_and_leaves_nothing_behind(isolated, tree, capsys, monkeypatch):
    archive = _archive(isolated / "usb" / "cifar10-small.tar.gz", tree)
    written = []

    def copy_until_full(src, dst, length=None, exception=OSError, bufsize=None):
        if len(written) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written.append(length)
        dst.write(src.read(length))

    monkeypatch.setattr(tarfile, "copyfileobj", copy_until_full)
    root = isolated / "course-data"
    status, _, err = _run(capsys, "data", "import", archive, "--to", root)
    assert status == 1
    line = _one_error_line(err)
    assert "No space left on device" in line and "Free space there" in line and "damaged" not in line
    _nothing_imported(root)


def test_full_disk_during_an_npz_copy_leaves_no_half_file(isolated, capsys, monkeypatch):
    arrays = {"x_train": np.zeros((4, 28, 28), np.uint8), "y_train": np.arange(4), "x_test": np.zeros((2, 28, 28))}
    np.savez(isolated / "mnist-small.npz", **arrays, y_test=np.arange(2))

    def copy_half(src, dst, *args, **kwargs):
        Path(dst).write_bytes(b"half a file")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))

    monkeypatch.setattr(shutil, "copyfile", copy_half)
    root = isolated / "course-data"
    status, _, err = _run(capsys, "data", "import", isolated / "mnist-small.npz", "--to", root)
    assert status == 1 and "Free space there" in _one_error_line(err)
    assert list((root / "mnist").iterdir()) == []


# --------------------------------------------------------------------------- 3. checksums and test sets
def test_sha256sums_beside_an_official_name_cannot_override_the_published_checksum(isolated, capsys):
    fake = write_tar_gz(isolated / "usb" / "cifar-10-python.tar.gz", "cifar-10-batches-py", cifar10_files())
    sha = hashlib.sha256(fake.read_bytes()).hexdigest()
    (fake.parent / "SHA256SUMS").write_text(f"{sha}  cifar-10-python.tar.gz\n")
    root = isolated / "course-data"
    status, out, err = _run(capsys, "data", "import", fake, "--to", root)
    assert status == 1 and "does not match its checksum" in _one_error_line(err)
    assert "sha256 ok" not in out and "CHECKSUM MISMATCH against the published checksum" in out
    assert "does not count for an official file name" in out
    _nothing_imported(root)
    for target in (fake, fake.parent):
        status, out, _ = _run(capsys, "data", "verify", target)
        assert status == 1 and "sha256 ok" not in out and "against the published checksum" in out


def test_archive_whose_test_set_is_a_link_to_train_is_refused(isolated, capsys):
    archive = isolated / "usb" / "cifar10-small.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        for i, name in enumerate(("cifar10/train/cat/0.png", "cifar10/train/dog/0.png")):
            info = tarfile.TarInfo(name)
            info.size = len(_png(i))
            tar.addfile(info, io.BytesIO(_png(i)))
        link = tarfile.TarInfo("cifar10/test")
        link.type, link.linkname = tarfile.SYMTYPE, "train"
        tar.addfile(link)
    root = isolated / "course-data"
    status, _, err = _run(capsys, "data", "import", archive, "--to", root)
    assert status == 1
    line = _one_error_line(err)
    assert "'cifar10/test' is a symbolic link (to 'train')" in line and "nothing was extracted" in line
    _nothing_imported(root)


@pytest.mark.parametrize("kind", ["archive", "folder", "hard links in an archive"])
def test_test_set_that_copies_the_training_set_is_refused(isolated, tree, capsys, kind):
    shutil.rmtree(tree / "test")
    shutil.copytree(tree / "train", tree / "test", copy_function=os.link if kind.startswith("hard") else shutil.copy2)
    source = tree if kind == "folder" else _archive(isolated / "usb" / "cifar10-small.tar.gz", tree)
    root = isolated / "course-data"
    status, _, err = _run(capsys, "data", "import", source, "--to", root)
    assert status == 1
    line = _one_error_line(err)
    assert "6 of the 6 test images of cifar10 are byte-for-byte copies of its training images" in line
    assert "Put the real test images into test/<class>/" in line
    _nothing_imported(root)


def test_a_few_test_copies_are_imported_with_a_note(isolated, tree, capsys):
    shutil.copyfile(tree / "train" / "cat" / "0.png", tree / "test" / "cat" / "0.png")
    status, out, err = _run(capsys, "data", "import", tree, "--to", isolated / "course-data")
    assert status == 0, err
    assert "note: 1 test image(s) are byte-for-byte copies of training images" in out


def test_verify_fails_when_the_test_set_is_the_training_set(isolated, tree, capsys):
    root = isolated / "course-data"
    status, _, err = _run(capsys, "data", "import", tree, "--to", root)
    assert status == 0, err
    shutil.rmtree(root / "cifar10" / "test")
    (root / "cifar10" / "test").symlink_to("train", target_is_directory=True)  # made by hand, after the import
    status, out, err = _run(capsys, "data", "verify", root)
    assert status == 1, out
    assert "test: 6 of 6 images are copies of training images: THE TEST SET IS THE TRAINING SET" in out


# --------------------------------------------------------------------------- 4. caps
def test_archive_past_the_size_cap_is_refused_before_anything_is_written(isolated, tree, capsys, monkeypatch):
    monkeypatch.setattr(datatools, "MAX_IMPORT_BYTES", 1_000_000, raising=False)
    (tree / "train" / "cat" / "huge.png").write_bytes(bytes(2_000_000))  # 2 MB of zeros: a 2 KB archive member
    archive = _archive(isolated / "usb" / "cifar10-small.tar.gz", tree)
    assert archive.stat().st_size < 20_000
    root = isolated / "course-data"
    root.mkdir()
    status, _, err = _run(capsys, "data", "import", archive, "--to", root)
    assert status == 1
    line = _one_error_line(err)
    assert "expands to more than 1 MB, past what `data import` takes (1 MB and 250,000 files" in line
    assert "nothing was extracted" in line
    _nothing_imported(root)


def test_default_size_cap_is_stated_and_checked_at_the_member_header(isolated, capsys):
    header = tarfile.TarInfo("cifar10/train/cat/huge.png")
    header.size = 600_000_000  # only its header is there: refused before any of its data would be read
    archive = isolated / "usb" / "cifar10-small.tar.gz"
    archive.parent.mkdir()
    archive.write_bytes(gzip.compress(header.tobuf(tarfile.GNU_FORMAT)))
    status, _, err = _run(capsys, "data", "import", archive, "--to", isolated / "course-data")
    assert status == 1
    line = _one_error_line(err)
    assert "expands to more than 500 MB, past what `data import` takes (500 MB and 250,000 files" in line


@pytest.mark.parametrize("kind", ["archive", "folder"])
def test_too_many_members_are_refused(isolated, tree, capsys, monkeypatch, kind):
    monkeypatch.setattr(datatools, "MAX_IMPORT_FILES", 10, raising=False)
    source = _archive(isolated / "usb" / "cifar10-small.tar.gz", tree) if kind == "archive" else tree
    root = isolated / "course-data"
    status, _, err = _run(capsys, "data", "import", source, "--to", root)
    assert status == 1
    line = _one_error_line(err)
    assert "holds more than 10 files and folders" in line
    assert ("nothing was extracted" if kind == "archive" else "nothing was copied") in line
    _nothing_imported(root)
