"""Every lesson through `cifar-course classroom autograde`, sandboxed, in smoke: an honest (solution) and a blank
submission each; the points and seconds per submission as JSON.

    python benchmarks/grading_lessons.py --only 03,04,05,06,07,08 --json results/grading-lessons-smoke.json

The honest submission is the student edition with each exercise answered by the source version's solution (the
helpers of tests/test_classroom.py, as tests/test_grading.py makes them for lesson 01).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="01,02,03,04,05,06,07,08", help="the lessons (numbers, commas)")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)
    from test_classroom import _submit, _with_solutions

    from cifar_course import machine

    lessons = args.only.split(",")
    names = {p.stem[:2]: p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    out = Path(tempfile.mkdtemp(prefix="grading-lessons-")) / "class"
    cli = [sys.executable, "-m", "cifar_course"]
    subprocess.run([*cli, "classroom", "release", str(out), "--only", args.only], check=True, capture_output=True)
    for lesson in lessons:
        name = names[lesson]
        _submit(out, "honest", name, _with_solutions(out, name))
        _submit(out, "blank", name, json.loads((out / "release" / name / f"{name}.ipynb").read_text()))
    graded = subprocess.run(
        [*cli, "classroom", "autograde", str(out), "--only", args.only, "--profile", "smoke"],
        capture_output=True,
        text=True,
    )
    print(graded.stdout)
    rows = [
        {"lesson": m[1], "student": m[2], "points": m[3], "seconds": float(m[4])}
        for m in re.finditer(r"^(\d\d)_\S+ (\w+): (\S+) \((\d+(?:\.\d+)?) s\)$", graded.stdout, flags=re.MULTILINE)
    ]
    result = {
        "what": "classroom autograde, sandboxed, smoke profile: an honest and a blank submission of each lesson",
        "command": "python benchmarks/grading_lessons.py --only " + args.only,
        "machine": machine(),
        "date": dt.date.today().isoformat(),
        "exit_status": graded.returncode,
        "submissions": rows,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return graded.returncode


if __name__ == "__main__":
    sys.exit(main())
