"""Training lowers the loss, and runs are saved, listed and reloaded without overwriting."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import cifar_course as cc
from cifar_course import data as data_mod


@pytest.fixture
def trained(tmp_path):
    """R1 trained 3 epochs on the synthetic stand-in, with the course's callbacks."""
    cc.set_seeds(0)
    ds = data_mod.synthetic_dataset("cifar10", 300, 100)
    x, x_test = cc.scale_pixels(ds.x_train), cc.scale_pixels(ds.x_test)
    from cifar_course.models import r1

    model = r1()
    model.compile(
        optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
    )
    (x_tr, y_tr), (x_val, y_val) = cc.split_validation(x, ds.y_train, 0.2)
    run = cc.new_run("02", "R1", data=ds, batch_size=32)
    history = model.fit(
        x_tr, y_tr, epochs=3, batch_size=32, validation_data=(x_val, y_val), verbose=0, callbacks=run.callbacks()
    )
    _, test_acc = model.evaluate(x_test, ds.y_test, verbose=0)
    metrics = run.save(model, history, test_accuracy=test_acc)
    return run, model, history, metrics, x_test


def test_training_lowers_the_loss_and_beats_chance(trained):
    _, _, history, metrics, _ = trained
    loss = history.history["loss"]
    assert loss[-1] < loss[0]
    assert metrics["test_accuracy"] > 0.3  # 10 classes: chance is 0.1
    assert metrics["precision"] == "float32"  # the model's compute precision is recorded with the run


def test_run_folder_holds_model_history_metrics_and_checkpoint(trained):
    run, model, _, metrics, x_test = trained
    assert {p.name for p in run.path.iterdir()} >= {
        "model.keras",
        "best.keras",
        "history.json",
        "history.csv",
        "metrics.json",
    }
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["params"] == 122_570 and saved["profile"] == "smoke" and saved["synthetic_data"] is True
    assert (saved["data_kind"], saved["source_kind"], saved["weights_kind"]) == ("synthetic", "synthetic stand-in", "")
    assert saved["epochs"] == 3 and saved["train_seconds"] > 0 and saved["images_per_second"] > 0
    reloaded = cc.load_model(run)
    np.testing.assert_allclose(
        reloaded.predict(x_test[:5], verbose=0), model.predict(x_test[:5], verbose=0), rtol=1e-5, atol=1e-5
    )
    assert len(cc.load_history(run)["loss"]) == 3
    assert run.metrics() == saved and saved["epochs_planned"] == 3 and saved["batch_size"] == 32
    assert saved["lesson"] == "02" and saved["class_names"] == [f"synthetic_{i}" for i in range(10)]


def test_runs_are_listed_and_never_overwritten(trained, capsys):
    run, model, history, _, _ = trained
    again = cc.new_run("02", "R1")
    assert again.path != run.path and again.name.startswith(run.name[:10])
    with pytest.raises(ValueError, match="already holds a saved run"):
        run.save(model, history, test_accuracy=0.5)
    with pytest.raises(ValueError, match="does not know its data"):
        again.save(model, history, test_accuracy=0.5)
    runs = cc.list_runs()
    assert [r.folder for r in runs] == [run.path] and runs[0].model == "R1_baseline" and runs[0].epochs == 3
    assert runs[0].raw == run.metrics() and runs[0].synthetic and runs[0].has_model
    assert cc.latest_run("02") == run.path and cc.latest_run("03") is None
    assert cc.latest_run(model="R1_baseline") == run.path


def test_save_run_prints_the_training_speed(trained, capsys):
    _, model, history, metrics, _ = trained
    capsys.readouterr()
    again = cc.new_run("02", "R1", data=data_mod.synthetic_dataset(), batch_size=32).save(
        model, history, test_accuracy=0.5
    )
    assert capsys.readouterr().out.splitlines()[-1] == cc.training._speed_line(again)
    line = cc.training._speed_line(metrics)
    per_epoch = metrics["train_seconds"] / 3
    assert line.startswith("R1_baseline: 3 epochs in ") and f"({per_epoch:.1f} s per epoch, " in line
    assert f"{metrics['images_per_second']:,.0f} images per second, float32, on " in line
    slow = {**metrics, "epochs": 2, "train_seconds": 3000.0, "images_per_second": 1234.4}
    assert cc.training._speed_line(slow).startswith(
        "R1_baseline: 2 epochs in 3,000 s (1500.0 s per epoch, 1,234 images"
    )


def test_print_accuracy_line(capsys):
    cc.print_accuracy("test", 0.67912)
    cc.print_accuracy("validation", 0.7)
    assert capsys.readouterr().out.splitlines() == ["Test accuracy: 0.6791", "Validation accuracy: 0.7000"]


def test_steps_per_execution_changes_speed_not_training():
    """Lessons 02-04 compile with steps_per_execution=32: the weights must come out exactly the same."""
    import keras
    import numpy as np

    from cifar_course import models

    rng = np.random.default_rng(0)
    x, y = rng.random((96, 32, 32, 3), dtype=np.float32), rng.integers(0, 10, 96)
    weights = []
    for spe in (1, 32):
        keras.utils.set_random_seed(1)
        model = models.r1()
        model.compile(
            optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), steps_per_execution=spe
        )
        model.fit(x, y, batch_size=8, epochs=2, shuffle=True, verbose=0)  # 12 batches: one partial call of 32
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_callbacks_add_a_progress_bar_over_the_batches_only_when_asked(tmp_path):
    from tqdm.keras import TqdmCallback

    run = cc.new_run("07", "probe", batch_size=128)
    assert not any(isinstance(c, TqdmCallback) for c in run.callbacks(images_per_epoch=1000))
    bars = [c for c in run.callbacks(images_per_epoch=1000, progress=True) if isinstance(c, TqdmCallback)]
    assert len(bars) == 1 and bars[0].batch_bar.total == 8  # 1,000 images in batches of 128


def test_every_run_writes_tensorboard_logs_in_its_folder(trained):
    """run.callbacks() includes TensorBoard: one scalar per metric and epoch, in <run>/logs/train and /validation."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = trained[0]
    events = sorted((run / "logs").rglob("events.out.tfevents.*"))
    assert {p.parent.relative_to(run.path).as_posix() for p in events} == {"logs/train", "logs/validation"}
    validation = EventAccumulator(str(run / "logs" / "validation")).Reload()
    assert [e.step for e in validation.Tensors("epoch_accuracy")] == [0, 1, 2]  # 3 epochs, logged once each
    assert "epoch_loss" in EventAccumulator(str(run / "logs" / "train")).Reload().Tags()["tensors"]
    assert not list((run / "logs").rglob("*.trace.json.gz")) and not list((run / "logs").rglob("plugins"))  # light


def test_live_curves_only_when_asked_in_a_live_notebook_and_never_in_smoke(monkeypatch):
    from livelossplot.inputs.keras import PlotLossesCallback

    run = cc.new_run("04", "probe", batch_size=32)
    assert not any(isinstance(c, PlotLossesCallback) for c in run.callbacks(live_curves=True))  # smoke: quiet
    monkeypatch.setenv("COURSE_PROFILE", "quick")
    assert not any(isinstance(c, PlotLossesCallback) for c in run.callbacks(live_curves=True))  # no person: quiet
    monkeypatch.setattr(cc.training, "live_notebook", lambda: True)  # as in JupyterLab
    assert not any(isinstance(c, PlotLossesCallback) for c in run.callbacks())
    first = run.callbacks(live_curves=True)[0]  # before the timer: it plots Keras's own numbers
    assert isinstance(first, PlotLossesCallback) and isinstance(first, keras.callbacks.Callback)


def test_a_tool_running_a_lesson_is_no_live_notebook(monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", "02_baseline_cnn.ipynb")
    assert cc.plots.live_notebook() is False  # pytest is no Jupyter kernel, whatever the environment says
