"""Grading a class safely: ``cifar-course classroom autograde COURSE [--only 01,02] [--no-sandbox]``.

For each submission in nbgrader's layout (COURSE/submitted/<student>/<lesson>/<lesson>.ipynb):

1. **The notebook to run** is built here, from the student's notebook and the course's own copies: every locked cell
   (the setup cell, the check cells) comes from COURSE/release (the metadata) and COURSE/source (the code), a
   deleted one is put back, a duplicate dropped; the student's answer cells and other cells keep their code and lose
   any grading metadata. In each check cell, every ``cc.checks.check_...(...)`` becomes a call that records the
   values the check would read (tools/answers.py); nothing in the student's kernel decides a point.
2. **The run**: a fresh copy of the submission folder runs in its own bubblewrap sandbox (tools/sandbox.py), with
   nbclient inside it, a time limit per cell and per submission, and limits on memory and processes.
3. **The checks**: a second sandbox, with no student code in it, loads the recorded answers safely and runs the
   course's real check functions (``python -I -m cifar_course.tools.answers``).
4. **The records**: the points go into nbgrader's gradebook (``nbgrader.api.Gradebook``), the graded notebook
   (check cells as written, with the checks' verdicts as their output) into COURSE/autograded/<student>/<lesson>/, so
   ``nbgrader generate_feedback``, the formgrader and ``cifar-course classroom grades`` work as after
   ``nbgrader autograde``; whether each submission was graded, or why not, into COURSE/grading-status.json.

``python -I -m cifar_course.tools.grading run NOTEBOOK OUT CELL_S`` is step 2's command inside the sandbox.
"""

from __future__ import annotations

import ast
import copy
import datetime
import json
import os
import shutil
import signal
import stat
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from . import sandbox
from .answers import VERDICTS, trusted_argument
from .classroom import STATUS_FILE, is_check_call, parse, read_status, src
from .common import EXIT_FAILED, EXIT_OK, PROG, ToolError, one_line, say

MAX_NOTEBOOK = 64 << 20  # bytes: a larger submitted or executed notebook is not read
MAX_SUBMISSION = 1 << 30  # bytes: a larger submission folder is not copied
NOT_COPIED = (".ipynb_checkpoints", "__pycache__", "feedback", "runs")
MEMORY_ERRORS = ("MemoryError", "_ArrayMemoryError", "ResourceExhaustedError", "OutOfMemoryError")
NO_SANDBOX_WARNING = (
    "--no-sandbox: the students' code runs with YOUR rights, outside any sandbox: it can read and change your "
    "files, the course folder and the gradebook, and reach the network. Use it only on submissions you wrote "
    "yourself."
)


# =========================================================================== the notebook to run
@dataclass
class Graded:
    """The notebook a submission is graded with, and what its check cells ask."""

    run: dict  # the notebook executed in the sandbox (check calls record the answers)
    shown: dict  # the same cells as the student sees them (check cells as written), for autograded/
    checks: dict[str, list[dict]]  # grade_id -> the check calls of that cell, in order (tools/answers.py's plan)
    check_cells: dict[str, int]  # grade_id -> cell index
    points: dict[str, float]  # grade_id -> points


def _meta(cell) -> dict:
    meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    nbgrader = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return nbgrader if isinstance(nbgrader, dict) else {}


def _grade_id(cell) -> str | None:
    grade_id = _meta(cell).get("grade_id")
    return grade_id if isinstance(grade_id, str) else None


def plan_check_cell(source: str, grade_id: str, where: str) -> tuple[str, list[dict]]:
    """A check cell's code with each ``cc.checks.check_...(...)`` replaced by ``answers.record(...)`` of the
    arguments only the kernel can compute, and the calls for the checker: function, and per argument either the
    recorded value's position or how the checker computes it itself (a constant, a ``profile.pick`` threshold)."""
    tree = parse(source, where)
    calls: list[dict] = []

    class Recorder(ast.NodeTransformer):
        def visit_Expr(self, node):  # noqa: N802 (ast's naming)
            if not is_check_call(node):
                return node
            call = node.value
            if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
                raise ToolError(f"{where}: a check call with *args or **kwargs cannot be graded", EXIT_FAILED)
            recorded: list[ast.expr] = []

            def plan(argument: ast.expr) -> dict:
                trusted = trusted_argument(argument)
                if trusted is not None:
                    return trusted
                recorded.append(argument)
                return {"answer": len(recorded) - 1}

            entry = {
                "grade_id": grade_id,
                "call": len(calls),
                "function": call.func.attr,
                "args": [plan(a) for a in call.args],
                "kwargs": {k.arg: plan(k.value) for k in call.keywords},
            }
            calls.append(entry)
            record = ast.Attribute(
                ast.Call(
                    ast.Name("__import__", ast.Load()),
                    [ast.Constant("cifar_course.tools.answers")],
                    [ast.keyword("fromlist", ast.List([ast.Constant("record")], ast.Load()))],
                ),
                "record",
                ast.Load(),
            )
            new = ast.Expr(ast.Call(record, [ast.Constant(grade_id), ast.Constant(entry["call"]), *recorded], []))
            return ast.copy_location(new, node)

    tree = ast.fix_missing_locations(Recorder().visit(tree))
    if not calls:
        raise ToolError(f"{where} calls no cc.checks.check_...: nothing to grade it with", EXIT_FAILED)
    return ast.unparse(tree), calls


def _cell(kind: str, source: str, metadata: dict | None = None) -> dict:
    import nbformat

    make = {
        "code": nbformat.v4.new_code_cell,
        "markdown": nbformat.v4.new_markdown_cell,
        "raw": nbformat.v4.new_raw_cell,
    }[kind if kind in ("code", "markdown", "raw") else "raw"]
    return make(source=source, metadata=copy.deepcopy(metadata or {}))


def graded_notebook(release: dict, source: dict, student: dict, lesson: str) -> Graded:
    """The notebook to grade a submission with (see the module, step 1): the student's cells in the student's order,
    every locked cell of the course's own copy, check calls turned into recordings."""
    import nbformat

    known = {gid: cell for cell in release["cells"] if (gid := _grade_id(cell))}
    order = [gid for cell in release["cells"] if (gid := _grade_id(cell))]
    source_code = {gid: src(cell) for cell in source["cells"] if (gid := _grade_id(cell))}
    answers = {gid for gid, cell in known.items() if _meta(cell).get("solution") and not _meta(cell).get("grade")}
    entries: list[tuple[str, object]] = []  # ("course", grade_id), ("answer", (grade_id, code)), ("own", cell)
    seen: set[str] = set()
    for cell in student.get("cells", []):
        if not isinstance(cell, dict):
            continue
        gid = _grade_id(cell)
        if gid in known and gid not in seen:
            seen.add(gid)
            entries.append(("answer", (gid, src(cell))) if gid in answers else ("course", gid))
        elif gid in known and gid not in answers:
            continue  # a copy of a locked cell
        else:
            entries.append(("own", cell))
    for position, gid in enumerate(order):  # cells the student deleted go back after the one before them
        if gid in seen:
            continue
        before = set(order[:position])
        present = [i + 1 for i, (kind, what) in enumerate(entries) if _entry_id(kind, what) in before]
        at = max(present, default=0)
        entries.insert(at, ("answer", (gid, src(known[gid]))) if gid in answers else ("course", gid))
        seen.add(gid)

    run_cells, shown_cells, checks, check_cells, points = [], [], {}, {}, {}
    for kind, what in entries:
        if kind == "own":
            cell = _cell(what.get("cell_type", "raw"), src(what))
            run_cells.append(cell)
            shown_cells.append(copy.deepcopy(cell))
        elif kind == "answer":
            gid, code = what
            cell = _cell("code", code, known[gid].get("metadata"))
            run_cells.append(cell)
            shown_cells.append(copy.deepcopy(cell))
        else:
            gid = what
            master = known[gid]
            code = source_code.get(gid, src(master))
            shown = _cell(master.get("cell_type", "code"), code, master.get("metadata"))
            run = copy.deepcopy(shown)
            if _meta(master).get("grade") and master.get("cell_type") == "code":
                where = f"lesson {lesson}: check cell {gid}"
                run["source"], checks[gid] = plan_check_cell(code, gid, where)
                check_cells[gid] = len(run_cells)
                points[gid] = float(_meta(master).get("points", 0))
            run_cells.append(run)
            shown_cells.append(shown)
    base = nbformat.v4.new_notebook(metadata=copy.deepcopy(release.get("metadata", {})))
    run_nb, shown_nb = copy.deepcopy(base), copy.deepcopy(base)
    run_nb["cells"], shown_nb["cells"] = run_cells, shown_cells
    return Graded(run_nb, shown_nb, checks, check_cells, points)


def _entry_id(kind: str, what) -> str | None:
    return what if kind == "course" else what[0] if kind == "answer" else None


# =========================================================================== inside the sandbox: the run
def run_notebook(path: Path, out: Path, cell_s: int) -> None:
    """Execute a notebook cell by cell with nbclient (errors do not stop it), saving it after each cell to
    out/executed.ipynb and how it ended to out/run.json: done, a cell over its time limit, or the kernel died."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=cell_s,
        startup_timeout=min(cell_s, 300),
        kernel_name="python3",
        allow_errors=True,
        interrupt_on_timeout=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    ended: dict = {"status": "done"}
    index = -1

    def save():
        nbformat.write(nb, out / "executed.ipynb")
        (out / "run.json").write_text(json.dumps(ended), encoding="utf-8")

    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                ended = {"status": "running", "cell": index}
                save()
                try:
                    client.execute_cell(cell, index)
                except DeadKernelError:
                    process = getattr(getattr(client.km, "provisioner", None), "process", None)
                    code = process.poll() if process is not None else None
                    ended = {"status": "kernel died", "cell": index, "returncode": code}
                    raise
            ended = {"status": "done"}
    except CellTimeoutError:
        ended = {"status": "cell time limit", "cell": index}
    except DeadKernelError:
        ended.setdefault("status", "kernel died")
    except RuntimeError as err:  # the kernel did not start
        ended = {"status": "kernel did not start", "cell": index, "message": one_line(err)}
    finally:
        save()


# =========================================================================== the trusted side
@dataclass
class Outcome:
    """How one submission was graded."""

    lesson: str
    student: str
    graded: bool
    reason: str | None
    scores: dict[str, float] = field(default_factory=dict)  # grade_id -> points earned
    max_score: float = 0.0
    seconds: float = 0.0
    sandboxed: bool = True

    @property
    def score(self) -> float:
        return sum(self.scores.values())

    @property
    def status(self) -> str:
        return "graded" if self.graded else f"not graded: {self.reason}"


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def read_inside(root: Path, parts: list[str], limit: int = MAX_NOTEBOOK) -> bytes | None:
    """The bytes of root/part/part... as a sandbox left them, following no link on the way; None when missing,
    not a regular file or over ``limit`` bytes. ``root`` is the grader's own folder."""
    fds = []
    try:
        fds.append(os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW))
        for part in parts[:-1]:
            fds.append(os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fds[-1]))
        fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fds[-1])
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
                return None
            return handle.read(limit + 1)[:limit]
    except OSError:
        return None
    finally:
        for fd in fds:
            os.close(fd)


def _cell_line(nb: dict, index) -> str:
    if not isinstance(index, int) or not 0 <= index < len(nb["cells"]):
        return ""
    return f" [{index}] `{one_line(src(nb['cells'][index]), 50) or '(empty)'}`"


def _first_error(nb: dict, names: tuple[str, ...] = (), text: tuple[str, ...] = ()) -> int | None:
    """The index of the first cell with an error output named one of ``names`` or saying one of ``text``."""
    cells = nb.get("cells")
    for index, cell in enumerate(cells if isinstance(cells, list) else []):
        outputs = cell.get("outputs") if isinstance(cell, dict) else None
        for output in outputs if isinstance(outputs, list) else []:
            if not isinstance(output, dict) or output.get("output_type") != "error":
                continue
            ename, evalue = str(output.get("ename", "")), str(output.get("evalue", ""))
            if ename in names or any(t in evalue for t in text):
                return index
    return None


def why_not_graded(
    finished: sandbox.Finished, ended: dict | None, executed: dict | None, shown: dict, limits: sandbox.Limits, log: str
) -> str | None:
    """Why the run of a submission does not count as graded (one line), or None when it ran to its end."""
    at = _cell_line(shown, (ended or {}).get("cell"))
    memory = f"the memory limit ({limits.memory_gb:g} GB of address space per process)"
    if finished.timed_out:
        return f"ran past the time limit of {limits.submission_s} s per submission (at cell{at or ' ?'})"
    if ended is None:
        said = one_line(log.strip().splitlines()[-1]) if log.strip() else f"exit status {finished.returncode}"
        return f"the grading sandbox stopped before the notebook ran ({said})"
    status = ended.get("status")
    if status == "cell time limit":
        return f"cell{at} ran past the time limit of {limits.cell_s} s per cell"
    if status in ("kernel died", "running"):
        code = ended.get("returncode")
        if any(word in log for word in ("bad_alloc", "MemoryError", "Cannot allocate memory", "std::length_error")):
            return f"{memory} was reached at cell{at}, and the {'kernel' if status != 'running' else 'run'} died"
        if status == "running":
            return f"the grading run stopped at cell{at} (exit status {finished.returncode})"
        return f"the kernel died at cell{at}{_killed_by(code)}"
    if status == "kernel did not start":
        return f"the kernel did not start ({ended.get('message', '')})"
    if status != "done" or executed is None:
        return f"the run ended without its notebook (status {status!r})"
    index = _first_error(executed, MEMORY_ERRORS, ("bad_alloc", "Cannot allocate memory"))
    if index is not None:
        return f"{memory} was reached at cell{_cell_line(shown, index)}"
    index = _first_error(executed, ("BlockingIOError",), ("Resource temporarily unavailable", "can't start new thread"))
    if index is not None:
        processes = f"the process limit ({limits.processes} processes and threads)"
        return f"{processes} was reached at cell{_cell_line(shown, index)}"
    return None


def _killed_by(returncode) -> str:
    """' (killed by SIGKILL)' for a process a signal ended, else ''."""
    try:
        return f" (killed by {signal.Signals(-returncode).name})" if returncode < 0 else ""
    except (TypeError, ValueError):
        return ""


def _copy_submission(folder: Path, work: Path) -> None:
    """A fresh copy of the student's folder (links copied as links, never followed); ToolError when it is too big
    or holds something that is not a file, a folder or a link."""
    total = 0
    for parent, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in NOT_COPIED]
        for name in files:
            info = os.lstat(Path(parent) / name)
            if not (stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)):
                raise ToolError(f"the submission folder holds {name}, which is not a file", EXIT_FAILED)
            total += info.st_size
    if total > MAX_SUBMISSION:
        raise ToolError(f"the submission folder holds {total / 2**30:.1f} GB, over the 1 GB allowed", EXIT_FAILED)
    shutil.copytree(folder, work, symlinks=True, ignore=shutil.ignore_patterns(*NOT_COPIED), dirs_exist_ok=True)


def _kernel_env(profile: str, data: Path | None, keras: dict[str, Path], sandboxed: bool, box: Path) -> dict:
    """The environment of the sandboxed run (paths as the sandbox sees them)."""
    inside = Path("/grading") if sandboxed else box
    env = sandbox.base_env()
    env.update(
        HOME=str(inside / "home"),
        COURSE_PROFILE=profile,
        CIFAR_COURSE_OFFLINE="1",
        CIFAR_COURSE_RUNS=str(inside / "work" / "runs"),
        CIFAR_COURSE_CACHE=str(inside / "home" / ".cache" / "cifar-course"),
        CIFAR_COURSE_ANSWERS=str(inside / "answers"),
        NBGRADER_EXECUTION="autograde",
        MPLBACKEND="Agg",
        TF_CPP_MIN_LOG_LEVEL="2",
        KERAS_HOME=str(inside / "home" / ".keras"),
    )
    if not sandboxed:
        env["TMPDIR"] = str(box / "tmp")
    if data is not None:
        env["CIFAR_COURSE_DATA"] = "/data" if sandboxed else str(data)
    if keras:
        env["KERAS_HOME"] = "/keras" if sandboxed else str(next(iter(keras.values())).parent)
    weights = os.environ.get("CIFAR_COURSE_VGG16_WEIGHTS")
    if weights and Path(weights).is_file():
        env["CIFAR_COURSE_VGG16_WEIGHTS"] = "/vgg16_weights.h5" if sandboxed else weights
    if os.environ.get("CIFAR_COURSE_SEED"):
        env["CIFAR_COURSE_SEED"] = os.environ["CIFAR_COURSE_SEED"]
    return env


@dataclass
class Setup:
    """What every submission of a grading run shares."""

    course: Path
    profile: str
    limits: sandbox.Limits
    sandboxed: bool
    data: Path | None
    keras: dict[str, Path]  # "datasets"/"models" -> the teacher's Keras folders, read-only in the sandbox
    scratch: Path


def _ro_binds(setup: Setup) -> list[tuple[str, Path, str]]:
    binds = []
    if setup.data is not None:
        binds.append(("ro", setup.data, "/data"))
    for name, path in setup.keras.items():
        binds.append(("ro", path, f"/keras/{name}"))
    weights = os.environ.get("CIFAR_COURSE_VGG16_WEIGHTS")
    if weights and Path(weights).is_file():
        binds.append(("ro", Path(weights).resolve(), "/vgg16_weights.h5"))
    return binds


def _run_in_sandbox(setup: Setup, tmp: Path, lesson: str) -> tuple[sandbox.Finished, str]:
    box = tmp / "box"
    argv = [sys.executable, "-I", "-m", "cifar_course.tools.grading", "run"]
    cell_s = str(setup.limits.cell_s)
    env = _kernel_env(setup.profile, setup.data, setup.keras, setup.sandboxed, box)
    if setup.sandboxed:
        sandbox.hand_over(box)
        argv += [f"/grading/work/{lesson}.ipynb", "/grading/out", cell_s]
        binds = [("rw", box, "/grading"), *_ro_binds(setup)]
        argv = sandbox.command(argv, limits=setup.limits, etc=tmp / "etc", binds=binds, chdir="/grading/work")
    else:
        (box / "tmp").mkdir(exist_ok=True)
        argv = sandbox.unsandboxed(
            [*argv, str(box / "work" / f"{lesson}.ipynb"), str(box / "out"), cell_s], setup.limits
        )
    log = tmp / "run.log"
    finished = sandbox.run(argv, env=env, timeout_s=setup.limits.submission_s, log=log)
    return finished, log.read_bytes()[-20_000:].decode("utf-8", "replace")


def _check_answers(setup: Setup, tmp: Path, graded: Graded) -> tuple[dict | None, str | None]:
    """The verdicts of the trusted checks on the recorded answers (second sandbox), or None and why not."""
    answers = tmp / "box" / "answers"
    if answers.is_symlink() or not answers.is_dir():
        return {}, None  # the student removed the folder: no answer recorded
    plan = {"profile": setup.profile, "cells": graded.checks}
    (tmp / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    argv = [sys.executable, "-I", "-m", "cifar_course.tools.answers"]
    env = sandbox.base_env()
    env.update(HOME="/tmp", MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="2", KERAS_HOME="/tmp/.keras")
    if setup.sandboxed:
        binds = [("ro", tmp / "plan.json", "/plan.json"), ("ro", answers, "/answers")]
        argv = sandbox.command([*argv, "/plan.json", "/answers"], limits=setup.limits, etc=tmp / "etc", binds=binds)
    else:
        env.update(HOME=str(tmp), TMPDIR=str(tmp), KERAS_HOME=str(tmp / ".keras"))
        argv = sandbox.unsandboxed([*argv, str(tmp / "plan.json"), str(answers)], setup.limits)
    log = tmp / "check.log"
    finished = sandbox.run(argv, env=env, timeout_s=setup.limits.checker_s, log=log)
    text = log.read_bytes().decode("utf-8", "replace")
    lines = [line for line in text.splitlines() if line.startswith(VERDICTS)]
    if finished.timed_out:
        return None, f"checking the answers ran past {setup.limits.checker_s} s"
    if finished.returncode != 0 or not lines:
        said = one_line(text.strip().splitlines()[-1]) if text.strip() else f"exit status {finished.returncode}"
        return None, f"the answers could not be checked ({said})"
    return json.loads(lines[-1][len(VERDICTS) :]), None


def _verdict_outputs(verdict: dict | None) -> list[dict]:
    """A check's verdict as the outputs of its cell: what the check printed, and its failure as an error."""
    import nbformat

    verdict = verdict or {"printed": "", "error": {"ename": "NotChecked", "evalue": "not checked"}}
    outputs = []
    if verdict.get("printed"):
        outputs.append(nbformat.v4.new_output("stream", name="stdout", text=str(verdict["printed"])))
    if verdict.get("error"):
        ename, evalue = str(verdict["error"]["ename"]), str(verdict["error"]["evalue"])
        outputs.append(nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]))
    return outputs


def _autograded_notebook(graded: Graded, executed: dict | None, verdicts: dict) -> dict:
    """The notebook for autograded/: the cells as the student sees them, the run's outputs, and in each check cell
    the trusted check's verdict as its output (after the cell's own error, when it raised before its check)."""
    import nbformat

    nb = copy.deepcopy(graded.shown)
    ran = executed.get("cells") if isinstance(executed, dict) else None
    ran = ran if isinstance(ran, list) and len(ran) == len(nb["cells"]) else [{}] * len(nb["cells"])
    for cell, done in zip(nb["cells"], ran):
        if cell["cell_type"] != "code":
            continue
        done = done if isinstance(done, dict) else {}
        outputs = done.get("outputs") if isinstance(done.get("outputs"), list) else []
        kinds = ("stream", "display_data", "execute_result", "error")
        cell["outputs"] = [o for o in outputs if isinstance(o, dict) and o.get("output_type") in kinds]
        count = done.get("execution_count")
        cell["execution_count"] = count if isinstance(count, int) else None
    checks = {index: gid for gid, index in graded.check_cells.items()}
    for index, gid in checks.items():
        cell = nb["cells"][index]
        verdict = verdicts.get(gid)
        raised = [o for o in cell["outputs"] if o.get("output_type") == "error"]  # e.g. a NameError before the check
        cell["outputs"] = raised if raised and not (verdict or {}).get("passed") else _verdict_outputs(verdict)
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError:  # an output the run left malformed: keep only the verdicts
        for index, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "code":
                cell["outputs"] = _verdict_outputs(verdicts.get(checks[index])) if index in checks else []
    return nb


def grade_submission(
    setup: Setup, lesson: str, student: str, release: dict, source: dict
) -> tuple[Outcome, dict | None]:
    """Grade one submission (see the module): its outcome, and the notebook for autograded/ (None when there is no
    notebook to show)."""
    import nbformat

    start = time.perf_counter()
    folder = setup.course / "submitted" / student / lesson
    outcome = Outcome(lesson, student, False, None, sandboxed=setup.sandboxed)
    top = {
        gid: float(_meta(c).get("points", 0))
        for c in release["cells"]
        if (gid := _grade_id(c)) and _meta(c).get("grade")
    }
    outcome.max_score = sum(top.values())
    outcome.scores = {gid: 0.0 for gid in top}
    path = folder / f"{lesson}.ipynb"
    if not path.is_file() or path.is_symlink():
        found = sorted(p.name for p in folder.glob("*.ipynb"))
        also = f" (it holds: {', '.join(found)}; rename the lesson's notebook)" if found else ""
        outcome.reason = f"no {lesson}.ipynb in submitted/{student}/{lesson}/{also}"
        return outcome, None
    raw = read_inside(folder, [path.name], MAX_NOTEBOOK)
    try:
        if raw is None:
            raise ValueError(f"over {MAX_NOTEBOOK >> 20} MB or not a regular file")
        student_nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        nbformat.validate(student_nb)
    except Exception as err:  # noqa: BLE001 - whatever makes it unreadable is the reason
        outcome.reason = f"{lesson}.ipynb cannot be read as a notebook ({type(err).__name__}: {one_line(err, 120)})"
        return outcome, None
    graded = graded_notebook(release, source, student_nb, lesson)
    tmp = Path(tempfile.mkdtemp(prefix=f"grade-{student}-", dir=setup.scratch))
    try:
        sandbox.write_etc(tmp / "etc")
        box = tmp / "box"
        for name in ("work", "out", "answers", "home"):
            (box / name).mkdir(parents=True, exist_ok=True)
        try:
            _copy_submission(folder, box / "work")
        except (ToolError, OSError) as err:
            outcome.reason = f"the submission folder cannot be copied: {one_line(err)}"
            return outcome, None
        target = box / "work" / f"{lesson}.ipynb"
        target.unlink(missing_ok=True)
        nbformat.write(nbformat.from_dict(graded.run), target)
        finished, log = _run_in_sandbox(setup, tmp, lesson)
        ended_raw = read_inside(box, ["out", "run.json"], 1 << 16)
        executed_raw = read_inside(box, ["out", "executed.ipynb"])
        ended = _loads(ended_raw)
        executed = _loads(executed_raw)
        outcome.reason = why_not_graded(finished, ended, executed, graded.shown, setup.limits, log)
        verdicts, trouble = _check_answers(setup, tmp, graded)
        if verdicts is None:
            outcome.reason = outcome.reason or trouble
            verdicts = {}
        for gid, verdict in verdicts.items():
            if gid in outcome.scores and isinstance(verdict, dict) and verdict.get("passed") is True:
                outcome.scores[gid] = top[gid]
        outcome.graded = outcome.reason is None
        return outcome, _autograded_notebook(graded, executed, verdicts)
    finally:
        outcome.seconds = time.perf_counter() - start
        _remove(tmp)


def _loads(raw: bytes | None):
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _remove(folder: Path) -> None:
    """Remove a grading folder, whatever permissions the sandbox left in it."""

    def writable(function, path, _):
        os.chmod(Path(path).parent, stat.S_IRWXU)
        if not Path(path).is_symlink() and Path(path).is_dir():
            os.chmod(path, stat.S_IRWXU)
        function(path)

    shutil.rmtree(folder, onerror=writable)


# =========================================================================== the gradebook and the status file
def record(course: Path, outcome: Outcome, autograded: dict | None) -> None:
    """Write the points into nbgrader's gradebook (as its autograde does: a manual score a grader gave stays, and
    then the cell is marked for review), the notebook into autograded/, and the status into grading-status.json."""
    import nbformat
    from nbgrader.api import Gradebook
    from nbgrader.coursedir import CourseDirectory
    from sqlalchemy.exc import SAWarning

    from .classroom import config

    cfg = config(course)
    coursedir = CourseDirectory(config=cfg)
    submitted = course / "submitted" / outcome.student / outcome.lesson
    timestamp = coursedir.get_existing_timestamp(str(submitted))
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb, warnings.catch_warnings():
        # nbgrader 0.9's add_submission makes SQLAlchemy warn ("not in session") on every new submission, as it
        # does under nbgrader autograde; the submission is stored all the same (the tests read it back)
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_student(outcome.student)
        kwargs = {"timestamp": timestamp} if timestamp else {}
        submission = gb.update_or_create_submission(outcome.lesson, outcome.student, **kwargs)
        submission_id = submission.id
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = outcome.scores.get(grade.name, 0.0)
                grade.needs_manual_grade = grade.manual_score is not None
        gb.db.commit()
    folder = course / "autograded" / outcome.student / outcome.lesson
    if folder.exists():
        shutil.rmtree(folder)
    if autograded is not None:  # no notebook to show: no folder, as after nbgrader autograde
        folder.mkdir(parents=True)
        nbformat.write(nbformat.from_dict(autograded), folder / f"{outcome.lesson}.ipynb")
        if (submitted / "timestamp.txt").is_file() and not (submitted / "timestamp.txt").is_symlink():
            shutil.copyfile(submitted / "timestamp.txt", folder / "timestamp.txt")
    status = read_status(course)
    status.setdefault(outcome.lesson, {})[outcome.student] = {
        "status": outcome.status,
        "score": outcome.score,
        "max_score": outcome.max_score,
        "seconds": round(outcome.seconds, 1),
        "sandbox": outcome.sandboxed,
        "graded_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "submission_id": submission_id,
    }
    path = course / STATUS_FILE
    temporary = path.with_name(f".{STATUS_FILE}.{os.getpid()}")
    temporary.write_text(json.dumps(status, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, path)


# =========================================================================== the command
def autograde(
    course: str | Path,
    only: str | None = None,
    *,
    sandboxed: bool = True,
    profile: str | None = None,
    students: str | None = None,
    cell_s: int | None = None,
    submission_s: int | None = None,
    memory_gb: float | None = None,
) -> list[Outcome]:
    """Grade every submission of the course folder (see the module); print one line per submission and the ones
    that could not be graded."""
    from dataclasses import replace

    from ..folders import data_folder, keras_home
    from ..profiles import PROFILES
    from .classroom import require_nbgrader
    from .runner import LESSON_RE, Lesson, select_lessons

    require_nbgrader()
    course = Path(course).expanduser().resolve()
    if not (course / "gradebook.db").is_file() or not (course / "source").is_dir():
        raise ToolError(
            f"{course} is not a course folder (no gradebook.db and source/): see cifar-course classroom release"
        )
    profile = profile or os.environ.get("COURSE_PROFILE") or "smoke"
    if profile not in PROFILES:
        raise ToolError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    limits = sandbox.LIMITS[profile]
    overrides = {"cell_s": cell_s, "submission_s": submission_s, "memory_gb": memory_gb}
    limits = replace(limits, **{k: v for k, v in overrides.items() if v is not None})
    if sandboxed:
        sandbox.require()
    else:
        print(f"{PROG}: warning: {NO_SANDBOX_WARNING}", file=sys.stderr, flush=True)
    released = [
        Lesson(d.name[:2], d.name, d / f"{d.name}.ipynb")
        for d in sorted((course / "source").iterdir())
        if d.is_dir() and LESSON_RE.match(f"{d.name}.ipynb")
    ]
    lessons = select_lessons(released, only)
    try:
        data, _ = data_folder()
    except ValueError as err:
        raise ToolError(one_line(err)) from None
    keras = {name: keras_home() / name for name in ("datasets", "models") if (keras_home() / name).is_dir()}
    wanted = {s.strip() for s in students.split(",")} if students else None
    scratch = Path(tempfile.mkdtemp(prefix="cifar-course-grading-"))
    setup = Setup(course, profile, limits, sandboxed, data, keras, scratch)
    say(
        f"Grading in profile {profile}, {'each submission in its own sandbox' if sandboxed else 'WITHOUT a sandbox'}; "
        f"limits: {limits.cell_s} s per cell, {limits.submission_s} s per submission, {limits.memory_gb:g} GB of "
        f"address space per process, {limits.processes} processes; "
        f"data: {data or 'none (synthetic stand-ins in smoke)'}"
    )
    outcomes: list[Outcome] = []
    try:
        for lesson in lessons:
            release_path = course / "release" / lesson.name / f"{lesson.name}.ipynb"
            source_path = course / "source" / lesson.name / f"{lesson.name}.ipynb"
            if not release_path.is_file():
                raise ToolError(f"no {release_path}: run cifar-course classroom release {course} first", EXIT_FAILED)
            release, source = _read_json(release_path), _read_json(source_path)
            folder = course / "submitted"
            students_here = (
                sorted(p.parent.name for p in folder.glob(f"*/{lesson.name}") if p.is_dir() and not p.is_symlink())
                if folder.is_dir()
                else []
            )
            if wanted is not None:
                students_here = [s for s in students_here if s in wanted]
            for student in students_here:
                try:
                    outcome, autograded = grade_submission(setup, lesson.name, student, release, source)
                except Exception as err:  # noqa: BLE001 - recorded and listed as not graded; the others go on
                    outcome, autograded = Outcome(lesson.name, student, False, None, sandboxed=sandboxed), None
                    outcome.reason = f"the grader failed on it ({type(err).__name__}: {one_line(err, 200)})"
                record(course, outcome, autograded)
                outcomes.append(outcome)
                note = "" if outcome.graded else f", {outcome.status}"
                say(f"{lesson.name} {student}: {outcome.score:g}/{outcome.max_score:g} ({outcome.seconds:.0f} s){note}")
    finally:
        _remove(scratch)
    failed = [o for o in outcomes if not o.graded]
    say(
        f"Graded {len(outcomes) - len(failed)} of {len(outcomes)} submission(s); points in {course / 'gradebook.db'}, "
        f"graded notebooks in {course / 'autograded'}/, status in {course / STATUS_FILE}"
    )
    if failed:
        say("Not graded (the points shown count only the exercises checked before it stopped):")
        for o in failed:
            say(f"  {o.lesson} {o.student}: {o.reason}")
    if not sandboxed:
        print(f"{PROG}: warning: {NO_SANDBOX_WARNING}", file=sys.stderr, flush=True)
    return outcomes


def exit_status(outcomes: list[Outcome]) -> int:
    """0 when every submission was graded, 1 otherwise."""
    return EXIT_OK if all(o.graded for o in outcomes) else EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    """``python -I -m cifar_course.tools.grading run NOTEBOOK OUT CELL_S`` (inside the sandbox)."""
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 4 or args[0] != "run":
        print("usage: python -I -m cifar_course.tools.grading run NOTEBOOK OUT CELL_S", file=sys.stderr)
        return 2
    # jsonschema (through nbformat) imports rfc3987_syntax when it is installed, which builds a grammar for 5 s;
    # nbformat's schema checks no IRI, so every submission skips it (jsonschema goes on without it)
    sys.modules.setdefault("rfc3987_syntax", None)
    run_notebook(Path(args[1]), Path(args[2]), int(args[3]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
