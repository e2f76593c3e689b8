"""The reference models' published numbers and the reference code's numbers measured on this project's machine."""

from __future__ import annotations

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
    {  # lesson 07's final model until 2026-12 (runs saved before then)
        "model": "modern_cnn",
        "lesson": "07",
        "epochs": None,
        "reported_test": None,
        "reported_val": None,
        "measured_jpeg_test": None,
        "measured_seconds": None,
    },
    {  # lesson 07's final model from 2026-12-04 to 2026-12-05 (runs saved then)
        "model": "whitened_cnn",
        "lesson": "07",
        "epochs": None,
        "reported_test": None,
        "reported_val": None,
        "measured_jpeg_test": None,
        "measured_seconds": None,
    },
    {  # lesson 07's final model
        "model": "airbench_cnn",
        "lesson": "07",
        "epochs": None,
        "reported_test": None,
        "reported_val": None,
        "measured_jpeg_test": None,
        "measured_seconds": None,
    },
]


def reference_for(model: str | None) -> dict | None:
    """The reference entry of a run's model: 'R1' matches 'R1' and 'R1_baseline'; None for other models."""
    for ref in REFERENCE:
        if model and (model == ref["model"] or model.startswith(ref["model"] + "_")):
            return ref
    return None
