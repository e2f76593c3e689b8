"""The supported range, tested: the oldest and newest TensorFlow, Keras and NumPy on the oldest and newest Python.

    nox -s matrix                  # every set below, one after the other (each: its own virtual environment in .nox/)
    nox -s "matrix(oldest)"        # one set
    nox -s matrix -- -k lesson01   # extra pytest arguments (they are written into the record)

Each set installs the course with ``.[course,test]`` and the pinned versions, runs the unit tests and every notebook
in the smoke profile (browser and hub tests need Chromium and a Node proxy: CI's main set runs those), and writes its
versions, pytest's own counts, its time and its command into results/version-matrix.json.
"""

from __future__ import annotations

import datetime
import json
import shlex
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
RECORD = ROOT / "results" / "version-matrix.json"
PYTEST = ["python", "-m", "pytest", "-m", "not browser and not hub", "-x", "-q"]

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["matrix"]
nox.options.error_on_missing_interpreters = True  # a set without its Python fails, it is not skipped

# name: (Python, TensorFlow, Keras, NumPy). The bounds in pyproject.toml and environment.yml are these sets.
SETS = {
    "oldest": ("3.11", "2.16.2", "3.13.0", "1.26.4"),
    "newest": ("3.13", "2.21.0", "3.15.1", "2.4.6"),
}


@nox.session
@nox.parametrize(
    "python,tensorflow,keras,numpy",
    [nox.param(*versions, id=name) for name, versions in SETS.items()],
)
def matrix(session: nox.Session, tensorflow: str, keras: str, numpy: str) -> None:
    """Install one set of versions, run the unit tests and every notebook (smoke), record the outcome."""
    session.install("-e", ".[course,test]", f"tensorflow=={tensorflow}", f"keras=={keras}", f"numpy=={numpy}")

    report = Path(session.create_tmp()) / "junit.xml"
    report.unlink(missing_ok=True)
    command = [*PYTEST, *session.posargs]
    commit = git("describe", "--always", "--dirty")  # the code tested: the commit, "-dirty" with uncommitted changes
    started = time.monotonic()
    # pytest's exit status is judged below, from its own report, after the outcome is recorded
    session.run(*command, f"--junitxml={report}", success_codes=range(6))
    seconds = time.monotonic() - started

    counts, first_failure = junit_counts(report)
    passed = counts is not None and counts["tests"] > 0 and counts["failed"] + counts["errors"] == 0
    listed = session.run("python", "-m", "pip", "list", "--format=json", silent=True)
    versions = json.loads(next(line for line in listed.splitlines() if line.startswith("[")))  # pip's warnings aside
    wanted = {"tensorflow", "keras", "numpy"}
    entry = {
        "session": session.name,
        "python": session.run("python", "-c", "import platform; print(platform.python_version())", silent=True).strip(),
        **{p["name"].lower(): p["version"] for p in versions if p["name"].lower() in wanted},
        "outcome": "passed" if passed else "failed",
        **(counts or {"pytest_report": "missing: pytest stopped before writing it"}),
        **({"first_failure": first_failure} if first_failure else {}),
        "test_seconds": round(seconds),
        "command": shlex.join(command),
        "commit": commit,
        "machine": machine(),
        "date": datetime.date.today().isoformat(),
    }
    record(entry)
    session.log(f"recorded in {RECORD.relative_to(ROOT)}: {entry['outcome']}")
    if not passed:
        session.error(f"{entry['outcome']}: {first_failure or 'see pytest output above'}")


def junit_counts(report: Path) -> tuple[dict | None, str | None]:
    """pytest's counts from its JUnit XML report, and the first failing test with its message (None, None if absent)."""
    if not report.exists():
        return None, None
    suite = ET.parse(report).getroot()
    suite = suite.find("testsuite") if suite.tag == "testsuites" else suite
    tests, failed, errors, skipped = (int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
    counts = {"tests": tests, "passed": tests - failed - errors - skipped, "failed": failed}
    counts |= {"errors": errors, "skipped": skipped}
    first_failure = None
    for case in suite.iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            name = f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")
            first_failure = f"{name}: {problem.get('message', '').strip()[:500]}"
            break
    return counts, first_failure


def machine() -> str:
    """This machine in the course's own words (cifar_course.machine), as the other results say it."""
    python = ROOT / ".venv" / "bin" / "python"  # the main environment, as for the other results
    code = "import cifar_course as c; print(c.machine())"
    run = subprocess.run([str(python) if python.exists() else "python3", "-c", code], cwd=ROOT, capture_output=True)
    return run.stdout.decode().strip()


def git(*args: str) -> str:
    """What a read-only git command prints in this repository ("" without git)."""
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def record(entry: dict) -> None:
    """Put one session's result into results/version-matrix.json, replacing a run of the same versions and command."""
    data = json.loads(RECORD.read_text()) if RECORD.exists() else {}
    data["how"] = "nox -s matrix (noxfile.py): each set in its own venv, .[course,test] plus the pinned versions"
    key = ("session", "python", "tensorflow", "keras", "numpy", "command")
    runs = [r for r in data.get("runs", []) if tuple(r.get(k) for k in key) != tuple(entry.get(k) for k in key)]
    data["runs"] = [*runs, entry]
    RECORD.write_text(json.dumps(data, indent=2) + "\n")
