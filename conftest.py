"""Test-wide settings, applied before any notebook kernel starts (kernels inherit the environment), and the check
that no executed notebook cell prints TensorFlow's start-up lines or an object's bare repr."""

from __future__ import annotations

import functools
import os
import re
import tempfile

import pytest

# Notebooks run in the smoke profile under pytest (COURSE_TEST_PROFILE=quick overrides it, on purpose only).
os.environ["COURSE_PROFILE"] = os.environ.get("COURSE_TEST_PROFILE", "smoke")
# Runs trained during tests go to a temporary folder, never into a student's runs/.
os.environ["CIFAR_COURSE_RUNS"] = tempfile.mkdtemp(prefix="cifar-course-test-runs-")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

# What a student should never see in a cell's output (tests/test_outputs_clean.py tries these on examples)
STARTUP_LINE = re.compile(  # TensorFlow's native start-up lines (absl, CUDA, CPU features, oneDNN)
    r"absl::InitializeLog|cudart_stub\.cc|cuda_platform\.cc|cuda_driver\.cc|cuInit|Could not find cuda drivers"
    r"|cpu_feature_guard\.cc|This TensorFlow binary is optimized|^To enable the following instructions"
    r"|oneDNN custom operations are on"
)
OBJECT_REPR = re.compile(r"<[\w.]+[^<>\n]* at 0x[0-9a-fA-F]+>")  # e.g. <keras...History at 0x7f3a...>
NOISE = {
    "a TensorFlow start-up line (cc.setup() hides these)": STARTUP_LINE,
    "an object printed by accident (print what it holds, or end the line with ;)": OBJECT_REPR,
}


def noise_in(text: str) -> str | None:
    """'what: line' for the first line of ``text`` that should not be in a cell's output, or None."""
    for line in text.splitlines():
        for what, pattern in NOISE.items():
            if pattern.search(line):
                return f"{what}: {line.strip()}"
    return None


def output_text(output) -> str:
    """What an output shows as text: a printed stream, or the plain-text form of a result or display."""
    if output.get("output_type") == "stream":
        return output.get("text", "")
    return output.get("data", {}).get("text/plain", "")


@pytest.fixture
def find_noise():
    """The check each executed notebook cell passes (pytest_runtest_call below), for the tests of it."""
    return noise_in


def is_notebook_cell(item) -> bool:
    """True for nbval's test items, one per notebook cell (they keep the cell's outputs in ``test_outputs``)."""
    return hasattr(item, "test_outputs")


def pytest_collection_modifyitems(items):
    """Start each notebook's kernel as Jupyter does, passing what native code writes to fd 2 on to the cells.

    ipykernel does that except under pytest, which it recognises by PYTEST_CURRENT_TEST; nbval starts the kernel in
    the notebook's setup(), so that variable is left out meanwhile. Then TensorFlow's start-up lines reach the check.
    """
    for notebook in {item.parent for item in items if is_notebook_cell(item)}:
        notebook.setup = functools.partial(start_as_in_jupyter, notebook.setup)


def start_as_in_jupyter(setup) -> None:
    """Run nbval's ``setup`` (it starts the kernel) without PYTEST_CURRENT_TEST in the environment."""
    hidden = os.environ.pop("PYTEST_CURRENT_TEST", None)
    try:
        setup()
    finally:
        if hidden is not None:
            os.environ["PYTEST_CURRENT_TEST"] = hidden


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After nbval ran a notebook cell, fail the cell if its output holds a start-up line or a bare object repr."""
    result = yield
    outputs = (item.test_outputs or []) if is_notebook_cell(item) else []
    found = next(filter(None, (noise_in(output_text(output)) for output in outputs)), None)
    if found:
        item.raise_cell_error(found)  # nbval's own failure report: this message, then the cell's code
    return result
