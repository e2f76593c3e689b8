"""A saved run is a typed record (cc.RunRecord), and cc.pick_run chooses the run lessons 06 and 08 analyse."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import keras
import pytest

import cifar_course as cc
from cifar_course import data as data_mod
from cifar_course.runs import RunRecord

CIFAR10 = list(cc.data.CIFAR10_CLASSES)
RANDOM = "RANDOM weights (smoke profile fallback: no ImageNet weights available)"
IMAGENET = "ImageNet weights from /data/vgg16_notop.h5"


def _old(**metrics) -> dict:
    """A metrics.json as run.save wrote it before runs named their kinds: only texts say data, source and weights."""
    return {
        "lesson": "04",
        "model": "M3_deeper_cnn",
        "profile": "quick",
        "params": 1_084_234,
        "epochs": 3,
        "train_seconds": 88.8,
        "images_per_second": 310.0,
        "val_accuracy": 0.466,
        "test_accuracy": 0.5,
        "dataset": "cifar10",
        "data_source": "JPEG image folder /data/cifar10 (cached)",
        "synthetic_data": False,
        "class_names": CIFAR10,
        "precision": "float32",
        "machine": "x86_64, 2 CPU cores, Linux",
        "date": "2026-12-06T11:10:17",
        **metrics,
    }


def _write(base: Path, name: str, model_file: bool = True, **metrics) -> Path:
    """A run folder with a metrics.json (and a stand-in model.keras unless ``model_file`` is False)."""
    folder = base / name
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(_old(date=name, **metrics)))
    if model_file:
        (folder / "model.keras").write_bytes(b"a model")
    return folder


def _cifar10(synthetic: bool = False) -> cc.Dataset:
    """A tiny data set that calls itself CIFAR-10: real (its ten classes) or the synthetic stand-in."""
    ds = data_mod.synthetic_dataset("cifar10", 200, 60)
    return ds if synthetic else dataclasses.replace(ds, synthetic=False, class_names=CIFAR10, source="JPEG x /d")


# --------------------------------------------------------------------------- records from metrics.json
def test_an_old_run_on_cifar10_reads_as_before():
    run = RunRecord.from_metrics(_old(), "/runs/04_M3_20261206-111017")
    assert (run.name, run.lesson, run.model, run.profile, run.dataset) == (
        "04_M3_20261206-111017",
        "04",
        "M3_deeper_cnn",
        "quick",
        "cifar10",
    )
    assert (run.data_kind, run.source_kind, run.weights_kind) == ("real", "JPEG image folder", "")
    assert (run.params, run.epochs, run.train_seconds, run.feature_seconds, run.images_per_second) == (
        1_084_234,
        3,
        88.8,
        0.0,
        310.0,
    )
    assert (run.val_accuracy, run.test_accuracy, run.tta, run.preprocessing) == (0.466, 0.5, "", "")
    assert run.class_names == tuple(CIFAR10) and run.machine.startswith("x86_64") and run.date.startswith("2026")
    assert run.data_label == "cifar10" and run.on_cifar10 and run.comparable and run.why_not_comparable == []
    assert run.raw["data_source"] == "JPEG image folder /data/cifar10 (cached)"  # anything else: in raw


@pytest.mark.parametrize(
    "metrics, kind, label, source",
    [
        ({"synthetic_data": True}, "synthetic", "synthetic", "synthetic stand-in"),
        (
            {"data_source": "SYNTHETIC stand-in data (no real data found)"},
            "synthetic",
            "synthetic",
            "synthetic stand-in",
        ),
        ({"class_names": ["cat", "dog"]}, "own", "own data, 2 classes", "JPEG image folder"),
        ({"class_names": None}, "real", "cifar10", "JPEG image folder"),  # saved before class names were recorded
        ({"dataset": "mnist", "class_names": [str(d) for d in range(10)]}, "real", "mnist", "JPEG image folder"),
        ({"data_source": "official archive /data/cifar-10-python.tar.gz"}, "real", "cifar10", "official archive"),
        ({"data_source": "download into /root/.keras/datasets"}, "real", "cifar10", "download"),
        ({"data_source": "image folder C:\\data\\cifar10"}, "real", "cifar10", "image folder"),
        ({"data_source": None, "dataset": None}, "real", "?", "?"),
    ],
)
def test_old_runs_are_classified_from_their_texts(metrics, kind, label, source):
    run = RunRecord.from_metrics({k: v for k, v in _old(**metrics).items() if v is not None}, "/runs/x")
    assert (run.data_kind, run.data_label, run.source_kind) == (kind, label, source)
    assert run.synthetic == (kind == "synthetic") and run.on_cifar10 == (kind == "real" and run.dataset == "cifar10")


@pytest.mark.parametrize(
    "weights, kind",
    [(RANDOM, "random"), ("RANDOM values in VGG16's layout (timing only)", "random"), (IMAGENET, "ImageNet"),
     ("ImageNet weights (downloaded by Keras)", "ImageNet"), (None, ""), ("", "")],
)  # fmt: skip
def test_old_runs_weights_are_classified_from_their_text(weights, kind):
    run = RunRecord.from_metrics(_old(lesson="05", model="M4_transfer", weights=weights), "/runs/x")
    assert run.weights_kind == kind
    assert run.comparable == (kind != "random")


def test_why_a_run_may_not_stand_beside_the_references():
    def why(**metrics):
        return RunRecord.from_metrics(_old(**metrics), "/runs/x").why_not_comparable

    assert why(class_names=["cat", "dog"]) == ["own data (2 classes), not CIFAR-10's 10 classes"]
    assert why(weights=RANDOM) == ["RANDOM weights, not ImageNet"]
    assert why(dataset="mnist", class_names=list("0123456789")) == ["trained on mnist, not CIFAR-10"]
    assert why(synthetic_data=True, weights=RANDOM) == ["synthetic data", "RANDOM weights, not ImageNet"]


def test_a_new_run_is_read_from_its_named_kinds_not_from_its_texts():
    new = _old(data_kind="own", source_kind="camera roll", weights_kind="ImageNet", weights="RANDOM, as the text says")
    new["data_source"] = "SYNTHETIC-looking text that no reader looks at now"
    run = RunRecord.from_metrics(new, "/runs/x")
    assert (run.data_kind, run.source_kind, run.weights_kind) == ("own", "camera roll", "ImageNet")
    assert not run.synthetic and run.data_label == "own data, 10 classes"


def test_lesson_08_test_time_augmentation_and_lesson_05_features_are_fields():
    final = RunRecord.from_metrics(_old(lesson="08", model="airbench_cnn", tta="flip+shift", numbering=2), "/runs/x")
    assert final.tta == "flip+shift" and final.lesson == "08"
    assert RunRecord.from_metrics(_old(tta="none"), "/runs/x").tta == ""
    m4 = RunRecord.from_metrics(_old(feature_seconds=47.1, preprocessing="vgg16"), "/runs/x")
    assert m4.seconds == pytest.approx(88.8 + 47.1) and m4.preprocessing == "vgg16"


def test_records_are_frozen():
    run = RunRecord.from_metrics(_old(), "/runs/x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.test_accuracy = 0.99


# --------------------------------------------------------------------------- saving and listing
def _save(data, extra=None) -> dict:
    model = keras.Sequential(
        [keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(len(data.class_names))], name="probe"
    )
    history = {"loss": [1.0], "val_accuracy": [0.5], "epoch_seconds": [1.0]}
    return cc.new_run("05", "probe", data=data, batch_size=8).save(model, history, test_accuracy=0.5, extra=extra)


def test_run_save_names_the_kinds_and_list_runs_reads_them_back():
    photos = dataclasses.replace(
        data_mod.synthetic_dataset("cifar10", 20, 10),
        synthetic=False,
        class_names=["cat", "dog"] + [f"other{i}" for i in range(8)],
        source="JPEG image folder /home/me/photos (cached)",
    )
    metrics = _save(photos, extra={"weights": RANDOM, "preprocessing": "vgg16"})
    assert (metrics["data_kind"], metrics["source_kind"], metrics["weights_kind"]) == (
        "own",
        "JPEG image folder",
        "random",
    )
    synthetic = _save(data_mod.synthetic_dataset("cifar10", 20, 10))
    assert (synthetic["data_kind"], synthetic["source_kind"], synthetic["weights_kind"]) == (
        "synthetic",
        "synthetic stand-in",
        "",
    )
    runs = cc.list_runs()
    assert [r.data_kind for r in runs] == ["own", "synthetic"] and all(isinstance(r, RunRecord) for r in runs)
    assert runs[0].preprocessing == "vgg16" and runs[0].weights_kind == "random" and runs[0].has_model
    assert json.loads((runs[0].folder / "metrics.json").read_text()) == runs[0].raw


def test_damaged_runs_and_unknown_kinds_are_skipped_with_one_line_each(tmp_path, capsys):
    good = _write(tmp_path, "a_good")
    _write(tmp_path, "b_bad_kind", data_kind="photos")
    _write(tmp_path, "c_text_epochs", epochs="ten")
    (tmp_path / "d_list").mkdir()
    (tmp_path / "d_list" / "metrics.json").write_text("[1, 2]")
    runs = cc.list_runs(tmp_path)
    assert [r.folder for r in runs] == [good]
    skipped = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Skipping a saved run:")]
    assert len(skipped) == 3
    assert 'data_kind = "photos", not real or synthetic or own' in skipped[0]
    assert 'epochs = "ten", not a number' in skipped[1] and "holds a JSON list" in skipped[2]


def test_latest_run_is_a_folder():
    _save(data_mod.synthetic_dataset("cifar10", 20, 10))
    assert cc.latest_run("05", "probe") == cc.list_runs()[-1].folder
    assert cc.latest_run("02") is None and cc.latest_run(model="M3_deeper_cnn") is None


# --------------------------------------------------------------------------- pick_run
@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "quick")
    return "quick"


def _lines(capsys) -> list[str]:
    return capsys.readouterr().out.splitlines()


def test_pick_run_prefers_a_model_then_this_profile_then_the_lesson_then_accuracy(tmp_path, quick, capsys):
    _write(tmp_path, "a", lesson="05", test_accuracy=0.50)
    _write(tmp_path, "b", lesson="04", test_accuracy=0.70)
    _write(tmp_path, "c", lesson="05", profile="full", test_accuracy=0.80)
    _write(tmp_path, "d", lesson="04", profile="full", test_accuracy=0.90)
    _write(tmp_path, "e", lesson="05", test_accuracy=0.60)
    runs = cc.list_runs(tmp_path)
    data = _cifar10()
    expected = [  # the runs left, and the run pick_run chooses with the reason it gives
        ("abcde", "e", "the most accurate eligible lesson 05 run of the quick profile"),
        ("abcd", "a", "the most accurate eligible lesson 05 run of the quick profile"),
        ("bcd", "b", "no eligible lesson 05 run in the quick profile: the most accurate eligible run of it"),
        ("cd", "c", "no eligible run of the quick profile: the most accurate eligible lesson 05 run"),
        ("d", "d", "no eligible run of the quick profile nor of lesson 05: the most accurate eligible run"),
    ]
    for names, chosen, why in expected:
        subset = [r for r in runs if r.name in names]
        assert cc.pick_run("06", data=data, prefer_lesson="05", runs=subset).name == chosen
        out = _lines(capsys)
        assert out[0].startswith(f"Analysing {chosen}: M3_deeper_cnn from lesson ")
        assert (
            out[1]
            == f"  profile {'full' if chosen in 'cd' else 'quick'}, data cifar10, weights none (trained from scratch)"
        )
        assert out[3] == f"  chosen because: {why}" and len(out) == 4  # nothing left out: all eligible
    (tmp_path / "e" / "model.keras").unlink()  # its model is gone: the other lesson 05 run comes first
    assert cc.pick_run("06", data=data, prefer_lesson="05", runs=runs).name == "a"
    (tmp_path / "a" / "model.keras").unlink()
    assert cc.pick_run("06", data=data, prefer_lesson="05", runs=runs).name == "b"
    assert "lost their model.keras" in _lines(capsys)[-1]


def test_pick_run_leaves_out_other_data_smoke_synthetic_and_random_weights_and_says_why(tmp_path, quick, capsys):
    _write(tmp_path, "05_smoke", lesson="05", profile="smoke", weights=RANDOM, test_accuracy=0.11)
    _write(tmp_path, "05_random", lesson="05", weights=RANDOM, test_accuracy=0.3)
    _write(tmp_path, "05_synthetic", lesson="05", synthetic_data=True, data_source="SYNTHETIC stand-in data")
    _write(tmp_path, "05_photos", lesson="05", weights=IMAGENET, class_names=["cat", "dog"], test_accuracy=0.95)
    _write(tmp_path, "02_mnist", lesson="02", dataset="mnist", class_names=list("0123456789"), test_accuracy=0.99)
    _write(tmp_path, "02_r1", lesson="02", model="R1_baseline", test_accuracy=0.505)
    chosen = cc.pick_run("06", data=_cifar10(), prefer_lesson="05", runs=cc.list_runs(tmp_path))
    assert chosen.name == "02_r1"
    assert _lines(capsys)[3:] == [
        "  chosen because: no eligible lesson 05 run in the quick profile: the most accurate eligible run of it",
        "  left out: 02_mnist (trained on mnist, not cifar10)",
        "  left out: 05_photos (other classes (cat, dog))",
        "  left out: 05_random (RANDOM weights)",
        "  left out: 05_smoke (smoke profile, RANDOM weights)",
        "  left out: 05_synthetic (synthetic data)",
    ]


def test_in_smoke_every_run_on_this_data_is_eligible_and_random_weights_are_noted(tmp_path, capsys):
    _write(tmp_path, "05_smoke", lesson="05", profile="smoke", weights=RANDOM, test_accuracy=0.11)
    _write(tmp_path, "05_synthetic", lesson="05", synthetic_data=True, data_source="SYNTHETIC stand-in data")
    runs = cc.list_runs(tmp_path)
    assert cc.pick_run("06", data=_cifar10(), prefer_lesson="05", runs=runs).name == "05_smoke"
    out = _lines(capsys)
    assert out[1] == "  profile smoke, data cifar10, weights random"
    assert "NOTE: this transfer model was built on RANDOM weights" in out[4]
    assert out[5] == "  left out: 05_synthetic (synthetic data)"
    assert cc.pick_run("06", data=_cifar10(synthetic=True), prefer_lesson="05", runs=runs).name == "05_synthetic"
    assert "  left out: 05_smoke (real data, but the data now is synthetic)" in _lines(capsys)


def test_pick_run_takes_run_as_it_is_and_only_the_models_asked_for(tmp_path, quick, capsys):
    _write(tmp_path, "04_m3", test_accuracy=0.5)
    _write(tmp_path, "07_final", lesson="07", model="airbench_cnn", tta="flip", test_accuracy=0.54)
    _write(tmp_path, "07_step", lesson="07", model="step2_augment", test_accuracy=0.9)
    _write(tmp_path, "05_m4", lesson="05", model="M4_transfer", profile="smoke", weights=RANDOM)
    runs, data = cc.list_runs(tmp_path), _cifar10()
    explained = {("08", "airbench_cnn"), ("04", "M3_deeper_cnn")}  # 07_final was saved as lesson 07's: now 08's
    chosen = cc.pick_run("09", data=data, prefer_lesson="08", models=explained, runs=runs)
    assert chosen.name == "07_final"
    out = _lines(capsys)
    assert out[2] == "  3 epoch(s); test accuracy when saved 0.5400 (flip test-time augmentation)"
    assert not any("left out" in line for line in out)  # 05_m4 is no candidate, so not "left out" either
    assert cc.pick_run("09", data=data, prefer_lesson="08", models=explained, runs=runs, run="05_m4").name == "05_m4"
    assert _lines(capsys)[3:] == ["  chosen because: you set RUN to it", "NOTE: this transfer model was built on "
                                  "RANDOM weights (no ImageNet weights on that machine)."]  # fmt: skip
    with pytest.raises(ValueError, match=r"No saved run called 'nope'. Saved runs:\n  04_m3\n  05_m4"):
        cc.pick_run("06", data=data, prefer_lesson="05", runs=runs, run="nope")


def test_runs_saved_before_lesson_07_was_split_read_in_todays_numbering(tmp_path):
    _write(tmp_path, "07_step2", lesson="07", model="step2_augment", step=2)  # the recipe: still lesson 07
    _write(tmp_path, "07_step9", lesson="07", model="whitened_cnn", step=9)  # the network's steps: lesson 08 now
    _write(tmp_path, "07_final_old", lesson="07", model="airbench_cnn")  # a final model saved with no step
    _write(tmp_path, "08_m3", lesson="08", model="M3_deeper_cnn")  # what the network sees: lesson 09 now
    _write(tmp_path, "08_new", lesson="08", model="step8_wide", step=8, numbering=2)  # saved today: as it says
    _write(tmp_path, "09_new", lesson="09", model="M3_deeper_cnn", numbering=2)
    lessons = {r.name: r.lesson for r in cc.list_runs(tmp_path)}
    assert lessons == {"07_step2": "07", "07_step9": "08", "07_final_old": "08", "08_m3": "09", "08_new": "08",
                       "09_new": "09"}  # fmt: skip


def test_with_nothing_eligible_outside_smoke_pick_run_says_which_lesson_to_run(tmp_path, quick, capsys):
    _write(tmp_path, "05_smoke", lesson="05", profile="smoke")
    with pytest.raises(cc.MissingHere, match="Run lesson 05 first, or lesson 04 \\(M3\\) for a quicker model"):
        cc.pick_run("06", data=_cifar10(), prefer_lesson="05", runs=cc.list_runs(tmp_path))
    assert _lines(capsys) == ["  left out: 05_smoke (smoke profile)"]
    assert not cc.list_runs()  # nothing trained


def test_with_nothing_eligible_pick_run_trains_m3_and_saves_it_as_this_lessons_run(tmp_path, capsys):
    cc.set_seeds(0)
    _write(tmp_path / "other", "02_mnist", dataset="mnist", class_names=list("0123456789"))
    data = _cifar10(synthetic=True)
    chosen = cc.pick_run("06", data=data, prefer_lesson="05", runs=cc.list_runs(tmp_path / "other"), train_epochs=1)
    out = _lines(capsys)
    assert out[0] == "No saved run to analyse on synthetic data: training M3 for 1 epoch(s), saved as lesson 06's run."
    assert (chosen.lesson, chosen.model, chosen.epochs, chosen.data_kind) == ("06", "M3_deeper_cnn", 1, "synthetic")
    assert chosen.has_model and cc.list_runs() == [chosen]  # saved in the runs folder, found next time
    assert out[-2:] == [
        "  chosen because: no saved run was eligible, so it was trained just now",
        "  left out: 02_mnist (trained on mnist, not cifar10, real data, but the data now is synthetic)",
    ]
    assert 0 <= chosen.test_accuracy <= 1 and chosen.raw["weights_kind"] == ""
    assert cc.pick_run("06", data=data, prefer_lesson="05", train_epochs=1).folder == chosen.folder  # not again
    assert len(cc.list_runs()) == 1
