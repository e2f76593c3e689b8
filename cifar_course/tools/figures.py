"""Measured figures quoted by the pages, read from ``results/*.json``, never typed by hand.

    cifar-course figures            rewrite every generated block from results/
    cifar-course figures --check    exit 1, listing each block that results/ would change

A *figure* is one number read from one results file (file + key path + format); it carries the machine it was
measured on (CPU model, bfloat16 or not) and the date. A *block* is text made from figures, in Markdown files and
in the notebooks' Markdown cells, between two HTML comments (invisible in Jupyter and in the book)::

    <!-- figures: runtime-04 -->
    ... generated, do not edit ...
    <!-- /figures -->

and, inside a sentence, one figure: ``<!-- figure: final_test -->89.8%<!-- /figure -->``.
``tests/test_figures.py`` checks that every block is up to date and that no page states a measured figure
outside them that ``results/`` does not hold.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results"
PAGES = ("README.md", "docs/teaching.md", "results/README.md")  # + every notebooks/*.ipynb
LESSONS = ("01", "02", "03", "04", "05", "06", "07", "08", "09")
# Records made before lesson 07 was split (2026-12-06; no "numbering" in them) name the old lessons: their "07" is
# read as "0708" (the lesson that is now 07 and 08) and their "08" as "09" (``load``).
OLD_NUMBERS = {"07": "0708", "08": "09"}
LABELS = {"0708": "07 (then one lesson with 08)"}  # how a page names an old lesson

BLOCK_RE = re.compile(r"(<!-- figures: ([\w-]+) -->)(.*?)(<!-- /figures -->)", re.S)
INLINE_RE = re.compile(r"(<!-- figure: ([\w-]+) -->)(.*?)(<!-- /figure -->)", re.S)

# Records written before the runner named the CPU: which machine they came from (results/README.md, "Machines
# and data").
MACHINE_OF_OLD_RECORDS = "2-core AMD EPYC with bfloat16, per results/README.md: the record names no CPU"
# lesson07-final-model.json records no date: the day benchmarks/lesson07_full.py wrote it (results/README.md).
DATE_OF_UNDATED = {"lesson07-final-model.json": "2026-12-06"}


@cache
def load(file: str) -> dict:
    """A record of results/, its lesson numbers in today's numbering (OLD_NUMBERS)."""
    d = json.loads((RESULTS / file).read_text())
    if int(d.get("numbering") or 1) < 2:
        for entry in [*(d.get("lessons") or []), d.get("concurrency") or {}]:
            if isinstance(entry, dict) and entry.get("lesson") in OLD_NUMBERS:
                entry["lesson"] = OLD_NUMBERS[entry["lesson"]]
    return d


def _runs_of(d: dict) -> list[dict]:
    """The runs a record holds in ``runs`` (a list, or a dict by name), for records with no top-level fields."""
    runs = d.get("runs")
    return list(runs.values()) if isinstance(runs, dict) else runs if isinstance(runs, list) else []


def _machine_words(m: str) -> str:
    """A record's ``machine`` string in words; MACHINE_OF_OLD_RECORDS where it names no bfloat16 (no CPU)."""
    if "bfloat16" not in m:
        return MACHINE_OF_OLD_RECORDS
    cpu = "AMD EPYC" if "AMD EPYC" in m else "Intel Xeon" if "Xeon" in m else "x86_64"
    cores = re.search(r"(\d+) CPU cores", m)
    avx512 = "AVX-512" in m  # records before 2026-12-07 name no vector width: all were AMD EPYC, AVX2 only
    limit = re.search(r"oneDNN limited to (\w+)", m)
    width = f"oneDNN limited to {limit.group(1)}" if limit else "AVX-512" if avx512 else "AVX2 only"
    bf16 = "with bfloat16" if "no bfloat16" not in m else f"without bfloat16 ({width})"
    return f"{cores.group(1) + '-core ' if cores else ''}{cpu} {bf16}"


def _machine_of_info(info: dict) -> str:
    """benchmarks/throughput.py's ``info`` (CPU model, cores, bfloat16 flags) in words."""
    bf16 = "with bfloat16" if info.get("avx512_bf16") or info.get("amx_bf16") else "without bfloat16"
    return f"{info.get('cores', '?')}-core {info.get('cpu', 'x86_64')} {bf16}"


def machine_of(file: str) -> str:
    """The machine a record was measured on, in words: CPU model, cores, bfloat16 or not."""
    d = load(file)
    if "machine" in d:
        return _machine_words(str(d["machine"]))
    runs = _runs_of(d)  # a record of several runs: theirs, where they all name the same one
    found = {_machine_words(str(r["machine"])) for r in runs if "machine" in r}
    found |= {_machine_of_info(r["info"]) for r in runs if isinstance(r.get("info"), dict) and "cpu" in r["info"]}
    return found.pop() if len(found) == 1 else MACHINE_OF_OLD_RECORDS


def date_of(file: str) -> str:
    d = load(file)
    date = d.get("started") or d.get("date") or DATE_OF_UNDATED.get(file)
    if date:
        return str(date)[:10]
    found = sorted({str(r["date"])[:10] for r in _runs_of(d) if r.get("date")})
    if not found:  # throughput.json names its day in its note
        found = re.findall(r"\b\d{4}-\d{2}-\d{2}\b", str(d.get("note", "")))[:1]
    return " to ".join(dict.fromkeys([found[0], found[-1]])) if found else "undated"


def _get(data, path: str):
    """Follow a key path: ``lessons[lesson=04].seconds``, ``val_accuracy[-1]``, ``sizing.memory.quick.gib``."""
    for part in path.split("."):
        m = re.fullmatch(r"(\w+)(?:\[(.+)\])?", part)
        data = data[m.group(1)]
        if m.group(2):
            sel = m.group(2)
            if "=" in sel:
                conds = [c.split("=") for c in sel.split(",")]
                data = next(x for x in data if all(str(x.get(k)) == v for k, v in conds))
            else:
                data = data[int(sel)]
    return data


def _wall(data) -> float:
    """Seconds from a run's start to its end: one run of the whole course, as the clock saw it."""
    started, finished = (datetime.fromisoformat(data[k]) for k in ("started", "finished"))
    return (finished - started).total_seconds()


def fmt_duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


FORMATS = {
    "duration": fmt_duration,
    "min": lambda s: f"{s / 60:.1f} min",
    "s": lambda s: f"{s:.0f} s",
    "pct": lambda v: f"{100 * v:.1f}%",
    "acc": lambda v: f"{v:.4f}",
    "gib": lambda v: f"{v:.1f} GiB",
    "gib0": lambda v: f"{v:.0f} GiB",
    "mib_as_gib": lambda v: f"{v / 1024:.1f} GiB",  # a record's MiB, shown in GiB (1 GiB = 1024 MiB)
    "ips": lambda v: f"{v:,.0f} images/s",
    "int": lambda v: f"{v:.0f}",
    "median_ips": lambda v: f"{sorted(v)[len(v) // 2]:.0f} images/s",
    "times": lambda v: f"{v:.1f}x",
    "gflop": lambda v: f"{v:.2f} GFLOP",
    "points": lambda v: f"{v:+.1f} points",
    "count": lambda v: f"{v:,.0f}",
    "text": str,
}


@dataclass(frozen=True)
class Figure:
    file: str  # in results/
    path: str  # key path in it, or "@wall" (started to finished), or what ``calc`` computes, in words
    fmt: str  # a key of FORMATS
    calc: Callable[[dict], float] | None = None  # computes the value from the whole record, where no key path can

    @property
    def value(self):
        if self.calc is not None:
            return self.calc(load(self.file))
        return _wall(load(self.file)) if self.path == "@wall" else _get(load(self.file), self.path)

    @property
    def text(self) -> str:
        return FORMATS[self.fmt](self.value)

    @property
    def source(self) -> str:
        return f"`results/{self.file}` ({machine_of(self.file)}, {date_of(self.file)})"


# The course's runs: key -> (file, lessons it holds).
RUNS = {
    # one run of the whole quick course, no bfloat16, before lesson 07 was split
    "quick_avx2": ("course-run-quick-avx2.json", ("01", "02", "03", "04", "05", "06", "0708", "09")),
    "split_avx2": ("course-run-quick-avx2-split.json", ("07", "08", "09")),  # lessons 07-09 since the split
    # the whole quick course as it is since lesson 07 was split (lesson 07 with its range test and section 13)
    "quick_nobf16": ("course-run-quick-nobf16.json", LESSONS),
    "full07_nobf16": ("course-run-full-07-nobf16.json", ("07",)),  # lesson 07 alone, full, since section 13
    "full05_nobf16": ("course-run-full-05-nobf16.json", ("05",)),  # lesson 05 alone, full, random weights
    "full09_nobf16": ("course-run-full-09-nobf16.json", ("09",)),  # lesson 09 alone, full, no saved run
    # the whole quick course and lessons 07-09 in full as they are since the split, on a CPU with bfloat16
    "quick_bf16": ("course-run-quick-bf16.json", LESSONS),
    "full0709_bf16": ("course-run-full-07-09-bf16.json", ("07", "08", "09")),
    "full_bf16": ("course-run-full.json", ("01", "02", "03", "04", "06")),
    "full07_bf16": ("course-run-full-07.json", ("0708",)),
    "full07_f32": ("course-run-full-07-float32.json", ("0708",)),
    "race07_avx2": ("course-run-full-07-race.json", ("0708",)),
    # results/README.md's checks of the quick settings: the morning's run (lesson 07's final model trained; 05 not
    # run) and seed 1 (CPU shared: their times are no speed figures)
    "quick0928_avx2": ("course-run-quick-avx2-0928.json", ("01", "02", "03", "04", "06", "0708", "09")),
    "seed1_avx2": ("course-run-quick-avx2-seed1.json", ("03", "04", "0708")),
    "seed1b_avx2": ("course-run-quick-avx2-seed1-1156.json", ("04", "0708", "09")),
}
# Records of the race of lessons 07 and 08 (steps 0-13 as saved runs, then one lesson): key -> file.
RACES = {
    "race07_avx2": "course-run-full-07-race.json",
    "full07_bf16": "course-run-full-07.json",
    "full07_f32": "course-run-full-07-float32.json",
    "quick_avx2": "course-run-quick-avx2.json",
    "quick0928_avx2": "course-run-quick-avx2-0928.json",
    "seed1b_avx2": "course-run-quick-avx2-seed1-1156.json",
}


def _others_gib(sizing: dict) -> float:
    """GiB per student for the lessons other than 05 and 07 in `quick`: their largest kernel peak + 25%, the margin
    benchmarks/class_sizing.py adds to lesson 07's (``sizing.memory``), rounded as that figure is."""
    peak = max(
        x["peak_rss_mib"]
        for x in sizing["lessons"]
        if x["profile"] == "quick" and x["lesson"] not in ("05", "0708") and x["status"] == "ok"
    )
    return round(peak * 1.25 / 1024, 1)


def _finetune_epoch_s(timing: dict) -> float:
    """Lesson 05's fine-tuning epoch: the last Keras epoch line of the timing run, after the features-once timing."""
    lines = timing["timing_lines"]
    after = next(i for i, line in enumerate(lines) if line.startswith("features once"))
    epochs = [line for line in lines[after:] if "epoch_seconds:" in line]  # VGG16's, then EfficientNet's (since §12)
    return float(re.search(r"epoch_seconds: ([\d.]+)", epochs[0 if "effnet_ms_per_image" in timing else -1]).group(1))


def _l05_speedup(timing: dict) -> float:
    """Lesson 05's cached features against end-to-end training: 'features once is 5.7x faster' (timing_lines)."""
    line = next(x for x in timing["timing_lines"] if "features once is" in x)
    return float(re.search(r"features once is ([\d.]+)x faster", line).group(1))


def _race_steps(file: str) -> list[dict]:
    """The old lesson 07's saved runs that are steps of its race (or its final model), in order."""
    runs = _get(load(file), "lessons[lesson=0708]").get("saved_runs", [])
    steps = (r for r in runs if r.get("step") is not None and not r.get("variant"))  # variant: lesson 07 §13's CutMix
    return sorted(steps, key=lambda r: r["step"])


def _vgg_bf16_ips(throughput: dict) -> float:
    """The median of every timed epoch of the frozen VGG16 + M4 head in bfloat16 (results/throughput.md's row)."""
    return median(
        v
        for run in throughput["runs"]
        for r in run["results"]
        if r["model"] == "VGG" and r["precision"] == "bf16"
        for v in r["images_per_second"]
    )


def _registry() -> dict[str, Figure]:
    f: dict[str, Figure] = {}
    for key, (file, lessons) in RUNS.items():
        f[f"{key}_wall"] = Figure(file, "@wall", "min")
        for n in lessons:
            f[f"{key}_{n}"] = Figure(file, f"lessons[lesson={n}].seconds", "duration")
            for split in ("Validation", "Test"):
                accs = _get(load(file), f"lessons[lesson={n}]")["accuracies"]
                if any(a["split"] == split for a in accs):
                    f[f"{key}_{n}_{split[:4].lower()}"] = Figure(
                        file, f"lessons[lesson={n}].accuracies[split={split}].value", "acc"
                    )
    for n in {x["lesson"] for x in load("class-sizing.json")["lessons"]}:
        for profile in ("smoke", "quick"):
            f[f"sizing_{profile}_{n}"] = Figure(
                "class-sizing.json", f"lessons[lesson={n},profile={profile}].wall_s", "duration"
            )
    sz, sz05 = "class-sizing.json", "class-sizing-05-quick.json"
    for run in load(sz)["lessons"]:
        if run["status"] == "ok":
            n, profile = run["lesson"], run["profile"]
            f[f"sizing_peak_{profile}_{n}"] = Figure(
                sz, f"lessons[lesson={n},profile={profile}].peak_rss_mib", "mib_as_gib"
            )
    # lesson 05 in `quick` did not run in class-sizing.json (no ImageNet weights); class-sizing-05-quick.json ran
    # it alone
    f["sizing_peak_quick_05_alone"] = Figure(sz05, "lessons[lesson=05].peak_rss_mib", "mib_as_gib")
    f["sizing_cpu_quick_05_alone"] = Figure(sz05, "lessons[lesson=05].cpu_s", "duration")
    f["sizing_memory_quick_05"] = Figure(sz05, "sizing.memory.quick.gib", "gib")
    f["sizing_memory_others_quick"] = Figure(
        sz, "largest peak of lessons 01-04, 06, 09 in quick, + 25%", "gib", lambda d: _others_gib(d)
    )
    for students in (20,):
        f[f"sizing_class{students}_07"] = Figure(
            sz,
            f"{students} x sizing.memory.quick.gib",
            "gib0",
            lambda d, k=students: k * d["sizing"]["memory"]["quick"]["gib"],
        )
        f[f"sizing_class{students}_others"] = Figure(
            sz, f"{students} x the other lessons' memory per student", "gib0", lambda d, k=students: k * _others_gib(d)
        )
    f["sizing_memory_quick"] = Figure("class-sizing.json", "sizing.memory.quick.gib", "gib")
    f["sizing_memory_smoke"] = Figure("class-sizing.json", "sizing.memory.smoke.gib", "gib")
    f["sizing_students"] = Figure("class-sizing.json", "sizing.students_within_slowdown", "int")
    for p, file in (("quick_bf16", "lesson05-timing-quick.json"), ("full_bf16", "lesson05-timing-full.json")):
        f[f"l05_timing_{p}"] = Figure(file, "seconds", "duration")
    f["l05_timing_quick_avx2"] = Figure("lesson05-timing-quick-avx2.json", "seconds", "duration")
    f["l05_effnet_s_quick_avx2"] = Figure("lesson05-timing-quick-avx2.json", "section_seconds.12", "duration")
    f["l05_finetune_epoch_full"] = Figure(
        "lesson05-timing-full.json", "the fine-tuning epoch's epoch_seconds (timing_lines)", "s", _finetune_epoch_s
    )
    for p, file in (
        ("full_bf16", "lesson05-timing-full.json"),
        ("quick_bf16", "lesson05-timing-quick.json"),
        ("quick_avx2", "lesson05-timing-quick-avx2.json"),
    ):
        f[f"l05_speedup_{p}"] = Figure(file, "'features once is ...x faster' (timing_lines)", "times", _l05_speedup)
    for key, file in RACES.items():
        for r in _race_steps(file):
            f[f"{key}_step{r['step']}"] = Figure(
                file, f"lessons[lesson=0708].saved_runs[step={r['step']}].test_accuracy", "pct"
            )
            f[f"{key}_step{r['step']}_ips"] = Figure(
                file, f"lessons[lesson=0708].saved_runs[step={r['step']}].images_per_second", "ips"
            )
    f["l05_vgg_bf16_ips"] = Figure(
        "throughput-lessons-03-05.json", "median images/s of the VGG16 rows in bf16", "ips", _vgg_bf16_ips
    )
    fm = "lesson07-final-model.json"
    f["final_test"] = Figure(fm, "test_accuracy", "pct")
    f["final_test_flip"] = Figure(fm, "test_accuracy_flip_tta", "pct")
    f["final_test_none"] = Figure(fm, "test_accuracy_no_tta", "pct")
    f["final_val"] = Figure(fm, "val_accuracy[-1]", "pct")
    f["final_train_min"] = Figure(fm, "train_seconds", "min")
    f["final_ips"] = Figure(fm, "images_per_second", "median_ips")
    for kind, prefix in (("nobf16", "budget07"), ("bf16", "budget07_bf16")):  # benchmarks/lesson07_budget.py
        if not any(p["train_minutes"] <= 20 for _, p in _budget_points(kind)):
            continue
        for key, choose, what in (("best", _budget_best, "trained within 20 minutes"), ("top", _budget_top, "of all")):
            file, name = choose(kind)[0], f"{prefix}_{key}"  # the record that holds the chosen point
            f[name] = Figure(
                file,
                f"the best test accuracy (flip + shift TTA) {what}",
                "pct",
                calc=lambda d, c=choose, k=kind: c(k)[1]["test_accuracy"],
            )
            f[f"{name}_min"] = Figure(
                file, "its training time", "min", calc=lambda d, c=choose, k=kind: 60 * c(k)[1]["train_minutes"]
            )
            f[f"{name}_epochs"] = Figure(file, "its epochs", "int", calc=lambda d, c=choose, k=kind: c(k)[1]["epochs"])
            f[f"{name}_params"] = Figure(
                file, "its parameters", "count", calc=lambda d, c=choose, k=kind: c(k)[1]["params"]
            )
            f[f"{name}_widths"] = Figure(
                file, "its widths", "text", calc=lambda d, c=choose, k=kind: "-".join(map(str, c(k)[1]["widths"]))
            )
        first = BUDGET_07[kind][0]
        f[f"{prefix}_final_probe_ips"] = Figure(first, "probes[0].images_per_second", "ips")
        f[f"{prefix}_peak"] = Figure(first, "peak.measured_matmul_gflops", "int")
        f[f"{prefix}_final_gflop"] = Figure(first, "probes[0].train_gflop", "gflop")
    for epochs in (8, 9):
        final = f"lesson07-budget-bf16-final{epochs}.json"  # the final network itself, its epochs given
        if (RESULTS / final).is_file():
            f[f"budget07_bf16_final{epochs}"] = Figure(final, "points[0].test_accuracy", "pct")
            f[f"budget07_bf16_final{epochs}_min"] = Figure(final, "points[0].train_seconds", "min")
    wbias = "lesson07-budget-bf16-wbias.json"
    if (RESULTS / wbias).is_file():
        f["budget07_bf16_wbias"] = Figure(wbias, "points[0].test_accuracy", "pct")
        f["budget07_bf16_wbias_none"] = Figure(wbias, "points[0].test_accuracy_no_tta", "pct")
        twin = "lesson07-budget-bf16.json"  # the same point with the bias frozen
        f["budget07_bf16_twin"] = Figure(twin, "points[point=48-192-192x10].test_accuracy", "pct")
        f["budget07_bf16_twin_none"] = Figure(twin, "points[point=48-192-192x10].test_accuracy_no_tta", "pct")
    if (RESULTS / BUDGET_07["bf16"][0]).is_file():
        f["budget07_bf16_peak_bf16"] = Figure(BUDGET_07["bf16"][0], "peak.measured_matmul_gflops_bfloat16", "int")
    f["final_cmp_whitened_ips"] = Figure(fm, "compared[name=whitened_cnn].images_per_second", "ips")
    f["final_cmp_m3_ips"] = Figure(fm, "compared[name=M3_deeper_cnn].images_per_second", "ips")
    f["final_cmp_modern_ips"] = Figure(fm, "compared[name=modern_cnn].images_per_second", "ips")
    f["final_val_6"] = Figure(fm, "val_accuracy[5]", "pct")  # after epoch 6 of 8
    f["final_params"] = Figure(fm, "params", "count")
    f["final_ips_min"] = Figure(
        fm, "the slowest epoch's images_per_second", "ips", lambda d: min(d["images_per_second"])
    )
    f["final_ips_max"] = Figure(
        fm, "the fastest epoch's images_per_second", "ips", lambda d: max(d["images_per_second"])
    )
    f["final_full07_test"] = Figure(
        "course-run-full-07.json", "lessons[lesson=0708].accuracies[split=Test].value", "pct"
    )
    f["final_f32_test"] = Figure(
        "course-run-full-07-float32.json", "lessons[lesson=0708].accuracies[split=Test].value", "pct"
    )
    mix = "lesson07-mixing.json"  # lesson 07 §13: step 3 alone, with CutMix, with MixUp, seed by seed
    for kind in ("none", "cutmix", "mixup"):
        f[f"mixing_{kind}_acc"] = Figure(mix, f"summary.{kind}.mean_test_accuracy", "pct")
    for kind in ("cutmix", "mixup"):
        f[f"mixing_{kind}_gain"] = Figure(mix, f"summary.{kind}.mean_gain_points", "points")
        f[f"mixing_{kind}_losses"] = Figure(
            mix, f"the seeds where {kind} lowered the test accuracy", "int",
            lambda d, k=kind: sum(g < 0 for g in d["summary"][k]["gain_points_by_seed"]),
        )  # fmt: skip
    f["mixing_seeds"] = Figure(mix, "its seeds", "int", lambda d: len(d["summary"]["none"]["seeds"]))
    f["mixing_epochs"] = Figure(mix, "runs[0].epochs", "int")
    f["mixing_images"] = Figure(mix, "runs[0].train_images", "count")
    return f


@cache
def registry() -> dict[str, Figure]:
    return _registry()


class _Fill(dict):
    """``str.format_map`` helper: ``{name}`` is a figure's text, ``{name:d}`` adds its date; records the sources."""

    def __init__(self):
        super().__init__()
        self.sources: dict[str, str] = {}

    def __missing__(self, name):
        fig = registry()[name]
        self.sources[fig.file] = fig.source
        return _Text(fig)


class _Text:
    def __init__(self, fig: Figure):
        self.fig = fig

    def __format__(self, spec: str) -> str:
        return f"{self.fig.text} ({date_of(self.fig.file)})" if spec == "d" else self.fig.text


def fill(template: str) -> tuple[str, dict[str, str]]:
    m = _Fill()
    return template.format_map(m), m.sources


def _sources_line(sources: dict[str, str]) -> str:
    return "Measured: " + "; ".join(sources[k] for k in sorted(sources)) + "."


# ---- the blocks --------------------------------------------------------------------------------------------------

NOT_ALONE = "not measured alone"
# Per lesson: (profile, images, epochs, CPU without bfloat16, CPU with bfloat16). Images and epochs are the
# profile's settings (cifar_course/profiles.py), not measurements; every measured figure is a {placeholder}.
RUNTIME_ROWS = {
    "01": [
        ("`smoke`", "600 / 200", "–", NOT_ALONE, "{sizing_smoke_01:d}"),
        ("`quick`", "10,000 / 2,000", "–", "**{quick_nobf16_01}**", "{quick_bf16_01:d}"),
        ("`full`", "50,000 / 10,000", "–", "not measured", "{full_bf16_01:d}"),
    ],
    "02": [
        ("`smoke`", "600 / 200", "1", NOT_ALONE, "{sizing_smoke_02:d}"),
        ("`quick`", "10,000 / 2,000", "5", "**{quick_nobf16_02}**", "{quick_bf16_02:d}"),
        ("`full`", "50,000 / 10,000", "10", "not measured", "{full_bf16_02:d}; R1 test accuracy {full_bf16_02_test}"),
    ],
    "03": [
        ("`smoke`", "600 / 200", "1", NOT_ALONE, "{sizing_smoke_03:d}"),
        (
            "`quick`",
            "3,000 of 10,000 / 2,000",
            "6 + 6",
            "**{quick_nobf16_03}**",
            "{quick_bf16_03:d}",
        ),
        (
            "`full`",
            "50,000 / 10,000",
            "10 + 10",
            "not measured",
            "{full_bf16_03:d}; M2 test accuracy {full_bf16_03_test}",
        ),
    ],
    "04": [
        ("`smoke`", "600 / 200", "1", NOT_ALONE, "{sizing_smoke_04:d}"),
        (
            "`quick`",
            "10,000 / 2,000",
            "3",
            "**{quick_nobf16_04}**",
            "{quick_bf16_04:d}",
        ),
        (
            "`full`",
            "50,000 / 10,000",
            "20",
            "not measured",
            "{full_bf16_04:d}; M3 validation {full_bf16_04_vali}, test {full_bf16_04_test}",
        ),
    ],
    "05": [
        (
            "`smoke`",
            "600 / 200",
            "VGG16: 2 (head) + 1 (fine-tuning); EfficientNetV2B0: 2 (head) + 1 (phase 2)",
            NOT_ALONE,
            "{sizing_smoke_05:d} (before §12)",
        ),
        (
            "`quick`",
            "5,000 of 10,000 / 2,000",
            "VGG16: 10 (head), no fine-tuning; EfficientNetV2B0 on 2,000 images: 10 (head) + 1 (phase 2)",
            "**{quick_nobf16_05}** (random weights of VGG16's and EfficientNetV2B0's layouts, times only; alone, "
            "§12 took {l05_effnet_s_quick_avx2}, `benchmarks/lesson05_timing.py`)",
            "{quick_bf16_05:d} (random weights of both networks' layouts, times only)",
        ),
        (
            "`full`",
            "50,000 / 10,000",
            "VGG16: 10 (head) + 1 (fine-tuning); EfficientNetV2B0: 10 (head) + 2 (phase 2)",
            "**{full05_nobf16_05}** alone (random weights of both networks' layouts, times only; "
            "`python benchmarks/course_timing.py --profile full --only 05`)",
            "{l05_timing_full_bf16:d} before §12 (random weights of VGG16's layout, times only)",
        ),
    ],
    "06": [
        (
            "`smoke`",
            "600 / 200 (training only when no run is saved)",
            "1 (only then)",
            NOT_ALONE,
            "{sizing_smoke_06:d}",
        ),
        (
            "`quick`",
            "none / 2,000",
            "none: a saved model",
            "**{quick_nobf16_06}** (on the course run's saved runs)",
            "{quick_bf16_06:d}",
        ),
        ("`full`", "none / 10,000", "none: a saved model", "not measured", "{full_bf16_06:d} on M3's run"),
    ],
    "07": [
        ("`smoke`", "600 / 200", "steps 0–7 and the CutMix step: 1 each", NOT_ALONE, "not measured"),
        (
            "`quick`",
            "10,000 / 2,000",
            "steps 0–7 and the CutMix step: 2 each on 2,500 images at batch 32; range test: 60 batches",
            "**{quick_nobf16_07}**",
            "{quick_bf16_07:d}",
        ),
        (
            "`full`",
            "50,000 / 10,000",
            "steps 0–7 and the CutMix step: 3 each on 5,000 images at batch 128; range test: 60 batches",
            "**{full07_nobf16_07}** (`python benchmarks/course_timing.py --profile full --only 07`)",
            "{full0709_bf16_07:d} (`python benchmarks/course_timing.py --profile full --only 07,08,09`)",
        ),
    ],
    "08": [
        ("`smoke`", "600 / 200", "ResNet, M3, steps 8–12, final model: 1 each", NOT_ALONE, "not measured"),
        (
            "`quick`",
            "10,000 / 2,000",
            "ResNet and M3: 2 each on 3,000 images at batch 128; steps 8–13: the recorded full run "
            "(`TRAIN_FINAL = True` trains the final model, 1 epoch on 9,000 images)",
            "**{quick_nobf16_08}**",
            "{quick_bf16_08:d}",
        ),
        (
            "`full`",
            "50,000 / 10,000",
            "ResNet and M3: 3 each on 45,000 images at batch 128; steps 8–12: 3 each on 5,000 images at batch 128; "
            "final model: 8 on 45,000 at batch 512",
            "not measured since the split; lesson 07 and 08 as one lesson with the earlier race, bfloat16 switched "
            "off, {full07_f32_0708:d}",
            "{full0709_bf16_08:d}, the final model's 8 epochs included (`python benchmarks/course_timing.py "
            "--profile full --only 07,08,09`)",
        ),
    ],
    "09": [
        (
            "`smoke`",
            "600 / 200",
            "M3: 1 (only when no run is saved); own data: 3",
            NOT_ALONE,
            "{sizing_smoke_09:d}",
        ),
        (
            "`quick`",
            "10,000 / 2,000",
            "M3: 4 (only when no run is saved); own data: 8",
            "**{quick_nobf16_09}** (lesson 04's M3 explained)",
            "{quick_bf16_09:d} (lesson 04's M3 explained)",
        ),
        (
            "`full`",
            "50,000 / 10,000",
            "M3: 8 (only when no run is saved); own data: 10",
            "**{full09_nobf16_09}** alone, with no saved run (M3 trained here; "
            "`python benchmarks/course_timing.py --profile full --only 09`)",
            "{full0709_bf16_09:d} after lessons 07 and 08 in one run, explaining lesson 08's final model (no training)",
        ),
    ],
}
RUNTIME_HEAD = (
    "| profile | images (train / test) | epochs | CPU without bfloat16 (AVX2 only, like most laptops) "
    "| CPU with bfloat16 |\n| --- | --- | --- | --- | --- |\n"
)


def block_runtime(n: str) -> str:
    m = _Fill()
    rows = "\n".join("| " + " | ".join(c.format_map(m) for c in r) + " |" for r in RUNTIME_ROWS[n])
    file = RUNS["quick_nobf16"][0]
    note = (
        f"The times without bfloat16 in `quick` come from one run of the whole quick course, "
        f"`python benchmarks/course_timing.py --profile quick` on {date_of(file)} (`{file.replace('.json', '.md')}` "
        f"in `results/`; {machine_of(file)}; lesson 05 with weights files of VGG16's and EfficientNetV2B0's layouts "
        "and random values, as no ImageNet weights can be downloaded there: its time does not depend on the values). "
        "Each"
    )
    note += (
        " figure with bfloat16 carries its date; figures from before the current settings "
        "say so. A laptop's cores differ, so take them as a guide. " + _sources_line(m.sources)
    )
    return RUNTIME_HEAD + rows + "\n\n" + note


def block_readme_profiles() -> str:
    text, src = fill(
        "| profile | CPU without bfloat16 (AVX2 only, like most laptops) | CPU with bfloat16 | start with it when |\n"
        "|---|---|---|---|\n"
        "| `quick` | the whole course, 01-09, in **{quick_nobf16_wall:d}** (one `cifar-course run --profile quick`, "
        "started to finished; lesson 05 with random weights of its networks' layouts, as no ImageNet weights can be "
        "downloaded there); before lesson 07 was split, on another CPU without bfloat16, 01-08 took "
        "{quick_avx2_wall:d} | the whole course, 01-09, in {quick_bf16_wall:d} as one run (lesson 05 with random "
        "weights of its networks' layouts) | you are learning: always start here |\n"
        "| `full` (the default) | not measured as a whole: lesson 07 alone took {full07_nobf16_07:d}; the race of "
        "lessons 07-08 (then one lesson) {race07_avx2_0708:d} while other work shared the CPU; the final model not "
        "measured | lessons 01-06 in "
        "{full_bf16_wall:d} as one run (lesson 05 not run; alone, with random weights, {l05_timing_full_bf16}); "
        "lessons 07-09 {full0709_bf16_wall:d} as one run | you want the reference numbers "
        "(Results, below) |\n"
        "| `smoke` | the whole test command runs every notebook in it (CI) | 600 / 200 images, 1 epoch; the numbers "
        "mean nothing | you run the tests |"
    )
    return text + "\n\n" + _sources_line(src)


def block_readme_per_lesson() -> str:
    file = RUNS["quick_nobf16"][0]
    parts = ", ".join(f"{n} {{quick_nobf16_{n}}}" for n in RUNS["quick_nobf16"][1])
    text, _ = fill(f"Per lesson in `quick`, without bfloat16: {parts} ")
    md = file.replace(".json", ".md")
    return text + f"([results/{md}](results/{md}), {machine_of(file)}, {date_of(file)})."


TEACHING_NAMES = {
    "01": "01 data exploration",
    "02": "02 baseline CNN",
    "03": "03 dropout",
    "04": "04 deeper CNN",
    "05": "05 transfer learning",
    "06": "06 error analysis",
    "07": "07 the training recipe",
    "08": "08 architecture",
    "09": "09 what the network sees",
}


def block_teaching_runtime() -> str:
    date = date_of(RUNS["quick_nobf16"][0])
    m = _Fill()
    head = (
        f"| lesson | `quick`, CPU without bfloat16 ({date}) | `quick`, CPU with bfloat16 "
        "| `full`, CPU with bfloat16 |\n|---|---|---|---|\n"
    )
    quick_bf16 = {n: f"{{quick_bf16_{n}:d}}" for n in LESSONS}
    quick_bf16["05"] = "{quick_bf16_05:d} (random weights)"
    full_bf16 = {n: f"{{full_bf16_{n}:d}}" for n in RUNS["full_bf16"][1]}
    full_bf16["05"] = "{l05_timing_full_bf16:d} (random weights; before §12, the second network)"
    full_bf16.update({n: f"{{full0709_bf16_{n}:d}}" for n in RUNS["full0709_bf16"][1]})
    full_bf16["09"] += " (after 07 and 08: it explains 08's final model, no training)"
    extra = {"05": " (random weights of its networks' layouts)", "06": " on the course run's saved runs"}
    quick_avx2 = {n: f"{{quick_nobf16_{n}}}" for n in LESSONS}
    rows = []
    for n in LESSONS:
        cells = (TEACHING_NAMES[n], quick_avx2[n] + extra.get(n, ""), quick_bf16[n], full_bf16[n])
        rows.append("| " + " | ".join(c.format_map(m) for c in cells) + " |")
    total, total_bf16 = "{quick_nobf16_wall}".format_map(m), "{quick_bf16_wall:d}".format_map(m)
    return (
        head
        + "\n".join(rows)
        + f"\n\nThe whole `quick` course as one run: **{total}** without bfloat16, {total_bf16} with it. "
        + _sources_line(m.sources)
    )


def block_sizing_memory() -> str:
    text, src = fill(
        "Peak memory of one student's kernel: {sizing_memory_quick} in `quick` (lesson 07, then one lesson with 08), "
        "{sizing_memory_smoke} in `smoke`; {sizing_students} students per 2 cores stay within the slowdown "
        "the sizing allows."
    )
    return text + " " + _sources_line(src)


def block_results_quick_avx2() -> str:
    run = load(RUNS["quick_avx2"][0])
    total = sum(x["seconds"] for x in run["lessons"])
    cells = " | ".join(f"{x['seconds']:.1f}" for x in run["lessons"])
    return (
        f"**{total / 60:.1f} minutes** ({total:.0f} s) for lessons 01-08 as they were before lesson 07 was split "
        "(the sum of the lessons' times; "
        f"{fmt_duration(_wall(run))} started to finished):\n\n"
        "| lesson | "
        + " | ".join(LABELS.get(x["lesson"], x["lesson"]) for x in run["lessons"])
        + " |\n"
        + "|---" * (len(run["lessons"]) + 1)
        + "|\n| seconds | "
        + cells
        + " |"
    )


def _span(values, fmt) -> str:
    """'12-35 s' or '10 s-2.0 min': the smallest and the largest of some measurements, each formatted."""
    lo, hi = fmt(min(values)), fmt(max(values))
    if lo == hi:
        return lo
    a, b = lo.rsplit(" ", 1), hi.rsplit(" ", 1)
    return f"{a[0]}-{hi}" if a[1] == b[1] else f"{lo}-{hi}"


def block_sizing_tables() -> str:
    """docs/teaching.md, "How big a server": one kernel per lesson, then 1, 2 and 4 students at once."""
    d = load("class-sizing.json")
    gib = FORMATS["mib_as_gib"]

    def of(profile, key, lessons):
        return [
            x[key] for x in d["lessons"] if x["profile"] == profile and x["lesson"] in lessons and x["status"] == "ok"
        ]

    others = ("01", "02", "03", "04", "05", "06", "09")
    l07 = {p: next(x for x in d["lessons"] if x["profile"] == p and x["lesson"] == "0708") for p in ("smoke", "quick")}
    m = _Fill()
    l05 = "{sizing_peak_quick_05_alone}".format_map(m)
    m.sources["class-sizing.json"] = registry()["sizing_memory_quick"].source  # every other figure's record
    one = (
        "| one kernel, one lesson | `smoke` | `quick` |\n|---|---|---|\n"
        f"| peak memory, lessons 01-06 and 09 | {_span(of('smoke', 'peak_rss_mib', others), gib)} "
        f"| {_span(of('quick', 'peak_rss_mib', others), gib)}; lesson 05: {l05} (see below) |\n"
        f"| peak memory, lesson 07 (then with 08) | {gib(l07['smoke']['peak_rss_mib'])} "
        f"| **{gib(l07['quick']['peak_rss_mib'])}** |\n"
        f"| CPU time, lessons 01-06 and 09 | {_span(of('smoke', 'cpu_s', others), fmt_duration)} each "
        f"| {_span(of('quick', 'cpu_s', others), fmt_duration)} each |\n"
        f"| CPU time, lesson 07 (then with 08) | {fmt_duration(l07['smoke']['cpu_s'])} "
        f"| **{fmt_duration(l07['quick']['cpu_s'])}** "
        f"({fmt_duration(l07['quick']['wall_s'])} of wall time on {d['cores']} cores) |"
    )
    conc = d["concurrency"]
    rows = conc["rows"]
    walls = [fmt_duration(r["mean_wall_s"]) + ("" if r["students"] == 1 else f" ({r['slowdown']:.2f}x)") for r in rows]
    cpus = [fmt_duration(sum(r["cpu_s"]) / len(r["cpu_s"])) for r in rows]
    mems = [gib(r["sum_peak_rss_mib"]) for r in rows]
    two = (
        f"| students at once on {d['cores']} cores (lesson {LABELS.get(conc['lesson'], conc['lesson'])}, "
        f"`{conc['profile']}`) | "
        + " | ".join(str(r["students"]) for r in rows)
        + " |\n|---"
        + "|---" * len(rows)
        + "|\n| wall time of each | "
        + " | ".join(walls)
        + " |\n| CPU time of each (mean) | "
        + " | ".join(cpus)
        + " |\n| memory of the kernels together (sum of their peaks) | "
        + " | ".join(mems)
        + " |"
    )
    return one + "\n\n" + two + "\n\n" + _sources_line(m.sources)


# ---- results/README.md: the index of the records, and tables made from them -----------------------------------------

# What each record in results/ measured, in words (no figures: those are in the record). A record with a "what" of its
# own is described by it; tests/test_figures.py checks that every record is described.
RECORD_WHAT = {
    "course-run-full-07-09-bf16.json": "lessons 07, 08 and 09 in `full` as they are since the split, one run on a CPU "
    "with bfloat16 (`python benchmarks/course_timing.py --profile full --only 07,08,09`): their headers' `full` times "
    "with bfloat16; lesson 08's final model trained as the lesson does (8 epochs on 45,000 images), lesson 09 "
    "explaining it",
    "course-run-quick-bf16.json": "the whole `quick` course, 01-09 as they are since the split, as a student's first "
    "run on a CPU with bfloat16; lesson 05 with random weights of VGG16's and EfficientNetV2B0's layouts (its "
    "accuracies, and lesson 06's of its run, left out): the headers' `quick` times with bfloat16",
    "course-run-full-09-nobf16.json": "lesson 09 alone in `full` with no saved run, so it trains M3 for 8 epochs "
    "first, oneDNN limited to AVX2: its header's `full` time without bfloat16",
    "course-run-quick-nobf16.json": "the whole `quick` course, 01-09 as they are since lesson 07 was split (07 with "
    "its range test and CutMix step), as a student's first run, with oneDNN limited to AVX2 as on most laptops; "
    "lesson 05 with random weights of VGG16's and EfficientNetV2B0's layouts (its accuracies, and lesson 06's of its "
    "run, left out): the headers' `quick` times without bfloat16",
    "course-run-full-07-nobf16.json": "lesson 07 alone in `full`, with its range test and CutMix step, oneDNN limited "
    "to AVX2: its header's `full` time without bfloat16",
    "course-run-full-05-nobf16.json": "lesson 05 alone in `full`, with random weights of VGG16's and "
    "EfficientNetV2B0's layouts (times only), oneDNN limited to AVX2: its header's `full` time without bfloat16",
    "lesson07-settings-pipeline-isa-avx2.json": "the final model's speed with TensorFlow's thread pools and with one "
    "inter-op thread, the lesson's pipeline (5,120 images, batch 1024), on the CPU with bfloat16 with oneDNN limited "
    "to AVX2 (float32 kernels: not a laptop measurement), two rounds in fresh processes (issue 30)",
    "lesson07-settings-bf16.json": "the final model's speed under TensorFlow's thread settings (intra-op and inter-op "
    "pools) and in channels-first layout, on 4,096 in-memory images at batch 1024, each setting twice in fresh "
    "processes (issue 30)",
    "lesson07-settings-pipeline-bf16.json": "the final model's speed with TensorFlow's thread pools as it chooses them "
    "and with one inter-op thread, fed by the lesson's own pipeline and recipe (10,240 images, batch 1024), three "
    "rounds in fresh processes (issue 30)",
    "lesson07-budget-bf16-wbias.json": "the same benchmark on the CPU with bfloat16: 48-192-192 for 10 epochs as in "
    "`lesson07-budget-bf16.json`, the whitening layer's bias learning during the first three epochs (airbench's "
    "network has it so), with the final model and M3 timed again in that run",
    "lesson07-budget-bf16-final8.json": "the same benchmark on the CPU with bfloat16: the final network (64-256-256) "
    "for 8 epochs of all 50,000 images at batch 1024, with the final model and M3 timed again in that run",
    "lesson07-budget-bf16-final9.json": "the same benchmark on the CPU with bfloat16: the final network itself "
    "(64-256-256) for 9 epochs of all 50,000 images at batch 1024, with the final model and M3 timed again in that "
    "run; the CPU was shared with a test run during its third epoch (260 images/s; the others 334 to 377), so its "
    "training time is an upper bound by about a minute",
    "lesson07-budget-bf16-long.json": "the same benchmark's longest point on the CPU with bfloat16 (48-192-192 for 13 "
    "epochs at batch 1024), with the final model and M3 timed again in that run",
    "lesson07-budget-bf16.json": 'the same benchmark on a CPU with bfloat16 (`precision="auto"`: mixed bfloat16): '
    "its measured float32 and bfloat16 peaks, the probes (their shares of the peak are stored against the float32 "
    "peak; the tables divide by the peak of each probe's precision), and the final model and narrower versions "
    "trained on all 50,000 images, their epochs given",
    "lesson07-budget-avx2-narrow.json": "the same benchmark, a narrower point (24-96-96, six epochs), with the final "
    "model and M3 timed again in that run; the CPU was shared with other work during its last two epochs, so its "
    "training time is an upper bound",
    "lesson07-budget-avx2-long.json": "the same benchmark's longer points (their epochs given), with the final model "
    "and M3 timed again in that run",
    "lesson07-budget-avx2.json": "the final recipe (lesson 08 since the split of lesson 07) against a training-time "
    "budget on a CPU without bfloat16: FLOPs per image (counted), speed against the CPU's measured peak (batch "
    "sizes, XLA), narrower and Muon-trained variants trained on all 50,000 images and tested once; M3 and the "
    "final model timed in the same run",
    "class-sizing.json": "every lesson in `smoke` and `quick`, each in a fresh kernel: wall time, CPU time and peak "
    "memory (RSS of the kernel's process tree); then several students running one lesson at once. Lesson 05 in "
    "`quick` did not run (no ImageNet weights)",
    "class-sizing-05-quick.json": "lesson 05 in `quick` alone, with random weights of VGG16's layout: the peak "
    "memory and CPU time missing from `class-sizing.json` (its wall time overlapped other work and says nothing)",
    "course-run-full.json": "lessons 01-06 in `full` (05 not run: no ImageNet weights), the course's reference "
    "run: time and accuracies per lesson, every saved run",
    "course-run-full-07.json": "lesson 07 (before the split: now lessons 07 and 08) in `full` with the race as it "
    "was then (the wide steps at batch 512) and the final model",
    "course-run-full-07-float32.json": "the same lesson 07 run with oneDNN limited to AVX2 "
    "(`ONEDNN_MAX_CPU_ISA=AVX2`): float32 everywhere, as on a CPU without bfloat16",
    "course-run-full-07-race.json": "lesson 07's race (steps 0-12; since the split, 0-7 in lesson 07, 8-12 in 08) "
    "in `full`, every step at batch 128, run by `benchmarks/lesson07_race.py`; the CPU was shared for parts of it, "
    "so its times are no speed figures",
    "course-run-quick.json": "the `quick` course, lessons 01-07, with the settings of that day (05 not run)",
    "course-run-quick-avx2.json": "the whole `quick` course, 01-08 as they were before lesson 07 was split, as a "
    "student's first run on a CPU like a "
    "laptop's; lesson 05 with random weights of VGG16's layout (its accuracies, and lesson 06's of its run, left out)",
    "course-run-quick-avx2-0928.json": "the `quick` course that morning, with lesson 07's final model trained "
    "(05 not run)",
    "course-run-quick-avx2-seed1.json": "lessons 03, 04 and 07 in `quick` with seed 1 and the morning's settings: "
    "do the lessons' claims hold for another seed? (CPU partly shared: times are no speed figures)",
    "course-run-quick-avx2-split.json": "lessons 07, 08 and 09 in `quick` as they are since lesson 07 was split, "
    "one `cifar-course run --profile quick --only 07-09` on a CPU like a laptop's, the runs folder holding lesson "
    "04's quick M3 (from the book's quick build) so that lesson 09 explained it as in a whole-course run: the "
    "headers' times for them",
    "course-run-quick-avx2-seed1-1156.json": "lessons 04, 07 and 08 (now 09) in `quick` with seed 1 and the final "
    "quick settings (CPU shared: times are no speed figures)",
    "lesson05-timing-full.json": "lesson 05 in `full` with random weights of VGG16's layout: its times only",
    "lesson05-timing-quick.json": "lesson 05 in `quick` with random weights of VGG16's layout: its times only",
    "lesson05-timing-quick-avx2.json": "lesson 05 in `quick` alone, with random weights of VGG16's and "
    "EfficientNetV2B0's layouts (its times only), with the time of each section and EfficientNetV2B0's speed per "
    "image at 64 and 96 px",
    "lesson07-final-model.json": "the final model (step 13; lesson 07's then, 08's since the split) trained alone, "
    "exactly as the lesson does; M3, `whitened_cnn` and `modern_cnn` timed beside it",
    "throughput.json": "training speed on the lessons' models: steps per execution, precision, batch size, tf.data, "
    "thread pools (read with `throughput.md`)",
    "throughput-lessons-03-05.json": "training speed of M1 and M2 (float32 against bfloat16; synthetic data) and of "
    "the frozen VGG16 with M4's head",
    "version-matrix.json": "the test suite on the oldest and newest versions the course supports (`nox -s matrix`)",
    "report.md": "the saved runs of the `quick` course that built the book (`cifar-course book --profile quick`) "
    "against the reference numbers, with `report.png`: quick's accuracies are far below the references by design "
    "(a tenth of the images, a few epochs); its times were measured while other work shared the CPU",
    "reference-models.md": "no measurement of this course's code: a copy of the course's reference spec (the "
    "tutorials' published numbers, and the reference code as measured when the course began)",
}
# Records that do not name the command that made them: the command (results/README.md, "Machines and data").
COMMAND_OF_UNRECORDED = {
    "lesson07-final-model.json": "python benchmarks/lesson07_full.py --json results/lesson07-final-model.json"
}


def _md_header(text: str) -> dict[str, str]:
    """An MD record's own header lines: '- Command: `...`', '- Started: ...', '- Made: DATE by `...`', '- Machine:'."""
    head: dict[str, str] = {}
    for line in text.splitlines()[:12]:
        if m := re.match(r"- (?:This )?[Mm]achine: ([^;]+)", line):
            head["machine"] = _machine_words(m.group(1))
        elif m := re.match(r"- Command: `([^`]+)`", line):
            head["command"] = m.group(1)
        elif m := re.match(r"- Started: (\S+?),", line):
            head["date"] = m.group(1)[:10]
        elif m := re.match(r"- Made: (\S+) by `([^`]+)`", line):
            head["date"], head["command"] = m.group(1)[:10], m.group(2)
    return head


def _commands(d: dict, file: str) -> str:
    """The command that made a record: its own, or its ``how``, or its runs' (the first, and how many more)."""
    if d.get("how") and not d.get("command"):
        return str(d["how"])
    cmds = [d["command"]] if d.get("command") else [r["command"] for r in _runs_of(d) if r.get("command")]
    cmds = list(dict.fromkeys(cmds)) or ([COMMAND_OF_UNRECORDED[file]] if file in COMMAND_OF_UNRECORDED else [])
    if not cmds:
        return "not recorded"
    more = f" and {len(cmds) - 1} more (in the record)" if len(cmds) > 1 else ""
    return f"`{cmds[0]}`{more}"


def block_results_index() -> str:
    """results/README.md: one row per record in results/ (a JSON with its MD, or an MD alone)."""
    rows = []
    for path in sorted(RESULTS.glob("*.json")) + sorted(RESULTS.glob("*.md")):
        if path.name == "README.md" or (path.suffix == ".md" and path.with_suffix(".json").exists()):
            continue
        name = f"[`{path.name}`]({path.name})"
        if path.suffix == ".json":
            d = load(path.name)
            if path.with_suffix(".md").exists():
                name += f" / [`.md`]({path.stem}.md)"
            what = RECORD_WHAT.get(path.name) or str(d.get("what", "not described: add it to RECORD_WHAT"))
            cells = (name, what, _commands(d, path.name), machine_of(path.name), date_of(path.name))
        else:
            head = _md_header(path.read_text())
            if path.with_suffix(".png").exists():
                name += f" / [`.png`]({path.stem}.png)"
            what = RECORD_WHAT.get(path.name, "not described: add it to RECORD_WHAT")
            cmd = f"`{head['command']}`" if "command" in head else "–"
            cells = (name, what, cmd, head.get("machine", "–"), head.get("date", "–"))
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "| record | what it measured | command | machine | date |\n|---|---|---|---|---|\n" + "\n".join(rows)


RACE_COLUMNS = (  # (key of RACES, column head)
    ("race07_avx2", "`full`, every step at batch 128"),
    ("full07_bf16", "`full`, the earlier race (wide steps at batch 512)"),
    ("quick_avx2", "`quick`, seed 42"),
    ("seed1b_avx2", "`quick`, seed 1"),
)


def block_results_race07() -> str:
    """Lesson 07's race, step by step: test accuracy in each record (with the TTA the step used)."""
    m = _Fill()
    steps: dict[int, str] = {}
    for key, _ in RACE_COLUMNS:
        for r in _race_steps(RACES[key]):
            steps.setdefault(r["step"], r.get("adds", ""))
    rows = []
    for step, adds in sorted(steps.items()):
        cells = [str(step), adds]
        for key, _ in RACE_COLUMNS:
            run = next((r for r in _race_steps(RACES[key]) if r["step"] == step), None)
            if run is None:
                cells.append("–")
                continue
            tta = run.get("tta") if run.get("tta") not in (None, "none") else ""
            cells.append(f"{{{key}_step{step}}}".format_map(m) + (f" ({tta} TTA)" if tta else ""))
        rows.append("| " + " | ".join(cells) + " |")
    head = "| step | adds | " + " | ".join(h for _, h in RACE_COLUMNS) + " |\n|---|---" + "|---" * len(RACE_COLUMNS)
    return head + "|\n" + "\n".join(rows) + "\n\n" + _sources_line(m.sources)


def block_results_full_runs() -> str:
    """course-run-full.json's saved runs, beside the reference code's numbers on the same data (cc.reference)."""
    from cifar_course import reference

    file = RUNS["full_bf16"][0]
    rows = []
    for lesson in load(file)["lessons"]:
        for r in lesson.get("saved_runs", []):
            ref = reference.reference_for(r["model"]) or {}
            ref_cell = (
                f"{FORMATS['pct'](ref['measured_jpeg_test'])}, {FORMATS['s'](ref['measured_seconds'])}"
                if ref.get("measured_jpeg_test")
                else "–"
            )
            cells = (
                f"{r['model']}" + (f" ({r['dataset']})" if r.get("dataset") != "cifar10" else ""),
                lesson["lesson"],
                str(r["epochs"]),
                r["precision"],
                FORMATS["s"](r["train_seconds"]),
                FORMATS["ips"](r["images_per_second"]),
                FORMATS["pct"](r["val_accuracy"]),
                FORMATS["pct"](r["test_accuracy"]),
                ref_cell,
            )
            rows.append("| " + " | ".join(cells) + " |")
    head = (
        "| model | lesson | epochs | precision | training | speed | validation | test "
        "| reference code, same data: test, wall time |\n" + "|---" * 9 + "|\n"
    )
    return (
        head
        + "\n".join(rows)
        + f"\n\nMeasured: `results/{file}` ({machine_of(file)}, {date_of(file)}); the reference code: "
        "`cifar_course/reference.py` (R1 validated on the test set, as its tutorial does)."
    )


def block_results_final_compared() -> str:
    """lesson07-final-model.json: the final model's run and the models timed beside it."""
    fm = "lesson07-final-model.json"
    d = load(fm)
    rows = [
        f"| {d['model']} (the final model, this run) | {d['precision']} | {d['batch']} "
        f"| {FORMATS['median_ips'](d['images_per_second'])} (median of its epochs) | {d['epochs']} "
        f"| {FORMATS['min'](d['train_seconds'])} measured | 1 |"
    ]
    for c in d["compared"]:
        rows.append(
            f"| {c['name']} | {c['precision']} | {c['batch']} | {FORMATS['ips'](c['images_per_second'])} "
            f"| {c['epochs']} | {c['minutes_at_this_speed']:.1f} min at this speed | {c['final_model_speed_ratio']} |"
        )
    head = (
        "| model | precision | batch | speed | epochs | training time | the final model's speed / this one's |\n"
        "|---|---|---|---|---|---|---|\n"
    )
    return head + "\n".join(rows) + f"\n\nMeasured: `results/{fm}` ({machine_of(fm)}, {date_of(fm)})."


# benchmarks/lesson07_budget.py, per kind of CPU: the first record holds the probes and first points, the others
# longer points (their epochs given) with the final model and M3 timed again in the same run
BUDGET_07 = {
    "nobf16": ("lesson07-budget-avx2.json", "lesson07-budget-avx2-long.json", "lesson07-budget-avx2-narrow.json"),
    "bf16": (
        "lesson07-budget-bf16.json",
        "lesson07-budget-bf16-long.json",
        "lesson07-budget-bf16-final9.json",
        "lesson07-budget-bf16-wbias.json",
        "lesson07-budget-bf16-final8.json",
    ),
}


def _budget_points(kind: str) -> list[tuple[str, dict]]:
    """Every trained point of one kind of CPU's budget records, with its record, in the order they ran."""
    return [(file, p) for file in BUDGET_07[kind] if (RESULTS / file).is_file() for p in load(file).get("points", [])]


def _budget_best(kind: str) -> tuple[str, dict]:
    """The most accurate point (flip + shift TTA, to the 0.1 point the pages show) trained within 20 minutes, the
    fastest of equals, with its record."""
    within = [(f, p) for f, p in _budget_points(kind) if p["train_minutes"] <= 20]
    return max(within, key=lambda fp: (round(fp[1]["test_accuracy"], 3), -fp[1]["train_minutes"]))


def _budget_top(kind: str) -> tuple[str, dict]:
    """The most accurate point (flip + shift TTA) of all, whatever its training time, with its record."""
    return max(_budget_points(kind), key=lambda fp: fp[1]["test_accuracy"])


def _peak_for(record: dict, precision: str) -> float:
    """The record's measured peak for a probe's precision: bfloat16 matrix products for mixed bfloat16."""
    peak = record["peak"]
    if precision == "mixed_bfloat16" and "measured_matmul_gflops_bfloat16" in peak:
        return peak["measured_matmul_gflops_bfloat16"]
    return peak["measured_matmul_gflops"]


def _budget_optimizer(point: dict) -> str:
    """A trained point's optimizer, and whether the whitening layer's bias learned (for how many epochs)."""
    epochs = point.get("whitening_bias_epochs", 0)
    return point["optimizer"] + (f"; whitening bias learns for {epochs} epochs" if epochs else "")


def block_budget07(kind: str = "nobf16") -> str:
    """One kind of CPU's budget records: the final recipe's accuracy against training time, and the speed probes."""
    pct = FORMATS["pct"]
    files = [f for f in BUDGET_07[kind] if (RESULTS / f).is_file()]
    rows = [
        f"| {'-'.join(map(str, p['widths']))} | {_budget_optimizer(p)} | {p['params']:,} | {p['epochs']} "
        f"| {p['batch']} "
        f"| {p['train_minutes']:.1f} min | {FORMATS['median_ips'](p['images_per_second'])} "
        f"| {pct(p['test_accuracy_no_tta'])} / {pct(p['test_accuracy_flip_tta'])} / **{pct(p['test_accuracy'])}** "
        f"| `{file}` |"
        for file, p in _budget_points(kind)
    ]
    head = (
        "| widths | optimizer | parameters | epochs on all 50,000 images | batch | training | speed (median epoch) "
        "| test: no TTA / flip / flip + shift | record |\n" + "|---" * 9 + "|\n"
    )
    probes = [
        f"| {p['name']} | {p['batch']} | {'yes' if p['jit_compile'] else 'no'} | {p['precision']} "
        f"| {p['images_per_second']:.0f} | {p['train_gflop']:.2f} | {p['gflops_achieved']:.0f} "
        f"| {p['gflops_achieved'] / _peak_for(load(file), p['precision']):.0%} | `{file}` |"
        for file in files
        for p in load(file).get("probes", [])
    ]
    probe_head = (
        "| model (speed probe: 2,048 images in memory) | batch | XLA | precision | images/s "
        "| GFLOP per trained image (counted) | GFLOP/s | share of the measured peak for its precision | record |\n"
        + "|---" * 9
        + "|\n"
    )
    first = load(files[0])
    peaks = f"{first['peak']['measured_matmul_gflops']:.0f} GFLOP/s in float32"
    if "measured_matmul_gflops_bfloat16" in first["peak"]:
        peaks += f", {first['peak']['measured_matmul_gflops_bfloat16']:.0f} in bfloat16"
    sources = "; ".join(f"`results/{f}` ({machine_of(f)}, {date_of(f)})" for f in files)
    return (
        head
        + "\n".join(rows)
        + "\n\n"
        + probe_head
        + "\n".join(probes)
        + f"\n\nThis CPU's peak for matrix products (TensorFlow, 2048 x 2048, measured in the first run): {peaks}. "
        f"Precision of the trained points: {first['precision']}. Measured: {sources}; commands in the records."
    )


# benchmarks/lesson07_settings.py: TensorFlow's thread pools and data layout for the final model
SETTINGS_07 = (
    "lesson07-settings-bf16.json",
    "lesson07-settings-pipeline-bf16.json",
    "lesson07-settings-pipeline-isa-avx2.json",
)
SETTING_WHAT = {
    "default": "TensorFlow's choice",
    "intra2-inter1": "intra-op 2, inter-op 1",
    "intra1-inter2": "intra-op 1, inter-op 2",
    "intra4-inter1": "intra-op 4, inter-op 1",
    "channels_first": "channels first (NCHW), TensorFlow's threads",
}


def block_settings07() -> str:
    """The final model's speed under each thread setting and data layout, run by run, against TensorFlow's default."""
    files = [f for f in SETTINGS_07 if (RESULTS / f).is_file()]
    rows = []
    for file in files:
        d = load(file)
        feed = "the lesson's pipeline" if d.get("feed") == "pipeline" else "in-memory arrays"
        for setting, middle in d["median_images_per_second"].items():
            runs = ", ".join(f"{r['images_per_second']:.0f}" for r in d["runs"] if r["setting"] == setting)
            rows.append(
                f"| {SETTING_WHAT.get(setting, setting)} | {feed}, {d['images']:,} images, batch {d['batch']}, "
                f"{d['runs'][0]['precision']} "
                f"| {runs} | {middle:.0f} "
                f"| {d['against_default'][setting]:.2f} | `{file}` |"
            )
    head = (
        "| setting | fed from, batch, precision | images/s, run by run (second epoch) | median "
        "| against TensorFlow's choice | record |\n" + "|---" * 6 + "|\n"
    )
    sources = "; ".join(f"`results/{f}` ({machine_of(f)}, {date_of(f)})" for f in files)
    return (
        head + "\n".join(rows) + "\n\nThe final model (64-256-256), each run in a fresh process, the settings in "
        f"alternating order. Measured: {sources}; commands in the records."
    )


def blocks() -> dict:
    b = {f"runtime-{n}": (lambda n=n: block_runtime(n)) for n in LESSONS}
    b.update(
        {
            "readme-profiles": block_readme_profiles,
            "readme-per-lesson": block_readme_per_lesson,
            "teaching-runtime": block_teaching_runtime,
            "sizing-memory": block_sizing_memory,
            "sizing-tables": block_sizing_tables,
            "results-quick-avx2": block_results_quick_avx2,
            "results-index": block_results_index,
            "results-race07": block_results_race07,
            "results-full-runs": block_results_full_runs,
            "results-final-compared": block_results_final_compared,
            "budget-07": block_budget07,
            "budget-07-bf16": lambda: block_budget07("bf16"),
            "settings-07": block_settings07,
        }
    )
    return b


# ---- rewriting the pages -------------------------------------------------------------------------------------------


class FiguresError(ValueError):
    pass


def render_text(text: str, where: str) -> tuple[str, list[str]]:
    """The text with every block and inline figure regenerated, and the names of those that changed."""
    changed: list[str] = []
    known = blocks()

    def block(m):
        name = m.group(2)
        if name not in known:
            raise FiguresError(f"{where}: unknown figures block {name!r} (known: {', '.join(sorted(known))})")
        new = "\n" + known[name]().strip("\n") + "\n\n"
        if new != m.group(3):
            changed.append(name)
        return m.group(1) + new + m.group(4)

    def inline(m):
        name = m.group(2)
        if name not in registry():
            raise FiguresError(f"{where}: unknown figure {name!r} (see cifar_course/tools/figures.py)")
        new = registry()[name].text
        if new != m.group(3):
            changed.append(name)
        return m.group(1) + new + m.group(4)

    text = BLOCK_RE.sub(block, text)
    return INLINE_RE.sub(inline, text), changed


def notebooks(root: Path = ROOT) -> list[Path]:
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def update(root: Path = ROOT, write: bool = True) -> list[str]:
    """Regenerate every block; return 'file: name' for each that changed (written unless write=False)."""
    import nbformat

    stale: list[str] = []
    for rel in PAGES:
        path = root / rel
        old = path.read_text()
        new, changed = render_text(old, rel)
        stale += [f"{rel}: {c}" for c in changed]
        if write and new != old:
            path.write_text(new)
    for path in notebooks(root):
        rel = str(path.relative_to(root))
        nb = nbformat.read(path, as_version=4)
        dirty = False
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "markdown":
                continue
            new, changed = render_text(cell.source, f"{rel} cell {i}")
            stale += [f"{rel} cell {i}: {c}" for c in changed]
            if new != cell.source:
                cell.source, dirty = new, True
        if write and dirty:
            nbformat.write(nb, path)
    return stale


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="cifar-course figures", description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 listing each stale block")
    args = p.parse_args(argv)
    return run(check=args.check)


def run(check: bool = False) -> int:
    stale = update(write=not check)
    if check:
        for s in stale:
            print(f"stale: {s} (run: cifar-course figures)")
        return 1 if stale else 0
    for s in stale:
        print(f"rewrote {s}")
    print(f"{len(stale)} block(s) rewritten from results/" if stale else "every block is up to date")
    return 0
