"""Evaluation helpers on small arrays whose answers are worked out by hand."""
import json

import numpy as np
import pytest

import cifar_course as cc
from cifar_course import checks, evaluation

NAMES = ["cat", "dog", "ship"]
#                  0  1  2  3  4  5  6  7  8  9
Y_TRUE = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
Y_PRED = np.array([0, 0, 1, 1, 1, 0, 1, 2, 2, 0])
# by hand: cat -> cat 2, dog 2; dog -> cat 1, dog 2; ship -> cat 1, ship 2
BY_HAND = np.array([[2, 2, 0],
                    [1, 2, 0],
                    [1, 0, 2]])


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
        ("cat", "dog", 2), ("dog", "cat", 1), ("ship", "cat", 1)]  # ties in row order
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
    def __init__(self, out):
        self.out = np.asarray(out, dtype=np.float32)

    def predict(self, x, batch_size=None, verbose=0):
        return self.out


def test_predict_probabilities_softmax_only_for_logits():
    probs = [[0.2, 0.8], [0.5, 0.5]]
    assert np.allclose(evaluation.predict_probabilities(_FixedModel(probs), None), probs)
    logits = evaluation.predict_probabilities(_FixedModel([[0.0, np.log(3.0)], [-1.0, -1.0]]), None)
    assert np.allclose(logits, [[0.25, 0.75], [0.5, 0.5]])


def _run(tmp_path, name, **metrics):
    folder = tmp_path / name
    folder.mkdir()
    info = {"lesson": "04", "model": "M3_deeper_cnn", "profile": "quick", "dataset": "cifar10",
            "synthetic_data": False, "params": 1, "epochs": 1, "train_seconds": 10.0, "val_accuracy": 0.5,
            "test_accuracy": 0.5, "date": name, **metrics}
    (folder / "metrics.json").write_text(json.dumps(info))
    return info


def test_runs_best_run_and_comparison(tmp_path):
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

    assert evaluation.best_run(runs, profile="quick")["run"].endswith("b_05")  # lesson 05 in this profile first
    assert evaluation.best_run(runs, profile="smoke")["run"].endswith("c_05")  # then lesson 05 in any profile
    assert evaluation.best_run(runs, lesson="03", profile="quick")["run"].endswith("e_04")
    assert evaluation.best_run(runs, synthetic=True, profile="smoke")["run"].endswith("d_02")
    assert evaluation.best_run(runs, synthetic=True) is None  # synthetic runs only in the smoke profile
    assert evaluation.best_run(runs, dataset="mnist") is None
    assert evaluation.best_run([]) is None

    assert evaluation.find_run(runs, "c_05")["model"] == "M4_finetuned"
    with pytest.raises(cc.ConfigError, match="a_04"):
        evaluation.find_run(runs, "nope")

    comparison = evaluation.comparison_table(runs, profile="quick")
    assert comparison.loc["M3", "this course"] == 0.62  # the latest M3 run
    assert comparison.loc["M4", "this course"] == 0.55
    assert comparison.loc["M4", "train_seconds"] == 15.0 and comparison.loc["M4", "reference epochs"] == 10
    assert comparison.loc["M3", "reference seconds"] == 644
    assert np.isnan(comparison.loc["R1", "this course"])  # R1's only run was on synthetic data
    assert np.isnan(evaluation.comparison_table(runs, synthetic=True).loc["R1", "this course"])  # never beside them
    assert comparison.loc["M3", "tutorial (reported)"] == 0.784
    assert comparison.loc["R1", "reference code, JPEG copy"] == 0.674


def test_comparison_table_adds_lesson_07_after_the_references(tmp_path):
    _run(tmp_path, "a_04", test_accuracy=0.60)
    _run(tmp_path, "f_07", lesson="07", model="step2_augment", test_accuracy=0.70)  # a step, not the final model
    _run(tmp_path, "g_07", lesson="07", model="modern_cnn", test_accuracy=0.85, params=293_882)
    comparison = evaluation.comparison_table(cc.list_runs(tmp_path), profile="quick")
    assert comparison.index.tolist() == ["R1", "M1", "M2", "M3", "M4", "modern_cnn"]
    assert comparison.loc["modern_cnn", "this course"] == 0.85
    assert comparison.loc["modern_cnn", "params"] == 293_882
    assert comparison.loc["modern_cnn", "lesson"] == "07"
    assert np.isnan(comparison.loc["modern_cnn", "tutorial (reported)"])  # no reference model to compare with


def test_reference_key():
    assert evaluation.reference_key("M3_deeper_cnn") == "M3"
    assert evaluation.reference_key("R1_baseline") == "R1"
    assert evaluation.reference_key("small_cnn") is None


def test_check_confusion_matrix(capsys):
    assert not checks.check_confusion_matrix(None, Y_TRUE, Y_PRED, 3)  # False, or None once checks return None
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
    hist = {"accuracy": [0.5, 0.6, 0.7, 0.8], "val_accuracy": [0.5, 0.65, 0.6, 0.65],
            "loss": [2, 1.5, 1, 0.5], "val_loss": [2, 1.2, 1.4, 1.3]}
    assert not checks.check_best_epoch(None, hist)  # False, or None once checks return None
    assert "Not answered" in capsys.readouterr().out
    checks.check_best_epoch(2, hist)
    checks.check_best_epoch(4, hist)  # tied with epoch 2
    checks.check_best_epoch(2, hist, key="val_loss")
    with pytest.raises(checks.CheckFailed, match="counts epochs from 1"):
        checks.check_best_epoch(1, hist)
    with pytest.raises(checks.CheckFailed, match="training data"):
        checks.check_best_epoch(4, hist, key="val_loss")
    with pytest.raises(checks.CheckFailed, match="epoch 2 has"):
        checks.check_best_epoch(9, hist)


def test_check_confident_accuracy(capsys):
    probs = np.array([[0.95, 0.05], [0.92, 0.08], [0.3, 0.7], [0.9, 0.1], [0.4, 0.6]])
    y = np.array([0, 1, 1, 0, 0])  # confident (>= 0.9): rows 0, 1, 3 -> right, wrong, right
    assert not checks.check_confident_accuracy(None, probs, y)  # False, or None once checks return None
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
