"""The runner: Ctrl-C while a lesson runs, and the results table's models column (the rest: through the CLI)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import nbformat

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
