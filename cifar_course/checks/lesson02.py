"""Checks for lesson 02, the baseline CNN: a convolution's parameters, a model's shape and output, an accuracy."""

from __future__ import annotations

from ._core import CheckFailed, answered, fraction, ok, whole_number
from ._models import built_model, final_activation, raise_if_wrong_params, raise_if_wrong_shapes


def check_conv_params(answer, kernel_size: int, in_channels: int, filters: int) -> None:
    """The parameter count of a Conv2D layer: (kernel_size² × in_channels + 1) × filters (lesson 02 exercises)."""
    if not answered(answer, "your count"):
        return
    answer = whole_number(answer, "the parameter count")
    k2 = kernel_size * kernel_size
    expected = (k2 * in_channels + 1) * filters
    if answer == expected:
        return ok(
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


def check_model(model, *, params: int, input_shape: tuple, num_classes: int, output: str) -> None:
    """Parameter count, input and output shapes, and a last layer giving "softmax" probabilities or raw "logits"
    (lesson 02 exercises; again in lesson 04 §3)."""
    if output not in ("softmax", "logits"):
        raise ValueError(f"output must be 'softmax' or 'logits', not {output!r}.")
    if not answered(model, "your model"):
        return
    model = built_model(model)
    raise_if_wrong_shapes(model, input_shape, num_classes)
    raise_if_wrong_params(model, params)
    last = final_activation(model)
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
    ok(f"{model.name}: {params:,} parameters, {tuple(input_shape)} images in, {num_classes} {scores} out.")


def check_accuracy_at_least(accuracy: float, minimum: float, what: str = "accuracy") -> None:
    """An accuracy (a fraction between 0 and 1) reaches a minimum, e.g. better than chance (lesson 02 exercises)."""
    if not answered(accuracy, what):
        return
    accuracy = fraction(accuracy, what)
    if accuracy < minimum:
        raise CheckFailed(f"{what} is {accuracy:.3f}, below {minimum:.3f}. Train longer or check the labels.")
    ok(f"{what} {accuracy:.3f} >= {minimum:.3f}.")
