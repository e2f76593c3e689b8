"""What grading a class costs: ``cifar-course classroom autograde`` timed per submission and for a class.

1. Per submission: lessons 01 and 02 released (``cifar-course classroom release``), one submission answered with the
   source version's solutions, graded alone in each profile (--profiles), in its sandbox and with --no-sandbox.
   ``smoke`` runs on the synthetic stand-in data (no data folder, as the tests grade); ``quick`` needs the real
   images: --data DIR (or $CIFAR_COURSE_DATA). Recorded: the seconds grading-status.json gives for the submission
   (copy, run, checks), the wall time of the whole command (nbgrader's start included), the points, and, sampled
   every 0.2 s over the command's process tree, the peak of the summed RSS, the largest address space of one
   process (what the memory limit counts) and the most threads of one process.
   Before a profile with data, every file of the data folder is read once (a cold disk would slow the first run).
2. A class: --class-size copies of lesson 01's answered submission graded in one command in ``smoke`` (sandboxed):
   wall time, seconds per submission (mean, max), peak summed RSS and the grading process's own peak RSS.

Run it on an otherwise idle machine, one job at a time: other work inflates every number (the load average at the
start of each run is recorded).

    python benchmarks/grading.py --data ~/cifar-course-data --json results/grading.json
    python benchmarks/grading.py --profiles smoke --lessons 01 --class-size 3 --json /tmp/grading.json   # a try
    python benchmarks/grading.py --profiles quick --class-size 0 --data DIR --update   # quick again, the rest kept
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from cifar_course.runtime import machine
from cifar_course.tools.grading import STATUS_FILE
from cifar_course.tools.sandbox import LIMITS

REPO = Path(__file__).resolve().parents[1]
LESSONS = {"01": "01_data_exploration", "02": "02_baseline_cnn"}


def cli(*args, env: dict) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "cifar_course", *map(str, args)]
    return subprocess.run(command, env=env, capture_output=True, text=True)


def answered(course: Path, lesson: str) -> dict:
    """The student edition with every exercise answered by the source version's solution."""
    source = json.loads((course / "source" / lesson / f"{lesson}.ipynb").read_text())
    solutions = {}
    for cell in source["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        text = "".join(cell["source"])
        if grade_id and "### BEGIN SOLUTION" in text:
            solutions[grade_id] = "\n".join(line for line in text.split("\n") if not line.startswith("### "))
    nb = json.loads((course / "release" / lesson / f"{lesson}.ipynb").read_text())
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell["source"] = solutions[grade_id]
    return nb


def hand_in(course: Path, student: str, lesson: str, nb: dict) -> None:
    path = course / "submitted" / student / lesson / f"{lesson}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb))


class Sampler:
    """Every 0.2 s, over a process and all its descendants: summed RSS, the largest address space, most threads."""

    def __init__(self, pid: int):
        self.root, self.stop = psutil.Process(pid), threading.Event()
        self.peak = {"rss": 0, "vms": 0, "threads": 0, "own_rss": 0}
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self):
        while not self.stop.wait(0.2):
            with contextlib.suppress(psutil.Error):
                processes = [self.root, *self.root.children(recursive=True)]
                self.peak["own_rss"] = max(self.peak["own_rss"], self.root.memory_info().rss)
            rss = 0
            for process in processes:
                with contextlib.suppress(psutil.Error):  # it ended between listing and reading
                    memory = process.memory_info()
                    rss += memory.rss
                    self.peak["vms"] = max(self.peak["vms"], memory.vms)
                    self.peak["threads"] = max(self.peak["threads"], process.num_threads())
            self.peak["rss"] = max(self.peak["rss"], rss)

    def done(self) -> dict:
        self.stop.set()
        self.thread.join()
        return {
            "peak_rss_mib": round(self.peak["rss"] / 2**20),
            "largest_address_space_mib": round(self.peak["vms"] / 2**20),
            "most_threads": self.peak["threads"],
            "grader_peak_rss_mib": round(self.peak["own_rss"] / 2**20),
        }


def autograde(course: Path, env: dict, *args) -> tuple[dict, subprocess.CompletedProcess]:
    """Run ``cifar-course classroom autograde COURSE ARGS`` and sample it; (figures, finished process)."""
    load = round(os.getloadavg()[0], 2)
    command = [sys.executable, "-m", "cifar_course", "classroom", "autograde", str(course), *map(str, args)]
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = Sampler(process.pid)
    out, err = process.communicate()
    figures = {"command_s": round(time.perf_counter() - start, 1), **sampler.done(), "load_average_before": load}
    return figures, subprocess.CompletedProcess(command, process.returncode, out, err)


def environment(home: Path, profile: str, data: Path | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIFAR_COURSE_", "NBGRADER", "KERAS_HOME"))}
    env.update(HOME=str(home), COURSE_PROFILE=profile, TF_CPP_MIN_LOG_LEVEL="2")
    if data is not None:
        env["CIFAR_COURSE_DATA"] = str(data)
    return env


def warm(folder: Path) -> float:
    """Read every file of the data folder once, so that the first run timed does not pay for a cold disk alone."""
    start = time.perf_counter()
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                while handle.read(1 << 20):
                    pass
    return round(time.perf_counter() - start, 1)


def per_submission(course: Path, home: Path, profiles: list[str], lessons: list[str], data: Path | None) -> list:
    rows = []
    for profile in profiles:
        env = environment(home, profile, data if profile != "smoke" else None)
        if profile != "smoke":
            print(f"read the data folder once in {warm(data)} s", flush=True)
        for number in lessons:
            lesson = LESSONS[number]
            for sandboxed in (True, False):
                figures, done = autograde(course, env, "--only", number, "--students", "alice",
                                          *([] if sandboxed else ["--no-sandbox"]))  # fmt: skip
                entry = json.loads((course / STATUS_FILE).read_text())[lesson]["alice"]
                row = {"lesson": number, "profile": profile, "sandbox": sandboxed, "status": entry["status"],
                       "points": f"{entry['score']:g}/{entry['max_score']:g}", "submission_s": entry["seconds"],
                       **figures, "exit_status": done.returncode}  # fmt: skip
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def a_class(course: Path, home: Path, size: int) -> dict:
    lesson = LESSONS["01"]
    nb = answered(course, lesson)
    students = [f"student{i:02d}" for i in range(size)]
    for student in students:
        hand_in(course, student, lesson, nb)
    env = environment(home, "smoke", None)
    figures, done = autograde(course, env, "--only", "01", "--students", ",".join(students))
    status = json.loads((course / STATUS_FILE).read_text())[lesson]
    seconds = [status[s]["seconds"] for s in students]
    row = {
        "lesson": "01",
        "profile": "smoke",
        "sandbox": True,
        "submissions": size,
        "graded": sum(status[s]["status"] == "graded" for s in students),
        "full_marks": sum(status[s]["score"] == status[s]["max_score"] for s in students),
        "wall_s": figures["command_s"],
        "submission_s_mean": round(statistics.mean(seconds), 1),
        "submission_s_max": max(seconds),
        **{k: v for k, v in figures.items() if k != "command_s"},
        "exit_status": done.returncode,
    }
    print(json.dumps(row), flush=True)
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", default=str(REPO / "results" / "grading.json"), help="where the figures go")
    parser.add_argument("--profiles", default="smoke,quick", help="profiles for the per-submission times")
    parser.add_argument("--lessons", default="01,02", help="lessons for the per-submission times")
    parser.add_argument("--class-size", type=int, default=30, help="submissions of lesson 01 graded at once (0: none)")
    parser.add_argument("--data", default=os.environ.get("CIFAR_COURSE_DATA"), help="the data folder for quick")
    parser.add_argument(
        "--update", action="store_true", help="replace only the rows measured now in an existing --json file"
    )
    args = parser.parse_args(argv)
    profiles = [p for p in args.profiles.split(",") if p]
    lessons = [n for n in args.lessons.split(",") if n]
    data = Path(args.data).expanduser() if args.data else None
    if any(p != "smoke" for p in profiles) and data is None:
        parser.error("quick and full grade on the real images: give --data DIR (or set CIFAR_COURSE_DATA)")
    report = {
        "what": "cifar-course classroom autograde: seconds per submission and for a class (benchmarks/grading.py)",
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "cpu_count": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "bwrap": subprocess.run(["bwrap", "--version"], capture_output=True, text=True).stdout.strip(),
        "limits": {name: vars(limits) for name, limits in LIMITS.items()},
        "data": {"smoke": "none: the synthetic stand-in", "quick": str(data) if data else None},
        "per_submission": [],
        "class": None,
    }
    with tempfile.TemporaryDirectory(prefix="grading-benchmark-") as tmp:
        tmp = Path(tmp)
        home, course = tmp / "home", tmp / "course"
        home.mkdir()
        env = environment(home, "smoke", None)
        released = cli("classroom", "release", course, "--only", ",".join(lessons or ["01"]), env=env)
        if released.returncode != 0:
            print(released.stdout + released.stderr, file=sys.stderr)
            return 1
        for number in lessons:
            hand_in(course, "alice", LESSONS[number], answered(course, LESSONS[number]))
        report["per_submission"] = per_submission(course, home, profiles, lessons, data)
        if args.class_size:
            shutil.rmtree(course / "autograded", ignore_errors=True)
            report["class"] = a_class(course, home, args.class_size)
    if args.update and Path(args.json).is_file():  # keep what this run did not measure again
        old = json.loads(Path(args.json).read_text())
        measured = {(r["lesson"], r["profile"]) for r in report["per_submission"]}
        kept = [r for r in old.get("per_submission", []) if (r["lesson"], r["profile"]) not in measured]
        report["per_submission"] = kept + report["per_submission"]
        report["class"] = report["class"] or old.get("class")
        report["data"] = {**old.get("data", {}), **{k: v for k, v in report["data"].items() if v}}
        report["updated"] = report.pop("date")
        report["date"] = old.get("date")
    Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    print(f"Wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
