"""cifar-course classroom autograde: each submission graded in a bubblewrap sandbox, its points decided outside it.

The slow part (module fixtures) releases lesson 01 with ``cifar-course classroom release``, hands in one submission
per case below and grades them all with ``cifar-course classroom autograde`` in the smoke profile, on the synthetic
stand-in data, with short limits (30 s per cell, 5 GB of address space per process). The tests then read what a
teacher reads: the gradebook, ``classroom grades``, grading-status.json, autograded/, and a snapshot of the files
outside the sandboxes (every file of the course folder and of the teacher's home; a file a sandbox tried to write
into the machine's /tmp).

- honest (the real solutions) and blank (the student edition as handed out);
- attacks on the checks, each on the whole lesson with nothing solved: replaced check functions and a patched
  ``__import__``, and an IPython input transformer that empties the check cells (both scored 3/3 under
  ``nbgrader autograde``, issue 27); printed fake verdicts with an edited, a deleted and a forged check cell;
- a vandal that tries to write into the teacher's home, the course folder, another submission and /tmp, to edit
  gradebook.db with sqlite, and to reach a server on the machine's loopback;
- an infinite loop (the limit per submission), a loop that ignores SIGINT (the limit per cell), a kernel that kills
  itself, a memory hog and a fork bomb: each ``not graded`` with its reason.

The vandal and the five failures hand in the lesson without its teaching cells (a student may delete them): their
runs are shorter. Skipped, with the reason, where nbgrader is missing or bubblewrap cannot run here (.ci/run installs
it). Deselect with ``-m "not grading"``. Measured on the course's 2-core machine: 3 min 39 s when it was otherwise
quiet, 7 min 21 s while other jobs shared it.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from importlib.util import find_spec
from pathlib import Path

import nbformat
import numpy as np
import pytest
from test_classroom import L01, NOTEBOOKS, _cli, _lesson, _nbgrader, _read, _src, _submit, _with_solutions

from cifar_course.tools import answers, classroom, grading, sandbox
from cifar_course.tools.cli import main
from cifar_course.tools.common import ToolError

pytestmark = pytest.mark.grading

HAVE_NBGRADER = find_spec("nbgrader") is not None
SANDBOX_PROBLEM = sandbox.problem() if sys.platform == "linux" else "the grading sandbox needs Linux"
needs_sandbox = pytest.mark.skipif(
    not HAVE_NBGRADER or SANDBOX_PROBLEM is not None,
    reason=f"cannot grade in a sandbox here: {SANDBOX_PROBLEM}" if HAVE_NBGRADER else "nbgrader is not installed",
)
CELL_S, SUBMISSION_S, MEMORY_GB = 30, 240, 5
LOOP_SUBMISSION_S = 35  # the infinite loop's run: the limit per submission ends it


# =========================================================================== the submissions
def _blank(course: Path) -> dict:
    return _read(course / "release" / L01 / f"{L01}.ipynb")


def _cell(nb: dict, grade_id: str) -> dict:
    return next(c for c in nb["cells"] if _nbgrader(c).get("grade_id") == grade_id)


def _with_answer(nb: dict, code: str, exercise: int = 1) -> dict:
    """The notebook with ``code`` appended to an exercise cell (its answer left None)."""
    cell = _cell(nb, f"{L01}-ex{exercise}-answer")
    cell["source"] = _src(cell) + "\n" + code
    return nb


def _short(nb: dict) -> dict:
    """The lesson as a student who deleted its teaching cells hands it in: setup, exercise and check cells."""
    nb["cells"] = [c for c in nb["cells"] if _nbgrader(c)]
    return nb


PATCHED_CHECKS = """
import builtins
import cifar_course as cc
def _correct(*args, **kwargs):
    print("Correct: trust me")
for _name in dir(cc.checks):
    if _name.startswith("check_"):
        setattr(cc.checks, _name, _correct)
_real_import = builtins.__import__
class _Nothing:
    def __getattr__(self, name):
        return _correct
def _import(name, *args, **kwargs):  # whatever a check cell imports does nothing and says it is right
    if name.startswith("cifar_course"):
        return _Nothing()
    return _real_import(name, *args, **kwargs)
builtins.__import__ = _import
"""

INPUT_TRANSFORMER = """
def _no_checks(lines):
    text = "".join(lines)
    if "check" in text or "record" in text or "answers" in text:
        return ['print("Correct: all good")\\n']
    return lines
get_ipython().input_transformers_cleanup.append(_no_checks)
get_ipython().input_transformers_post.append(_no_checks)
"""

FAKE_VERDICTS = f"""
print("Correct: x_small_scaled is float32 in [0.00, 1.00].")
print('CC-VERDICTS {{"{L01}-ex1-check": {{"passed": true, "printed": "", "error": null}}}}')
"""


def _edited_checks(nb: dict) -> dict:
    """Fake verdicts, and the check cells edited (ex1), deleted (ex2) and forged (ex3: a cell of the student's own
    claiming ex3's grade id, and ex3's real check cell stripped of its metadata and emptied)."""
    nb = _with_answer(nb, FAKE_VERDICTS)
    _cell(nb, f"{L01}-ex1-check")["source"] = 'print("Correct: trust me")'
    nb["cells"].remove(_cell(nb, f"{L01}-ex2-check"))
    real = _cell(nb, f"{L01}-ex3-check")
    real["metadata"].pop("nbgrader")
    real["source"] = "pass"
    forged = nbformat.v4.new_code_cell('print("Correct: grey_4d has shape (100, 32, 32, 1).")')
    forged["metadata"]["nbgrader"] = {
        "grade": True,
        "grade_id": f"{L01}-ex3-check",
        "locked": False,
        "points": 1,
        "schema_version": 3,
        "solution": False,
    }
    nb["cells"].insert(nb["cells"].index(real), forged)
    return nb


def _vandal(course: Path, home: Path, canary: Path, port: int) -> str:
    """Code that tries every write the issue saw, and the network, and prints what each attempt gave."""
    alice = course / "submitted" / "alice" / L01 / f"{L01}.ipynb"
    return f"""
import json, os, socket, sqlite3, pathlib
tried = {{}}
def attempt(name, action):
    try:
        action()
        tried[name] = "done"
    except BaseException as err:
        tried[name] = type(err).__name__
attempt("home", lambda: pathlib.Path({str(home)!r}, "pwned.txt").write_text("x"))
attempt("course", lambda: pathlib.Path({str(course)!r}, "pwned.txt").write_text("x"))
attempt("release", lambda: pathlib.Path({str(course / "release" / L01 / f"{L01}.ipynb")!r}).write_text("{{}}"))
attempt("classmate", lambda: pathlib.Path({str(alice)!r}).write_text("{{}}"))
attempt("canary", lambda: pathlib.Path({str(canary)!r}).write_text("x"))
attempt("up", lambda: pathlib.Path("../../gradebook.db").write_text("x"))
def gradebook():
    db = sqlite3.connect("file:" + {str(course / "gradebook.db")!r} + "?mode=rw", uri=True)
    db.execute("UPDATE grade SET manual_score = 0")
    db.commit()
attempt("gradebook", gradebook)
attempt("network", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=5).sendall(b"pwned"))
print("VANDAL", json.dumps(tried))
"""


FAILURES = {
    "loop": "while True:\n    pass",
    "sigint": "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
    "selfkill": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
    "memhog": "hog = []\nwhile True:\n    hog.append(bytearray(1 << 28))",
    "forkbomb": "import os, time\nwhile True:\n    if os.fork() == 0:\n        time.sleep(600)\n        os._exit(0)",
}


def _snapshot(*folders: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """path -> sha256 of every file under the folders, but the paths that contain one of ``skip``."""
    found = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not any(s in str(path) for s in skip):
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


class _Listener:
    """A TCP server on the machine's loopback that records every connection it accepts."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.5)
        self.port = self.server.getsockname()[1]
        self.accepted: list[bytes] = []
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(2)
                with contextlib.suppress(OSError):
                    self.accepted.append(connection.recv(100))

    def close(self):
        self.running = False
        self.thread.join()
        self.server.close()


def _autograde(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["classroom", "autograde", *map(str, args)])
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Lesson 01 released, every submission above handed in and graded; what each run printed, and the files."""
    if not HAVE_NBGRADER or SANDBOX_PROBLEM:
        pytest.skip(f"cannot grade in a sandbox here: {SANDBOX_PROBLEM or 'nbgrader is not installed'}")
    root = tmp_path_factory.mktemp("grading")
    course, home = root / "course", root / "teacher-home"
    home.mkdir()
    (home / "notes.txt").write_text("the teacher's own file")
    canary = Path("/tmp") / f"cifar-course-vandal-{os.getpid()}-{time.time_ns()}"
    listener = _Listener()
    timings = {}
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.startswith(("CIFAR_COURSE_", "NBGRADER", "KERAS_HOME")):
                env.delenv(name)
        env.setenv("HOME", str(home))  # no ~/cifar-course-data: the smoke profile's synthetic stand-in
        env.setenv("COURSE_PROFILE", "smoke")
        start = time.perf_counter()
        status, printed = _cli("release", course, "--only", "01", "--notebooks", NOTEBOOKS)
        assert status == 0, printed
        timings["release"] = time.perf_counter() - start
        _submit(course, "alice", L01, _with_solutions(course, L01))
        _submit(course, "bob", L01, _blank(course))
        _submit(course, "carol-patched", L01, _with_answer(_blank(course), PATCHED_CHECKS))
        _submit(course, "dan-transformer", L01, _with_answer(_blank(course), INPUT_TRANSFORMER))
        _submit(course, "eve-edited", L01, _edited_checks(_blank(course)))
        _submit(
            course,
            "zed-vandal",
            L01,
            _short(_with_answer(_blank(course), _vandal(course, home, canary, listener.port))),
        )
        for name, code in FAILURES.items():
            _submit(course, name, L01, _short(_with_answer(_blank(course), code)))
        before = _snapshot(course, home, skip=("gradebook.db", "autograded", grading.STATUS_FILE))
        others = [s for s in sorted(p.name for p in (course / "submitted").iterdir()) if s != "loop"]
        limits = ["--memory-limit", MEMORY_GB]
        start = time.perf_counter()
        runs = {
            "all": _autograde(
                course,
                "--only",
                "01",
                "--students",
                ",".join(others),
                "--cell-limit",
                CELL_S,
                "--time-limit",
                SUBMISSION_S,
                *limits,
            )
        }
        timings["autograde"] = time.perf_counter() - start
        start = time.perf_counter()
        runs["loop"] = _autograde(
            course, "--students", "loop", "--cell-limit", 600, "--time-limit", LOOP_SUBMISSION_S, *limits
        )
        timings["loop"] = time.perf_counter() - start
        after = _snapshot(course, home, skip=("gradebook.db", "autograded", grading.STATUS_FILE))
    listener.close()
    status = json.loads((course / grading.STATUS_FILE).read_text())[L01]
    print(f"\ngrading times (s): {timings}; per submission: { {k: v['seconds'] for k, v in status.items()} }")
    yield {
        "course": course,
        "home": home,
        "canary": canary,
        "runs": runs,
        "status": status,
        "before": before,
        "after": after,
        "accepted": listener.accepted,
        "timings": timings,
    }
    if canary.exists():
        canary.unlink()


def _rows(course: Path) -> dict:
    rows, _ = classroom.read_grades(course)
    return {r.student: r for r in rows if r.lesson == L01}


def _autograded(course: Path, student: str) -> dict:
    return _read(course / "autograded" / student / L01 / f"{L01}.ipynb")


def _vandal_tried(course: Path) -> dict[str, str]:
    """What each of the vandal's attempts gave, as its cell printed it."""
    for cell in _autograded(course, "zed-vandal")["cells"]:
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", ""))
            if text.startswith("VANDAL "):
                return json.loads(text.removeprefix("VANDAL ").splitlines()[0])
    raise AssertionError("the vandal's cell printed nothing")


def _outputs(nb: dict) -> str:
    return json.dumps([c.get("outputs", []) for c in nb["cells"]])


# =========================================================================== honest and blank work
@needs_sandbox
def test_the_real_solutions_get_full_marks_and_a_blank_notebook_zero(graded):
    rows, status = _rows(graded["course"]), graded["status"]
    assert rows["alice"].score == 3 and rows["alice"].max_score == 3, rows["alice"]
    assert sorted(rows["alice"].exercises.values()) == [(1, 1)] * 3
    assert rows["bob"].score == 0 and sorted(rows["bob"].exercises.values()) == [(0, 1)] * 3
    assert status["alice"]["status"] == status["bob"]["status"] == "graded"
    # the graded notebook shows the check cells as written, with the trusted checks' verdicts as their output
    alice, bob = _autograded(graded["course"], "alice"), _autograded(graded["course"], "bob")
    check = _cell(alice, f"{L01}-ex1-check")
    assert _src(check) == 'cc.checks.check_scaled(x_small_scaled, "x_small_scaled")'
    assert "Correct: x_small_scaled is float32" in _outputs(alice)
    assert "cifar_course.tools.answers" not in "".join(_src(c) for c in alice["cells"])  # the recording calls
    assert "not answered: x_small_scaled is still None." in _outputs(bob)


@needs_sandbox
def test_the_gradebook_feeds_grades_and_nbgraders_feedback(graded, tmp_path):
    course = graded["course"]
    status, printed = _cli("grades", course, "--csv", tmp_path / "grades.csv")
    assert status == 0
    line = next(line for line in printed.splitlines() if line.startswith("alice"))
    assert line.split()[-1] == "graded" and line.split()[4] == "3"
    rows = {r.split(",")[0]: r for r in (tmp_path / "grades.csv").read_text().splitlines()}
    assert rows["student"].endswith(",status") and rows["bob"].endswith(",graded")
    assert "not graded: 01: the kernel died at cell" in rows["selfkill"]
    env = {**os.environ, "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_feedback", L01, "--student", "alice"],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    page = (course / "feedback" / "alice" / L01 / f"{L01}.html").read_text(encoding="utf-8")
    assert "Score: 3.0 / 3.0" in page and "Correct: grey_4d has shape" in page


# =========================================================================== attacks earn nothing
@needs_sandbox
@pytest.mark.parametrize("student", ["carol-patched", "dan-transformer", "eve-edited"])
def test_an_attack_on_the_checks_earns_nothing(graded, student):
    row = _rows(graded["course"])[student]
    assert row.score == 0 and sorted(row.exercises.values()) == [(0, 1)] * 3, row
    assert graded["status"][student]["status"] == "graded"
    nb = _autograded(graded["course"], student)
    for n in (1, 2, 3):  # every check cell as the course wrote it, with the trusted check's failure
        cell = _cell(nb, f"{L01}-ex{n}-check")
        assert _src(cell).startswith("cc.checks.check_") and "trust me" not in _outputs({"cells": [cell]})
        assert any(o["output_type"] == "error" for o in cell["outputs"]), cell["outputs"]


@needs_sandbox
def test_an_edited_deleted_or_forged_check_cell_is_the_courses_own_again(graded):
    nb = _autograded(graded["course"], "eve-edited")
    ids = [_nbgrader(c).get("grade_id") for c in nb["cells"] if _nbgrader(c).get("grade")]
    assert ids == [f"{L01}-ex{n}-check" for n in (1, 2, 3)]  # one each, in the lesson's order
    released = _blank(graded["course"])
    for n in (1, 2, 3):
        assert _src(_cell(nb, f"{L01}-ex{n}-check")) == _src(_cell(released, f"{L01}-ex{n}-check"))


@needs_sandbox
def test_a_submission_changes_nothing_outside_its_sandbox(graded):
    assert graded["before"] == graded["after"]  # the course folder (submissions, release, source) and the home
    assert not (graded["home"] / "pwned.txt").exists() and not (graded["course"] / "pwned.txt").exists()
    assert not graded["canary"].exists()
    rows = _rows(graded["course"])
    assert rows["alice"].score == 3  # graded before the vandal, and still full marks
    with sqlite3.connect(graded["course"] / "gradebook.db") as db:
        assert db.execute("SELECT COUNT(*) FROM grade WHERE manual_score IS NOT NULL").fetchone() == (0,)
    tried = _vandal_tried(graded["course"])
    assert set(tried) == {"home", "course", "release", "classmate", "canary", "up", "gradebook", "network"}
    assert tried["canary"] == "done"  # written into the sandbox's own /tmp, which is gone
    assert all(result != "done" for name, result in tried.items() if name != "canary"), tried
    assert graded["status"]["zed-vandal"]["status"] == "graded" and rows["zed-vandal"].score == 0


@needs_sandbox
def test_a_submission_cannot_open_a_network_connection(graded):
    tried = _vandal_tried(graded["course"])
    assert tried["network"] in ("ConnectionRefusedError", "OSError", "TimeoutError"), tried
    assert graded["accepted"] == []  # the server on the machine's loopback heard from no sandbox


# =========================================================================== what could not be graded says so
@needs_sandbox
@pytest.mark.parametrize(
    ("student", "reason"),
    [
        ("loop", f"ran past the time limit of {LOOP_SUBMISSION_S} s per submission (at cell ["),
        ("sigint", f"ran past the time limit of {CELL_S} s per cell"),
        ("selfkill", "the kernel died at cell ["),
        ("memhog", f"the memory limit ({MEMORY_GB} GB of address space per process) was reached at cell ["),
        ("forkbomb", "the process limit (512 processes and threads) was reached at cell ["),
    ],
)
def test_a_submission_that_cannot_be_graded_says_why(graded, student, reason):
    entry = graded["status"][student]
    assert entry["status"].startswith("not graded: ") and reason in entry["status"], entry
    limit = LOOP_SUBMISSION_S if student == "loop" else SUBMISSION_S
    assert entry["seconds"] < limit + 60  # within the limits (the trusted checks come after)
    run = graded["runs"]["loop" if student == "loop" else "all"]
    assert run[0] == 1 and f"  {L01} {student}: {entry['status'].removeprefix('not graded: ')}" in run[1]
    assert "Not graded" in run[1]
    assert f"not graded: 01: {entry['status'].removeprefix('not graded: ')}" in _cli("grades", graded["course"])[1]


@needs_sandbox
def test_the_self_kill_names_the_signal(graded):
    assert "(killed by SIGKILL)" in graded["status"]["selfkill"]["status"]


# =========================================================================== where the sandbox cannot run
def test_without_bubblewrap_the_command_says_what_to_install(tmp_path, monkeypatch, capsys):
    if not HAVE_NBGRADER:
        pytest.skip("nbgrader is not installed")
    (tmp_path / "source").mkdir()
    (tmp_path / "gradebook.db").write_bytes(b"")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert main(["classroom", "autograde", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bwrap" in err[0] and "apt-get install bubblewrap" in err[0], err


def test_no_sandbox_warns_at_the_start_and_the_end(tmp_path, capsys):
    if not HAVE_NBGRADER:
        pytest.skip("nbgrader is not installed")
    course = tmp_path / "course"
    assert _cli("release", course, "--only", "01", "--notebooks", NOTEBOOKS)[0] == 0
    capsys.readouterr()
    assert main(["classroom", "autograde", str(course), "--no-sandbox"]) == 0  # nobody handed in
    err = capsys.readouterr().err
    assert err.count("--no-sandbox: the students' code runs with YOUR rights") == 2


# =========================================================================== the pieces, without a sandbox
def test_a_check_call_records_only_what_the_kernel_must_compute():
    code, calls = grading.plan_check_cell(
        "cc.checks.check_model(m, params=225_034, input_shape=(28, 28, 1), num_classes=10, output='softmax')\n"
        "cc.checks.check_accuracy_at_least(acc, profile.pick(full=0.97, quick=0.90, smoke=0.0), 'acc')",
        "02-ex2-check",
        "t",
    )
    assert code.count("record(") == 2 and "check_" not in code and "pick" not in code
    assert "record('02-ex2-check', 0, m)" in code and "record('02-ex2-check', 1, acc)" in code
    assert calls[0]["function"] == "check_model" and calls[0]["args"] == [{"answer": 0}]
    assert calls[0]["kwargs"]["input_shape"] == {"constant": "(28, 28, 1)"}
    assert calls[1]["args"][1] == {"pick": {"full": "0.97", "quick": "0.9", "smoke": "0.0"}}
    with pytest.raises(ToolError, match="calls no cc.checks"):
        grading.plan_check_cell("print(1)", "x", "t")


def test_the_graded_notebook_takes_every_locked_cell_from_the_course():
    lesson = "98_test"
    nb = _lesson(
        "import cifar_course as cc", "x = None  # your code", "cc.checks.check_value(x, 1)", ("solution", "x = 1")
    )
    course, _ = classroom.source_notebook(nb, lesson)
    gid = f"{lesson}-ex1-check"
    student = copy.deepcopy(course)
    check = _cell(student, gid)
    check["source"] = 'print("Correct")'  # edited
    student["cells"].append(copy.deepcopy(check))  # and copied
    forged = nbformat.v4.new_code_cell("y = 2", metadata={"nbgrader": {"grade": True, "grade_id": "mine", "points": 9}})
    student["cells"].append(forged)
    graded = grading.graded_notebook(course, course, student, lesson)
    assert [_nbgrader(c).get("grade_id") for c in graded.run["cells"]].count(gid) == 1
    index = graded.check_cells[gid]
    assert _src(graded.shown["cells"][index]) == "cc.checks.check_value(x, 1)"
    assert "record('98_test-ex1-check', 0, x)" in _src(graded.run["cells"][index])
    assert graded.checks[gid][0]["args"] == [{"answer": 0}, {"constant": "1"}] and graded.points == {gid: 1.0}
    assert _src(graded.run["cells"][-1]) == "y = 2" and not _nbgrader(graded.run["cells"][-1])
    del student["cells"][student["cells"].index(_cell(student, gid))]  # deleted: back after its exercise cell
    graded = grading.graded_notebook(course, course, student, lesson)
    ids = [_nbgrader(c).get("grade_id") for c in graded.run["cells"]]
    assert ids.index(gid) == ids.index(f"{lesson}-ex1-answer") + 1


def test_answers_go_through_safe_formats_only(tmp_path):
    values = [None, True, 3, 2.5, "s", (1, [2.0]), {"a": (1, 2)}, np.arange(6).reshape(2, 3), np.float32(0.5)]
    described = [answers.save(v, tmp_path) for v in values]
    loaded = [answers.load(json.loads(json.dumps(d)), tmp_path) for d in described]
    assert loaded[:7] == values[:7] and type(loaded[5]) is tuple
    assert np.array_equal(loaded[7], values[7]) and loaded[8] == np.float32(0.5) and isinstance(loaded[8], np.float32)
    assert "unsaved" in answers.save(object(), tmp_path)
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "pickled.npz", value=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickle"):
        answers.load({"array": "pickled.npz"}, tmp_path)
    (tmp_path / "link.npz").symlink_to(tmp_path / "pickled.npz")
    for bad in ({"array": "link.npz"}, {"array": "../x.npz"}, {"model": "/etc/passwd"}, {"json": [1]}, {"eval": "1"}):
        with pytest.raises((answers.Unusable, ValueError)):
            answers.load(bad, tmp_path)


def test_the_grader_reads_no_link_a_sandbox_left(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "secret").write_text("teacher")
    (tmp_path / "out" / "run.json").symlink_to(tmp_path / "secret")
    assert grading.read_inside(tmp_path, ["out", "run.json"]) is None
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "run.json").write_text("{}")
    (tmp_path / "out2").symlink_to(tmp_path / "elsewhere")
    assert grading.read_inside(tmp_path, ["out2", "run.json"]) is None
    assert grading.read_inside(tmp_path, ["elsewhere", "run.json"]) == b"{}"


@needs_sandbox
def test_a_folder_under_tmp_is_reachable_inside_the_sandbox(tmp_path):
    """A course checked out under /tmp (a fresh clone there): the sandbox's own /tmp must not hide the way to it."""
    host = tmp_path / "course"
    host.mkdir()
    (host / "hello.txt").write_text("hello")
    host.chmod(0o755)
    inside = "/tmp/a-clone/course"  # under the sandbox's own /tmp, as /tmp/<clone>/.venv is
    argv = sandbox.command(
        ["cat", f"{inside}/hello.txt"],
        limits=sandbox.LIMITS["smoke"],
        etc=sandbox.write_etc(tmp_path / "etc"),
        binds=[("ro", host, inside)],
    )
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "hello", done.stderr
