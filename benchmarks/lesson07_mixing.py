"""Lesson 07 §13's optional step measured on a longer budget than the lesson's: step 3's recipe (M3 with batch
normalization, flip + shift augmentation, Adamax on a warm-up + cosine schedule to 0.004, batch 128) trained alone,
with Keras's CutMix and with Keras's MixUp, for each seed, then tested on all 10,000 test images (no TTA).

    CIFAR_COURSE_DATA=/path/to/data python benchmarks/lesson07_mixing.py --json results/lesson07-mixing-avx2.json
    python benchmarks/lesson07_mixing.py --epochs 1 --train-images 1000 --seeds 1   # a short check

The JSON is written after every run, so a measurement cut short keeps what it finished. Every variant of a seed
starts from the same weights and sees the same batches before mixing (``cc.set_seeds``, the pipeline's seed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

VARIANTS = ("none", "cutmix", "mixup")
PEAK_LR = 0.004  # lesson 07 §7's STEP_PEAK_LR
BATCH_SIZE = 128  # lesson 07's full profile


def mixer(variant: str, seed: int):
    """The Keras layer that mixes a batch for ``variant`` (lesson 07 §13's settings), or None."""
    import cifar_course as cc

    if variant not in VARIANTS:
        raise SystemExit(f"--variants: {variant!r} is not one of {', '.join(VARIANTS)}")
    return None if variant == "none" else cc.modern.mixing_layer(variant, seed)


def train_one(variant: str, seed: int, x, y, x_val, y_val, x_test, y_test, epochs: int) -> dict:
    """Step 3's recipe with ``variant``'s mixing, trained and tested; its accuracy and time."""
    import keras
    import numpy as np

    import cifar_course as cc

    cc.set_seeds(seed)
    batches = cc.modern.train_pipeline(x, y, BATCH_SIZE, augment=True, seed=seed)
    mix = mixer(variant, seed)
    if mix is not None:
        batches = cc.modern.mix_batches(batches, mix)
    model = cc.models.m3(10, batch_norm=True, name=f"step3_{variant}")
    total_steps = epochs * int(np.ceil(len(x) / BATCH_SIZE))
    model.compile(
        optimizer=keras.optimizers.Adamax(learning_rate=cc.modern.warmup_cosine(PEAK_LR, total_steps)),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    history = model.fit(batches, epochs=epochs, validation_data=(x_val, y_val), verbose=2)
    seconds = time.perf_counter() - start
    predicted = model.predict(x_test, batch_size=500, verbose=0).argmax(axis=1)
    return {
        "variant": variant,
        "seed": seed,
        "epochs": epochs,
        "train_images": len(x),
        "test_accuracy": round(float(np.mean(predicted == y_test)), 4),
        "final_val_accuracy": round(float(history.history["val_accuracy"][-1]), 4),
        "final_train_accuracy": round(float(history.history["accuracy"][-1]), 4),
        "train_seconds": round(seconds, 1),
    }


def summary(runs: list[dict]) -> dict:
    """Per variant: mean test accuracy over the seeds, and its gain over "none" seed by seed, in points."""
    import numpy as np

    base = {r["seed"]: r["test_accuracy"] for r in runs if r["variant"] == "none"}
    found = {}
    for variant in dict.fromkeys(r["variant"] for r in runs):
        mine = [r for r in runs if r["variant"] == variant]
        gains = [round(100 * (r["test_accuracy"] - base[r["seed"]]), 2) for r in mine if r["seed"] in base]
        found[variant] = {
            "seeds": [r["seed"] for r in mine],
            "mean_test_accuracy": round(float(np.mean([r["test_accuracy"] for r in mine])), 4),
            "gain_points_by_seed": gains if variant != "none" else [],
            "mean_gain_points": round(float(np.mean(gains)), 2) if gains and variant != "none" else None,
        }
    return found


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--train-images", type=int, default=10_000)
    parser.add_argument("--seeds", type=int, default=2, help="seeds 0, 1, ...")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--json", help="write the results here (after every run)")
    args = parser.parse_args(argv)
    variants = args.variants.split(",")
    for variant in variants:
        mixer(variant, 0)  # an unknown variant stops here, before any training

    import cifar_course as cc

    policy = cc.set_precision("auto")  # as the lesson: bfloat16 only where the CPU has it
    data = cc.load_dataset("cifar10", profile="full")
    (x_train, y_train), (x_val, y_val) = cc.split_validation(data.x_train, data.y_train, fraction=0.1)
    x, y = x_train[: args.train_images], cc.one_hot(y_train[: args.train_images], 10)
    x_val, y_val = cc.scale_pixels(x_val), cc.one_hot(y_val, 10)
    x_test = cc.scale_pixels(data.x_test)
    result = {
        "what": "lesson 07 §13: step 3's recipe alone, with CutMix and with MixUp (Keras layers), same seeds",
        "command": "python benchmarks/lesson07_mixing.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        **cc.runtime.where_measured(),
        "precision": policy,
        "data": data.source,
        "settings": {"batch_size": BATCH_SIZE, "peak_lr": PEAK_LR, "cutmix_factor": 1.0, "mixup_alpha": 0.2},
        "runs": [],
    }
    for seed in range(args.seeds):
        for variant in variants:
            run = train_one(variant, seed, x, y, x_val, y_val, x_test, data.y_test, args.epochs)
            print(json.dumps(run), flush=True)
            result["runs"].append(run)
            result["summary"] = summary(result["runs"])
            result["finished"] = dt.datetime.now().isoformat(timespec="seconds")
            if args.json:
                Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
    main()
