"""The comparison report of every saved run next to the reference numbers: Markdown and a bar chart."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..reference import REFERENCE, reference_for
from ..runs import RunRecord


def markdown_table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table (pipes inside cells escaped, None shown as '-')."""

    def cell(value) -> str:
        text = "-" if value is None else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _pct(value) -> str:
    return "-" if value is None else f"{100 * float(value):.1f}%"


def data_kind(run: RunRecord) -> str:
    """A short name for where a run's images came from ('JPEG copy' only for CIFAR-10's JPEG copy)."""
    kind = run.source_kind  # "JPEG image folder", "official archive", "download", "image folder", ...
    if run.synthetic:
        return "SYNTHETIC"
    if kind.startswith("JPEG"):
        return "JPEG copy" if run.on_cifar10 else "JPEG image folder"
    if kind.startswith("official") or kind == "download" or "Keras" in kind:
        return "official"
    return kind


def data_text(run: RunRecord) -> str:
    """The data column: 'JPEG copy' for CIFAR-10, else the data set too ('mnist, image folder', 'own data, ...')."""
    kind = data_kind(run)
    return kind if run.on_cifar10 or run.synthetic else f"{run.data_label}, {kind}"


def _reference_text(ref: dict | None) -> tuple[str, str]:
    if ref is None:
        return "-", "-"
    reported = []
    if ref["reported_test"] is not None:
        reported.append(f"{_pct(ref['reported_test'])} test")
    if ref["reported_val"] is not None:
        reported.append(f"{_pct(ref['reported_val'])} val")
    measured = "-"
    if ref["measured_jpeg_test"] is not None:
        measured = f"{_pct(ref['measured_jpeg_test'])} test, {ref['measured_seconds']} s"
    return ", ".join(reported) or "-", measured


def _per_epoch(run: RunRecord) -> str | None:
    return f"{run.train_seconds / run.epochs:.1f}" if run.epochs > 0 and run.train_seconds > 0 else None


def _size_and_speed(r: RunRecord) -> list:
    return [
        f"{r.params:,}" if r.params is not None else None,
        r.epochs,
        r.train_seconds,
        _per_epoch(r),
        f"{r.images_per_second:,.0f}" if r.images_per_second is not None else None,
        r.precision or None,
        _pct(r.val_accuracy),
        _pct(r.test_accuracy),
    ]


def run_rows(runs: list[RunRecord]) -> list[list]:
    """One table row per saved run, with the reference numbers beside it where it is comparable with them."""
    return [
        [
            r.name,
            r.lesson,
            r.model,
            *_size_and_speed(r),
            data_text(r),
            r.profile,
            r.machine or None,
            *_reference_text(reference_for(r.model) if r.comparable else None),
        ]
        for r in runs
    ]


SIZE_AND_SPEED = ["params", "epochs", "train time (s)", "s/epoch", "images/s", "precision", "val acc", "test acc"]
RUN_HEADERS = [
    "run",
    "lesson",
    "model",
    *SIZE_AND_SPEED,
    "data",
    "profile",
    "machine",
    "reference (published)",
    "reference (JPEG copy, 2 cores)",
]


def other_rows(runs: list[RunRecord]) -> list[list]:
    """One table row per run not comparable with the reference numbers, with its real data and why."""
    return [
        [
            r.name,
            r.lesson,
            r.model,
            *_size_and_speed(r),
            r.data_label,
            data_kind(r),
            r.weights_kind or "-",
            r.profile,
            "; ".join(r.why_not_comparable),
        ]
        for r in runs
    ]


OTHER_HEADERS = [
    "run",
    "lesson",
    "model",
    *SIZE_AND_SPEED,
    "data set",
    "data",
    "weights",
    "profile",
    "not compared because",
]


def latest_only(runs: list[RunRecord]) -> list[RunRecord]:
    """Keep the newest run of each (lesson, model, profile, data, weights) combination."""
    newest = {}
    for r in runs:  # oldest first, so later ones win
        newest[(r.lesson, r.model, r.profile, data_text(r), r.weights_kind)] = r
    return sorted(newest.values(), key=lambda r: r.date)


def reference_rows() -> list[list]:
    return [
        [
            ref["model"],
            ref["lesson"],
            f"{ref['params']:,}" if ref["params"] else "-",
            ref["epochs"],
            _pct(ref["reported_test"]),
            _pct(ref["reported_val"]),
            _pct(ref["measured_jpeg_test"]),
            ref["measured_seconds"],
        ]
        for ref in REFERENCE
    ]


def bar_chart(runs: list[RunRecord], path: Path) -> Path:
    """Horizontal bars: each run's test accuracy, with the reference numbers beside the runs comparable with them."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # no pyplot: works whatever backend is in force (Agg canvas)

    labels = [f"{r.model} ({r.profile}, {data_text(r)}, {r.date[:16]})" for r in runs]
    values = [r.test_accuracy for r in runs]
    fig = Figure(figsize=(9, 1.6 + 0.45 * max(len(runs), 1)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    y = list(range(len(runs)))
    colors = ["#4c72b0" if r.comparable else "#bbbbbb" for r in runs]
    ax.barh(y, values, color=colors, height=0.6, label="this run: test accuracy")
    shown = set()
    for i, r in enumerate(runs):
        inside = values[i] > 0.15
        ax.text(
            values[i] - 0.01 if inside else values[i] + 0.01,
            i,
            f"{100 * values[i]:.1f}%",
            va="center",
            ha="right" if inside else "left",
            fontsize=8,
            color="white" if inside else "black",
        )
        ref = reference_for(r.model) if r.comparable else None
        if ref is None:
            continue
        published = ref["reported_test"] if ref["reported_test"] is not None else ref["reported_val"]
        for value, marker, color, name in (
            (published, "|", "black", "reference, published (test; val where only val is published)"),
            (ref["measured_jpeg_test"], "|", "#dd8452", "reference code, JPEG copy, 2 cores"),
        ):
            if value is not None:
                ax.plot(
                    [value],
                    [i],
                    marker=marker,
                    markersize=18,
                    markeredgewidth=3,
                    color=color,
                    linestyle="none",
                    label=None if name in shown else name,
                )
                shown.add(name)
    if not runs:
        ax.text(0.5, 0, "no saved run on real CIFAR-10 to compare", ha="center", va="center")
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("test accuracy (grey bars: other data, synthetic data or RANDOM weights: no reference to compare)")
    ax.grid(axis="x", alpha=0.3)
    if runs:
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.5 / max(len(runs), 1) - 0.12), ncol=2, fontsize=8, frameon=False
        )
    ax.set_title("Saved CIFAR-10 runs against the reference numbers")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path


def write_report(runs: list[RunRecord], out_dir: Path, runs_base: Path, command: str = "") -> tuple[Path, Path]:
    """Write report.md and report.png in ``out_dir``; returns their paths."""
    from ..runtime import machine, versions

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    compared = [r for r in runs if r.comparable]
    others = [r for r in runs if not r.comparable]
    png = bar_chart(compared, out_dir / "report.png")
    lines = [
        "# cifar-course: saved runs against the reference numbers",
        "",
        f"- Made: {dt.datetime.now().isoformat(timespec='seconds')}" + (f" by `{command}`" if command else ""),
        f"- Runs read from: {runs_base} ({len(runs)} run(s): {len(compared)} on CIFAR-10, {len(others)} other)",
        f"- This machine: {machine()}; " + ", ".join(f"{k} {v}" for k, v in versions().items()),
        "- Data: 'JPEG copy' = the JPEG-compressed CIFAR-10 copy (about a point below the official arrays); "
        "'official' = the official CIFAR files; 'SYNTHETIC' = smoke-test stand-ins (numbers mean nothing); "
        "'own data' = images whose classes are not the data set's (e.g. your own photos).",
        "",
        "## Saved runs on CIFAR-10",
        "",
        "Only runs on real CIFAR-10 (its 10 classes, not synthetic, no RANDOM weights) stand beside the reference "
        "numbers.",
        "",
        markdown_table(RUN_HEADERS, run_rows(compared)) if compared else "No saved run on real CIFAR-10.",
        "",
        f"![test accuracy of each CIFAR-10 run against the reference numbers]({png.name})",
        "",
    ]
    if others:
        lines += [
            "## Other data sets, synthetic data and random weights",
            "",
            "Not comparable with the CIFAR-10 reference numbers.",
            "",
            markdown_table(OTHER_HEADERS, other_rows(others)),
            "",
        ]
    lines += [
        "## Reference numbers (CIFAR-10)",
        "",
        "Published: the tutorials' numbers on the official arrays. Measured: the reference code as written, "
        "on the JPEG copy, 2 CPU cores (see cifar_course/reference.py).",
        "",
        markdown_table(
            [
                "model",
                "lesson",
                "params",
                "epochs",
                "published test",
                "published val",
                "measured test (JPEG)",
                "measured time (s)",
            ],
            reference_rows(),
        ),
        "",
        "## Data sources of the runs",
        "",
    ]
    lines += [f"- {r.name}: {r.data_label}, {r.raw.get('data_source', '?')}" for r in runs]
    md = out_dir / "report.md"
    md.write_text("\n".join(lines) + "\n")
    return md, png
