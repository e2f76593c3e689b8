"""`cifar-course report`: the comparison table and chart, on fake run folders the tests write."""
from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from cifar_course.tools import report
from cifar_course.tools.cli import main


def _run_folder(base: Path, name: str, **metrics) -> Path:
    folder = base / name
    folder.mkdir(parents=True)
    info = {"lesson": "02", "model": "R1_baseline", "params": 122_570, "epochs": 10, "train_seconds": 150.2,
            "images_per_second": 3321.7, "val_accuracy": 0.69, "test_accuracy": 0.6812, "dataset": "cifar10",
            "data_source": "JPEG image folder /data/cifar10 (cached)", "synthetic_data": False, "profile": "full",
            "machine": "x86_64, 2 CPU cores, Linux", "date": "2026-01-02T10:00:00", **metrics}
    (folder / "metrics.json").write_text(json.dumps(info))
    return folder


def _fake_runs(base: Path) -> Path:
    _run_folder(base, "02_R1_20260102-100000")
    _run_folder(base, "02_R1_20260103-100000", test_accuracy=0.69, date="2026-01-03T10:00:00", precision="float32")
    _run_folder(base, "04_M3_20260102-120000", lesson="04", model="M3_deeper_cnn", params=1_084_234, epochs=15,
                val_accuracy=0.761, test_accuracy=0.752, date="2026-01-02T12:00:00")
    _run_folder(base, "02_R1_20260104-090000", profile="smoke", epochs=1, test_accuracy=0.11, synthetic_data=True,
                data_source="SYNTHETIC stand-in data (no real data found)", date="2026-01-04T09:00:00")
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
    rows = [l for l in md.splitlines() if l.startswith("| 0")]
    assert len(rows) == 4  # every saved run, none of the other folders
    r1 = next(l for l in rows if "02_R1_20260102-100000" in l)
    for expected in ("R1_baseline", "122,570", "| 15.0 |", "3,322", "68.1%", "JPEG copy", "full", "2 CPU cores",
                     "70.3% test", "67.4% test, 298 s"):
        assert expected in r1, expected
    m3 = next(l for l in rows if "M3_deeper_cnn" in l)
    assert "78.4% val" in m3 and "74.8% test, 644 s" in m3
    assert "SYNTHETIC" in next(l for l in rows if "smoke" in l)
    assert "| float32 |" in next(l for l in rows if "02_R1_20260103-100000" in l)  # older runs: no precision, "-"
    assert "| precision |" in md
    assert "## Reference numbers" in md and "| M4 |" in md and "report.png" in md
    with Image.open(tmp_path / "results" / "report.png") as png:
        assert png.format == "PNG" and png.size[0] > 500
    assert "02_R1_20260103-100000" in out


def test_report_filters(tmp_path, capsys):
    runs = _fake_runs(tmp_path / "runs")
    status, _, _ = _status(capsys, "report", "--runs", runs, "--out", tmp_path / "a", "--latest", "--profile", "full")
    assert status == 0
    rows = [l for l in (tmp_path / "a" / "report.md").read_text().splitlines() if l.startswith("| 0")]
    assert [l.split("|")[1].strip() for l in rows] == ["04_M3_20260102-120000", "02_R1_20260103-100000"]


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
    assert report.data_kind({"data_source": "official batches /x/cifar-10-batches-py"}) == "official"
    assert report.data_kind({"data_source": "image folder /data/mnist (cached)"}) == "image folder"
