"""No measured figure typed by hand: the pages quote results/*.json (issue 28).

(a) every generated block (``<!-- figures: NAME -->``, ``<!-- figure: NAME -->``) is up to date with results/;
(b) outside those blocks, README.md, docs/*.md, results/README.md and the notebooks' Markdown cells state no
    measured-looking figure (a percentage, a duration, a speed, a memory size) that results/*.json does not hold, that
    is not a reference number, and that the short list of non-measurements below does not name. The reference numbers
    are the accuracies in cifar_course/reference.py and the figures in the table rows of results/reference-models.md
    (a copy of ../shared/spec: the tutorials' reported accuracies, the reference code's accuracies and wall times),
    shown rounded or not; a number the spec only mentions in its prose is no reference number.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

from cifar_course.tools import figures

ROOT = Path(__file__).resolve().parents[1]

NUM = r"(\d[\d,]*(?:\.\d+)?)"
RANGE = NUM + r"(?:\s?(?:-|–|to)\s?" + NUM + r")?"
KINDS = {
    "percent": re.compile(RANGE + r"\s?%"),
    "duration": re.compile(RANGE + r"\s(s|sec|seconds?|min|minutes?|h|hours?)\b"),  # "mid-60s" is no duration
    "speed": re.compile(RANGE + r"\s?(img/s|images/s|images per second)"),
    "memory": re.compile(RANGE + r"\s?(GB|GiB|MB|MiB)\b"),
}

# Non-measurements that look like figures: (pattern on the line, reason). Keep it short.
ALLOWED = [
    (r"\b90 minutes\b|\b45 minutes\b|90-minute", "a class session's length, not a measurement"),
    (
        r"\b20% of each class\b|\b10% of (the|its) pixels\b|\b100%(?!\w)|(?<![\d.])0%(?!\w)",
        "a setting or an explanation",
    ),
    (r"(?<![\d.,])(50|10)%(?!\w)", "chance levels and fractions in explanations, not measurements"),
    (
        r"\b20% for validation|\(20% here\)|\b20% hottest|hottest 20% of|\(25%\) and before|\+ 25%\)",
        "settings: a validation share, a warm-up share, a map's hottest share, a dropout rate, a memory margin",
    ),
    (r"\b(30|60|120|600|900|1800|3600) s\b|\bTEST_MINUTES\b", "time limits and settings, not measurements"),
    (r"checks of one submission get \d+ s\b", "the grading sandbox's time for the checks (a setting: checker_s)"),
    (r"\d+% of (the|VGG16's|M3|its|the two)\b|holds \d+(\.\d+)?% of", "shares of parameters or steps: arithmetic"),
    (
        r"\| `(smoke|quick|full)` \| \d+ s \| [\d ]+(s|h) \| \d+ GB \||\b\d+ (GB|MB) of `/|over \d+ (GB|MB)\b",
        "the grading sandbox's limits (settings)",
    ),
    (r"\(59 MB\)|are 186 MB", "sizes of downloads named by their publishers"),
    (
        r"at least 9[01]% on the JPEG copy within 20 minutes of training",
        "the final model's targets (issue 30), not results",
    ),
]
ALLOWED_RE = [(re.compile(p), why) for p, why in ALLOWED]


def _kind_of_key(key: str) -> set[str]:
    k = key.lower()
    kinds = set()
    if any(w in k for w in ("second", "wall", "cpu_s", "minutes", "_s")) or k == "seconds":
        kinds.add("duration")
    if any(w in k for w in ("acc", "value", "slowdown", "ratio", "gap", "loss")):
        kinds.add("percent")
    if "images_per_second" in k or k == "median":
        kinds.add("speed")
    if any(w in k for w in ("mib", "gib", "rss", "memory")):
        kinds.add("memory")
    return kinds or {"percent", "duration", "speed", "memory"} if k in ("", "line") else kinds


def _collect() -> dict[str, list[tuple[float, str]]]:
    """Every number in results/*.json, tagged with what kind of figure it can back, and its unit."""
    held: dict[str, list[tuple[float, str]]] = {k: [] for k in KINDS}

    def from_text(text: str) -> None:
        for kind, rx in KINDS.items():
            for m in rx.finditer(text):
                unit = m.group(3) if kind in ("duration", "speed", "memory") else "%"
                for g in (1, 2):
                    if m.group(g):
                        held[kind].append((float(m.group(g).replace(",", "")), unit))
        for m in re.finditer(r"(?:accuracy|acc)[^\d]{0,12}(\d\.\d+)", text):
            held["percent"].append((float(m.group(1)), "fraction"))
        for m in re.finditer(r"images_per_second: (\d+(?:\.\d+)?)", text):
            held["speed"].append((float(m.group(1)), "images/s"))

    def walk(node, key: str = "") -> None:
        if isinstance(node, dict):
            if "started" in node and "finished" in node:
                try:
                    a, b = (datetime.fromisoformat(node[k]) for k in ("started", "finished"))
                    held["duration"].append(((b - a).total_seconds(), "s"))
                except (TypeError, ValueError):
                    pass
            if isinstance(node.get("lessons"), list):
                held["duration"].append((sum(x.get("seconds", 0) or 0 for x in node["lessons"]), "s"))
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, bool):
            return
        elif isinstance(node, (int, float)):
            k = key.lower()
            for kind in _kind_of_key(k):
                unit = {
                    "duration": "min" if "minute" in k else "s",
                    "percent": "fraction" if node <= 1 else "%",
                    "speed": "images/s",
                    "memory": "GiB" if "gib" in k else "MiB",
                }[kind]
                held[kind].append((float(node), unit))
        elif isinstance(node, str):
            from_text(node)

    for path in sorted((ROOT / "results").glob("*.json")):
        walk(json.loads(path.read_text()))
    return held


SPEC = ROOT / "results" / "reference-models.md"  # a copy of ../shared/spec/reference-models.md


def _table_rows(spec: str) -> str:
    """The spec's table rows, header and separator rows included (they hold no figure): the lines that start with |."""
    return "\n".join(line for line in spec.splitlines() if line.lstrip().startswith("|"))


def _reference(spec: str | None = None) -> dict[str, set[float]]:
    """The reference numbers: the accuracies of cifar_course/reference.py, and the percentages and seconds in the
    table rows of the spec (results/reference-models.md, the repository's copy, so a clone without ../shared reads
    the same numbers). Its prose (settings, asides, 'about 99%') backs nothing."""
    from cifar_course import reference

    accuracy_keys = ("reported_test", "reported_val", "measured_jpeg_test")
    percents = {round(r[k] * 100, 1) for r in reference.REFERENCE for k in accuracy_keys if r.get(k) is not None}
    seconds = {float(r["measured_seconds"]) for r in reference.REFERENCE if r.get("measured_seconds")}
    rows = _table_rows(SPEC.read_text() if spec is None else spec)
    percents |= {float(x) for x in re.findall(r"(\d+(?:\.\d+)?)\s?%", rows)}
    seconds |= {float(x) for x in re.findall(r"(\d+(?:\.\d+)?) s\b", rows)}
    return {"percent": percents, "duration": seconds}


HELD = _collect()
REFERENCE = _reference()


def _to_seconds(v: float, unit: str) -> float:
    u = unit.lower()
    return v * 3600 if u.startswith("h") else v * 60 if u.startswith("min") else v


def _matches(shown: float, decimals: int, candidates) -> bool:
    slack = 0.5 * 10**-decimals + 1e-9
    return any(abs(c - shown) <= slack for c in candidates)


def backed(kind: str, value: float, decimals: int, unit: str) -> bool:
    held = HELD[kind]
    if kind == "percent":
        measured = [v * 100 for v, u in held if u == "fraction"] + [v for v, u in held if u == "%"]
        return _matches(value, decimals, measured + sorted(REFERENCE["percent"]))
    if kind == "duration":
        secs = [_to_seconds(v, u) for v, u in held] + sorted(REFERENCE["duration"])
        scale = _to_seconds(1, unit)
        return _matches(value, decimals, [s / scale for s in secs])
    if kind == "speed":
        return _matches(value, decimals, [v for v, _ in held])
    gib = unit in ("GB", "GiB")
    vals = [(v / 1024 if u == "MiB" else v) if gib else (v if u == "MiB" else v * 1024) for v, u in held]
    return _matches(value, decimals, vals)


def _strip_generated(text: str) -> str:
    """Blank out generated blocks, inline figures, code and HTML comments, keeping the line numbers."""

    def blank(m):
        return re.sub(r"[^\n]", " ", m.group(0))

    for rx in (figures.BLOCK_RE, figures.INLINE_RE, re.compile(r"```.*?```", re.S), re.compile(r"`[^`\n]*`")):
        text = rx.sub(blank, text)
    return text


def pages() -> list[tuple[str, str]]:
    out = [(rel, (ROOT / rel).read_text()) for rel in ("README.md", "results/README.md")]
    out += [(str(p.relative_to(ROOT)), p.read_text()) for p in sorted((ROOT / "docs").glob("*.md"))]
    for path in figures.notebooks(ROOT):
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "markdown":
                out.append((f"{path.relative_to(ROOT)} cell {i}", cell.source))
    return out


def unbacked(text: str) -> list[tuple[int, str]]:
    """(line, figure) for each measured-looking figure outside generated blocks that nothing backs. ALLOWED patterns
    match the page's own line (code spans included: "| `smoke` | 300 s |"), at the positions of the stripped line."""
    found = []
    for lineno, (line, own) in enumerate(zip(_strip_generated(text).splitlines(), text.splitlines()), 1):
        if not line.strip():
            continue
        spans = [x.span() for a, _ in ALLOWED_RE for x in a.finditer(own)]
        for kind, rx in KINDS.items():
            for m in rx.finditer(line):
                if any(a < m.end() and b > m.start() for a, b in spans):
                    continue
                unit = m.group(3) if kind != "percent" else "%"
                for g in (1, 2):
                    raw = m.group(g)
                    if not raw:
                        continue
                    value = float(raw.replace(",", ""))
                    decimals = len(raw.split(".")[1]) if "." in raw else 0
                    if not backed(kind, value, decimals, unit):
                        found.append((lineno, f"{m.group(0).strip()} ({kind})"))
    return found


def test_generated_blocks_are_up_to_date():
    stale = figures.update(ROOT, write=False)
    assert not stale, "blocks out of step with results/*.json; run `cifar-course figures`:\n" + "\n".join(stale)


def test_every_block_and_figure_renders():
    for name, make in figures.blocks().items():
        assert make().strip(), name
    for name, fig in figures.registry().items():
        assert fig.text and fig.source, name


def test_scanner_catches_a_typed_figure():
    assert unbacked("It reached 91.3% in 7.7 minutes at 12345 images/s, using 9.9 GB.")
    assert not unbacked("It reached 89.8% (0.898 in results) in 18.1 min.")
    assert not unbacked("<!-- figure: final_test -->12.3%<!-- /figure -->")


def test_reference_numbers_come_from_the_spec_tables_only():
    spec = "Reported: 12.3% after 45 s; about 99% is common.\n\n| model | test | time |\n| --- | --- | --- |\n"
    spec += "| X | 56.7% (peak 58.1%) | 89 s |\n"
    ref = _reference(spec)
    assert {56.7, 58.1} <= ref["percent"] and 89.0 in ref["duration"]
    assert not {12.3, 99.0} & ref["percent"] and 45.0 not in ref["duration"]


def test_a_number_only_in_the_spec_prose_is_not_accepted():
    prose = "\n".join(line for line in SPEC.read_text().splitlines() if not line.lstrip().startswith("|"))
    prose_only = {float(x) for x in re.findall(r"(\d+(?:\.\d+)?)\s?%", prose)} - REFERENCE["percent"]
    assert 78.6 in prose_only, "R1's train accuracy (78.6%) is in the spec's prose only: pick another example"
    assert unbacked("The tutorial's R1 reached 78.6% on its training set.")
    assert not unbacked("R1's reference code reached 67.4% in 298 s; the tutorial reports 70.3%.")


def test_the_results_index_describes_every_record():
    index = figures.block_results_index()
    assert "not described" not in index
    for path in sorted((ROOT / "results").glob("*.json")) + sorted((ROOT / "results").glob("*.md")):
        if path.name != "README.md":
            assert f"`{path.name}`" in index or f"({path.name})" in index, path.name


@pytest.mark.parametrize("where,text", pages(), ids=[w for w, _ in pages()])
def test_no_measured_figure_typed_by_hand(where, text):
    bad = unbacked(text)
    assert not bad, (
        f"{where} states measured figures that results/*.json does not hold:\n"
        + "\n".join(f"  {where}:{line}: {fig}" for line, fig in bad)
        + "\nRead them from results/ (a `<!-- figures: NAME -->` block or `<!-- figure: NAME -->` inline, see "
        "cifar_course/tools/figures.py), record the measurement in results/, or drop the number. A non-measurement "
        "(a setting, a session length) goes in ALLOWED in tests/test_figures.py, with its reason."
    )


def test_the_reference_spec_copy_matches_the_shared_one_where_there_is_one():
    shared = ROOT.parent / "shared" / "spec" / "reference-models.md"
    if not shared.exists():
        pytest.skip("no ../shared/spec beside this clone: the copy in results/ is what the scan reads")
    assert SPEC.read_text() == shared.read_text(), "results/reference-models.md is stale: copy the spec again"
