"""Time the whole course as a student's first run, on a machine that cannot download VGG16's ImageNet weights.

`cifar-course run` executes every lesson; offline, lesson 05 stops at its weights cell, so the run would leave out
one lesson's time. This script gives lesson 05 weights files of VGG16's and EfficientNetV2B0's layouts with RANDOM
values (the time does not depend on the values: see `lesson05_timing.py`), computes lesson 05's features as on a
first run (the feature files it caches are deleted afterwards), keeps the model runs in a temporary folder (or
--keep's), and writes the runner's record:

- every lesson's time, the models trained and their speed;
- lesson 05's accuracies left out and its runs marked RANDOM (they mean nothing).

    python benchmarks/course_timing.py --profile quick --data /path/to/data --out results/course-run-quick-avx2
    # -> results/course-run-quick-avx2.json and .md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from cifar_course.folders import cache_dir

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
RANDOM = "RANDOM values in VGG16's layout (timing only)"


def without_random_accuracies(record: dict) -> dict:
    """The runner's record with lesson 05's accuracies dropped, its runs' weights named for what they were, and
    lesson 06's accuracy dropped where it analysed lesson 05's run (it then prints that run's test accuracy)."""
    random_accuracies = set()
    for lesson in record["lessons"]:
        if lesson["lesson"] == "05":
            random_accuracies |= {round(a["value"], 4) for a in lesson["accuracies"] if a["split"] == "Test"}
            lesson["accuracies"] = []
            for run in lesson["saved_runs"]:
                run.update(weights=RANDOM, test_accuracy=None, val_accuracy=None)
        elif lesson["lesson"] == "06":
            lesson["accuracies"] = [a for a in lesson["accuracies"] if round(a["value"], 4) not in random_accuracies]
    return record


def markdown(record: dict, command: str) -> str:
    """The record as the runner's Markdown table, with a note on lesson 05's weights."""
    from cifar_course.tools.runner import CourseRun, LessonResult, results_table

    course = CourseRun(Path("."), record["profile"], command, record["data"])
    course.results = [LessonResult(**lesson) for lesson in record["lessons"]]
    total = sum(lesson["seconds"] for lesson in record["lessons"])
    return "\n".join(
        [
            f"# Course run: profile {record['profile']}, {total / 60:.1f} min",
            "",
            f"- Command: `{command}` (it runs `cifar-course run --profile {record['profile']}`)",
            f"- Started: {record['started']}, finished: {record['finished']}",
            f"- Machine: {record['machine']}",
            "- Versions: " + ", ".join(f"{k} {v}" for k, v in record["versions"].items()),
            f"- Data: {record['data']}",
            *(
                [
                    "- Lesson 05: VGG16 and EfficientNetV2B0 with RANDOM values in their layouts (timing only), "
                    "features computed as on a first run; its accuracies are left out, and lesson 06's where it "
                    "analysed that run."
                ]
                if any(lesson["lesson"] == "05" for lesson in record["lessons"])
                else []
            ),
            "",
            results_table(course),
            "",
        ]
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=["smoke", "quick", "full"], default="quick")
    parser.add_argument("--data", help="the course data folder (as for cifar-course run --data)")
    parser.add_argument("--only", help="lessons to run, e.g. 03,05 (default: all)")
    parser.add_argument("--out", required=True, help="write OUT.json and OUT.md")
    parser.add_argument("--keep", help="keep the executed notebooks and runs in this folder (default: deleted)")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).parent))
    from lesson05_timing import random_weights_env

    command = f"python benchmarks/course_timing.py --profile {args.profile}" + (
        f" --only {args.only}" if args.only else ""
    )
    with tempfile.TemporaryDirectory(prefix="course-timing-") as tmp:
        tmp = Path(tmp)
        env = random_weights_env(tmp)
        features = cache_dir() / "features"
        before = set(features.glob("*.npz"))
        course = Path(args.keep) if args.keep else tmp / "course"
        run = [sys.executable, "-m", "cifar_course", "run", "--profile", args.profile, "--out", str(course)]
        run += (
            ["--no-progress"]
            + (["--data", args.data] if args.data else [])
            + (["--only", args.only] if args.only else [])
        )
        try:
            status = subprocess.run(run, env=env).returncode
        finally:
            for path in set(features.glob("*.npz")) - before:  # fresh random weights: never a real cache entry
                path.unlink()
        record = json.loads(max(course.glob("course-*/results.json")).read_text())
    record = without_random_accuracies(record)
    record["command"] = command
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    out.with_suffix(".md").write_text(markdown(record, command))
    total = sum(lesson["seconds"] for lesson in record["lessons"])
    print(f"\n{args.profile}: {total:.0f} s ({total / 60:.1f} min); {out.with_suffix('.md')}")
    return status


if __name__ == "__main__":
    sys.exit(main())
