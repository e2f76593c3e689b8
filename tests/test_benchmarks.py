"""The benchmark scripts' own logic: what they build and what they report."""

import importlib.util
import json
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "name, params",
    [("r1", 122_570), ("m1", 2_105_066), ("m2", 2_105_066), ("m3", 1_084_234), ("vgg", 1_735_488 + 1_090_890)],
)
def test_throughput_builds_the_lessons_models(name, params):
    import keras

    keras.backend.clear_session()
    model = load("throughput").build(name, steps_per_execution=4)
    assert model.count_params() == params
    assert model.optimizer is not None


def test_lesson05_timing_reports_times_and_never_accuracies(tmp_path):
    outputs = [
        "Precision: mixed_bfloat16 (bfloat16 instructions on this CPU: True; ...)",
        "train features: computed (50000, 4, 4, 256) in 61.2 s, cached in /x.npz (800 MiB)",
        "Epoch 1/10\n180/180 - 3s - 17ms/step - accuracy: 0.4321 - epoch_seconds: 3.1 - images_per_second: 14516.1"
        " - loss: 1.6100 - val_accuracy: 0.5000 - val_loss: 1.4000",
        "Validation accuracy: 0.6123",
        "preprocess_input: test accuracy 0.6000",
        "5,000 images, 10 epochs: features once is 7.9x faster",
    ]
    nb = {
        "cells": [
            {"cell_type": "code", "outputs": [{"output_type": "stream", "name": "stdout", "text": t}]} for t in outputs
        ]
    }
    path = tmp_path / "05.ipynb"
    path.write_text(json.dumps(nb))
    lines = load("lesson05_timing").timing_lines(path)
    assert lines == [
        outputs[0],
        outputs[1],
        "180/180 - 3s - 17ms/step - epoch_seconds: 3.1 - images_per_second: 14516.1",
        outputs[5],
    ]
    assert not any("accuracy" in line or "0.43" in line for line in lines)


def test_course_timing_keeps_times_and_drops_what_random_weights_decided():
    def lesson(number, accuracies, runs=()):
        lines = [
            {"split": split, "value": value, "line": f"{split} accuracy: {value:.4f}"} for split, value in accuracies
        ]
        return {"lesson": number, "notebook": f"{number}_x", "status": "ok", "seconds": 10.0, "accuracies": lines,
                "saved_runs": list(runs)}  # fmt: skip

    record = {
        "profile": "quick", "data": "cifar10", "started": "s", "finished": "f", "machine": "m", "versions": {},
        "lessons": [
            lesson("04", [("Test", 0.5)], [{"model": "M3", "test_accuracy": 0.5}]),
            lesson("05", [("Validation", 0.286), ("Test", 0.305)], [{"model": "M4", "test_accuracy": 0.305}]),
            lesson("06", [("Test", 0.305)]),  # lesson 06 analysed lesson 05's run
            lesson("08", [("Test", 0.5)]),
        ],
    }  # fmt: skip
    timing = load("course_timing")
    cleaned = timing.without_random_accuracies(record)
    by_lesson = {entry["lesson"]: entry for entry in cleaned["lessons"]}
    assert by_lesson["05"]["accuracies"] == [] and by_lesson["06"]["accuracies"] == []
    assert by_lesson["05"]["saved_runs"][0]["weights"].startswith("RANDOM")
    assert by_lesson["05"]["saved_runs"][0]["test_accuracy"] is None
    assert (
        [a["value"] for a in by_lesson["04"]["accuracies"]]
        == [0.5]
        == [a["value"] for a in by_lesson["08"]["accuracies"]]
    )
    text = timing.markdown(cleaned, "python benchmarks/course_timing.py --profile quick")
    assert "0.305" not in text and "0.2860" not in text and "Test accuracy: 0.5000" in text
    assert "40.0" in text  # the total of the four lessons' seconds


def test_lesson07_full_uses_the_lessons_model_and_recipe():
    source = (BENCHMARKS / "lesson07_full.py").read_text()
    assert 'default="step13"' in source and "cc.modern.final_recipe(" in source  # step 13: the lesson's function
    assert "layers." not in source  # the benchmark defines no layer of its own: it trains the course's model
    # its batch, epochs and peak come from the package, where the lesson's final model reads them too
    for name in ("cc.modern.FINAL_BATCH_SIZE", "cc.modern.FINAL_EPOCHS", "cc.modern.airbench_peak_lr("):
        assert name in source
    cells = json.loads((BENCHMARKS.parent / "notebooks" / "08_architecture.ipynb").read_text())["cells"]
    sizes = next("".join(c["source"]) for c in cells if "FINAL_BATCH_SIZE = " in "".join(c["source"]))
    assert "full=cc.modern.FINAL_EPOCHS" in sizes and "full=cc.modern.FINAL_BATCH_SIZE" in sizes
    from cifar_course import modern

    assert modern.airbench_peak_lr(modern.FINAL_BATCH_SIZE) == 0.75  # the peak lesson 08's prose states


def test_lesson07_budget_reads_its_points():
    budget = load("lesson07_budget")
    assert budget.parse_point("32-128-128@20+muon") == {
        "widths": (32, 128, 128),
        "muon": True,
        "wbias": False,
        "minutes": 20.0,
        "epochs": None,
    }
    plain = {"widths": (48, 192, 192), "muon": False, "wbias": False, "minutes": None, "epochs": 3}
    assert budget.parse_point("48-192-192x3") == plain
    assert budget.parse_point("48-192-192x3+wbias") == {**plain, "wbias": True}
    assert budget.parse_point("48-192-192x3+wbias+muon") == {**plain, "wbias": True, "muon": True}
    for wrong in ("wide@20", "48-192-192x3+adam", "48-192-192x3+muon+muon"):
        with pytest.raises(SystemExit, match="WIDTHSxEPOCHS"):
            budget.parse_point(wrong)


def test_lesson07_budget_trains_the_whitening_bias_for_its_epochs_only_and_never_the_kernel():
    import keras
    import numpy as np

    import cifar_course as cc

    budget = load("lesson07_budget")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)
    y = keras.utils.to_categorical(rng.integers(0, 10, 64), 10)
    whitening = cc.modern.patch_whitening(x)

    def biases(bias_epochs: int) -> list:
        """The whitening bias after each of three epochs (and checks the kernel never moved)."""
        cc.set_seeds(0)
        model = cc.modern.compile_airbench(cc.models.airbench_cnn(whitening, 10, widths=(8, 8, 8)), 0.1, 6)
        seen = []
        track = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: seen.append(model.get_layer("whitening").get_weights())
        )
        model.fit(
            x / 255.0,
            y,
            batch_size=32,
            epochs=3,
            verbose=0,
            callbacks=[budget.train_whitening_bias(model, bias_epochs), track],
        )
        assert all(np.array_equal(kernel, whitening[0]) for kernel, _ in seen)
        return [bias for _, bias in seen]

    never = biases(0)
    assert all(np.array_equal(bias, whitening[1]) for bias in never)  # off from the start: not even weight decay
    first = biases(1)
    assert np.abs(first[0] - whitening[1]).max() > 1e-6  # learned during the first epoch (two small steps)
    assert np.array_equal(first[2], first[1]) and np.array_equal(first[1], first[0])  # then frozen, as airbench's


def test_lesson07_budget_counts_the_flops_of_a_convolution():
    """The profiler's count of a 3x3 convolution, 64 -> 64 channels on 32x32 (same padding): 2 x 1024 x 9 x 64 x 64
    FLOPs forward; a training step adds the gradients for the input and the filters (about twice the forward again)."""
    import keras

    budget = load("lesson07_budget")
    model = keras.Sequential(
        [keras.Input((32, 32, 64)), keras.layers.Conv2D(64, 3, padding="same", use_bias=False), keras.layers.Flatten()]
    )
    flops = budget.counted_flops(model)
    assert flops["forward_gflop"] * 1e9 == pytest.approx(2 * 1024 * 9 * 64 * 64, rel=0.01)
    assert 2.5 <= flops["train_gflop"] / flops["forward_gflop"] <= 3.5


def test_lesson07_budget_muon_step_orthogonalises_and_keeps_the_filters_norm():
    import numpy as np
    import tensorflow as tf

    budget = load("lesson07_budget")
    g = tf.random.stateless_normal([72, 16], seed=[1, 2])
    singular = np.linalg.svd(budget.newton_schulz(g, steps=5).numpy(), compute_uv=False)
    assert singular.min() > 0.5 and singular.max() < 1.5  # Muon's iteration: every direction about equally long

    import keras

    kernel = keras.Variable(np.random.default_rng(0).normal(size=(3, 3, 8, 16)).astype("float32"), name="kernel")
    shift = keras.Variable(np.zeros(16, "float32"), name="beta")
    optimizer, _ = budget.muon_optimizer(peak_lr=0.5, schedule=0.5, muon_lr=0.1)
    optimizer.apply_gradients([(tf.ones_like(kernel), kernel), (tf.ones_like(shift), shift)])
    # renormalised to sqrt(16) before the step, then moved by lr x an update of norm about sqrt(16)
    assert np.linalg.norm(kernel.numpy()) == pytest.approx(4.0, rel=0.15)
    assert np.all(shift.numpy() < 0)  # a variable of another shape learns with the SGD of compile_airbench


def test_lesson07_mixing_summarises_gains_seed_by_seed_and_refuses_unknown_variants():
    mixing = load("lesson07_mixing")
    runs = [
        {"variant": "none", "seed": 0, "test_accuracy": 0.60},
        {"variant": "cutmix", "seed": 0, "test_accuracy": 0.57},
        {"variant": "none", "seed": 1, "test_accuracy": 0.62},
        {"variant": "cutmix", "seed": 1, "test_accuracy": 0.63},
    ]
    found = mixing.summary(runs)
    assert found["none"]["mean_test_accuracy"] == 0.61 and found["none"]["mean_gain_points"] is None
    assert found["cutmix"]["gain_points_by_seed"] == [-3.0, 1.0] and found["cutmix"]["mean_gain_points"] == -1.0
    assert type(mixing.mixer("cutmix", 0)).__name__ == "CutMix" and mixing.mixer("none", 0) is None
    with pytest.raises(SystemExit, match="not one of none, cutmix, mixup"):
        mixing.mixer("cutout", 0)


def test_lesson07_settings_rebuilds_the_final_model_channels_first_with_the_same_outputs():
    import keras
    import numpy as np

    import cifar_course as cc

    settings = load("lesson07_settings")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    cc.set_seeds(0)
    model = cc.models.airbench_cnn(cc.modern.patch_whitening(x), 10, widths=(8, 16, 16))
    nchw = settings.channels_first_model(model)
    assert nchw.input_shape == (None, 3, 32, 32) and nchw.count_params() == model.count_params()
    assert all(layer.axis in (1, [1]) for layer in nchw.layers if isinstance(layer, keras.layers.BatchNormalization))
    expected = model.predict(x / 255.0, verbose=0)
    found = nchw.predict((x / 255.0).transpose(0, 3, 1, 2), verbose=0)
    np.testing.assert_allclose(found, expected, atol=1e-4)


def test_lesson07_settings_refuses_a_setting_it_does_not_know():
    with pytest.raises(SystemExit, match="threads8 not among default"):
        load("lesson07_settings").main(["--settings", "default,threads8"])
