"""Lesson 07's final model against a budget of training time: FLOPs per image, speed against this CPU's peak, and
test accuracy against training time for narrower, shorter and Muon-trained variants of the final recipe, with M3
and the current final model timed in the same run, so that the ratios hold on any machine.

    CIFAR_COURSE_DATA=/path/to/data python benchmarks/lesson07_budget.py --json results/lesson07-budget-avx2.json
    python benchmarks/lesson07_budget.py --points 32-128-128@1 --train-images 2000 --probe-images 512   # a check

What it does, in order, writing the JSON after every step (a run cut short keeps what it measured):
1. the CPU's peak: float32 matrix products (TensorFlow, 2048 x 2048), in GFLOP/s, measured (bfloat16 too where
   the CPU has it), beside the nominal peak of two AVX2 FMA units at the clock /proc/cpuinfo reports;
2. FLOPs per image, counted by TensorFlow's profiler on each model's graph: forward (a test image) and one
   training step (forward + gradients), per image;
3. speed probes (model.fit on in-memory images, the last of two epochs): the final model as the lesson trains it
   (batch 512), at batch 128, 256 and 1024, with XLA (``jit_compile=True``) at the fastest batch; each narrower
   variant at that batch; lesson 04's M3 at its batch 32, float32. Images/s x FLOPs per training image / measured
   peak of the probe's precision = how much of the CPU a model uses;
4. trained points: each variant of the final recipe (``cc.modern.final_recipe``: airbench's SGD, triangular
   schedule, alternating flips, shifts of 2 pixels, Lookahead) trained on all 50,000 training images for as many
   epochs as fit its share of the budget at its probed speed, then tested once on the 10,000 test images (no TTA,
   flip, flip + shift). ``+muon``: the convolution filters learn with Muon (airbench94_muon's variant: momentum 0.6,
   Nesterov, three Newton-Schulz steps, filters renormalised each step), everything else as before. ``+wbias``: the
   whitening layer's bias learns during the first three epochs, its kernel still frozen (airbench's network has
   this bias learnable and freezes it after epoch 3; the course's freezes the whole layer from the start).

A point is WIDTHS@MINUTES[+muon][+wbias], e.g. 32-128-128@20 (widths of the three blocks, minutes of training it
may take, turned into epochs by its probed speed), or WIDTHSxEPOCHS[+muon][+wbias] (its epochs given). The
trained points keep the lesson's batch unless a probe found another more than 5% faster (then airbench's peak
learning rate is scaled to it, ``cc.modern.airbench_peak_lr``; or --points-batch), and use XLA where the probe found
it faster (or --jit). ``--threads INTRA,INTER`` sets TensorFlow's two thread pools for the whole run
(benchmarks/lesson07_settings.py compares settings).
The probes fit 2,048 in-memory images per epoch: their speeds are for comparing models with each other; a trained
point's own images/s (the real pipeline, whole epochs) is its speed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

FINAL_WIDTHS = (64, 256, 256)  # cc.models.airbench_cnn's, the lesson's final model
DEFAULT_POINTS = "32-128-128@20,48-192-192@20,32-128-128@20+muon,32-128-128@10"


def parse_point(text: str) -> dict:
    """'32-128-128@20+muon' -> widths (32, 128, 128), 20 minutes, Muon; '32-128-128x5+wbias': exactly 5 epochs, the
    whitening bias learning for the first three."""
    body, *options = text.split("+")
    widths, sep, amount = body.partition("@") if "@" in body else body.partition("x")
    try:
        if set(options) - {"muon", "wbias"} or len(set(options)) < len(options):
            raise ValueError(options)
        point = {"widths": tuple(int(w) for w in widths.split("-")), "minutes": None, "epochs": None}
        point["minutes" if sep == "@" else "epochs"] = float(amount) if sep == "@" else int(amount)
        return {**point, "muon": "muon" in options, "wbias": "wbias" in options}
    except ValueError:
        raise SystemExit(
            f"--points: {text!r} is not WIDTHS@MINUTES or WIDTHSxEPOCHS, each with +muon and/or +wbias or neither, "
            "e.g. 32-128-128@20 or 64-256-256x9+wbias"
        ) from None


def matmul_peak(dtype: str = "float32", n: int = 2048, repeats: int = 20) -> float:
    """GFLOP/s of TensorFlow's n x n matrix product on this CPU (the best of ``repeats`` after a warm-up)."""
    import tensorflow as tf

    a = tf.random.normal([n, n], dtype=dtype)
    b = tf.random.normal([n, n], dtype=dtype)
    tf.matmul(a, b).numpy()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        tf.matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return round(2 * n**3 / best / 1e9, 1)


def nominal_peak() -> dict:
    """What 2 FMA units x 8 float32 lanes x 2 flops per core per cycle (an AVX2 core at best) would give here."""
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    mhz = max(float(line.split(":")[1]) for line in cpuinfo if line.startswith("cpu MHz"))
    cores = os.cpu_count() or 1
    return {
        "cores": cores,
        "cpu_mhz": mhz,
        "flops_per_cycle_per_core": 32,
        "gflops": round(cores * 32 * mhz / 1e3, 1),
        "note": "nominal clock from /proc/cpuinfo; AVX2 with two 256-bit FMA units (older cores split them, half)",
    }


def counted_flops(model, batch: int = 16) -> dict:
    """FLOPs per image counted by TensorFlow's profiler: a forward pass, and a training step (forward + gradients)."""
    import keras
    import tensorflow as tf

    x_spec = tf.TensorSpec([batch, *model.input_shape[1:]])
    y_spec = tf.TensorSpec([batch, model.output_shape[-1]])

    @tf.function
    def forward(x):
        return model(x, training=False)

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.categorical_crossentropy(y, model(x, training=True)))
        return tape.gradient(loss, model.trainable_variables)

    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    options = builder(builder.float_operation()).with_empty_output().build()

    def count(graph) -> float:
        return tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops / batch

    return {
        "forward_gflop": round(count(forward.get_concrete_function(x_spec).graph) / 1e9, 4),
        "train_gflop": round(count(train_step.get_concrete_function(x_spec, y_spec).graph) / 1e9, 4),
    }


def probe_speed(model, x, y, batch: int, jit: bool = False) -> float:
    """Images/s of ``model.fit`` on in-memory images: the last of two epochs (traced and warm)."""
    import keras

    import cifar_course as cc

    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
        loss="categorical_crossentropy",
        jit_compile=jit,
        steps_per_execution=8,
    )
    timer = cc.EpochTimer(len(x))
    model.fit(x, y, batch_size=batch, epochs=2, verbose=0, callbacks=[timer])
    return round(model.history.history["images_per_second"][-1], 1)


def newton_schulz(g, steps: int = 3):
    """An approximately orthogonal matrix with g's singular vectors (Muon's quintic Newton-Schulz iteration)."""
    import tensorflow as tf

    a, b, c = 3.4445, -4.7750, 2.0315
    x = g / (tf.norm(g) + 1e-7)
    tall = g.shape[0] > g.shape[1]
    if tall:
        x = tf.transpose(x)
    for _ in range(steps):
        gram = x @ tf.transpose(x)
        x = a * x + (b * gram + c * gram @ gram) @ x
    return tf.transpose(x) if tall else x


def muon_optimizer(peak_lr: float, schedule, muon_lr: float = 0.24, momentum: float = 0.6, weight_decay=0.0089):
    """compile_airbench's optimizer (cc.modern.BiasScaledSGD) with Muon for the convolution filters."""
    import keras
    import tensorflow as tf

    import cifar_course as cc

    class MuonFilters(cc.modern.BiasScaledSGD):
        def build(self, variables):
            filters = [v for v in variables if len(v.shape) == 4]
            self.exclude_from_weight_decay(var_list=filters)  # Muon's filters keep their norm instead
            super().build(variables)
            self._filters = {self._get_variable_index(v): self.add_variable_from_reference(v, "muon") for v in filters}

        def update_step(self, gradient, variable, learning_rate):
            buffer = self._filters.get(self._get_variable_index(variable))
            if buffer is None:
                return super().update_step(gradient, variable, learning_rate)
            buffer.assign(momentum * buffer + gradient)
            step = gradient + momentum * buffer  # Nesterov
            outputs = variable.shape[-1]
            variable.assign(variable * (outputs**0.5 / (tf.norm(variable) + 1e-12)))
            update = tf.reshape(newton_schulz(tf.reshape(step, [-1, outputs])), variable.shape)
            variable.assign_sub(tf.cast(learning_rate / peak_lr * muon_lr, variable.dtype) * update)

    return MuonFilters(
        bias_scale=64.0, learning_rate=schedule, momentum=0.85, nesterov=True, weight_decay=weight_decay
    ), keras.losses.CategoricalCrossentropy(label_smoothing=0.2)


WHITENING_BIAS_EPOCHS = 3  # airbench's: its whitening layer's bias learns for three epochs, then is frozen


def train_whitening_bias(model, epochs: int = WHITENING_BIAS_EPOCHS):
    """Recompile a compiled ``cc.models.airbench_cnn`` so that its whitening layer's bias learns during the first
    ``epochs`` epochs (at the base learning rate, without weight decay), its kernel never; returns the callback that
    switches the bias off (pass it to fit)."""
    import keras
    import tensorflow as tf

    layer = model.get_layer("whitening")
    layer.trainable = True  # for the bias; the optimizer below never moves the kernel
    kernel, bias = layer.kernel, layer.bias
    learns = tf.Variable(1.0, trainable=False)  # 1 while the bias learns, 0 from epoch ``epochs`` on

    class WhiteningBias(type(model.optimizer)):
        def build(self, variables):
            self.exclude_from_weight_decay(var_list=[kernel, bias])
            super().build(variables)
            self._kernel, self._bias = self._get_variable_index(kernel), self._get_variable_index(bias)

        def update_step(self, gradient, variable, learning_rate):
            index = self._get_variable_index(variable)
            if index == self._kernel:
                return None  # the whitening stays the PCA's
            if index != self._bias:
                return super().update_step(gradient, variable, learning_rate)
            before = tf.identity(variable)
            super().update_step(gradient, variable, learning_rate)
            variable.assign(before + learns * (variable - before))  # the step kept while it learns, undone after
            return None

    optimizer = WhiteningBias.from_config(model.optimizer.get_config())
    model.compile(optimizer=optimizer, loss=model.loss, metrics=["accuracy"])
    return keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: learns.assign(float(epoch < epochs)))


def train_point(point: dict, data, whitening, speed: float | None, jit: bool, batch: int, x_test, y_test) -> dict:
    """Train one variant of the final recipe on all training images for its epochs (or those its minutes allow at
    the probed ``speed``); test it."""
    import numpy as np

    import cifar_course as cc

    x_train, y_train = data
    epochs = point["epochs"] or max(1, int(point["minutes"] * 60 * speed * 0.85 / len(x_train)))  # 0.85: margin
    cc.set_seeds(42)
    model, batches, callbacks = cc.modern.final_recipe(
        x_train, y_train, whitening, epochs, batch, widths=point["widths"]
    )
    if point["muon"]:
        peak_lr, steps = cc.modern.airbench_peak_lr(batch), epochs * math.ceil(len(x_train) / batch)
        optimizer, loss = muon_optimizer(peak_lr, cc.modern.Triangular(peak_lr, steps))
        model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    if point["wbias"]:
        callbacks = [train_whitening_bias(model), *callbacks]
    model.jit_compile = jit
    timer = cc.EpochTimer(len(x_train))
    start = time.perf_counter()
    model.fit(batches, epochs=epochs, verbose=2, callbacks=[timer, *callbacks])
    seconds = time.perf_counter() - start

    views = cc.modern.predict_tta(model, x_test, flip=True, translate=1, per_view=True)  # 3 positions x 2 flips

    def accuracy(*which):
        return round(float(np.mean(views[list(which)].mean(axis=0).argmax(axis=1) == y_test)), 4)

    return {
        "point": "-".join(map(str, point["widths"]))
        + (f"@{point['minutes']:g}" if point["minutes"] else f"x{point['epochs']}")
        + ("+muon" if point["muon"] else "")
        + ("+wbias" if point["wbias"] else ""),
        "widths": list(point["widths"]),
        "optimizer": "Muon for the filters + BiasScaledSGD" if point["muon"] else "BiasScaledSGD",
        "whitening_bias_epochs": WHITENING_BIAS_EPOCHS if point["wbias"] else 0,
        "params": int(model.count_params()),
        "epochs": epochs,
        "batch": batch,
        "jit_compile": jit,
        "train_images": len(x_train),
        "train_seconds": round(seconds, 1),
        "train_minutes": round(seconds / 60, 2),
        "images_per_second": [round(v) for v in model.history.history["images_per_second"]],
        "test_accuracy_no_tta": accuracy(0),
        "test_accuracy_flip_tta": accuracy(0, 3),  # the image and its mirror image
        "test_accuracy": accuracy(*range(6)),
        "tta": "flip+shift (6 views)",
        "load_average_end": round(os.getloadavg()[0], 2),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", default=DEFAULT_POINTS, help=f"comma-separated (default: {DEFAULT_POINTS})")
    parser.add_argument("--train-images", type=int, help="train the points on only this many images")
    parser.add_argument("--probe-images", type=int, default=2048, help="images per probe epoch")
    parser.add_argument("--batch", type=int, default=512, help="the final model's batch in the lesson (512)")
    parser.add_argument(
        "--probes",
        choices=["all", "speed"],
        default="all",
        help="speed: only the final model (its batch and the "
        "points' batch) and M3, for a run of points with their epochs given (WIDTHSxEPOCHS)",
    )
    parser.add_argument("--points-batch", type=int, help="the points' batch (default: chosen by the probes)")
    parser.add_argument("--jit", choices=["auto", "on", "off"], default="auto", help="XLA for the points (auto: probe)")
    parser.add_argument(
        "--threads",
        default="0,0",
        help="TensorFlow's intra-op and inter-op thread pools, INTRA,INTER (default 0,0: TensorFlow's choice; "
        "benchmarks/lesson07_settings.py compares them)",
    )
    parser.add_argument("--json", help="write the results to this file (after every step)")
    args = parser.parse_args(argv)
    points = [parse_point(p) for p in args.points.split(",") if p]
    try:
        intra, inter = (int(n) for n in args.threads.split(","))
    except ValueError:
        raise SystemExit(f"--threads: {args.threads!r} is not INTRA,INTER, e.g. 2,1 (0: TensorFlow's choice)") from None

    import tensorflow as tf  # the pools are fixed when TensorFlow runs its first operation: set them first

    tf.config.threading.set_intra_op_parallelism_threads(intra)
    tf.config.threading.set_inter_op_parallelism_threads(inter)
    import keras

    import cifar_course as cc

    policy = cc.set_precision("auto")  # as the lesson: bfloat16 only where the CPU has it
    data = cc.load_dataset("cifar10", profile="full")
    x_all, y_all = data.x_train[: args.train_images], cc.one_hot(data.y_train[: args.train_images], 10)
    x_test = cc.scale_pixels(data.x_test)
    whitening = cc.modern.patch_whitening(x_all)
    result = {
        "command": "python benchmarks/lesson07_budget.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        **cc.runtime.where_measured(),
        "precision": policy,
        "data": data.source,
        "threads": {"intra_op": intra, "inter_op": inter, "note": "0: TensorFlow's choice"},
    }

    def save():
        print(json.dumps(result, indent=1)[-1500:], flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=1) + "\n")

    result["peak"] = {"measured_matmul_gflops": matmul_peak(), "nominal": nominal_peak()}
    if cc.runtime.cpu_has_bf16():
        result["peak"]["measured_matmul_gflops_bfloat16"] = matmul_peak("bfloat16")
    save()

    widths = list(dict.fromkeys([FINAL_WIDTHS, *(p["widths"] for p in points)]))
    flops = {w: counted_flops(cc.models.airbench_cnn(whitening, 10, widths=w)) for w in widths}
    flops["m3"] = counted_flops(cc.models.m3(10))
    x_probe, y_probe = cc.scale_pixels(x_all[: args.probe_images]), y_all[: args.probe_images]
    probes = []

    def probe(name, build, batch, jit=False, precision="auto", key=None):
        cc.set_precision(precision)
        cc.set_seeds(42)
        speed = probe_speed(build(), x_probe, y_probe, batch, jit)
        train_gflop = flops[key]["train_gflop"]
        bf16 = keras.mixed_precision.global_policy().name == "mixed_bfloat16"
        peak = result["peak"]["measured_matmul_gflops_bfloat16" if bf16 else "measured_matmul_gflops"]
        probes.append(
            {
                "name": name,
                "batch": batch,
                "jit_compile": jit,
                "precision": keras.mixed_precision.global_policy().name,
                "images_per_second": speed,
                **flops[key],
                "gflops_achieved": round(speed * train_gflop, 1),
                "share_of_measured_peak": round(speed * train_gflop / peak, 2),  # of its precision's peak
            }
        )
        result["probes"] = probes
        save()
        return speed

    def airbench(w):
        return lambda: cc.models.airbench_cnn(whitening, 10, widths=w)

    final = probe("final model (airbench_cnn 64-256-256)", airbench(FINAL_WIDTHS), args.batch, key=FINAL_WIDTHS)
    by_batch = {args.batch: final}
    tried = (args.points_batch,) if args.probes == "speed" and args.points_batch else (128, 256, 1024)
    for batch in (b for b in tried if b != args.batch):
        by_batch[batch] = probe(f"final model, batch {batch}", airbench(FINAL_WIDTHS), batch, key=FINAL_WIDTHS)
    fastest = max(by_batch, key=by_batch.get)  # the points keep the lesson's batch unless another is clearly faster
    batch = args.points_batch or (fastest if by_batch[fastest] > 1.05 * final else args.batch)
    speeds, jit = {}, args.jit == "on"
    if args.probes == "all":
        xla = probe(f"final model, batch {batch}, XLA", airbench(FINAL_WIDTHS), batch, jit=True, key=FINAL_WIDTHS)
        jit = xla > by_batch[batch] * 1.03 if args.jit == "auto" else jit  # XLA only where clearly faster
        speeds = {FINAL_WIDTHS: xla if jit else by_batch[batch]}
        for w in widths[1:]:
            speeds[w] = probe(f"airbench_cnn {'-'.join(map(str, w))}", airbench(w), batch, jit=jit, key=w)
    m3 = probe("M3 (lesson 04, batch 32, float32)", lambda: cc.models.m3(10), 32, precision="float32", key="m3")
    result["final_model_vs_m3_speed"] = round(final / m3, 3)
    result["jit_compile_for_points"] = jit
    result["batch_for_points"] = batch
    cc.set_precision("auto")

    result["points"] = []
    for point in points:
        result["points"].append(
            train_point(point, (x_all, y_all), whitening, speeds.get(point["widths"]), jit, batch, x_test, data.y_test)
        )
        result["finished"] = dt.datetime.now().isoformat(timespec="seconds")
        save()
    best = [p for p in result["points"] if p["train_minutes"] <= 20]
    if best:
        result["best_within_20_minutes"] = max(best, key=lambda p: p["test_accuracy"])["point"]
    save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
