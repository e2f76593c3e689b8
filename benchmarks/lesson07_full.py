"""Lesson 08's final model alone, full profile: training time, images/s, test accuracy, and the speed of the models
it is compared with, all in one run on one machine. (Its name is from when the final model was lesson 07's.)

The notebook's whole full-profile run also trains steps 8-12, a ResNet and M3; this script trains only the final
model (step 13) as the lesson does: the same split, pipeline (alternating flips), whitening, model
(cc.models.airbench_cnn) and recipe (cc.modern.compile_airbench: batch-norm shifts at 64x, the triangular schedule,
peak 0.75 at batch 512; cc.modern.Lookahead). Then it times lesson 04's M3 (its lesson's settings: float32,
batch 32) and steps 8-9's wide network (cc.models.whitened_cnn, batch 512), so the ratios of training speed hold
on any machine.

    CIFAR_COURSE_DATA=/path/to/data python benchmarks/lesson07_full.py --json results/lesson07-final-model.json
    python benchmarks/lesson07_full.py --epochs 1 --train-images 5000 --compare-epochs 0   # a short check
    ONEDNN_MAX_CPU_ISA=AVX2 python benchmarks/lesson07_full.py ...   # as on a CPU without bfloat16 (float32)

The speed ratios compare the final model's median epoch with the last of --compare-epochs epochs of each other
model (on --compare-images images): both traced and warm.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def images_per_second(build, x, y, batch_size: int, epochs: int, precision: str) -> dict:
    """Train a model from ``build()`` for ``epochs`` on (x, y) under ``precision``; its measured speed."""
    import keras

    import cifar_course as cc

    policy = cc.set_precision(precision)  # auto: mixed_bfloat16 on CPUs with bf16 instructions
    cc.set_seeds(42)
    model = build()
    model.compile(  # lesson 04's optimizer and loss for both: the speed of a step hardly depends on them
        optimizer=keras.optimizers.Adamax(learning_rate=0.001), loss="categorical_crossentropy", steps_per_execution=32
    )
    timer = cc.EpochTimer(len(x))
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=2, callbacks=[timer])
    speed = model.history.history["images_per_second"][-1]  # the last epoch: traced and warm, as in a long run
    return {"name": model.name, "precision": policy, "batch": batch_size, "images_per_second": round(speed)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, help="default: the lesson's, cc.modern.FINAL_EPOCHS (full profile)")
    parser.add_argument("--precision", choices=["auto", "float32", "mixed_bfloat16"], default="auto")
    parser.add_argument("--train-images", type=int, default=None, help="use only this many training images")
    parser.add_argument("--peak-lr", type=float, help="default: the lesson's, cc.modern.airbench_peak_lr(batch)")
    parser.add_argument("--compare-epochs", type=int, default=2, help="epochs to time the other models (0: skip)")
    parser.add_argument("--compare-images", type=int, default=10_000, help="training images to time them on")
    parser.add_argument(
        "--recipe",
        choices=["step13", "step11", "step10"],
        default="step13",
        help="step13 (the final model's, default); step11: without lookahead, triangular schedule and alternating "
        "flips; step10: without the shifts' 64x learning rate too (for the accuracy-against-time curve)",
    )
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--save", help="also save the trained model to this .keras file (never over an existing one)")
    args = parser.parse_args(argv)

    import numpy as np

    import cifar_course as cc

    if args.save and Path(args.save).exists():
        parser.error(f"{args.save} exists already: choose another file name for --save")
    policy = cc.set_precision(args.precision)  # auto: bf16 only on CPUs with bf16 instructions
    cc.set_seeds(42)
    data = cc.load_dataset("cifar10", profile="full")
    # as in the lesson: split, scale (all but the uint8 training images, which the pipeline scales), one-hot
    (x_train, y_int), (x_val, y_val_int) = cc.split_validation(data.x_train, data.y_train, fraction=0.1)
    x_train, y_int = x_train[: args.train_images], y_int[: args.train_images]
    x_val, x_test = cc.scale_pixels(x_val), cc.scale_pixels(data.x_test)
    y_train, y_val, y_test = (cc.one_hot(y, 10) for y in (y_int, y_val_int, data.y_test))

    batch = cc.modern.FINAL_BATCH_SIZE  # the lesson's, in full
    args.epochs = args.epochs or cc.modern.FINAL_EPOCHS
    peak = args.peak_lr or cc.modern.airbench_peak_lr(batch)
    whitening = cc.modern.patch_whitening(x_train)
    steps = args.epochs * int(np.ceil(len(x_train) / batch))
    cc.set_seeds(42)
    final = args.recipe == "step13"
    bias_scale = 1.0 if args.recipe == "step10" else 64.0
    if final:  # the lesson's step 13, from the function its last step calls
        model, batches, callbacks = cc.modern.final_recipe(x_train, y_train, whitening, args.epochs, batch, peak)
    else:  # the lesson's steps 10 and 11: warm-up + cosine, random flips, no lookahead
        model = cc.models.airbench_cnn(whitening, 10)
        model = cc.modern.compile_airbench(model, peak, steps, bias_scale=bias_scale, triangular=False)
        batches, callbacks = cc.modern.train_pipeline(x_train, y_train, batch, augment=True, pad=2), []
    callbacks = [cc.EpochTimer(len(x_train)), *callbacks]
    machine = cc.machine()
    print(
        f"{model.count_params():,} parameters, {policy}, peak lr {peak:.3g}, {len(x_train):,} training images, "
        f"{machine}, load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    start = time.perf_counter()
    history = model.fit(
        batches,
        epochs=args.epochs,
        validation_data=(x_val, y_val),
        shuffle=False,  # the tf.data pipeline shuffles, as in the lesson
        verbose=2,
        callbacks=callbacks,
    )
    train_seconds = time.perf_counter() - start
    if args.save:
        model.save(args.save)

    def accuracy(**tta):
        return round(float(np.mean(cc.modern.predict_tta(model, x_test, **tta).argmax(axis=1) == data.y_test)), 4)

    result = {
        "model": model.name,
        "params": int(model.count_params()),
        "precision": policy,
        **cc.runtime.where_measured(),
        "recipe": args.recipe,
        "epochs": args.epochs,
        "batch": batch,
        "peak_lr": round(peak, 5),
        "train_images": len(x_train),
        "train_seconds": round(train_seconds, 1),
        "minutes_per_epoch": round(train_seconds / 60 / args.epochs, 2),
        "images_per_second": [round(v) for v in history.history["images_per_second"]],
        "val_accuracy": [round(v, 4) for v in history.history["val_accuracy"]],
        "test_accuracy_no_tta": accuracy(flip=False),
        "test_accuracy_flip_tta": accuracy(flip=True),
        "test_accuracy": accuracy(flip=True, translate=1),
        "tta": "flip+shift (6 views)",
        "load_average_end": round(os.getloadavg()[0], 2),
        "data": data.source,
    }
    print(json.dumps(result), flush=True)  # the final model's figures, before the comparison runs
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    if args.compare_epochs:
        x_few, y_few = cc.scale_pixels(x_train[: args.compare_images]), y_train[: args.compare_images]
        others = [  # (model, batch, precision, the epochs of its lesson's full run)
            (lambda: cc.models.m3(10), 32, "float32", 20),
            (lambda: cc.models.whitened_cnn(whitening, 10), 512, "auto", 10),
        ]
        result["compared"] = [
            images_per_second(build, x_few, y_few, batch, args.compare_epochs, precision) | {"epochs": epochs}
            for build, batch, precision, epochs in others
        ]
        final_speed = float(np.median(history.history["images_per_second"]))  # its typical epoch
        for entry in result["compared"]:
            entry["final_model_speed_ratio"] = round(final_speed / entry["images_per_second"], 2)
            # the training time its full run would take at the speed measured here, on as many images
            entry["minutes_at_this_speed"] = round(entry["epochs"] * len(x_train) / entry["images_per_second"] / 60, 1)
        print(json.dumps(result["compared"]))
    print(f"{train_seconds / 60:.1f} min of training, {result['minutes_per_epoch']} min per epoch")
    cc.print_accuracy("test", result["test_accuracy"])
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
