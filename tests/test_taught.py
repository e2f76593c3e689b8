"""Every public function and class of the modules the lessons read names the lesson section that teaches it.

The form is "(lesson 06 §4)" (the notebook's markdown heading "## 4. ..."), "(lesson 06 exercises)" or "(lesson 01
setup)" (the cells before section 1), as d2l's
library names the section that defines each function; the test finds that section and the name used in it, so a tag
cannot point at a lesson that never shows the function. The internal modules (``INTERNAL``) serve the others and
no lesson calls them.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cifar_course"
INTERNAL = {
    "arrays",
    "formats",
    "pretrained",
    "tracebacks",
}  # shared helpers, the file readers, the pretrained weights, the hook setup installs (docstrings say)
TOOLS = [*(PACKAGE / "tools").glob("*.py"), *(ROOT / "benchmarks").glob("*.py")]
TAG = re.compile(r"lesson (\d\d) (?:§(\d+)|(exercises|setup))")


def _student_modules() -> list[str]:
    found = [p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_") and p.stem not in INTERNAL]
    found += [f"checks.{p.stem}" for p in (PACKAGE / "checks").glob("*.py") if not p.stem.startswith("_")]
    return sorted(found)


@cache
def _sections(lesson: str) -> dict[str, str]:
    """A lesson's sections by number ("4", or "exercises"): the text of their cells, code and markdown."""
    notebook = next((ROOT / "notebooks").glob(f"{lesson}_*.ipynb"))
    sections, current = {}, "setup"
    for cell in json.loads(notebook.read_text())["cells"]:
        text = "".join(cell["source"])
        heading = re.match(r"## (\d+)\.|## (Exercises)", text) if cell["cell_type"] == "markdown" else None
        if heading:
            current = heading.group(1) or "exercises"
        elif cell["cell_type"] == "markdown" and text.startswith("## "):
            current = None  # Recap, Questions: not a teaching section
        if current:
            sections[current] = sections.get(current, "") + "\n" + text
    return sections


def _public(module_name: str) -> list[tuple[str, object]]:
    module = importlib.import_module(f"cifar_course.{module_name}")
    return [
        (name, obj)
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and obj.__module__ == module.__name__
    ]


@pytest.mark.parametrize("module_name", _student_modules())
def test_every_public_function_names_the_lesson_section_that_uses_it(module_name):
    problems = []
    for name, obj in _public(module_name):
        doc = " ".join((inspect.getdoc(obj) or "").split())  # a tag may break across lines
        tags = TAG.findall(doc)
        if not tags and "(used by the tools)" in doc:  # no lesson calls it: the command line or a benchmark does
            if not any(re.search(rf"\b{name}\b", p.read_text()) for p in TOOLS):
                problems.append(f"{name}: says it is used by the tools, but no tool or benchmark uses it")
            continue
        if not tags and "(docs/troubleshooting.md)" in doc:  # a student meets it when a run was interrupted
            if not re.search(rf"\b{name}\b", (ROOT / "docs" / "troubleshooting.md").read_text()):
                problems.append(f"{name}: says docs/troubleshooting.md uses it, which it does not")
            continue
        if not tags:
            problems.append(f"{name}: no '(lesson NN §K)' in its docstring (or make it private)")
            continue
        lesson, section, exercises = tags[0]
        text = _sections(lesson).get(section or exercises)
        if text is None:
            problems.append(f"{name}: lesson {lesson} has no section {section or exercises}")
        elif not re.search(rf"\b{re.escape(name)}\b", text):
            problems.append(f"{name}: not used in lesson {lesson} §{section or exercises}")
    assert not problems, f"cifar_course.{module_name}:\n  " + "\n  ".join(problems)


def test_the_internal_modules_say_no_lesson_calls_them():
    for name in INTERNAL:
        doc = importlib.import_module(f"cifar_course.{name}").__doc__
        assert "no lesson" in doc.replace("\n", " ").lower()
