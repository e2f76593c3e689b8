"""Time lesson 05 (transfer learning) on a machine without ImageNet weights: times only, no accuracies.

How long each step of lesson 05 takes depends on the shapes of its networks' weights (VGG16, and EfficientNetV2B0 in
section 12), not on their values. Offline (as on the course's development machine) the lesson cannot get the
ImageNet weights, so this script writes weights files with the layouts of VGG16 and EfficientNetV2B0 and RANDOM
values to a temporary folder, runs the lesson with them through `cifar-course run --only 05` (model runs go to that
temporary folder too, never to runs/), and reports:

- the lesson's run time, the time of each of its sections (from the executed notebook's cell timings), and the
  times it prints (feature extraction, epochs, the cached/end-to-end comparison, EfficientNetV2B0's speed per
  image at two input sizes and its fine-tuning);
- nothing about accuracy: with random weights the accuracies mean nothing, and they are left out on purpose.

The feature files the lesson caches with these random weights are deleted at the end.

    python benchmarks/lesson05_timing.py --profile full --data /path/to/data --json lesson05-timing.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from cifar_course.folders import cache_dir

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Printed lines of lesson 05 that carry times or speeds, never accuracies.
TIME_LINES = re.compile(
    r"(computed \(|computing them took|features once is|\d+m?s - \d+m?s/step|Precision:|ms per image|the time of)"
)
EFFNET_SPEED = re.compile(r"^(\d+)x\d+: ([\d.]+) ms per image")  # section 12.1: "64x64: 3.2 ms per image, ..."


def write_random_vgg16_weights(path: Path) -> None:
    """VGG16 without its top, random weights, saved in Keras's format (the layout lesson 05 loads)."""
    import keras

    keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3)).save_weights(path)


def write_random_effnet_weights(path: Path) -> None:
    """EfficientNetV2B0 without its top, random weights, saved in Keras's format (the layout lesson 05 §12 loads)."""
    import keras

    keras.applications.EfficientNetV2B0(
        include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg", include_preprocessing=True
    ).save_weights(path)


def random_weights_env(tmp: Path) -> dict[str, str]:
    """The environment for lessons on RANDOM weights: weights files of VGG16's and EfficientNetV2B0's layouts in
    ``tmp``, runs there."""
    vgg16 = tmp / "vgg16_notop_RANDOM_layout_only.weights.h5"
    effnet = tmp / "efficientnetv2-b0_notop_RANDOM_layout_only.weights.h5"
    write_random_vgg16_weights(vgg16)
    write_random_effnet_weights(effnet)
    return {
        **os.environ,
        "CIFAR_COURSE_VGG16_WEIGHTS": str(vgg16),
        "CIFAR_COURSE_EFFNET_WEIGHTS": str(effnet),
        "CIFAR_COURSE_RUNS": str(tmp / "runs"),
    }


def timing_lines(executed: Path) -> list[str]:
    """The lines of an executed lesson 05 that report times or speeds (accuracies dropped)."""
    nb = json.loads(executed.read_text())
    lines = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text = out.get("text") or "".join(out.get("data", {}).get("text/plain", ""))
            text = "".join(text) if isinstance(text, list) else text
            for line in text.splitlines():
                line = re.sub(r"\s*-\s*(val_)?(accuracy|loss): [0-9.e+-]+", "", line.split("\r")[-1]).strip()
                if TIME_LINES.search(line) and "accuracy" not in line:
                    lines.append(line)
    return lines


def section_seconds(executed: Path) -> dict[str, float]:
    """Seconds per section of an executed lesson ("setup", "1", ... "12", "Recap"), from nbclient's cell timings."""
    nb = json.loads(executed.read_text())
    seconds: dict[str, float] = {}
    section = "setup"
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        heading = re.match(r"## (\d+)\.|## (\w+)", text) if cell["cell_type"] == "markdown" else None
        if heading:
            section = heading.group(1) or heading.group(2)
        timing = cell.get("metadata", {}).get("execution", {})
        start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if start and end:
            took = datetime.fromisoformat(end.replace("Z", "+00:00")) - datetime.fromisoformat(
                start.replace("Z", "+00:00")
            )
            seconds[section] = round(seconds.get(section, 0.0) + took.total_seconds(), 1)
    return seconds


def effnet_ms_per_image(lines: list[str]) -> dict[str, float]:
    """EfficientNetV2B0's forward pass in ms per image by input size, as section 12.1 printed it."""
    return {m.group(1): float(m.group(2)) for m in map(EFFNET_SPEED.match, lines) if m}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=["smoke", "quick", "full"], default="full")
    parser.add_argument("--data", help="the course data folder (as for cifar-course run --data)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--executed", help="also keep the executed notebook here (its accuracies mean nothing)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="lesson05-timing-") as tmp:
        tmp = Path(tmp)
        env = random_weights_env(tmp)
        # Fresh random weights never match a cached feature file, so the lesson computes its features as on a
        # student's first run; the files it caches are deleted afterwards (they are up to 2 GB in full).
        features = cache_dir() / "features"
        before = set(features.glob("*.npz"))
        command = [
            sys.executable,
            "-m",
            "cifar_course",
            "run",
            "--profile",
            args.profile,
            "--only",
            "05",
            "--out",
            str(tmp / "course"),
            "--no-progress",
        ] + (["--data", args.data] if args.data else [])
        try:
            status = subprocess.run(command, env=env).returncode
        finally:
            for path in set(features.glob("*.npz")) - before:
                path.unlink()
        results = json.loads(next((tmp / "course").glob("course-*/results.json")).read_text())
        lesson = results["lessons"][0]
        executed = Path(lesson["executed"]) if lesson["executed"] else None
        lines = timing_lines(executed) if executed else []
        if executed and args.executed:
            shutil.copyfile(executed, args.executed)
        report = {
            "profile": args.profile,
            "status": lesson["status"],
            "seconds": lesson["seconds"],
            "machine": results["machine"],
            "versions": results["versions"],
            "data": results["data"],
            "started": results["started"],
            "weights": "RANDOM values in VGG16's and EfficientNetV2B0's layouts (timing only)",
            "section_seconds": section_seconds(executed) if executed else {},
            "effnet_ms_per_image": effnet_ms_per_image(lines),
            "timing_lines": lines,
            "command": f"python benchmarks/lesson05_timing.py --profile {args.profile}"
            + (f" --data {args.data}" if args.data else ""),
        }
    print(
        f"\nlesson 05, profile {args.profile}: {report['status']} in {report['seconds']:.0f} s "
        f"({report['seconds'] / 60:.1f} min); weights: {report['weights']}"
    )
    print("   seconds per section:", report["section_seconds"])
    for line in report["timing_lines"]:
        print("  ", line)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
