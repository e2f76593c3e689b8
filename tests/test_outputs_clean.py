"""The check on every executed notebook cell (the root conftest.py): no TensorFlow start-up lines, no bare reprs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]

NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796542737.029903    4832 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will "
    "not be used.",
    "E0000 00:00:1796542767.670954    5095 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed "
    "call to cuInit: UNKNOWN ERROR (303)",
    "I0000 00:00:1796542760.134455    5095 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use "
    "available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the appropriate "
    "compiler flags.",
    "oneDNN custom operations are on. You may see slightly different numerical results due to floating-point "
    "round-off errors from different computation orders.",
    "<keras.src.callbacks.history.History at 0x7f3a2c1b9d50>",
    "loss: <LossFunctionWrapper(<function categorical_crossentropy at 0x7f2b4c5d6e70>, kwargs={})>",
    "[<matplotlib.lines.Line2D at 0x7fb1c0e2a4d0>]",
]
CLEAN = [
    "Test accuracy: 0.6791",
    "Epoch 1/2",
    "12/12 - 1s - 85ms/step - accuracy: 0.1400 - loss: 2.3131 - val_accuracy: 0.1000 - val_loss: 2.3024",
    "train (540, 32, 32, 3), validation (60, 32, 32, 3), test (200, 32, 32, 3) (pixels 0-255, uint8)",
    "<Figure size 640x480 with 1 Axes>",
    "schedule: CosineDecay (peak 0.2 at step 12)",
    "if x < 0x10 and y > 3: the pointer is 0x7f3a2c1b9d50",
    "Python 3.11.7 | TensorFlow 2.21.0 | Keras 3.15.1 | NumPy 2.4.6",
]


@pytest.mark.parametrize("line", NOISE)
def test_noise_is_found_and_named(find_noise, line):
    found = find_noise(f"Seeds fixed to 42.\n{line}\nmore output\n")
    assert found is not None and found.endswith(line)
    assert found.startswith("a TensorFlow start-up line") or found.startswith("an object printed by accident")


@pytest.mark.parametrize("line", CLEAN)
def test_ordinary_output_passes(find_noise, line):
    assert find_noise(f"{line}\n") is None


def test_the_check_fails_a_notebook_cell_that_prints_noise_and_passes_a_clean_one(tmp_path):
    """nbval runs a tiny notebook with the course's conftest.py: the noisy cells fail, naming the line.

    The last cell writes to file descriptor 2 as TensorFlow's C++ code does: the kernel passes that on (as in
    Jupyter, which ipykernel does not do under pytest unless conftest.py starts it so) and the check sees it.
    """
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # this folder is the root, not the course's pyproject.toml
    cells = [
        "print('Test accuracy: 0.6791')",
        "import sys\nprint('E0000 00:00:1.2 3 cuda_platform.cc:52] failed call to cuInit: (303)', file=sys.stderr)",
        "class History: pass\nHistory()",
        "import os, time\nos.write(2, b'I0000 00:00:1.2 3 cudart_stub.cc:31] Could not find cuda drivers\\n')\n"
        "time.sleep(1)  # the kernel passes fd 2 on from a thread of its own",
    ]
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), tmp_path / "t.ipynb")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider", "t.ipynb"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = result.stdout
    assert "1 passed" in out and "3 failed" in out, out[-3000:]
    assert "Cell 1: a TensorFlow start-up line (cc.setup() hides these): E0000 00:00:1.2 3 cuda_platform.cc:52]" in out
    assert (
        "Cell 2: an object printed by accident (print what it holds, or end the line with ;): <__main__.History at 0x"
        in out
    )
    assert "Cell 3: a TensorFlow start-up line (cc.setup() hides these): I0000" in out  # written to fd 2, as C++ does
