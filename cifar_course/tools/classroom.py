"""Teaching a class with nbgrader: the engine behind ``cifar-course classroom``.

    cifar-course classroom release OUT [--only 02,04] [--notebooks DIR] [--points N]
    cifar-course classroom grades OUT [--csv FILE]

``release`` turns every self-learner lesson (exercise cell, check cell, hidden solution cell) into an nbgrader
*source* notebook, OUT/source/<lesson>/<lesson>.ipynb: the exercise cell becomes a solution cell whose solution
sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, the check cell a locked, autograded test cell, and
the hidden solution cell goes. nbgrader's own ``generate_assignment`` then writes the student editions
(OUT/release/<lesson>/) and records the cells in OUT/gradebook.db; plain copies for a class without nbgrader go
to OUT/student/. OUT is an nbgrader course folder: a teacher grades it with ``cifar-course classroom autograde``
(tools/grading.py: each submission in a sandbox).
``grades`` reads nbgrader's gradebook and prints (and writes as CSV) the points of every student.

nbgrader is imported only when a command needs it, so ``cifar-course --help`` stays fast.
"""

from __future__ import annotations

import ast
import copy
import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .common import EXIT_FAILED, ToolError, one_line, say

SOLUTION_TAG = "solution"
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
SCHEMA_VERSION = 3  # nbgrader's cell metadata schema

CONFIG_FILE = "nbgrader_config.py"
STATUS_FILE = "grading-status.json"
CONFIG_TEXT = """\
# nbgrader's settings for this course folder, written by `cifar-course classroom release`.
# Run nbgrader from this folder (cd into it): nbgrader autograde LESSON, nbgrader export, ...
c = get_config()  # noqa: F821 (nbgrader defines get_config)

# An exercise cell keeps its given lines (`x = None  # your code`) and loses its solution: nothing replaces it,
# so a student edition runs from top to bottom as it is, like the self-learner notebook.
c.ClearSolutions.code_stub = {"python": ""}

# Grading runs every lesson from the top: a training cell may take minutes (the lesson headers give the run
# times per profile). nbgrader's default limit is 30 s per cell.
c.Execute.timeout = 3600

# A check cell a student deleted is put back before grading (an edited one is always restored).
c.OverwriteCells.add_missing_cells = True

# Saved runs, checkpoints and caches in a submission folder are not notebooks to grade.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "runs", "*.keras"]
"""

STUDENT_NOTE = """\
> **Class edition.** This copy of the lesson has no solutions. Write your answer in each exercise cell (replace
> the `None`), then run the check cell below it, which tells you what is right or wrong (check cells are locked).
> A graded notebook is run from the top, so before you hand it in, run it all once
> (*Kernel → Restart Kernel and Run All Cells*) and check that every cell runs."""


@dataclass
class Exercise:
    """One exercise of a lesson: the indices of its three cells and the code that solves it."""

    number: int
    exercise_cell: int
    check_cell: int
    solution_cell: int
    solution_code: str
    unanswered: list[str] = field(default_factory=list)  # the names the exercise cell sets to None


@dataclass
class Released:
    """What `release` wrote for one lesson."""

    lesson: str
    exercises: int
    points: float
    source: Path
    release: Path
    student: Path


# --------------------------------------------------------------------------- reading a lesson
def src(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _cell_line(cell) -> str:
    return one_line(src(cell), 60) or "(empty)"


def _where(lesson: str, cells: list, index: int, what: str = "cell") -> str:
    return f"lesson {lesson}: {what} [{index}] `{_cell_line(cells[index])}`"


def parse(source: str, where: str) -> ast.Module:
    """The syntax tree of a code cell; IPython's %magic and !shell lines count as `pass` (line numbers kept)."""
    lines = [
        re.match(r"\s*", line).group(0) + "pass" if line.lstrip().startswith(("%", "!")) else line
        for line in source.split("\n")
    ]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError as err:
        raise ToolError(f"{where} is not valid Python (line {err.lineno}: {err.msg})", EXIT_FAILED) from None


def is_check_call(node: ast.AST) -> bool:
    """``cc.checks.check_...(...)`` (or ``checks.check_...(...)``) as a statement of its own."""
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return False
    func = node.value.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr.startswith("check_")
        and (
            (isinstance(func.value, ast.Name) and func.value.id == "checks")
            or (isinstance(func.value, ast.Attribute) and func.value.attr == "checks")
        )
    )


def _calls_a_check(tree: ast.Module) -> bool:
    return any(is_check_call(node) for node in ast.walk(tree))


def _names_set_to_none(tree: ast.Module) -> list[str]:
    """The variables a cell sets to None at its top level: ``x = None  # your code``."""
    names = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value is None:
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Constant) and node.value.value is None:
            names += [node.target.id] if isinstance(node.target, ast.Name) else []
    return names


def _names_read(tree: ast.Module) -> set[str]:
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def _statement_bodies(tree: ast.AST):
    """Every list of statements in the tree (module body, if/else, for, with, try, except ...)."""
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                yield body


def strip_checks(solution: str, check: str, where: str) -> str:
    """The solution cell's code without its check: the check cell's statements, where the solution repeats them
    at its top level, and every other ``cc.checks.check_...(...)`` statement, at any depth (a block left empty
    gets ``pass``). Comments and everything else stay."""
    tree = parse(solution, where)
    check_dumps = [ast.dump(node) for node in parse(check, where).body]
    dumps = [ast.dump(node) for node in tree.body]
    drop: set[int] = set()  # ids of the statements to remove
    n = len(check_dumps)
    for start in range(len(dumps) - n, -1, -1):  # the last copy of the check cell
        if n and dumps[start : start + n] == check_dumps:
            drop |= {id(node) for node in tree.body[start : start + n]}
            break
    drop |= {id(node) for node in ast.walk(tree) if is_check_call(node)}

    lines = solution.split("\n")
    removed: set[int] = set()  # 0-based line numbers
    replaced: dict[int, str] = {}
    for body in _statement_bodies(tree):
        gone = [node for node in body if id(node) in drop]
        for node in gone:
            removed |= set(range(node.lineno - 1, node.end_lineno))
        if gone and len(gone) == len(body) and body is not tree.body:  # a block left empty
            first = body[0]
            replaced[first.lineno - 1] = " " * first.col_offset + "pass"
    kept = [replaced.get(i, line) for i, line in enumerate(lines) if i not in removed or i in replaced]
    text = "\n".join(line.rstrip() for line in kept)
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    code = "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("#"))
    if not code.strip():
        raise ToolError(f"{where} holds no code besides its check: nothing to use as the solution", EXIT_FAILED)
    parse(text, where + " (without its check)")
    return text


def find_exercises(nb: dict, lesson: str) -> list[Exercise]:
    """The exercises of a lesson, found from its solution cells (tagged "solution").

    The code cell before a solution cell is its check cell (it calls ``cc.checks.check_...``); the exercise cell is
    the code cell before that, or, where the lesson runs other code in between (lesson 07 trains a model there),
    the nearest earlier code cell since the previous exercise that sets a variable the check reads to None.
    A lesson that does not follow this pattern raises ToolError naming the cell.
    """
    cells = nb["cells"]
    exercises: list[Exercise] = []
    boundary = -1  # the previous exercise's solution cell
    for index, cell in enumerate(cells):
        if SOLUTION_TAG not in cell.get("metadata", {}).get("tags", []):
            continue
        where = _where(lesson, cells, index, "solution cell")
        if cell["cell_type"] != "code":
            raise ToolError(f"{where} is tagged solution but is not a code cell", EXIT_FAILED)
        code = [i for i in range(boundary + 1, index) if cells[i]["cell_type"] == "code"]
        if not code:
            raise ToolError(
                f"{where} has no check cell before it (since the previous exercise): an exercise is an exercise "
                "cell, a check cell (cc.checks.check_...) and a hidden solution cell, in that order",
                EXIT_FAILED,
            )
        check = code[-1]
        check_tree = parse(src(cells[check]), _where(lesson, cells, check))
        if not _calls_a_check(check_tree):
            raise ToolError(
                f"{where}: the code cell before it, [{check}] `{_cell_line(cells[check])}`, calls no "
                "cc.checks.check_...: the cell before a solution must be its check cell",
                EXIT_FAILED,
            )
        read = _names_read(check_tree)
        exercise, unanswered = None, []
        for candidate in reversed(code[:-1]):
            tree = parse(src(cells[candidate]), _where(lesson, cells, candidate))
            unanswered = [name for name in _names_set_to_none(tree) if name in read]
            if unanswered:
                exercise = candidate
                break
        if exercise is None:
            raise ToolError(
                f"{_where(lesson, cells, check, 'check cell')} (before solution cell [{index}]) has no exercise cell: "
                "no code cell before it, since the previous exercise, sets a variable the check reads to None "
                "(`x = None  # your code`)",
                EXIT_FAILED,
            )
        solution = strip_checks(src(cell), src(cells[check]), where)
        exercises.append(Exercise(len(exercises) + 1, exercise, check, index, solution, unanswered))
        boundary = index
    return exercises


# --------------------------------------------------------------------------- the nbgrader source version
def _nbgrader(grade_id: str, *, solution: bool, grade: bool, locked: bool, points: float | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA_VERSION}
    meta["solution"] = solution
    if points is not None:
        meta["points"] = points
    return meta


def source_notebook(nb: dict, lesson: str, points: float = 1) -> tuple[dict, list[Exercise]]:
    """The nbgrader source version of a self-learner lesson, and its exercises (see the module's docstring)."""
    exercises = find_exercises(nb, lesson)
    if not exercises:
        raise ToolError(f"lesson {lesson} has no exercise (no code cell tagged {SOLUTION_TAG!r})", EXIT_FAILED)
    out = copy.deepcopy(nb)
    cells = out["cells"]
    for cell in cells:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    for ex in exercises:
        given = src(cells[ex.exercise_cell]).rstrip("\n")
        cells[ex.exercise_cell]["source"] = f"{given}\n{BEGIN_SOLUTION}\n{ex.solution_code}\n{END_SOLUTION}"
        cells[ex.exercise_cell].setdefault("metadata", {})["nbgrader"] = _nbgrader(
            f"{lesson}-ex{ex.number}-answer", solution=True, grade=False, locked=False
        )
        cells[ex.check_cell].setdefault("metadata", {})["nbgrader"] = _nbgrader(
            f"{lesson}-ex{ex.number}-check", solution=False, grade=True, locked=True, points=points
        )
    setup = next(i for i, cell in enumerate(cells) if cell["cell_type"] == "code")
    if "nbgrader" not in cells[setup].get("metadata", {}):  # the setup cell: locked, so grading uses the lesson's
        cells[setup].setdefault("metadata", {})["nbgrader"] = _nbgrader(
            f"{lesson}-setup", solution=False, grade=False, locked=True
        )
    dropped = {ex.solution_cell for ex in exercises}
    kept = [cell for i, cell in enumerate(cells) if i not in dropped]
    title = 1 if kept and kept[0]["cell_type"] == "markdown" else 0
    note = {"cell_type": "markdown", "metadata": {}, "source": STUDENT_NOTE}
    if "id" in kept[0]:
        note["id"] = f"{lesson}-class-edition"[:64]
    kept.insert(title, note)
    out["cells"] = kept
    return out, exercises


def plain_student_copy(nb: dict) -> dict:
    """A student edition without nbgrader's metadata, for a class that does not use nbgrader (the check cells
    stay protected against editing and deletion)."""
    out = copy.deepcopy(nb)
    for cell in out["cells"]:
        cell.get("metadata", {}).pop("nbgrader", None)
    out.get("metadata", {}).pop("celltoolbar", None)
    return out


# --------------------------------------------------------------------------- nbgrader itself
def require_nbgrader() -> None:
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        raise ToolError(
            'nbgrader is not installed: it comes with the teacher\'s extra, pip install -e ".[teach]" '
            '(or pip install "nbgrader>=0.9"); students do not need it',
            EXIT_FAILED,
        ) from None


def config(course: Path):
    """nbgrader's configuration for the course folder: its nbgrader_config.py, with the folder as root."""
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader(CONFIG_FILE, path=str(course)).load_config()
    cfg.CourseDirectory.root = str(course)
    return cfg


def _generate_assignment(course: Path, assignment: str) -> None:
    """``nbgrader generate_assignment ASSIGNMENT --force`` in the course folder, in this process."""
    require_nbgrader()
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import capture_log

    cfg = config(course)
    coursedir = CourseDirectory(config=cfg)
    coursedir.assignment_id = assignment
    app = GenerateAssignment(coursedir=coursedir, config=cfg)
    app.force = True
    app.create_assignment = True
    result = capture_log(app)
    if not result["success"]:
        log = [line for line in result.get("log", "").splitlines() if line.startswith(("[ERROR]", "[CRITICAL]"))]
        why = log[-1] if log else result.get("error", "").strip().splitlines()[-1]
        raise ToolError(f"nbgrader generate_assignment {assignment} failed: {why}", EXIT_FAILED)


def _write_notebook(path: Path, nb: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def release(out: str | Path, notebooks: str | Path | None = None, only: str | None = None, points: float = 1):
    """Write the nbgrader source versions, the student editions and the plain copies (see the module)."""
    from .runner import discover_lessons, find_notebooks_dir, select_lessons

    if points <= 0:
        raise ToolError(f"--points must be positive, not {points:g}")
    points = int(points) if float(points).is_integer() else float(points)
    folder = find_notebooks_dir(notebooks)  # these raise ToolError for a wrong --notebooks or --only
    lessons = select_lessons(discover_lessons(folder), only)
    if not lessons:
        raise ToolError(f"no lesson notebooks (NN_name.ipynb) in {folder}")
    course = Path(out).expanduser().resolve()
    if course.exists() and not course.is_dir():
        raise ToolError(f"{course} is a file, not a folder")
    prepared = []
    for lesson in lessons:  # convert them all first: a lesson that breaks the pattern stops before anything is written
        nb = json.loads(lesson.path.read_text(encoding="utf-8"))
        prepared.append((lesson, *source_notebook(nb, lesson.name, points)))
    course.mkdir(parents=True, exist_ok=True)
    settings = course / CONFIG_FILE
    if not settings.exists():
        settings.write_text(CONFIG_TEXT, encoding="utf-8")
        say(f"Wrote {settings} (nbgrader's settings for this course folder)")
    else:
        say(f"Kept {settings} as it is")
    written = []
    for lesson, nb, exercises in prepared:
        source = course / "source" / lesson.name / f"{lesson.name}.ipynb"
        _write_notebook(source, nb)
        _generate_assignment(course, lesson.name)
        released = course / "release" / lesson.name / f"{lesson.name}.ipynb"
        if not released.is_file():
            raise ToolError(f"nbgrader generate_assignment wrote no {released}", EXIT_FAILED)
        student = course / "student" / f"{lesson.name}.ipynb"
        _write_notebook(student, plain_student_copy(json.loads(released.read_text(encoding="utf-8"))))
        item = Released(lesson.name, len(exercises), points * len(exercises), source, released, student)
        written.append(item)
        say(
            f"{lesson.name}: {item.exercises} exercises, {item.points:g} points -> "
            f"{source.relative_to(course)}, {released.relative_to(course)}, {student.relative_to(course)}"
        )
    say("")
    say(f"Course folder (nbgrader): {course}")
    say(f"  student editions for nbgrader: {course / 'release'}/<lesson>/")
    say(f"  the same as plain notebooks, to hand out without nbgrader: {course / 'student'}/")
    say(f"  gradebook: {course / 'gradebook.db'}")
    say(
        f"Grade: put each student's notebook at {course / 'submitted'}/<student>/<lesson>/<lesson>.ipynb, then "
        f"cifar-course classroom autograde {course} (each in a sandbox; see docs/teaching.md, section 4); "
        f"cifar-course classroom grades {course}"
    )
    return written


# --------------------------------------------------------------------------- grades
@dataclass
class GradeRow:
    """One student's points in one lesson, exercise by exercise."""

    student: str
    lesson: str
    exercises: dict[str, tuple[float, float]]  # grade_id -> (score, max_score)
    score: float
    max_score: float
    submitted: bool = True
    submission_id: str | None = None  # nbgrader's id of the submission (grading-status.json names it)


def read_grades(out: str | Path) -> tuple[list[GradeRow], dict[str, list[tuple[str, float]]]]:
    """Every student's points per lesson and exercise, from nbgrader's gradebook in the course folder, and each
    lesson's graded cells with their points. Lessons a student did not hand in are rows with submitted=False."""
    require_nbgrader()
    from nbgrader.api import Gradebook, MissingEntry

    course = Path(out).expanduser().resolve()
    db = course / "gradebook.db"
    if not db.is_file():
        raise ToolError(
            f"no nbgrader gradebook in {course} (run: cifar-course classroom release {course})", EXIT_FAILED
        )
    rows: list[GradeRow] = []
    cells: dict[str, list[tuple[str, float]]] = {}
    with Gradebook(f"sqlite:///{db}") as gb:
        assignments = sorted(gb.assignments, key=lambda a: a.name)
        for assignment in assignments:
            graded = []
            for notebook in sorted(assignment.notebooks, key=lambda n: n.name):
                graded += [(cell.name, float(cell.max_score)) for cell in notebook.grade_cells]
            cells[assignment.name] = sorted(graded, key=lambda item: _exercise_order(item[0]))
        for student in sorted(gb.students, key=lambda s: s.id):
            for assignment in assignments:
                top = sum(points for _, points in cells[assignment.name])
                try:
                    submission = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    rows.append(GradeRow(student.id, assignment.name, {}, 0.0, top, submitted=False))
                    continue
                got = {}
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        got[grade.name] = (float(grade.score or 0), float(grade.max_score))
                rows.append(
                    GradeRow(student.id, assignment.name, got, float(submission.score), top, True, submission.id)
                )
    return rows, cells


def read_status(out: str | Path) -> dict:
    """What `classroom autograde` recorded for each submission, STATUS_FILE beside the gradebook: lesson -> student
    -> {"status": "graded" or "not graded: ...", ...}; {} when nothing was graded that way."""
    path = Path(out).expanduser().resolve() / STATUS_FILE
    if not path.is_file():
        return {}
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise ToolError(f"{path} is not valid JSON ({one_line(err)}): remove it and grade again", EXIT_FAILED) from None
    return status if isinstance(status, dict) else {}


def grading_status(rows: list[GradeRow], status: dict) -> str:
    """The status column of a student's handed-in lessons: "graded", or "not graded: 01: <reason>"; a lesson graded
    outside `classroom autograde` (nbgrader autograde), or with --no-sandbox, says so in brackets."""
    problems, notes = [], []
    for row in rows:
        entry = status.get(row.lesson, {}).get(row.student)
        if not isinstance(entry, dict) or entry.get("submission_id") != row.submission_id:
            notes.append(f"{row.lesson[:2]} by nbgrader autograde, unsandboxed")
        elif str(entry.get("status", "")).startswith("not graded"):
            problems.append(f"{row.lesson[:2]}: {entry['status'].removeprefix('not graded: ')}")
        elif entry.get("sandbox") is False:
            notes.append(f"{row.lesson[:2]} without sandbox")
    if problems:
        return "not graded: " + "; ".join(problems)
    return "graded" + (f" ({'; '.join(notes)})" if notes else "")


def _exercise_order(grade_id: str):
    match = re.search(r"-ex(\d+)-", grade_id)
    return (int(match.group(1)) if match else 0, grade_id)


def _short(grade_id: str, lesson: str) -> str:
    """`02_baseline_cnn-ex1-check` as `02 ex1`."""
    match = re.search(r"-ex(\d+)-", grade_id)
    return f"{lesson[:2]} ex{match.group(1)}" if match else grade_id


def grades(out: str | Path, csv_path: str | Path | None = None) -> list[GradeRow]:
    """Print every student's points (one row per student, one column per exercise and lesson) and write them as a
    CSV a spreadsheet opens (its first data row holds the points each column is out of)."""
    rows, cells = read_grades(out)
    lessons = sorted({row.lesson for row in rows if row.submitted})  # the lessons graded so far
    waiting = [lesson for lesson in sorted(cells) if lesson not in lessons]
    header = ["student"]
    top = ["(out of)"]
    for lesson in lessons:
        header += [_short(name, lesson) for name, _ in cells[lesson]] + [f"{lesson[:2]} total"]
        top += [f"{points:g}" for _, points in cells[lesson]] + [f"{sum(p for _, p in cells[lesson]):g}"]
    header += ["total", "out of", "status"]
    everything = sum(points for lesson in lessons for _, points in cells[lesson])
    top += [f"{everything:g}", f"{everything:g}", ""]
    status = read_status(out)
    table = []
    for student in sorted({row.student for row in rows}):
        line, total = [student], 0.0
        for lesson in lessons:
            row = next(r for r in rows if r.student == student and r.lesson == lesson)
            if row.submitted:
                line += [f"{row.exercises.get(name, (0.0, 0.0))[0]:g}" for name, _ in cells[lesson]]
                line += [f"{row.score:g}"]
                total += row.score
            else:  # not handed in
                line += ["-"] * (len(cells[lesson]) + 1)
        handed_in = [r for r in rows if r.student == student and r.lesson in lessons and r.submitted]
        table.append(line + [f"{total:g}", f"{everything:g}", grading_status(handed_in, status)])
    if not table:
        say(f"No student graded yet in {Path(out).expanduser()} (cifar-course classroom autograde fills the gradebook)")
        return rows
    widths = [max(len(r[i]) for r in [header, top, *table]) for i in range(len(header))]
    for line in [header, top, *table]:
        say("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
    if any("-" in line[:-1] for line in table):
        say("(-: not handed in)")
    if waiting:
        say(f"Released, not graded yet: {', '.join(waiting)}")
    if csv_path is not None:
        path = Path(csv_path).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerow(top)
            writer.writerows([[("" if cell == "-" else cell) for cell in line[:-1]] + line[-1:] for line in table])
        n, k = len(table), len(lessons)
        say(f"Grades: {path} ({n} student{'s' * (n != 1)}, {k} lesson{'s' * (k != 1)})")
    return rows
