"""Each figure helper draws what it says, on small made-up inputs."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from cifar_course import plots  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_show_images_titles_predictions():
    images = np.zeros((3, 4, 4, 3), np.uint8)
    fig = plots.show_images(
        images, [0, 1, 1], ["a", "b"], n_rows=1, n_cols=4, predictions=[0, 0, 1], probabilities=[0.9, 0.6, 0.7]
    )
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:3] == ["true: a\npred: a (0.90)", "true: b\npred: a (0.60)", "true: b\npred: b (0.70)"]
    assert fig.axes[1].title.get_color() == "red" and fig.axes[0].title.get_color() == "green"
    assert titles[3] == ""  # more cells than images: left empty


def test_curves():
    hist = {"loss": [2, 1], "val_loss": [2.1, 1.5], "accuracy": [0.3, 0.6], "val_accuracy": [0.3, 0.5]}
    fig = plots.plot_history(hist, "M3")
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2
    fig = plots.compare_histories({"M1": hist, "M3": {"val_accuracy": [0.1, 0.2, 0.3]}})
    assert [line.get_label() for line in fig.axes[0].lines] == ["M1", "M3"]
    assert len(fig.axes[0].lines[1].get_xdata()) == 3


def test_bar_chart_and_grouped_bars():
    fig = plots.bar_chart(["cat", "dog"], [0.5, 0.75], fmt="{:.2f}")
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.50", "0.75"]
    table = pd.DataFrame({"this course": [0.7, np.nan], "reference": [0.75, 0.79]}, index=["M3", "M4"])
    fig = plots.grouped_bars(table, "accuracy")
    assert len(fig.axes[0].patches) == 4
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.70", "", "0.75", "0.79"]  # no label for a missing value


def test_confusion_heatmap_counts_and_normalised():
    m = np.array([[3, 1], [0, 4]])
    fig = plots.confusion_heatmap(m, ["cat", "dog"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["3", "1", "0", "4"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog"]
    fig = plots.confusion_heatmap(m, ["cat", "dog"], normalize=True)
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.75", "0.25", "0.00", "1.00"]


def test_reliability_diagram_skips_empty_bins():
    fig = plots.reliability_diagram([0, 0.55, 0.9], [0, 1.0, 0.8], [0, 2, 5])
    model_line = fig.axes[0].lines[1]
    assert list(model_line.get_xdata()) == [0.55, 0.9]


def test_filters_and_feature_maps():
    kernel = np.random.default_rng(0).normal(size=(3, 3, 3, 10))
    fig = plots.show_filters(kernel, n=10, n_cols=4)
    assert len(fig.axes) == 12 and sum(bool(ax.images) for ax in fig.axes) == 10
    maps = {"block1": np.random.rand(8, 8, 6), "block2": np.random.rand(4, 4, 12)}
    fig = plots.show_feature_maps(np.zeros((8, 8, 3)), maps, n_channels=4)
    assert len(fig.axes) == 2 * 5
    assert fig.axes[6].get_title().startswith("block2\n4x4")


def whole_ticks(ax) -> list[float]:
    """The x ticks that fall inside the axis, after drawing (so the locator has run)."""
    ax.figure.canvas.draw()
    lo, hi = ax.get_xlim()
    return [t for t in ax.get_xticks() if lo <= t <= hi]


def test_one_epoch_curves_show_a_point_at_epoch_1():
    one = {"loss": [0.3], "val_loss": [0.2], "accuracy": [0.9], "val_accuracy": [0.95]}  # lesson 02's MNIST, quick
    for fig in (plots.plot_history(one), plots.compare_histories({"R4": one})):
        for ax in fig.axes:
            assert whole_ticks(ax) == [1.0]  # not 0.945, 0.960, ... 1.050
            assert all(line.get_marker() == "o" for line in ax.lines)  # one epoch: a visible point, not a line
    many = {"loss": list(np.linspace(2, 1, 12)), "accuracy": list(np.linspace(0.2, 0.6, 12))}
    ticks = whole_ticks(plots.plot_history(many).axes[0])
    assert len(ticks) >= 3 and all(float(t).is_integer() for t in ticks)


@pytest.mark.parametrize("n", [3, 13, 25])
def test_compare_histories_gives_every_series_its_own_colour(n):
    histories = {f"step {i}": {"val_accuracy": [0.1 + 0.01 * i, 0.2 + 0.01 * i]} for i in range(n)}
    fig = plots.compare_histories(histories)
    ax = fig.axes[0]
    colours = {matplotlib.colors.to_hex(line.get_color()) for line in ax.lines}
    assert len(ax.lines) == n and len(colours) == n  # lesson 07's 13 steps: step 12 is not step 0's blue again
    fig.canvas.draw()
    legend, frame = ax.get_legend().get_window_extent(), ax.get_window_extent()
    if n > 6:  # many series: the legend sits beside the axes, over no curve
        assert legend.x0 >= frame.x1 and legend.x1 <= fig.bbox.x1 + 1
    else:
        assert frame.contains(legend.x0, legend.y0) and frame.contains(legend.x1, legend.y1)


def test_show_filters_draws_a_brightness_filter_grey_and_keeps_colours():
    kernel = np.zeros((2, 2, 3, 4))
    kernel[..., 0] = [0.35, 0.36, 0.38]  # lesson 07's first whitening filter: overall brightness
    kernel[..., 1] = -kernel[..., 0]  # its negative copy
    kernel[..., 2] = [1.0, 0.0, -1.0]  # more red, less blue
    kernel[0, 0, :, 3] = [0.2, 0.2, 0.2]  # one bright pixel, zeros elsewhere
    fig = plots.show_filters(kernel, n=4, n_cols=4)
    tiles = [np.asarray(ax.images[0].get_array()) for ax in fig.axes[:4]]
    assert np.ptp(tiles[0], axis=-1).max() < 0.05 and tiles[0].min() > 0.9  # white-ish, not saturated blue
    assert np.ptp(tiles[1], axis=-1).max() < 0.05 and tiles[1].max() < 0.1  # black-ish
    assert np.allclose(tiles[2][0, 0], [1.0, 0.5, 0.0])  # 0 is grey (0.5); channels keep their signs and ratios
    assert np.allclose(tiles[3][1, 1], 0.5) and np.allclose(tiles[3][0, 0], 1.0)
    gray = plots.show_filters(np.random.default_rng(0).normal(size=(3, 3, 1, 2)), n=2, n_cols=2)  # one channel
    assert gray.axes[0].images[0].get_array().ndim == 2


def test_range_test_marks_the_suggested_and_the_hand_chosen_peak():
    lrs = np.geomspace(1e-5, 1, 20)
    losses = 2.3 - np.linspace(0, 1, 20) + np.linspace(0, 1, 20) ** 6
    fig = plots.range_test(lrs, losses, 0.01, smoothed=losses, hand=0.004)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[-2:] == ["suggested peak 0.01", "chosen by hand 0.004"] and ax.get_xscale() == "log"
