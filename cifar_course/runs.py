"""A saved run as a typed record (RunRecord), read from its metrics.json: what it trained, on what data, how well."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .data import DATASETS

if TYPE_CHECKING:
    from .data import Dataset

DATA_KINDS = ("real", "synthetic", "own")  # own: class names other than the data set's usual ones (your photos)
# The lessons' numbering: 2 since lesson 07 was split (2026-12-06) into 07, the training recipe, and 08, architecture
# (the old lesson 07's steps 8-13 and its final models); the old lesson 08 became 09. Runs and records saved before
# carry no "numbering" (1): ``current_lesson`` reads their lesson numbers in today's numbering.
NUMBERING = 2
ARCHITECTURE_MODELS = ("modern_cnn", "whitened_cnn", "airbench_cnn")  # the old lesson 07's final models, now 08's


def current_lesson(lesson: str, model: str = "", step: int | None = None, numbering: int = 1) -> str:
    """The lesson a run or record belongs to today, from the lesson number it was saved with (lesson 09 §1)."""
    if numbering >= NUMBERING:
        return lesson
    if lesson == "08":
        return "09"
    if lesson == "07" and ((step is not None and int(step) >= 8) or model in ARCHITECTURE_MODELS):
        return "08"
    return lesson


@dataclass(frozen=True)
class RunRecord:
    """One saved run, read from its metrics.json: ``cc.list_runs()`` gives one per run (lesson 06 §1).

    ``RunRecord.from_metrics`` builds it; ``raw`` keeps the whole metrics.json for anything not named here.
    """

    folder: Path
    lesson: str
    model: str
    profile: str
    dataset: str  # the data set's name ("cifar10"); "" in runs that did not record it
    data_kind: str  # "real", "synthetic" (the smoke-test stand-in: its numbers mean nothing) or "own"
    source_kind: str  # where the images came from: "JPEG image folder", "official archive", "download", ...
    weights_kind: str  # lesson 05's pretrained weights: "ImageNet", "random" (a smoke fallback) or "" (none)
    params: int | None
    epochs: int
    train_seconds: float
    feature_seconds: float  # lesson 05: computing the VGG16 features once (0 for the other lessons)
    images_per_second: float | None
    val_accuracy: float | None
    test_accuracy: float
    tta: str  # lesson 07: the test-time augmentation behind test_accuracy ("" for none)
    preprocessing: str  # "vgg16" for lesson 05's models (VGG16's preprocess_input); "" for pixels / 255
    precision: str  # "float32", "mixed_bfloat16"; "" in runs that did not record it
    class_names: tuple[str, ...]  # () in runs saved before class names were recorded
    machine: str
    date: str
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_metrics(cls, info: dict, folder: str | Path) -> RunRecord:
        """The record of a metrics.json that ``list_runs`` accepted; the one place that reads older runs' texts.

        Runs saved since the record existed name their data, source and weights kinds; older ones only had the
        texts ``data_source`` ("SYNTHETIC ...", "JPEG image folder /path") and ``weights`` ("RANDOM ..."), read here.
        """
        synthetic = bool(info.get("synthetic_data")) or str(info.get("data_source", "")).startswith("SYNTHETIC")
        weights = info.get("weights_kind")  # "" for a new run without pretrained weights
        tta = str(info.get("tta") or "")
        return cls(
            folder=Path(folder),
            lesson=current_lesson(
                str(info["lesson"]), str(info["model"]), info.get("step"), int(info.get("numbering") or 1)
            ),
            model=str(info["model"]),
            profile=str(info["profile"]),
            dataset=str(info.get("dataset") or ""),
            data_kind=info.get("data_kind") or _data_kind(info, synthetic),
            source_kind=info.get("source_kind") or _source_kind(str(info.get("data_source") or ""), synthetic),
            weights_kind=_weights_kind(info.get("weights")) if weights is None else str(weights),
            params=info.get("params"),
            epochs=int(info["epochs"]),
            train_seconds=float(info.get("train_seconds") or 0),
            feature_seconds=float(info.get("feature_seconds") or 0),
            images_per_second=info.get("images_per_second"),
            val_accuracy=info.get("val_accuracy"),
            test_accuracy=float(info["test_accuracy"]),
            tta="" if tta == "none" else tta,
            preprocessing=str(info.get("preprocessing") or ""),
            precision=str(info.get("precision") or ""),
            class_names=tuple(info.get("class_names") or ()),
            machine=str(info.get("machine") or ""),
            date=str(info.get("date") or ""),
            raw=dict(info),
        )

    @property
    def name(self) -> str:
        """The run folder's name, e.g. '04_M3_20250101-120000' (what RUN = ... takes)."""
        return self.folder.name

    @property
    def synthetic(self) -> bool:
        """True when the run trained on the synthetic smoke-test stand-in (its numbers mean nothing)."""
        return self.data_kind == "synthetic"

    @property
    def data_label(self) -> str:
        """What the run trained on: 'synthetic', 'own data, 2 classes', or the data set's name ('cifar10')."""
        if self.data_kind == "own":
            return f"own data, {len(self.class_names)} classes"
        return "synthetic" if self.synthetic else self.dataset or "?"

    @property
    def on_cifar10(self) -> bool:
        """True for runs on real CIFAR-10: data set 'cifar10', its 10 classes where recorded, not synthetic."""
        return self.dataset == "cifar10" and self.data_kind == "real"

    @property
    def why_not_comparable(self) -> list[str]:
        """Why the run may not stand beside the CIFAR-10 reference numbers (an empty list: it may)."""
        reasons = []
        if self.synthetic:
            reasons.append("synthetic data")
        elif self.dataset != "cifar10":
            reasons.append(f"trained on {self.dataset or 'unknown data'}, not CIFAR-10")
        elif self.data_kind == "own":
            reasons.append(f"own data ({len(self.class_names)} classes), not CIFAR-10's 10 classes")
        if self.weights_kind == "random":
            reasons.append("RANDOM weights, not ImageNet")
        return reasons

    def why_left_out(self, data: Dataset, profile: str) -> list[str]:
        """Why ``cc.pick_run`` leaves this run out for ``data`` in ``profile`` (an empty list: it may pick it)."""
        reasons = []
        if self.dataset != data.name:
            reasons.append(f"trained on {self.dataset or 'unknown data'}, not {data.name}")
        wanted = None if data.synthetic else list(data.class_names)
        names = list(self.class_names)  # empty in runs saved before class names were recorded: not known
        if self.dataset == data.name and not self.synthetic and names and wanted and names != wanted:
            reasons.append(f"other classes ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})")
        if self.synthetic and (not data.synthetic or profile != "smoke"):
            reasons.append("synthetic data")
        if data.synthetic and not self.synthetic:
            reasons.append("real data, but the data now is synthetic")
        if profile != "smoke" and self.profile == "smoke":
            reasons.append("smoke profile")
        if profile != "smoke" and self.weights_kind == "random":
            reasons.append("RANDOM weights")
        return reasons

    @property
    def comparable(self) -> bool:
        """True for runs on real CIFAR-10 (its 10 classes) without RANDOM weights: like the reference numbers."""
        return not self.why_not_comparable

    @property
    def has_model(self) -> bool:
        """True when the run's folder still holds its trained model (model.keras), so cc.load_model can load it."""
        return (self.folder / "model.keras").is_file()

    @property
    def seconds(self) -> float:
        """The run's training time, lesson 05's one-off feature extraction included."""
        return self.train_seconds + self.feature_seconds


# --------------------------------------------------------------------------- the texts of runs saved before
def _data_kind(info: dict, synthetic: bool) -> str:
    names = info.get("class_names")  # runs saved before class names were recorded have none: not known
    usual = DATASETS[info["dataset"]].class_names if info.get("dataset") in DATASETS else None
    if synthetic:
        return "synthetic"
    return "own" if names and usual and list(names) != list(usual) else "real"


def _source_kind(source: str, synthetic: bool) -> str:
    if synthetic:
        return "synthetic stand-in"
    if source.startswith("download"):
        return "download"
    words = []
    for word in source.split():
        if "/" in word or "\\" in word:  # the path starts here
            break
        words.append(word)
    return " ".join(words) or "?"


def _weights_kind(weights) -> str:
    text = str(weights or "")
    if text.lower().startswith("random"):
        return "random"
    return "ImageNet" if "imagenet" in text.lower() else text
