"""Small checks for the exercises: each prints what is right, or raises with what is wrong, in plain words.

Every ``check_*`` function returns None: it prints "Correct: ..." or "Not answered yet: ...", or raises
``CheckFailed``. A failure says what is wrong and how to find the right answer, never the answer itself.
"""

from __future__ import annotations

import os
import sys

import numpy as np


class CheckFailed(AssertionError):
    """An exercise answer is not right yet; the message says why."""


# --------------------------------------------------------------------------- shared helpers
def _answered(value, what: str) -> bool:
    """False (with a friendly note) while an exercise variable is still None.

    While nbgrader grades a notebook (it sets NBGRADER_EXECUTION to "autograde" or "validate"), an unanswered
    exercise raises CheckFailed instead, so that a blank submission scores zero.
    """
    if value is None:
        if os.environ.get("NBGRADER_EXECUTION"):
            raise CheckFailed(f"not answered: {what} is still None.")
        print(f"Not answered yet: set {what} in the exercise cell above (or reveal the solution below).")
        return False
    return True


def _ok(message: str) -> None:
    """Print what is right."""
    print("Correct:", message)


def _shown(value) -> str:
    """A value and its type as a learner would recognise them: "'1216' (a str)"."""
    text = repr(value.item() if isinstance(value, np.generic) else value)
    text = text if len(text) <= 40 else text[:37] + "..."
    kind = type(value).__name__
    return f"{text} ({'an' if kind[0] in 'aeiou' else 'a'} {kind})"


def _plain(value):
    """A numpy scalar or 0-d array as the Python number it holds; anything else unchanged."""
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value.item()
    return value


def _is_number(value) -> bool:
    """A real number (int or float, numpy's too), but not a bool."""
    value = _plain(value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _whole_number(value, what: str) -> int:
    """``value`` as an int; CheckFailed if it is not a whole number (a str, a bool, 2.5, a list, ...)."""
    plain = _plain(value)
    if _is_number(plain) and float(plain).is_integer():
        return int(plain)
    quotes = " - remove the quotes" if isinstance(value, str) and value.strip().isdigit() else ""
    raise CheckFailed(f"{what}: give a whole number (an int), not {_shown(value)}{quotes}.")


def _fraction(value, what: str, allow_nan: bool = False) -> float:
    """``value`` as a float in [0, 1] (an accuracy); CheckFailed for a percentage, a list, a negative value, NaN."""
    if isinstance(value, (list, tuple, np.ndarray)) and np.size(value) > 1:
        raise CheckFailed(
            f"{what} holds {np.size(value)} numbers, not one. model.evaluate(...) returns [loss, accuracy]: "
            "keep only the accuracy, e.g. `_, accuracy = model.evaluate(...)`."
        )
    if not _is_number(value):
        raise CheckFailed(f"{what}: give a number between 0 and 1, not {_shown(value)}.")
    value = float(_plain(value))
    if np.isnan(value):
        if allow_nan:
            return value
        raise CheckFailed(
            f"{what} is NaN (not a number): it comes from a mean over no values, or from a training run whose loss "
            "blew up. An accuracy is a fraction between 0 and 1."
        )
    if 1 < value <= 100:
        raise CheckFailed(f"accuracies are fractions between 0 and 1: {value:g} looks like a percentage.")
    if not 0 <= value <= 1:
        raise CheckFailed(f"{what} is {value:g}, but accuracies are fractions between 0 and 1.")
    return value


def _built_model(model):
    """``model`` if it is a built Keras model; CheckFailed (saying what it is instead) otherwise."""
    import keras

    if not isinstance(model, keras.Model):
        raise CheckFailed(f"your model should be a Keras model (e.g. keras.Sequential([...])), not {_shown(model)}.")
    if not model.built:
        raise CheckFailed(
            f"{model.name} is not built yet, so it has no shapes or parameters: start its layers with "
            "keras.Input(shape=...)."
        )
    return model


def _raise_if_wrong_params(model, expected: int) -> None:
    """CheckFailed unless the model has exactly ``expected`` parameters."""
    got = int(model.count_params())
    if got != expected:
        hint = "more" if got > expected else "fewer"
        raise CheckFailed(
            f"{model.name} has {got:,} parameters, {hint} than the expected {expected:,}. "
            "Compare its summary() layer by layer with the specification."
        )


def _raise_if_wrong_shapes(model, input_shape: tuple, num_classes: int) -> None:
    """CheckFailed unless the model maps ``input_shape`` images to ``num_classes`` scores."""
    if tuple(model.input_shape[1:]) != tuple(input_shape):
        raise CheckFailed(f"{model.name} takes inputs of shape {model.input_shape[1:]}, expected {tuple(input_shape)}.")
    if tuple(model.output_shape[1:]) != (num_classes,):
        raise CheckFailed(
            f"{model.name} outputs {model.output_shape[1:]}, expected ({num_classes},): "
            "the last Dense layer needs one unit per class."
        )


def _final_activation(model) -> str:
    """What the model's last layer applies: 'softmax', 'relu', 'linear' (nothing), or the layer's class name."""
    import keras

    layer = model.layers[-1]
    while isinstance(layer, keras.Model):  # a model inside the model (M4's head): its own last layer
        layer = layer.layers[-1]
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    function = getattr(layer, "activation", None)  # Dense(..., activation=...) and Activation(...) both have one
    if function is None:
        return type(layer).__name__  # e.g. Dropout or LeakyReLU as the last layer
    name = getattr(function, "__name__", type(function).__name__).lower()
    return "softmax" if name in ("softmax", "softmax_v2") else name  # softmax_v2: tf.nn.softmax


# --------------------------------------------------------------------------- arrays and data
def check_shape(array, expected: tuple, name: str = "array") -> None:
    """The array has exactly this shape."""
    if not _answered(array, name):
        return
    got = tuple(np.shape(array))
    if got != tuple(expected):
        raise CheckFailed(f"{name} has shape {got}, expected {tuple(expected)}.")
    _ok(f"{name} has shape {got}.")


def check_scaled(x, name: str = "x") -> None:
    """Pixels are floats in [0, 1] (not 0..255 and not scaled twice)."""
    if not _answered(x, name):
        return
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise CheckFailed(f"{name} is {x.dtype}: convert to float32 before dividing by 255.")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 1:
        raise CheckFailed(f"{name} runs from {lo:.3g} to {hi:.3g}: divide the uint8 pixels by 255.")
    if hi < 0.05:
        raise CheckFailed(f"{name} tops out at {hi:.3g}: it looks divided by 255 twice.")
    _ok(f"{name} is {x.dtype} in [{lo:.2f}, {hi:.2f}].")


def check_one_hot(y_one_hot, y_int, num_classes: int) -> None:
    """One-hot rows match the integer labels."""
    if not _answered(y_one_hot, "the one-hot labels"):
        return
    y_one_hot = np.asarray(y_one_hot)
    if y_one_hot.shape != (len(y_int), num_classes):
        raise CheckFailed(f"one-hot labels have shape {y_one_hot.shape}, expected {(len(y_int), num_classes)}.")
    if not np.all(y_one_hot.sum(axis=1) == 1) or not np.array_equal(y_one_hot.argmax(axis=1), np.asarray(y_int)):
        raise CheckFailed("each row must hold a single 1, at the position of that image's integer label.")
    _ok(f"{len(y_int)} labels one-hot encoded into {num_classes} columns.")


def check_all_classes_present(y, num_classes: int, name: str = "labels") -> None:
    """Every class appears at least once (e.g. in a validation split)."""
    if not _answered(y, name):
        return
    y = np.asarray(y)
    y = y.argmax(axis=1) if y.ndim == 2 else y
    missing = sorted(set(range(num_classes)) - set(np.unique(y).tolist()))
    if missing:
        raise CheckFailed(f"{name} lacks classes {missing}: split with stratification (split_validation).")
    _ok(f"all {num_classes} classes appear in {name}.")


def check_vgg_preprocessed(x_mine, x_pixels) -> None:
    """Images prepared as VGG16 expects: 0-255 scale, BGR channel order, ImageNet channel means subtracted."""
    if not _answered(x_mine, "the preprocessed images"):
        return
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
    raise CheckFailed(
        "not what keras.applications.vgg16.preprocess_input gives: flip RGB to BGR, then subtract "
        "the means [103.939, 116.779, 123.68] from the B, G and R channels."
    )


# --------------------------------------------------------------------------- models
def check_model(model, *, params: int, input_shape: tuple, num_classes: int, output: str) -> None:
    """Parameter count, input and output shapes, and a last layer giving "softmax" probabilities or raw "logits"."""
    if output not in ("softmax", "logits"):
        raise ValueError(f"output must be 'softmax' or 'logits', not {output!r}.")
    if not _answered(model, "your model"):
        return
    model = _built_model(model)
    _raise_if_wrong_shapes(model, input_shape, num_classes)
    _raise_if_wrong_params(model, params)
    last = _final_activation(model)
    if output == "softmax" and last != "softmax":
        applies = "" if last == "linear" else f" (it ends in {last})"
        raise CheckFailed(
            f"the last layer has no softmax{applies}: add activation='softmax' to the last Dense layer (or end "
            "with layers.Activation('softmax')), so that the model outputs class probabilities."
        )
    if output == "logits" and last != "linear":
        raise CheckFailed(
            f"the last layer applies {last}, but this model should output logits (raw scores): give the last "
            "Dense layer no activation; the loss applies softmax itself (from_logits=True)."
        )
    scores = "class probabilities (softmax)" if output == "softmax" else "logits (raw class scores)"
    _ok(f"{model.name}: {params:,} parameters, {tuple(input_shape)} images in, {num_classes} {scores} out.")


def check_param_count(model, expected: int) -> None:
    """The model has exactly the expected number of parameters."""
    if not _answered(model, "your model"):
        return
    model = _built_model(model)
    _raise_if_wrong_params(model, expected)
    _ok(f"{model.name} has {expected:,} parameters.")


def check_output_shape(model, input_shape: tuple, num_classes: int) -> None:
    """The model takes images of ``input_shape`` and gives one score per class."""
    if not _answered(model, "your model"):
        return
    model = _built_model(model)
    _raise_if_wrong_shapes(model, input_shape, num_classes)
    _ok(f"{model.name} maps {tuple(input_shape)} images to {num_classes} class scores.")


# --------------------------------------------------------------------------- numbers
def check_accuracy_at_least(accuracy: float, minimum: float, what: str = "accuracy") -> None:
    """An accuracy (a fraction between 0 and 1) reaches a minimum (e.g. better than chance)."""
    if not _answered(accuracy, what):
        return
    accuracy = _fraction(accuracy, what)
    if accuracy < minimum:
        raise CheckFailed(f"{what} is {accuracy:.3f}, below {minimum:.3f}. Train longer or check the labels.")
    _ok(f"{what} {accuracy:.3f} >= {minimum:.3f}.")


def check_value(got, expected, name: str = "value", tol: float = 1e-6, *, biases: int = 0) -> None:
    """A number (or array) equals ``expected`` within ``tol``; ``biases``: how many of a parameter count are biases."""
    if not _answered(got, name):
        return
    if isinstance(_plain(expected), int):
        got = _whole_number(got, name)
    elif np.asarray(got).dtype.kind not in "iuf":  # a str, a bool, a list holding None...
        raise CheckFailed(f"{name}: give a number, not {_shown(got)}.")
    got = _plain(np.asarray(got))
    if np.ndim(expected) == 0 and np.ndim(got) > 0:
        raise CheckFailed(f"{name}: give one number, not {_shown(got)}.")
    if np.shape(got) != np.shape(expected):
        raise CheckFailed(f"{name} has shape {np.shape(got)}, but the answer has shape {np.shape(expected)}.")
    if np.any(np.isnan(got)):
        raise CheckFailed(f"{name} is (or holds) NaN: something in the calculation was not a number.")
    if np.allclose(got, expected, atol=tol):
        return _ok(f"{name} = {got}.")
    if np.ndim(expected) > 0:
        wrong = int(np.sum(~np.isclose(got, expected, atol=tol)))
        raise CheckFailed(f"{name} is not right yet at {wrong} of {np.size(expected)} positions.")
    if biases and got == expected - biases:
        raise CheckFailed(
            f"{name} = {got:,} counts the weights but not the biases: every filter (or unit) has one bias as well."
        )
    if isinstance(got, float) and np.isclose(got, expected, rtol=0.01):
        raise CheckFailed(f"{name} = {got} is close, but not within {tol:g}: compute it rather than round it.")
    direction = "too large" if got > expected else "too small"
    raise CheckFailed(f"{name} = {got} is not right yet: it is {direction}. Work it out again step by step.")


def check_dropout_kept_value(answer, rate: float) -> None:
    """The value a Dropout(rate) layer gives the ones it keeps during training, for an input of ones."""
    if not _answered(answer, "kept_value"):
        return
    value = _plain(answer)
    if not _is_number(value):
        raise CheckFailed(f"kept_value: give a number, not {_shown(answer)}.")
    expected = 1 / (1 - rate)
    if np.isclose(value, expected, atol=5e-3):  # bfloat16 shows 1 / 0.75 as 1.3359
        return _ok(f"kept values are divided by 1 - {rate} = {1 - rate:g}: {value:.4f}, so the expected sum stays.")
    if np.isclose(value, 1.0):
        raise CheckFailed("1.0 is what the layer gives outside training; with training=True the kept values change.")
    if np.isclose(value, 1 - rate) or np.isclose(value, rate):
        raise CheckFailed(
            f"{value:g} is a fraction of values (kept or dropped), not what a kept value becomes: the "
            "layer scales the kept values so that their expected sum stays the same."
        )
    if value < 1:
        raise CheckFailed("kept values grow, they do not shrink: the layer makes up for the values it drops.")
    raise CheckFailed(f"{value:g} is not it: run the layer on ones with training=True and look at the non-zero values.")


def check_layer_params(answer, layers: list) -> None:
    """The parameters of some Keras layers together (e.g. the three convolutions of one VGG16 block)."""
    if not _answered(answer, "the parameter count"):
        return
    answer = _whole_number(answer, "the parameter count")
    counts = [int(layer.count_params()) for layer in layers]
    expected = sum(counts)
    biases = sum(int(np.prod(w.shape)) for layer in layers for w in layer.weights if w.name.endswith("bias"))
    if answer == expected:
        return _ok(f"{len(layers)} layers hold {expected:,} parameters ({', '.join(f'{c:,}' for c in counts)}).")
    if answer == expected - biases:
        raise CheckFailed(f"{answer:,} counts the weights but not the biases: every filter has one bias as well.")
    if answer in counts:
        raise CheckFailed(f"{answer:,} is one layer's count: add up all {len(layers)} layers.")
    raise CheckFailed(
        f"{answer:,} is not it. Per convolution: (k x k x input channels + 1) x filters; the input "
        "channels of a layer are the filters of the one before it."
    )


def check_schedule_reading(peak_step, lr_halfway, schedule) -> None:
    """Where a warm-up + cosine schedule (Keras's CosineDecay with warm-up) peaks, and its value halfway down."""
    if not (_answered(peak_step, "peak_step") and _answered(lr_halfway, "lr_halfway")):
        return
    peak_step = _whole_number(peak_step, "peak_step")
    if not _is_number(lr_halfway):
        raise CheckFailed(f"lr_halfway: give a number, not {_shown(lr_halfway)}.")
    warmup, peak = int(schedule.warmup_steps), float(schedule.warmup_target)
    if peak_step != warmup:
        hint = (
            " Count the steps of the warm-up: 20% of all steps, rounded to a whole step."
            if abs(peak_step - warmup) > 1
            else " Steps count from 0: the peak is reached when the warm-up ends."
        )
        raise CheckFailed(f"the learning rate does not peak at step {peak_step}.{hint}")
    expected = float(schedule(warmup + schedule.decay_steps / 2))
    if np.isclose(lr_halfway, expected, rtol=1e-3):
        return _ok(
            f"the peak comes after the warm-up, at step {warmup}; halfway down the cosine the rate is "
            f"{expected:.2e}, half the peak."
        )
    if np.isclose(lr_halfway, peak, rtol=1e-3):
        raise CheckFailed("lr_halfway is the peak itself; halfway down, the cosine has come part of the way to 0.")
    raise CheckFailed(
        "lr_halfway is not right yet: a cosine from the peak to 0 passes which fraction of the peak "
        "halfway? (cos goes from 1 to -1; the schedule uses (1 + cos) / 2.)"
    )


def check_conv_params(answer, kernel_size: int, in_channels: int, filters: int) -> None:
    """The parameter count of a Conv2D layer: (kernel_size² × in_channels + 1) × filters."""
    if not _answered(answer, "your count"):
        return
    answer = _whole_number(answer, "the parameter count")
    k2 = kernel_size * kernel_size
    expected = (k2 * in_channels + 1) * filters
    if answer == expected:
        return _ok(
            f"{filters} filters of {kernel_size}x{kernel_size}x{in_channels} weights plus one bias each: "
            f"{expected:,} parameters."
        )
    if answer == k2 * in_channels * filters:
        raise CheckFailed(f"{answer:,} counts the weights but not the biases: every filter has one bias as well.")
    if answer in ((k2 + 1) * filters, k2 * filters):
        raise CheckFailed(
            f"{answer:,} treats the input as one channel: each filter has {kernel_size}x{kernel_size} "
            f"weights for every one of the {in_channels} input channels."
        )
    raise CheckFailed(
        f"{answer:,} is not it. A Conv2D layer has (kernel height x kernel width x input channels + 1) "
        "x filters parameters; the image's height and width do not matter."
    )


def check_dense_params(answer, n_inputs: int, units: int) -> None:
    """The parameter count of a Dense layer: (inputs + 1) × units."""
    if not _answered(answer, "your count"):
        return
    answer = _whole_number(answer, "the parameter count")
    expected = (n_inputs + 1) * units
    if answer == expected:
        return _ok(f"{n_inputs:,} weights plus one bias for each of the {units} units: {expected:,} parameters.")
    if answer == n_inputs * units:
        raise CheckFailed(f"{answer:,} counts the weights but not the biases: every unit has one bias as well.")
    if answer in ((4 * n_inputs + 1) * units, 4 * n_inputs * units):
        raise CheckFailed(
            f"{answer:,} uses the size before pooling: MaxPooling2D(2) halves the height and the width, "
            "so Flatten gets a quarter of the values."
        )
    raise CheckFailed(
        f"{answer:,} is not it. A Dense layer has (inputs + 1) x units parameters, where the inputs "
        "are the values Flatten produces (height x width x channels)."
    )


def check_batchnorm_params(answer, plain_params: int, channels: list[int]) -> None:
    """Parameters after adding BatchNormalization to convolutions that drop their biases: +3 per channel."""
    if not _answered(answer, "bn_params"):
        return
    answer = _whole_number(answer, "bn_params")
    n = int(sum(channels))
    expected = plain_params - n + 4 * n
    if answer == expected:
        return _ok(
            f"{n} channels: minus {n} conv biases, plus 4 x {n} (gamma, beta, moving mean, moving variance) "
            f"= {expected:,} ({2 * n} of the new numbers are trained, {2 * n} are running statistics)."
        )
    if answer == plain_params + 4 * n:
        raise CheckFailed(
            "the four numbers per channel are right, but the convolutions before BatchNormalization "
            f"no longer have biases (use_bias=False): subtract those {n} biases."
        )
    if answer in (plain_params + n, plain_params + 2 * n):
        raise CheckFailed(
            "count the moving mean and moving variance too: they are not trained, but they are part "
            "of the layer and of count_params() (4 numbers per channel, not 2)."
        )
    if answer == plain_params:
        raise CheckFailed("BatchNormalization has parameters of its own: 4 per channel.")
    raise CheckFailed(
        f"{answer:,} is not it. Add 4 numbers per BatchNormalization channel ({n} channels in all) and "
        "remove one bias per filter from the convolutions that now have use_bias=False."
    )


# --------------------------------------------------------------------------- training histories
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


def check_early_stopping(answer, values, patience: int, mode: str = "min") -> None:
    """``answer`` = (epoch early stopping stops after, or None; epoch whose weights it restores), counted from 1."""
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' (a loss) or 'max' (an accuracy), not {mode!r}.")
    if not _answered(answer, "the answer (stop_epoch, best_epoch)"):
        return
    try:
        stop, best = answer
    except (TypeError, ValueError):
        raise CheckFailed(
            f"answer is {answer!r}: give two numbers, (stop_epoch, best_epoch), "
            "with stop_epoch = None if training would run to the end."
        ) from None
    best = _whole_number(best, "best_epoch")
    stop = None if stop is None else _whole_number(stop, "stop_epoch")
    values = list(values)
    want_stop, want_best = _early_stopping_replay(values, patience, mode)
    if want_stop is not None and want_stop == len(values) and stop in (None, want_stop) and best == want_best:
        return _ok(
            f"with patience={patience}, the rule fires after epoch {want_stop}, the last epoch that was run: "
            f"stopping there and running to the end are the same thing, so {want_stop} and None are both right. "
            f"Training keeps the weights of epoch {want_best}."
        )
    count_from_1 = " Epochs count from 1, as Keras prints them."
    if best != want_best:
        better = "lowest" if mode == "min" else "highest"
        if best == want_best - 1:
            hint = count_from_1
        elif best == _early_stopping_replay(values, patience, "max" if mode == "min" else "min")[1]:
            hint = " For a loss, lower is better." if mode == "min" else " For an accuracy, higher is better."
        elif not 1 <= best <= len(values):
            hint = f" There are {len(values)} epochs, numbered 1 to {len(values)}."
        elif want_stop is not None and best > want_stop:
            hint = f" Epoch {best} never runs: training has stopped before it."
        else:
            hint = ""
        raise CheckFailed(
            f"the weights kept are not those of epoch {best}: restore_best_weights keeps the epoch with the "
            f"{better} value so far, before training stopped.{hint}"
        )
    if stop != want_stop:
        if stop is None:
            raise CheckFailed(
                f"training does stop early: find the first time that {patience} epochs in a row bring no new best."
            )
        if stop < best:
            raise CheckFailed(f"training cannot stop after epoch {stop}, before the epoch whose weights it keeps.")
        if stop > len(values):
            raise CheckFailed(
                f"there are only {len(values)} epochs: if training never stops early, stop_epoch is None."
            )
        hint = count_from_1 if want_stop is not None and stop == want_stop - 1 else ""
        raise CheckFailed(
            f"training does not stop after epoch {stop}: it stops once {patience} epochs in a row bring no new best "
            f"(a tie is no improvement); if that never happens, it runs to the end and stop_epoch is None.{hint}"
        )
    where = "runs to the end" if want_stop is None else f"stops after epoch {want_stop}"
    _ok(f"with patience={patience}, training {where} and keeps the weights of epoch {want_best}.")


def check_best_epoch(epoch, history, key: str = "val_accuracy") -> None:
    """The epoch, counted from 1 as Keras prints them, with the best value of ``key`` in a training history."""
    if not _answered(epoch, "best_epoch"):
        return
    hist = getattr(history, "history", history)
    values = [float(v) for v in hist[key]]
    higher_is_better = "acc" in key
    best_value = max(values) if higher_is_better else min(values)
    what = key.replace("val_", "validation ").replace("_", " ")
    if _is_number(epoch) and not float(_plain(epoch)).is_integer():  # a value from the history, not an epoch?
        if np.isclose(epoch, best_value, rtol=0, atol=5e-4):
            raise CheckFailed(f"{epoch} is the best {what} itself; the answer is the epoch number (1, 2, ...).")
        if np.any(np.isclose(epoch, values, rtol=0, atol=5e-4)):
            raise CheckFailed(f"{epoch} is one of the {what} values; the answer is an epoch number (1, 2, ...).")
    epoch = _whole_number(epoch, "best_epoch")
    best_epochs = [i + 1 for i, v in enumerate(values) if v == best_value]
    if epoch in best_epochs:
        return _ok(f"epoch {epoch} has the best {what}, {best_value:.4f}.")
    if epoch + 1 in best_epochs:
        raise CheckFailed(
            "Keras counts epochs from 1 in its log (Epoch 1/...), but a position in a Python list or numpy "
            "array counts from 0: the epoch number is the position + 1."
        )
    if not 1 <= epoch <= len(values):
        raise CheckFailed(f"there are {len(values)} epochs, numbered 1 to {len(values)}: {epoch} is not one of them.")
    train_key = key.replace("val_", "")
    if train_key != key and train_key in hist:
        train = [float(v) for v in hist[train_key]]
        if int(np.argmax(train) if higher_is_better else np.argmin(train)) + 1 == epoch:
            raise CheckFailed(f"epoch {epoch} is best on the training data ({train_key}); look at {key} instead.")
    worst_value = min(values) if higher_is_better else max(values)
    if values[epoch - 1] == worst_value:
        better = "higher" if higher_is_better else "lower"
        raise CheckFailed(f"epoch {epoch} has the worst {what}: for {what}, {better} is better.")
    best = "highest" if higher_is_better else "lowest"
    raise CheckFailed(
        f"epoch {epoch} is not the best: its {what} is {values[epoch - 1]:.4f}, and another epoch does better. "
        f"Find the {best} value in history.history[{key!r}] and its epoch number (counted from 1)."
    )


def _last_epoch(history) -> tuple[float, float]:
    """Validation accuracy and train-validation gap at the last epoch."""
    hist = getattr(history, "history", history)
    return float(hist["val_accuracy"][-1]), float(hist["accuracy"][-1]) - float(hist["val_accuracy"][-1])


def check_ablation_prediction(
    prediction, with_it, without_it, ingredient: str, tolerance: float = 0.005, n_val: int | None = None
) -> None:
    """Compare a prediction {"val_accuracy": higher/lower/about the same, "gap": larger/smaller/about the same}
    about removing ``ingredient`` with what two training histories show (last epoch). A wrong guess is not an error.

    "About the same" means within ``tolerance``; given ``n_val`` (validation images), within twice the standard error
    of a validation accuracy measured on that many images, the size of a difference that one seed can make."""
    if not _answered(prediction, "my_prediction"):
        return
    allowed = {"val_accuracy": ("higher", "lower", "about the same"), "gap": ("larger", "smaller", "about the same")}
    if not isinstance(prediction, dict) or set(prediction) != set(allowed):
        raise CheckFailed(
            'my_prediction must be a dict with two keys, e.g. {"val_accuracy": "lower", "gap": "larger"}.'
        )
    for key, words in allowed.items():
        if prediction[key] not in words:
            raise CheckFailed(
                f"my_prediction[{key!r}] is {prediction[key]!r}; choose one of {', '.join(map(repr, words))}."
            )
    val_with, gap_with = _last_epoch(with_it)
    val_without, gap_without = _last_epoch(without_it)
    if n_val:
        tolerance = 2 * float(np.sqrt(val_with * (1 - val_with) / n_val))

    def verdict(delta: float, up: str, down: str) -> str:
        return "about the same" if abs(delta) < tolerance else up if delta > 0 else down

    happened = {
        "val_accuracy": verdict(val_without - val_with, "higher", "lower"),
        "gap": verdict(gap_without - gap_with, "larger", "smaller"),
    }
    print(
        f"without {ingredient}: validation accuracy {val_without:.4f} (with it {val_with:.4f}), "
        f"train-validation gap {gap_without:+.4f} (with it {gap_with:+.4f}); "
        f"'about the same' means within {tolerance:.4f}"
    )
    right = 0
    for key in allowed:
        hit = prediction[key] == happened[key]
        right += hit
        verdict_word = "right" if hit else "not this time"
        print(f"  {key}: you predicted {prediction[key]!r}, it was {happened[key]!r} - {verdict_word}")
    print(
        f"{right} of 2 predictions matched. One short run is one sample: differences under a point can flip with "
        "the seed, so judge the direction of large effects, not the decimals."
    )


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
    """A confusion matrix of counts: row = actual class, column = predicted class."""
    if not _answered(matrix, "my_matrix"):
        return
    from sklearn.metrics import confusion_matrix  # not cc.evaluation's: config imports checks, so no cycle

    expected = confusion_matrix(y_true, y_pred, labels=np.arange(num_classes))
    mine = np.asarray(matrix)
    if mine.shape != expected.shape:
        raise CheckFailed(
            f"the matrix has shape {mine.shape}, expected {expected.shape} (one row and column per class)."
        )
    if np.array_equal(mine, expected):
        return _ok(f"{int(expected.sum())} images counted, actual classes in rows, predictions in columns.")
    if np.array_equal(mine, expected.T):
        raise CheckFailed("rows and columns are swapped: rows are the actual classes, columns the predicted ones.")
    if _not_counts(mine):
        raise CheckFailed(_fractions_hint(mine, int(expected.sum())))
    if mine.sum() != expected.sum():
        raise CheckFailed(f"the counts add up to {int(mine.sum())}, expected {int(expected.sum())} (one per image).")
    raise CheckFailed("some cells are wrong: add 1 at [actual, predicted] for every image.")


def check_confident_accuracy(answer, probabilities, y_true, threshold: float = 0.9) -> None:
    """The accuracy of only those predictions whose probability is at least ``threshold``."""
    if not _answered(answer, "acc_confident"):
        return
    answer = _fraction(answer, "acc_confident", allow_nan=True)
    probabilities = np.asarray(probabilities)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(y_true)
    sure = confidence >= threshold
    if not sure.any():
        if np.isnan(answer):
            return _ok(f"no prediction reaches {threshold}, so there is nothing to measure (NaN).")
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
        return _ok(f"{sure.sum()} predictions reach {threshold}; {answer:.1%} of them are right.")
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


# --------------------------------------------------------------------------- in Jupyter: short messages
def _short_traceback(shell, etype, value, tb, tb_offset=None) -> list[str]:
    """IPython's handler for CheckFailed: show one red line, not the source of checks.py."""
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb  # so %tb can still show all of it
    stb = [f"\x1b[31m{etype.__name__}: {value}\x1b[0m"]
    shell._showtraceback(etype, value, stb)  # as an error output: the cell still counts as failed
    return stb


def install_short_tracebacks(*also: type[Exception]) -> None:
    """In IPython or Jupyter, show a failed check (and errors of the types in ``also``) as its message alone."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((CheckFailed, *also), _short_traceback)


# --------------------------------------------------------------------------- lesson 08: what the network sees
def _probabilities(model, images) -> np.ndarray:
    """Class probabilities of a batch (float64); a softmax is applied when the model outputs logits."""
    from .arrays import as_probabilities

    return as_probabilities(model.predict(np.asarray(images, dtype=np.float32), batch_size=256, verbose=0))


def _heat_share(heat, top: float = 0.1) -> float:
    """The share of a heat map's total heat in its hottest ``top`` fraction of pixels (0 for a map with no heat)."""
    values = np.sort(np.asarray(heat, dtype=np.float64).ravel())[::-1]
    total = float(values.sum())
    k = max(1, int(round(top * values.size)))
    return float(values[:k].sum() / total) if total > 0 else 0.0


def check_sharpest_layer(answer, model, image, class_index: int | None = None, top: float = 0.1) -> None:
    """The convolution layer whose Grad-CAM map of ``image`` keeps the largest share of its heat in its hottest
    ``top`` fraction of pixels (lesson 08's ``heat_share``), for the predicted class unless ``class_index`` is given."""
    if not _answered(answer, "sharpest_layer"):
        return
    from . import explain  # explain imports nothing of the course's, so no cycle

    names = explain.conv_layers(model)
    if not isinstance(answer, str):
        raise CheckFailed(
            f"sharpest_layer: give the layer's name (a str from cc.explain.conv_layers(model)), not {_shown(answer)}."
        )
    if answer not in names:
        raise CheckFailed(
            f"{answer!r} is not one of {model.name}'s convolution layers: choose a name from "
            "cc.explain.conv_layers(model) (names can change when a model is built again)."
        )
    shares = {name: _heat_share(explain.grad_cam(model, image, class_index, layer_name=name)[0], top) for name in names}
    if shares[answer] >= max(shares.values()) - 1e-4:  # near-ties: float32 sums may order them either way
        return _ok(
            f"{answer}'s Grad-CAM map keeps {shares[answer]:.1%} of its heat in its hottest {top:.0%} of pixels, "
            f"the most of the {len(names)} convolution layers."
        )
    if shares[answer] <= min(shares.values()) + 1e-4:
        raise CheckFailed(
            f"{answer} has the LEAST concentrated map of all ({shares[answer]:.1%}): the sharpest map has the "
            "highest heat_share, so keep the layer with the largest value."
        )
    usual = " The last convolution is Grad-CAM's usual layer, but not the sharpest by this measure."
    last = usual if answer == names[-1] else ""
    raise CheckFailed(
        f"{answer}'s map keeps {shares[answer]:.1%} of its heat in its hottest {top:.0%} of pixels; another layer "
        f"keeps more. Compute heat_share for every name in cc.explain.conv_layers(model) and keep the largest.{last}"
    )


def check_occlusion_prediction(
    prediction, drops, model, images, patches: dict, size: int, fill: float = 0.5, tolerance: float = 0.01
) -> None:
    """Compare a prediction (the name of the patch in ``patches``, name -> (row, column) of its top-left corner, that
    lowers the probability of each image's predicted class most on average, or "about the same") with ``drops``
    (name -> that mean drop), which the check measures again. A wrong guess is not an error; a wrong measurement is."""
    if not _answered(prediction, "my_prediction") or not _answered(drops, "drops"):
        return
    words = (*patches, "about the same")
    if prediction not in words:
        raise CheckFailed(f"my_prediction is {prediction!r}; choose one of {', '.join(map(repr, words))}.")
    if not isinstance(drops, dict) or set(drops) != set(patches):
        raise CheckFailed(
            f"drops must be a dict with the keys {', '.join(map(repr, patches))}: the mean drop for each patch."
        )
    for name, value in drops.items():
        if not _is_number(value):
            raise CheckFailed(f"drops[{name!r}]: give one number (the mean over the images), not {_shown(value)}.")
    images = np.asarray(images, dtype=np.float32)
    before = _probabilities(model, images)
    classes, rows = before.argmax(axis=1), np.arange(len(images))
    measured = {}
    for name, (row, col) in patches.items():
        hidden = images.copy()
        hidden[:, row : row + size, col : col + size] = fill
        measured[name] = float(np.mean(before[rows, classes] - _probabilities(model, hidden)[rows, classes]))
    for name, (row, col) in patches.items():
        got, want = float(_plain(drops[name])), measured[name]
        if abs(got - want) <= 5e-3:
            continue
        if abs(got + want) <= 5e-3:
            raise CheckFailed(
                f"drops[{name!r}] has the wrong sign: a drop is the probability on the original image minus the "
                "probability on the occluded copy (positive when hiding the patch makes the class less likely)."
            )
        raise CheckFailed(
            f"drops[{name!r}] is not what the model gives. On a copy of the images, set rows {row}-{row + size - 1} "
            f"and columns {col}-{col + size - 1} to {fill}; for each image take its predicted class on the ORIGINAL "
            "image, subtract that class's probability on the copy from its probability on the original, and average "
            "over the images."
        )
    ranked = sorted(measured, key=measured.get, reverse=True)
    happened = ranked[0] if measured[ranked[0]] - measured[ranked[1]] >= tolerance else "about the same"
    drops_text = ", ".join(f"{name} {measured[name]:+.3f}" for name in patches)
    print(f"mean drop of the predicted class's probability over {len(images)} images: {drops_text}")
    hit = prediction == happened
    print(f"  you predicted {prediction!r}, it was {happened!r} - {'right' if hit else 'not this time'}")
    _ok(
        f"your drops are measured right. A handful of images is a small sample and a briefly trained model a vague "
        f"one: differences under {tolerance} count as 'about the same'."
    )
