"""Running the lesson notebooks headless with nbclient: the engine behind ``cifar-course run``.

Each lesson ``notebooks/NN_name.ipynb`` runs in a fresh kernel of this Python environment, with
COURSE_PROFILE (and CIFAR_COURSE_DATA) set for it. The executed copies, a results table
(results.md) and its data (results.json) go to a new folder runs/course-<profile>-<timestamp>/.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..data import DataNotFoundError
from ..folders import MissingHere, runs_dir
from ..profiles import PROFILES
from ..runs import NUMBERING, RunRecord
from ..runtime import machine, start_tensorflow, versions
from .common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_NOT_RUN, EXIT_OK, ToolError, one_line

LESSON_RE = re.compile(r"^(\d{2})_[\w.-]+\.ipynb$")
# the lines cc.print_accuracy writes, e.g. "Test accuracy: 0.6791"
ACCURACY_RE = re.compile(
    r"^(Test|Validation|Val|Train|Training) accuracy: ([0-9]*\.?[0-9]+)\s*$", re.MULTILINE | re.IGNORECASE
)
# the errors (by name, as the kernel reports them) that mean "something this lesson needs is missing here", not "the
# lesson is broken": MissingHere and its kinds. Any other error, a ValueError for a wrong argument included, fails
NOT_RUN_ERRORS = {cls.__name__ for cls in (MissingHere, DataNotFoundError)}
CURRENT_ENV_KERNEL = ":cifar-course-current-env"

_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(frozen=True)
class Lesson:
    """One lesson notebook: its number ("02"), file name stem and path."""

    number: str
    name: str
    path: Path


@dataclass
class LessonResult:
    """What running one lesson gave."""

    lesson: str
    notebook: str
    status: str = "pending"  # ok | failed | not run | interrupted
    seconds: float = 0.0
    accuracies: list[dict] = field(default_factory=list)  # {"split": "Test", "value": 0.5, "line": ...}
    reason: str = ""  # why it failed or did not run
    error: dict | None = None  # {"cell": 5, "ename": ..., "evalue": ..., "source": first line}
    executed: str = ""  # path of the executed copy
    saved_runs: list[dict] = field(default_factory=list)  # metrics.json of model runs saved meanwhile


@dataclass
class CourseRun:
    """A whole `cifar-course run`: its folder, settings and per-lesson results."""

    folder: Path
    profile: str
    command: str
    data: str
    results: list[LessonResult] = field(default_factory=list)
    started: str = ""
    finished: str = ""

    @property
    def exit_status(self) -> int:
        statuses = {r.status for r in self.results}
        if "interrupted" in statuses:
            return EXIT_INTERRUPTED
        if "failed" in statuses:
            return EXIT_FAILED
        if "not run" in statuses:
            return EXIT_NOT_RUN
        return EXIT_OK


# --------------------------------------------------------------------------- finding lessons
def find_notebooks_dir(given: str | Path | None = None) -> Path:
    """The lessons folder: the argument, else ./notebooks, else notebooks/ beside the package."""
    if given is not None:
        folder = Path(given).expanduser()
        if not folder.is_dir():
            raise ToolError(f"--notebooks {folder} is not a folder.")
        return folder
    for candidate in (Path.cwd() / "notebooks", Path.cwd(), Path(__file__).resolve().parents[2] / "notebooks"):
        if candidate.is_dir() and any(LESSON_RE.match(p.name) for p in candidate.iterdir()):
            return candidate
    raise ToolError(
        "No lesson notebooks (NN_name.ipynb) found in ./notebooks: run this from the course folder "
        "or pass --notebooks DIR."
    )


def discover_lessons(folder: Path) -> list[Lesson]:
    """Every ``NN_name.ipynb`` in ``folder``, in lesson order."""
    lessons = [
        Lesson(m.group(1), p.stem, p)
        for p in sorted(Path(folder).iterdir())
        if p.is_file() and (m := LESSON_RE.match(p.name))
    ]
    numbers = [lesson.number for lesson in lessons]
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    if duplicates:
        raise ToolError(f"{folder} has more than one notebook for lesson(s) {', '.join(duplicates)}.")
    return lessons


def select_lessons(lessons: list[Lesson], only: str | None) -> list[Lesson]:
    """Keep the lessons named in ``only`` ("02,05", "2 5" or "02-04"), in course order."""
    if not only:
        return list(lessons)
    available = {lesson.number: lesson for lesson in lessons}
    wanted: set[str] = set()
    for token in re.split(r"[,\s]+", only.strip()):
        if not token:
            continue
        bounds = token.split("-")
        if not all(b.isdigit() and len(b) <= 2 for b in bounds) or len(bounds) > 2:
            raise ToolError(f"--only {only!r}: {token!r} is not a lesson number (use e.g. --only 02,05 or 02-04).")
        lo, hi = int(bounds[0]), int(bounds[-1])
        for n in range(lo, hi + 1):
            key = f"{n:02d}"
            if key not in available:
                have = ", ".join(available) or "none"
                raise ToolError(f"Unknown lesson {key}: this course has lessons {have}.")
            wanted.add(key)
    return [lesson for lesson in lessons if lesson.number in wanted]


def new_course_folder(base: Path, profile: str) -> Path:
    """A fresh folder base/course-<profile>-<timestamp>/ (never an existing one)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path, n = base / f"course-{profile}-{stamp}", 1
    while True:
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            n += 1
            path = base / f"course-{profile}-{stamp}-{n}"


# --------------------------------------------------------------------------- reading outputs
def _stream_text(nb) -> str:
    return "\n".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream" and out.get("name") == "stdout"
    )


def parse_accuracies(text: str) -> list[dict]:
    """The ``Test accuracy: 0.6791``-style lines in a notebook's printed output, in order (for lessons that save no
    run, such as lesson 01's baseline; a lesson's saved runs give ``run_accuracies`` instead)."""
    text = text.replace("\r", "\n")
    return [
        {"split": m.group(1).capitalize(), "value": float(m.group(2)), "line": m.group(0).strip()}
        for m in ACCURACY_RE.finditer(text)
    ]


def run_accuracies(runs: list[RunRecord]) -> list[dict]:
    """The validation and test accuracies that a lesson's saved runs recorded in their metrics.json, run by run."""
    found = []
    for r in runs:
        for split, value in (("Validation", r.val_accuracy), ("Test", r.test_accuracy)):
            tta = f" ({r.tta} TTA)" if split == "Test" and r.tta else ""
            if value is not None:
                found.append({"split": split, "value": value, "line": f"{r.model}: {split} accuracy: {value:.4f}{tta}"})
    return found


def _saved_runs(base: Path) -> dict[str, RunRecord]:
    start_tensorflow()  # TensorFlow's start-up lines hidden here too
    from ..training import list_runs

    return {str(r.folder): r for r in list_runs(base)} if base.is_dir() else {}


# --------------------------------------------------------------------------- executing
def _kernel_manager_class():
    """An nbclient kernel manager whose special kernel name starts ipykernel in *this* Python."""
    import ipykernel.kernelspec
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    from traitlets import default

    class CurrentEnvSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            if kernel_name == CURRENT_ENV_KERNEL:
                return self.kernel_spec_class(
                    resource_dir=ipykernel.kernelspec.RESOURCES, **ipykernel.kernelspec.get_kernel_dict()
                )
            return super().get_kernel_spec(kernel_name)

    class CurrentEnvKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _default_specs(self):
            return CurrentEnvSpecs(data_dir=self.data_dir)

    return CurrentEnvKernelManager


def _client_class():
    from nbclient import NotebookClient
    from traitlets import Callable

    class Client(NotebookClient):
        """nbclient's client, also passing printed text to a callback (for the progress bar)."""

        on_text = Callable(default_value=None, allow_none=True)

        def output(self, outs, msg, display_id, cell_index):
            if self.on_text is not None and msg.get("msg_type") == "stream":
                self.on_text(msg["content"].get("text", ""))
            return super().output(outs, msg, display_id, cell_index)

    return Client


def kernel_env(profile: str, data_dir: Path | None, runs: Path) -> dict[str, str]:
    """The environment for the lesson kernels: ours plus the profile, data and runs folders."""
    env = dict(os.environ)
    env["COURSE_PROFILE"] = profile
    env["CIFAR_COURSE_RUNS"] = str(runs)
    if data_dir is not None:
        env["CIFAR_COURSE_DATA"] = str(Path(data_dir).resolve())
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # figures go into the executed copies
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.pop("JPY_SESSION_NAME", None)  # started from a notebook, the run's kernels are still no notebook a person has
    return env  # open: no TensorBoard server, no live curves (cc.plots.live_notebook)


def execute_lesson(
    lesson: Lesson,
    out_path: Path,
    env: dict[str, str],
    *,
    timeout: int | None = None,
    kernel_name: str | None = None,
    progress: bool | None = None,
    position: int = 1,
) -> LessonResult:
    """Run one notebook in a fresh kernel; always write the executed (maybe partial) copy to ``out_path``.

    What the kernel process itself writes to stderr (not the cells' output, which goes into the notebook)
    is kept in ``<out_path stem>.kernel.log`` beside it, when there is any.
    """
    import nbformat
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from tqdm.auto import tqdm

    result = LessonResult(lesson.number, lesson.path.name, executed=str(out_path))
    nb = nbformat.read(lesson.path, as_version=4)
    n_cells = sum(1 for c in nb.cells if c.cell_type == "code" and c.source.strip())
    bar = tqdm(
        total=n_cells,
        desc=f"  {lesson.path.stem}",
        unit="cell",
        position=position,
        leave=False,
        disable=None if progress is None else not progress,
        dynamic_ncols=True,
    )
    current = {"index": 0, "refreshed": 0.0}

    def on_cell_start(cell, cell_index):
        current["index"] = cell_index

    def on_cell_executed(cell, cell_index, execute_reply):
        bar.update(1)

    def on_text(text):  # show the latest printed line (e.g. Keras's "Epoch 3/10") beside the bar
        last = next((p.strip() for p in reversed(re.split(r"[\r\n]", text)) if p.strip()), "")
        if last:
            bar.set_postfix_str(_ANSI_RE.sub("", last)[:60], refresh=False)
            if time.monotonic() - current["refreshed"] > 0.5:
                current["refreshed"] = time.monotonic()
                bar.refresh()

    client = _client_class()(
        nb,
        timeout=timeout,
        kernel_name=kernel_name or CURRENT_ENV_KERNEL,
        kernel_manager_class=_kernel_manager_class(),
        resources={"metadata": {"path": str(lesson.path.parent)}},
        on_cell_start=on_cell_start,
        on_cell_executed=on_cell_executed,
        on_text=on_text,
        record_timing=True,
    )
    log_path = out_path.with_suffix(".kernel.log")
    log = open(log_path, "w")  # noqa: SIM115 (the kernel writes to it until the finally below closes it)
    start = time.perf_counter()
    ctrl_c = {"seen": False}

    def note_ctrl_c(signum, frame):  # nbclient's clean-up can turn Ctrl-C into another error: remember it
        ctrl_c["seen"] = True
        raise KeyboardInterrupt

    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, note_ctrl_c) if in_main else None
    try:
        client.execute(env=env, stderr=log)
        result.status = "ok"
    except CellExecutionError as err:
        cell = nb.cells[current["index"]]
        result.error = {
            "cell": current["index"] + 1,
            "ename": err.ename,
            "evalue": one_line(err.evalue, 400),
            "source": one_line(cell.source, 120),
        }
        if err.ename == "KeyboardInterrupt":
            result.status, result.reason = "interrupted", f"interrupted at cell {current['index'] + 1}"
        elif err.ename in NOT_RUN_ERRORS:
            result.status, result.reason = "not run", one_line(err.evalue, 240)
        else:
            result.status = "failed"
            result.reason = f"cell {current['index'] + 1}: {err.ename}: {one_line(err.evalue, 240)}"
    except CellTimeoutError:
        result.status = "failed"
        result.reason = f"cell {current['index'] + 1}: no result within --timeout {timeout} s"
        result.error = {"cell": current["index"] + 1, "ename": "Timeout", "evalue": result.reason, "source": ""}
    except DeadKernelError as err:
        result.status = "failed"
        result.reason = f"cell {current['index'] + 1}: the kernel died ({err}); out of memory?"
        result.error = {"cell": current["index"] + 1, "ename": "DeadKernelError", "evalue": str(err), "source": ""}
    except KeyboardInterrupt:
        result.status, result.reason = "interrupted", f"interrupted at cell {current['index'] + 1}"
    except Exception as err:  # the kernel would not start, a broken notebook file, ...
        if ctrl_c["seen"]:
            result.status, result.reason = "interrupted", f"interrupted at cell {current['index'] + 1}"
        else:
            result.status = "failed"
            result.reason = f"could not run the notebook: {type(err).__name__}: {one_line(err, 240)}"
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
        result.seconds = round(time.perf_counter() - start, 1)
        bar.close()
        log.close()
        if log_path.stat().st_size == 0:
            log_path.unlink()
        result.accuracies = parse_accuracies(_stream_text(nb))
        nbformat.write(nb, out_path)
    return result


# --------------------------------------------------------------------------- the whole course
def run_course(
    lessons: list[Lesson],
    profile: str,
    *,
    out_base: Path,
    notebooks: Path,
    data_dir: Path | None = None,
    command: str = "",
    data_description: str = "",
    timeout: int | None = None,
    kernel_name: str | None = None,
    progress: bool | None = None,
    echo=print,
) -> CourseRun:
    """Execute ``lessons`` in order; stop at the first failure; write results.md/.json after every lesson."""
    from tqdm.auto import tqdm

    if profile not in PROFILES:
        raise ToolError(f"Unknown profile {profile!r}. Valid profiles: {', '.join(PROFILES)}.")
    runs = runs_dir(notebooks)  # where the lessons save trained runs, run from there
    env = kernel_env(profile, data_dir, runs)
    course = CourseRun(
        new_course_folder(Path(out_base), profile),
        profile,
        command,
        data_description,
        started=dt.datetime.now().isoformat(timespec="seconds"),
    )
    echo(f"Executed notebooks and results go to {course.folder}")
    overall = tqdm(
        total=len(lessons),
        desc="course",
        unit="notebook",
        position=0,
        disable=None if progress is None else not progress,
        dynamic_ncols=True,
    )
    try:
        for lesson in lessons:
            overall.set_postfix_str(lesson.path.stem, refresh=True)
            before = _saved_runs(runs)
            result = execute_lesson(
                lesson,
                course.folder / lesson.path.name,
                env,
                timeout=timeout,
                kernel_name=kernel_name,
                progress=progress,
            )
            saved = [r for path, r in _saved_runs(runs).items() if path not in before]
            result.saved_runs = [{**r.raw, "run": str(r.folder)} for r in saved]
            if saved:  # the runs' metrics.json hold the lesson's accuracies; its printed lines only where it saved none
                result.accuracies = run_accuracies(saved)
            course.results.append(result)
            overall.update(1)
            if overall.disable:
                echo(lesson_line(result))
            else:
                tqdm.write(lesson_line(result), file=sys.stdout)
            write_results(course)
            if result.status in ("failed", "interrupted"):
                break
    finally:
        overall.close()
        course.finished = dt.datetime.now().isoformat(timespec="seconds")
        write_results(course)
    return course


# --------------------------------------------------------------------------- results
def _accuracy_text(result: LessonResult) -> str:
    return "; ".join(a["line"] for a in result.accuracies)


def lesson_line(result: LessonResult) -> str:
    """One line for the terminal as soon as a lesson ends."""
    status = {"ok": "ok", "failed": "FAILED", "not run": "NOT RUN", "interrupted": "INTERRUPTED"}[result.status]
    text = f"{result.lesson} {Path(result.notebook).stem}: {status} in {result.seconds:.1f} s"
    if result.accuracies:
        text += " | " + _accuracy_text(result)
    if result.reason:
        text += " | " + result.reason
    return text


def _status_cell(result: LessonResult) -> str:
    if result.status == "not run":
        return f"not run: {result.reason}"
    if result.status in ("failed", "interrupted"):
        return f"**{result.status.upper()}** ({result.reason})"
    return "ok"


def models_cell(result: LessonResult) -> str:
    parts = []
    for r in result.saved_runs:
        bits = [str(r.get("model", "?"))]
        if r.get("images_per_second"):
            bits.append(f"{r['images_per_second']:,.0f} img/s")
        if r.get("train_seconds") is not None:
            bits.append(f"{r['train_seconds']} s training")
        if r.get("precision") not in (None, "float32"):
            bits.append(str(r["precision"]))
        parts.append(", ".join(bits))
    return "; ".join(parts)


def results_table(course: CourseRun) -> str:
    """The results as a Markdown table: lesson, status, time, printed accuracies, models trained."""
    from .report import markdown_table

    rows = [
        [
            r.lesson,
            Path(r.notebook).stem,
            _status_cell(r),
            f"{r.seconds:.1f}",
            _accuracy_text(r) or None,
            models_cell(r) or None,
        ]
        for r in course.results
    ]
    total = sum(r.seconds for r in course.results)
    rows.append(["", "**total**", "", f"{total:.1f}", "", ""])
    return markdown_table(["lesson", "notebook", "status", "time (s)", "results", "models trained"], rows)


def write_results(course: CourseRun) -> None:
    """Write results.md and results.json in the course run folder (called after every lesson)."""
    v = versions()
    info = {
        "command": course.command,
        "numbering": NUMBERING,  # the lessons' numbering (cifar_course/runs.py): records before the split have none
        "profile": course.profile,
        "data": course.data,
        "started": course.started,
        "finished": course.finished,
        "machine": machine(),
        "versions": v,
        "exit_status": course.exit_status,
        "lessons": [asdict(r) for r in course.results],
    }
    (course.folder / "results.json").write_text(json.dumps(info, indent=1))
    lines = [f"# Course run: profile {course.profile}", ""]
    if course.command:
        lines.append(f"- Command: `{course.command}`")
    lines += [
        f"- Started: {course.started}" + (f", finished: {course.finished}" if course.finished else " (running)"),
        f"- Machine: {machine()}",
        "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
    ]
    if course.data:
        lines.append(f"- Data: {course.data}")
    lines += ["", results_table(course), ""]
    notes = [r for r in course.results if r.status != "ok"]
    for r in notes:
        if r.status == "not run":
            lines.append(f"- Lesson {r.lesson} was **not run** here: {r.reason}")
        elif r.error:
            lines.append(
                f"- Lesson {r.lesson} stopped at cell {r.error['cell']} (`{r.error['source']}`): "
                f"{r.error['ename']}: {r.error['evalue']}. See {Path(r.executed).name}."
            )
        else:
            lines.append(f"- Lesson {r.lesson}: {r.reason}")
    (course.folder / "results.md").write_text("\n".join(lines) + "\n")
