"""A class on one server: JupyterHub, two student accounts and one shared, read-only data folder.

As root, the test creates two real Unix accounts (homes of mode 700) and starts JupyterHub on 127.0.0.1 with
configurable-http-proxy, PAM logins (each student's own password) and the local process spawner, so that each
student's JupyterLab runs as that student. Each student opens an nbgitpuller link in headless Chromium, logs in, gets
the course from a local git repository into their home, and runs lessons 01 and 02 (Run All Cells) in the smoke
profile. Lesson 02's `%tensorboard` cell shows TensorBoard on the student's run through the student's own server
(jupyter-server-proxy, with TENSORBOARD_PROXY_URL set by the hub), and the other student cannot open that address
(though their own server's proxy reaches the same port: the limit docs/teaching.md §7 states).
It then checks that no cell has an error output; that each student's course, data cache and saved run are in
their own home; that the shared data folder (CIFAR_COURSE_DATA: root's, a slice of the real images when
CIFAR_COURSE_DATA is set, else empty and the lessons use synthetic stand-ins) is unchanged; and that neither the hub
nor the file system lets one student reach the other's server or files.

Skipped, with the reason, when not run as root, or when Playwright, Chromium, Node, configurable-http-proxy,
JupyterHub, nbgitpuller or jupyter-server-proxy is missing (.ci/browser-deps.sh and .ci/hub-deps.sh install them), or
when the student accounts cannot run the course's Python. Deselect with ``-m "not hub"`` (``-m "not browser"``
deselects it too). The hub's log and config and the screenshots go to $CIFAR_COURSE_ARTIFACTS/hub (default:
<tmp>/cifar-course-artifacts/hub).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_browser import CHROMIUM_ARGS, RUN_TIMEOUT_S, _free_port, _menu, chromium_path

pytestmark = [pytest.mark.hub, pytest.mark.browser]

REPO = Path(__file__).resolve().parents[1]
STUDENTS = ("cc-student-a", "cc-student-b")
GECOS = "cifar-course hub test"  # marks the accounts this test makes (a crashed run's are removed by the next)
LESSONS = ("01_data_exploration.ipynb", "02_baseline_cnn.ipynb")
REAL_DATA = os.environ.get("CIFAR_COURSE_DATA")  # read at import: the per-test fixture unsets it
PER_CLASS = {"train": 60, "test": 20}  # images per class copied into the shared folder: the smoke profile's 600/200
TOOLS = Path(os.environ.get("CIFAR_COURSE_TOOLS") or Path.home() / ".cache" / "cifar-course-ci-tools")
ARTIFACTS = Path(os.environ.get("CIFAR_COURSE_ARTIFACTS") or Path(tempfile.gettempdir()) / "cifar-course-artifacts")
SPAWN_TIMEOUT_S = 180  # log in, start the student's server, clone the course, open lesson 01


@dataclass
class Student:
    name: str
    password: str
    home: Path


def proxy_path() -> str | None:
    """$CONFIGURABLE_HTTP_PROXY, else configurable-http-proxy on PATH, else the one .ci/hub-deps.sh installs."""
    local = TOOLS / "node_modules" / ".bin" / "configurable-http-proxy"
    found = os.environ.get("CONFIGURABLE_HTTP_PROXY") or shutil.which("configurable-http-proxy")
    return found or (str(local) if local.exists() else None)


def _sh(*cmd, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], check=check, capture_output=True, text=True, **kwargs)


def _as(student: Student, *cmd) -> subprocess.CompletedProcess:
    """Run a command as the student (in their home), as their own server would."""
    return _sh("runuser", "-u", student.name, "--", *cmd, check=False, cwd=student.home)


def _pids_of(uid: int) -> list[int]:
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            real_uid = next(line for line in status.read_text().splitlines() if line.startswith("Uid:")).split()[1]
        except (OSError, StopIteration):
            continue  # the process ended meanwhile
        if int(real_uid) == uid:
            pids.append(int(status.parent.name))
    return pids


def _remove_student(name: str) -> None:
    """Stop whatever still runs as the student (server, kernels), then delete the account and its home."""
    uid = pwd.getpwnam(name).pw_uid
    for _ in range(20):
        pids = _pids_of(uid)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.25)
    _sh("userdel", "--remove", name, check=False)  # also removes the student's own group


def _add_student(name: str, home: Path, course: Path) -> Student:
    try:
        if pwd.getpwnam(name).pw_gecos != GECOS:
            pytest.skip(f"a user {name} exists and is not this test's: remove it or run the test elsewhere")
        _remove_student(name)  # left over by a run that was killed
    except KeyError:
        pass
    home.parent.mkdir(parents=True, exist_ok=True)
    _sh("useradd", "--create-home", "--home-dir", home, "--comment", GECOS, "--shell", "/usr/sbin/nologin", "-U", name)
    student = Student(name, secrets.token_urlsafe(12), home)
    _sh("chpasswd", input=f"{name}:{student.password}\n")
    home.chmod(0o700)
    # What a teacher sets up once per account: git may clone the course repository although root owns it,
    # and JupyterLab keeps every cell in the page (so the test sees each prompt) with no news pop-up.
    for rel, text in {
        ".gitconfig": f"[safe]\n\tdirectory = {course}/.git\n",
        ".jupyter/lab/user-settings/@jupyterlab/notebook-extension/tracker.jupyterlab-settings": (
            '{"windowingMode": "none"}'
        ),
        ".jupyter/labconfig/page_config.json": (
            '{"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": true}}'
        ),
    }.items():
        (home / rel).parent.mkdir(parents=True, exist_ok=True)
        (home / rel).write_text(text)
    _sh("chown", "-R", f"{name}:{name}", home)
    return student


def _shared_data(root: Path) -> Path:
    """The class's data folder, root's and read-only to students: a slice of the real images if there are any."""
    root.mkdir()
    for folder in sorted(Path(REAL_DATA).glob("*/*/*")) if REAL_DATA else []:  # <data set>/<train|test>/<class>
        if folder.is_dir() and folder.parent.name in PER_CLASS:
            (root / folder.relative_to(REAL_DATA)).mkdir(parents=True)
            for image in sorted(folder.iterdir())[: PER_CLASS[folder.parent.name]]:
                shutil.copyfile(image, root / image.relative_to(REAL_DATA))
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return root


def _snapshot(root: Path) -> dict:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_uid) for p in root.rglob("*")
    }


def _course_repository(repo: Path) -> Path:
    """The teacher's git repository of the course: the notebooks as they are in this working tree."""
    shutil.copytree(REPO / "notebooks", repo / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints", "runs"))
    shutil.copyfile(REPO / "README.md", repo / "README.md")
    git = ("git", "-C", repo, "-c", "user.name=Teacher", "-c", "user.email=teacher@example.org")
    _sh(*git, "init", "--quiet", "--initial-branch=main")
    _sh(*git, "add", ".")
    _sh(*git, "commit", "--quiet", "-m", "The course")
    return repo


def _closed_folders(paths) -> list[Path]:
    """Folders on the way to `paths` that other users may not enter (no o+x), e.g. /root (700) above a pyenv."""
    closed = []
    for path in map(Path, paths):
        for folder in [*reversed(path.resolve().parents), path.resolve()]:
            if folder.is_dir() and not folder.stat().st_mode & stat.S_IXOTH and folder not in closed:
                closed.append(folder)
    return closed


@pytest.fixture
def tools():
    """Playwright, Chromium and configurable-http-proxy, or a skip that says what is missing."""
    if os.geteuid() != 0 or not shutil.which("useradd") or not shutil.which("runuser"):
        pytest.skip("needs root, useradd and runuser: the test creates two student accounts (run it as root, as CI)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is missing: run .ci/browser-deps.sh")
    for module in ("jupyterhub", "nbgitpuller"):
        pytest.importorskip(module, reason=f"{module} is missing: pip install -e '.[teach]' (or .ci/hub-deps.sh)")
    pytest.importorskip("jupyter_server_proxy", reason="jupyter-server-proxy is missing: pip install -e '.[course]'")
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is missing: run .ci/browser-deps.sh (apt-get install chromium) or set CHROMIUM=/path")
    if not shutil.which("node"):
        pytest.skip("Node is missing: configurable-http-proxy runs on it (apt-get install nodejs)")
    proxy = proxy_path()
    if proxy is None:
        pytest.skip("configurable-http-proxy is missing: run .ci/hub-deps.sh (npm install configurable-http-proxy)")
    return sync_api, executable, proxy


@pytest.fixture
def classroom(tools):
    """Two student accounts, the shared data folder and the course repository, in a folder every user may enter."""
    base = Path(tempfile.mkdtemp(prefix="cifar-course-hub-"))
    base.chmod(0o755)
    made, acls = [], []
    try:
        shared = _shared_data(base / "data")
        course = _course_repository(base / "teacher" / "cifar-course")
        students = []
        for name in STUDENTS:
            students.append(_add_student(name, base / "home" / name, course))
            made.append(name)
        # The students run the course's Python: if it lies in a closed folder (/root, say), let just these two
        # accounts pass through it (x, not read), until the test ends.
        closed = _closed_folders([sys.executable, sys.prefix, sys.base_prefix, REPO, base, *sys.path])
        if closed and not shutil.which("setfacl"):
            pytest.skip(f"the students cannot enter {closed[0]} to run {sys.executable}: install setfacl (acl)")
        for folder in closed:
            acls.append((folder, _sh("getfacl", "--absolute-names", "-p", folder).stdout))
            _sh("setfacl", "-m", ",".join(f"u:{s.name}:x" for s in students), folder)
        imports = "import cifar_course, jupyterhub.singleuser, nbgitpuller, jupyter_server_proxy"
        probe = _as(students[0], sys.executable, "-c", imports)
        if probe.returncode:
            pytest.skip(f"the student accounts cannot run the course's Python {sys.executable}: {probe.stderr[-300:]}")
        yield {"shared": shared, "course": course, "students": students, "opened": closed}
    finally:
        for name in made:
            _remove_student(name)
        for _, saved in acls:  # getfacl's output names the folder
            _sh("setfacl", "--restore=-", input=saved, check=False)
        shutil.rmtree(base, ignore_errors=True)


def _hub_config(url: str, state: Path, proxy: str, classroom: dict) -> str:
    """jupyterhub_config.py for the class: the settings a teacher's server needs, and the test's ports and folders."""
    settings = {
        "JupyterHub.bind_url": url,  # where students connect (the proxy)
        "JupyterHub.hub_bind_url": f"http://127.0.0.1:{_free_port()}",
        "ConfigurableHTTPProxy.command": [proxy],
        "ConfigurableHTTPProxy.api_url": f"http://127.0.0.1:{_free_port()}",
        "ConfigurableHTTPProxy.pid_file": str(state / "proxy.pid"),
        "JupyterHub.db_url": f"sqlite:///{state / 'jupyterhub.sqlite'}",
        "JupyterHub.cookie_secret_file": str(state / "jupyterhub_cookie_secret"),
        "JupyterHub.authenticator_class": "pam",  # the students' Unix accounts and passwords
        "Authenticator.allowed_users": {s.name for s in classroom["students"]},
        "JupyterHub.spawner_class": "localprocess",  # each server runs as its student, in the student's home
        "Spawner.cmd": [sys.executable, "-m", "jupyterhub.singleuser"],  # the course's Python (with nbgitpuller)
        "Spawner.default_url": "/lab",
        "Spawner.environment": {
            "CIFAR_COURSE_DATA": str(classroom["shared"]),  # one data folder for the class, read-only to students
            "COURSE_PROFILE": "smoke",
            "CIFAR_COURSE_OFFLINE": "1",  # no downloads from inside the test
        },
        "Spawner.start_timeout": 120,
        "Spawner.http_timeout": 120,
    }
    lines = [f"c.{key} = {value!r}\n" for key, value in settings.items()]
    return "# A class on one server, as tests/test_hub.py runs it\n" + "".join(lines) + TENSORBOARD_PROXY


# %tensorboard (lesson 02 §10) starts TensorBoard on a port of the server, which a student's browser cannot reach;
# the student's own server forwards it (jupyter-server-proxy, /user/<name>/proxy/<port>/), and this tells the
# TensorBoard frame to ask there. A function: JupyterHub calls it for each server, with that server's own prefix.
TENSORBOARD_PROXY = """\
c.Spawner.environment["TENSORBOARD_PROXY_URL"] = lambda spawner: spawner.server.base_url + "proxy/%PORT%/"
"""


def _tail(path: Path, n: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-n:]) if path.exists() else "(no log)"


@pytest.fixture
def hub(tools, classroom, tmp_path):
    """JupyterHub and its proxy on 127.0.0.1; on teardown the hub stops the students' servers, the proxy goes too."""
    state = tmp_path / "hub"
    state.mkdir()
    url = f"http://127.0.0.1:{_free_port()}"
    config = state / "jupyterhub_config.py"
    config.write_text(_hub_config(url, state, tools[2], classroom))
    log_path = state / "hub.log"
    log = open(log_path, "w")  # noqa: SIM115 (the hub, the proxy and the servers write to it until the test ends)
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", str(config)],
        cwd=state,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        for _ in range(180):
            if process.poll() is not None:
                pytest.fail(f"JupyterHub exited:\n{_tail(log_path)}")
            try:
                with urllib.request.urlopen(f"{url}/hub/api", timeout=5) as reply:  # through the proxy
                    json.load(reply)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"JupyterHub did not answer within 90 s:\n{_tail(log_path)}")
        yield {"url": url, "log": log_path}
    finally:
        proxy_pid = (state / "proxy.pid").read_text().strip() if (state / "proxy.pid").exists() else ""
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # the hub stops the students' servers, then the proxy
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if proxy_pid.isdigit():
            with contextlib.suppress(ProcessLookupError):  # the hub stopped it
                os.kill(int(proxy_pid), signal.SIGKILL)
        log.close()
        (ARTIFACTS / "hub").mkdir(parents=True, exist_ok=True)
        for path in (log_path, config):
            shutil.copyfile(path, ARTIFACTS / "hub" / path.name)


def _kernel_state(context, server: str, path: str) -> str | None:
    """The execution state of the kernel of the notebook at `path` (None before it has one)."""
    sessions = context.request.get(f"{server}/api/sessions").json()
    return next((s["kernel"]["execution_state"] for s in sessions if s["path"] == path), None)


def _run_all(page, context, server: str, path: str, shot: Path) -> None:
    """Run All Cells of the open notebook, wait until no cell is left to run, save it (as test_browser does)."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    try:
        while _kernel_state(context, server, path) != "idle":  # the kernel starts, then goes idle
            assert time.monotonic() < deadline, f"the kernel of {path} did not start"
            time.sleep(0.5)
        _menu(page, "Run", "Run All Cells")
        page.wait_for_timeout(1000)
        quiet = 0
        while quiet < 3:  # idle, with no cell waiting ([*]), three polls in a row
            assert time.monotonic() < deadline, f"{path} did not finish within {RUN_TIMEOUT_S} s"
            waiting = page.locator(".jp-InputArea-prompt", has_text="*").count()
            quiet = quiet + 1 if not waiting and _kernel_state(context, server, path) == "idle" else 0
            time.sleep(0.5)
        _menu(page, "File", "Save Notebook")
        page.wait_for_timeout(1500)
    finally:
        page.screenshot(path=str(shot))


def _errors(notebook: Path) -> list[str]:
    code = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
    errors = [
        f"{notebook.name} code cell {i} ({''.join(c['source'])[:60]!r}): {o.get('ename')}: {o.get('evalue')}"
        for i, c in enumerate(code, 1)
        for o in c["outputs"]
        if o["output_type"] == "error"
    ]
    return errors + [f"{notebook.name}: some cells did not run"] * (not all(c["execution_count"] for c in code))


def _tensorboard_cell(notebook: Path) -> int:
    """The index of the lesson's %tensorboard cell (lesson 02 §10), as test_browser finds it."""
    cells = json.loads(notebook.read_text())["cells"]
    return next(
        i for i, c in enumerate(cells) if c["cell_type"] == "code" and "%tensorboard --logdir" in "".join(c["source"])
    )


def test_two_students_share_one_hub(tools, classroom, hub, capsys):
    sync_api, executable, _ = tools
    url, students, shared = hub["url"], classroom["students"], classroom["shared"]
    a, b = students
    shots = ARTIFACTS / "hub"
    shots.mkdir(parents=True, exist_ok=True)
    before = _snapshot(shared)
    link = f"{url}/hub/user-redirect/git-pull?" + urllib.parse.urlencode(
        {
            "repo": f"file://{classroom['course']}",
            "branch": "main",
            "targetpath": "cifar-course",
            "urlpath": f"lab/tree/cifar-course/notebooks/{LESSONS[0]}",
        }
    )
    started = time.monotonic()
    seen, boards = {}, {}
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            contexts = {s.name: browser.new_context(viewport={"width": 1400, "height": 1000}) for s in students}
            pages = {}
            for s in students:  # each clicks the teacher's link, logs in, gets the course: both servers then run
                page = pages[s.name] = contexts[s.name].new_page()
                page.goto(link)
                page.locator("#username_input").fill(s.name)
                page.locator("#password_input").fill(s.password)
                page.locator("#login_submit").click()
                page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=SPAWN_TIMEOUT_S * 1000)
                assert (s.home / "cifar-course" / "notebooks" / LESSONS[0]).is_file(), "nbgitpuller did not pull"

            # A, logged in, asks for B's server and B's files through the hub, and for B's account on the hub
            reply = contexts[a.name].request.get(f"{url}/user/{b.name}/api/contents/cifar-course", max_redirects=0)
            seen["B's contents API, to A"] = (reply.status, reply.headers.get("location"))
            probe = contexts[a.name].new_page()
            response = probe.goto(f"{url}/user/{b.name}/lab/tree/cifar-course/README.md")
            seen["B's JupyterLab, in A's browser"] = (response.status, probe.url)
            probe.screenshot(path=str(shots / "a-asks-for-b.png"))
            refusal = probe.inner_text("body")
            escape = urllib.parse.quote(f"../{b.name}/cifar-course/README.md", safe="")  # out of A's home
            reply = contexts[a.name].request.get(f"{url}/user/{a.name}/api/contents/{escape}")
            seen["B's README through A's own server"] = (reply.status, None)
            reply = contexts[a.name].request.get(f"{url}/hub/api/users/{b.name}")
            seen["B's account on the hub API, to A"] = (reply.status, None)
            probe.close()
            # ... and tries to log in as B with A's password
            other = browser.new_context()
            login = other.new_page()
            login.goto(f"{url}/hub/login")
            login.locator("#username_input").fill(b.name)
            login.locator("#password_input").fill(a.password)
            login.locator("#login_submit").click()
            login.wait_for_load_state()
            seen["log in as B with A's password"] = (None, login.url)
            other.close()

            for s in students:  # then each runs the lessons in their own JupyterLab
                server, page = f"{url}/user/{s.name}", pages[s.name]
                for lesson in LESSONS:
                    if lesson != LESSONS[0]:
                        page.goto(f"{server}/lab/tree/cifar-course/notebooks/{lesson}?reset")
                    path = f"cifar-course/notebooks/{lesson}"
                    _run_all(page, contexts[s.name], server, path, shots / f"{s.name}-{lesson[:2]}.png")

            # Lesson 02 §10's %tensorboard cell ran too: each student's page shows TensorBoard below it, with the
            # scalars of their run, through their own server (/user/<name>/proxy/<port>/)
            at = _tensorboard_cell(classroom["course"] / "notebooks" / LESSONS[1])
            for s in students:
                page = pages[s.name]
                cell = page.locator(".jp-Notebook .jp-Cell").nth(at)
                frame = cell.frame_locator(".jp-OutputArea-output iframe")
                frame.get_by_text("epoch_accuracy").first.wait_for(timeout=90_000)
                cell.scroll_into_view_if_needed()
                page.wait_for_timeout(1000)
                page.screenshot(path=str(shots / f"{s.name}-tensorboard.png"))
                address = cell.locator(".jp-OutputArea-output iframe").get_attribute("src")
                reply = contexts[s.name].request.get(f"{address}data/environment")  # TensorBoard's own settings
                boards[s.name] = (address, reply.status, reply.json()["data_location"] if reply.ok else None)

            # B asks for A's TensorBoard at its address, by the API and in the browser
            address = boards[a.name][0]
            reply = contexts[b.name].request.get(f"{address}data/environment", max_redirects=0)
            seen["A's TensorBoard data, to B"] = (reply.status, reply.headers.get("location"))
            probe = contexts[b.name].new_page()
            response = probe.goto(address)
            seen["A's TensorBoard, in B's browser"] = (response.status, probe.url)
            probe.screenshot(path=str(shots / "b-asks-for-a-tensorboard.png"))
            tensorboard_refusal = probe.inner_text("body")
            probe.close()
            # ... and at A's TensorBoard's port through B's own server, which runs on the same machine
            port = re.search(r"/proxy/(\d+)/", address).group(1)
            reply = contexts[b.name].request.get(f"{url}/user/{b.name}/proxy/{port}/data/environment")
            logdir = reply.json()["data_location"] if reply.ok else None
            seen["A's TensorBoard through B's own proxy"] = (reply.status, logdir)
        except Exception as err:
            raise AssertionError(f"{err}\n--- hub log, last lines ---\n{_tail(hub['log'])}") from err
        finally:
            browser.close()
    with capsys.disabled():
        opened = ", ".join(map(str, classroom["opened"])) or "none"
        print(
            f"\nhub test: two students ran lessons 01-02 in {time.monotonic() - started:.0f} s; folders opened to"
            f" them (x only, ACL): {opened}; what A got when reaching for B: {seen}"
        )

    # B's server refuses A's request (no B cookie): 403. In the browser, B's server sends A to the hub to ask for
    # access, and the hub refuses it: 403 on the hub's own page, so B's JupyterLab never reaches A's browser.
    # The hub API does not even tell A that B exists (404); A's password does not log in as B.
    assert seen["B's contents API, to A"][0] == 403, seen
    status, where = seen["B's JupyterLab, in A's browser"]
    assert status == 403 and urllib.parse.urlparse(where).path.startswith("/hub/"), seen
    assert "do not have permission" in refusal, refusal
    assert seen["B's README through A's own server"][0] in (403, 404), seen  # outside A's root; and B's home is 700
    assert seen["B's account on the hub API, to A"][0] in (403, 404), seen
    assert urllib.parse.urlparse(seen["log in as B with A's password"][1]).path == "/hub/login", seen
    # Each student's TensorBoard frame asks their own server's proxy, and shows their own run's logs
    for s in students:
        address, status, logdir = boards[s.name]
        assert urllib.parse.urlparse(address).path.startswith(f"/user/{s.name}/proxy/"), boards
        assert status == 200 and Path(logdir).name == "logs", boards
        assert Path(logdir).resolve().parent.parent == (s.home / "cifar-course" / "runs").resolve(), boards
    # A's TensorBoard address is A's server: B's request is refused (403), and B's browser gets the hub's refusal
    assert seen["A's TensorBoard data, to B"][0] in (302, 403), seen
    if seen["A's TensorBoard data, to B"][0] == 302:  # to the hub, to ask for access to A's server
        assert urllib.parse.urlparse(seen["A's TensorBoard data, to B"][1]).path.startswith("/hub/"), seen
    status, where = seen["A's TensorBoard, in B's browser"]
    assert status == 403 and urllib.parse.urlparse(where).path.startswith("/hub/"), seen
    assert "do not have permission" in tensorboard_refusal and "epoch_accuracy" not in tensorboard_refusal
    # The limit docs/teaching.md §7 states ("TensorBoard on the hub"): the servers share the machine's localhost, where
    # TensorBoard asks for no login, so B's own proxy reaches A's TensorBoard. If this changes, update that paragraph.
    status, logdir = seen["A's TensorBoard through B's own proxy"]
    assert status == 200 and Path(logdir).is_relative_to(a.home), seen
    for s in students:
        errors = [e for lesson in LESSONS for e in _errors(s.home / "cifar-course" / "notebooks" / lesson)]
        assert not errors, "\n".join(errors)
        owner = s.home.stat().st_uid
        runs = list((s.home / "cifar-course" / "runs").glob("02_*/metrics.json"))
        assert runs and all(r.stat().st_uid == owner for r in runs), f"no run saved in {s.home}/cifar-course/runs"
        assert all(p.stat().st_uid == owner for p in (s.home / "cifar-course").rglob("*")), "files not the student's"
        if before:  # real images: the lessons read them from the shared folder, and cached them in the home
            text = (s.home / "cifar-course" / "notebooks" / LESSONS[0]).read_text()
            assert str(shared / "cifar10") in text, "lesson 01 did not load CIFAR-10 from the shared folder"
            assert list((s.home / ".cache" / "cifar-course").glob("cifar10-*.npz")), "no data cache in the home"
    # The shared folder is as it was; the file system keeps each student out of the other's home.
    assert _snapshot(shared) == before, "something was written in the shared data folder"
    assert _as(a, "touch", shared / "written-by-a").returncode != 0, "a student can write in the shared data folder"
    assert _as(a, "ls", b.home).returncode != 0, "a student can list the other's home"
    assert _as(a, "cat", b.home / "cifar-course" / "README.md").returncode != 0, "a student can read the other's files"
