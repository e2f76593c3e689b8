"""The runner: Ctrl-C, the results table's models column, accuracies from saved runs (the rest: through the CLI)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import nbformat
import pytest

from cifar_course.runs import RunRecord
from cifar_course.tools import runner


def _lesson(tmp_path: Path) -> runner.Lesson:
    path = tmp_path / "01_tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), path)
    return runner.discover_lessons(tmp_path)[0]


def test_ctrl_c_that_nbclient_turns_into_another_error_is_still_an_interruption(tmp_path, monkeypatch):
    class CleanupFails:  # stands in for nbclient: Ctrl-C arrives, and its clean-up raises something else
        def __init__(self, *args, **kwargs):
            pass

        def execute(self, **kwargs):
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)
            except KeyboardInterrupt:
                raise AssertionError("zmq socket closed during shutdown") from None

    monkeypatch.setattr(runner, "_client_class", lambda: CleanupFails)
    result = runner.execute_lesson(_lesson(tmp_path), tmp_path / "out.ipynb", dict(os.environ), progress=False)
    assert result.status == "interrupted", result.reason
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C behaves normally again


def test_a_real_error_without_ctrl_c_is_a_failure(tmp_path, monkeypatch):
    class Broken:
        def __init__(self, *args, **kwargs):
            pass

        def execute(self, **kwargs):
            raise AssertionError("kernel would not start")

    monkeypatch.setattr(runner, "_client_class", lambda: Broken)
    result = runner.execute_lesson(_lesson(tmp_path), tmp_path / "out.ipynb", dict(os.environ), progress=False)
    assert result.status == "failed" and "kernel would not start" in result.reason


def test_results_table_names_models_speed_and_any_precision_other_than_float32():
    result = runner.LessonResult(
        "03",
        "03_dropout",
        status="ok",
        seconds=700.0,
        saved_runs=[
            {
                "model": "M1_first_cnn",
                "images_per_second": 1974.4,
                "train_seconds": 240.2,
                "precision": "mixed_bfloat16",
            },
            {"model": "R1_baseline", "images_per_second": 2754.0, "train_seconds": 167.8, "precision": "float32"},
        ],
    )
    cell = runner.models_cell(result)
    assert cell == (
        "M1_first_cnn, 1,974 img/s, 240.2 s training, mixed_bfloat16; R1_baseline, 2,754 img/s, 167.8 s training"
    )


@pytest.mark.parametrize(
    "ename, status",
    [("ValueError", "failed"), ("DataError", "failed"), ("MissingHere", "not run"), ("DataNotFoundError", "not run")],
)
def test_a_cell_missing_something_here_is_not_run_and_a_wrong_argument_fails(tmp_path, monkeypatch, ename, status):
    from nbclient.exceptions import CellExecutionError

    class Raises:  # stands in for nbclient: the lesson's cell raised ``ename``
        def __init__(self, *args, **kwargs):
            pass

        def execute(self, **kwargs):
            raise CellExecutionError("the traceback", ename, "what is wrong\nand how to fix it")

    monkeypatch.setattr(runner, "_client_class", lambda: Raises)
    result = runner.execute_lesson(_lesson(tmp_path), tmp_path / "out.ipynb", dict(os.environ), progress=False)
    assert result.status == status and "what is wrong" in result.reason and "how to fix" not in result.reason


def test_not_run_errors_are_exactly_missing_here_and_its_kinds():
    """Exit 3 ("not run here") only for MissingHere and the package's subclasses of it; a ValueError is a bug."""
    import importlib
    import inspect
    import pkgutil

    import cifar_course as cc

    kinds = {
        cls.__name__
        for info in pkgutil.walk_packages(cc.__path__, "cifar_course.")
        if ".tools" not in info.name and info.name != "cifar_course.__main__"
        for _, cls in inspect.getmembers(importlib.import_module(info.name), inspect.isclass)
        if issubclass(cls, cc.MissingHere)
    }
    assert runner.NOT_RUN_ERRORS == kinds == {"MissingHere", "DataNotFoundError"}
    assert not issubclass(cc.MissingHere, ValueError) and issubclass(cc.DataNotFoundError, cc.MissingHere)


def _metrics(folder: Path, **metrics) -> None:
    folder.mkdir(parents=True)
    info = {"lesson": "02", "model": "R1_baseline", "profile": "smoke", "epochs": 1, "test_accuracy": 0.25, **metrics}
    (folder / "metrics.json").write_text(json.dumps(info))


def test_run_accuracies_are_read_from_the_runs_metrics():
    runs = [
        RunRecord.from_metrics({"lesson": "03", "model": "M1", "profile": "quick", "epochs": 2, "test_accuracy": 0.61,
                                "val_accuracy": 0.6}, "/runs/a"),
        RunRecord.from_metrics({"lesson": "07", "model": "airbench_cnn", "profile": "quick", "epochs": 2,
                                "test_accuracy": 0.7, "tta": "flip"}, "/runs/b"),
    ]  # fmt: skip
    assert runner.run_accuracies(runs) == [
        {"split": "Validation", "value": 0.6, "line": "M1: Validation accuracy: 0.6000"},
        {"split": "Test", "value": 0.61, "line": "M1: Test accuracy: 0.6100"},
        {"split": "Test", "value": 0.7, "line": "airbench_cnn: Test accuracy: 0.7000 (flip TTA)"},
    ]


def test_a_lesson_that_saved_runs_reports_their_accuracies_and_one_that_saved_none_its_printed_lines(
    tmp_path, monkeypatch
):
    runs = Path(os.environ["CIFAR_COURSE_RUNS"])
    _metrics(runs / "01_old_run", lesson="01")  # saved before this course run: not this run's

    def fake_execute(lesson, out_path, env, **kwargs):  # lesson 02 saves a run and prints another number
        if lesson.number == "02":
            _metrics(runs / "02_R1_new", val_accuracy=0.3, data_source="SYNTHETIC stand-in data")
        printed = runner.parse_accuracies("Validation accuracy: 0.1000\nTest accuracy: 0.9999\n")
        return runner.LessonResult(lesson.number, lesson.path.name, status="ok", seconds=1.0, accuracies=printed)

    monkeypatch.setattr(runner, "execute_lesson", fake_execute)
    lessons = [runner.Lesson(n, f"{n}_x", tmp_path / f"{n}_x.ipynb") for n in ("01", "02")]
    course = runner.run_course(
        lessons, "smoke", out_base=tmp_path / "out", notebooks=tmp_path, progress=False, echo=lambda *a: None
    )
    first, second = course.results
    assert [a["value"] for a in first.accuracies] == [0.1, 0.9999] and first.saved_runs == []  # lesson 01: printed
    assert [a["line"] for a in second.accuracies] == [
        "R1_baseline: Validation accuracy: 0.3000",
        "R1_baseline: Test accuracy: 0.2500",
    ]
    assert second.saved_runs[0]["run"] == str(runs / "02_R1_new") and second.saved_runs[0]["val_accuracy"] == 0.3
    saved = json.loads((course.folder / "results.json").read_text())["lessons"][1]
    assert saved["accuracies"] == second.accuracies and saved["saved_runs"] == second.saved_runs
    assert "R1_baseline: Test accuracy: 0.2500" in (course.folder / "results.md").read_text()


def test_lesson_kernels_are_no_notebook_a_person_has_open(monkeypatch, tmp_path):
    """Started from a notebook (JupyterLab sets JPY_SESSION_NAME), the runner's kernels still start no TensorBoard
    server and draw no live curves: cc.plots.live_notebook reads that variable."""
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/student/notebooks/04_deeper_cnn.ipynb")
    env = runner.kernel_env("quick", None, tmp_path / "runs")
    assert "JPY_SESSION_NAME" not in env and env["COURSE_PROFILE"] == "quick"
