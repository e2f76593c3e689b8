"""Checks for lesson 07, the training recipe: batch-norm parameters, a learning-rate schedule, an ablation prediction,
mixup by hand."""

from __future__ import annotations

import numpy as np

from ._core import CheckFailed, answered, is_number, ok, shown, whole_number


def check_batchnorm_params(answer, plain_params: int, channels: list[int]) -> None:
    """Parameters after adding BatchNormalization to convolutions that drop their biases: +3 per channel
    (lesson 07 §5)."""
    if not answered(answer, "bn_params"):
        return
    answer = whole_number(answer, "bn_params")
    n = int(sum(channels))
    expected = plain_params - n + 4 * n
    if answer == expected:
        return ok(
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


def check_schedule_reading(peak_step, lr_halfway, schedule) -> None:
    """Where a warm-up + cosine schedule (Keras's CosineDecay with warm-up) peaks, and its value halfway down
    (lesson 07 §7)."""
    if not (answered(peak_step, "peak_step") and answered(lr_halfway, "lr_halfway")):
        return
    peak_step = whole_number(peak_step, "peak_step")
    if not is_number(lr_halfway):
        raise CheckFailed(f"lr_halfway: give a number, not {shown(lr_halfway)}.")
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
        return ok(
            f"the peak comes after the warm-up, at step {warmup}; halfway down the cosine the rate is "
            f"{expected:.2e}, half the peak."
        )
    if np.isclose(lr_halfway, peak, rtol=1e-3):
        raise CheckFailed("lr_halfway is the peak itself; halfway down, the cosine has come part of the way to 0.")
    raise CheckFailed(
        "lr_halfway is not right yet: a cosine from the peak to 0 passes which fraction of the peak "
        "halfway? (cos goes from 1 to -1; the schedule uses (1 + cos) / 2.)"
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
    of a validation accuracy measured on that many images, the size of a difference that one seed can make
    (lesson 07 §12)."""
    if not answered(prediction, "my_prediction"):
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


def check_mixup(mixed_image, mixed_label, image_a, image_b, label_a, label_b, lam: float) -> None:
    """Mixup of two images and their one-hot labels by hand: ``lam`` of the first, ``1 - lam`` of the second
    (lesson 07 §13)."""
    if not (answered(mixed_image, "mixed_image") and answered(mixed_label, "mixed_label")):
        return
    image_a, image_b = np.asarray(image_a, np.float64), np.asarray(image_b, np.float64)
    label_a, label_b = np.asarray(label_a, np.float64), np.asarray(label_b, np.float64)
    mixed_image, mixed_label = np.asarray(mixed_image, np.float64), np.asarray(mixed_label, np.float64)
    if mixed_image.shape != image_a.shape:
        raise CheckFailed(
            f"mixed_image has shape {mixed_image.shape}; it is one image, shaped like image_a {image_a.shape}."
        )
    if mixed_label.shape != label_a.shape:
        raise CheckFailed(f"mixed_label has shape {mixed_label.shape}; it is one one-hot label, shaped like label_a.")
    image, label = lam * image_a + (1 - lam) * image_b, lam * label_a + (1 - lam) * label_b
    if np.allclose(mixed_image, (1 - lam) * image_a + lam * image_b) and not np.allclose(mixed_image, image):
        raise CheckFailed(f"the weights are swapped: lam = {lam} goes with image_a, 1 - lam with image_b.")
    if not np.allclose(mixed_image, image, atol=1e-4):
        raise CheckFailed("mixed_image is not lam x image_a + (1 - lam) x image_b, pixel by pixel.")
    if not np.allclose(mixed_label, label, atol=1e-6):
        hint = " They should sum to 1." if not np.isclose(mixed_label.sum(), 1) else ""
        raise CheckFailed(f"mixed_label must mix the labels in the same proportions as the images.{hint}")
    top = np.argsort(label)[::-1][:2]
    return ok(
        f"the new target says {label[top[0]]:.0%} class {top[0]} and {label[top[1]]:.0%} class {top[1]}: "
        "what the network must now predict for this blend. Keras's MixUp does the same, with a lam drawn at random."
    )
