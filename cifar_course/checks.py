"""Small checks for the exercises: each prints what is right, or raises with what is wrong, in plain words."""
from __future__ import annotations

import numpy as np


class CheckFailed(AssertionError):
    """An exercise answer is not right yet; the message says why."""


def _answered(value, what: str) -> bool:
    """False (with a friendly note) while an exercise variable is still None."""
    if value is None:
        print(f"Not answered yet: set {what} in the exercise cell above (or reveal the solution below).")
        return False
    return True


def _ok(message: str) -> bool:
    print("Correct:", message)
    return True


def check_shape(array, expected: tuple, name: str = "array") -> bool:
    """The array has exactly this shape."""
    if not _answered(array, name):
        return False
    got = tuple(np.shape(array))
    if got != tuple(expected):
        raise CheckFailed(f"{name} has shape {got}, expected {tuple(expected)}.")
    return _ok(f"{name} has shape {got}.")


def check_scaled(x, name: str = "x") -> bool:
    """Pixels are floats in [0, 1] (not 0..255 and not scaled twice)."""
    if not _answered(x, name):
        return False
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise CheckFailed(f"{name} is {x.dtype}: convert to float32 before dividing by 255.")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 1:
        raise CheckFailed(f"{name} runs from {lo:.3g} to {hi:.3g}: divide the uint8 pixels by 255.")
    if hi < 0.05:
        raise CheckFailed(f"{name} tops out at {hi:.3g}: it looks divided by 255 twice.")
    return _ok(f"{name} is {x.dtype} in [{lo:.2f}, {hi:.2f}].")


def check_one_hot(y_one_hot, y_int, num_classes: int) -> bool:
    """One-hot rows match the integer labels."""
    if not _answered(y_one_hot, 'the one-hot labels'):
        return False
    y_one_hot = np.asarray(y_one_hot)
    if y_one_hot.shape != (len(y_int), num_classes):
        raise CheckFailed(f"one-hot labels have shape {y_one_hot.shape}, expected {(len(y_int), num_classes)}.")
    if not np.all(y_one_hot.sum(axis=1) == 1) or not np.array_equal(y_one_hot.argmax(axis=1), np.asarray(y_int)):
        raise CheckFailed("each row must hold a single 1, at the position of that image's integer label.")
    return _ok(f"{len(y_int)} labels one-hot encoded into {num_classes} columns.")


def check_param_count(model, expected: int) -> bool:
    """The model has exactly the expected number of parameters."""
    if not _answered(model, 'your model'):
        return False
    got = int(model.count_params())
    if got != expected:
        hint = "more" if got > expected else "fewer"
        raise CheckFailed(f"{model.name} has {got:,} parameters, {hint} than the expected {expected:,}. "
                          "Compare its summary() layer by layer with the specification.")
    return _ok(f"{model.name} has {got:,} parameters.")


def check_output_shape(model, input_shape: tuple, num_classes: int) -> bool:
    """The model takes images of ``input_shape`` and gives one score per class."""
    if not _answered(model, 'your model'):
        return False
    if tuple(model.input_shape[1:]) != tuple(input_shape):
        raise CheckFailed(f"{model.name} takes inputs of shape {model.input_shape[1:]}, expected {tuple(input_shape)}.")
    if tuple(model.output_shape[1:]) != (num_classes,):
        raise CheckFailed(f"{model.name} outputs {model.output_shape[1:]}, expected ({num_classes},): "
                          "the last Dense layer needs one unit per class.")
    return _ok(f"{model.name} maps {tuple(input_shape)} images to {num_classes} class scores.")


def check_accuracy_at_least(accuracy: float, minimum: float, what: str = "accuracy") -> bool:
    """An accuracy reaches a minimum (e.g. better than chance)."""
    if not _answered(accuracy, what):
        return False
    if float(accuracy) < minimum:
        raise CheckFailed(f"{what} is {float(accuracy):.3f}, below {minimum:.3f}. Train longer or check the labels.")
    return _ok(f"{what} {float(accuracy):.3f} >= {minimum:.3f}.")


def check_value(got, expected, name: str = "value", tol: float = 1e-6) -> bool:
    """A number (or array of numbers) equals the expected one within ``tol``."""
    if not _answered(got, name):
        return False
    if np.shape(got) != np.shape(expected) or not np.allclose(got, expected, atol=tol):
        raise CheckFailed(f"{name} is {got}, expected {expected}.")
    return _ok(f"{name} = {got}.")


def check_all_classes_present(y, num_classes: int, name: str = "labels") -> bool:
    """Every class appears at least once (e.g. in a validation split)."""
    if not _answered(y, name):
        return False
    y = np.asarray(y)
    y = y.argmax(axis=1) if y.ndim == 2 else y
    missing = sorted(set(range(num_classes)) - set(np.unique(y).tolist()))
    if missing:
        raise CheckFailed(f"{name} lacks classes {missing}: split with stratification (split_validation).")
    return _ok(f"all {num_classes} classes appear in {name}.")


def check_vgg_preprocessed(x_mine, x_pixels) -> bool:
    """Images prepared as VGG16 expects: 0-255 scale, BGR channel order, ImageNet channel means subtracted."""
    if not _answered(x_mine, "the preprocessed images"):
        return False
    from keras.applications.vgg16 import preprocess_input

    pixels = np.array(x_pixels, dtype=np.float32)
    expected = preprocess_input(pixels.copy())
    mine = np.asarray(x_mine, dtype=np.float32)
    if mine.shape != expected.shape:
        raise CheckFailed(f"the preprocessed images have shape {mine.shape}, expected {expected.shape}.")
    if np.allclose(mine, expected, atol=1e-3):
        return _ok("BGR order, ImageNet means subtracted, 0-255 scale: what VGG16 saw in training.")
    if np.allclose(mine[..., ::-1], expected, atol=1e-3):
        raise CheckFailed("the means are right but the channels are in RGB order: reverse them with x[..., ::-1].")
    if float(np.abs(mine).max()) <= 1.0 + 1e-6:
        raise CheckFailed("the values lie within [-1, 1]: VGG16 was trained on 0-255 pixels, do not divide by 255.")
    if np.allclose(mine, pixels[..., ::-1], atol=1e-3):
        raise CheckFailed("the channels are flipped to BGR but the ImageNet means are not subtracted yet.")
    raise CheckFailed("not what keras.applications.vgg16.preprocess_input gives: flip RGB to BGR, then subtract "
                      "the means [103.939, 116.779, 123.68] from the B, G and R channels.")


def check_confusion_matrix(matrix, y_true, y_pred, num_classes: int) -> bool:
    """A confusion matrix of counts: row = actual class, column = predicted class."""
    if not _answered(matrix, "my_matrix"):
        return False
    expected = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(expected, (np.asarray(y_true), np.asarray(y_pred)), 1)
    mine = np.asarray(matrix)
    if mine.shape != expected.shape:
        raise CheckFailed(f"the matrix has shape {mine.shape}, expected {expected.shape} (one row and column per class).")
    if np.array_equal(mine, expected):
        return _ok(f"{int(expected.sum())} images counted, actual classes in rows, predictions in columns.")
    if np.array_equal(mine, expected.T):
        raise CheckFailed("rows and columns are swapped: rows are the actual classes, columns the predicted ones.")
    if int(mine.sum()) != int(expected.sum()):
        raise CheckFailed(f"the counts add up to {int(mine.sum())}, expected {int(expected.sum())} (one per image).")
    raise CheckFailed("some cells are wrong: add 1 at [actual, predicted] for every image.")
