"""The reference models' published numbers and the reference code's numbers measured on this project's machine."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .runs import current_lesson

# test/val accuracy as fractions. "reported": the published tutorial on the official arrays.
# "measured_jpeg": the reference code as written, on the JPEG copy of CIFAR-10, 2 CPU cores
# (see shared/spec/reference-models.md); None where not measured.
REFERENCE = [
    {
        "model": "R1",
        "lesson": "02",
        "params": 122_570,
        "epochs": 10,
        "reported_test": 0.703,
        "reported_val": None,
        "measured_jpeg_test": 0.674,
        "measured_seconds": 298,
    },
    {
        "model": "M1",
        "lesson": "03",
        "params": 2_105_066,
        "epochs": 10,
        "reported_test": None,
        "reported_val": 0.695,
        "measured_jpeg_test": 0.643,
        "measured_seconds": 612,
    },
    {
        "model": "M2",
        "lesson": "03",
        "params": 2_105_066,
        "epochs": 10,
        "reported_test": None,
        "reported_val": 0.689,
        "measured_jpeg_test": 0.650,
        "measured_seconds": 529,
    },
    {
        "model": "M3",
        "lesson": "04",
        "params": 1_084_234,
        "epochs": 15,
        "reported_test": None,
        "reported_val": 0.784,
        "measured_jpeg_test": 0.748,
        "measured_seconds": 644,
    },
    {
        "model": "M4",
        "lesson": "05",
        "params": None,
        "epochs": 10,
        "reported_test": 0.79,
        "reported_val": 0.794,
        "measured_jpeg_test": None,
        "measured_seconds": None,
    },
]

# Models the course adds beyond the references: comparison tables show them after the reference models,
# with no reference numbers beside them.
COURSE_MODELS = [
    {  # lesson 07's (now 08's) final model until 2026-12-03, retired (stem + 3 pooling blocks, 293,882 parameters);
        # its runs still load: Keras rebuilds the model from the run's model.keras, no code of the course needed
        "model": "modern_cnn",
        "lesson": "08",
        "epochs": None,
        "reported_test": None,
        "reported_val": None,
        "measured_jpeg_test": None,
        "measured_seconds": None,
    },
    {  # lesson 07's (now 08's) final model on 2026-12-04 and 05, retired: now steps 8 and 9 (cc.models.whitened_cnn)
        "model": "whitened_cnn",
        "lesson": "08",
        "epochs": None,
        "reported_test": None,
        "reported_val": None,
        "measured_jpeg_test": None,
        "measured_seconds": None,
    },
    {  # lesson 08's final model (step 13: cc.models.airbench_cnn, cc.modern.final_recipe)
        "model": "airbench_cnn",
        "lesson": "08",
        "epochs": None,
        "reported_test": None,
        "reported_val": None,
        "measured_jpeg_test": None,
        "measured_seconds": None,
    },
]


def reference_for(model: str | None) -> dict | None:
    """The reference entry of a run's model: 'R1' matches 'R1' and 'R1_baseline'; None for other models (used by
    the tools)."""
    for ref in REFERENCE:
        if model and (model == ref["model"] or model.startswith(ref["model"] + "_")):
            return ref
    return None


@dataclass(frozen=True)
class Recorded:
    """One model run that the course recorded in ``results/`` (``cifar-course run``), with where and when (lesson 07
    §4)."""

    lesson: str
    model: str
    profile: str
    epochs: int
    val_accuracy: float
    test_accuracy: float
    train_seconds: float
    precision: str
    machine: str
    date: str
    params: int | None = None
    images_per_second: float | None = None
    step: int | None = None  # lesson 07's step number
    adds: str = ""  # lesson 07: what the step adds
    tta: dict[str, float] | None = None  # lesson 07: test accuracy per test-time augmentation ("none", "flip", ...)
    variant: str = ""  # an optional change to the step (lesson 07 §13's "cutmix"): not the step itself

    @property
    def where(self) -> str:
        """'full profile, AMD EPYC with bfloat16 instructions, 2026-12-06': the words a page puts beside the number."""
        parts = self.machine.split(", ")  # "x86_64, 2 CPU cores, Linux[, AMD EPYC, with bfloat16 instructions]"
        cores = parts[1].split()[0] if len(parts) > 1 and parts[1].endswith("CPU cores") else "?"
        cpu = ", ".join(parts[3:]) or "CPU model not recorded"
        return f"{self.profile} profile, {cores} cores, {cpu}, {self.date[:10]}"


def _results_folder() -> Path | None:
    """The course's ``results/`` folder (what the course measured), in a copy of its repository; None elsewhere."""
    for root in (Path(__file__).resolve().parents[1], Path.cwd().parent, Path.cwd()):
        if (root / "results" / "README.md").is_file():
            return root / "results"
    return None


def recorded_runs(lesson: str, profile: str = "full") -> list[Recorded]:
    """The runs of one lesson recorded in ``results/course-run-<profile>*.json``, newest record first (lessons 03, 04
    and 07 show them beside the student's own run); an empty list where the results folder is not at hand (lesson 07
    §4) (lesson 07 §4)."""
    folder = _results_folder()
    if folder is None:
        return []
    found = []
    for path in folder.glob(f"course-run-{profile}*.json"):
        record = json.loads(path.read_text())
        if "limited to" in record.get("machine", ""):  # ONEDNN_MAX_CPU_ISA: an estimate, not a laptop's record
            continue
        for entry in record.get("lessons", []):
            for run in entry.get("saved_runs", []):
                numbering = int(run.get("numbering") or 1)  # records made before lesson 07 was split: 1
                if current_lesson(entry.get("lesson", ""), run["model"], run.get("step"), numbering) != lesson:
                    continue
                found.append(
                    Recorded(
                        lesson=lesson,
                        model=run["model"],
                        profile=run["profile"],
                        epochs=int(run["epochs"]),
                        val_accuracy=float(run["val_accuracy"]),
                        test_accuracy=float(run["test_accuracy"]),
                        train_seconds=float(run["train_seconds"]),
                        precision=run.get("precision", "float32"),
                        machine=run.get("machine") or record.get("machine", ""),
                        date=run.get("date", record.get("started", "")),
                        params=run.get("params"),
                        images_per_second=run.get("images_per_second"),
                        step=run.get("step"),
                        adds=run.get("adds", ""),
                        tta=run.get("test_accuracy_tta"),
                        variant=run.get("variant") or "",
                    )
                )
    return sorted(found, key=lambda r: r.date, reverse=True)


def recorded(lesson: str, model: str, profile: str = "full") -> Recorded | None:
    """The newest recorded run of ``model`` (its name, or its name's start: 'M1' finds 'M1_first_cnn'), or None
    (lesson 03 §7)."""
    for run in recorded_runs(lesson, profile):
        if run.model == model or run.model.startswith(model + "_"):
            return run
    return None
