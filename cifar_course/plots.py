"""Figures the lessons show: image grids, learning curves, bar charts, heatmaps."""

from __future__ import annotations

import os
import sys

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator


def show_images(
    images,
    labels,
    class_names,
    n_rows: int = 5,
    n_cols: int = 5,
    predictions=None,
    probabilities=None,
    title: str | None = None,
):
    """A grid of images titled with their class (and prediction/probability when given) (lesson 01 §2)."""
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.9 * n_cols, 2.1 * n_rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(images):
            continue
        img = images[i]
        ax.imshow(img.squeeze(), cmap="gray" if img.shape[-1] == 1 else None)
        text = class_names[int(labels[i])]
        if predictions is not None:
            pred = int(predictions[i])
            text = f"true: {text}\npred: {class_names[pred]}"
            if probabilities is not None:
                text += f" ({float(probabilities[i]):.2f})"
            ax.set_title(text, fontsize=8, color="green" if pred == int(labels[i]) else "red")
        else:
            ax.set_title(text, fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def live_notebook() -> bool:
    """True when a person has this notebook open in JupyterLab, Jupyter Notebook or Colab; False when a tool runs it
    (nbval, ``cifar-course run``, the book) or in a script, where a server such as TensorBoard's would outlive the run
    and show nobody anything (lesson 02 §10)."""
    if "google.colab" in sys.modules:
        return True
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    # Jupyter's server names the notebook of every kernel it starts for a person ($JPY_SESSION_NAME); the tools
    # start their kernels themselves (nbclient), without it.
    return type(shell).__name__ == "ZMQInteractiveShell" and bool(os.environ.get("JPY_SESSION_NAME"))


def _epoch_axis(ax, n_epochs: int) -> None:
    """Label the x axis "epoch" with whole-number ticks only; a single epoch gets a one-epoch-wide axis around it."""
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # min_n_ticks=1: no 0.945, 0.96, ...
    if n_epochs <= 1:
        ax.set_xlim(0.5, 1.5)


def plot_history(history, title: str = ""):
    """Accuracy and loss curves, training against validation (lesson 02 §10)."""
    hist = getattr(history, "history", history)
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
    epochs = np.arange(1, len(hist["loss"]) + 1)
    for ax, key in ((ax_acc, "accuracy"), (ax_loss, "loss")):
        ax.plot(epochs, hist[key], "o-", label="training")
        if f"val_{key}" in hist:
            ax.plot(epochs, hist[f"val_{key}"], "o-", label="validation")
        _epoch_axis(ax, len(epochs))
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _series_styles(n: int) -> list[dict]:
    """Colours and line styles for ``n`` curves, no two colours alike (tab10, tab20's light shades, then turbo)."""
    if n <= 10:
        return [{"color": plt.get_cmap("tab10")(i), "linestyle": "-"} for i in range(n)]
    if n <= 20:
        tab20 = plt.get_cmap("tab20")  # even entries are tab10's colours, odd ones their lighter shades
        return [{"color": tab20(2 * i), "linestyle": "-"} for i in range(10)] + [
            {"color": tab20(2 * i + 1), "linestyle": "--"} for i in range(n - 10)
        ]
    return [{"color": plt.get_cmap("turbo")(i / (n - 1)), "linestyle": ("-", "--", ":")[i % 3]} for i in range(n)]


def compare_histories(histories: dict, key: str = "val_accuracy", title: str = ""):
    """One curve per run for one metric (e.g. validation accuracy of M1, M2, M3); past 6 the legend goes outside
    (lesson 03 §7)."""
    many = len(histories) > 6
    fig, ax = plt.subplots(figsize=(10, 4.5) if many else (7, 4))
    n_epochs = 0
    for (name, history), style in zip(histories.items(), _series_styles(len(histories))):
        values = getattr(history, "history", history)[key]
        n_epochs = max(n_epochs, len(values))
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", label=name, **style)
    _epoch_axis(ax, n_epochs)
    ax.set_title(title)
    ax.set_ylabel(key.replace("_", " "))
    ax.grid(alpha=0.3)
    if many:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    else:
        ax.legend()
    fig.tight_layout()
    return fig


def bar_chart(names, values, title: str = "", ylabel: str = "", fmt: str = "{:.0f}"):
    """A labelled bar chart (class counts, per-class accuracy, model comparison) (lesson 01 §5)."""
    fig, ax = plt.subplots(figsize=(max(6, 0.7 * len(names)), 4))
    bars = ax.bar([str(n) for n in names], values, color="tab:blue")
    ax.bar_label(bars, labels=[fmt.format(v) for v in values], fontsize=8)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    return fig


def confusion_heatmap(matrix, class_names, normalize: bool = False, title: str = "Confusion matrix"):
    """A seaborn heatmap of a confusion matrix with class names on both axes (lesson 06 §4)."""
    import seaborn as sns

    matrix = np.asarray(matrix, dtype=float)
    if normalize:
        matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(8, 6.5))
    sns.heatmap(
        matrix,
        annot=True,
        fmt=".2f" if normalize else ".0f",
        cmap="Blues",
        xticklabels=class_names,
        yticklabels=class_names,
        ax=ax,
        cbar=False,
    )
    ax.set_xlabel("predicted class")
    ax.set_ylabel("actual class")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def reliability_diagram(bin_confidence, bin_accuracy, bin_count, title: str = "Reliability diagram"):
    """Confidence against accuracy per bin (calibrated = on the diagonal), with how many images each bin holds
    (lesson 06 §9)."""
    fig, (ax, ax_count) = plt.subplots(2, 1, figsize=(5, 6.2), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot([0, 1], [0, 1], "--", color="gray", label="perfectly calibrated")
    keep = np.asarray(bin_count) > 0
    ax.plot(np.asarray(bin_confidence)[keep], np.asarray(bin_accuracy)[keep], "o-", label="model")
    ax.set_ylabel("fraction correct")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    ax.set_title(title)
    n_bins = len(bin_count)
    ax_count.bar((np.arange(n_bins) + 0.5) / n_bins, bin_count, width=0.9 / n_bins, color="tab:gray")
    ax_count.set_xlabel("predicted probability (confidence)")
    ax_count.set_ylabel("images")
    fig.tight_layout()
    return fig


def _filter_tile(f) -> np.ndarray:
    """A filter as a tile in [0, 1]: 0 is grey, the largest absolute weight white (+) or black (-), in every channel."""
    f = np.asarray(f, dtype=np.float64)
    return 0.5 + 0.5 * f / max(float(np.abs(f).max()), 1e-12)


def show_filters(kernel, n: int = 32, n_cols: int = 8, title: str = "First-layer filters"):
    """Filters (kh, kw, channels, n) as tiles, each over its own largest |weight|, one scale for all its channels
    (lesson 05 §6)."""
    kernel = np.asarray(kernel)
    n = min(n, kernel.shape[-1])
    n_rows = int(np.ceil(n / n_cols))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.1 * n_cols, 1.1 * n_rows + 0.4), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            tile = _filter_tile(kernel[..., i])
            tile = tile[..., 0] if tile.shape[-1] == 1 else tile  # one input channel (MNIST): a grey tile
            ax.imshow(tile, cmap="gray", vmin=0, vmax=1, interpolation="nearest")  # cmap: for grey tiles only
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_feature_maps(image, maps: dict, n_channels: int = 8):
    """One image, then a few channels of each layer's activation map for it (one row per layer) (lesson 05 §6)."""
    fig, axes = plt.subplots(
        len(maps), n_channels + 1, figsize=(1.3 * (n_channels + 1), 1.5 * len(maps)), squeeze=False
    )
    for row, (name, fmap) in zip(axes, maps.items()):
        row[0].imshow(np.asarray(image).squeeze())
        row[0].set_title("input", fontsize=8)
        strongest = np.argsort(-np.asarray(fmap).mean(axis=(0, 1)), kind="stable")[:n_channels]
        for ax, c in zip(row[1:], strongest):
            ax.imshow(fmap[..., c], cmap="viridis")
            ax.set_title(f"{name}\n{fmap.shape[0]}x{fmap.shape[1]} ch {c}", fontsize=7)
        for ax in row:
            ax.axis("off")
    fig.tight_layout()
    return fig


def grouped_bars(table, title: str = "", ylabel: str = "", fmt: str = "{:.2f}"):
    """Side-by-side bars for each row of a DataFrame (e.g. each model: the course against the reference) (lesson 06
    §10)."""
    ax = table.plot.bar(figsize=(max(6, 1.4 * len(table)), 4), rot=0, width=0.8)
    for bars in ax.containers:
        ax.bar_label(bars, labels=[fmt.format(v) if np.isfinite(v) and v else "" for v in bars.datavalues], fontsize=7)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=len(table.columns), frameon=False)
    ax.figure.tight_layout()
    return ax.figure


def race_gains(table, title: str, references: dict[str, float] | None = None):
    """A race's table (``cc.race.step_table``) as two bar charts: each step's test accuracy (rows recorded elsewhere
    hatched) and its gain over the step before, with ``references`` as dashed lines in percent (lesson 07 §12)."""
    labels = [f"{s}: {a}" for s, a in zip(table.index, table["adds"])]
    recorded = table["source"].ne("your run").to_numpy()
    fig, (ax_acc, ax_gain) = plt.subplots(1, 2, figsize=(13, 4.2))
    bars = ax_acc.bar(labels, 100 * table["test accuracy"], color=np.where(recorded, "lightgray", "tab:blue"))
    for bar, hatched in zip(bars, recorded):
        bar.set_hatch("//" if hatched else "")
    ax_acc.bar_label(bars, fmt="%.1f", fontsize=8)
    for name, value in (references or {}).items():
        ax_acc.axhline(value, ls="--", lw=1, color="gray")
        ax_acc.text(-0.4, value + 0.5, name, fontsize=7, color="gray")
    ax_acc.set_ylabel("test accuracy (%)")
    ax_acc.set_title(title + ("; hatched: the recorded full run" if recorded.any() else ""))
    gains = table["gain (points)"].fillna(0)
    bars = ax_gain.bar(labels, gains, color=["tab:green" if g >= 0 else "tab:red" for g in gains])
    ax_gain.bar_label(bars, fmt="%+.1f", fontsize=8)
    ax_gain.axhline(0, color="black", lw=0.8)
    ax_gain.set_ylabel("gain over the previous step (points)")
    ax_gain.set_title("What each step added (within one source)")
    for ax in (ax_acc, ax_gain):
        ax.tick_params(axis="x", rotation=35, labelsize=8)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    fig.tight_layout()
    return fig


def range_test(lrs, losses, peak: float, smoothed=None, hand: float | None = None, title: str = ""):
    """A learning-rate range test's loss against the rate (log scale), smoothed, with the chosen ``peak`` and a
    peak chosen by ``hand`` as lines (lesson 07 §7)."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.semilogx(lrs, losses, marker=".", alpha=0.5, label="loss, one batch per rate")
    if smoothed is not None:
        ax.semilogx(lrs, smoothed, color="tab:blue", label="smoothed")
        lowest = lrs[int(np.nanargmin(smoothed))]
        ax.axvline(lowest, ls=":", color="gray", label=f"smoothed lowest {lowest:.2g}")
    ax.axvline(peak, ls="--", color="tab:green", label=f"suggested peak {peak:.2g}")
    if hand is not None:
        ax.axvline(hand, ls="-.", color="tab:orange", label=f"chosen by hand {hand:.2g}")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training loss")
    ax.set_title(title or "Learning-rate range test: one step per learning rate")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig
