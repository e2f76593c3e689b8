"""Profiles, seeds, versions and folders."""

from __future__ import annotations

import numpy as np
import pytest

import cifar_course as cc
from cifar_course import config


def test_profile_comes_from_environment_then_code(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "quick")
    assert cc.get_profile().name == "quick"
    monkeypatch.setenv("COURSE_PROFILE", " Full ")
    assert cc.get_profile().name == "full"
    cc.set_profile("smoke")
    assert cc.get_profile().name == "smoke"
    assert cc.get_profile("quick").name == "quick"  # an explicit argument wins


def test_default_profile_is_full(monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE")
    assert cc.get_profile().name == "full"
    assert cc.get_profile().train_size is None


@pytest.mark.parametrize("where", ["env", "code"])
def test_unknown_profile_lists_the_valid_ones(monkeypatch, where):
    if where == "env":
        monkeypatch.setenv("COURSE_PROFILE", "fast")
        call = cc.get_profile
    else:

        def call():
            return cc.set_profile("fast")

    with pytest.raises(cc.ConfigError) as err:
        call()
    assert "'fast'" in str(err.value) and "smoke, quick, full" in str(err.value)


def test_pick_and_sizes():
    assert [cc.PROFILES[n].pick(full=10, quick=4, smoke=1) for n in ("full", "quick", "smoke")] == [10, 4, 1]
    smoke, quick = cc.PROFILES["smoke"], cc.PROFILES["quick"]
    assert smoke.train_size < quick.train_size and smoke.test_size < quick.test_size


def test_seeds_repeat_python_numpy_and_tensorflow():
    import random

    import keras

    def draw():
        cc.set_seeds(7)
        return random.random(), np.random.rand(), float(keras.random.uniform((1,))[0])

    assert draw() == draw()


def test_runs_dir_follows_setting_or_sits_beside_notebooks(tmp_path, monkeypatch):
    monkeypatch.setenv("CIFAR_COURSE_RUNS", str(tmp_path / "r"))
    assert cc.runs_dir() == tmp_path / "r"
    monkeypatch.delenv("CIFAR_COURSE_RUNS")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert cc.runs_dir() == tmp_path / "runs"


def test_version_check_reports_old_libraries():
    current = cc.versions()
    assert config.check_versions(current) == []
    old = {**current, "tensorflow": "2.12.0", "keras": "2.12.0"}
    problems = config.check_versions(old)
    assert len(problems) == 2 and "tensorflow 2.12.0 is too old" in problems[0]


def test_setup_prints_profile_and_data_source(capsys, tmp_path, monkeypatch):
    (tmp_path / "d" / "cifar10").mkdir(parents=True)
    monkeypatch.setenv("CIFAR_COURSE_DATA", str(tmp_path / "d"))
    profile = cc.setup(seed=1)
    out = capsys.readouterr().out
    assert profile.name == "smoke"
    assert "Profile: smoke" in out and f"course data folder {tmp_path / 'd' / 'cifar10'}" in out
    assert "TensorFlow" in out and "Seeds fixed to 1" in out
    assert "Precision: " in out


@pytest.fixture
def restore_policy():
    import keras

    yield
    keras.mixed_precision.set_global_policy("float32")


def test_precision_default_is_overridden_by_the_environment(monkeypatch, restore_policy):
    import keras

    monkeypatch.delenv("CIFAR_COURSE_PRECISION", raising=False)
    assert config.set_precision() == "float32"
    assert config.set_precision("mixed_bfloat16") == "mixed_bfloat16"
    assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    monkeypatch.setenv("CIFAR_COURSE_PRECISION", "float32")
    assert config.set_precision("mixed_bfloat16") == "float32"  # the user's setting wins over the lesson's
    assert keras.mixed_precision.global_policy().name == "float32"


def test_auto_precision_uses_bf16_only_where_the_cpu_has_it(monkeypatch, restore_policy):
    monkeypatch.delenv("CIFAR_COURSE_PRECISION", raising=False)
    monkeypatch.setattr(config, "cpu_has_bf16", lambda: False)
    assert config.set_precision("auto") == "float32"
    monkeypatch.setattr(config, "cpu_has_bf16", lambda: True)
    assert config.set_precision("auto") == "mixed_bfloat16"


def test_unknown_precision_is_a_clear_error(monkeypatch, restore_policy):
    monkeypatch.setenv("CIFAR_COURSE_PRECISION", "float16x")
    with pytest.raises(cc.ConfigError, match="Unknown precision 'float16x'.*CIFAR_COURSE_PRECISION.*float32"):
        config.set_precision()
    monkeypatch.delenv("CIFAR_COURSE_PRECISION")
    with pytest.raises(cc.ConfigError, match="Unknown precision 'half' \\(argument\\)"):
        config.set_precision("half")


def test_the_retracing_warning_about_keras_own_step_is_dropped_and_others_kept():
    import logging

    keep = config.KerasRetracingFilter()

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("tensorflow", logging.WARNING, __file__, 1, message, None, None)

    keras_step = (
        "5 out of the last 15 calls to <function TensorFlowTrainer._make_function.<locals>."
        "multi_step_on_iterator at 0x7f> triggered tf.function retracing."
    )
    assert not keep.filter(record(keras_step))
    assert keep.filter(
        record("5 out of the last 5 calls to <function my_loss at 0x7f> triggered tf.function retracing.")
    )
    assert keep.filter(record("something else about multi_step_on_iterator"))
    config.quiet_keras_retracing()
    config.quiet_keras_retracing()
    import tensorflow as tf

    assert sum(isinstance(f, config.KerasRetracingFilter) for f in tf.get_logger().filters) == 1


def test_machine_names_the_cpu_and_whether_it_has_bfloat16_instructions(monkeypatch):
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.setattr(config, "cpu_model", lambda: "Test CPU 9000")
    monkeypatch.setattr(config, "cpu_has_bf16", lambda: True)
    assert config.machine().endswith(", Test CPU 9000, with bfloat16 instructions")
    monkeypatch.setattr(config, "cpu_has_bf16", lambda: False)
    assert config.machine().endswith(", no bfloat16 instructions")


def test_a_oneDNN_limit_without_bf16_counts_as_a_cpu_without_it(monkeypatch, restore_policy):
    monkeypatch.setattr(config, "cpu_model", lambda: "Test CPU 9000")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx2")  # as on most laptops: TensorFlow's kernels use AVX2 at most
    assert config.isa_limit() == "AVX2" and not config.cpu_has_bf16()
    assert config.set_precision("auto") == "float32"
    assert config.machine().endswith("no bfloat16 instructions (oneDNN limited to AVX2 by ONEDNN_MAX_CPU_ISA)")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")  # a limit that keeps bf16: the CPU decides again
    assert config.isa_limit() == "AVX512_CORE_AMX" and "oneDNN limited to AVX512_CORE_AMX" in config.machine()
