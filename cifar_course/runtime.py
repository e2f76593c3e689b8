"""What a lesson runs on: library versions, the CPU, the compute precision, TensorFlow's quiet start, and ``setup``.

(Named runtime, not machine: ``cc.machine`` is the function that describes this machine.)
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import re
import sys
import tempfile

import numpy as np

from .folders import MissingHere, describe_sources, runs_dir
from .profiles import Profile, get_profile, set_seeds

MIN_VERSIONS = {"python": (3, 10), "tensorflow": (2, 16), "keras": (3, 0), "numpy": (1, 26)}


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("+")[0].split(".")[:2] if p.isdigit())


def versions() -> dict[str, str]:
    """Versions of Python and the main libraries the course needs (used by the tools)."""
    start_tensorflow()
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


def _check_versions(found: dict[str, str] | None = None) -> list[str]:
    """The libraries too old for the course (empty when all are recent enough); cc.setup prints them as warnings, just
    before (lesson 01 §1)."""
    found = found or versions()
    problems = []
    for lib, minimum in MIN_VERSIONS.items():
        if _version_tuple(found[lib]) < minimum:
            want = ".".join(map(str, minimum))
            problems.append(f"{lib} {found[lib]} is too old: the course needs {lib} >= {want}.")
    return problems


# --------------------------------------------------------------------------- the CPU
def machine() -> str:
    """A short description of this machine, for saved runs and reports (used by the tools)."""
    model = _cpu_model()
    vectors = "" if cpu_has_bf16() or _isa_limit() else _vector_isa()  # what a CPU without bfloat16 computes with
    return (
        f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}"
        + (f", {model}" if model else "")
        + f", {'with' if cpu_has_bf16() else 'no'} bfloat16 instructions"
        + (f", {vectors}" if vectors else "")
        + (f" (oneDNN limited to {_isa_limit()} by ONEDNN_MAX_CPU_ISA)" if _isa_limit() else "")
    )


def where_measured() -> dict:
    """What a measurement record says of its machine: the description, bfloat16, a oneDNN limit, the versions (used
    by the tools)."""
    return {
        "machine": machine(),
        "cpu_has_bf16": cpu_has_bf16(),
        "isa_limit": _isa_limit() or None,
        "versions": versions(),
    }


def _vector_isa() -> str:
    """The widest vector instructions this CPU has for float32, "AVX-512" or "AVX2 only", or "" where not known."""
    flags = _cpu_flags()
    return "AVX-512" if "avx512f" in flags else "AVX2 only" if "avx2" in flags else ""


def _cpu_flags() -> list[str]:
    """The CPU's flags (Linux's /proc/cpuinfo), or [] where they cannot be read."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return []


def _cpu_model() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), or "" where it cannot be read."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        return platform.processor()


# oneDNN instruction sets without bfloat16 arithmetic: with ONEDNN_MAX_CPU_ISA=AVX2, a CPU runs as most laptops do
ISAS_WITHOUT_BF16 = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI")


def _isa_limit() -> str:
    """The instruction set oneDNN (TensorFlow's CPU kernels) is limited to by $ONEDNN_MAX_CPU_ISA, or ""; machine()
    names it, and ``where_measured`` records it."""
    return os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()


def cpu_has_bf16() -> bool:
    """True when this CPU has native bfloat16 instructions (Linux flags avx512_bf16 or amx_bf16) that oneDNN may use
    (lesson 07 §2)."""
    if _isa_limit() in ISAS_WITHOUT_BF16:
        return False
    flags = _cpu_flags()
    return "avx512_bf16" in flags or "amx_bf16" in flags


# --------------------------------------------------------------------------- the precision
PRECISIONS = ("auto", "float32", "mixed_bfloat16")


def set_precision(default: str = "float32") -> str:
    """Set Keras's compute precision: $CIFAR_COURSE_PRECISION if set, else ``default``; returns the policy
    (lesson 03 §2).

    'auto' picks mixed_bfloat16 on a CPU with bfloat16 instructions and float32 everywhere else (on CPUs
    without them bfloat16 is slower; on a GPU mixed_float16 would be the one to try).
    """
    import keras

    env = os.environ.get("CIFAR_COURSE_PRECISION")
    where = "environment variable CIFAR_COURSE_PRECISION" if env else "argument"
    key = (env or default).strip().lower()
    if key not in PRECISIONS:
        raise ValueError(
            f"Unknown precision {key!r} ({where}). Valid: {', '.join(PRECISIONS)}. "
            "Example: CIFAR_COURSE_PRECISION=float32 jupyter lab"
        )
    if key == "auto":
        import tensorflow as tf

        key = "mixed_bfloat16" if cpu_has_bf16() and not tf.config.list_physical_devices("GPU") else "float32"
    keras.mixed_precision.set_global_policy(key)
    return key


# --------------------------------------------------------------------------- TensorFlow's start-up lines
# What TensorFlow's C++ code prints as it starts. It writes straight to file descriptor 2 (Jupyter shows that in the
# notebook), not through Python; TF_CPP_MIN_LOG_LEVEL=2 (set in __init__.py) hides the CPU lines but not the absl
# and CUDA ones, logged before TensorFlow applies it or (cuInit) as errors. None is a problem: no GPU is needed.
TF_STARTUP_LINES = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called"  # absl (Google's logging library)
    r"|cudart_stub\.cc:\d+\] Could not find cuda drivers"  # no GPU driver on this machine ...
    r"|failed call to cuInit"  # ... said again by the first look for a GPU
    r"|This TensorFlow binary is optimized to use available CPU instructions"  # cpu_feature_guard, two lines
    r"|^To enable the following instructions: .* rebuild TensorFlow"
    r"|oneDNN custom operations are on"
)
_tensorflow_started = False


def _without_startup_lines(text: str) -> str:
    """``text`` without TensorFlow's known start-up lines (TF_STARTUP_LINES); every other line is kept."""
    return "".join(line for line in text.splitlines(keepends=True) if not TF_STARTUP_LINES.search(line))


@contextlib.contextmanager
def _startup_lines_hidden():
    """Catch what is written to file descriptor 2 meanwhile, then pass it on to sys.stderr without start-up lines."""
    try:
        saved = os.dup(2)  # where fd 2 writes now (the terminal, or Jupyter's pipe to the notebook)
        caught = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
    except OSError:  # no file descriptor 2, or no temporary folder: hide nothing
        saved = None
    if saved is None:
        yield
        return
    sys.stderr.flush()
    os.dup2(caught.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        caught.seek(0)
        text = caught.read().decode(errors="replace")
        caught.close()
        sys.stderr.write(_without_startup_lines(text))


def start_tensorflow() -> None:
    """Import TensorFlow and let it look for devices, once, without its start-up lines (real errors still show);
    cc.setup calls it, and so do the tools (used by the tools)."""
    global _tensorflow_started
    if not _tensorflow_started:
        show_all = os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0"  # asked for every line TensorFlow prints
        with contextlib.nullcontext() if show_all else _startup_lines_hidden():
            import tensorflow as tf

            tf.config.list_physical_devices()  # the first look for a GPU prints the cuInit line
        _tensorflow_started = True


# --------------------------------------------------------------------------- Keras's retracing warning
class _KerasRetracingFilter(logging.Filter):
    """Drops TensorFlow's retracing warning when it is about Keras's own training step, not the student's code.

    Every new model traces Keras's step function once; a lesson that trains several small models in a short run
    (the smoke profile) adds these up to TensorFlow's "5 out of the last N calls ... triggered tf.function
    retracing", a false alarm. Retracing of any other function still shows.
    """

    KERAS_STEPS = ("multi_step_on_iterator", "one_step_on_data_distributed", "one_step_on_iterator")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message and any(s in message for s in self.KERAS_STEPS))


def _quiet_keras_retracing() -> None:
    """Drop the false retracing warning about Keras's own step from TensorFlow's logger (once); cc.setup does it, just
    before (lesson 01 §1)."""
    import tensorflow as tf

    logger = tf.get_logger()
    if not any(isinstance(f, _KerasRetracingFilter) for f in logger.filters):
        logger.addFilter(_KerasRetracingFilter())


def setup(seed: int = 42, dataset: str = "cifar10", precision: str = "float32") -> Profile:
    """Check versions, print profile, data source and precision, fix seeds: every lesson's setup cell (lesson 01
    setup)."""
    from .tracebacks import install_short_tracebacks

    install_short_tracebacks(MissingHere)  # in Jupyter, a failed check or a missing file shows its message alone
    start_tensorflow()  # TensorFlow starts here, its start-up lines hidden
    for problem in _check_versions():
        print("WARNING:", problem, "Re-run the README's install command.", file=sys.stderr)
    profile = get_profile()
    v = versions()
    print(f"Python {v['python']} | TensorFlow {v['tensorflow']} | Keras {v['keras']} | NumPy {v['numpy']}")
    print(f"Profile: {profile.name} ({profile.purpose})")
    print(f"Data: {describe_sources(dataset)}")
    print(f"Runs are saved under: {runs_dir()}")
    policy = set_precision(precision)
    print(
        f"Precision: {policy} (bfloat16 instructions on this CPU: {cpu_has_bf16()}; "
        "CIFAR_COURSE_PRECISION=float32|mixed_bfloat16|auto overrides it)"
    )
    set_seeds(seed)
    print(f"Seeds fixed to {seed}.")
    _quiet_keras_retracing()
    return profile
