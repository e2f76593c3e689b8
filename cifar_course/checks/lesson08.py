"""Checks for lesson 08, architecture: a separable convolution's parameters, a residual block with a projection."""

from __future__ import annotations

from ._core import CheckFailed, answered, ok, plain, shown, whole_number


def check_separable_params(answer, in_channels: int, filters: int, kernel_size: int = 3) -> None:
    """Parameters of ``SeparableConv2D(filters, kernel_size)`` on ``in_channels`` channels: one k x k filter per
    input channel, a 1x1 convolution to ``filters`` channels, one bias per output channel (lesson 08 §4)."""
    if not answered(answer, "separable_params"):
        return
    answer = whole_number(answer, "separable_params")
    k2, c_in, c_out = kernel_size * kernel_size, in_channels, filters
    depthwise, pointwise = k2 * c_in, c_in * c_out
    expected = depthwise + pointwise + c_out
    if answer == expected:
        return ok(
            f"{k2} x {c_in} depthwise weights + {c_in} x {c_out} pointwise weights + {c_out} biases = {expected:,}, "
            f"against {k2 * c_in * c_out + c_out:,} for a Conv2D({c_out}, {kernel_size}) on the same input."
        )
    hints = {
        k2 * c_in * c_out + c_out: "that is a full Conv2D's count: a separable convolution never lets one filter "
        "see every input channel at every position. Split it into its two steps and count each.",
        depthwise + pointwise: "the weights are right; add the biases (one per output channel).",
        depthwise + pointwise + c_out + c_in: "only the pointwise step has biases in Keras's SeparableConv2D: the "
        "depthwise step's output goes straight into it.",
        k2 * c_in * c_out + pointwise + c_out: "the depthwise step has one k x k filter per *input* channel, not one "
        "per input and output channel.",
        pointwise + c_out: "that is the 1x1 (pointwise) step alone; add the depthwise step's k x k filters.",
        depthwise: "that is the depthwise step alone; add the 1x1 (pointwise) step and its biases.",
        depthwise + c_in: "that is a DepthwiseConv2D alone; add the 1x1 (pointwise) step and its biases.",
    }
    raise CheckFailed(
        hints.get(answer)
        or f"{answer:,} is not it. Count the two steps: the depthwise step (a k x k filter per input channel, no "
        "bias), the pointwise step (a 1x1 convolution from the input channels to the filters), then one bias per "
        "output channel."
    )


def _shape(value) -> tuple:
    """An answered shape as a tuple of ints (None kept), or CheckFailed."""
    if not isinstance(value, (tuple, list)):
        raise CheckFailed(f"block_shape: give a tuple (height, width, channels), not {shown(value)}.")
    parts = [plain(v) for v in value]
    if any(v is not None and (not isinstance(v, int) or isinstance(v, bool)) for v in parts):
        raise CheckFailed(f"block_shape: give whole numbers, e.g. (32, 32, 16), not {shown(value)}.")
    return tuple(parts)


def check_residual_block(block_shape, block_params, input_shape, filters: int, stride: int) -> None:
    """The output shape (height, width, channels) and parameter count of ``cc.models.residual_block`` on a
    ``input_shape`` input (height, width, channels): two 3x3 convolutions without bias, three batch normalizations
    with a projection shortcut, two without one (lesson 08 §5)."""
    if not (answered(block_shape, "block_shape") and answered(block_params, "block_params")):
        return
    shape = _shape(block_shape)
    height, width, c_in = (int(v) for v in input_shape)
    out = (-(-height // stride), -(-width // stride), filters)  # 'same' padding: ceil(size / stride)
    if len(shape) == 4 and shape[0] is None:
        raise CheckFailed("block_shape: leave out the batch dimension (None); give (height, width, channels).")
    if len(shape) != 3:
        raise CheckFailed(f"block_shape: give three numbers, (height, width, channels), not {len(shape)}.")
    if shape != out:
        if shape[2] != filters:
            raise CheckFailed("block_shape has the wrong number of channels: both branches end with `filters` maps.")
        if stride > 1 and shape[:2] == (height, width):
            raise CheckFailed(f"block_shape: the first convolution has stride {stride}; what does that do to the size?")
        raise CheckFailed(
            "block_shape: with padding='same', a convolution with stride s gives ceil(size / s) rows and columns."
        )
    projection = stride != 1 or c_in != filters
    convs = 9 * c_in * filters + 9 * filters * filters
    norms = 4 * filters * (3 if projection else 2)
    shortcut = c_in * filters if projection else 0
    expected = convs + norms + shortcut
    block_params = whole_number(block_params, "block_params")
    if block_params == expected:
        kind = "a 1x1 projection" if projection else "the identity (no weights)"
        return ok(
            f"{shape}, and {expected:,} parameters: {convs:,} in the two 3x3 convolutions, {norms:,} in the batch "
            f"normalizations (4 per channel) and {shortcut:,} in the shortcut, {kind}."
        )
    hints = {
        expected - 2 * filters * (3 if projection else 2): "count_params() counts all 4 numbers per "
        "BatchNormalization channel, the moving mean and variance too.",
        expected - norms: "add the BatchNormalization layers: 4 numbers per channel, one after each convolution.",
        expected + 2 * filters + (filters if projection else 0): "the convolutions have no biases "
        "(use_bias=False): BatchNormalization's shift does that job.",
    }
    if projection:
        hints[expected - shortcut - 4 * filters] = (
            "the shortcut needs weights here: x and F(x) differ in shape, so x goes through a 1x1 convolution and a "
            "BatchNormalization before the sum."
        )
        hints[expected + 8 * c_in * filters] = "the projection is a 1x1 convolution, not a 3x3 one."
    else:
        hints[expected + c_in * filters + 4 * filters] = (
            "x already has F(x)'s shape here, so the shortcut is x itself: no projection, no weights."
        )
    if c_in != filters:
        hints[expected + 9 * c_in * filters - 9 * filters * filters] = (
            "the second 3x3 convolution takes the first one's output, `filters` channels, not the block's input."
        )
    raise CheckFailed(
        hints.get(block_params)
        or f"block_params: {block_params:,} is not it. Count F (two 3x3 convolutions without bias, each followed by "
        "a BatchNormalization with 4 numbers per channel), then the shortcut: a 1x1 convolution and a "
        "BatchNormalization when the shape changes, nothing otherwise."
    )
