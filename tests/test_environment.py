"""environment.yml (conda) installs the same packages, with the same versions, as pyproject.toml (pip)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest brings tomli, the same parser under its old name
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _split(spec: str) -> tuple[str, str]:
    name, version = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", spec.strip()).groups()
    return name.lower().replace("_", "-"), version.replace(" ", "")


def pip_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = (
        project["dependencies"] + project["optional-dependencies"]["course"] + project["optional-dependencies"]["test"]
    )
    return dict(_split(s) for s in specs)


def conda_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    specs = {}
    for item in env["dependencies"]:
        entries = item["pip"] if isinstance(item, dict) else [item]
        for spec in entries:
            if spec.startswith("-e") or spec.split("=")[0] in ("python", "pip"):
                continue
            name, version = _split(spec)
            specs[name] = version
    return specs


def test_environment_yml_matches_pyproject():
    pip, conda = pip_requirements(), conda_requirements()
    assert set(pip) == set(conda), (
        f"only in pyproject: {set(pip) - set(conda)}; only in environment.yml: {set(conda) - set(pip)}"
    )
    assert {n: v for n, v in pip.items() if conda[n] != v} == {}


def test_environment_yml_uses_conda_forge_and_installs_the_package():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    pip_section = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    assert "-e ." in pip_section


def header_lists() -> list[dict[str, str]]:
    """The package lists in environment.yml's header comment, in order: the teach extra's, then the book extra's."""
    blocks = re.findall(r"(?:^#\s+- \S+\n)+", (ROOT / "environment.yml").read_text(), flags=re.MULTILINE)
    return [dict(_split(s) for s in re.findall(r"- (\S+)", b) if s != "configurable-http-proxy") for b in blocks]


def test_students_install_no_teaching_tools_and_environment_yml_names_the_teachers_extra():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    teach = dict(_split(s) for s in extras["teach"])
    student = set(pip_requirements())
    assert "nbgrader" in teach and not set(teach) & student  # nbgrader, jupyterhub: the teacher's extra only
    assert header_lists()[0] == teach  # the comment a conda user copies lists the same teach packages and versions


def test_environment_yml_names_the_book_extra_and_students_do_not_need_it():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    book = dict(_split(s) for s in extras["book"])
    assert "sphinx" in book and not set(book) & set(pip_requirements())
    assert header_lists()[1:] == [book]  # the same book packages and versions as pyproject.toml's extra
