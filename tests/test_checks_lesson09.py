"""Lesson 09's checks: the sharpest Grad-CAM layer and the occlusion prediction, on models whose answers are known."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from check_helpers import not_answered
from keras import layers

from cifar_course import checks, explain
from cifar_course.checks import CheckFailed

PATCHES = {"centre": (10, 10), "corner": (0, 0)}
SIZE = 12


@pytest.fixture(autouse=True)
def not_grading(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)


# --------------------------------------------------------------------------- check_occlusion_prediction
def centre_model(softmax: bool = True) -> keras.Model:
    """Class 0's score is 0.01 x the sum of the centre 12x12 pixels (all channels); class 1's is always 0."""
    model = keras.Sequential(
        [keras.Input((32, 32, 3)), layers.Flatten(), layers.Dense(2, activation="softmax" if softmax else None)]
    )
    weights = np.zeros((32, 32, 3, 2), np.float32)
    weights[10:22, 10:22, :, 0] = 0.01
    model.layers[-1].set_weights([weights.reshape(-1, 2), np.zeros(2, np.float32)])
    return model


def expected_drops(value: float) -> dict:
    """The drops of class 0's probability for images filled with ``value`` (class 0 predicted when value > 0)."""

    def p0(score):
        return 1 / (1 + np.exp(-score))

    full = 0.01 * 144 * 3 * value
    return {"centre": p0(full) - p0(0.01 * 144 * 3 * 0.5), "corner": 0.0}


@pytest.mark.parametrize("softmax", [True, False])
def test_occlusion_prediction_right_guess_and_measurement(capsys, softmax):
    images = np.ones((3, 32, 32, 3), np.float32)
    drops = expected_drops(1.0)
    assert drops["centre"] > 0.05  # hiding the centre matters, the corner does not
    checks.check_occlusion_prediction("centre", drops, centre_model(softmax), images, PATCHES, size=SIZE)
    out = capsys.readouterr().out
    assert "you predicted 'centre', it was 'centre' - right" in out and "Correct:" in out
    assert "over 3 images" in out


def test_occlusion_prediction_a_wrong_guess_is_no_error(capsys):
    images = np.ones((2, 32, 32, 3), np.float32)
    checks.check_occlusion_prediction("corner", expected_drops(1.0), centre_model(), images, PATCHES, size=SIZE)
    out = capsys.readouterr().out
    assert "it was 'centre' - not this time" in out and "Correct:" in out


def test_occlusion_prediction_about_the_same(capsys):
    images = np.full((2, 32, 32, 3), 0.5, np.float32)  # a grey patch on grey changes nothing
    drops = {"centre": 0.0, "corner": 0.0}
    checks.check_occlusion_prediction("about the same", drops, centre_model(), images, PATCHES, size=SIZE)
    assert "it was 'about the same' - right" in capsys.readouterr().out


def test_occlusion_prediction_wrong_measurements():
    model, images = centre_model(), np.ones((2, 32, 32, 3), np.float32)
    drops = expected_drops(1.0)
    with pytest.raises(CheckFailed, match="wrong sign"):
        checks.check_occlusion_prediction("centre", {**drops, "centre": -drops["centre"]}, model, images, PATCHES, 12)
    with pytest.raises(CheckFailed, match=r"drops\['centre'\] is not what the model gives.*rows 10-21"):
        checks.check_occlusion_prediction("centre", {**drops, "centre": 0.5}, model, images, PATCHES, 12)
    with pytest.raises(CheckFailed, match=r"drops\['corner'\] is not what the model gives"):
        checks.check_occlusion_prediction("centre", {**drops, "corner": 0.2}, model, images, PATCHES, 12)


def test_occlusion_prediction_wrong_forms(capsys):
    model, images = centre_model(), np.ones((1, 32, 32, 3), np.float32)
    drops = expected_drops(1.0)
    with pytest.raises(CheckFailed, match="choose one of 'centre', 'corner', 'about the same'"):
        checks.check_occlusion_prediction("middle", drops, model, images, PATCHES, SIZE)
    with pytest.raises(CheckFailed, match="a dict with the keys 'centre', 'corner'"):
        checks.check_occlusion_prediction("centre", {"centre": 0.1}, model, images, PATCHES, SIZE)
    with pytest.raises(CheckFailed, match="a dict with the keys"):
        checks.check_occlusion_prediction("centre", [0.1, 0.0], model, images, PATCHES, SIZE)
    with pytest.raises(CheckFailed, match=r"drops\['centre'\]: give one number"):
        checks.check_occlusion_prediction("centre", {"centre": [0.1, 0.2], "corner": 0.0}, model, images, PATCHES, 12)
    not_answered(capsys, lambda: checks.check_occlusion_prediction(None, drops, model, images, PATCHES, SIZE))
    not_answered(capsys, lambda: checks.check_occlusion_prediction("centre", None, model, images, PATCHES, SIZE))


def test_occlusion_prediction_failures_never_give_the_numbers():
    model, images = centre_model(), np.ones((2, 32, 32, 3), np.float32)
    drops = expected_drops(1.0)
    with pytest.raises(CheckFailed) as failed:
        checks.check_occlusion_prediction("centre", {**drops, "centre": 0.5}, model, images, PATCHES, SIZE)
    assert f"{drops['centre']:.3f}" not in str(failed.value) and f"{drops['centre']:.2f}" not in str(failed.value)


# --------------------------------------------------------------------------- check_sharpest_layer
def three_convs() -> keras.Model:
    keras.utils.set_random_seed(3)
    return keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            layers.Conv2D(4, 3, padding="same", activation="relu", name="c1"),
            layers.MaxPooling2D(2),
            layers.Conv2D(4, 3, padding="same", activation="relu", name="c2"),
            layers.MaxPooling2D(2),
            layers.Conv2D(4, 3, padding="same", activation="relu", name="c3"),
            layers.GlobalMaxPooling2D(),
            layers.Dense(3),
        ],
        name="three_convs",
    )


def test_heat_share_is_the_share_of_the_heat_in_the_hottest_pixels():
    focused = np.zeros((32, 32), np.float32)
    focused.flat[:102] = 1.0  # 102 = round(0.1 * 1024) pixels
    assert explain.heat_share(np.ones((32, 32), np.float32)) == pytest.approx(102 / 1024)  # an even map
    assert explain.heat_share(focused) == 1.0 and explain.heat_share(focused, top=0.05) == pytest.approx(51 / 102)
    assert explain.heat_share(np.zeros((32, 32), np.float32)) == 0.0  # no heat at all
    assert explain.heat_share(np.full((2, 2), 5.0), top=0.01) == 0.25  # at least one pixel


def test_sharpest_layer_on_a_real_model(capsys):
    model, image = three_convs(), np.random.default_rng(0).uniform(0, 1, (32, 32, 3)).astype(np.float32)
    maps = {name: explain.grad_cam(model, image, layer_name=name)[0] for name in ("c1", "c2", "c3")}
    shares = {name: explain.heat_share(heat) for name, heat in maps.items()}
    best = max(shares, key=shares.get)
    checks.check_sharpest_layer(best, model, image)
    assert f"Correct: {best}'s Grad-CAM map" in capsys.readouterr().out
    for name in sorted(set(shares) - {best}):
        if shares[best] - shares[name] > 1e-3:  # clearly less sharp: a failure
            with pytest.raises(CheckFailed):
                checks.check_sharpest_layer(name, model, image)


@pytest.fixture
def designed_maps(monkeypatch):
    """Grad-CAM replaced by known maps: c1 even (share 0.1), c2 all heat in 10% of pixels (1.0), c3 half (0.5)."""
    even = np.ones((32, 32), np.float32)
    focused = np.zeros((32, 32), np.float32)
    focused.flat[:102] = 1.0  # 102 = round(0.1 * 1024) pixels
    half = np.zeros((32, 32), np.float32)
    half.flat[:102], half.flat[102:204] = 1.0, 1.0  # half the heat outside the hottest 10%
    maps = {"c1": even, "c2": focused, "c3": half}
    monkeypatch.setattr(
        explain, "grad_cam", lambda model, image, class_index=None, layer_name=None: maps[layer_name][None]
    )
    return maps


def test_sharpest_layer_messages(capsys, designed_maps):
    model, image = three_convs(), np.zeros((32, 32, 3), np.float32)
    checks.check_sharpest_layer("c2", model, image)
    assert "keeps 100.0% of its heat in its hottest 10% of pixels, the most of the 3 convolution layers" in (
        capsys.readouterr().out
    )
    with pytest.raises(CheckFailed, match="LEAST concentrated map.*highest heat_share") as least:
        checks.check_sharpest_layer("c1", model, image)
    with pytest.raises(CheckFailed, match="another layer keeps more.*usual layer") as middle:
        checks.check_sharpest_layer("c3", model, image)
    for failed in (least, middle):
        assert "c2" not in str(failed.value) and "100.0%" not in str(failed.value)  # the answer stays hidden


def test_sharpest_layer_a_map_with_no_heat_counts_zero(capsys, designed_maps):
    designed_maps["c1"] = np.zeros((32, 32), np.float32)
    with pytest.raises(CheckFailed, match=r"LEAST concentrated map of all \(0.0%\)"):
        checks.check_sharpest_layer("c1", three_convs(), np.zeros((32, 32, 3), np.float32))


def test_sharpest_layer_wrong_forms(capsys, designed_maps):
    model, image = three_convs(), np.zeros((32, 32, 3), np.float32)
    with pytest.raises(CheckFailed, match="give the layer's name.*not 2 \\(an int\\)"):
        checks.check_sharpest_layer(2, model, image)
    with pytest.raises(CheckFailed, match="'dense' is not one of three_convs's convolution layers"):
        checks.check_sharpest_layer("dense", model, image)
    not_answered(capsys, lambda: checks.check_sharpest_layer(None, model, image))
