"""Lesson 07's helpers: flips are flips, crops shift content, the schedule peaks and ends where it should, TTA."""

from __future__ import annotations

import subprocess
import sys

import keras
import numpy as np
import pytest

from cifar_course import modern


def _images(n: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def test_flip_only_is_a_flip_or_nothing():
    x = _images(64)
    out = np.asarray(modern.flip_and_crop(x, pad=0, seed=1))
    assert out.shape == x.shape and out.dtype == x.dtype
    flipped = [np.array_equal(o, i[:, ::-1]) for o, i in zip(out, x)]
    same = [np.array_equal(o, i) for o, i in zip(out, x)]
    assert all(f or s for f, s in zip(flipped, same))
    assert 10 < sum(flipped) < 54  # about half are mirrored


def test_crop_keeps_shape_and_shifts_content():
    x = _images(32)
    out = np.asarray(modern.flip_and_crop(x, pad=4, seed=3))
    assert out.shape == x.shape and out.dtype == x.dtype
    moved = 0
    for o, i in zip(out, x):
        found = False
        for src in (i, i[:, ::-1]):
            padded = np.pad(src, ((4, 4), (4, 4), (0, 0)), mode="reflect")
            for dy in range(9):
                for dx in range(9):
                    if np.array_equal(o, padded[dy : dy + 32, dx : dx + 32]):
                        found = True
                        moved += (dy, dx) != (4, 4)
                        break
                if found:
                    break
            if found:
                break
        assert found, "every output must be a flipped or unflipped window of the reflect-padded image"
    assert moved > 20  # most images are shifted


def test_train_pipeline_batches_scaled_floats():
    x, y = _images(50), np.eye(10, dtype=np.float32)[np.arange(50) % 10]
    batches = list(modern.train_pipeline(x, y, batch_size=16))
    assert [len(b[0]) for b in batches] == [16, 16, 16, 2]
    images = np.concatenate([b[0] for b in batches])
    assert images.dtype == np.float32 and images.min() >= 0.0 and images.max() <= 1.0
    labels = np.concatenate([b[1] for b in batches])
    assert sorted(labels.argmax(1).tolist()) == sorted((np.arange(50) % 10).tolist())  # shuffled, none lost


def test_warmup_cosine_peaks_after_warmup_and_ends_near_zero():
    lrs = modern.schedule_values(modern.warmup_cosine(0.01, 100, warmup_fraction=0.2), 100)
    assert lrs[0] == pytest.approx(0.0)
    assert int(np.argmax(lrs)) == 20 and lrs.max() == pytest.approx(0.01)
    assert np.all(np.diff(lrs[:21]) > 0) and np.all(np.diff(lrs[20:]) <= 0)
    assert lrs[-1] < 0.01 * 0.01


def test_predict_with_flip_averages_both_views():
    inputs = keras.Input((4, 4, 1))
    model = keras.Model(inputs, keras.layers.Softmax()(keras.layers.Flatten()(inputs)[:, :3] * 5.0))
    x = np.random.default_rng(0).random((6, 4, 4, 1)).astype("float32")
    p = modern.predict_with_flip(model, x)
    expected = (model.predict(x, verbose=0) + model.predict(x[:, :, ::-1], verbose=0)) / 2
    np.testing.assert_allclose(p, expected, atol=1e-6)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)


def test_cpu_has_bf16_is_a_bool():
    from cifar_course import runtime

    assert isinstance(runtime.cpu_has_bf16(), bool)


def test_check_batchnorm_params_counts_four_per_channel_minus_biases(capsys):
    from cifar_course import checks

    assert checks.check_batchnorm_params(None, 1000, [4, 8]) is None
    assert checks.check_batchnorm_params(1000 - 12 + 48, 1000, [4, 8]) is None
    assert "Correct" in capsys.readouterr().out
    with pytest.raises(checks.CheckFailed, match="biases"):
        checks.check_batchnorm_params(1000 + 48, 1000, [4, 8])
    with pytest.raises(checks.CheckFailed, match="moving"):
        checks.check_batchnorm_params(1000 + 24, 1000, [4, 8])


def test_check_ablation_prediction_compares_with_the_histories(capsys):
    from cifar_course import checks

    with_it = {"accuracy": [0.5, 0.70], "val_accuracy": [0.5, 0.68]}
    without = {"accuracy": [0.6, 0.90], "val_accuracy": [0.5, 0.62]}
    assert checks.check_ablation_prediction(None, with_it, without, "augmentation") is None
    capsys.readouterr()
    assert (
        checks.check_ablation_prediction({"val_accuracy": "lower", "gap": "larger"}, with_it, without, "augmentation")
        is None
    )
    assert "2 of 2 predictions matched" in capsys.readouterr().out
    assert checks.check_ablation_prediction({"val_accuracy": "higher", "gap": "larger"}, with_it, without, "x") is None
    assert "it was 'lower'" in capsys.readouterr().out
    with pytest.raises(checks.CheckFailed, match="choose one of"):
        checks.check_ablation_prediction({"val_accuracy": "down", "gap": "larger"}, with_it, without, "x")
    with pytest.raises(checks.CheckFailed, match="two keys"):
        checks.check_ablation_prediction("lower", with_it, without, "x")


def test_check_ablation_prediction_counts_differences_within_the_validation_noise_as_about_the_same(capsys):
    from cifar_course import checks

    with_it = {"accuracy": [0.5, 0.45], "val_accuracy": [0.4, 0.44]}
    without = {"accuracy": [0.5, 0.55], "val_accuracy": [0.4, 0.46]}  # 2 points up, gap 4 points larger
    checks.check_ablation_prediction({"val_accuracy": "higher", "gap": "larger"}, with_it, without, "x")
    assert "2 of 2 predictions matched" in capsys.readouterr().out  # with half a point's tolerance: higher
    checks.check_ablation_prediction(
        {"val_accuracy": "about the same", "gap": "larger"}, with_it, without, "x", n_val=900
    )
    out = capsys.readouterr().out
    assert "2 of 2 predictions matched" in out  # 2 points is within 2 x 1.65 points on 900 images
    assert "within 0.0331" in out


def test_train_pipeline_is_reproducible_and_new_every_epoch():
    x, y = _images(96), np.eye(10, dtype=np.float32)[np.arange(96) % 10]

    def two_epochs(seed):
        batches = modern.train_pipeline(x, y, batch_size=32, seed=seed)
        return [np.concatenate([b[0].numpy() for b in batches]) for _ in range(2)]

    first, again, other = two_epochs(7), two_epochs(7), two_epochs(8)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))  # same seed: the same images, epoch by epoch
    assert not np.array_equal(first[0], first[1])  # a new shuffle and new flips and shifts each epoch
    assert not np.array_equal(first[0], other[0])


def test_shift_moves_content_and_mirrors_the_border():
    x = _images(2)
    moved = modern._shift(x, 1, -2)
    assert moved.shape == x.shape
    np.testing.assert_array_equal(moved[:, 1:, :-2], x[:, :-1, 2:])  # content moved down 1, left 2
    np.testing.assert_array_equal(moved[:, 0], np.concatenate([x[:, 1, 2:], x[:, 1, -2:-4:-1]], axis=1))
    np.testing.assert_array_equal(modern._shift(x, 0, 0), x)


def test_predict_tta_with_translate_averages_six_views():
    inputs = keras.Input((4, 4, 1))
    model = keras.Model(inputs, keras.layers.Softmax()(keras.layers.Flatten()(inputs)[:, :3] * 5.0))
    x = np.random.default_rng(1).random((5, 4, 4, 1)).astype("float32")
    views = [x, modern._shift(x, -1, -1), modern._shift(x, 1, 1)]
    views += [v[:, :, ::-1] for v in views]
    expected = np.mean([model.predict(v, verbose=0) for v in views], axis=0)
    np.testing.assert_allclose(modern.predict_tta(model, x, translate=1), expected, atol=1e-6)
    np.testing.assert_allclose(modern.predict_tta(model, x, flip=False), model.predict(x, verbose=0), atol=1e-6)
    by_view = modern.predict_tta(model, x, translate=1, per_view=True)
    assert by_view.shape == (6, 5, 3)
    np.testing.assert_allclose(by_view[0], model.predict(x, verbose=0), atol=1e-6)  # the image as it is, first
    np.testing.assert_allclose(by_view.mean(axis=0), expected, atol=1e-6)


def test_patch_whitening_gives_uncorrelated_unit_variance_channels():
    rng = np.random.default_rng(0)
    base = rng.random((400, 32, 32, 1))  # correlated colours and neighbouring pixels, like photos
    x = np.clip(0.6 * base + 0.4 * np.roll(base, 1, axis=2) + 0.05 * rng.random((400, 32, 32, 3)), 0, 1)
    kernel, bias = modern.patch_whitening((255 * x).astype(np.uint8), eps=0.0)
    assert kernel.shape == (2, 2, 3, 24) and bias.shape == (24,)
    np.testing.assert_allclose(kernel[..., 12:], -kernel[..., :12])  # each direction twice, + and -
    conv = keras.layers.Conv2D(24, 2)
    conv.build((None, 32, 32, 3))
    conv.set_weights([kernel, bias])
    out = conv(np.round(255 * x).astype("float32")[:200] / 255).numpy().reshape(-1, 24)[:, :12]
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=0.05)
    np.testing.assert_allclose(np.cov(out, rowvar=False), np.eye(12), atol=0.1)
    damped, _ = modern.patch_whitening((255 * x).astype(np.uint8), eps=0.01)  # eps damps the weak directions most
    conv.set_weights([damped, bias])
    variances = conv(np.round(255 * x).astype("float32")[:200] / 255).numpy().reshape(-1, 24)[:, :12].var(axis=0)
    assert variances[0] > 0.9 and np.all(np.diff(variances) < 0.01)  # strongest direction first, then weaker


def test_lr_range_test_raises_the_rate_and_stops_when_the_loss_explodes():
    rng = np.random.default_rng(0)
    x, labels = rng.random((256, 8)).astype("float32"), rng.integers(0, 2, 256)
    y = np.eye(2, dtype="float32")[labels]
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e-3), loss="categorical_crossentropy")
    batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    lrs, losses = modern.lr_range_test(model, batches, start=1e-3, stop=1e4, steps=80)
    assert lrs[0] == pytest.approx(1e-3) and np.all(np.diff(lrs) > 0)
    assert len(lrs) == len(losses) < 80  # stopped early: at 1e4 the loss explodes
    assert not np.isfinite(losses[-1]) or losses[-1] > 4 * losses.min()


def test_suggest_lr_is_a_tenth_of_the_lowest_smoothed_loss():
    lrs = np.logspace(-5, 0, 51)
    losses = (np.log10(lrs) + 2) ** 2 + 1  # lowest at 1e-2
    assert modern.suggest_lr(lrs, losses, beta=0.0) == pytest.approx(1e-3)
    assert 1e-3 < modern.suggest_lr(lrs, losses) < 3e-3  # the smoothed curve lags: its lowest point comes later


def test_compile_final_sets_adamw_the_schedule_and_label_smoothing():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    assert modern.compile_final(model, peak_lr=0.01, total_steps=100) is model
    assert isinstance(model.optimizer, keras.optimizers.AdamW) and model.optimizer.weight_decay == 0.05
    assert model.loss.get_config()["label_smoothing"] == 0.2
    schedule = keras.optimizers.schedules.deserialize(model.optimizer.get_config()["learning_rate"])
    rates = modern.schedule_values(schedule, 100)
    assert rates.max() == pytest.approx(0.01, rel=0.02) and 18 <= rates.argmax() <= 22  # warm-up: the first 20%
    assert rates[-1] < 0.001


def test_triangular_rises_from_a_fifth_to_the_peak_then_falls_to_seven_percent():
    schedule = modern.Triangular(1.5, 100)
    rates = modern.schedule_values(schedule, 101)
    assert rates[0] == pytest.approx(0.3)  # 0.2 x peak
    assert rates.argmax() == 23 and rates.max() == pytest.approx(1.5)  # 23% of the steps
    assert rates[100] == pytest.approx(0.105)  # 0.07 x peak at the last step
    assert np.all(np.diff(rates[:24]) > 0) and np.all(np.diff(rates[23:]) < 0)  # straight up, straight down
    again = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule))
    np.testing.assert_allclose(modern.schedule_values(again, 101), rates)


def _bn_model():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((6, 6, 3)),
            keras.layers.Conv2D(4, 3, use_bias=False),
            keras.layers.BatchNormalization(scale=False),
            keras.layers.GlobalMaxPooling2D(),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )


def _one_step_changes(optimizer):
    model = _bn_model()
    model.compile(optimizer=optimizer, loss="categorical_crossentropy")
    before = [w.copy() for w in model.get_weights()]
    x = np.random.default_rng(1).normal(size=(8, 6, 6, 3)).astype("float32")
    model.train_on_batch(x, np.eye(2, dtype="float32")[np.arange(8) % 2])
    names = [v.path.split("/")[-1] for v in model.weights]
    return {
        n: np.abs(a - b).sum() for n, a, b in zip(names, model.get_weights(), before) if n in ("kernel", "beta")
    }, model


def test_bias_scaled_sgd_moves_only_the_batch_norm_shifts_faster(tmp_path):
    plain, _ = _one_step_changes(keras.optimizers.SGD(0.01))
    scaled, model = _one_step_changes(modern.BiasScaledSGD(bias_scale=64.0, learning_rate=0.01))
    assert scaled["beta"] == pytest.approx(64 * plain["beta"], rel=1e-3) and plain["beta"] > 0
    assert scaled["kernel"] == pytest.approx(plain["kernel"], rel=1e-5)  # the first step: same gradients
    model.save(tmp_path / "m.keras")  # a saved run loads back with its optimizer
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    assert isinstance(loaded.optimizer, modern.BiasScaledSGD) and loaded.optimizer.bias_scale == 64.0


def test_a_saved_airbench_run_loads_in_a_fresh_kernel(tmp_path):
    """Lessons 06 and 08 load lesson 07's model in a kernel that never imported cc.modern."""
    model = _bn_model()
    modern.compile_airbench(model, peak_lr=0.1, total_steps=10)
    (tmp_path / "run").mkdir()
    model.save(tmp_path / "run" / "model.keras")
    code = (
        "import sys, cifar_course as cc; m = cc.load_model(sys.argv[1]); "
        "o = m.optimizer; print(type(o).__name__, type(o._learning_rate).__name__, "
        "'cifar_course.modern' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "run")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-3:] == ["BiasScaledSGD", "Triangular", "True"]


def _fit(callbacks, steps: int = 10):
    model = _bn_model()
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="categorical_crossentropy")
    x = np.random.default_rng(2).normal(size=(40, 6, 6, 3)).astype("float32")
    y = np.eye(2, dtype="float32")[(x[:, :3, :, 0].mean(axis=(1, 2)) > 0).astype(int)]
    start = model.get_weights()
    model.fit(x, y, batch_size=4, epochs=steps // 10, shuffle=False, verbose=0, callbacks=callbacks)
    return start, model.get_weights()


def test_lookahead_with_no_momentum_changes_nothing_and_with_momentum_holds_the_weights_back():
    start, plain = _fit([])
    _, no_momentum = _fit([modern.Lookahead(total_steps=10, every=2, decay=0.0)])
    for a, b in zip(plain, no_momentum):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    lookahead = modern.Lookahead(total_steps=10, every=2, decay=1.0)
    _, averaged = _fit([lookahead])
    moved = sum(np.abs(w - s).sum() for w, s in zip(averaged, start))
    assert 0 < moved < sum(np.abs(w - s).sum() for w, s in zip(plain, start))
    for a, w in zip(lookahead.average, averaged):  # the model ends on the average
        np.testing.assert_array_equal(a, w)


def test_alternate_flips_mirror_each_image_in_every_other_epoch():
    x, y = _images(40), np.eye(40, dtype=np.float32)  # label = the image's index
    batches = modern.train_pipeline(x, y, batch_size=16, pad=0, alternate_flips=True)

    def mirrored_in_one_epoch():
        flags = {}
        for images, labels in batches:
            for image, label in zip(images.numpy(), labels.numpy().argmax(axis=1)):
                mirror = np.allclose(image, x[label][:, ::-1] / 255.0)
                assert mirror or np.allclose(image, x[label] / 255.0)
                flags[int(label)] = mirror
        return np.array([flags[i] for i in range(40)])

    first, second, third = (mirrored_in_one_epoch() for _ in range(3))
    assert 8 < first.sum() < 32  # a random half, about
    assert np.array_equal(second, ~first) and np.array_equal(third, first)
    assert len(list(batches)) == 3  # Keras knows the number of batches (it is hidden behind flat_map otherwise)
    assert int(batches.cardinality()) == 3


def test_smooth_losses_is_the_bias_corrected_average_suggest_lr_reads():
    losses = np.array([4.0, 2.0, 1.0, 3.0])
    smooth = modern.smooth_losses(losses, beta=0.5)
    assert smooth[0] == pytest.approx(4.0)  # bias-corrected: the first value is the first loss, not a fifth of it
    assert smooth[1] == pytest.approx((0.5 * 0.5 * 4 + 0.5 * 2) / (1 - 0.25))
    lrs = np.array([1e-4, 1e-3, 1e-2, 1e-1])
    assert modern.suggest_lr(lrs, losses, beta=0.5) == pytest.approx(lrs[int(np.argmin(smooth))] / 10)


def test_final_recipe_is_step_12s_recipe_over_the_whole_run():
    import numpy as np

    from cifar_course import modern

    x = np.random.default_rng(0).integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    y = np.eye(10, dtype="float32")[np.arange(20) % 10]
    model, batches, callbacks = modern.final_recipe(x, y, modern.patch_whitening(x), epochs=3, batch_size=8)
    assert model.name == "airbench_cnn" and isinstance(model.optimizer, modern.BiasScaledSGD)
    schedule = model.optimizer.get_config()["learning_rate"]  # airbench's triangle over 3 epochs of 3 batches
    assert schedule["class_name"] == "Triangular"
    assert schedule["config"]["peak_lr"] == 1.5 * 8 / 1024 and schedule["config"]["total_steps"] == 9
    assert [type(c) for c in callbacks] == [modern.Lookahead] and callbacks[0].total_steps == 9
    images, labels = next(iter(batches))
    assert images.shape == (8, 32, 32, 3) and float(images.numpy().max()) <= 1.0  # scaled batches
    model.fit(batches, epochs=1, callbacks=callbacks, shuffle=False, verbose=0)  # as the lesson's step 13 trains


@pytest.mark.parametrize("layer", ["CutMix", "MixUp"])
def test_mix_batches_mixes_images_and_labels_in_the_same_proportions(layer):
    import tensorflow as tf

    x = np.zeros((8, 32, 32, 3), np.float32)
    x[:4] = 1.0  # four white images, four black ones: a pixel's value is the share of a white image in it
    y = keras.utils.to_categorical([0] * 4 + [1] * 4, 10)
    batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    mixer = getattr(keras.layers, layer)(seed=3)
    images, labels = next(iter(modern.mix_batches(batches, mixer)))
    images, labels = images.numpy(), labels.numpy()
    assert images.shape == x.shape and labels.shape == y.shape
    assert np.allclose(labels.sum(axis=1), 1) and not np.allclose(labels, y)  # mixed, still a distribution
    white_share = images.mean(axis=(1, 2, 3))
    atol = 0.07 if layer == "CutMix" else 1e-5  # CutMix's label comes from its box, its mask from whole pixels
    assert np.allclose(white_share, labels[:, 0], atol=atol)  # the label follows the pixels: class 0 is white


@pytest.mark.parametrize("kind", ["cutmix", "mixup"])
def test_mixing_works_under_mixed_bfloat16(kind):
    """Under mixed bfloat16 (lessons 07 and 08 on a CPU with bfloat16) Keras's own CutMix and MixUp fail on float32
    batches; the course's, in float32, mix them and keep them float32 for the network's first layer."""
    import tensorflow as tf

    x = np.random.default_rng(0).random((8, 32, 32, 3)).astype(np.float32)
    y = keras.utils.to_categorical(np.arange(8) % 10, 10)
    batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        images, labels = next(iter(modern.mix_batches(batches, modern.mixing_layer(kind, seed=3))))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert images.dtype == tf.float32 and labels.dtype == tf.float32
    assert np.allclose(labels.numpy().sum(axis=1), 1) and not np.allclose(labels.numpy(), y)
