"""Evaluation helpers on small arrays whose answers are worked out by hand."""

import dataclasses
import json

import numpy as np
import pytest

import cifar_course as cc
from cifar_course import checks, evaluation
from cifar_course.runs import RunRecord

NAMES = ["cat", "dog", "ship"]
#                  0  1  2  3  4  5  6  7  8  9
Y_TRUE = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
Y_PRED = np.array([0, 0, 1, 1, 1, 0, 1, 2, 2, 0])
# by hand: cat -> cat 2, dog 2; dog -> cat 1, dog 2; ship -> cat 1, ship 2
BY_HAND = np.array([[2, 2, 0], [1, 2, 0], [1, 0, 2]])


def test_confusion_matrix_by_hand():
    assert np.array_equal(evaluation.confusion_matrix(Y_TRUE, Y_PRED, 3), BY_HAND)


def test_confusion_matrix_keeps_absent_classes():
    m = evaluation.confusion_matrix([0, 0], [0, 0], 3)
    assert m.shape == (3, 3) and m[0, 0] == 2 and m.sum() == 2


def test_per_class_accuracy():
    assert np.allclose(evaluation.per_class_accuracy(BY_HAND), [2 / 4, 2 / 3, 2 / 3])
    assert np.allclose(evaluation.per_class_accuracy(np.zeros((2, 2))), [0, 0])  # no images: 0, not NaN


def test_most_confused_pairs():
    assert evaluation.most_confused_pairs(BY_HAND, NAMES, top=3) == [
        ("cat", "dog", 2),
        ("dog", "cat", 1),
        ("ship", "cat", 1),
    ]  # ties in row order
    assert evaluation.most_confused_pairs(np.eye(3, dtype=int), NAMES) == []  # no mistakes, no pairs


def test_reliability_bins():
    probs = np.array([[0.95, 0.05], [0.95, 0.05], [0.15, 0.85], [0.25, 0.75], [0.55, 0.45]])
    y = np.array([0, 1, 1, 0, 0])
    conf, acc, count, ece = evaluation.reliability_bins(probs, y, n_bins=5)  # bins of width 0.2
    # confidences 0.95 (right), 0.95 (wrong), 0.85 (right), 0.75 (wrong), 0.55 (right)
    assert count.tolist() == [0, 0, 1, 1, 3]
    assert np.allclose(conf, [0, 0, 0.55, 0.75, (0.95 + 0.95 + 0.85) / 3])
    assert np.allclose(acc, [0, 0, 1, 0, 2 / 3])
    assert ece == pytest.approx((1 * 0.45 + 1 * 0.75 + 3 * 0.25) / 5)


def test_reliability_bins_confidence_one_goes_to_the_last_bin():
    conf, acc, count, ece = evaluation.reliability_bins(np.array([[1.0, 0.0]]), [0], n_bins=10)
    assert count[-1] == 1 and ece == 0


def test_most_confident_mistakes():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.99, 0.01]])
    y = np.array([1, 0, 1, 1, 0])  # wrong: 0 (0.9), 1 (0.8), 2 (0.6); right: 3, 4
    assert evaluation.most_confident_mistakes(probs, y).tolist() == [0, 1, 2]
    assert evaluation.most_confident_mistakes(probs, y, top=1).tolist() == [0]
    assert evaluation.most_confident_mistakes(probs, [0, 1, 0, 1, 0]).size == 0


class _FixedModel:
    input_shape = (None, 2, 2, 1)

    def __init__(self, out):
        self.out = np.asarray(out, dtype=np.float32)

    def predict(self, x, batch_size=None, verbose=0):
        return self.out


def test_predict_probabilities_softmax_only_for_logits():
    probs = [[0.2, 0.8], [0.5, 0.5]]
    images = np.zeros((2, 2, 2, 1), np.float32)
    assert np.allclose(evaluation.predict_probabilities(_FixedModel(probs), images), probs)
    logits = evaluation.predict_probabilities(_FixedModel([[0.0, np.log(3.0)], [-1.0, -1.0]]), images)
    assert np.allclose(logits, [[0.25, 0.75], [0.5, 0.5]])


def _run(tmp_path, name, **metrics):
    folder = tmp_path / name
    folder.mkdir()
    info = {
        "lesson": "04",
        "model": "M3_deeper_cnn",
        "profile": "quick",
        "dataset": "cifar10",
        "synthetic_data": False,
        "params": 1,
        "epochs": 1,
        "train_seconds": 10.0,
        "val_accuracy": 0.5,
        "test_accuracy": 0.5,
        "date": name,
        **metrics,
    }
    (folder / "metrics.json").write_text(json.dumps(info))
    return info


def _data(name="cifar10", synthetic=False, class_names=None):
    """A tiny data set called ``name``: real with ``class_names`` (default: the data set's usual ones), or synthetic."""
    ds = cc.data.synthetic_dataset("cifar10", 40, 20)
    names = class_names or (ds.class_names if synthetic else list(cc.DATASETS[name].class_names))
    return dataclasses.replace(ds, name=name, synthetic=synthetic, class_names=names)


def _pick(runs, lesson="05", data=None, profile="quick", **kwargs):
    """pick_run's choice in ``profile`` (its folder name, or None when it raises: nothing eligible)."""
    cc.set_profile(profile)
    try:
        return cc.pick_run("06", data=data or _data(), prefer_lesson=lesson, runs=runs, **kwargs).name
    except cc.MissingHere:
        return None


def test_runs_pick_run_and_comparison(tmp_path):
    _run(tmp_path, "a_04", test_accuracy=0.60)
    _run(tmp_path, "b_05", lesson="05", model="M4_transfer", test_accuracy=0.55, feature_seconds=5.0)
    _run(tmp_path, "c_05", lesson="05", model="M4_finetuned", test_accuracy=0.58, profile="full")
    _run(tmp_path, "d_02", lesson="02", model="R1_baseline", test_accuracy=0.9, synthetic_data=True)
    _run(tmp_path, "e_04", test_accuracy=0.62)
    runs = cc.list_runs(tmp_path)

    table = evaluation.runs_table(runs)
    assert table["run"].tolist() == ["a_04", "b_05", "c_05", "d_02", "e_04"]
    assert table.loc[1, "train_seconds"] == 15.0  # feature extraction counts as training time
    assert table.loc[3, "data"] == "synthetic"
    assert table.loc[0, "profile"] == "quick" and table.loc[0, "weights"] == ""  # no pretrained weights

    assert _pick(runs) == "b_05"  # lesson 05 in this profile first
    assert _pick(runs, profile="smoke") == "c_05"  # then lesson 05 in any profile
    assert _pick(runs, lesson="03") == "e_04"
    assert _pick(runs, data=_data(synthetic=True), profile="smoke") == "d_02"
    assert _pick(runs, data=_data(synthetic=True)) is None  # synthetic runs only in the smoke profile
    assert _pick(runs, data=_data("mnist")) is None
    assert _pick([]) is None
    assert _pick(runs, run="c_05") == "c_05"
    with pytest.raises(ValueError, match="a_04"):
        _pick(runs, run="nope")

    comparison = evaluation.comparison_table(runs, profile="quick")
    assert comparison.loc["M3", "this course"] == 0.62  # the latest M3 run
    assert comparison.loc["M4", "this course"] == 0.55
    assert comparison.loc["M4", "train_seconds"] == 15.0 and comparison.loc["M4", "reference epochs"] == 10
    assert comparison.loc["M3", "reference seconds"] == 644
    assert np.isnan(comparison.loc["R1", "this course"])  # R1's only run was on synthetic data
    assert np.isnan(evaluation.comparison_table(runs, synthetic=True).loc["R1", "this course"])  # never beside them
    assert comparison.loc["M3", "tutorial (reported)"] == 0.784
    assert comparison.loc["R1", "reference code, JPEG copy"] == 0.674


def test_comparison_table_adds_lesson_08_after_the_references(tmp_path):
    _run(tmp_path, "a_04", test_accuracy=0.60)
    _run(tmp_path, "f_07", lesson="07", model="step2_augment", test_accuracy=0.70)  # a step, not the final model
    _run(tmp_path, "g_07", lesson="07", model="modern_cnn", test_accuracy=0.85, params=293_882)
    _run(tmp_path, "h_07", lesson="07", model="whitened_cnn", test_accuracy=0.87, params=1_975_096)
    _run(tmp_path, "i_07", lesson="07", model="airbench_cnn", test_accuracy=0.89, params=1_973_944)
    comparison = evaluation.comparison_table(cc.list_runs(tmp_path), profile="quick")
    assert comparison.index.tolist() == ["R1", "M1", "M2", "M3", "M4", "modern_cnn", "whitened_cnn", "airbench_cnn"]
    assert comparison.loc["whitened_cnn", "this course"] == 0.87
    assert comparison.loc["airbench_cnn", "this course"] == 0.89
    assert comparison.loc["airbench_cnn", "params"] == 1_973_944
    assert comparison.loc["modern_cnn", "this course"] == 0.85
    assert comparison.loc["modern_cnn", "params"] == 293_882
    assert comparison.loc["modern_cnn", "lesson"] == "08"  # saved as lesson 07's, before lesson 07 was split
    assert np.isnan(comparison.loc["modern_cnn", "tutorial (reported)"])  # no reference model to compare with


CIFAR10 = list(cc.data.CIFAR10_CLASSES)


def _metrics(**metrics) -> dict:
    """An older run's metrics.json, on the JPEG copy of CIFAR-10 (a None in ``metrics`` leaves that name out)."""
    info = {
        "lesson": "04",
        "model": "M3_deeper_cnn",
        "profile": "quick",
        "dataset": "cifar10",
        "data_source": "JPEG image folder /data/cifar10 (cached)",
        "synthetic_data": False,
        "class_names": CIFAR10,
        "params": 1,
        "epochs": 1,
        "train_seconds": 1.0,
        "test_accuracy": 0.5,
        **metrics,
    }
    return {k: v for k, v in info.items() if v is not None}


def _info(name, **metrics) -> RunRecord:
    """A run as cc.list_runs() returns it: the RunRecord of ``_metrics(**metrics)`` in the folder /runs/<name>."""
    return RunRecord.from_metrics(_metrics(**metrics), f"/runs/{name}")


RANDOM = "RANDOM weights (smoke profile fallback: no ImageNet weights available)"
IMAGENET = "ImageNet weights from /data/vgg16_notop.h5"


def test_pick_run_never_picks_smoke_or_random_weights_outside_smoke(monkeypatch):
    # issue 17: lesson 06 in the quick profile chose this smoke run with RANDOM weights over a quick R1 at 50.5%
    monkeypatch.setattr(RunRecord, "has_model", True)  # records of folders that are not there: as if they held one
    smoke = _info("05_M4_smoke", lesson="05", model="M4_transfer", profile="smoke", weights=RANDOM, test_accuracy=0.11)
    r1 = _info("02_R1_quick", lesson="02", model="R1_baseline", test_accuracy=0.505)
    random_quick = _info("05_M4_random", lesson="05", model="M4_transfer", weights=RANDOM, test_accuracy=0.3)
    synthetic = _info(
        "05_M4_synthetic",
        lesson="05",
        model="M4_transfer",
        weights=IMAGENET,
        synthetic_data=True,
        data_source="SYNTHETIC stand-in data",
        class_names=[f"synthetic_{i}" for i in range(10)],
    )
    runs = [smoke, r1, random_quick, synthetic]
    assert _pick(runs) == "02_R1_quick"
    assert _pick(runs, profile="full") == "02_R1_quick"  # another profile, but the only eligible run
    assert _pick([smoke, random_quick]) is None  # nothing eligible
    # in the smoke profile everything on this data is eligible: the smoke run of lesson 05 comes first
    assert _pick(runs, profile="smoke") == "05_M4_smoke"
    assert _pick(runs, data=_data(synthetic=True), profile="smoke") == "05_M4_synthetic"
    assert _pick(runs, data=_data(synthetic=True)) is None


def test_pick_run_never_picks_other_data(monkeypatch, capsys):
    monkeypatch.setattr(RunRecord, "has_model", True)
    photos = _info(
        "own",
        lesson="05",
        model="M4_transfer",
        weights=IMAGENET,
        class_names=["cat", "dog"],
        data_source="JPEG image folder /home/me/photos (cached)",
        test_accuracy=0.95,
    )
    mnist = _info("mnist", lesson="05", dataset="mnist", class_names=[str(d) for d in range(10)], test_accuracy=0.99)
    old = _info("old", lesson="04", class_names=None)  # saved before class names were recorded
    runs = [photos, mnist, old]
    assert _pick(runs) == "old"  # still readable and eligible
    assert "  left out: own (other classes (cat, dog))" in capsys.readouterr().out.splitlines()
    # with your own photos loaded, their model is the one (the old run's classes are not known)
    assert _pick(runs, data=_data(class_names=["cat", "dog"])) == "own"
    assert _pick(runs, data=_data("mnist")) == "mnist"
    assert _pick(runs, data=_data("mnist", class_names=["0", "1"])) is None


def test_runs_table_profile_data_and_weights():
    runs = [
        _info("cifar"),
        _info("m4", weights=IMAGENET),
        _info("rnd", weights=RANDOM, profile="smoke"),
        _info("own", class_names=["cat", "dog"]),
        _info("syn", synthetic_data=True),
        _info("mnist", dataset="mnist", class_names=[str(d) for d in range(10)]),
        _info("old", class_names=None, data_source=None),  # an old run: still listed
    ]
    table = evaluation.runs_table(runs)
    assert table.columns.tolist()[3:6] == ["profile", "data", "weights"]
    assert table["data"].tolist() == [
        "cifar10",
        "cifar10",
        "cifar10",
        "own data, 2 classes",
        "synthetic",
        "mnist",
        "cifar10",
    ]
    assert table["weights"].tolist() == ["", "ImageNet", "random", "", "", "", ""]
    assert table["profile"].tolist() == ["quick"] * 2 + ["smoke"] + ["quick"] * 4
    assert evaluation.runs_table([]).columns.tolist()[:2] == ["run", "lesson"]  # the columns before any run


def test_comparison_table_compares_only_cifar10():
    m3 = _info("m3", test_accuracy=0.75)
    m3_photos = _info("m3_own", class_names=["cat", "dog"], test_accuracy=0.99)  # newer, but not CIFAR-10
    m4_random = _info("m4_random", lesson="05", model="M4_transfer", weights=RANDOM, test_accuracy=0.3)
    m4_old = _info("m4_old", lesson="05", model="M4_transfer", test_accuracy=0.6, class_names=None)  # no weights noted
    r1_mnist = _info(
        "r1_mnist",
        lesson="02",
        model="R1_baseline",
        dataset="mnist",
        class_names=[str(d) for d in range(10)],
        test_accuracy=0.98,
    )
    runs = [m4_old, m3, m3_photos, m4_random, r1_mnist]
    table = evaluation.comparison_table(runs, profile="quick")
    assert table.loc["M3", "this course"] == 0.75
    assert table.loc["M4", "this course"] == 0.6  # the RANDOM-weights run is newer but left out
    assert np.isnan(table.loc["R1", "this course"])
    assert evaluation.comparison_table(runs, profile="quick", dataset="mnist")["this course"].isna().all()
    assert np.isnan(evaluation.comparison_table(runs, profile="full").loc["M3", "this course"])  # quick runs only
    assert [r for r in runs if not r.comparable] == [m3_photos, m4_random, r1_mnist]
    assert m4_old.comparable and m4_old.on_cifar10


def test_reference_key():
    assert evaluation._reference_key("M3_deeper_cnn") == "M3"
    assert evaluation._reference_key("R1_baseline") == "R1"
    assert evaluation._reference_key("small_cnn") is None


def test_check_confusion_matrix(capsys):
    assert not checks.check_confusion_matrix(None, Y_TRUE, Y_PRED, 3)  # not answered: a message, no error
    assert "Not answered" in capsys.readouterr().out
    checks.check_confusion_matrix(BY_HAND, Y_TRUE, Y_PRED, 3)
    with pytest.raises(checks.CheckFailed, match="swapped"):
        checks.check_confusion_matrix(BY_HAND.T, Y_TRUE, Y_PRED, 3)
    with pytest.raises(checks.CheckFailed, match="add up to 9"):
        checks.check_confusion_matrix(BY_HAND - np.eye(3, dtype=int) * [1, 0, 0], Y_TRUE, Y_PRED, 3)
    with pytest.raises(checks.CheckFailed, match="shape"):
        checks.check_confusion_matrix(BY_HAND[:2], Y_TRUE, Y_PRED, 3)
    moved = BY_HAND.copy()
    moved[0, 0], moved[0, 1] = 3, 1
    with pytest.raises(checks.CheckFailed, match="some cells"):
        checks.check_confusion_matrix(moved, Y_TRUE, Y_PRED, 3)


def test_check_best_epoch(capsys):
    hist = {
        "accuracy": [0.5, 0.6, 0.7, 0.8],
        "val_accuracy": [0.5, 0.65, 0.6, 0.65],
        "loss": [2, 1.5, 1, 0.5],
        "val_loss": [2, 1.2, 1.4, 1.3],
    }
    assert not checks.check_best_epoch(None, hist)  # not answered: a message, no error
    assert "Not answered" in capsys.readouterr().out
    checks.check_best_epoch(2, hist)
    checks.check_best_epoch(4, hist)  # tied with epoch 2
    checks.check_best_epoch(2, hist, key="val_loss")
    with pytest.raises(checks.CheckFailed, match="counts epochs from 1"):
        checks.check_best_epoch(1, hist)
    with pytest.raises(checks.CheckFailed, match="training data"):
        checks.check_best_epoch(4, hist, key="val_loss")
    with pytest.raises(checks.CheckFailed, match="there are 4 epochs") as failed:
        checks.check_best_epoch(9, hist)
    assert "epoch 2" not in str(failed.value)  # the answer is not given away


def test_check_confident_accuracy(capsys):
    probs = np.array([[0.95, 0.05], [0.92, 0.08], [0.3, 0.7], [0.9, 0.1], [0.4, 0.6]])
    y = np.array([0, 1, 1, 0, 0])  # confident (>= 0.9): rows 0, 1, 3 -> right, wrong, right
    assert not checks.check_confident_accuracy(None, probs, y)  # not answered: a message, no error
    assert "Not answered" in capsys.readouterr().out
    checks.check_confident_accuracy(2 / 3, probs, y)
    checks.check_confident_accuracy(0.5, probs, y)  # strictly above 0.9 is accepted too
    with pytest.raises(checks.CheckFailed, match="all predictions"):
        checks.check_confident_accuracy(0.6, probs, y)
    with pytest.raises(checks.CheckFailed, match="fraction of predictions that are confident"):
        checks.check_confident_accuracy(0.6, probs, [0, 1, 1, 0, 1])  # accuracy 0.8 there, 3/5 confident
    with pytest.raises(checks.CheckFailed, match="share"):
        checks.check_confident_accuracy(0.1, probs, y)
    unsure = np.full((3, 2), 0.5)
    checks.check_confident_accuracy(float("nan"), unsure, [0, 1, 0])
    with pytest.raises(checks.CheckFailed, match="NaN"):
        checks.check_confident_accuracy(0.5, unsure, [0, 1, 0])


def test_predicting_images_the_model_cannot_take_names_the_shape_and_the_fix():
    import keras

    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
    photo = np.zeros((480, 640, 3), np.float32)
    with pytest.raises(
        ValueError, match=r"takes 32x32x3 images; resize yours first \(got 480x640x3.*cc.data.load_image"
    ):
        evaluation.predict_probabilities(model, photo)
    one = evaluation.predict_probabilities(model, np.zeros((32, 32, 3), np.float32))  # one image: a batch of one
    assert one.shape == (1, 10)
    with pytest.raises(ValueError, match="scale the uint8 images with cc.scale_pixels"):
        evaluation.predict_probabilities(model, np.zeros((2, 32, 32, 3), np.uint8))
    assert evaluation.predict_probabilities(model, np.zeros((2, 32, 32, 3), np.float32)).shape == (2, 10)


def test_comparison_table_lists_lesson_08_models_only_with_a_run_and_whole_numbers_as_integers(tmp_path):
    _run(tmp_path, "a_04", test_accuracy=0.60)
    comparison = evaluation.comparison_table(cc.list_runs(tmp_path), profile="quick")
    assert comparison.index.tolist() == ["R1", "M1", "M2", "M3", "M4"]  # no retired lesson-08 names, no empty rows
    assert str(comparison["params"].dtype) == "Int64"
    assert str(comparison.loc[["M3"]].astype(str).loc["M3", "reference seconds"]) == "644"  # not 644.0


# --------------------------------------------------------------------------- issue 29: damaged or edited runs
BROKEN_METRICS = {
    "a_list": "[0.99, 0.98]",
    "b_numeric_date": json.dumps({**_metrics(test_accuracy=0.99), "date": 20250101}),
    "c_text_accuracy": json.dumps(_metrics(test_accuracy="0.99")),
    "d_nan_accuracy": json.dumps(_metrics(test_accuracy=float("nan"))),  # json writes NaN, and reads it back
    "e_accuracy_7_5": json.dumps(_metrics(test_accuracy=7.5)),
    "f_no_accuracy": json.dumps({k: v for k, v in _metrics().items() if k != "test_accuracy"}),
    "g_not_json": "{'test_accuracy': 0.99",
    "h_text_epochs": json.dumps(_metrics(epochs="ten")),
}


def test_runs_with_a_damaged_or_edited_metrics_json_are_skipped_with_a_reason_and_never_win(tmp_path, capsys):
    good = _run(tmp_path, "z_good", test_accuracy=0.6)
    for name, text in BROKEN_METRICS.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(text)
    runs = cc.list_runs(tmp_path)
    assert [r.folder for r in runs] == [tmp_path / "z_good"]
    skipped = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Skipping a saved run:")]
    assert len(skipped) == len(BROKEN_METRICS), skipped
    for line, why in zip(
        skipped,
        ["a JSON list", "date = 20250101, not text", 'test_accuracy = "0.99"', "test_accuracy = NaN, not an accuracy",
         "test_accuracy = 7.5, not an accuracy from 0 to 1", "lacks test_accuracy", "not readable JSON",
         'epochs = "ten", not a number'],
    ):  # fmt: skip
        assert why in line and "Traceback" not in line, line
    assert _pick(runs, lesson="04") == "z_good" and runs[0].test_accuracy == good["test_accuracy"]
    evaluation.runs_table(runs)  # the table of lessons 06 and 08 builds
    with pytest.raises(ValueError, match=r"e_accuracy_7_5.metrics.json has test_accuracy = 7.5"):
        cc.training._read_metrics(tmp_path / "e_accuracy_7_5")
    with pytest.raises(ValueError, match="holds a JSON list"):
        cc.Run(tmp_path / "a_list", "04", "M3").metrics()


def test_pick_run_prefers_a_run_whose_model_is_still_there(tmp_path):
    _run(tmp_path, "a_gone", test_accuracy=0.9)  # its model.keras was deleted (or never written)
    _run(tmp_path, "b_here", test_accuracy=0.5)
    (tmp_path / "b_here" / "model.keras").write_bytes(b"a model")
    runs = cc.list_runs(tmp_path)
    assert _pick(runs) == "b_here"
    assert _pick(runs, lesson="04", profile="full") == "b_here"
    assert _pick(runs[:1]) == "a_gone"  # the only one: load_model says why
