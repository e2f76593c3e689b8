"""What the model checks read from a Keras model: that it is built, its parameter count, its shapes, its last layer."""

from __future__ import annotations

from ..arrays import flat_layers
from ._core import CheckFailed, shown


def built_model(model):
    """``model`` if it is a built Keras model; CheckFailed (saying what it is instead) otherwise."""
    import keras

    if not isinstance(model, keras.Model):
        raise CheckFailed(f"your model should be a Keras model (e.g. keras.Sequential([...])), not {shown(model)}.")
    if not model.built:
        raise CheckFailed(
            f"{model.name} is not built yet, so it has no shapes or parameters: start its layers with "
            "keras.Input(shape=...)."
        )
    return model


def raise_if_wrong_params(model, expected: int) -> None:
    """CheckFailed unless the model has exactly ``expected`` parameters."""
    got = int(model.count_params())
    if got != expected:
        hint = "more" if got > expected else "fewer"
        raise CheckFailed(
            f"{model.name} has {got:,} parameters, {hint} than the expected {expected:,}. "
            "Compare its summary() layer by layer with the specification."
        )


def raise_if_wrong_shapes(model, input_shape: tuple, num_classes: int) -> None:
    """CheckFailed unless the model maps ``input_shape`` images to ``num_classes`` scores."""
    if tuple(model.input_shape[1:]) != tuple(input_shape):
        raise CheckFailed(f"{model.name} takes inputs of shape {model.input_shape[1:]}, expected {tuple(input_shape)}.")
    if tuple(model.output_shape[1:]) != (num_classes,):
        raise CheckFailed(
            f"{model.name} outputs {model.output_shape[1:]}, expected ({num_classes},): "
            "the last Dense layer needs one unit per class."
        )


def final_activation(model) -> str:
    """What the model's last layer applies: 'softmax', 'relu', 'linear' (nothing), or the layer's class name."""
    import keras

    layer = flat_layers(model)[-1]  # a model inside the model (M4's head): its own last layer
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    function = getattr(layer, "activation", None)  # Dense(..., activation=...) and Activation(...) both have one
    if function is None:
        return type(layer).__name__  # e.g. Dropout or LeakyReLU as the last layer
    name = getattr(function, "__name__", type(function).__name__).lower()
    return "softmax" if name in ("softmax", "softmax_v2") else name  # softmax_v2: tf.nn.softmax
