"""Checks for lesson 09, what the network sees: the sharpest Grad-CAM layer, the drops an occluding patch causes."""

from __future__ import annotations

import numpy as np

from ..arrays import as_probabilities
from ._core import CheckFailed, answered, is_number, ok, plain, shown


def _probabilities(model, images) -> np.ndarray:
    """Class probabilities of a batch (float64); a softmax is applied when the model outputs logits."""
    return as_probabilities(model.predict(np.asarray(images, dtype=np.float32), batch_size=256, verbose=0))


def check_sharpest_layer(answer, model, image, class_index: int | None = None, top: float = 0.1) -> None:
    """The convolution layer whose Grad-CAM map of ``image`` keeps the largest share of its heat in its hottest
    ``top`` fraction of pixels (cc.explain.heat_share), for the predicted class unless ``class_index`` is given
    (lesson 09 §4)."""
    if not answered(answer, "sharpest_layer"):
        return
    from .. import explain  # on first use: explain imports TensorFlow

    names = explain.conv_layers(model)
    if not isinstance(answer, str):
        raise CheckFailed(
            f"sharpest_layer: give the layer's name (a str from cc.explain.conv_layers(model)), not {shown(answer)}."
        )
    if answer not in names:
        raise CheckFailed(
            f"{answer!r} is not one of {model.name}'s convolution layers: choose a name from "
            "cc.explain.conv_layers(model) (names can change when a model is built again)."
        )
    maps = {name: explain.grad_cam(model, image, class_index, layer_name=name)[0] for name in names}
    shares = {name: explain.heat_share(heat, top) for name, heat in maps.items()}
    if shares[answer] >= max(shares.values()) - 1e-4:  # near-ties: float32 sums may order them either way
        return ok(
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
    (name -> that mean drop), which the check measures again. A wrong guess is not an error; a wrong measurement is
    (lesson 09 §5)."""
    if not answered(prediction, "my_prediction") or not answered(drops, "drops"):
        return
    words = (*patches, "about the same")
    if prediction not in words:
        raise CheckFailed(f"my_prediction is {prediction!r}; choose one of {', '.join(map(repr, words))}.")
    if not isinstance(drops, dict) or set(drops) != set(patches):
        raise CheckFailed(
            f"drops must be a dict with the keys {', '.join(map(repr, patches))}: the mean drop for each patch."
        )
    for name, value in drops.items():
        if not is_number(value):
            raise CheckFailed(f"drops[{name!r}]: give one number (the mean over the images), not {shown(value)}.")
    images = np.asarray(images, dtype=np.float32)
    before = _probabilities(model, images)
    classes, rows = before.argmax(axis=1), np.arange(len(images))
    measured = {}
    for name, (row, col) in patches.items():
        hidden = images.copy()
        hidden[:, row : row + size, col : col + size] = fill
        measured[name] = float(np.mean(before[rows, classes] - _probabilities(model, hidden)[rows, classes]))
    for name, (row, col) in patches.items():
        got, want = float(plain(drops[name])), measured[name]
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
    ok(
        f"your drops are measured right. A handful of images is a small sample and a briefly trained model a vague "
        f"one: differences under {tolerance} count as 'about the same'."
    )
