"""The `cifar-course` command end to end: run (on tiny notebooks the tests write), data, errors."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import tarfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
from PIL import Image

from cifar_course.tools import runner
from conftest import run_cli as _run

REPO = Path(__file__).resolve().parent.parent
CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _notebook(path: Path, *sources: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {path.stem}")] + [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def lessons(tmp_path_factory) -> Path:
    """Four tiny lessons: one prints accuracies, one lacks a prerequisite, one fails, one comes after."""
    folder = tmp_path_factory.mktemp("notebooks")
    _notebook(
        folder / "01_ok.ipynb",
        "import os\nprint('profile=' + os.environ['COURSE_PROFILE'])\n"
        "print('data=' + os.environ.get('CIFAR_COURSE_DATA', 'unset'))",
        "print('Validation accuracy: 0.2500')\nprint('Test accuracy: 0.5')",
    )
    _notebook(
        folder / "02_needs_weights.ipynb",
        "import cifar_course as cc\nraise cc.MissingHere('Could not get VGG16 ImageNet weights (offline)')",
    )
    _notebook(folder / "03_broken.ipynb", "x = 1", "print('before the error')\n1 / 0", "print('never')")
    _notebook(folder / "04_after.ipynb", "print('Test accuracy: 0.9')")
    (folder / "notes.ipynb").write_text("{}")  # not a lesson (no NN_ prefix): ignored
    return folder


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("cifar-course: error: ")
    return lines[0]


# --------------------------------------------------------------------------- run
def test_run_not_run_lesson_gives_exit_3_and_results(lessons, tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    status, out, err = _run(
        capsys,
        "run",
        "--profile",
        "smoke",
        "--only",
        "01,2",
        "--notebooks",
        lessons,
        "--out",
        tmp_path / "out",
        "--data",
        data,
        "--no-progress",
    )
    assert status == runner.EXIT_NOT_RUN == 3
    assert "lesson 02 (02_needs_weights.ipynb) not run: Could not get VGG16 ImageNet weights" in err
    assert "exit status 3" in err
    folder = next((tmp_path / "out").glob("course-smoke-*"))
    assert sorted(p.name for p in folder.glob("*.ipynb")) == ["01_ok.ipynb", "02_needs_weights.ipynb"]
    info = json.loads((folder / "results.json").read_text())
    assert [lesson["status"] for lesson in info["lessons"]] == ["ok", "not run"]
    assert info["exit_status"] == 3 and info["profile"] == "smoke"
    first = info["lessons"][0]
    assert [(a["split"], a["value"]) for a in first["accuracies"]] == [("Validation", 0.25), ("Test", 0.5)]
    assert first["seconds"] > 0
    md = (folder / "results.md").read_text()
    assert "not run: Could not get VGG16 ImageNet weights (offline)" in md
    assert "Test accuracy: 0.5" in md and "Test accuracy: 0.5" in out
    # the kernel got the profile and the data folder
    executed = nbformat.read(folder / "01_ok.ipynb", as_version=4)
    text = "".join(o.get("text", "") for o in executed.cells[1].outputs)
    assert "profile=smoke" in text and f"data={data.resolve()}" in text


def test_a_wrong_argument_in_a_lesson_is_a_failure_not_a_missing_prerequisite(tmp_path, capsys):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _notebook(folder / "01_bug.ipynb", "import cifar_course as cc\ncc.split_validation([1, 2], [0, 1], fraction=2)")
    status, out, err = _run(
        capsys, "run", "--profile", "smoke", "--notebooks", folder, "--out", tmp_path, "--no-progress"
    )
    assert status == runner.EXIT_FAILED == 1  # a ValueError for a bad argument: the lesson is broken, not "not run"
    info = json.loads(next(tmp_path.glob("course-smoke-*/results.json")).read_text())
    assert (
        info["lessons"][0]["status"] == "failed" and "fraction must be between 0 and 1" in info["lessons"][0]["reason"]
    )


def test_run_stops_at_failing_cell_and_keeps_earlier_results(lessons, tmp_path, capsys):
    status, out, err = _run(
        capsys,
        "run",
        "--profile",
        "smoke",
        "--only",
        "01,03,04",
        "--notebooks",
        lessons,
        "--out",
        tmp_path,
        "--no-progress",
    )
    assert status == runner.EXIT_FAILED == 1
    assert "lesson 03 (03_broken.ipynb) failed at cell 3 (`print('before the error')`): ZeroDivisionError" in err
    assert "lesson(s) 04 not started" in err
    assert "Traceback" not in err
    folder = next(tmp_path.glob("course-smoke-*"))
    assert not (folder / "04_after.ipynb").exists()
    info = json.loads((folder / "results.json").read_text())
    assert [(lesson["lesson"], lesson["status"]) for lesson in info["lessons"]] == [("01", "ok"), ("03", "failed")]
    assert info["lessons"][1]["error"]["cell"] == 3
    partial = nbformat.read(folder / "03_broken.ipynb", as_version=4)  # executed up to the error
    assert partial.cells[2].outputs[-1]["output_type"] == "error"
    assert "FAILED" in (folder / "results.md").read_text()


def test_course_folders_are_never_reused(tmp_path):
    first, second = runner.new_course_folder(tmp_path, "smoke"), runner.new_course_folder(tmp_path, "smoke")
    assert first != second and first.is_dir() and second.is_dir()


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--only", "09"], "Unknown lesson 09: this course has lessons 01, 02, 03, 04"),
        (["--only", "two"], "is not a lesson number"),
        (["--profile", "huge"], "invalid choice: 'huge'"),
        (["--data", "/no/such/folder"], "--data /no/such/folder is not a folder"),
    ],
)
def test_run_errors_are_one_line(lessons, tmp_path, capsys, argv, expected):
    status, out, err = _run(capsys, "run", "--notebooks", lessons, "--out", tmp_path, *argv)
    assert status == 2
    assert expected in _one_error_line(err)
    assert not list(tmp_path.glob("course-*"))


def test_bad_profile_in_environment_and_missing_notebooks(lessons, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "fast")
    status, _, err = _run(capsys, "run", "--notebooks", lessons)
    assert status == 2 and "Unknown profile 'fast'" in _one_error_line(err)
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    status, _, err = _run(capsys, "run", "--notebooks", tmp_path / "nope")
    assert status == 2 and "is not a folder" in _one_error_line(err)
    status, _, err = _run(capsys, "run", "--notebooks", tmp_path)
    assert status == 2 and "no lesson notebooks" in _one_error_line(err)
    status, _, err = _run(capsys, "frobnicate")
    assert status == 2 and "invalid choice" in _one_error_line(err)


def test_lesson_selection_and_parsing(lessons):
    found = runner.discover_lessons(lessons)
    assert [lesson.number for lesson in found] == ["01", "02", "03", "04"]
    assert [lesson.number for lesson in runner.select_lessons(found, "04, 2-3")] == ["02", "03", "04"]
    text = "Epoch 1/1\rTest accuracy: 0.6791\nnoise accuracy: 3\nValidation accuracy: 0.75\n"
    assert [a["value"] for a in runner.parse_accuracies(text)] == [0.6791, 0.75]


@pytest.mark.skipif(not list((REPO / "notebooks").glob("01_*.ipynb")), reason="lesson 01 not written yet")
def test_real_lesson_01_in_smoke(tmp_path, capsys):
    status, out, err = _run(
        capsys,
        "run",
        "--profile",
        "smoke",
        "--only",
        "01",
        "--notebooks",
        REPO / "notebooks",
        "--out",
        tmp_path,
        "--no-progress",
    )
    assert status == 0, err
    folder = next(tmp_path.glob("course-smoke-*"))
    assert len(list(folder.glob("01_*.ipynb"))) == 1
    assert json.loads((folder / "results.json").read_text())["lessons"][0]["status"] == "ok"


# --------------------------------------------------------------------------- data
@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No course data folder, an empty Keras cache and a private decoded-image cache."""
    monkeypatch.delenv("CIFAR_COURSE_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("CIFAR_COURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


def _image_tree(root: Path, classes=("cat", "dog"), per_class=2) -> Path:
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for cls in classes:
            (root / split / cls).mkdir(parents=True)
            for i in range(per_class):
                Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(root / split / cls / f"{i}.png")
    return root


def _tar(path: Path, files: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_import_image_archive_then_verify(isolated, capsys):
    _image_tree(isolated / "src" / "cifar10")
    archive = isolated / "usb" / "cifar10-small.tar.gz"  # not cifar10-jpeg.tar.gz: that name promises all 60,000
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(isolated / "src" / "cifar10", arcname="cifar10")
    (archive.parent / "SHA256SUMS").write_text(f"{_sha(archive)}  {archive.name}\n")
    root = isolated / "course-data"
    status, out, err = _run(capsys, "data", "import", archive, "--to", root)
    assert status == 0, err
    assert "sha256 ok" in out and f"Imported cifar10 into {root / 'cifar10'}" in out
    assert "train 4 images in 2 classes" in out and "export CIFAR_COURSE_DATA=" in out
    assert (root / "cifar10" / "train" / "cat" / "0.png").is_file()
    assert not [p for p in root.iterdir() if p.name.startswith(".")]  # no leftovers
    # a second import does not overwrite without --force
    status, _, err = _run(capsys, "data", "import", archive, "--to", root)
    assert status == 1 and "already exists; use --force" in _one_error_line(err)
    assert _run(capsys, "data", "import", archive, "--to", root, "--force")[0] == 0
    # verify: the archive's checksum and member counts, then a load test of the data folder
    status, out, err = _run(capsys, "data", "verify", archive, root)
    assert status == 0, out + err
    assert "cifar10/train: 4 images, cat 2, dog 2" in out
    assert "train: 4 images: cat 2, dog 2" in out and "test: 4 images: cat 2, dog 2" in out
    status, out, _ = _run(capsys, "data", "where", "--data", root)
    assert status == 0 and "image folder: train 4 images in 2 classes" in out


# --------------------------------------------------------------------------- which data folder the course reads
def _import(capsys, isolated, *argv):
    """Import a tiny cifar10 image folder (with --to etc. as given); returns stdout."""
    src = isolated / "usb" / "cifar10"
    if not src.exists():
        _image_tree(src)
    status, out, err = _run(capsys, "data", "import", src, *argv)
    assert status == 0, err
    return out


def _folder_line(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("Course data folder:"))


def test_import_into_the_default_folder_says_it_is_found_by_itself(isolated, capsys):
    default = isolated / "home" / "cifar-course-data"
    out = _import(capsys, isolated)
    assert f"Imported cifar10 into {default / 'cifar10'}" in out
    assert (
        f"Nothing to set: the course reads {default} (the default folder ~/cifar-course-data, found by itself)." in out
    )
    assert "export CIFAR_COURSE_DATA" not in out and "only when told" not in out
    # and it is true: the course finds it with nothing set
    from cifar_course import folders

    assert folders.data_folder() == (default, "the default folder ~/cifar-course-data, found by itself")
    status, out, _ = _run(capsys, "data", "where")
    assert status == 0
    assert (
        _folder_line(out) == f"Course data folder: {default} (the default folder ~/cifar-course-data, found by itself)"
    )
    assert "from CIFAR_COURSE_DATA" not in out
    assert f"the course looks for: cifar10 from the course data folder {default / 'cifar10'}" in out
    # --to naming the default folder itself: the same
    out = _import(capsys, isolated, "--to", default, "--force")
    assert "Nothing to set: the course reads" in out and "export" not in out
    # verify without a path checks that folder, and says why
    status, out, err = _run(capsys, "data", "verify")
    assert status == 0, out + err
    assert _folder_line(out).endswith("(the default folder ~/cifar-course-data, found by itself)")


def test_import_into_the_cifar_course_data_folder_says_it_is_read(isolated, capsys, monkeypatch):
    env = isolated / "env-data"
    monkeypatch.setenv("CIFAR_COURSE_DATA", str(env))
    out = _import(capsys, isolated)  # no --to: into $CIFAR_COURSE_DATA
    assert f"Imported cifar10 into {env / 'cifar10'}" in out
    assert f"Nothing to set: the course reads {env} (from CIFAR_COURSE_DATA), as long as that variable is set." in out
    assert "export CIFAR_COURSE_DATA" not in out
    assert _import(capsys, isolated, "--to", env, "--force").count("Nothing to set") == 1
    status, out, _ = _run(capsys, "data", "where")
    assert status == 0 and _folder_line(out) == f"Course data folder: {env} (from CIFAR_COURSE_DATA)"
    assert f"`data import` puts data into: {env} (from CIFAR_COURSE_DATA)" in out


def test_import_elsewhere_says_how_to_point_the_course_at_it(isolated, capsys, monkeypatch):
    other = isolated / "usb-data"
    out = _import(capsys, isolated, "--to", other)
    assert (
        f"The course reads this folder only when told: export CIFAR_COURSE_DATA={other}  "
        f"(or: cifar-course run --data {other}). Now CIFAR_COURSE_DATA is not set and ~/cifar-course-data does "
        "not exist." in out
    )
    # with the default folder in place, it names the folder the course reads instead
    default = isolated / "home" / "cifar-course-data"
    _import(capsys, isolated)
    out = _import(capsys, isolated, "--to", other, "--force")
    assert f"export CIFAR_COURSE_DATA={other}" in out
    assert f"Now it reads {default} (the default folder ~/cifar-course-data, found by itself)." in out
    # the default folder is not the one the course reads while CIFAR_COURSE_DATA points elsewhere
    monkeypatch.setenv("CIFAR_COURSE_DATA", str(other))
    out = _import(capsys, isolated, "--to", default, "--force")
    assert f"export CIFAR_COURSE_DATA={default}" in out and f"Now it reads {other} (from CIFAR_COURSE_DATA)." in out
    # a CIFAR_COURSE_DATA that points nowhere does not undo a finished import
    monkeypatch.setenv("CIFAR_COURSE_DATA", str(isolated / "gone"))
    out = _import(capsys, isolated, "--to", other, "--force")
    assert f"export CIFAR_COURSE_DATA={other}" in out and "CIFAR_COURSE_DATA points to" in out


def test_where_names_the_real_origin_of_the_data_folder(isolated, capsys, monkeypatch):
    status, out, _ = _run(capsys, "data", "where")  # nothing anywhere
    assert status == 0
    assert _folder_line(out).startswith(
        "Course data folder: none: CIFAR_COURSE_DATA is not set and ~/cifar-course-data does not exist"
    )
    assert "from CIFAR_COURSE_DATA" not in out
    assert "(the default folder, which the course then finds by itself)" in out
    given = isolated / "given"
    given.mkdir()
    status, out, _ = _run(capsys, "data", "where", "--data", given)
    assert status == 0 and _folder_line(out) == f"Course data folder: {given} (from --data)"
    assert f"the course data folder {given} (from --data) has no cifar10/" in out
    assert "CIFAR_COURSE_DATA)" not in out and "data_dir" not in out
    monkeypatch.setenv("CIFAR_COURSE_DATA", str(isolated))  # --data wins over the variable
    status, out, _ = _run(capsys, "data", "where", "--data", given)
    assert _folder_line(out) == f"Course data folder: {given} (from --data)"
    status, out, _ = _run(capsys, "data", "where")
    assert _folder_line(out) == f"Course data folder: {isolated} (from CIFAR_COURSE_DATA)"


def test_verify_with_no_data_folder_says_why(isolated, capsys):
    status, _, err = _run(capsys, "data", "verify")
    assert status == 1
    assert (
        "nothing to verify: no course data folder (CIFAR_COURSE_DATA is not set and ~/cifar-course-data does not "
        "exist) and the Keras cache holds no data set" in _one_error_line(err)
    )


def test_import_refuses_path_traversal(isolated, capsys):
    root = isolated / "course-data"
    for name, kwargs in [
        ("dotdot.tar.gz", {"files": {"cifar10/train/a/0.png": b"x", "../evil.txt": b"owned"}}),
        ("absolute.tar.gz", {"files": {"/tmp/cifar-course-evil.txt": b"owned"}}),
        ("link.tar.gz", {"files": {"cifar10/train/a/0.png": b"x"}, "links": {"cifar10/test": "../../../etc"}}),
    ]:
        archive = _tar(isolated / name, **kwargs)
        status, _, err = _run(capsys, "data", "import", archive, "--to", root)
        assert status == 1
        assert "refused" in _one_error_line(err) and "nothing was extracted" in err
    assert not (isolated / "evil.txt").exists() and not Path("/tmp/cifar-course-evil.txt").exists()
    assert not (root / "cifar10").exists()


def _official_cifar10(folder: Path, per_batch: int = 4) -> Path:
    """A tiny file-for-file imitation of cifar-10-batches-py (pickle protocol 2, like the real files)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)

    def batch(n):
        return {b"data": rng.integers(0, 255, (n, 3072), dtype=np.uint8), b"labels": [i % 10 for i in range(n)]}

    for i in range(1, 6):
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(batch(per_batch * 5), protocol=2))
    (folder / "test_batch").write_bytes(pickle.dumps(batch(20), protocol=2))
    names = [n.encode() for n in CIFAR10_NAMES]
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": names}, protocol=2))
    return folder


def test_import_official_cifar_archive(isolated, capsys):
    src = _official_cifar10(isolated / "src" / "cifar-10-batches-py")
    archive = isolated / "tiny-cifar-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src, arcname="cifar-10-batches-py")
    root = isolated / "course-data"
    status, out, err = _run(capsys, "data", "import", archive, "--to", root)
    assert status == 0, err
    assert (root / "cifar10" / "cifar-10-batches-py" / "data_batch_1").is_file()
    status, out, err = _run(capsys, "data", "verify", "--data", root)
    assert status == 0, out + err
    assert "train: 100 images: airplane 10," in out and "test: 20 images: airplane 2," in out


def test_verify_wrong_checksum(isolated, capsys):
    # a file with an official name but other contents fails against the published checksum
    fake = isolated / "cifar-10-python.tar.gz"
    _tar(fake, {"cifar-10-batches-py/readme.html": b"not the real thing"})
    status, out, err = _run(capsys, "data", "verify", fake)
    assert status == 1 and "CHECKSUM MISMATCH against the published checksum" in out
    assert "problem(s) found" in _one_error_line(err)
    # and a SHA256SUMS beside an archive wins; import refuses a mismatch
    other = _tar(isolated / "usb.tar.gz", {"cifar10/train/a/0.png": b"x"})
    (isolated / "SHA256SUMS").write_text("0" * 64 + "  usb.tar.gz\n")
    status, out, _ = _run(capsys, "data", "verify", isolated)
    assert status == 1 and f"CHECKSUM MISMATCH against {isolated / 'SHA256SUMS'}" in out
    status, _, err = _run(capsys, "data", "import", other, "--to", isolated / "course-data")
    assert status == 1 and "does not match its checksum" in _one_error_line(err)


def test_import_folder_needs_a_name_when_unclear(isolated, capsys):
    _image_tree(isolated / "usb-copy", classes=[str(d) for d in range(3)])
    root = isolated / "course-data"
    status, _, err = _run(capsys, "data", "import", isolated / "usb-copy", "--to", root)
    assert status == 2 and "add --name" in _one_error_line(err)
    status, out, err = _run(capsys, "data", "import", isolated / "usb-copy", "--to", root, "--name", "mnist")
    assert status == 0, err
    assert (root / "mnist" / "test" / "2" / "1.png").is_file()
    assert (isolated / "usb-copy" / "train").is_dir()  # a folder is copied, not moved


def test_import_npz(isolated, capsys):
    rng = np.random.default_rng(2)
    arrays = {
        "x_train": rng.integers(0, 255, (30, 28, 28), dtype=np.uint8),
        "y_train": np.arange(30) % 10,
        "x_test": rng.integers(0, 255, (10, 28, 28), dtype=np.uint8),
        "y_test": np.arange(10),
    }
    np.savez(isolated / "mnist-small.npz", **arrays)
    np.savez(isolated / "mnist.npz", **arrays)  # an official name with other contents: refused
    root = isolated / "course-data"
    status, _, err = _run(capsys, "data", "import", isolated / "mnist.npz", "--to", root)
    assert status == 1 and "does not match its checksum" in _one_error_line(err)
    status, out, err = _run(capsys, "data", "import", isolated / "mnist-small.npz", "--to", root)
    assert status == 0, err
    status, out, err = _run(capsys, "data", "verify", "--data", root)
    assert status == 0, out + err
    assert "train: 30 images: 0 3, 1 3," in out


def test_data_errors_are_one_line(isolated, capsys, monkeypatch):
    cases = [
        (["data", "import", isolated / "missing.tar.gz"], 2, "does not exist"),
        (["data", "import", __file__], 2, "is not a tar archive"),
        (["data", "verify", isolated / "nothing-here"], 2, "does not exist"),
        (["data", "verify"], 1, "nothing to verify"),
        (["data", "download", "imagenet"], 2, "unknown data set 'imagenet'"),
        (["data", "where", "--data", isolated / "nope"], 2, "which is not a folder"),
    ]
    for argv, code, expected in cases:
        status, _, err = _run(capsys, *argv)
        assert status == code, (argv, err)
        assert expected in _one_error_line(err), argv
    monkeypatch.setenv("CIFAR_COURSE_DATA", str(isolated / "gone"))
    status, _, err = _run(capsys, "data", "where")
    assert status == 2 and "CIFAR_COURSE_DATA points to" in _one_error_line(err)


def test_download_failure_is_reported(isolated, capsys, monkeypatch):
    import keras

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://example: [Errno -2] Name or service not known")

    monkeypatch.setattr(keras.datasets.cifar10, "load_data", offline)
    status, out, err = _run(capsys, "data", "download")
    assert status == 1
    assert "download of cifar10 failed: URL fetch failure" in _one_error_line(err)
    assert "cifar-course data import PATH" in err


def test_python_dash_m_entry_point():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "cifar_course", "run", "--only", "99", "--notebooks", str(REPO)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 2
    assert "cifar-course: error: " in done.stderr and "Traceback" not in done.stderr


def _idx_folder(folder: Path, n_train: int = 30, n_test: int = 10) -> Path:
    """The four gzipped IDX files of an MNIST-style data set."""
    import gzip

    def idx(array: np.ndarray) -> bytes:
        header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
        return gzip.compress(header + array.astype(np.uint8).tobytes())

    folder.mkdir(parents=True)
    for prefix, n, first in (("train", n_train, 0), ("t10k", n_test, n_train)):  # all images differ: no test copies
        images = np.broadcast_to((first + np.arange(n))[:, None, None] % 256, (n, 28, 28))
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(idx(images))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(idx(np.arange(n) % 10))
    return folder


def test_idx_folder_imports_and_verifies_like_load_dataset_reads_it(isolated, capsys):
    src = _idx_folder(isolated / "usb" / "fashion-mnist")
    status, out, err = _run(capsys, "data", "verify", src)  # a data-set folder of another name than fashion_mnist
    assert status == 0, out + err
    assert "fashion_mnist: loaded fashion_mnist from IDX files" in out and "train: 30 images" in out
    root = isolated / "course-data"
    status, out, err = _run(capsys, "data", "import", src, "--to", root)
    assert status == 0, err
    assert f"Imported fashion_mnist into {root / 'fashion_mnist'}: IDX files" in out
    status, out, err = _run(capsys, "data", "verify", root)
    assert status == 0 and "test: 10 images" in out, out + err
    unnamed = _idx_folder(isolated / "usb" / "digits")
    status, _, err = _run(capsys, "data", "import", unnamed, "--to", root)
    assert status == 2 and "add --name mnist or --name fashion_mnist" in _one_error_line(err)
    assert _run(capsys, "data", "import", unnamed, "--to", root, "--name", "mnist")[0] == 0
