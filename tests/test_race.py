"""cc.race, the bookkeeping of lessons 07 and 08: a step trains, tests and saves; a step not trained shows its
recorded full run; the table's gains compare only rows of one source; lesson 08 starts from lesson 07's run."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cifar_course import data as data_mod
from cifar_course import race
from cifar_course.reference import Recorded


@pytest.fixture
def setting(tmp_path, monkeypatch):
    monkeypatch.setenv("CIFAR_COURSE_RUNS", str(tmp_path / "runs"))
    ds = data_mod.synthetic_dataset("cifar10", 64, 40)
    x_val, y_val = ds.x_train[:16] / 255.0, keras.utils.to_categorical(ds.y_train[:16], 10)
    return ds, x_val.astype("float32"), y_val, (ds.x_test / 255.0).astype("float32")


def _model(name: str) -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3), keras.layers.GlobalMaxPooling2D(),
         keras.layers.Dense(10, activation="softmax")], name=name,
    )  # fmt: skip


def _batches(ds):
    import tensorflow as tf

    x, y = (ds.x_train[:64] / 255.0).astype("float32"), keras.utils.to_categorical(ds.y_train[:64], 10)
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(32)


def _recorded(step: int, accuracy: float, tta=None) -> Recorded:
    return Recorded("07", f"step{step}", "full", 3, 0.5, accuracy, 60.0, "float32", "x86_64, 2 CPU cores, Linux",
                    "2026-12-06", params=100, step=step, adds="x", tta=tta)  # fmt: skip


def test_a_step_trains_tests_saves_and_adds_its_row(setting, capsys):
    ds, x_val, y_val, x_test = setting
    r = race.Race("07", ds, x_val, y_val, x_test, race_images=64)
    model = _model("step0_tiny")
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    batches = _batches(ds)
    run = race.fit_step(r, 0, "tiny", model, batches, 1, 32, views="flip+shift", tta="flip")
    saved = run.metrics()
    assert saved["step"] == 0 and saved["lesson"] == "07" and saved["numbering"] == 2
    assert set(saved["test_accuracy_tta"]) == {"none", "flip", "flip+shift"}
    assert saved["test_accuracy"] == saved["test_accuracy_tta"]["flip"]
    expected = np.mean(model.predict(x_test, verbose=0).argmax(axis=1) == ds.y_test)
    assert saved["test_accuracy_tta"]["none"] == pytest.approx(expected, abs=1e-4)  # the image itself, no TTA
    [row] = r.results
    assert row["source"] == "your run" and row["test images"] == len(x_test) and row["images/s"] > 0
    assert "0: tiny" in r.histories
    assert "step 0 (tiny): test accuracy" in capsys.readouterr().out


def test_a_step_not_trained_shows_the_recorded_run_and_gains_stay_within_one_source(setting, capsys):
    ds, x_val, y_val, x_test = setting
    recorded = {8: _recorded(8, 0.80), 9: _recorded(9, 0.83)}
    r = race.Race("08", ds, x_val, y_val, x_test, race_images=64, trains=lambda s: False, recorded=recorded)
    race._add_row(r, 6, "lesson 07's recipe", "your run", 100, 2, 40, 0.50)
    assert race.fit_step(r, 8, "wide", None, None, 1, 128) is None  # no model needed: it is not trained
    assert race.fit_step(r, 9, "whitened", None, None, 1, 128) is None
    assert race.fit_step(r, 10, "airbench", None, None, 1, 128) is None  # nothing recorded: no row
    out = capsys.readouterr().out
    assert "step 8 (wide): not trained in quick. Recorded: test accuracy 0.8000" in out
    assert "step 10 (airbench): not trained in quick, and no recorded full run at hand" in out
    table = race.step_table(r, "quick")
    assert table.index.tolist() == [6, 8, 9]
    assert np.isnan(table.loc[8, "gain (points)"])  # your run, then a recorded one: no gain between them
    assert table.loc[9, "gain (points)"] == pytest.approx(3.0)
    assert table.loc[9, "noise ± (points)"] == pytest.approx(100 * np.sqrt(0.83 * 0.17 / 10_000))
    assert table.loc[9, "recorded full run"] == 0.83
    race.read_gains(table)
    assert capsys.readouterr().out == ""  # only your own run's gains are read, and it has none here


def test_read_gains_says_clear_or_within_the_noise(capsys):
    import pandas as pd

    table = pd.DataFrame(
        {"adds": ["a", "b", "c"], "source": ["your run"] * 3, "gain (points)": [np.nan, 9.0, 1.0],
         "noise ± (points)": [1.0, 1.0, 1.0]}, index=[0, 1, 2],
    )  # fmt: skip
    race.read_gains(table)
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "step  1 (b): +9.0 points, a clear gain (twice the noise: 2.0)",
        "step  2 (c): +1.0 points, within the noise (twice the noise: 2.0)",
    ]


def test_lesson_08_starts_from_your_lesson_07_run_else_the_recorded_one(setting, monkeypatch, capsys):
    ds, x_val, y_val, x_test = setting
    monkeypatch.setattr(race, "recorded_steps", lambda lesson: {6: _recorded(6, 0.7, {"none": 0.69, "flip": 0.71})})
    r = race.Race("08", ds, x_val, y_val, x_test, race_images=64)
    race.start_from(r, "07", step=6, adds="recipe", tta="flip", profile="smoke")
    assert r.results[-1]["source"] == "recorded full run" and r.results[-1]["test accuracy"] == 0.71
    own = race.Race("07", ds, x_val, y_val, x_test, race_images=64)
    model = _model("step6_tiny")
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    batches = _batches(ds)
    saved = race.fit_step(own, 6, "recipe", model, batches, 1, 32, tta="flip").metrics()
    race.start_from(r, "07", step=6, adds="recipe", tta="flip", profile=saved["profile"])
    assert r.results[-1]["source"] == "your run"
    assert r.results[-1]["test accuracy"] == saved["test_accuracy_tta"]["flip"]
    assert "your lesson 07 run 07_step6_tiny_" in capsys.readouterr().out


def test_a_variant_of_a_step_is_saved_as_one_and_never_taken_for_the_step(setting, monkeypatch):
    ds, x_val, y_val, x_test = setting
    own = race.Race("07", ds, x_val, y_val, x_test, race_images=64)
    model = _model("step6_cutmix")
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    saved = race.fit_step(own, 6, "recipe + CutMix", model, _batches(ds), 1, 32, tta="flip", variant="cutmix")
    assert saved.metrics()["variant"] == "cutmix" and saved.metrics()["step"] == 6
    monkeypatch.setattr(race, "recorded_steps", lambda lesson: {})
    r = race.Race("08", ds, x_val, y_val, x_test, race_images=64)
    race.start_from(r, "07", step=6, adds="recipe", tta="flip", profile=saved.metrics()["profile"])
    assert r.results == []  # the CutMix run is no lesson 07 step 6, and nothing is recorded


def test_recorded_steps_leave_out_the_variants(monkeypatch):
    import dataclasses

    step3 = _recorded(3, 0.47)
    cutmix = dataclasses.replace(_recorded(3, 0.40), variant="cutmix", date="2026-12-07")  # the newer record
    monkeypatch.setattr(race, "recorded_runs", lambda lesson: [cutmix, step3])  # newest first
    assert race.recorded_steps("07") == {3: step3}
