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
