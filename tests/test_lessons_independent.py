"""Lessons run on their own, in any order: with no earlier runs saved, each says which lesson to run (smoke)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def run_alone(name: str, runs: Path, monkeypatch) -> str:
    """Execute one lesson in the smoke profile with an empty runs folder; return all its text output."""
    monkeypatch.setenv("CIFAR_COURSE_RUNS", str(runs))
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    monkeypatch.delenv("CIFAR_COURSE_OFFLINE", raising=False)
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return "\n".join(
        o.get("text", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "stream"
    )


@pytest.mark.parametrize(
    "name, says",
    [
        ("04_deeper_cnn.ipynb", "run lesson 03 to add it to this comparison"),
        ("06_error_analysis.ipynb", "training M3 for 1 epoch(s), saved as lesson 06's run"),
        ("08_architecture.ipynb", "no run of lesson 07"),  # starts its race from lesson 07's recorded step 6
        ("09_what_the_network_sees.ipynb", "training M3 for 1 epoch(s), saved as lesson 09's run"),
    ],
)
def test_lesson_runs_without_earlier_runs_and_names_the_missing_lesson(name, says, tmp_path, monkeypatch):
    if not (NOTEBOOKS / name).exists():
        pytest.fail(f"{name} is missing from notebooks/")
    out = run_alone(name, tmp_path / "runs", monkeypatch)
    assert says in out
    assert list((tmp_path / "runs").glob("*/metrics.json")), "the lesson should save its own run"
