"""Lesson 07's helpers: flips are flips, crops shift content, the schedule peaks and ends where it should, TTA."""

from __future__ import annotations

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
    from cifar_course import config

    assert isinstance(config.cpu_has_bf16(), bool)


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
