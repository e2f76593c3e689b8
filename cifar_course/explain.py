"""What the network sees (lesson 09): feature maps, Grad-CAM, occlusion maps, and how far two heat maps agree.

Every function takes a trained Keras model and images scaled to [0, 1] of the size the model was built for.
Supported models: ``keras.Sequential`` and functional ``keras.Model`` with one image input, and models nested in
them as layers (a Sequential or functional base inside a Sequential, as M4 holds VGG16), to any depth. A layer is
found by its name, so the names in the model (nested ones included) should be unique. Subclassed models (your own
``class MyModel(keras.Model)``) are not supported: their layers are not known until they run.
"""

from __future__ import annotations

import keras
import matplotlib
import numpy as np
import tensorflow as tf
from keras import layers

from .arrays import flat_layers, model_images

CONV_LAYERS = (layers.Conv2D, layers.SeparableConv2D, layers.DepthwiseConv2D)  # what counts as a convolution
ACTIVATIONS = (layers.ReLU, layers.LeakyReLU, layers.ELU, layers.PReLU, layers.Activation)  # activation layers
SCORES = "class scores"  # the key of the class scores in what _probe's models return


def conv_layers(model: keras.Model) -> list[str]:
    """The names of the model's 2-D convolution layers, input to output, nested models opened (lesson 09 §1)."""
    return [layer.name for layer in flat_layers(model) if isinstance(layer, CONV_LAYERS)]


def feature_maps(model: keras.Model, image: np.ndarray, layer_names: list[str] | None = None) -> dict[str, np.ndarray]:
    """The activations of one image (H, W, C) at the named layers (default: all convolutions), each (h, w, channels)
    (lesson 09 §3)."""
    image = model_images(model, image)
    if len(image) != 1:
        raise ValueError(f"feature_maps takes one image of shape (H, W, C), got {len(image)} images: pass images[i]")
    layer_names = _conv_layer_names(model) if layer_names is None else list(layer_names)
    outputs = _probe(model, layer_names)(image, training=False)
    return {name: np.asarray(outputs[name][0], dtype=np.float32) for name in layer_names}


def grad_cam(
    model: keras.Model, images: np.ndarray, class_index: int | np.ndarray | None = None, layer_name: str | None = None
) -> np.ndarray:
    """Grad-CAM heat maps (N, H, W) in [0, 1] for the predicted class (or class_index), at the last convolution.

    Each channel of the layer's output is weighted by the mean gradient of the class score over the map, the
    weighted channels are summed, negative values set to 0, the map resized to the image and divided by its maximum
    (a map with no positive evidence, e.g. a blank image, stays all zeros). The class score is taken BEFORE a final
    softmax (Dense with softmax, Activation("softmax") or Softmax()): the logit of one class depends on that class
    only, while its probability also moves when other classes do. A model that outputs logits is used as it is.
    Under mixed_bfloat16 the gradients and maps are computed in float32; the maps are always float32.
    ``class_index``: None (each image's predicted class), one int for all images, or one int per image.
    A single image (H, W, C) counts as a batch of one. A convolution without an activation of its own (the course's
    models put BatchNormalization and a ReLU or LeakyReLU layer after it) is read after that activation: Grad-CAM
    weighs the rectified maps, while raw sums can be negative everywhere and leave an empty map. (lesson 09 §4)
    """
    images = model_images(model, images)
    layer_name = _rectified(model, layer_name or _conv_layer_names(model)[-1])
    if len(images) == 0:  # no images (e.g. a model with no mistakes to explain): no maps
        return np.zeros(images.shape[:3], dtype=np.float32)
    probe = _probe(model, [layer_name])  # images -> {layer_name: its output, SCORES: class scores}
    with tf.GradientTape() as tape:
        outputs = probe(images, training=False)
        fmap, scores = outputs[layer_name], outputs[SCORES]
        if len(fmap.shape) != 4:
            raise ValueError(
                f"layer {layer_name!r} gives shape {tuple(fmap.shape)}, not (N, h, w, C) maps: pick a conv layer"
            )
        scores = tf.cast(scores, tf.float32)  # float32 arithmetic, also under mixed_bfloat16
        classes = _classes(class_index, scores.numpy())
        score = tf.gather(scores, classes, axis=1, batch_dims=1)  # (N,): each image's score for its class
    grads = tf.cast(tape.gradient(score, fmap), tf.float32)
    fmap = tf.cast(fmap, tf.float32)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)  # (N, 1, 1, C): how much each channel counts
    cam = tf.nn.relu(tf.reduce_sum(weights * fmap, axis=-1, keepdims=True))  # (N, h, w, 1): positive evidence only
    cam = tf.image.resize(cam, images.shape[1:3])[..., 0]  # bilinear, up to the image size
    cam = tf.math.divide_no_nan(cam, tf.reduce_max(cam, axis=(1, 2), keepdims=True))  # 0/0 -> 0, not NaN
    return np.clip(cam.numpy(), 0.0, 1.0)


def occlusion_map(
    model: keras.Model,
    image: np.ndarray,
    class_index: int | None = None,
    patch: int = 4,
    stride: int = 2,
    fill: float = 0.5,
) -> np.ndarray:
    """Slide a grey patch over one image: the (H, W) map of how much the class probability drops where it covers.

    Each pixel gets the mean drop over all patch positions that cover it (negative: hiding it made the class more
    likely). The patch (``fill``: 0.5, mid-grey) must be large enough to hide what the model looks for. The image
    and all its occluded copies go through the model as one batch (226 images for 32x32 with the defaults). For a
    model that outputs logits, the probabilities are their softmax. (lesson 09 §5)
    """
    image = model_images(model, image)[0]
    height, width = image.shape[:2]
    corners = [(y, x) for y in _starts(height, patch, stride) for x in _starts(width, patch, stride)]
    copies = np.repeat(image[None], len(corners) + 1, axis=0)  # copy 0 stays as it is
    for copy, (y, x) in zip(copies[1:], corners):
        copy[y : y + patch, x : x + patch] = fill
    scores = _probe(model, [])(copies, training=False)[SCORES]  # one batch: the image and all its occluded copies
    probabilities = tf.nn.softmax(tf.cast(scores, tf.float32)).numpy()
    [c] = _classes(class_index, probabilities[:1])
    drops = probabilities[0, c] - probabilities[1:, c]
    total, count = np.zeros((height, width)), np.zeros((height, width))
    for drop, (y, x) in zip(drops, corners):
        total[y : y + patch, x : x + patch] += drop
        count[y : y + patch, x : x + patch] += 1
    return (total / count).astype(np.float32)


def agreement(map_a: np.ndarray, map_b: np.ndarray, top: float = 0.2) -> float:
    """Overlap of two heat maps' hottest pixels: intersection over union of each map's top ``top`` fraction.

    1.0: both maps pick the same pixels (a map and itself); 0.0: no pixel in common. Two random maps score
    about top / (2 - top), 0.11 for the top 20%. Only the ranking of the pixels counts, not the values, so a
    Grad-CAM map and an occlusion map can be compared although their scales differ. (lesson 09 §4)
    """
    a, b = np.asarray(map_a, dtype=np.float64).ravel(), np.asarray(map_b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"the maps differ in size: {np.shape(map_a)} and {np.shape(map_b)}")
    k = max(1, int(round(top * a.size)))
    hot_a, hot_b = np.zeros(a.size, bool), np.zeros(a.size, bool)
    hot_a[np.argsort(-a, kind="stable")[:k]] = True  # the k hottest pixels (ties: the first ones)
    hot_b[np.argsort(-b, kind="stable")[:k]] = True
    return float((hot_a & hot_b).sum() / (hot_a | hot_b).sum())


def heat_share(heat: np.ndarray, top: float = 0.1) -> float:
    """The share of a heat map's total heat in its hottest ``top`` fraction of pixels, 0 for no heat (lesson 09 §4)."""
    values = np.sort(np.asarray(heat, dtype=np.float64).ravel())[::-1]
    total = float(values.sum())
    k = max(1, int(round(top * values.size)))
    return float(values[:k].sum() / total) if total > 0 else 0.0


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.45, cmap: str = "jet") -> np.ndarray:
    """An RGB image (H, W, 3) in [0, 1] with the heat map drawn over it in colour (scaled to its maximum) (lesson 09
    §4)."""
    image = np.asarray(image)
    image = image / 255.0 if image.dtype == np.uint8 else image.astype(np.float32)  # uint8 0..255 -> [0, 1]
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)  # greyscale -> RGB
    heat = np.clip(np.asarray(heat, dtype=np.float32), 0.0, None)
    if heat.shape != image.shape[:2]:
        heat = tf.image.resize(heat[..., None], image.shape[:2]).numpy()[..., 0]
    heat = heat / heat.max() if heat.max() > 0 else heat
    colours = matplotlib.colormaps[cmap](heat)[..., :3]
    return ((1 - alpha) * image + alpha * colours).astype(np.float32)


# Helpers of the functions above


def _conv_layer_names(model: keras.Model) -> list[str]:
    """conv_layers(model), or a ValueError that says what to do when there is none."""
    names = conv_layers(model)
    if not names:
        raise ValueError(
            f"model {model.name!r} has no Conv2D layer, so there are no feature maps to explain: "
            "pass a CNN, or name a layer with (h, w, channels) outputs as layer_name=..."
        )
    return names


def _rectified(model: keras.Model, name: str) -> str:
    """The layer Grad-CAM reads for layer ``name``: after a convolution with a linear output, the activation layer
    that follows it (BatchNormalization in between allowed); any other layer as it is."""
    flat = flat_layers(model)
    at = next((i for i, layer in enumerate(flat) if layer.name == name), None)
    if at is None or not isinstance(flat[at], CONV_LAYERS) or flat[at].get_config()["activation"] != "linear":
        return name  # unknown names are reported by _probe
    for layer in flat[at + 1 :]:
        if isinstance(layer, ACTIVATIONS) and not _is_softmax(layer):
            return layer.name
        if not isinstance(layer, layers.BatchNormalization):
            break
    return name


def _classes(class_index: int | np.ndarray | None, scores: np.ndarray) -> np.ndarray:
    """One class per image: the highest score, or the given int (for all) or ints (one per image)."""
    n, num_classes = scores.shape
    classes = scores.argmax(axis=1) if class_index is None else np.broadcast_to(np.asarray(class_index), (n,))
    if not np.all((classes >= 0) & (classes < num_classes)):
        raise ValueError(f"class_index must lie in 0..{num_classes - 1}, got {class_index}")
    return classes.astype(np.int32)


def _starts(size: int, patch: int, stride: int) -> list[int]:
    """Where a patch starts along one side, every ``stride`` pixels, the last one flush with the edge."""
    if not 0 < patch <= size:
        raise ValueError(f"patch must be between 1 and the image size {size}, got {patch}")
    return sorted(set(range(0, size - patch + 1, stride)) | {size - patch})


def _probe(model: keras.Model, layer_names: list[str]) -> keras.Model:
    """A functional model: images -> {name: that layer's output, ..., SCORES: class scores before any softmax}.

    The layers are called one by one on a new keras.Input (nested models opened), so every layer's output is a
    tensor of ONE new graph. The keras-io recipe keras.Model(model.inputs, [layer.output, model.output]) fails in
    Keras 3 on Sequential models ("The layer sequential has never been called and thus has no defined output",
    keras-team/keras-io#1903) and on functional models built from layers that another model used first.
    """
    outputs = {}  # layer name -> its output in the new graph (nested models too)
    last = []  # the last plain layer called, and its input: the one that computes the model's output

    def call(layer, *args, **kwargs):
        if isinstance(layer, keras.Sequential):  # its layers one after the other
            output = args[0]
            for inner in layer.layers:
                output = call(inner, output)
        elif isinstance(layer, keras.Model):  # functional: Keras replays its graph, calling each layer through `call`
            x = [args[0]] if isinstance(layer.input, list) else args[0]
            replay = keras.models.clone_model(
                layer, input_tensors=x, clone_function=lambda same: same, call_function=call
            )
            output = replay.output
        else:
            output = layer(*args, **kwargs)
            last[:] = [layer, args[0]]
        outputs[layer.name] = output
        return output

    inputs = keras.Input(shape=model.input_shape[1:])
    scores = call(model, inputs)
    unknown = [name for name in layer_names if name not in outputs]
    if unknown:
        raise ValueError(f"model {model.name!r} has no layer {unknown[0]!r}; its conv layers: {conv_layers(model)}")
    final_layer, final_input = last
    if _is_softmax(final_layer):
        scores = _logits(final_layer, final_input)
    return keras.Model(inputs, {**{name: outputs[name] for name in layer_names}, SCORES: scores})


def _is_softmax(layer: keras.Layer) -> bool:
    """Whether a layer ends in softmax: Softmax(), Activation("softmax") or, e.g., Dense(activation="softmax")."""
    activation = getattr(layer, "activation", None)
    return isinstance(layer, layers.Softmax) or getattr(activation, "__name__", "") == "softmax"


def _logits(layer: keras.Layer, x: keras.KerasTensor) -> keras.KerasTensor:
    """The class scores that a final softmax layer turns into probabilities, for the layer's input x."""
    if not layer.weights:  # Softmax() or Activation("softmax"): the scores are what goes in
        return x
    twin = layer.__class__.from_config({**layer.get_config(), "activation": "linear", "name": f"{layer.name}_logits"})
    scores = twin(x)  # e.g. a Dense layer like the last one, without its softmax
    twin.set_weights(layer.get_weights())
    return scores
