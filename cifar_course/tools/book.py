"""The course as a book (Sphinx, myst-nb, sphinx-book-theme), built from the notebooks as they are.

    cifar-course book [--profile quick|smoke|full] [--out DIR] [--data DIR] [--linkcheck]
    python -m cifar_course book ...        (the same)

Each lesson runs as ``cifar-course run`` runs it (runner.execute_lesson: a fresh kernel, the profile in its
environment; a lesson that stops on ``MissingHere`` is "not run", any other error fails the build). Its outputs are
cached with jupyter-cache, keyed by its code, the helper package and the settings, so a rebuild reruns only the
lessons that changed. Sphinx then renders the executed copies (myst-nb with execution off), README.md as the landing
page, the guides in docs/ and the results, from a mirror of the repository's layout under the build folder, so
relative links and images resolve as they do on GitHub. Each lesson page starts with a note: profile, CPU, date,
download link.

This module is also the Sphinx extension book/conf.py loads: a link to a repository file that is no page of the
book (CONTRIBUTING.md, a results record) points to that file on GitHub.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import importlib.util
import os
import re
import sys
import time
from pathlib import Path

from ..profiles import PROFILES
from ..runtime import machine
from .common import EXIT_FAILED, EXIT_NOT_RUN, EXIT_OK, PROG, ToolError, say
from .links import BRANCH, badge_target, project_url
from .runner import Lesson, LessonResult, discover_lessons, execute_lesson, find_notebooks_dir, kernel_env, lesson_line

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"  # conf.py and index.md
PAGES = (
    "README.md",
    "docs/next.md",
    "docs/teaching.md",
    "docs/troubleshooting.md",
    "results/README.md",
    "results/report.md",
)
CLEAN = "_notebooks"  # the lessons as stored (no outputs), for the download links; no pages of the book
NEEDED = {
    "sphinx": "sphinx",
    "myst_nb": "myst-nb",
    "sphinx_book_theme": "sphinx-book-theme",
    "jupyter_cache": "jupyter-cache",
}
# the settings a lesson's outputs depend on besides its code (kernel_env sets the profile): the cache tells them apart
SETTINGS = (
    "COURSE_PROFILE",
    "CIFAR_COURSE_DATA",
    "CIFAR_COURSE_SEED",
    "CIFAR_COURSE_PRECISION",
    "CIFAR_COURSE_VGG16_WEIGHTS",
)
BADGE = "https://colab.research.google.com/assets/colab-badge.svg"  # offline, the book shows its own copy
WIDGET = "application/vnd.jupyter.widget-view+json"  # progress bars: without widget JavaScript they show nothing
IMAGE_RE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)|<img [^>]*src=\"([^\"]+)\"")


def check_installed() -> None:
    """Stop with one clear line when a package of the ``book`` extra is missing."""
    missing = [pip for module, pip in NEEDED.items() if importlib.util.find_spec(module) is None]
    if missing:
        raise ToolError(
            f"the book needs {', '.join(missing)}: install the book extra, pip install -e '.[book]'", EXIT_FAILED
        )


# --------------------------------------------------------------------------- the source folder
def write_if_changed(path: Path, data: bytes) -> None:
    """Write ``data`` unless the file already holds it (Sphinx then rereads only what changed)."""
    if not path.is_file() or path.read_bytes() != data:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def page_files() -> dict[str, bytes]:
    """The pages beside the lessons, the images they show and the book's index, by path in the source folder."""
    files = {name: (BOOK / name).read_bytes() for name in ("index.md", "colab-badge.svg")}
    for page in PAGES:
        text = (ROOT / page).read_text(encoding="utf-8")
        files[page] = text.encode()
        for match in IMAGE_RE.finditer(text):
            target = match.group(1) or match.group(2)
            image = Path(os.path.normpath((ROOT / page).parent / target))
            if "://" not in target and image.is_file() and image.is_relative_to(ROOT):
                files[image.relative_to(ROOT).as_posix()] = image.read_bytes()
    return files


def sync_source(source: Path, files: dict[str, bytes]) -> None:
    """Make ``source`` hold exactly ``files`` (relative path -> content), touching only what differs."""
    for name, data in files.items():
        write_if_changed(source / name, data)
    for path in sorted(source.rglob("*"), reverse=True):
        if path.is_file() and path.relative_to(source).as_posix() not in files:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


# --------------------------------------------------------------------------- executing, with a cache
def package_fingerprint() -> str:
    """A hash of the helper package's lesson modules (not the tools): the lessons' outputs depend on them too."""
    digest = hashlib.sha256()
    for path in sorted(ROOT.joinpath("cifar_course").rglob("*.py")):
        if "tools" not in path.relative_to(ROOT).parts:
            digest.update(path.relative_to(ROOT).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def cache_settings(env: dict[str, str]) -> dict[str, str | None]:
    """What a lesson's outputs depend on besides its code: the settings and the package (the cache matches them)."""
    return {name: env.get(name) for name in SETTINGS} | {"package": package_fingerprint()}


def as_stored(executed, original):
    """The executed notebook with the cell metadata it had on disk (nbclient adds timings; the cache hashes them)."""
    executed = copy.deepcopy(executed)
    for done, cell in zip(executed.cells, original.cells):
        done.metadata = copy.deepcopy(cell.metadata)
    return executed


def run_or_reuse(lesson: Lesson, build: Path, env: dict[str, str], profile: str, timeout: int | None):
    """(executed notebook, where its outputs came from, the run's result or None when they came from the cache)."""
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(build / "jupyter_cache"))
    original = nbformat.read(lesson.path, as_version=4)
    settings = cache_settings(env)
    try:
        record = cache.match_cache_notebook(original)
        if record.data.get("settings") == settings:
            return cache.merge_match_into_notebook(original)[1], record.data["outputs"], None
    except KeyError:  # never run with this code
        pass
    (build / "executed").mkdir(parents=True, exist_ok=True)
    result = execute_lesson(lesson, build / "executed" / lesson.path.name, env, timeout=timeout)
    executed = as_stored(nbformat.read(result.executed, as_version=4), original)
    outputs = {
        "profile": profile,
        "machine": machine(),
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "seconds": result.seconds,
        "status": result.status,
    }
    if result.status == "ok":
        bundle = CacheBundleIn(executed, str(lesson.path), data={"settings": settings, "outputs": outputs})
        cache.cache_notebook_bundle(bundle, check_validity=False, overwrite=True)
    return executed, outputs, result


# --------------------------------------------------------------------------- a lesson's page
def outputs_note(name: str, outputs: dict) -> str:
    """The MyST note at the top of a lesson page: profile, CPU, date, download and Colab links."""
    when = dt.datetime.fromisoformat(outputs["finished"]).strftime("%Y-%m-%d %H:%M UTC")
    stopped = " It stopped early: see the warning where it did." if outputs["status"] == "not run" else ""
    profile = outputs["profile"]
    return (
        "```{admonition} Where the outputs on this page come from\n:class: note\n\n"
        f"This notebook ran in the `{profile}` profile ({PROFILES[profile].purpose}) on {when}, in "
        f"{outputs['seconds']:.0f} s, on this CPU: {outputs['machine']}.{stopped}\n\n"
        f"[Download the notebook](path:/{CLEAN}/{name}) (the lesson as stored, without outputs) "
        f"or [open it in Colab]({badge_target(project_url(), name)}).\n"
        "```\n"
    )


def not_run_note(evalue: str) -> str:
    """The MyST warning in place of a ``MissingHere`` error: what is missing and how to get it."""
    return (
        "````{admonition} Not run here: the lesson stopped at the cell above\n:class: warning not-run\n\n"
        "It stopped because something it needs is missing on the "
        "machine that built this book (`cifar-course run` reports such a lesson as *not run*, not as broken):\n\n"
        f"```text\n{evalue.strip()}\n```\n\n"
        "The cells below are shown without their outputs.\n"
        "````\n"
    )


def page_notebook(nb, name: str, outputs: dict, result: LessonResult | None):
    """The notebook as its page shows it: the note under the title, a warning where it stopped, solutions folded,
    no widgets (the book has no widget JavaScript), the Colab badge from the book itself."""
    import nbformat

    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if WIDGET not in o.get("data", {})]
        if "solution" in cell.metadata.get("tags", []):  # folded, as in Jupyter (source_hidden)
            cell.metadata["tags"] = [*cell.metadata["tags"], "hide-input"]
    if result is not None and result.status == "not run":  # the error output becomes a plain warning
        at = result.error["cell"] - 1
        error = next(o for o in nb.cells[at].outputs if o.output_type == "error")
        nb.cells[at].outputs = [o for o in nb.cells[at].outputs if o.output_type != "error"]
        nb.cells.insert(at + 1, nbformat.v4.new_markdown_cell(not_run_note(error.evalue)))
    title = nb.cells[0]
    lines = title.source.splitlines(keepends=True)
    badge = next((i for i, line in enumerate(lines) if "colab.research.google.com" in line), 0)
    lines.insert(badge + 1, "\n" + outputs_note(name, outputs))
    title.source = "".join(lines).replace(BADGE, "/colab-badge.svg")
    return nb


# --------------------------------------------------------------------------- building
def sphinx(builder: str, source: Path, out: Path, doctrees: Path) -> int:
    """Run one Sphinx builder on ``source`` with book/conf.py; its exit status."""
    from sphinx.cmd.build import build_main

    return build_main(["-b", builder, "-c", str(BOOK), "-d", str(doctrees), "-q", str(source), str(out)])


def pages_url() -> str:
    """Where GitHub Pages publishes the book, https://OWNER.github.io/NAME/ (from pyproject.toml's Repository)."""
    owner, name = project_url().removeprefix("https://github.com/").split("/")
    return f"https://{owner.lower()}.github.io/{name}/"


def build_root(out: str | Path | None, name: str) -> Path:
    """Where a build goes: ``out``, else book/_build/<name>/."""
    return Path(out).expanduser().resolve() if out else BOOK / "_build" / name


def build_book(
    profile: str = "quick",
    *,
    out: str | Path | None = None,
    data_dir: str | Path | None = None,
    notebooks: str | Path | None = None,
    timeout: int | None = None,
) -> tuple[Path, int]:
    """Execute (or reuse) every lesson in ``profile`` and build the HTML book; (its index.html, exit status)."""
    import nbformat

    check_installed()
    build = build_root(out, profile)
    lessons = discover_lessons(find_notebooks_dir(notebooks))
    data = Path(data_dir).expanduser() if data_dir else None
    if data is not None and not data.is_dir():
        raise ToolError(f"--data {data} is not a folder")
    env = kernel_env(profile, data, build / "runs")
    files = page_files()
    say(f"Building the book in profile {profile} in {build}")
    not_run = []
    for lesson in lessons:
        nb, outputs, result = run_or_reuse(lesson, build, env, profile, timeout)
        if result is None:
            say(f"{lesson.number} {lesson.name}: outputs from the cache ({outputs['finished']}, {outputs['machine']})")
        else:
            say(lesson_line(result))
        if result is not None and result.status == "interrupted":
            raise KeyboardInterrupt
        if result is not None and result.status == "failed":
            where = f" at cell {result.error['cell']} (`{result.error['source']}`)" if result.error else ""
            raise ToolError(
                f"lesson {lesson.number} ({lesson.path.name}) failed{where}: {result.reason} -- the executed "
                f"notebook up to the error is {result.executed}; the book was not built",
                EXIT_FAILED,
            )
        if result is not None and result.status == "not run":
            not_run.append(f"lesson {lesson.number} not run: {result.reason} (its page says so)")
        page = page_notebook(nb, lesson.path.name, outputs, result)
        files[f"notebooks/{lesson.path.name}"] = nbformat.writes(page).encode()
        files[f"{CLEAN}/{lesson.path.name}"] = lesson.path.read_bytes()
    sync_source(build / "source", files)
    started = time.perf_counter()
    if sphinx("html", build / "source", build / "html", build / "doctrees") != 0:
        raise ToolError("Sphinx could not build the book (its messages are above)", EXIT_FAILED)
    say(f"Sphinx wrote the book in {time.perf_counter() - started:.0f} s: {build / 'html' / 'index.html'}")
    for line in not_run:
        print(f"{PROG}: warning: {line}", file=sys.stderr, flush=True)
    return build / "html" / "index.html", EXIT_NOT_RUN if not_run else EXIT_OK


def check_links(out: str | Path | None = None, notebooks: str | Path | None = None) -> int:
    """Sphinx's linkcheck over the book's pages and the lessons as stored (needs internet); its exit status."""
    check_installed()
    build = build_root(out, "linkcheck")
    files = page_files()
    for lesson in discover_lessons(find_notebooks_dir(notebooks)):
        files[f"notebooks/{lesson.path.name}"] = files[f"{CLEAN}/{lesson.path.name}"] = lesson.path.read_bytes()
    sync_source(build / "source", files)
    status = sphinx("linkcheck", build / "source", build / "linkcheck", build / "doctrees")
    say(f"Link check: {build / 'linkcheck' / 'output.txt'}" + (" (broken links above)" if status else ""))
    return EXIT_FAILED if status else EXIT_OK


# --------------------------------------------------------------------------- the Sphinx extension
def github_links(app, doctree) -> None:
    """A link to a repository file that is no page of the book (CONTRIBUTING.md, results/throughput.md) -> GitHub."""
    from docutils import nodes
    from sphinx import addnodes

    here = Path(app.env.doc2path(app.env.docname, False)).parent
    for ref in list(doctree.findall(addnodes.pending_xref)):
        if ref.get("reftype") != "myst" or ref.get("refdomain"):
            continue
        path, _, anchor = ref["reftarget"].partition("#")
        target = Path(os.path.normpath(here / path))
        if path and not target.is_absolute() and ".." not in target.parts and (ROOT / target).exists():
            kind = "tree" if (ROOT / target).is_dir() else "blob"
            url = f"{project_url()}/{kind}/{BRANCH}/{target.as_posix()}" + (f"#{anchor}" if anchor else "")
            ref.replace_self(nodes.reference("", "", *ref.children, refuri=url, internal=False))


def setup(app) -> dict:
    """Sphinx's entry point (book/conf.py lists this module among its extensions)."""
    app.connect("doctree-read", github_links, priority=400)  # before myst resolves (and warns about) the links
    return {"parallel_read_safe": True, "parallel_write_safe": True}
