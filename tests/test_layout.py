"""The package's two rooms: lesson modules never import the tools, no import cycles, no private names cross modules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import cifar_course as cc

PACKAGE = Path(cc.__file__).resolve().parent
ROOT = PACKAGE.parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module imported, names imported from it) for every import in a file, module- or function-level."""
    this = _module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            module = f"{base}.{node.module}" if node.level and node.module else base if node.level else node.module
            names = [alias.name for alias in node.names]
            submodules = [
                f"{module}.{n}"
                for n in names
                if (ROOT / f"{module}.{n}".replace(".", "/")).with_suffix(".py").is_file()
                or (ROOT / f"{module}.{n}".replace(".", "/") / "__init__.py").is_file()  # a package: cc.checks
            ]
            plain = [n for n in names if f"{module}.{n}" not in submodules]  # `from . import data`: the module only
            found += ([(module, plain)] if plain else []) + [(s, []) for s in submodules]
    return found


FILES = sorted(PACKAGE.rglob("*.py"))
GRAPH = {_module_name(p): {m for m, _ in _imports(p) if m.startswith("cifar_course")} for p in FILES}


def test_lesson_modules_never_import_the_tools():
    lesson_modules = [p for p in FILES if "tools" not in p.relative_to(PACKAGE).parts and p.name != "__main__.py"]
    assert len(lesson_modules) >= 10
    offenders = {
        _module_name(p): sorted(m for m in GRAPH[_module_name(p)] if m.startswith("cifar_course.tools"))
        for p in lesson_modules
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_import_cycles():
    def reaches(start: str, goal: str, seen: frozenset[str]) -> bool:
        return any(
            nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})) for nxt in GRAPH.get(start, ())
        )

    modules = [m for m in GRAPH if m != "cifar_course"]  # the package's __init__ re-exports what the modules define
    assert len(modules) >= 15 and [m for m in modules if reaches(m, m, frozenset())] == []


def test_no_private_names_cross_module_boundaries():
    crossing = [
        (str(p.relative_to(ROOT)), m, n)
        for p in FILES
        for m, names in _imports(p)
        if m.startswith("cifar_course")
        for n in names
        if n.startswith("_") and not n.startswith("__")
    ]
    assert crossing == []


def test_every_name_cc_offers_exists():
    missing = [name for name in cc.__all__ if not hasattr(cc, name)]
    assert missing == [] and len(cc.__all__) == len(set(cc.__all__))


def test_the_checks_live_in_one_module_per_lesson_that_has_exercises():
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    lessons = {f"lesson{path.name[:2]}" for path in notebooks if "cc.checks.check_" in path.read_text()}
    modules = {path.stem for path in (PACKAGE / "checks").glob("*.py") if not path.stem.startswith("_")}
    assert len(lessons) >= 8 and modules == lessons


@pytest.mark.parametrize("folder", ["benchmarks"])
def test_benchmarks_define_no_layers_of_their_own(folder):
    for path in sorted((ROOT / folder).glob("*.py")):
        text = path.read_text()
        assert "layers." not in text and "Sequential(" not in text, f"{path.name} builds layers: use cc.models"


def test_the_command_line_starts_without_tensorflow():
    code = (
        "import sys; from cifar_course.tools.cli import main; main(['--help']); "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'imported TensorFlow'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
