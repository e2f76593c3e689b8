"""How big a server a class needs: each lesson's peak memory and CPU time, and the slow-down of students at once.

1. Per lesson and profile: the lessons run top to bottom, each in a fresh kernel, in course order in one
   temporary runs folder per profile, as one student works through the course (so lessons 06 and 08 find the
   runs saved before them; the output lists them). Measured: wall seconds, the kernel's CPU seconds (user +
   system, its children included) and its peak RSS (the kernel's process tree, summed, sampled every 0.2 s).
2. Concurrency: N students (for each N in --students) run one lesson at once, each in a process and kernel of
   its own, with its own copy of the notebooks and its own runs folder; the data folder ($CIFAR_COURSE_DATA)
   and the decoded-image cache are shared. Recorded: each student's wall and CPU time, the mean wall time, the
   slow-down against the smallest N, and the sum of the kernels' peak RSS.

It then suggests memory and cores per student (the --md output states how). Run it on an otherwise idle
machine: other work inflates every number (the load average at the start is recorded).

    python benchmarks/class_sizing.py --json results/class-sizing.json --md results/class-sizing.md
    python benchmarks/class_sizing.py --lessons 01,02 --profiles smoke --students 1,2 --concurrent-lesson 01
    python benchmarks/class_sizing.py --lessons "" --students 1,2,4,8     # concurrency only
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import psutil

from cifar_course.folders import data_folder
from cifar_course.runtime import machine
from cifar_course.tools.report import markdown_table
from cifar_course.tools.runner import discover_lessons, execute_lesson, find_notebooks_dir, kernel_env, select_lessons

MARGIN = 0.25  # memory per student: the largest kernel's peak RSS plus this share
MAX_SLOWDOWN = 1.5  # cores per student: the most students at once whose lesson takes at most this much longer


def new_student(folder: Path) -> Path:
    """A student's own folder: a copy of the notebooks and an empty runs/ (executed copies go beside them)."""
    shutil.copytree(find_notebooks_dir(), folder / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    (folder / "runs").mkdir()
    return folder


def sample_rss(stop: threading.Event, peak: dict) -> None:
    """Until stop is set, every 0.2 s: the RSS summed over this process's children (the kernel and its own)."""
    me = psutil.Process()
    while not stop.wait(0.2):
        rss = 0
        for child in me.children(recursive=True):
            with contextlib.suppress(psutil.Error):  # it ended between listing and reading
                rss += child.memory_info().rss
        peak["rss"] = max(peak["rss"], rss)


def children_cpu() -> float:
    """User + system CPU seconds of every ended child process (and theirs) of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_lesson(number: str, folder: Path, profile: str) -> dict:
    """Execute one lesson of a student's folder in a fresh kernel; its status, wall and CPU time, peak RSS."""
    lesson = select_lessons(discover_lessons(folder / "notebooks"), number)[0]
    runs = folder / "runs"
    found = sorted(p.parent.name for p in runs.glob("*/metrics.json"))
    load, stop, peak = round(os.getloadavg()[0], 2), threading.Event(), {"rss": 0}
    sampler = threading.Thread(target=sample_rss, args=(stop, peak), daemon=True)
    cpu = children_cpu()
    sampler.start()
    out = folder / f"{lesson.path.stem}.executed.ipynb"
    result = execute_lesson(lesson, out, kernel_env(profile, data_folder()[0], runs), progress=False)
    stop.set()
    sampler.join()
    return {
        "lesson": lesson.number,
        "profile": profile,
        "status": result.status,
        "wall_s": result.seconds,
        "cpu_s": round(children_cpu() - cpu, 1),  # the kernel has ended and been waited for: its whole CPU time
        "peak_rss_mib": round(peak["rss"] / 2**20),
        "error": {k: result.error[k] for k in ("ename", "cell")} if result.error else None,
        "reason": result.reason,
        "saved_runs_found": found,
        "load_average_before": load,
    }


def walk_course(numbers: str | None, profile: str, tmp: Path) -> list[dict]:
    """One student works through the lessons in order, in one runs folder; a failed lesson does not stop them."""
    folder = new_student(tmp / f"course-{profile}")
    rows = []
    for lesson in select_lessons(discover_lessons(folder / "notebooks"), numbers):
        rows.append(r := run_lesson(lesson.number, folder, profile))
        print(
            f"{profile:>5} {r['lesson']}: {status_text(r)}, {r['wall_s']:.0f} s wall, {r['cpu_s']:.0f} s CPU, "
            f"peak {r['peak_rss_mib']} MiB {r['reason']}".rstrip(),
            flush=True,
        )
    return rows


def status_text(row: dict) -> str:
    """'ok', or the status with the error's name and cell, e.g. 'failed (ValueError, cell 7)'."""
    return row["status"] + (f" ({row['error']['ename']}, cell {row['error']['cell']})" if row["error"] else "")


def crowd(n: int, number: str, profile: str, tmp: Path) -> dict:
    """n students run one lesson at the same time, each a process of its own (this script with --student)."""
    folders = [new_student(tmp / f"crowd{n}-student{i}") for i in range(n)]
    load = round(os.getloadavg()[0], 2)
    command = [sys.executable, Path(__file__).resolve(), "--concurrent-lesson", number, "--concurrent-profile", profile]
    procs = [subprocess.Popen([*command, "--student", str(f)], stdout=subprocess.PIPE, text=True) for f in folders]
    rows = []
    for p in procs:
        lines = p.communicate()[0].strip().splitlines()
        rows.append(json.loads(lines[-1]) if p.returncode == 0 and lines else {"status": f"exit {p.returncode}"})
    ok = [r["wall_s"] for r in rows if r["status"] == "ok"]
    return {
        "students": n,
        "load_average_before": load,
        "statuses": [r["status"] for r in rows],
        "errors": [r.get("error") for r in rows],
        "wall_s": [r.get("wall_s") for r in rows],
        "cpu_s": [r.get("cpu_s") for r in rows],
        "mean_wall_s": round(statistics.mean(ok), 1) if ok else None,
        "sum_peak_rss_mib": sum(r.get("peak_rss_mib", 0) for r in rows),
    }


def sizing(lessons: list[dict], crowds: list[dict], cores: int) -> dict:
    """Memory per student per profile (largest peak + MARGIN) and cores per student (from MAX_SLOWDOWN)."""
    memory = {}
    for profile in dict.fromkeys(r["profile"] for r in lessons):
        top = max((r for r in lessons if r["profile"] == profile), key=lambda r: r["peak_rss_mib"])
        mib = top["peak_rss_mib"] * (1 + MARGIN)
        memory[profile] = {"lesson": top["lesson"], "peak_mib": top["peak_rss_mib"], "gib": round(mib / 1024, 1)}
    fits = [c["students"] for c in crowds if c["slowdown"] is not None and c["slowdown"] <= MAX_SLOWDOWN]
    most = max(fits, default=None)
    return {"memory": memory, "students_within_slowdown": most, "cores_per_student": most and round(cores / most, 2)}


def markdown(report: dict) -> str:
    """The report as Markdown: the machine, the two tables and the suggested sizing with its derivation."""
    lines = [f"# Class sizing ({report['date']})", "", f"- Machine: {report['machine']}"]
    lines += [f"- Load average at the start: {report['load_average_start']}", f"- Command: `{report['command']}`", ""]
    rows = [
        [r["profile"], r["lesson"], status_text(r), r["wall_s"], r["cpu_s"], r["peak_rss_mib"]]
        + [", ".join(r["saved_runs_found"]) or None]
        for r in report["lessons"]
    ]
    heads = ["profile", "lesson", "status", "wall s", "CPU s", "peak RSS MiB", "saved runs it found"]
    lines += [markdown_table(heads, rows), ""] if rows else []
    c = report["concurrency"]
    if c["rows"]:
        lines += [f"Lesson {c['lesson']}, profile {c['profile']}, N students at once:", ""]
        heads = ["students", "wall s each", "CPU s each", "mean wall s", "slow-down", "sum of peak RSS MiB"]
        rows = [
            [r["students"], ", ".join(map(str, r["wall_s"])), ", ".join(map(str, r["cpu_s"]))]
            + [r["mean_wall_s"], r["slowdown"], r["sum_peak_rss_mib"]]
            for r in c["rows"]
        ]
        lines += [markdown_table(heads, rows), ""]
    s = report["sizing"]
    for profile, m in s["memory"].items():
        lines.append(
            f"- Memory per student, `{profile}`: the largest kernel peak above, {m['peak_mib']} MiB (lesson "
            f"{m['lesson']}), + {MARGIN:.0%} = **{m['gib']} GiB** (the student's JupyterLab server not counted)."
        )
    if most := s["students_within_slowdown"]:
        lines.append(
            f"- Cores per student: one student alone has all {report['cores']} cores; at most {most} students at "
            f"once (of the N measured) kept the slow-down within {MAX_SLOWDOWN}x: **{report['cores']} / {most} = "
            f"{s['cores_per_student']} cores per student**."
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lessons", help="lessons to measure one by one, e.g. 01,02 (default all; '' for none)")
    parser.add_argument("--profiles", default="smoke,quick", help="profiles for the per-lesson runs")
    parser.add_argument("--students", default="1,2,4", help="numbers of students at once ('' for none)")
    parser.add_argument("--concurrent-lesson", default="02")
    parser.add_argument("--concurrent-profile", default="quick", choices=["smoke", "quick", "full"])
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--md", help="also write the tables and the suggested sizing to this Markdown file")
    parser.add_argument("--student", help=argparse.SUPPRESS)  # one student of a crowd: run, print a JSON line
    args = parser.parse_args(argv)
    if args.student:
        print(json.dumps(run_lesson(args.concurrent_lesson, Path(args.student), args.concurrent_profile)))
        return 0

    report = {
        "command": "python benchmarks/class_sizing.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "cores": os.cpu_count(),
        "versions": {lib: importlib.metadata.version(lib) for lib in ("tensorflow", "keras", "numpy")},
        "data": str(data_folder()[0]),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"{report['machine']}; load average {report['load_average_start']}", flush=True)
    # read TensorFlow from disk once, so that the first lesson measured does not pay for a cold disk cache
    subprocess.run([sys.executable, "-c", "import keras, tensorflow"], check=True, stderr=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory(prefix="class-sizing-") as tmp:
        lessons = []
        for profile in args.profiles.split(",") if args.lessons != "" else []:
            lessons += walk_course(args.lessons, profile, Path(tmp))
        crowds = []
        for n in sorted({int(s) for s in args.students.split(",") if s}):
            crowds.append(crowd(n, args.concurrent_lesson, args.concurrent_profile, Path(tmp)))
            c, base = crowds[-1], crowds[0]["mean_wall_s"]
            c["slowdown"] = round(c["mean_wall_s"] / base, 2) if base and c["mean_wall_s"] else None
            print(f"{n} at once: {c['statuses']}, wall {c['wall_s']} s, slow-down {c['slowdown']}", flush=True)
    report["lessons"] = lessons
    report["concurrency"] = {"lesson": args.concurrent_lesson, "profile": args.concurrent_profile, "rows": crowds}
    report["sizing"] = sizing(lessons, crowds, report["cores"])
    text = markdown(report)
    print("\n" + text)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    if args.md:
        Path(args.md).write_text(text)
    statuses = [r["status"] for r in lessons] + [s for c in crowds for s in c["statuses"]]
    return 0 if set(statuses) <= {"ok", "not run"} else 1


if __name__ == "__main__":
    sys.exit(main())
