"""Every lesson's Colab badge and %pip install source come from one setting: the Repository URL in pyproject.toml."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest brings tomli, the same parser under its old name
    import tomli as tomllib

from cifar_course.tools import links
from cifar_course.tools.common import ToolError

ROOT = Path(__file__).resolve().parents[1]
SETTING = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]


@pytest.mark.parametrize("path", links.lessons(ROOT / "notebooks"), ids=lambda p: p.name)
def test_lesson_badge_and_pip_source_follow_the_setting(path):
    text = "".join(
        "".join(cell["source"]) for cell in json.loads(path.read_text(encoding="utf-8"))["cells"][:3]
    )  # the title cell and the setup cell
    assert (
        f"colab.research.google.com/github/{SETTING.removeprefix('https://github.com/')}/blob/main/notebooks/"
        f"{path.name})" in text
    ), f"{path.name}: run python -m cifar_course.tools.links --write"
    assert f'%pip install -q "git+{SETTING}"' in text, f"{path.name}: run python -m cifar_course.tools.links --write"
    assert links.problems(path, SETTING) == []


def test_all_eight_lessons_are_checked():
    assert [p.name[:2] for p in links.lessons(ROOT / "notebooks")] == [f"{n:02}" for n in range(1, 10)]


def fork(tmp_path, url):
    """A copy of two lessons and a pyproject.toml whose setting is ``url``."""
    (tmp_path / "notebooks").mkdir()
    for name in ("01_data_exploration.ipynb", "05_transfer_learning.ipynb"):
        shutil.copy(ROOT / "notebooks" / name, tmp_path / "notebooks" / name)
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "x"\n\n[project.urls]\nRepository = "{url}"\n')
    return ["--notebooks", str(tmp_path / "notebooks"), "--pyproject", str(tmp_path / "pyproject.toml")]


def test_changing_the_setting_is_caught_then_rewritten(tmp_path, capsys):
    args = fork(tmp_path, "https://github.com/a-teacher/cifar-course-fork/")
    assert links.main(args) == 1  # the copies still point at the original
    assert "01_data_exploration.ipynb: its Colab badge or %pip source is not made from" in capsys.readouterr().out
    before = (tmp_path / "notebooks" / "05_transfer_learning.ipynb").read_text(encoding="utf-8")
    assert links.main([*args, "--write"]) == 0
    after = (tmp_path / "notebooks" / "05_transfer_learning.ipynb").read_text(encoding="utf-8")
    assert "github/a-teacher/cifar-course-fork/blob/main/notebooks/05_transfer_learning.ipynb)" in after
    assert '"git+https://github.com/a-teacher/cifar-course-fork\\"' in after
    assert "cifar-course/cifar-course" not in after
    # nothing else changed: the same lines but the two rewritten ones, and still valid JSON
    changed = [a for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert len(before.splitlines()) == len(after.splitlines()) and len(changed) == 2
    json.loads(after)
    assert links.main(args) == 0


def test_a_lesson_without_a_badge_is_reported(tmp_path):
    args = fork(tmp_path, SETTING)
    path = tmp_path / "notebooks" / "01_data_exploration.ipynb"
    path.write_text(path.read_text(encoding="utf-8").replace("colab.research.google.com/github", "example.org"))
    assert links.problems(path, SETTING) == ["01_data_exploration.ipynb: no Colab badge"]
    assert links.main(args) == 1


@pytest.mark.parametrize(
    "text, message",
    [
        ('[project]\nname = "x"\n', "has no [project.urls] Repository"),
        ('[project.urls]\nRepository = "https://gitlab.com/a/b"\n', "is not https://github.com/OWNER/NAME"),
    ],
)
def test_a_missing_or_non_github_setting_is_a_clear_error(tmp_path, text, message):
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(ToolError, match=message.replace("[", r"\[").replace(".", r"\.")):
        links.project_url(tmp_path / "pyproject.toml")
