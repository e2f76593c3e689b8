"""Style is checked by tools: ruff lints and formats the whole tree, notebooks included (settings in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    "args, fix",
    [
        (("check", "--output-format", "concise", "."), "ruff check --fix ."),
        (("format", "--check", "."), "ruff format ."),
    ],
)
def test_ruff_is_clean(args, fix):
    result = _ruff(*args)
    assert result.returncode == 0, f"{result.stdout}{result.stderr}\nFix with: {fix}"
