"""cifar-course classroom: nbgrader student editions of the lessons, graded by nbgrader itself.

The slow part (a module fixture) releases every lesson once, then grades lessons 01 and 02 with
``nbgrader autograde`` in the smoke profile on the synthetic stand-in data, as a teacher would (docs/teaching.md):
lesson 01 for three students (the real solutions, a blank notebook, a notebook whose check cells were edited and
deleted) and lesson 02 for one. Autograding a notebook runs it from top to bottom: about 15-30 s for lesson 01 and
30-60 s for lesson 02 on a 2-core CPU, plus a few seconds to start nbgrader and the kernel each time.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path

import nbformat
import pytest

import cifar_course as cc
from cifar_course.tools import classroom
from cifar_course.tools.cli import main
from cifar_course.tools.common import ToolError

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
LESSONS = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
L01, L02 = "01_data_exploration", "02_baseline_cnn"
needs_nbgrader = pytest.mark.skipif(
    find_spec("nbgrader") is None, reason='nbgrader is the teacher\'s extra: pip install -e ".[teach]"'
)


def _read(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _src(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _cli(*args) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["classroom", *map(str, args)])
    return status, out.getvalue()


# =========================================================================== the check functions under nbgrader
def test_an_unanswered_exercise_prints_a_note_outside_nbgrader(monkeypatch, capsys):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert cc.checks.check_scaled(None, "x_small_scaled") is None
    assert "Not answered yet" in capsys.readouterr().out


@pytest.mark.parametrize("mode", ["autograde", "validate"])
def test_an_unanswered_exercise_fails_while_nbgrader_grades(monkeypatch, mode):
    monkeypatch.setenv("NBGRADER_EXECUTION", mode)  # what nbgrader sets while it runs a notebook
    with pytest.raises(cc.checks.CheckFailed, match="not answered: x_small_scaled is still None"):
        cc.checks.check_scaled(None, "x_small_scaled")
    with pytest.raises(cc.checks.CheckFailed, match="not answered"):
        cc.checks.check_conv_params(None, kernel_size=5, in_channels=3, filters=16)
    cc.checks.check_conv_params(1216, kernel_size=5, in_channels=3, filters=16)  # an answer is checked as ever


# =========================================================================== finding the exercises
@pytest.mark.parametrize("lesson", LESSONS)
def test_every_lesson_follows_the_exercise_pattern(lesson):
    nb = _read(NOTEBOOKS / f"{lesson}.ipynb")
    exercises = classroom.find_exercises(nb, lesson)
    assert 2 <= len(exercises) <= 4
    for ex in exercises:
        assert ex.exercise_cell < ex.check_cell < ex.solution_cell
        assert ex.unanswered and all(f"{name} = None" in _src(nb["cells"][ex.exercise_cell]) for name in ex.unanswered)
        assert "cc.checks.check_" in _src(nb["cells"][ex.check_cell])
        assert "checks.check_" not in ex.solution_code  # the check stays in the check cell only
        assert ex.solution_code.strip()


def test_the_check_is_taken_out_of_the_solution():
    strip = classroom.strip_checks
    check = "cc.checks.check_value(x, 1)"
    assert strip(f"x = 1\n{check}\nprint(x)", check, "t") == "x = 1\nprint(x)"
    # a check cell the solution repeats, assignments included (lesson 07's exercise 2)
    solution = "p = 3  # the peak\nw = 3\ncc.checks.check_value(p, w)\n# done"
    assert strip(solution, "w = 3\ncc.checks.check_value(p, w)", "t") == "p = 3  # the peak\n# done"
    # checks inside a block (lesson 02's `if mnist is not None:`), and a block that only held a check
    solution = "if d:\n    y = 2\n    cc.checks.check_value(y, 2)\nif ok:\n    cc.checks.check_value(y, 2)\nz = 1"
    assert strip(solution, "cc.checks.check_value(y, 2)", "t") == "if d:\n    y = 2\nif ok:\n    pass\nz = 1"
    with pytest.raises(ToolError, match="no code besides its check"):
        strip("# solution\ncc.checks.check_value(y, 2)", "cc.checks.check_value(y, 2)", "t")


def _lesson(*cells) -> dict:
    """A notebook of code cells; a cell given as ("solution", source) is a hidden solution cell."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("# 98 — Test"))
    for cell in cells:
        if isinstance(cell, tuple):
            meta = {"jupyter": {"source_hidden": True}, "tags": ["solution"]}
            nb.cells.append(nbformat.v4.new_code_cell(cell[1], metadata=meta))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(cell))
    return nb


def test_a_solution_without_a_check_cell_before_it_is_named():
    nb = _lesson("import cifar_course as cc", "x = None  # your code", "print(x)", ("solution", "x = 1"))
    with pytest.raises(ToolError, match=r"solution cell \[4\] `x = 1`.*\[3\] `print\(x\)`, calls no cc.checks"):
        classroom.find_exercises(nb, "98_test")


def test_a_check_without_an_exercise_cell_is_named():
    nb = _lesson(
        "import cifar_course as cc",
        "x = 2",
        "cc.checks.check_value(x, 1)",
        ("solution", "x = 1\ncc.checks.check_value(x, 1)"),
    )
    with pytest.raises(ToolError, match=r"check cell \[3\] `cc.checks.check_value\(x, 1\)`.*no exercise cell"):
        classroom.find_exercises(nb, "98_test")


@needs_nbgrader
def test_release_stops_before_writing_anything_when_a_lesson_is_off_the_pattern(tmp_path, capsys):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    nbformat.write(
        _lesson("import cifar_course as cc", "x = None", "print(x)", ("solution", "x = 1")), lessons / "98_test.ipynb"
    )
    status = main(["classroom", "release", str(tmp_path / "out"), "--notebooks", str(lessons)])
    err = capsys.readouterr().err
    assert status == 1 and "lesson 98_test: solution cell [4]" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@needs_nbgrader
def test_release_rejects_an_unknown_lesson(tmp_path, capsys):
    assert main(["classroom", "release", str(tmp_path / "out"), "--only", "99", "--notebooks", str(NOTEBOOKS)]) == 2
    assert "Unknown lesson 99" in capsys.readouterr().err


@needs_nbgrader
def test_grades_without_a_gradebook_is_a_clear_error(tmp_path, capsys):
    assert main(["classroom", "grades", str(tmp_path)]) == 1
    assert "no nbgrader gradebook in" in capsys.readouterr().err


def test_the_command_line_does_not_import_nbgrader_for_help():
    code = (
        "import sys; from cifar_course.tools.cli import main; main(['--help']); main(['classroom', '--help']); "
        "assert 'nbgrader' not in sys.modules, 'imported nbgrader'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "classroom" in result.stdout and "release" in result.stdout and "grades" in result.stdout


# =========================================================================== release (every lesson, once)
@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """`cifar-course classroom release OUT` for every lesson: (OUT, what it printed, seconds)."""
    out = tmp_path_factory.mktemp("classroom") / "course"
    start = time.perf_counter()
    status, printed = _cli("release", out, "--notebooks", NOTEBOOKS)
    assert status == 0, printed
    return out, printed, time.perf_counter() - start


@needs_nbgrader
def test_release_writes_source_release_and_plain_student_editions_of_every_lesson(course):
    out, printed, _ = course
    assert (out / "nbgrader_config.py").is_file() and (out / "gradebook.db").is_file()
    for lesson in LESSONS:
        for path in (
            out / "source" / lesson / f"{lesson}.ipynb",
            out / "release" / lesson / f"{lesson}.ipynb",
            out / "student" / f"{lesson}.ipynb",
        ):
            assert path.is_file(), path
            nbformat.validate(nbformat.read(path, as_version=4))
        assert f"{lesson}: " in printed and f"release/{lesson}/{lesson}.ipynb" in printed


@needs_nbgrader
def test_the_source_version_has_nbgrader_cells(course):
    out, _, _ = course
    nb = _read(out / "source" / L02 / f"{L02}.ipynb")
    meta = {_nbgrader(c)["grade_id"]: _nbgrader(c) for c in nb["cells"] if _nbgrader(c)}
    assert meta[f"{L02}-ex1-answer"] == {
        "solution": True,
        "grade": False,
        "locked": False,
        "grade_id": f"{L02}-ex1-answer",
        "schema_version": 3,
    }
    check = meta[f"{L02}-ex1-check"]
    assert check["grade"] and check["locked"] and not check["solution"] and check["points"] == 1
    assert meta[f"{L02}-setup"]["locked"] and not meta[f"{L02}-setup"]["grade"]
    answer = next(_src(c) for c in nb["cells"] if _nbgrader(c).get("grade_id") == f"{L02}-ex1-answer")
    given, rest = answer.split("### BEGIN SOLUTION\n")
    assert given == "my_count = None  # your answer, a whole number\n"
    assert "my_count = (5 * 5 * 3 + 1) * 16" in rest and rest.endswith("### END SOLUTION")
    assert "check_conv_params" not in rest
    assert not any("solution" in c.get("metadata", {}).get("tags", []) for c in nb["cells"])


def _solution_lines(lesson: str) -> set[str]:
    """Lines of the lesson's hidden solutions that appear in none of its other cells."""
    cells = _read(NOTEBOOKS / f"{lesson}.ipynb")["cells"]
    hidden = [c for c in cells if "solution" in c.get("metadata", {}).get("tags", [])]
    others = {line.strip() for c in cells if c not in hidden for line in _src(c).splitlines()}
    return {line.strip() for c in hidden for line in _src(c).splitlines() if line.strip()} - others


@needs_nbgrader
@pytest.mark.parametrize("lesson", LESSONS)
def test_student_editions_hold_no_solution(course, lesson):
    out, _, _ = course
    secret = _solution_lines(lesson)
    assert len(secret) >= 2  # the test has something to look for
    original = _read(NOTEBOOKS / f"{lesson}.ipynb")
    exercises = classroom.find_exercises(original, lesson)
    for path in (out / "release" / lesson / f"{lesson}.ipynb", out / "student" / f"{lesson}.ipynb"):
        nb = _read(path)
        text = "\n".join(_src(c) for c in nb["cells"])
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
        assert not any("solution" in c.get("metadata", {}).get("tags", []) for c in nb["cells"])
        assert sorted(secret & {line.strip() for line in text.splitlines()}) == []
        # the exercise cells are the self-learner's, as committed; the check cells cannot be edited or deleted
        sources = [_src(c) for c in nb["cells"]]
        for ex in exercises:
            given = _src(original["cells"][ex.exercise_cell]).rstrip("\n")
            assert given + "\n" in sources or given in sources
            check = sources.index(_src(original["cells"][ex.check_cell]))
            assert nb["cells"][check]["metadata"]["editable"] is False
            assert nb["cells"][check]["metadata"]["deletable"] is False
        assert "Class edition" in _src(nb["cells"][1])
    plain = _read(out / "student" / f"{lesson}.ipynb")
    assert not any("nbgrader" in c.get("metadata", {}) for c in plain["cells"])
    graded = [c for c in _read(out / "release" / lesson / f"{lesson}.ipynb")["cells"] if _nbgrader(c).get("grade")]
    assert len(graded) == len(exercises) and all(_nbgrader(c)["points"] == 1 for c in graded)


@needs_nbgrader
def test_release_of_some_lessons_with_more_points(tmp_path):
    out = tmp_path / "class"
    status, printed = _cli("release", out, "--only", "01", "--points", "2", "--notebooks", NOTEBOOKS)
    assert status == 0 and f"{L01}: 3 exercises, 6 points" in printed
    assert [p.name for p in (out / "release").iterdir()] == [L01]
    cells = _read(out / "release" / L01 / f"{L01}.ipynb")["cells"]
    assert [_nbgrader(c)["points"] for c in cells if _nbgrader(c).get("grade")] == [2, 2, 2]


# =========================================================================== grading with nbgrader
def _submit(out: Path, student: str, lesson: str, nb: dict) -> None:
    path = out / "submitted" / student / lesson / f"{lesson}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb), encoding="utf-8")


def _with_solutions(out: Path, lesson: str) -> dict:
    """The student edition with every exercise answered by the source version's solution."""
    source = {
        _nbgrader(c).get("grade_id"): _src(c) for c in _read(out / "source" / lesson / f"{lesson}.ipynb")["cells"]
    }
    nb = _read(out / "release" / lesson / f"{lesson}.ipynb")
    for cell in nb["cells"]:
        if _nbgrader(cell).get("solution"):
            lines = source[_nbgrader(cell)["grade_id"]].split("\n")
            cell["source"] = "\n".join(line for line in lines if not line.startswith(("### BEGIN", "### END")))
    return nb


def _nbgrader_cli(out: Path, env: dict, *args) -> tuple[str, float]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=out, env=env, capture_output=True, text=True, timeout=1200
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    return log, time.perf_counter() - start


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    """Submissions graded with `nbgrader autograde` in the smoke profile, on the synthetic stand-in data."""
    out, _, _ = course
    home = tmp_path_factory.mktemp("grading")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIFAR_COURSE_", "NBGRADER"))}
    for name in ("runs", "cache", "keras", "home"):
        (home / name).mkdir()
    env.update(
        COURSE_PROFILE="smoke",
        CIFAR_COURSE_OFFLINE="1",
        CIFAR_COURSE_RUNS=str(home / "runs"),
        CIFAR_COURSE_CACHE=str(home / "cache"),
        KERAS_HOME=str(home / "keras"),
        HOME=str(home / "home"),  # no ~/cifar-course-data: the smoke profile's synthetic stand-in
        TF_CPP_MIN_LOG_LEVEL="2",
        MPLBACKEND="Agg",
    )
    _submit(out, "alice", L01, _with_solutions(out, L01))
    _submit(out, "alice", L02, _with_solutions(out, L02))
    _submit(out, "bob", L01, _read(out / "release" / L01 / f"{L01}.ipynb"))  # handed in blank
    tampered = _read(out / "release" / L01 / f"{L01}.ipynb")  # blank, with two check cells "fixed"
    cells = tampered["cells"]
    ex1 = next(c for c in cells if _nbgrader(c).get("grade_id") == f"{L01}-ex1-check")
    ex1["source"] = 'print("Correct: trust me")'
    cells.remove(next(c for c in cells if _nbgrader(c).get("grade_id") == f"{L01}-ex2-check"))
    _submit(out, "carol", L01, tampered)
    logs, seconds = {}, {}
    for lesson in (L01, L02):
        logs[lesson], seconds[lesson] = _nbgrader_cli(out, env, "autograde", lesson)
    logs["feedback"], seconds["feedback"] = _nbgrader_cli(out, env, "generate_feedback", L01, "--student", "bob")
    print(f"\nautograde times (s): {seconds}")
    return out, logs, seconds


def _scores(out: Path) -> dict:
    rows, _ = classroom.read_grades(out)
    return {(r.student, r.lesson): r for r in rows}


@needs_nbgrader
def test_the_real_solutions_get_full_marks(graded):
    out, _, _ = graded
    scores = _scores(out)
    for lesson in (L01, L02):
        row = scores[("alice", lesson)]
        assert row.submitted and row.max_score == 3 and row.score == 3, row
        assert all(score == top == 1 for score, top in row.exercises.values())


def _autograded(out: Path, student: str, lesson: str) -> dict:
    return _read(out / "autograded" / student / lesson / f"{lesson}.ipynb")


def _errors(nb: dict) -> list[tuple[str, str]]:
    """(grade_id or first line, error name) of every cell that raised."""
    return [
        (_nbgrader(c).get("grade_id") or _src(c).splitlines()[0], o["ename"])
        for c in nb["cells"]
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
        if o["output_type"] == "error"
    ]


@needs_nbgrader
def test_a_blank_submission_scores_zero_for_each_exercise_with_a_clear_report(graded):
    out, logs, _ = graded
    row = _scores(out)[("bob", L01)]
    assert row.score == 0 and row.max_score == 3 and sorted(row.exercises.values()) == [(0, 1)] * 3
    nb = _autograded(out, "bob", L01)
    # no crash: the lesson ran to the end; only the three check cells failed, each saying what is missing
    assert _errors(nb) == [(f"{L01}-ex{n}-check", "CheckFailed") for n in (1, 2, 3)]
    text = json.dumps(nb)
    for name in ("x_small_scaled", "the one-hot labels", "grey_4d"):
        assert f"not answered: {name} is still None." in text
    feedback = (out / "feedback" / "bob" / L01 / f"{L01}.html").read_text(encoding="utf-8")
    assert "not answered: x_small_scaled is still None." in feedback and "Score: 0.0 / 3.0" in feedback
    status, printed = _cli("grades", out)
    assert status == 0 and "bob" in printed


@needs_nbgrader
def test_an_edited_or_deleted_check_cell_is_put_back_by_nbgrader(graded):
    out, logs, _ = graded
    log = logs[L01]
    assert f"Attribute 'checksum' for cell {L01}-ex1-check has changed!" in log  # edited: restored
    assert f"Missing grade cell {L01}-ex2-check encountered, adding to notebook" in log  # deleted: added back
    row = _scores(out)[("carol", L01)]
    assert row.score == 0 and sorted(row.exercises.values()) == [(0, 1)] * 3
    nb = _autograded(out, "carol", L01)
    released = {_nbgrader(c).get("grade_id"): _src(c) for c in _read(out / "release" / L01 / f"{L01}.ipynb")["cells"]}
    graded_cells = {_nbgrader(c).get("grade_id"): _src(c) for c in nb["cells"]}
    assert graded_cells[f"{L01}-ex1-check"] == released[f"{L01}-ex1-check"]
    assert released[f"{L01}-ex2-check"] in graded_cells[f"{L01}-ex2-check"]  # with nbgrader's note above it
    assert "trust me" not in json.dumps(nb)


@needs_nbgrader
def test_grades_come_out_as_a_csv_and_as_nbgraders_export(graded, tmp_path):
    out, _, _ = graded
    status, printed = _cli("grades", out, "--csv", tmp_path / "grades.csv")
    assert status == 0 and "Grades: " in printed
    with (tmp_path / "grades.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    by = {row["student"]: row for row in rows}
    assert by["(out of)"]["01 total"] == "3" and by["(out of)"]["total"] == "6"
    assert by["alice"]["01 total"] == "3" and by["alice"]["02 total"] == "3" and by["alice"]["total"] == "6"
    assert by["bob"]["01 ex1"] == "0" and by["bob"]["01 total"] == "0" and by["bob"]["02 total"] == ""
    assert by["carol"]["total"] == "0"
    # nbgrader's own export of the same gradebook (run in the course folder, as docs/teaching.md says)
    env = {**os.environ, "HOME": str(tmp_path)}
    _nbgrader_cli(out, env, "export", "--to", str(tmp_path / "export.csv"))
    with (tmp_path / "export.csv").open(newline="") as handle:
        export = {(r["assignment"], r["student_id"]): r for r in csv.DictReader(handle)}
    assert float(export[(L01, "alice")]["score"]) == 3.0 and float(export[(L02, "alice")]["score"]) == 3.0
    assert float(export[(L01, "bob")]["score"]) == 0.0 and float(export[(L01, "bob")]["max_score"]) == 3.0


@needs_nbgrader
def test_releasing_again_keeps_the_grades(graded):
    out, _, _ = graded
    before = {key: row.score for key, row in _scores(out).items()}
    status, printed = _cli("release", out, "--only", "01,02", "--notebooks", NOTEBOOKS)
    assert status == 0 and "Kept " in printed
    assert {key: row.score for key, row in _scores(out).items()} == before
