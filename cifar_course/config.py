"""Profiles (how much work a run does), seeds, precision, versions and the folders the course uses."""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import random
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Profile:
    """How much data and how many epochs a run uses."""

    name: str
    train_size: int | None  # training images kept (stratified); None keeps them all
    test_size: int | None  # test images kept (stratified); None keeps them all
    purpose: str

    def pick(self, *, full, quick, smoke):
        """Return the value given for this profile, e.g. ``epochs = profile.pick(full=10, quick=4, smoke=1)``."""
        return {"full": full, "quick": quick, "smoke": smoke}[self.name]


PROFILES = {
    "smoke": Profile("smoke", 600, 200, "tests: a few hundred images and 1 epoch"),
    "quick": Profile("quick", 10_000, 2_000, "a class on laptops: a stratified subset and fewer epochs"),
    "full": Profile("full", None, None, "the reference settings: every image, reference epochs"),
}
DEFAULT_PROFILE = "full"
_chosen: str | None = None
_seed = 42  # the seed given to setup()/set_seeds(); split_validation follows it


class ConfigError(ValueError):
    """A setting (profile, folder, file) is wrong; the message says how to fix it."""


class MissingHere(ConfigError):
    """Something a lesson needs is not on this machine (e.g. VGG16's weights offline): `cifar-course run` reports
    the lesson as not run (exit 3), not as broken."""


def _check_profile_name(name: str, where: str) -> str:
    key = name.strip().lower()
    if key not in PROFILES:
        raise ConfigError(
            f"Unknown profile {name!r} ({where}). Valid profiles: {', '.join(PROFILES)}. "
            "Example: COURSE_PROFILE=quick jupyter lab"
        )
    return key


def set_profile(name: str) -> Profile:
    """Choose the profile from code (it wins over the COURSE_PROFILE environment variable)."""
    global _chosen
    _chosen = _check_profile_name(name, "set_profile")
    return PROFILES[_chosen]


def get_profile(name: str | None = None) -> Profile:
    """The profile in force: the argument, else set_profile(), else COURSE_PROFILE, else 'full'."""
    if name is not None:
        return PROFILES[_check_profile_name(name, "argument")]
    if _chosen is not None:
        return PROFILES[_chosen]
    env = os.environ.get("COURSE_PROFILE")
    if env:
        return PROFILES[_check_profile_name(env, "environment variable COURSE_PROFILE")]
    return PROFILES[DEFAULT_PROFILE]


def set_seeds(seed: int = 42) -> None:
    """Fix the seeds of Python, NumPy and TensorFlow (via Keras) so runs repeat on one machine.

    $CIFAR_COURSE_SEED, when set, replaces every seed a lesson asks for (``cifar-course run --seed N``): the same
    lesson with other random draws, to check that what it shows does not hang on one seed."""
    import keras

    global _seed
    seed = int(os.environ.get("CIFAR_COURSE_SEED") or seed)
    _seed = seed
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


def current_seed() -> int:
    """The seed last given to setup() or set_seeds() (42 before either is called)."""
    return _seed


def runs_dir() -> Path:
    """Where trained runs are saved: $CIFAR_COURSE_RUNS, else ``runs/`` beside the notebooks folder."""
    env = os.environ.get("CIFAR_COURSE_RUNS")
    if env:
        return Path(env).expanduser()
    here = Path.cwd()
    return (here.parent if here.name == "notebooks" else here) / "runs"


def cache_dir() -> Path:
    """Where decoded data sets are cached: $CIFAR_COURSE_CACHE, else ~/.cache/cifar-course."""
    return Path(os.environ.get("CIFAR_COURSE_CACHE", "~/.cache/cifar-course")).expanduser()


DEFAULT_DATA_DIR = Path("~/cifar-course-data")  # where `cifar-course data import` puts data by default


def data_folder(data_dir: str | Path | None = None) -> tuple[Path | None, str]:
    """The course data folder and why: the argument, else $CIFAR_COURSE_DATA, else ~/cifar-course-data if it exists."""
    if data_dir is not None or os.environ.get("CIFAR_COURSE_DATA"):
        setting = "data_dir" if data_dir is not None else "CIFAR_COURSE_DATA"
        root = Path(data_dir if data_dir is not None else os.environ["CIFAR_COURSE_DATA"]).expanduser()
        if not root.is_dir():
            raise ConfigError(f"{setting} points to {root}, which is not a folder. Fix the path or unset {setting}.")
        return root, f"from {setting}"
    default = DEFAULT_DATA_DIR.expanduser()
    if default.is_dir():
        return default, f"the default folder {DEFAULT_DATA_DIR}, found by itself"
    return None, f"none: CIFAR_COURSE_DATA is not set and {DEFAULT_DATA_DIR} does not exist"


def data_root(data_dir: str | Path | None = None) -> Path | None:
    """The course data folder (see ``data_folder``), or None."""
    return data_folder(data_dir)[0]


def keras_cache_dir() -> Path:
    """The folder where ``keras.datasets`` keeps downloads ($KERAS_HOME/datasets or ~/.keras/datasets)."""
    return Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "datasets"


def describe_sources(name: str = "cifar10", data_dir: str | Path | None = None) -> str:
    """Say where the course will look for a data set, without loading it."""
    try:
        root, why = data_folder(data_dir)
    except ConfigError as err:
        return str(err)
    if root is not None and (root / name).is_dir():
        return f"{name} from the course data folder {root / name} ({why})"
    where = f"the course data folder {root} ({why}) has no {name}/; " if root else f"no course data folder ({why}); "
    return where + f"next: Keras cache {keras_cache_dir()}, then download"


MIN_VERSIONS = {"python": (3, 10), "tensorflow": (2, 16), "keras": (3, 0), "numpy": (1, 26)}


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("+")[0].split(".")[:2] if p.isdigit())


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


def without_startup_lines(text: str) -> str:
    """``text`` without TensorFlow's known start-up lines (TF_STARTUP_LINES); every other line is kept."""
    return "".join(line for line in text.splitlines(keepends=True) if not TF_STARTUP_LINES.search(line))


@contextlib.contextmanager
def startup_lines_hidden():
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
        sys.stderr.write(without_startup_lines(text))


def start_tensorflow() -> None:
    """Import TensorFlow and let it look for devices, once, without its start-up lines (real errors still show)."""
    global _tensorflow_started
    if not _tensorflow_started:
        show_all = os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0"  # asked for every line TensorFlow prints
        with contextlib.nullcontext() if show_all else startup_lines_hidden():
            import tensorflow as tf

            tf.config.list_physical_devices()  # the first look for a GPU prints the cuInit line
        _tensorflow_started = True


def versions() -> dict[str, str]:
    """Versions of Python and the main libraries the course needs."""
    start_tensorflow()
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


def check_versions(found: dict[str, str] | None = None) -> list[str]:
    """Return a list of problems (empty when every library is recent enough)."""
    found = found or versions()
    problems = []
    for lib, minimum in MIN_VERSIONS.items():
        if _version_tuple(found[lib]) < minimum:
            want = ".".join(map(str, minimum))
            problems.append(f"{lib} {found[lib]} is too old: the course needs {lib} >= {want}.")
    return problems


def machine() -> str:
    """A short description of this machine (for saved runs and reports)."""
    model = cpu_model()
    return (
        f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}"
        + (f", {model}" if model else "")
        + f", {'with' if cpu_has_bf16() else 'no'} bfloat16 instructions"
        + (f" (oneDNN limited to {isa_limit()} by ONEDNN_MAX_CPU_ISA)" if isa_limit() else "")
    )


def cpu_model() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), or "" where it cannot be read."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        return platform.processor()


# oneDNN instruction sets without bfloat16 arithmetic: with ONEDNN_MAX_CPU_ISA=AVX2, a CPU runs as most laptops do
ISAS_WITHOUT_BF16 = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI")


def isa_limit() -> str:
    """The instruction set oneDNN (TensorFlow's CPU kernels) is limited to by $ONEDNN_MAX_CPU_ISA, or ""."""
    return os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()


def cpu_has_bf16() -> bool:
    """True when this CPU has native bfloat16 instructions (Linux flags avx512_bf16 or amx_bf16) that oneDNN may use."""
    if isa_limit() in ISAS_WITHOUT_BF16:
        return False
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


PRECISIONS = ("auto", "float32", "mixed_bfloat16")


def set_precision(default: str = "float32") -> str:
    """Set Keras's compute precision: $CIFAR_COURSE_PRECISION if set, else ``default``; returns the policy.

    'auto' picks mixed_bfloat16 on a CPU with bfloat16 instructions and float32 everywhere else (on CPUs
    without them bfloat16 is slower; on a GPU mixed_float16 would be the one to try).
    """
    import keras

    env = os.environ.get("CIFAR_COURSE_PRECISION")
    where = "environment variable CIFAR_COURSE_PRECISION" if env else "argument"
    key = (env or default).strip().lower()
    if key not in PRECISIONS:
        raise ConfigError(
            f"Unknown precision {key!r} ({where}). Valid: {', '.join(PRECISIONS)}. "
            "Example: CIFAR_COURSE_PRECISION=float32 jupyter lab"
        )
    if key == "auto":
        import tensorflow as tf

        key = "mixed_bfloat16" if cpu_has_bf16() and not tf.config.list_physical_devices("GPU") else "float32"
    keras.mixed_precision.set_global_policy(key)
    return key


def setup(seed: int = 42, dataset: str = "cifar10", precision: str = "float32") -> Profile:
    """Run at the top of every lesson: check versions, print profile, data source and precision, fix seeds."""
    from .checks import install_short_tracebacks

    install_short_tracebacks(ConfigError)  # in Jupyter, a failed check or a wrong setting shows its message alone
    start_tensorflow()  # TensorFlow starts here, its start-up lines hidden
    problems = check_versions()
    for problem in problems:
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
    quiet_keras_retracing()
    return profile


class KerasRetracingFilter(logging.Filter):
    """Drops TensorFlow's retracing warning when it is about Keras's own training step, not the student's code.

    Every new model traces Keras's step function once; a lesson that trains several small models in a short run
    (the smoke profile) adds these up to TensorFlow's "5 out of the last N calls ... triggered tf.function
    retracing", a false alarm. Retracing of any other function still shows.
    """

    KERAS_STEPS = ("multi_step_on_iterator", "one_step_on_data_distributed", "one_step_on_iterator")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message and any(s in message for s in self.KERAS_STEPS))


def quiet_keras_retracing() -> None:
    """Install KerasRetracingFilter on TensorFlow's logger (once)."""
    import tensorflow as tf

    logger = tf.get_logger()
    if not any(isinstance(f, KerasRetracingFilter) for f in logger.filters):
        logger.addFilter(KerasRetracingFilter())
