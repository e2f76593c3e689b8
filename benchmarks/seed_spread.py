"""How much a reference model's accuracy moves with the random seed: R1 (lesson 02) or M3 (lesson 04), full profile.

Trains the model as its lesson does (stratified 10% validation split, pixels / 255, the reference optimizer,
batch 32, 32 steps per execution) once per seed and prints the validation and test accuracy of each run, so a
target such as "R1 >= 67% test" can be read against the run-to-run spread instead of a single run.

    CIFAR_COURSE_DATA=/path/to/data python benchmarks/seed_spread.py r1 --seeds 1 2 3
    python benchmarks/seed_spread.py m3 --seeds 1 2 --epochs 20 --json m3.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def train_once(model_name: str, data, seed: int, epochs: int) -> dict:
    """One run of the lesson's recipe with this seed: validation and test accuracy, seconds of training."""
    import keras

    import cifar_course as cc
    from cifar_course import models

    cc.set_seeds(seed)
    sparse = model_name == "r1"  # R1 keeps integer labels and logits; M3 ends in softmax with one-hot labels
    y_all = data.y_train if sparse else cc.one_hot(data.y_train, data.num_classes)
    (x_train, y_train), (x_val, y_val) = cc.split_validation(cc.scale_pixels(data.x_train), y_all, fraction=0.1)
    y_test = data.y_test if sparse else cc.one_hot(data.y_test, data.num_classes)
    if sparse:
        model = models.r1(data.num_classes)
        model.compile(
            optimizer=keras.optimizers.Adam(),
            metrics=["accuracy"],
            steps_per_execution=32,
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
    else:
        model = models.m3(data.num_classes)
        model.compile(
            optimizer=keras.optimizers.Adamax(learning_rate=0.001),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
            steps_per_execution=32,
        )
    start = time.perf_counter()
    history = model.fit(
        x_train, y_train, epochs=epochs, batch_size=32, shuffle=True, validation_data=(x_val, y_val), verbose=0
    )
    seconds = time.perf_counter() - start
    return {
        "seed": seed,
        "train_seconds": round(seconds, 1),
        "val_accuracy": [round(v, 4) for v in history.history["val_accuracy"]],
        "test_accuracy": round(float(model.evaluate(cc.scale_pixels(data.x_test), y_test, verbose=0)[1]), 4),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", choices=["r1", "m3"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--epochs", type=int, help="default: the lesson's full profile (R1 10, M3 20)")
    parser.add_argument("--precision", choices=["float32", "mixed_bfloat16", "auto"], default="float32")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    import cifar_course as cc

    epochs = args.epochs or {"r1": 10, "m3": 20}[args.model]
    policy = cc.set_precision(args.precision)
    data = cc.load_dataset("cifar10", profile="full", download=False)
    print(f"{args.model.upper()}, {epochs} epochs, {policy}, data: {data.source}, machine: {cc.machine()}", flush=True)
    runs = []
    for seed in args.seeds:
        run = train_once(args.model, data, seed, epochs)
        runs.append(run)
        print(
            f"seed {seed}: validation {run['val_accuracy'][-1]:.4f} (best {max(run['val_accuracy']):.4f}), "
            f"test {run['test_accuracy']:.4f}, {run['train_seconds']:.0f} s",
            flush=True,
        )
    tests = [r["test_accuracy"] for r in runs]
    summary = {
        "model": args.model.upper(),
        "epochs": epochs,
        "precision": policy,
        "data": data.source,
        "machine": cc.machine(),
        "versions": cc.versions(),
        "runs": runs,
        "test_mean": round(statistics.mean(tests), 4),
        "test_min": min(tests),
        "test_max": max(tests),
    }
    print(
        f"test accuracy over {len(tests)} seeds: mean {summary['test_mean']:.4f}, "
        f"min {summary['test_min']:.4f}, max {summary['test_max']:.4f}"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
