"""`cifar-course report`: the comparison table and chart, on fake run folders the tests write."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from cifar_course.data import CIFAR10_CLASSES
from cifar_course.runs import RunRecord
from cifar_course.tools import report
from cifar_course.tools.cli import main


def _run_folder(base: Path, name: str, **metrics) -> Path:
    folder = base / name
    folder.mkdir(parents=True)
    info = {
        "lesson": "02",
        "model": "R1_baseline",
        "params": 122_570,
        "epochs": 10,
        "train_seconds": 150.2,
        "images_per_second": 3321.7,
        "val_accuracy": 0.69,
        "test_accuracy": 0.6812,
        "dataset": "cifar10",
        "data_source": "JPEG image folder /data/cifar10 (cached)",
        "synthetic_data": False,
        "profile": "full",
        "machine": "x86_64, 2 CPU cores, Linux",
        "date": "2026-01-02T10:00:00",
        **metrics,
    }
    (folder / "metrics.json").write_text(json.dumps(info))
    return folder


def _fake_runs(base: Path) -> Path:
    _run_folder(base, "02_R1_20260102-100000")
    _run_folder(base, "02_R1_20260103-100000", test_accuracy=0.69, date="2026-01-03T10:00:00", precision="float32")
    _run_folder(
        base,
        "04_M3_20260102-120000",
        lesson="04",
        model="M3_deeper_cnn",
        params=1_084_234,
        epochs=15,
        val_accuracy=0.761,
        test_accuracy=0.752,
        date="2026-01-02T12:00:00",
    )
    _run_folder(
        base,
        "02_R1_20260104-090000",
        profile="smoke",
        epochs=1,
        test_accuracy=0.11,
        synthetic_data=True,
        data_source="SYNTHETIC stand-in data (no real data found)",
        date="2026-01-04T09:00:00",
    )
    (base / "03_M1_unfinished").mkdir()  # an interrupted run: no metrics.json, not listed
    (base / "course-full-20260101-000000").mkdir()  # a `cifar-course run` folder: not a model run
    return base


def _status(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_report_markdown_and_chart(tmp_path, capsys):
    runs = _fake_runs(tmp_path / "runs")
    status, out, err = _status(capsys, "report", "--runs", runs, "--out", tmp_path / "results")
    assert status == 0, err
    md = (tmp_path / "results" / "report.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| 0")]
    assert len(rows) == 4  # every saved run, none of the other folders
    r1 = next(line for line in rows if "02_R1_20260102-100000" in line)
    for expected in (
        "R1_baseline",
        "122,570",
        "| 15.0 |",
        "3,322",
        "68.1%",
        "JPEG copy",
        "full",
        "2 CPU cores",
        "70.3% test",
        "67.4% test, 298 s",
    ):
        assert expected in r1, expected
    m3 = next(line for line in rows if "M3_deeper_cnn" in line)
    assert "78.4% val" in m3 and "74.8% test, 644 s" in m3
    assert "SYNTHETIC" in next(line for line in rows if "smoke" in line)
    assert "| float32 |" in next(
        line for line in rows if "02_R1_20260103-100000" in line
    )  # older runs: no precision, "-"
    assert "| precision |" in md
    assert "## Reference numbers" in md and "| M4 |" in md and "report.png" in md
    with Image.open(tmp_path / "results" / "report.png") as png:
        assert png.format == "PNG" and png.size[0] > 500
    assert "02_R1_20260103-100000" in out


def test_report_filters(tmp_path, capsys):
    runs = _fake_runs(tmp_path / "runs")
    status, _, _ = _status(capsys, "report", "--runs", runs, "--out", tmp_path / "a", "--latest", "--profile", "full")
    assert status == 0
    rows = [line for line in (tmp_path / "a" / "report.md").read_text().splitlines() if line.startswith("| 0")]
    assert [line.split("|")[1].strip() for line in rows] == ["04_M3_20260102-120000", "02_R1_20260103-100000"]


def test_report_default_out_is_inside_runs(tmp_path, capsys, monkeypatch):
    runs = _fake_runs(tmp_path / "runs")
    monkeypatch.setenv("CIFAR_COURSE_RUNS", str(runs))
    assert _status(capsys, "report")[0] == 0
    assert (runs / "report" / "report.md").is_file()


def test_report_errors(tmp_path, capsys):
    status, _, err = _status(capsys, "report", "--runs", tmp_path / "missing")
    assert status == 2 and err.count("\n") == 1 and "does not exist" in err and "Traceback" not in err
    (tmp_path / "empty").mkdir()
    status, _, err = _status(capsys, "report", "--runs", tmp_path / "empty")
    assert status == 1 and err.count("\n") == 1 and "no saved runs" in err


def test_helpers():
    assert report.reference_for("R1_baseline")["model"] == "R1"
    assert report.reference_for("M2_dropout")["params"] == 2_105_066
    assert report.reference_for("M4_head")["lesson"] == "05"
    assert report.reference_for("R4_mnist") is None and report.reference_for(None) is None
    table = report.markdown_table(["a", "b"], [["x|y", None]])
    assert table.splitlines() == ["| a | b |", "|---|---|", "| x\\|y | - |"]
    assert report.data_kind(_record(data_source="official batches /x/cifar-10-batches-py")) == "official"
    assert report.data_kind(_record(data_source="download into /root/.keras/datasets")) == "official"
    assert report.data_kind(_record(data_source="image folder /data/mnist (cached)")) == "image folder"
    assert report.data_kind(_record(data_source="arrays /data/mine.npz")) == "arrays"
    assert report.data_kind(_record(source_kind="camera roll")) == "camera roll"  # a new run names its kind


def _record(name: str = "x", **metrics) -> RunRecord:
    """A run as cc.list_runs() returns it, of the metrics.json below with ``metrics`` changed (None: left out)."""
    info = {
        "lesson": "02",
        "model": "R1_baseline",
        "profile": "quick",
        "epochs": 10,
        "test_accuracy": 0.6812,
        "dataset": "cifar10",
        "data_source": "JPEG image folder /data/cifar10 (cached)",
        "date": "1",
        **metrics,
    }
    return RunRecord.from_metrics({k: v for k, v in info.items() if v is not None}, f"/runs/{name}")


def _other_runs(base: Path) -> Path:
    """Runs that must not stand beside the CIFAR-10 reference numbers, and one that must."""
    _run_folder(base, "02_R1_20260102-100000", class_names=CIFAR10_CLASSES)
    _run_folder(
        base,
        "02_R1_20260105-100000",
        class_names=["cat", "dog"],
        test_accuracy=0.97,  # own photos
        data_source="JPEG image folder /home/me/photos (cached)",
        date="2026-01-05T10:00:00",
    )
    _run_folder(
        base,
        "02_R4_20260106-100000",
        model="R4_mnist",
        dataset="mnist",
        test_accuracy=0.986,
        class_names=[str(d) for d in range(10)],
        data_source="JPEG image folder /data/mnist",
        date="2026-01-06T10:00:00",
    )
    _run_folder(
        base,
        "05_M4_20260107-100000",
        lesson="05",
        model="M4_transfer",
        profile="smoke",
        test_accuracy=0.11,
        weights="RANDOM weights (smoke profile fallback: no ImageNet weights available)",
        date="2026-01-07T10:00:00",
    )
    return base


def test_report_lists_other_data_separately(tmp_path, capsys, monkeypatch):
    charted = []
    bar_chart = report.bar_chart
    monkeypatch.setattr(report, "bar_chart", lambda runs, path: charted.extend(runs) or bar_chart(runs, path))
    runs = _other_runs(tmp_path / "runs")
    status, out, err = _status(capsys, "report", "--runs", runs, "--out", tmp_path / "results")
    assert status == 0, err
    md = (tmp_path / "results" / "report.md").read_text()
    cifar, other = md.split("## Other data sets, synthetic data and random weights")
    other = other.split("## Reference numbers")[0]
    assert [line.split("|")[1].strip() for line in cifar.splitlines() if line.startswith("| 0")] == [
        "02_R1_20260102-100000"
    ]
    rows = {line.split("|")[1].strip(): line for line in other.splitlines() if line.startswith("| 0")}
    assert len(rows) == 3
    own = rows["02_R1_20260105-100000"]
    assert "own data, 2 classes" in own and "JPEG image folder" in own and "JPEG copy" not in own
    assert "70.3%" not in own and "67.4%" not in own  # never beside R1's reference numbers
    mnist = rows["02_R4_20260106-100000"]
    assert "| mnist | JPEG image folder |" in mnist and "not CIFAR-10" in mnist
    m4 = rows["05_M4_20260107-100000"]
    assert "| random |" in m4 and "RANDOM weights" in m4 and "79.0%" not in m4
    assert "02_R1_20260105-100000: own data, 2 classes, JPEG image folder /home/me/photos (cached)" in md
    assert [r.name for r in charted] == ["02_R1_20260102-100000"]  # the chart: CIFAR-10 runs only
    own_printed = next(line for line in out.splitlines() if "02_R1_20260105-100000" in line)  # the command's own table
    assert "own data, 2 classes, JPEG image folder" in own_printed and "70.3%" not in own_printed


def test_report_with_no_cifar10_run(tmp_path, capsys):
    runs = tmp_path / "runs"
    _run_folder(
        runs,
        "02_R1_20260104-090000",
        profile="smoke",
        synthetic_data=True,
        data_source="SYNTHETIC stand-in data (no real data found)",
    )
    status, _, err = _status(capsys, "report", "--runs", runs, "--out", tmp_path / "results")
    assert status == 0, err
    md = (tmp_path / "results" / "report.md").read_text()
    assert "No saved run on real CIFAR-10." in md and "| SYNTHETIC |" in md and "synthetic data" in md
    with Image.open(tmp_path / "results" / "report.png") as png:
        assert png.format == "PNG"


def test_data_kind_and_latest_only_tell_own_data_apart():
    assert report.data_kind(_record()) == "JPEG copy"  # old runs: no class names recorded
    assert report.data_kind(_record(class_names=CIFAR10_CLASSES)) == "JPEG copy"
    assert report.data_kind(_record(class_names=["cat", "dog"])) == "JPEG image folder"
    assert report.data_kind(_record(dataset="mnist")) == "JPEG image folder"
    assert report.data_kind(_record(synthetic_data=True)) == "SYNTHETIC"
    assert report.data_text(_record(class_names=["cat", "dog"])) == "own data, 2 classes, JPEG image folder"
    runs = [
        _record(),
        _record(class_names=["cat", "dog"], date="2"),
        _record(weights="RANDOM", date="3"),
        _record(date="4"),
    ]
    assert [r.date for r in report.latest_only(runs)] == ["2", "3", "4"]  # the newest CIFAR-10 run stays
    rows = report.run_rows([_record(class_names=["cat", "dog"]), _record("y", train_seconds=150.2, params=122_570)])
    assert rows[0][-2:] == ["-", "-"] and rows[1][-1] == "67.4% test, 298 s"
    assert rows[1][:6] == ["y", "02", "R1_baseline", "122,570", 10, 150.2] and rows[1][6] == "15.0"


def test_report_skips_runs_whose_metrics_json_is_damaged_or_edited(tmp_path, capsys):
    """Issue 29: valid JSON of the wrong shape, or impossible accuracies, crashed the report with a TypeError."""
    runs = _fake_runs(tmp_path / "runs")
    _run_folder(runs, "02_R1_text_accuracy", test_accuracy="0.99")
    _run_folder(runs, "02_R1_accuracy_7_5", test_accuracy=7.5, date="2026-01-05T10:00:00")
    _run_folder(runs, "02_R1_numeric_date", date=20260106)
    (runs / "02_R1_a_list").mkdir()
    (runs / "02_R1_a_list" / "metrics.json").write_text('["not", "a", "run"]')
    status, out, err = _status(capsys, "report", "--runs", runs, "--out", tmp_path / "results")
    assert status == 0 and "Traceback" not in err, err
    md = (tmp_path / "results" / "report.md").read_text()
    assert len([line for line in md.splitlines() if line.startswith("| 0")]) == 4  # the four good runs only
    for name in ("text_accuracy", "accuracy_7_5", "numeric_date", "a_list"):
        assert name not in md
        assert sum(line.startswith("Skipping a saved run: ") and name in line for line in out.splitlines()) == 1
