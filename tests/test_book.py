"""The course as a book (``cifar-course book``): built in the smoke profile into a temporary folder, then read.

In headless Chromium (tests/test_browser.py's helpers): every lesson page loads, shows its figures, has no error output,
and starts with the note on where its outputs come from (profile, CPU, date) with its download and Colab links; the
search page finds "Grad-CAM". Without a browser: every internal link leads to a built file, no page needs a script or
style sheet from the internet, a rebuild takes every lesson from the cache, and, with tiny stand-in lessons, a lesson
stopped by ``MissingHere`` says so plainly while any other error fails the build. Skipped, with the reason, when the
``book`` extra (or, for the pages, Playwright or Chromium) is missing; deselect with ``-m "not book"``. The smoke
build runs every lesson once: minutes (README, The tests).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from test_browser import ENV_AT_START, _chromium_page, browser  # noqa: F401 (browser: the fixture)

from cifar_course.tools.book import BADGE, NEEDED
from cifar_course.tools.links import badge_target, project_url

pytestmark = pytest.mark.book

REPO = Path(__file__).resolve().parents[1]
LESSONS = sorted(p.name for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ENV = {**ENV_AT_START, "CIFAR_COURSE_OFFLINE": "1"}  # never wait on a download
BUILD_TIMEOUT_S = 3600
NOTE = re.compile(
    r"ran in the smoke profile .* on \d{4}-\d\d-\d\d \d\d:\d\d UTC, .* on this CPU: .*(with|no) bfloat16", re.S
)


def needs_the_book_extra() -> None:
    """Skip, saying what to install, when a package of the book extra is missing."""
    for module, pip in NEEDED.items():
        pytest.importorskip(module, reason=f"{pip} is missing: pip install -e '.[book]'")


def build(out: Path, *args: str) -> subprocess.CompletedProcess:
    """``cifar-course book --profile smoke --out OUT ...`` in a subprocess; its result, with the time it took."""
    started = time.monotonic()
    command = [sys.executable, "-m", "cifar_course", "book", "--profile", "smoke", "--out", str(out), *args]
    result = subprocess.run(command, env=ENV, cwd=REPO, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    result.seconds = time.monotonic() - started
    return result


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """The course book in smoke, built twice into one folder (the second time from the cache)."""
    needs_the_book_extra()
    out = tmp_path_factory.mktemp("book")
    first = build(out)
    assert first.returncode == 0, f"{first.stdout}\n{first.stderr}"
    second = build(out)
    assert second.returncode == 0, f"{second.stdout}\n{second.stderr}"
    return {"html": out / "html", "first": first, "second": second}


def pages(html: Path) -> list[Path]:
    """The book's HTML pages (not the theme's templates that Sphinx copies into _static/)."""
    return sorted(p for p in html.rglob("*.html") if "_static" not in p.relative_to(html).parts)


class Links(HTMLParser):
    """Every (tag, rel, URL) of an HTML page's href and src attributes."""

    def __init__(self, page: Path):
        super().__init__()
        self.found: list[tuple[str, str, str]] = []
        self.feed(page.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.found += [(tag, attrs.get("rel") or "", attrs[key]) for key in ("href", "src") if attrs.get(key)]


def test_the_book_builds_in_smoke_and_a_rebuild_reruns_no_lesson(book, capsys):
    first, second = book["first"].stdout, book["second"].stdout
    for name in LESSONS:
        stem = Path(name).stem
        assert re.search(rf"^\d\d {stem}: ok in ", first, re.M), f"{stem} did not run in the first build:\n{first}"
        assert re.search(rf"^\d\d {stem}: outputs from the cache", second, re.M), f"{stem} ran again:\n{second}"
    with capsys.disabled():
        print(
            f"\nbook test: the smoke build took {book['first'].seconds:.0f} s, "
            f"the rebuild from the cache {book['second'].seconds:.0f} s"
        )


def test_every_lesson_page_shows_its_figures_no_error_and_where_its_outputs_come_from(book, browser):  # noqa: F811
    sync_api, executable = browser
    problems = []
    with _chromium_page(sync_api, executable) as page:
        for name in LESSONS:
            stem = Path(name).stem
            page.goto((book["html"] / "notebooks" / f"{stem}.html").as_uri())
            page.wait_for_load_state("load")
            text = page.locator("article").inner_text()
            widths = page.locator("article img").evaluate_all("imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
            figures = page.locator(".cell_output img").count()
            note = page.locator(".admonition.note").first.inner_text()
            colab = page.locator(f'a[href="{badge_target(project_url(), name)}"]').count()
            download = page.locator("a.download").first.get_attribute("href") or ""
            stored = (REPO / "notebooks" / name).read_bytes()
            checks = {
                "no figure in its outputs": figures == 0,
                f"an image did not load (natural widths {widths})": not widths or 0 in widths,
                "an error output": page.locator(".cell_output .traceback").count() > 0,
                "a traceback": "Traceback (most recent call last)" in text,
                "the lesson did not run in the smoke profile": "Profile: smoke" not in text,
                f"no note on profile, date and CPU: {note!r}": not NOTE.search(note),
                "no Colab link": colab == 0,
                "its download is not the lesson as stored": not download.endswith(name)
                or (book["html"] / "notebooks" / download).resolve().read_bytes() != stored,
            }
            problems += [f"{stem}: {what}" for what, bad in checks.items() if bad]
    assert not problems, "\n".join(problems)


def test_the_search_page_finds_grad_cam(book, browser):  # noqa: F811
    sync_api, executable = browser
    with _chromium_page(sync_api, executable) as page:
        page.goto((book["html"] / "search.html").as_uri() + "?q=Grad-CAM")
        results = page.locator("#search-results li a")
        results.first.wait_for(timeout=30_000)
        found = results.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert any("09_what_the_network_sees" in href for href in found), found


def test_every_internal_link_leads_to_a_built_file(book):
    html, broken, checked = book["html"], [], 0
    for page in pages(html):
        for _, _, url in Links(page).found:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or not parts.path:  # the internet, mailto:, or an anchor on this page
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            checked += 1
            if not (target.is_file() or (target / "index.html").is_file()):
                broken.append(f"{page.relative_to(html)}: {url}")
    assert checked > 100 and not broken, "\n".join(broken)


def test_no_page_needs_a_script_or_style_sheet_from_the_internet(book):
    html = book["html"]
    remote = [
        f"{page.relative_to(html)}: <{tag}> {url}"
        for page in pages(html)
        for tag, rel, url in Links(page).found
        if (tag == "script" or (tag == "link" and rel != "canonical"))
        and (urlsplit(url).scheme or url.startswith("//"))
    ]
    remote += [
        f"{css.relative_to(html)}: {m.group(0)}"
        for css in html.rglob("*.css")
        for m in re.finditer(r"(url\(|@import)\s*['\"]?(https?:)?//[^)'\"]+", css.read_text(encoding="utf-8"))
    ]
    assert not remote, "\n".join(remote)


def lesson(path: Path, *code: str) -> None:
    """A stand-in lesson: a title with its Colab badge, then ``code``, one cell each."""
    badge = f"[![Open In Colab]({BADGE})]({badge_target(project_url(), path.name)})"
    cells = [{"cell_type": "markdown", "metadata": {}, "source": f"# {path.stem}\n\n{badge}\n"}]
    cells += [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None} for c in code]
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.write_text(
        json.dumps({"cells": cells, "metadata": {"kernelspec": kernel}, "nbformat": 4, "nbformat_minor": 5})
    )


def test_a_lesson_stopped_by_missing_here_says_so_and_any_other_error_fails_the_build(tmp_path):
    needs_the_book_extra()
    lessons, out = tmp_path / "notebooks", tmp_path / "book"
    lessons.mkdir()
    lesson(lessons / "01_fine.ipynb", "import matplotlib.pyplot as plt\nplt.plot([0, 1]);")
    missing = "import cifar_course as cc\nraise cc.MissingHere('No weights here.\\nCopy them into ~/.keras/models.')"
    lesson(lessons / "02_stops.ipynb", "print('before')", missing, "print('after')")
    first = build(out, "--notebooks", str(lessons))
    assert first.returncode == 3, f"{first.stdout}\n{first.stderr}"  # built; a lesson not run (cifar-course run's 3)
    assert "lesson 02 not run: No weights here." in first.stderr
    page = (out / "html" / "notebooks" / "02_stops.html").read_text(encoding="utf-8")
    assert "Not run here" in page and "Copy them into ~/.keras/models." in page and "before" in page
    assert "traceback" not in page.lower() and page.count('class="cell_output') == 1  # only print('before') ran

    lesson(lessons / "01_fine.ipynb", "import matplotlib.pyplot as plt\nplt.plot([1, 0]);")  # changed: runs again
    lesson(lessons / "03_broken.ipynb", "print('fine so far')", "raise ValueError('a bug in the lesson')")
    second = build(out, "--notebooks", str(lessons))
    assert second.returncode == 1, f"{second.stdout}\n{second.stderr}"
    assert re.search(r"^01 01_fine: ok in ", second.stdout, re.M), second.stdout
    assert "lesson 03 (03_broken.ipynb) failed at cell 3" in second.stderr
    assert "ValueError: a bug in the lesson" in second.stderr and "the book was not built" in second.stderr
