"""Lesson 07's final model under TensorFlow's settings (issue 30): thread pools and data layout, each in a fresh
process, in rounds, so that a machine slowing down during the run shows as spread rather than as a winner.

    CIFAR_COURSE_DATA=/path/to/data python benchmarks/lesson07_settings.py --json results/lesson07-settings-bf16.json
    python benchmarks/lesson07_settings.py --images 256 --rounds 1 --settings default,channels_first   # a check

Each setting trains the final model (``cc.models.airbench_cnn``, 64-256-256, whitening from the images) for two
epochs of ``--images`` images at ``--batch`` (``precision="auto"``, as the lessons) and reports the second epoch's
images/s: ``--feed memory`` fits scaled in-memory arrays (the speed probe of lesson07_budget.py), ``--feed pipeline``
the lesson's own training pipeline and recipe (``cc.modern.final_recipe``: augmentation in tf.data, lookahead).
Threads are fixed when TensorFlow starts, hence a process per run:

- ``default``: TensorFlow's own choice (intra-op and inter-op pools sized by the cores);
- ``intra2-inter1``, ``intra1-inter2``, ``intra4-inter1``: the two pools set by
  ``tf.config.threading`` before anything runs (4 = more threads than cores);
- ``channels_first``: the same network in NCHW layout (``keras.config.set_image_data_format``, batch
  normalization over axis 1), the images transposed once before the fit.

The JSON holds every run, the median per setting, and each setting's median against ``default``'s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SETTINGS = {
    "default": {},
    "intra2-inter1": {"intra": 2, "inter": 1},
    "intra1-inter2": {"intra": 1, "inter": 2},
    "intra4-inter1": {"intra": 4, "inter": 1},
    "channels_first": {"layout": "channels_first"},
}


def channels_first_model(model):
    """The same network cloned in NCHW (``keras.models.clone_model``): every layer with a data format reads channels
    first, batch normalization (the only layer here with an ``axis``) normalizes axis 1; weights copied (the kernels'
    shapes do not depend on the layout)."""
    import keras

    def channels_first(layer):
        config = layer.get_config()
        config.update({k: v for k, v in (("data_format", "channels_first"), ("axis", 1)) if k in config})
        return type(layer).from_config(config)

    height, width, channels = model.input_shape[1:]
    nchw = keras.models.clone_model(
        model, input_tensors=keras.Input((channels, height, width)), clone_function=channels_first
    )
    for old, new in zip(model.layers, nchw.layers):
        new.set_weights(old.get_weights())
    return nchw


def pipeline_speed(x, y, whitening, batch: int) -> float:
    """Images/s of the second of two epochs of the final recipe as the lesson sets it up (``cc.modern.final_recipe``:
    its model, pipeline and callbacks) on uint8 images ``x``."""
    import cifar_course as cc

    model, batches, callbacks = cc.modern.final_recipe(x, y, whitening, 2, batch)
    model.fit(batches, epochs=2, verbose=0, callbacks=[cc.EpochTimer(len(x)), *callbacks])
    return round(model.history.history["images_per_second"][-1], 1)


def run_one(setting: str, images: int, batch: int, feed: str = "memory") -> dict:
    """One setting in this process (TensorFlow not yet started): the final model's images/s."""
    import tensorflow as tf

    options = SETTINGS[setting]
    if "intra" in options:
        tf.config.threading.set_intra_op_parallelism_threads(options["intra"])
        tf.config.threading.set_inter_op_parallelism_threads(options["inter"])
    import keras
    import numpy as np

    import cifar_course as cc

    sys.path.insert(0, str(Path(__file__).parent))
    from lesson07_budget import probe_speed

    policy = cc.set_precision("auto")
    data = cc.load_dataset("cifar10", profile="full")
    x, y = cc.scale_pixels(data.x_train[:images]), cc.one_hot(data.y_train[:images], 10)
    whitening = cc.modern.patch_whitening(data.x_train[:images])
    cc.set_seeds(42)
    if feed == "pipeline":
        if options.get("layout") == "channels_first":
            raise SystemExit("channels_first: only with --feed memory (the pipeline yields channels-last batches).")
        speed = pipeline_speed(data.x_train[:images], y, whitening, batch)
    else:
        model = cc.models.airbench_cnn(whitening, 10)
        if options.get("layout") == "channels_first":
            keras.config.set_image_data_format("channels_first")
            model, x = channels_first_model(model), np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        speed = probe_speed(model, x, y, batch)
    return {
        "setting": setting,
        "feed": feed,
        "images_per_second": speed,
        "precision": policy,
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "data_format": keras.config.image_data_format(),
        "load_average": round(os.getloadavg()[0], 2),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--settings", default=",".join(SETTINGS), help=f"comma-separated, of {', '.join(SETTINGS)}")
    parser.add_argument("--images", type=int, default=4096, help="in-memory images per epoch (default 4096)")
    parser.add_argument("--batch", type=int, default=1024, help="batch size (default 1024, issue 30's points')")
    parser.add_argument("--rounds", type=int, default=2, help="times each setting runs, in alternating order")
    parser.add_argument(
        "--feed", choices=["memory", "pipeline"], default="memory", help="in-memory arrays or the lesson's pipeline"
    )
    parser.add_argument("--json", help="write the results to this file (after every run)")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # one run, in a fresh process
    args = parser.parse_args(argv)
    settings = [s for s in args.settings.split(",") if s]
    unknown = [s for s in settings if s not in SETTINGS]
    if unknown:
        raise SystemExit(f"--settings: {', '.join(unknown)} not among {', '.join(SETTINGS)}.")
    if args.child:
        print("RESULT " + json.dumps(run_one(args.child, args.images, args.batch, args.feed)), flush=True)
        return 0

    import cifar_course as cc

    result = {
        "command": "python benchmarks/lesson07_settings.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        **cc.runtime.where_measured(),
        "model": "final model (airbench_cnn 64-256-256), second of two epochs",
        "feed": args.feed,
        "images": args.images,
        "batch": args.batch,
        "runs": [],
    }
    for round_ in range(args.rounds):
        for setting in settings if round_ % 2 == 0 else settings[::-1]:  # alternate the order: drift hits all
            child = [sys.executable, __file__, "--child", setting, "--images", str(args.images), "--feed", args.feed]
            done = subprocess.run([*child, "--batch", str(args.batch)], capture_output=True, text=True)
            line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
            if done.returncode or line is None:
                raise SystemExit(f"setting {setting} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
            result["runs"].append({"round": round_ + 1, **json.loads(line.removeprefix("RESULT "))})
            print(result["runs"][-1], flush=True)
            medians = {
                s: statistics.median(r["images_per_second"] for r in result["runs"] if r["setting"] == s)
                for s in settings
                if any(r["setting"] == s for r in result["runs"])
            }
            result["median_images_per_second"] = medians
            if "default" in medians:
                result["against_default"] = {s: round(v / medians["default"], 3) for s, v in medians.items()}
            result["finished"] = dt.datetime.now().isoformat(timespec="seconds")
            if args.json:
                Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
