"""Training throughput (images/s) of the lessons' models on this machine.

Models: R1, M1, M2, M3, frozen VGG16 + M4; settings: batch size, input pipeline, precision, threads.

Short runs only: each configuration trains one warm-up epoch (tracing, caches) and then ``--repeats``
timed epochs of ``--images`` images (a few hundred steps at batch 32); the median is reported.
On a shared machine the numbers are noisy: use ``--rounds`` to interleave repeats, and compare medians
taken in the same session. What the course measured with it is in results/throughput.md.

    python benchmarks/throughput.py                       # R1 and M3, the default grid
    python benchmarks/throughput.py --models r1 --batches 32 128 --json out.json
    python benchmarks/throughput.py --pipelines numpy --steps-per-execution 1 32 --rounds 2
    python benchmarks/throughput.py --threads 1 1 --precisions float32    # thread pools (one setting per process)

The grid is every combination of --batches, --pipelines (NumPy arrays, or tf.data with cache + prefetch),
--precisions (float32, mixed_bfloat16: fast only on CPUs with bf16 instructions, avx512_bf16 or amx_bf16;
shown below whether this one has them) and --steps-per-execution (batches per call into TensorFlow).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def cpu_flags() -> dict:
    """CPU model, core count and whether it has bf16 instructions (Linux /proc/cpuinfo)."""
    model, flags = platform.processor() or "?", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model in ("?", "", "x86_64"):
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "avx512_bf16": "avx512_bf16" in flags,
        "amx_bf16": "amx_bf16" in flags,
        "avx512f": "avx512f" in flags,
    }


def load_arrays(n: int):
    """n training images (real CIFAR-10 when the course finds it, else the synthetic stand-in), scaled."""
    import cifar_course as cc

    try:
        data = cc.load_dataset("cifar10", profile="full", subset=False, download=False, verbose=False)
    except (cc.DataNotFoundError, ValueError):  # ValueError: a DataError, or a data folder that is no folder
        data = cc.data.synthetic_dataset("cifar10", n, 10)
    x = cc.scale_pixels(data.x_train[:n])
    y = data.y_train[:n].astype("int64")
    return x, y, data.source


def build(model_name: str, steps_per_execution: int = 1):
    """R1, M1, M2, M3 or M4 as the lessons build them, compiled as the lessons compile them (sparse labels here).

    'vgg' is lesson 05's frozen VGG16 (to block3_pool) with M4's head, trained end to end; its weights are random
    here (the speed does not depend on their values; no ImageNet download needed).
    """
    import keras

    from cifar_course import models

    if model_name == "r1":
        model = models.r1()
        model.compile(
            optimizer=keras.optimizers.Adam(),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
            steps_per_execution=steps_per_execution,
        )
    elif model_name == "vgg":
        vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
        base = keras.Model(vgg.input, vgg.get_layer("block3_pool").output)
        base.trainable = False
        model = models.m4(base, models.m4_head())
        model.compile(
            optimizer=keras.optimizers.Adamax(learning_rate=0.0005),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            steps_per_execution=steps_per_execution,
        )
    elif model_name in ("m1", "m2"):
        model = models.m1(dropout=model_name == "m2")
        model.compile(
            optimizer=keras.optimizers.Adamax(learning_rate=0.005),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            steps_per_execution=steps_per_execution,
        )
    else:
        model = models.m3()
        model.compile(
            optimizer=keras.optimizers.Adamax(learning_rate=0.001),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            steps_per_execution=steps_per_execution,
        )
    return model


def measure(
    model_name: str, x, y, batch: int, pipeline: str, precision: str, repeats: int, steps_per_execution: int = 1
) -> dict:
    """Images/s of each timed epoch (after one warm-up epoch) for one configuration."""
    import keras
    import tensorflow as tf

    from cifar_course import EpochTimer

    keras.backend.clear_session()
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if precision == "bf16" else "float32")
    keras.utils.set_random_seed(0)
    model = build(model_name, steps_per_execution)
    timer = EpochTimer(len(x))
    if pipeline == "tf.data":
        ds = (
            tf.data.Dataset.from_tensor_slices((x, y))
            .cache()
            .shuffle(len(x), seed=0)
            .batch(batch)
            .prefetch(tf.data.AUTOTUNE)
        )
        hist = model.fit(ds, epochs=1 + repeats, shuffle=False, verbose=0, callbacks=[timer])
    else:
        hist = model.fit(x, y, batch_size=batch, epochs=1 + repeats, shuffle=True, verbose=0, callbacks=[timer])
    keras.mixed_precision.set_global_policy("float32")
    ips = hist.history["images_per_second"][1:]
    return {
        "model": model_name.upper(),
        "batch": batch,
        "pipeline": pipeline,
        "precision": precision,
        "steps_per_execution": steps_per_execution,
        "images_per_second": [round(v, 1) for v in ips],
        "median": round(statistics.median(ips), 1),
        "warmup_seconds": round(hist.history["epoch_seconds"][0], 2),
        "final_loss": round(float(hist.history["loss"][-1]), 4),
    }


def grid(batches: list[int], pipelines: list[str], precisions: list[str], spes: list[int]) -> list[tuple]:
    """Every combination of batch size, input pipeline, precision and steps per execution."""
    return [(b, p, prec, spe) for spe in spes for prec in precisions for p in pipelines for b in batches]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["r1", "m3"], choices=["r1", "m1", "m2", "m3", "vgg"])
    parser.add_argument("--batches", nargs="+", type=int, default=[32, 64, 128])
    parser.add_argument(
        "--images", type=int, default=9600, help="images per timed epoch (default 9600: 300 steps at 32)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per configuration (median reported)")
    parser.add_argument("--rounds", type=int, default=1, help="go through the whole grid this many times")
    parser.add_argument(
        "--pipelines",
        nargs="+",
        default=["numpy", "tf.data"],
        choices=["numpy", "tf.data"],
        help="input pipelines: NumPy arrays given to fit, or tf.data with cache + prefetch",
    )
    parser.add_argument(
        "--precisions",
        nargs="+",
        default=["float32", "bf16"],
        choices=["float32", "bf16"],
        help="float32, and mixed_bfloat16 (fast only on CPUs with bf16 instructions)",
    )
    parser.add_argument(
        "--steps-per-execution",
        nargs="+",
        type=int,
        default=[1],
        help="batches run per call into TensorFlow (Keras's compile(steps_per_execution=...))",
    )
    parser.add_argument(
        "--threads",
        nargs=2,
        type=int,
        metavar=("INTRA", "INTER"),
        help="TensorFlow's intra-op and inter-op thread pools (0 = TensorFlow's default)",
    )
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    if args.threads:  # must happen before TensorFlow runs its first operation
        tf.config.threading.set_intra_op_parallelism_threads(args.threads[0])
        tf.config.threading.set_inter_op_parallelism_threads(args.threads[1])
    info = {
        **cpu_flags(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "load_average_start": os.getloadavg(),
        "images": args.images,
        "repeats": args.repeats,
        "steps_per_execution": args.steps_per_execution,
    }
    x, y, source = load_arrays(args.images)
    info["data"] = source
    print(json.dumps(info), flush=True)
    configs = grid(args.batches, args.pipelines, args.precisions, args.steps_per_execution)
    results = []
    for round_ in range(args.rounds):
        for model_name in args.models:
            for batch, pipeline, precision, spe in configs:
                start = time.perf_counter()
                r = measure(model_name, x, y, batch, pipeline, precision, args.repeats, spe)
                r["round"] = round_
                r["load_average"] = round(os.getloadavg()[0], 2)
                results.append(r)
                print(
                    f"{r['model']} batch {batch:>3} {pipeline:>7} {precision:>7} spe {spe:>3}: "
                    f"median {r['median']:>7.1f} img/s "
                    f"(epochs {r['images_per_second']}, warm-up {r['warmup_seconds']} s, load {r['load_average']}, "
                    f"{time.perf_counter() - start:.0f} s)",
                    flush=True,
                )
    print(
        "\nmodel | batch | input | precision | steps/execution | images/s (median of all timed epochs) | vs first row"
    )
    for model_name in args.models:
        rows = [r for r in results if r["model"] == model_name.upper()]
        base = None
        for batch, pipeline, precision, spe in configs:
            ips = [
                v
                for r in rows
                if (r["batch"], r["pipeline"], r["precision"], r["steps_per_execution"])
                == (batch, pipeline, precision, spe)
                for v in r["images_per_second"]
            ]
            med = statistics.median(ips)
            base = base or med
            print(f"{model_name.upper()} | {batch} | {pipeline} | {precision} | {spe} | {med:.0f} | {med / base:.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"info": info, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
