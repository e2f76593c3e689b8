"""The race of lessons 07 and 08 (steps 0-12), as the lessons run it, recorded for the pages that show it.

The `quick` profile does not train the wide networks of lesson 08's steps 8-12 (each takes one to two minutes on a
laptop's CPU); the lesson shows the course's recorded `full` race for them instead. This script records that race:
it runs lesson 07 (steps 0-7) and lesson 08's own cells up to its final model (step 13, which
`benchmarks/lesson07_full.py` times alone), each in a fresh kernel through the course's runner, with model runs in a
temporary folder, and writes the runner's results (machine, versions, every step's saved run) to a JSON file in
`results/`, which `cc.reference` reads. (The file keeps its name from when steps 0-13 were all lesson 07.)

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

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
RECIPE, ARCHITECTURE = NOTEBOOKS / "07_training_recipe.ipynb", NOTEBOOKS / "08_architecture.ipynb"
FINAL_HEADING = "## 11. Step 13"  # lesson 08's race ends where this section begins


def race_only(notebook: Path, out: Path) -> Path:
    """A copy of lesson 08 that stops before the final model's section."""
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
    with tempfile.TemporaryDirectory(prefix="lessons07-08-race-") as tmp:
        folder = Path(tmp) / "notebooks"
        folder.mkdir()
        shutil.copy(RECIPE, folder / RECIPE.name)
        copy = race_only(ARCHITECTURE, folder / ARCHITECTURE.name)
        course = run_course(
            [Lesson("07", RECIPE.stem, folder / RECIPE.name), Lesson("08", copy.stem, copy)],
            args.profile,
            out_base=Path(tmp) / "out",
            notebooks=folder,
            data_dir=args.data,
            command=" ".join(["python", "benchmarks/lesson07_race.py", *(argv or sys.argv[1:])]),
        )
        args.json.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(course.folder / "results.json", args.json)
        shutil.copy(course.folder / "results.md", args.json.with_suffix(".md"))
    for result in course.results:
        print(f"{args.json}: lesson {result.lesson} {result.status}, {result.seconds:.0f} s")
    return course.exit_status


if __name__ == "__main__":
    sys.exit(main())
