"""Every lesson's "Open in Colab" badge and ``%pip install`` source, made from one setting.

The setting is the project's repository URL, ``[project.urls] Repository`` in ``pyproject.toml``. After changing it
(a fork, a new home), rewrite the lessons and check them:

    python -m cifar_course.tools.links --write     # rewrite the badge and the %pip line of every lesson
    python -m cifar_course.tools.links             # check only: exit status 1 and a list when a lesson disagrees
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .common import EXIT_FAILED, EXIT_OK, ToolError

ROOT = Path(__file__).resolve().parents[2]
BRANCH = "main"
BADGE = re.compile(r"\(https://colab\.research\.google\.com/github/[^)\s]*\)")
PIP = re.compile(r"git\+https://[^\s\"'\\]+")


def project_url(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The repository URL in ``pyproject.toml`` (``[project.urls] Repository``), without a trailing slash."""
    try:
        import tomllib
    except ImportError:  # Python 3.10: tomli is the same parser under its old name (pytest brings it)
        try:
            import tomli as tomllib
        except ImportError as err:
            raise ToolError("Reading pyproject.toml needs Python 3.11 or newer, or `pip install tomli`.") from err
    try:
        url = tomllib.loads(Path(pyproject).read_text())["project"]["urls"]["Repository"]
    except (OSError, KeyError) as err:
        raise ToolError(f'{pyproject} has no [project.urls] Repository = "https://github.com/OWNER/NAME".') from err
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+/?", url):
        raise ToolError(
            f"Repository URL {url!r} in {pyproject} is not https://github.com/OWNER/NAME (Colab needs one)."
        )
    return url.rstrip("/")


def badge_target(url: str, notebook: str) -> str:
    """Where a lesson's Colab badge points: the notebook on GitHub, opened by Colab."""
    owner_and_name = url.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{owner_and_name}/blob/{BRANCH}/notebooks/{notebook}"


def pip_source(url: str) -> str:
    """What the setup cell gives ``%pip install`` when the helper package is missing."""
    return f"git+{url}"


def expected_text(text: str, url: str, notebook: str) -> str:
    """A lesson file's text with its badge and %pip source made from ``url``."""
    text = BADGE.sub(f"({badge_target(url, notebook)})", text)
    return PIP.sub(pip_source(url), text)


def problems(path: Path, url: str) -> list[str]:
    """What is wrong with one lesson's badge and %pip line: missing, or not made from ``url``."""
    text = path.read_text(encoding="utf-8")
    found = [
        f"{path.name}: no {what}"
        for what, pattern in (("Colab badge", BADGE), ("%pip install git+ source", PIP))
        if not pattern.search(text)
    ]
    if not found and expected_text(text, url, path.name) != text:
        found.append(f"{path.name}: its Colab badge or %pip source is not made from {url}")
    return found


def lessons(notebooks: Path = ROOT / "notebooks") -> list[Path]:
    """The lesson notebooks (``NN_name.ipynb``) in a folder."""
    return sorted(p for p in Path(notebooks).glob("[0-9][0-9]_*.ipynb"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the lessons from the setting")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    parser.add_argument("--pyproject", type=Path, default=ROOT / "pyproject.toml")
    args = parser.parse_args(argv)
    try:
        url = project_url(args.pyproject)
    except ToolError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.status
    paths = lessons(args.notebooks)
    if args.write:
        for path in paths:
            text = path.read_text(encoding="utf-8")
            if expected_text(text, url, path.name) != text:
                path.write_text(expected_text(text, url, path.name), encoding="utf-8")
                print(f"rewrote {path}")
    found = [p for path in paths for p in problems(path, url)]
    print("\n".join(found) or f"{len(paths)} lessons: badges and %pip sources made from {url}")
    return EXIT_FAILED if found else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
