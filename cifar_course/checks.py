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
    from .evaluation import confusion_matrix

    expected = confusion_matrix(y_true, y_pred, num_classes)
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


def _early_stopping_replay(values, patience: int, mode: str = "min") -> tuple[int | None, int]:
    """Keras's EarlyStopping rule replayed on per-epoch values: (epoch it stops after or None, best epoch), 1-based."""
    best, best_epoch, wait = None, 0, 0
    for epoch, value in enumerate(values):
        wait += 1
        if best is None or (value < best if mode == "min" else value > best):
            best, best_epoch, wait = value, epoch, 0
            continue
        if wait >= patience and epoch > 0:
            return epoch + 1, best_epoch + 1
    return None, best_epoch + 1


def check_early_stopping(answer, values, patience: int, mode: str = "min") -> bool:
    """``answer`` = (epoch early stopping stops after, or None; epoch whose weights it restores), counted from 1."""
    if not _answered(answer, "the answer (stop_epoch, best_epoch)"):
        return False
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' (a loss) or 'max' (an accuracy), not {mode!r}.")
    try:
        stop, best = answer
    except (TypeError, ValueError):
        raise CheckFailed(f"answer is {answer!r}: give two numbers, (stop_epoch, best_epoch), "
                          "with stop_epoch = None if training would run to the end.") from None
    want_stop, want_best = _early_stopping_replay(list(values), patience, mode)
    if best != want_best:
        better = "lowest" if mode == "min" else "highest"
        hint = " Epochs count from 1, as Keras prints them." if best == want_best - 1 else ""
        raise CheckFailed(f"the restored weights are those of epoch {want_best}, not {best}: the epoch with the "
                          f"{better} value so far, before training stopped.{hint}")
    if stop != want_stop:
        if want_stop is None:
            raise CheckFailed(f"training would run to the end (stop_epoch = None): there are never {patience} "
                              "epochs in a row without a new best.")
        raise CheckFailed(f"training stops after epoch {want_stop}, not {stop}: it stops once {patience} epochs "
                          f"in a row bring no new best (the best was epoch {want_best}).")
    where = "runs to the end" if want_stop is None else f"stops after epoch {want_stop}"
    return _ok(f"with patience={patience}, training {where} and keeps the weights of epoch {want_best}.")


def check_conv_params(answer, kernel_size: int, in_channels: int, filters: int) -> bool:
    """The parameter count of a Conv2D layer: (kernel_size² × in_channels + 1) × filters."""
    if not _answered(answer, "your count"):
        return False
    k2 = kernel_size * kernel_size
    expected = (k2 * in_channels + 1) * filters
    if answer == expected:
        return _ok(f"{filters} filters of {kernel_size}x{kernel_size}x{in_channels} weights plus one bias each: "
                   f"{expected:,} parameters.")
    if answer == k2 * in_channels * filters:
        raise CheckFailed(f"{answer:,} counts the weights but not the biases: every filter has one bias as well.")
    if answer in ((k2 + 1) * filters, k2 * filters):
        raise CheckFailed(f"{answer:,} treats the input as one channel: each filter has {kernel_size}x{kernel_size} "
                          f"weights for every one of the {in_channels} input channels.")
    raise CheckFailed(f"{answer:,} is not it. A Conv2D layer has (kernel height x kernel width x input channels + 1) "
                      "x filters parameters; the image's height and width do not matter.")


def check_dense_params(answer, n_inputs: int, units: int) -> bool:
    """The parameter count of a Dense layer: (inputs + 1) × units."""
    if not _answered(answer, "your count"):
        return False
    expected = (n_inputs + 1) * units
    if answer == expected:
        return _ok(f"{n_inputs:,} weights plus one bias for each of the {units} units: {expected:,} parameters.")
    if answer == n_inputs * units:
        raise CheckFailed(f"{answer:,} counts the weights but not the biases: every unit has one bias as well.")
    if answer in ((4 * n_inputs + 1) * units, 4 * n_inputs * units):
        raise CheckFailed(f"{answer:,} uses the size before pooling: MaxPooling2D(2) halves the height and the width, "
                          "so Flatten gets a quarter of the values.")
    raise CheckFailed(f"{answer:,} is not it. A Dense layer has (inputs + 1) x units parameters, where the inputs "
                      "are the values Flatten produces (height x width x channels).")


def check_best_epoch(epoch, history, key: str = "val_accuracy") -> bool:
    """The epoch, counted from 1 as Keras prints them, with the best value of ``key`` in a training history."""
    if not _answered(epoch, "best_epoch"):
        return False
    hist = getattr(history, "history", history)
    higher_is_better = "acc" in key

    def best_of(values) -> int:
        return int(np.argmax(values) if higher_is_better else np.argmin(values)) + 1

    values = list(hist[key])
    best, epoch = best_of(values), int(epoch)
    if 1 <= epoch <= len(values) and values[epoch - 1] == values[best - 1]:
        return _ok(f"epoch {epoch} has the best {key}, {values[epoch - 1]:.4f}.")
    if epoch == best - 1:
        raise CheckFailed("Keras counts epochs from 1 in its log, numpy indexes from 0: add 1 to np.argmax's index.")
    train_key = key.replace("val_", "")
    if train_key != key and train_key in hist and epoch == best_of(hist[train_key]):
        raise CheckFailed(f"epoch {epoch} is best on the training data ({train_key}); look at {key} instead.")
    raise CheckFailed(f"epoch {epoch} is not the best: epoch {best} has {key} {values[best - 1]:.4f} "
                      f"(there are {len(values)} epochs).")


def check_confident_accuracy(answer, probabilities, y_true, threshold: float = 0.9) -> bool:
    """The accuracy of only those predictions whose probability is at least ``threshold``."""
    if not _answered(answer, "acc_confident"):
        return False
    probabilities = np.asarray(probabilities)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(y_true)
    sure = confidence >= threshold
    if not sure.any():
        if np.isnan(answer):
            return _ok(f"no prediction reaches {threshold}, so there is nothing to measure (NaN).")
        raise CheckFailed(f"no prediction has a probability of {threshold} or more: the answer should be NaN.")
    expected = float(correct[sure].mean())
    if np.isclose(answer, expected, atol=1e-6) or np.isclose(answer, correct[confidence > threshold].mean(), atol=1e-6):
        return _ok(f"{sure.sum()} predictions reach {threshold}; {expected:.1%} of them are right.")
    if np.isclose(answer, correct.mean(), atol=1e-6):
        raise CheckFailed(f"that is the accuracy of all predictions; keep only those with probability >= {threshold}.")
    if np.isclose(answer, sure.mean(), atol=1e-6):
        raise CheckFailed("that is the fraction of predictions that are confident, not the fraction of them that are right.")
    raise CheckFailed(f"expected a fraction between 0 and 1: of the predictions with probability >= {threshold}, "
                      "the share whose predicted class is the actual class.")


def check_batchnorm_params(answer, plain_params: int, channels: list[int]) -> bool:
    """Parameters after adding BatchNormalization to convolutions that drop their biases: +3 per channel."""
    if not _answered(answer, "bn_params"):
        return False
    n = int(sum(channels))
    expected = plain_params - n + 4 * n
    if answer == expected:
        return _ok(f"{n} channels: minus {n} conv biases, plus 4 x {n} (gamma, beta, moving mean, moving variance) "
                   f"= {expected:,} ({2 * n} of the new numbers are trained, {2 * n} are running statistics).")
    if answer == plain_params + 4 * n:
        raise CheckFailed("the four numbers per channel are right, but the convolutions before BatchNormalization "
                          f"no longer have biases (use_bias=False): subtract those {n} biases.")
    if answer in (plain_params + n, plain_params + 2 * n):
        raise CheckFailed("count the moving mean and moving variance too: they are not trained, but they are part "
                          "of the layer and of count_params() (4 numbers per channel, not 2).")
    if answer == plain_params:
        raise CheckFailed("BatchNormalization has parameters of its own: 4 per channel.")
    raise CheckFailed(f"{answer:,} is not it. Add 4 numbers per BatchNormalization channel ({n} channels in all) and "
                      "remove one bias per filter from the convolutions that now have use_bias=False.")


def _last_epoch(history) -> tuple[float, float]:
    hist = getattr(history, "history", history)
    return float(hist["val_accuracy"][-1]), float(hist["accuracy"][-1]) - float(hist["val_accuracy"][-1])


def check_ablation_prediction(prediction, with_it, without_it, ingredient: str, tolerance: float = 0.005) -> bool:
    """Compare a prediction {"val_accuracy": higher/lower/about the same, "gap": larger/smaller/about the same}
    about removing ``ingredient`` with what two training histories show (last epoch). A wrong guess is not an error."""
    if not _answered(prediction, "my_prediction"):
        return False
    allowed = {"val_accuracy": ("higher", "lower", "about the same"), "gap": ("larger", "smaller", "about the same")}
    if not isinstance(prediction, dict) or set(prediction) != set(allowed):
        raise CheckFailed('my_prediction must be a dict with two keys, e.g. {"val_accuracy": "lower", "gap": "larger"}.')
    for key, words in allowed.items():
        if prediction[key] not in words:
            raise CheckFailed(f"my_prediction[{key!r}] is {prediction[key]!r}; choose one of {', '.join(map(repr, words))}.")
    val_with, gap_with = _last_epoch(with_it)
    val_without, gap_without = _last_epoch(without_it)

    def verdict(delta: float, up: str, down: str) -> str:
        return "about the same" if abs(delta) < tolerance else up if delta > 0 else down

    happened = {"val_accuracy": verdict(val_without - val_with, "higher", "lower"),
                "gap": verdict(gap_without - gap_with, "larger", "smaller")}
    print(f"without {ingredient}: validation accuracy {val_without:.4f} (with it {val_with:.4f}), "
          f"train-validation gap {gap_without:+.4f} (with it {gap_with:+.4f})")
    right = 0
    for key in allowed:
        hit = prediction[key] == happened[key]
        right += hit
        print(f"  {key}: you predicted {prediction[key]!r}, it was {happened[key]!r}"
              f"{' - right' if hit else ' - not this time'}")
    print(f"{right} of 2 predictions matched. One short run is one sample: differences under a point can flip with "
          "the seed, so judge the direction of large effects, not the decimals.")
    return right == 2
