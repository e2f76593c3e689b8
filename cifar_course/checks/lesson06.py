"""Checks for lesson 06, error analysis: a confusion matrix of counts, the accuracy of confident predictions."""

from __future__ import annotations

import numpy as np

from ._core import CheckFailed, answered, fraction, ok


def _not_counts(matrix: np.ndarray) -> bool:
    """True when a matrix holds anything but whole numbers (fractions, NaN, text, ...)."""
    if matrix.dtype.kind in "iu":
        return False
    if matrix.dtype.kind != "f":
        return True
    return not (np.all(np.isfinite(matrix)) and np.array_equal(matrix, np.round(matrix)))


def _fractions_hint(matrix: np.ndarray, n_images: int) -> str:
    """What is wrong with a confusion matrix that does not hold whole-number counts, and how to get counts."""
    how = "sklearn's confusion_matrix(y_true, y_pred) counts them when you leave out normalize="
    if matrix.dtype.kind != "f" or not np.all(np.isfinite(matrix)):
        what = "NaN or infinite values" if matrix.dtype.kind == "f" else f"{matrix.dtype} values"
        return f"the matrix holds {what}, not counts of images: {how}."
    normalised = None
    if matrix.sum() > 0:
        for axis, line in ((1, "row"), (0, "column")):
            sums = matrix.sum(axis=axis)
            if np.allclose(sums[sums > 0], 1, atol=1e-3):
                normalised = f"every {line} adds up to 1"
                break
        if normalised is None and np.isclose(matrix.sum(), 1, atol=1e-3):
            normalised = "all the cells add up to 1"
    if normalised:
        return (
            f"the matrix holds fractions ({normalised}: a normalised matrix), but the exercise asks for counts: "
            f"how many images fall in each cell, whole numbers that add up to {n_images}, one per image. {how} "
            "(normalize='true' divides every row by its total)."
        )
    return (
        f"some cells are not whole numbers (the cells add up to {matrix.sum():.4g}): a confusion matrix counts "
        f"images, so every cell is a whole number and they add up to {n_images}. {how}."
    )


def check_confusion_matrix(matrix, y_true, y_pred, num_classes: int) -> None:
    """A confusion matrix of counts: row = actual class, column = predicted class (lesson 06 §4)."""
    if not answered(matrix, "my_matrix"):
        return
    from sklearn.metrics import confusion_matrix  # not cc.evaluation's: config imports checks (via tracebacks)

    expected = confusion_matrix(y_true, y_pred, labels=np.arange(num_classes))
    mine = np.asarray(matrix)
    if mine.shape != expected.shape:
        raise CheckFailed(
            f"the matrix has shape {mine.shape}, expected {expected.shape} (one row and column per class)."
        )
    if np.array_equal(mine, expected):
        return ok(f"{int(expected.sum())} images counted, actual classes in rows, predictions in columns.")
    if np.array_equal(mine, expected.T):
        raise CheckFailed("rows and columns are swapped: rows are the actual classes, columns the predicted ones.")
    if _not_counts(mine):
        raise CheckFailed(_fractions_hint(mine, int(expected.sum())))
    if mine.sum() != expected.sum():
        raise CheckFailed(f"the counts add up to {int(mine.sum())}, expected {int(expected.sum())} (one per image).")
    raise CheckFailed("some cells are wrong: add 1 at [actual, predicted] for every image.")


def check_confident_accuracy(answer, probabilities, y_true, threshold: float = 0.9) -> None:
    """The accuracy of only those predictions whose probability is at least ``threshold`` (lesson 06 §9)."""
    if not answered(answer, "acc_confident"):
        return
    answer = fraction(answer, "acc_confident", allow_nan=True)
    probabilities = np.asarray(probabilities)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(y_true)
    sure = confidence >= threshold
    if not sure.any():
        if np.isnan(answer):
            return ok(f"no prediction reaches {threshold}, so there is nothing to measure (NaN).")
        raise CheckFailed(
            f"no prediction has a probability of {threshold} or more here, so there is nothing to measure: "
            "the exercise asks for NaN in that case."
        )
    if np.isnan(answer):
        raise CheckFailed(
            f"acc_confident is NaN, but some predictions do reach {threshold}: your selection is probably empty. "
            f"Select the images whose highest probability is at least {threshold}."
        )
    accepted = [correct[sure].mean()]
    if (confidence > threshold).any():
        accepted.append(correct[confidence > threshold].mean())  # strictly above the threshold is fine too
    if np.any(np.isclose(answer, accepted, atol=1e-6)):
        return ok(f"{sure.sum()} predictions reach {threshold}; {answer:.1%} of them are right.")
    if np.isclose(answer, correct.mean(), atol=1e-6):
        raise CheckFailed(f"that is the accuracy of all predictions; keep only those with probability >= {threshold}.")
    if np.isclose(answer, sure.mean(), atol=1e-6):
        raise CheckFailed(
            "that is the fraction of predictions that are confident, not the fraction of them that are right."
        )
    raise CheckFailed(
        f"not it: of the predictions with probability >= {threshold}, give the share whose predicted class is "
        "the actual class."
    )
