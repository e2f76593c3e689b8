"""cc.reference's recorded runs: what the course measured, read from results/ for the pages that show it."""

import json

import pytest

from cifar_course import reference


def _course_run(path, machine, runs):
    path.write_text(json.dumps({"machine": machine, "started": "2026-12-06T01:00:00", "lessons": runs}))


@pytest.fixture
def results(tmp_path, monkeypatch):
    folder = tmp_path / "results"
    folder.mkdir()
    monkeypatch.setattr(reference, "_results_folder", lambda: folder)
    return folder


def _saved(model, date, accuracy, **extra):
    return {
        "model": model,
        "profile": "full",
        "epochs": 3,
        "val_accuracy": accuracy,
        "test_accuracy": accuracy,
        "train_seconds": 60.0,
        "date": date,
        **extra,
    }


def test_recorded_runs_newest_first_with_machine_and_date(results):
    epyc = "x86_64, 2 CPU cores, Linux, AMD EPYC, no bfloat16 instructions"
    _course_run(
        results / "course-run-full-07.json",
        epyc,
        [{"lesson": "07", "saved_runs": [_saved("airbench_cnn", "2026-12-05T10:00:00", 0.5, step=10)]}],
    )
    _course_run(
        results / "course-run-full-07-race.json",
        epyc,
        [{"lesson": "07", "saved_runs": [_saved("airbench_cnn", "2026-12-06T10:00:00", 0.6, step=10)]}],
    )
    runs = reference.recorded_runs("08")  # recorded as lesson 07's step 10, before lesson 07 was split: 08's now
    assert [r.test_accuracy for r in runs] == [0.6, 0.5]  # the newer record first
    assert (
        runs[0].step == 10 and runs[0].where == "full profile, 2 cores, AMD EPYC, no bfloat16 instructions, 2026-12-06"
    )
    assert reference.recorded("08", "airbench_cnn").test_accuracy == 0.6
    assert reference.recorded_runs("07") == [] and reference.recorded("07", "airbench_cnn") is None
    assert reference.recorded_runs("03") == [] and reference.recorded("08", "M3") is None


def test_recorded_runs_leave_out_oneDNN_limited_runs_and_match_model_prefixes(results):
    limited = "x86_64, 2 CPU cores, Linux, AMD EPYC, no bfloat16 instructions (oneDNN limited to AVX2 by X)"
    _course_run(
        results / "course-run-full-07-float32.json",
        limited,
        [{"lesson": "07", "saved_runs": [_saved("step0_M3", "2026-12-06T10:00:00", 0.4)]}],
    )
    _course_run(
        results / "course-run-full.json",
        "x86_64, 2 CPU cores, Linux",
        [{"lesson": "03", "saved_runs": [_saved("M1_first_cnn", "2026-12-01T10:00:00", 0.64)]}],
    )
    assert reference.recorded_runs("07") == []  # an estimate with a limited instruction set is not a record
    assert reference.recorded("03", "M1").test_accuracy == 0.64  # 'M1' finds 'M1_first_cnn'
    assert reference.recorded("03", "M") is None


def test_no_results_folder_means_no_records(monkeypatch):
    monkeypatch.setattr(reference, "_results_folder", lambda: None)
    assert reference.recorded_runs("07") == [] and reference.recorded("04", "M3") is None


def test_this_repository_records_the_runs_the_lessons_show():
    assert reference._results_folder() is not None
    for lesson, model in (("03", "M1"), ("03", "M2"), ("04", "M3")):
        assert reference.recorded(lesson, model) is not None, (lesson, model)
    assert {0, 1, 2, 3, 4, 6} <= {r.step for r in reference.recorded_runs("07")}  # lesson 07: 5 and 7 train nothing
    steps = {r.step for r in reference.recorded_runs("08")}
    assert set(range(8, 14)) <= steps  # lesson 08 in quick shows the recorded full race for steps 8-12, the final 13
