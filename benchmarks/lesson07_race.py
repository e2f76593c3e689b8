"""Lesson 07's race (steps 0-12) alone, as the lesson runs it, recorded for the pages that show it.

The `quick` profile does not train the wide networks of steps 8-12 (each takes one to two minutes on a laptop's
CPU); the lesson shows the course's recorded `full` race for them instead. This script records that race: it runs
lesson 07's own cells, in a fresh kernel through the course's runner, up to the final model (step 13, which
`benchmarks/lesson07_full.py` times alone), with model runs in a temporary folder, and writes the runner's
results (machine, versions, every step's saved run) to a JSON file in `results/`, which `cc.reference` reads.

    python benchmarks/lesson07_race.py --profile full --data /path/to/data --json results/course-run-full-07-race.json
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from cifar_course.tools.runner import Lesson, run_course

LESSON = Path(__file__).resolve().parents[1] / "notebooks" / "07_modern_cnn.ipynb"
FINAL_HEADING = "## 18. Step 13"  # the race ends where this section begins


def race_only(notebook: Path, out: Path) -> Path:
    """A copy of lesson 07 that stops before the final model's section."""
    nb = nbformat.read(notebook, as_version=4)
    end = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith(FINAL_HEADING))
    nb.cells = nb.cells[:end]
    nbformat.write(nb, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="full", choices=["smoke", "quick", "full"])
    parser.add_argument("--data", type=Path, help="the course data folder")
    parser.add_argument("--json", type=Path, required=True, help="where the results go")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lesson07-race-") as tmp:
        folder = Path(tmp) / "notebooks"
        folder.mkdir()
        copy = race_only(LESSON, folder / LESSON.name)
        course = run_course(
            [Lesson("07", copy.stem, copy)],
            args.profile,
            out_base=Path(tmp) / "out",
            notebooks=folder,
            data_dir=args.data,
            command=" ".join(["python", "benchmarks/lesson07_race.py", *(argv or sys.argv[1:])]),
        )
        args.json.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(course.folder / "results.json", args.json)
        shutil.copy(course.folder / "results.md", args.json.with_suffix(".md"))
    print(f"{args.json}: {course.results[0].status}, {course.results[0].seconds:.0f} s")
    return course.exit_status


if __name__ == "__main__":
    sys.exit(main())
