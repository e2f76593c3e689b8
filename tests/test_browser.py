"""Lessons in a real browser: JupyterLab on localhost, driven by headless Chromium through Playwright.

Runs all cells of lessons 01, 07 and 08 in the smoke profile, then checks that no cell has an error output and that
a figure rendered as an image. Lesson 09's photo upload and lesson 02's TensorBoard are driven as a student does them.
Saves a screenshot under $CIFAR_COURSE_ARTIFACTS (default: <tmp>/cifar-course-artifacts).
Skipped, with the reason, when Playwright or Chromium is missing (.ci/browser-deps.sh installs both);
deselect with ``-m "not browser"``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
LESSON = "01_data_exploration.ipynb"
ENV_AT_START = dict(os.environ)  # before the per-test fixtures point data, cache and Keras at empty folders
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RUN_TIMEOUT_S = 150


def chromium_path() -> str | None:
    """$CHROMIUM, else the first Chromium or Chrome on PATH."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    names = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
    return next((found for found in map(shutil.which, names) if found), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as reply:
        return json.load(reply)


@pytest.fixture
def browser():
    """Playwright's sync API and the Chromium to drive, or a skip that says what is missing."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is missing: run .ci/browser-deps.sh (pip install playwright)"
    )
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is missing: run .ci/browser-deps.sh (apt-get install chromium) or set CHROMIUM=/path")
    return sync_api, executable


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on 127.0.0.1 serving a copy of notebooks/ (the committed files are never touched)."""
    pytest.importorskip("jupyterlab", reason="JupyterLab is not installed: pip install -e '.[course]'")
    root = tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "runs"))
    nb = json.loads((root / LESSON).read_text())
    nb.setdefault("metadata", {})["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (root / LESSON).write_text(json.dumps(nb))
    settings = tmp_path / "lab-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')  # every cell in the page
    (tmp_path / "config" / "labconfig").mkdir(parents=True)  # no "Jupyter news?" pop-up over the screenshot
    (tmp_path / "config" / "labconfig" / "page_config.json").write_text(
        '{"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": true}}'
    )
    env = {
        **ENV_AT_START,
        "COURSE_PROFILE": "smoke",
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "CIFAR_COURSE_RUNS": str(tmp_path / "runs"),  # runs a lesson saves (lesson 09's M3) stay in the test's folder
        # as for a student whose environment is active: %tensorboard starts the `tensorboard` found on PATH
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), ENV_AT_START.get("PATH", "")]),
        "TMPDIR": str(tmp_path / "tmp"),  # where %tensorboard notes the servers it started (.tensorboard-info)
    }
    (tmp_path / "tmp").mkdir()
    env.setdefault("CIFAR_COURSE_OFFLINE", "1")  # never wait on a download from inside the browser test
    env.pop("MPLBACKEND", None)  # as for a student: figures show inline (the test harness sets Agg)
    port, token = _free_port(), secrets.token_hex(16)
    log = open(tmp_path / "jupyterlab.log", "w")  # noqa: SIM115 (the server writes to it until the test ends)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            f"--LabApp.user_settings_dir={tmp_path / 'lab-settings'}",
            f"--LabApp.workspaces_dir={tmp_path / 'ws'}",
            "--ServerApp.terminals_enabled=False",
            *(["--allow-root"] if os.geteuid() == 0 else []),
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited: {(tmp_path / 'jupyterlab.log').read_text()[-3000:]}")
            try:
                _get_json(f"{base}/api/status?token={token}")
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not answer within 60 s")
        yield {"base": base, "token": token, "root": root, "log": tmp_path / "jupyterlab.log"}
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # the server stops its kernels on SIGTERM
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        log.close()


def _menu(page, menu: str, item: str) -> None:
    """Click a menu of JupyterLab's menu bar, then one of its items, as a student would."""
    page.locator(".lm-MenuBar-item", has_text=menu).first.click()
    label = page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}$"))
    page.locator(".lm-Menu-item").filter(has=label).first.click()


def _kernel_busy(lab) -> bool:
    kernels = _get_json(f"{lab['base']}/api/kernels?token={lab['token']}")
    return not kernels or any(k["execution_state"] != "idle" for k in kernels)


@contextlib.contextmanager
def _chromium_page(sync_api, executable: str):
    """A fresh headless Chromium with a profile of its own, and its page; closed afterwards."""
    with sync_api.sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def _artifact(name: str) -> Path:
    """Where a screenshot goes: $CIFAR_COURSE_ARTIFACTS, else <tmp>/cifar-course-artifacts."""
    folder = Path(os.environ.get("CIFAR_COURSE_ARTIFACTS") or Path(tempfile.gettempdir()) / "cifar-course-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def _wait_until_idle(page, lab, deadline: float, what: str) -> None:
    """Idle, with no cell waiting ([*]), three polls in a row."""
    page.wait_for_timeout(1000)
    quiet = 0
    while quiet < 3:
        assert time.monotonic() < deadline, f"{what} did not finish in time"
        waiting = page.locator(".jp-InputArea-prompt", has_text="*").count()
        quiet = quiet + 1 if not waiting and not _kernel_busy(lab) else 0
        time.sleep(0.5)


# Lesson 01, and the two lessons that lesson 07's split made (the recipe, architecture): Run All Cells in smoke.
IN_BROWSER = {LESSON: RUN_TIMEOUT_S, "07_training_recipe.ipynb": 420, "08_architecture.ipynb": 600}


@pytest.mark.parametrize("lesson", list(IN_BROWSER))
def test_lesson_runs_clean_in_jupyterlab_and_shows_images(lesson, browser, lab, capsys):  # browser first: skip early
    sync_api, executable = browser
    number = lesson[:2]
    shot = _artifact(f"lesson{number}-jupyterlab.png")
    started = time.monotonic()
    with _chromium_page(sync_api, executable) as page:
        try:
            page.goto(f"{lab['base']}/lab/tree/{lesson}?reset&token={lab['token']}")
            page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
            deadline = started + IN_BROWSER[lesson]
            while _kernel_busy(lab):  # the kernel starts, then goes idle
                assert time.monotonic() < deadline, "the kernel did not start"
                time.sleep(0.5)
            _menu(page, "Run", "Run All Cells")
            _wait_until_idle(page, lab, deadline, f"lesson {number} (within {IN_BROWSER[lesson]} s)")
            _menu(page, "File", "Save Notebook")
            page.wait_for_timeout(1500)
            images = page.locator(".jp-OutputArea-output img")
            rendered = [
                images.nth(i).evaluate("img => img.naturalWidth * img.naturalHeight") for i in range(images.count())
            ]
            if rendered:  # the screenshot shows the largest figure (the image grid)
                images.nth(rendered.index(max(rendered))).scroll_into_view_if_needed()
        finally:
            page.screenshot(path=str(shot))
    with capsys.disabled():
        print(f"\nbrowser test: lesson {number} ran in {time.monotonic() - started:.0f} s; screenshot {shot}")
    saved = json.loads((lab["root"] / lesson).read_text())
    code = [c for c in saved["cells"] if c["cell_type"] == "code"]
    errors = [
        f"code cell {i} ({''.join(c['source'])[:60]!r}): {o.get('ename')}: {o.get('evalue')}"
        for i, c in enumerate(code, 1)
        for o in c["outputs"]
        if o["output_type"] == "error"
    ]
    assert not errors, "\n".join(errors)
    assert all(c["execution_count"] for c in code), "some cells did not run (see the screenshot)"
    assert any("image/png" in o.get("data", {}) for c in code for o in c["outputs"]), "no cell output an image"
    assert rendered and max(rendered) > 0, "no image rendered in the browser"


def test_lesson_08_explains_a_photo_uploaded_in_jupyterlab(browser, lab, tmp_path, capsys):
    """Lesson 09, section 6, as a student does it: run to the FileUpload button, upload a photo, run the next cells."""
    from PIL import Image
    from sklearn.datasets import load_sample_image

    sync_api, executable = browser
    lesson = "09_what_the_network_sees.ipynb"
    photo = tmp_path / "my_photo.jpg"  # a real photograph (427x640), not named like the lesson's sample photos
    Image.fromarray(load_sample_image("flower.jpg")).save(photo, quality=95)
    cells = json.loads((lab["root"] / lesson).read_text())["cells"]
    at = next(i for i, c in enumerate(cells) if "widgets.FileUpload(" in "".join(c["source"]))
    reader = next(i for i, c in enumerate(cells) if i > at and "upload.value" in "".join(c["source"]))
    shot = _artifact("lesson09-upload-jupyterlab.png")
    started = time.monotonic()
    deadline = started + 600
    with _chromium_page(sync_api, executable) as page:
        dom_cells = page.locator(".jp-Notebook .jp-Cell")
        try:  # up to the cell below the upload button
            _open_and_run_above(page, lab, lesson, at + 1, deadline, "lesson 09 up to the upload button")
            button = dom_cells.nth(at).locator(".widget-upload")
            with page.expect_file_chooser() as chooser:  # the widget's <input type=file> is never in the page
                button.click()
            chooser.value.set_files(photo)
            sync_api.expect(button).to_contain_text("(1)", timeout=30_000)  # the widget holds one file
            dom_cells.nth(reader).locator(".jp-InputPrompt").click()
            for _ in range(2):  # the cell that reads upload.value, then the figure below it
                _menu(page, "Run", "Run Selected Cell")
            _wait_until_idle(page, lab, deadline, "the cells after the upload")
            dom_cells.nth(reader + 1).scroll_into_view_if_needed()  # the screenshot shows the photo's figure
            _menu(page, "File", "Save Notebook")
            page.wait_for_timeout(1500)
        finally:
            page.screenshot(path=str(shot))
    with capsys.disabled():
        print(f"\nbrowser test: lesson 09 with an upload ran in {time.monotonic() - started:.0f} s; screenshot {shot}")
    saved = json.loads((lab["root"] / lesson).read_text())["cells"]
    errors = [
        f"cell {i} ({''.join(c['source'])[:60]!r}): {o.get('ename')}: {o.get('evalue')}"
        for i, c in enumerate(saved)
        for o in c.get("outputs", [])
        if o["output_type"] == "error"
    ]
    assert not errors, "\n".join(errors)
    printed = "".join("".join(o.get("text", "")) for o in saved[reader]["outputs"] if o["output_type"] == "stream")
    assert re.search(r"^my_photo\.jpg: [\w ]+ \d+\.\d%, [\w ]+ \d+\.\d%, [\w ]+ \d+\.\d%$", printed, re.M), printed
    assert "china.jpg" not in printed, "the lesson used its sample photos, not the upload"
    assert all(c["execution_count"] for c in saved[: reader + 2] if c["cell_type"] == "code"), "a cell did not run"
    assert any("image/png" in o.get("data", {}) for o in saved[reader + 1]["outputs"]), "no figure of the photo"
    assert any((tmp_path / "runs").iterdir()), "lesson 09 saved no run in the test's runs folder"


def _open_and_run_above(page, lab, lesson: str, at: int, deadline: float, what: str) -> None:
    """Open ``lesson`` in JupyterLab, wait for its kernel, select cell ``at`` and run every cell above it."""
    page.goto(f"{lab['base']}/lab/tree/{lesson}?reset&token={lab['token']}")
    cells = page.locator(".jp-Notebook .jp-Cell")
    cells.first.wait_for(timeout=60_000)
    while _kernel_busy(lab):
        assert time.monotonic() < deadline, "the kernel did not start"
        time.sleep(0.5)
    cells.nth(at).locator(".jp-InputPrompt").click()
    _menu(page, "Run", "Run All Above Selected Cell")
    _wait_until_idle(page, lab, deadline, what)


def _tensorboards(lab) -> list[dict]:
    """The TensorBoard servers %tensorboard started from the test's JupyterLab (its TMPDIR/.tensorboard-info)."""
    info = lab["root"].parent / "tmp" / ".tensorboard-info"
    return [json.loads(p.read_text()) for p in sorted(info.glob("pid-*.info"))] if info.is_dir() else []


def test_lesson_02_shows_the_runs_tensorboard_in_jupyterlab(browser, lab, capsys):
    """Lesson 02, section 10: the %tensorboard cell starts TensorBoard on the run's logs and shows it below the cell."""
    sync_api, executable = browser
    lesson = "02_baseline_cnn.ipynb"
    cells = json.loads((lab["root"] / lesson).read_text())["cells"]
    at = next(
        i for i, c in enumerate(cells) if c["cell_type"] == "code" and "%tensorboard --logdir" in "".join(c["source"])
    )
    shot = _artifact("lesson02-tensorboard-jupyterlab.png")
    started = time.monotonic()
    deadline = started + 400
    try:
        with _chromium_page(sync_api, executable) as page:
            dom_cells = page.locator(".jp-Notebook .jp-Cell")
            try:  # setup, training (smoke), the curves
                _open_and_run_above(page, lab, lesson, at, deadline, "lesson 02 up to its TensorBoard cell")
                _menu(page, "Run", "Run Selected Cell")  # %tensorboard waits until TensorBoard answers
                _wait_until_idle(page, lab, deadline, "the %tensorboard cell")
                frame = dom_cells.nth(at).frame_locator(".jp-OutputArea-output iframe")
                # TensorBoard's page, then a card of this run's scalars: the UI loaded and read the run's logs
                frame.get_by_text("epoch_accuracy").first.wait_for(timeout=90_000)
                dom_cells.nth(at).scroll_into_view_if_needed()
                page.wait_for_timeout(1000)
            finally:
                page.screenshot(path=str(shot))
        servers = _tensorboards(lab)
    finally:
        for server in _tensorboards(lab):  # the servers this test's kernel started, by their process ids
            with contextlib.suppress(ProcessLookupError):
                os.kill(server["pid"], signal.SIGTERM)
    with capsys.disabled():
        print(f"\nbrowser test: lesson 02's TensorBoard in {time.monotonic() - started:.0f} s; screenshot {shot}")
    assert len(servers) == 1 and servers[0]["logdir"].endswith("logs"), servers
    assert Path(servers[0]["logdir"]).parent.parent == lab["root"].parent / "runs"  # the run's own logs folder
