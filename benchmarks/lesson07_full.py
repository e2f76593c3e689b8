"""Lesson 07's final model (step 6) alone, full profile: training time, images/s and test accuracy.

The notebook's whole full-profile run also trains steps 0-4 and an exercise; this script times only the final model,
as the lesson trains it: the same data split, pipeline, model (cc.models.modern_cnn), schedule and optimizer (keep
the two in step when either changes).

    CIFAR_COURSE_DATA=/path/to/data python benchmarks/lesson07_full.py            # 2-core CPU: the lesson's target
    python benchmarks/lesson07_full.py --epochs 2 --train-images 5000             # a short check
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def build(widths=(16, 32, 64, 128), peak_lr: float = 0.004, weight_decay: float = 0.05, total_steps: int = 1000):
    """The lesson's final model from cc.models, compiled as the lesson compiles it (AdamW, warm-up + cosine)."""
    import keras

    import cifar_course as cc

    cc.set_seeds(42)
    model = cc.models.modern_cnn(10, widths=tuple(widths))
    model.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate=cc.modern.warmup_cosine(peak_lr, total_steps, warmup_fraction=0.2), weight_decay=weight_decay
        ),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.2),
        metrics=["accuracy"],
    )
    return model


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=18)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--widths", default="16,32,64,128", help="stem and the three blocks")
    parser.add_argument("--peak-lr", type=float, default=0.004)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--precision", choices=["auto", "float32", "mixed_bfloat16"], default="auto")
    parser.add_argument("--train-images", type=int, default=None, help="use only this many training images")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    import numpy as np

    import cifar_course as cc

    policy = cc.config.set_precision(args.precision)  # auto: bf16 only on CPUs with bf16 instructions
    cc.set_seeds(42)
    data = cc.load_dataset("cifar10", profile="full")
    # as in the lesson: split, scale (all but the uint8 training images, which the pipeline scales), one-hot
    (x_train, y_int), (x_val, y_val_int) = cc.split_validation(data.x_train, data.y_train, fraction=0.1)
    x_train, y_int = x_train[: args.train_images], y_int[: args.train_images]
    x_val, x_test = cc.scale_pixels(x_val), cc.scale_pixels(data.x_test)
    y_train, y_val, y_test = (cc.one_hot(y, 10) for y in (y_int, y_val_int, data.y_test))

    w = [int(v) for v in args.widths.split(",")]
    steps = args.epochs * int(np.ceil(len(x_train) / args.batch))
    model = build(w, args.peak_lr, args.weight_decay, steps)
    batches = cc.modern.train_pipeline(x_train, y_train, args.batch, augment=True)
    print(
        f"{model.count_params():,} parameters, {policy}, {len(x_train):,} training images, "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    start = time.perf_counter()
    history = model.fit(
        batches,
        epochs=args.epochs,
        validation_data=(x_val, y_val),
        shuffle=False,  # the tf.data pipeline shuffles, as in the lesson
        verbose=2,
        callbacks=[cc.EpochTimer(len(x_train))],
    )
    train_seconds = time.perf_counter() - start
    plain = model.evaluate(x_test, y_test, batch_size=500, verbose=0)[1]
    tta = float(np.mean(cc.modern.predict_with_flip(model, x_test).argmax(axis=1) == data.y_test))
    result = {
        "params": int(model.count_params()),
        "precision": policy,
        "epochs": args.epochs,
        "batch": args.batch,
        "widths": w,
        "train_seconds": round(train_seconds, 1),
        "minutes_per_epoch": round(train_seconds / 60 / args.epochs, 2),
        "images_per_second": [round(v) for v in history.history["images_per_second"]],
        "val_accuracy": [round(v, 4) for v in history.history["val_accuracy"]],
        "test_accuracy_no_tta": round(float(plain), 4),
        "test_accuracy": round(tta, 4),
        "load_average_end": round(os.getloadavg()[0], 2),
        "data": data.source,
    }
    print(json.dumps(result))
    print(f"{train_seconds / 60:.1f} min of training, {result['minutes_per_epoch']} min per epoch")
    cc.print_accuracy("test", tta)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
