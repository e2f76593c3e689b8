"""Versions, the CPU, the precision and TensorFlow's start-up lines (cifar_course/runtime.py)."""

from __future__ import annotations

import pytest

import cifar_course as cc
from cifar_course import runtime


def test_version_check_reports_old_libraries():
    current = cc.versions()
    assert runtime._check_versions(current) == []
    old = {**current, "tensorflow": "2.12.0", "keras": "2.12.0"}
    problems = runtime._check_versions(old)
    assert len(problems) == 2 and "tensorflow 2.12.0 is too old" in problems[0]


@pytest.fixture
def restore_policy():
    import keras

    yield
    keras.mixed_precision.set_global_policy("float32")


def test_precision_default_is_overridden_by_the_environment(monkeypatch, restore_policy):
    import keras

    monkeypatch.delenv("CIFAR_COURSE_PRECISION", raising=False)
    assert runtime.set_precision() == "float32"
    assert runtime.set_precision("mixed_bfloat16") == "mixed_bfloat16"
    assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    monkeypatch.setenv("CIFAR_COURSE_PRECISION", "float32")
    assert runtime.set_precision("mixed_bfloat16") == "float32"  # the user's setting wins over the lesson's
    assert keras.mixed_precision.global_policy().name == "float32"


def test_auto_precision_uses_bf16_only_where_the_cpu_has_it(monkeypatch, restore_policy):
    monkeypatch.delenv("CIFAR_COURSE_PRECISION", raising=False)
    monkeypatch.setattr(runtime, "cpu_has_bf16", lambda: False)
    assert runtime.set_precision("auto") == "float32"
    monkeypatch.setattr(runtime, "cpu_has_bf16", lambda: True)
    assert runtime.set_precision("auto") == "mixed_bfloat16"


def test_unknown_precision_is_a_clear_error(monkeypatch, restore_policy):
    monkeypatch.setenv("CIFAR_COURSE_PRECISION", "float16x")
    with pytest.raises(ValueError, match="Unknown precision 'float16x'.*CIFAR_COURSE_PRECISION.*float32"):
        runtime.set_precision()
    monkeypatch.delenv("CIFAR_COURSE_PRECISION")
    with pytest.raises(ValueError, match="Unknown precision 'half' \\(argument\\)"):
        runtime.set_precision("half")


def test_the_retracing_warning_about_keras_own_step_is_dropped_and_others_kept():
    import logging

    keep = runtime._KerasRetracingFilter()

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
    runtime._quiet_keras_retracing()
    runtime._quiet_keras_retracing()
    import tensorflow as tf

    assert sum(isinstance(f, runtime._KerasRetracingFilter) for f in tf.get_logger().filters) == 1


def test_machine_names_the_cpu_and_whether_it_has_bfloat16_instructions(monkeypatch):
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.setattr(runtime, "_cpu_model", lambda: "Test CPU 9000")
    monkeypatch.setattr(runtime, "cpu_has_bf16", lambda: True)
    assert runtime.machine().endswith(", Test CPU 9000, with bfloat16 instructions")
    monkeypatch.setattr(runtime, "cpu_has_bf16", lambda: False)
    monkeypatch.setattr(runtime, "_cpu_flags", lambda: ["fma", "avx2"])
    assert runtime.machine().endswith(", no bfloat16 instructions, AVX2 only")  # like most laptops
    monkeypatch.setattr(runtime, "_cpu_flags", lambda: ["avx2", "avx512f", "avx512_vnni"])
    assert runtime.machine().endswith(", no bfloat16 instructions, AVX-512")  # wider float32 vectors than a laptop's


def test_a_oneDNN_limit_without_bf16_counts_as_a_cpu_without_it(monkeypatch, restore_policy):
    monkeypatch.setattr(runtime, "_cpu_model", lambda: "Test CPU 9000")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx2")  # as on most laptops: TensorFlow's kernels use AVX2 at most
    assert runtime._isa_limit() == "AVX2" and not runtime.cpu_has_bf16()
    assert runtime.set_precision("auto") == "float32"
    assert runtime.machine().endswith("no bfloat16 instructions (oneDNN limited to AVX2 by ONEDNN_MAX_CPU_ISA)")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")  # a limit that keeps bf16: the CPU decides again
    assert runtime._isa_limit() == "AVX512_CORE_AMX" and "oneDNN limited to AVX512_CORE_AMX" in runtime.machine()


# --------------------------------------------------------------------------- TensorFlow's start-up lines
STARTUP_LINES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796542737.029903    4832 cudart_stub.cc:31] Could not find cuda drivers on your machine, "
    "GPU will not be used.",
    "E0000 00:00:1796542767.670954    5095 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: "
    "Failed call to cuInit: UNKNOWN ERROR (303)",
    "I0000 00:00:1796542760.134455    5095 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use "
    "available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the appropriate "
    "compiler flags.",
    "I0000 00:00:1796542760.2 5095 util.cc:169] oneDNN custom operations are on. You may see slightly different "
    "numerical results due to floating-point round-off errors from different computation orders. To turn them off, "
    "set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.",
]
REAL_LINES = [
    "E0000 00:00:1796542767.6 5095 op_kernel.cc:1857] OP_REQUIRES failed: OOM when allocating tensor",
    "WARNING: tensorflow 2.15 is too old: the course needs tensorflow >= 2.16.",
    "Epoch 1/2",
    "To enable them, set TF_ENABLE_ONEDNN_OPTS=1",
]


def test_without_startup_lines_drops_exactly_the_known_lines():
    text = "\n".join(STARTUP_LINES[:3] + REAL_LINES[:2] + STARTUP_LINES[3:] + REAL_LINES[2:]) + "\n"
    assert runtime._without_startup_lines(text) == "\n".join(REAL_LINES) + "\n"


def test_startup_lines_hidden_catches_file_descriptor_2_and_passes_the_rest_on(capfd):
    import os

    with runtime._startup_lines_hidden():
        os.write(2, ("\n".join(STARTUP_LINES + REAL_LINES[:1]) + "\n").encode())  # as C++ code writes: no Python
    assert capfd.readouterr().err == REAL_LINES[0] + "\n"
    os.write(2, b"after\n")  # fd 2 is back
    assert capfd.readouterr().err == "after\n"


def test_startup_lines_hidden_restores_file_descriptor_2_after_an_error(capfd):
    import os

    with pytest.raises(ImportError), runtime._startup_lines_hidden():
        os.write(2, (STARTUP_LINES[0] + "\nwhy the import failed\n").encode())
        raise ImportError("no tensorflow")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "why the import failed\nafter\n"


def test_without_file_descriptor_2_nothing_is_hidden(capfd, monkeypatch):
    import os

    def no_fd(fd):
        raise OSError("Bad file descriptor")

    with monkeypatch.context() as patched:  # undone before pytest's own capture needs os.dup again
        patched.setattr(os, "dup", no_fd)
        with runtime._startup_lines_hidden():
            os.write(2, (STARTUP_LINES[0] + "\n").encode())
    assert capfd.readouterr().err == STARTUP_LINES[0] + "\n"


def test_setup_in_a_fresh_python_prints_no_startup_lines_but_passes_other_lines_on(tmp_path, monkeypatch):
    """What a notebook's first cell shows: setup() in a new process; fd 2 gets one line of its own during the import."""
    import subprocess
    import sys

    script = tmp_path / "first_cell.py"
    script.write_text(
        "import importlib.abc, os, sys\n"
        "class Loud(importlib.abc.MetaPathFinder):  # writes to fd 2 when TensorFlow is imported, as C++ code would\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'tensorflow':\n"
        "            os.write(2, b'a line of its own, not start-up noise\\n')\n"
        "sys.meta_path.insert(0, Loud())\n"
        "import cifar_course as cc\n"
        "cc.setup()\n"
    )
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)  # as in a student's Jupyter: the course sets 2
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Seeds fixed to 42" in result.stdout
    for noise in ("absl::InitializeLog", "cudart_stub", "cuInit", "cpu_feature_guard", "oneDNN custom operations"):
        assert noise not in result.stderr, result.stderr
    assert "a line of its own, not start-up noise" in result.stderr


def test_tensorflow_starts_once_and_level_0_shows_every_line(monkeypatch):
    import contextlib

    hidden = []

    def counted():
        hidden.append(True)
        return contextlib.nullcontext()

    monkeypatch.setattr(runtime, "_startup_lines_hidden", counted)
    monkeypatch.setattr(runtime, "_tensorflow_started", False)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    runtime.start_tensorflow()
    runtime.versions()
    assert hidden == [True]
    monkeypatch.setattr(runtime, "_tensorflow_started", False)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")  # asked for everything: nothing hidden
    runtime.start_tensorflow()
    assert hidden == [True]
