"""One submission's sandbox: Debian's bubblewrap (``bwrap``) and util-linux's ``setpriv`` and ``prlimit``.

What a sandboxed command sees: /usr and the course's Python read-only (the virtual environment, its base Python, the
``cifar_course`` package and the course's ``results/``), the data folder read-only at /data, a fresh copy of one
submission read-write at /grading (its only writable place besides a small /tmp), a /proc of its own, its own
empty network (loopback only), no home but /grading/home, no view of the teacher's files, the course folder, other
submissions or the gradebook. It runs as uid/gid 65534 (nobody) without capabilities: as root, bwrap switches to
it with setpriv, so that the process limit counts only sandboxes; as another user, in a user namespace. prlimit caps
its address space per process, its processes and threads, the size of a file it writes, and core dumps; the caller
caps its wall-clock time and kills the whole sandbox (its own PID namespace) when it runs over.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .common import EXIT_FAILED, ToolError, one_line

NOBODY = 65534
GB = 1 << 30


@dataclass(frozen=True)
class Limits:
    """What one submission may use (see docs/teaching.md, section 4)."""

    cell_s: int  # wall-clock seconds per cell (nbclient's timeout)
    submission_s: int  # wall-clock seconds for the whole notebook, kernel start included
    memory_gb: float  # address space per process (RLIMIT_AS), not resident memory
    processes: int  # processes and threads of the sandbox's user (RLIMIT_NPROC)
    file_gb: float = 2.0  # the largest file a submission may write (RLIMIT_FSIZE)
    checker_s: int = 300  # wall-clock seconds for the trusted checks of one submission


# Set from measured times (results/grading.json, docs/teaching.md section 4): an honest lesson's slowest cell and
# whole run, times 3 or more for a busy machine. Memory: TensorFlow's address space (VmPeak) while a lesson trains,
# 2.9-5 GB; processes: a kernel with TensorFlow's thread pools uses about 60-130 threads on 2-16 cores.
LIMITS = {
    "smoke": Limits(cell_s=300, submission_s=900, memory_gb=8, processes=512),
    "quick": Limits(cell_s=900, submission_s=2400, memory_gb=10, processes=512),
    "full": Limits(cell_s=3600, submission_s=4 * 3600, memory_gb=16, processes=512),
}

ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "fonts", "alternatives", "mime.types")
PASSWD = f"student:x:{NOBODY}:{NOBODY}:student:/grading/home:/usr/sbin/nologin\n"
GROUP = f"student:x:{NOBODY}:\n"


@dataclass
class Finished:
    """How a sandboxed command ended."""

    returncode: int | None  # None: killed at the wall-clock limit
    seconds: float
    timed_out: bool


def python_roots() -> list[Path]:
    """The folders the course's Python needs: the environment, its base Python, the package (an editable install
    lives in the repository) and the course's results/ (lessons show recorded runs)."""
    import cifar_course

    package = Path(cifar_course.__file__).resolve().parent
    roots = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), package]
    results = package.parent / "results"
    if (results / "README.md").is_file():
        roots.append(results)
    found: list[Path] = []
    for root in roots:
        for path in {root, root.resolve()}:
            if path.exists() and path != Path("/") and not _under(path, [Path("/usr"), *found]):
                found.append(path)
    return found


def _under(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def tools_missing() -> str | None:
    """One line saying what to install or enable where the sandbox cannot run; None where it can."""
    if sys.platform != "linux":
        return "the grading sandbox needs Linux (bubblewrap); grade on a Linux machine or server"
    missing = [
        tool for tool in ("bwrap", "prlimit") + (("setpriv",) if os.geteuid() == 0 else ()) if not shutil.which(tool)
    ]
    if missing:
        names = {"bwrap": "bubblewrap", "prlimit": "util-linux", "setpriv": "util-linux"}
        packages = " ".join(sorted({names[tool] for tool in missing}))
        return (
            f"{', '.join(missing)} not found: grading runs each submission in a bubblewrap sandbox; install it "
            f"(Debian/Ubuntu: sudo apt-get install {packages})"
        )
    return None


def problem() -> str | None:
    """Why the sandbox cannot run here (one line: what to install or enable), or None: it ran ``true``."""
    missing = tools_missing()
    if missing:
        return missing
    with tempfile.TemporaryDirectory(prefix="cifar-course-sandbox-") as folder:
        argv = command(["true"], limits=LIMITS["smoke"], etc=write_etc(Path(folder)))
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=base_env())
        except (OSError, subprocess.TimeoutExpired) as err:
            return f"bubblewrap could not start a sandbox here ({one_line(err)})"
    if done.returncode != 0:
        said = one_line(done.stderr or done.stdout) or f"exit status {done.returncode}"
        return (
            f"bubblewrap cannot create a sandbox here ({said}): enable unprivileged user namespaces "
            "(Debian: sudo sysctl -w kernel.unprivileged_userns_clone=1; Ubuntu 24.04: "
            "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0), run the command as root, or, "
            "in a container, allow it to create namespaces"
        )
    return None


def require() -> None:
    """ToolError (one line) unless the sandbox runs here."""
    why = problem()
    if why:
        raise ToolError(
            f"cannot grade safely: {why}. (--no-sandbox grades without protection, for your own trial "
            "submissions only)",
            EXIT_FAILED,
        )


def base_env() -> dict[str, str]:
    """The environment of a sandboxed command: nothing of the teacher's but the locale."""
    env = {
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/grading/home",
        "USER": "student",
        "LOGNAME": "student",
        "TMPDIR": "/tmp",
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "MALLOC_ARENA_MAX": "2",  # glibc's per-thread heaps would inflate the address space the limit counts
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if "VIRTUAL_ENV" in os.environ:
        env["VIRTUAL_ENV"] = sys.prefix
    return env


def _limits_argv(limits: Limits, processes: bool) -> list[str]:
    argv = [
        "prlimit",
        f"--as={int(limits.memory_gb * GB)}",
        f"--fsize={int(limits.file_gb * GB)}",
        "--core=0",
    ]
    if processes:
        argv.append(f"--nproc={limits.processes}")
    return [*argv, "--"]


def command(
    argv: list[str], *, limits: Limits, etc: Path, binds: list[tuple[str, Path, str]] = (), chdir: str = "/tmp"
) -> list[str]:
    """The bwrap command line that runs ``argv`` in a sandbox (see the module), with ``binds``: ("ro" or "rw", host
    path, sandbox path) on top of /usr, the course's Python and ``etc``'s passwd and group (write_etc)."""
    root = os.geteuid() == 0
    bw = ["bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net", "--unshare-ipc"]
    bw += ["--unshare-uts", "--hostname", "grading", "--unshare-cgroup-try"]
    if root:  # bwrap as root mounts, then setpriv drops to nobody with no capabilities left
        bw += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    else:  # an unprivileged user: bwrap's own user namespace, nobody inside
        bw += ["--unshare-user", "--disable-userns", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    bw += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            bw += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            bw += ["--ro-bind", str(path), str(path)]
    for name in ETC_FILES:
        if (Path("/etc") / name).exists():
            bw += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    bw += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(256 << 20), "--tmpfs", "/dev/shm"]
    bw += ["--perms", "1777", "--size", str(1 << 30), "--tmpfs", "/tmp"]  # before the folders: a course under /tmp
    mounts = [("ro", path, str(path)) for path in python_roots()] + list(binds)
    for folder in _parents([inside for _, _, inside in mounts]):  # readable by all (bwrap's own would be 0700)
        bw += ["--perms", "0755", "--dir", folder]
    bw += ["--ro-bind", str(etc / "passwd"), "/etc/passwd", "--ro-bind", str(etc / "group"), "/etc/group"]
    for mode, host, inside in mounts:
        bw += ["--bind" if mode == "rw" else "--ro-bind", str(host), inside]
    bw += ["--chdir", chdir]
    drop = []
    if root:
        drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all"]
        drop += ["--bounding-set=-all", "--"]
    return [*bw, "--", *drop, *_limits_argv(limits, processes=True), *argv]


def _parents(destinations: list[str]) -> list[str]:
    """The folders above the sandbox paths, shallowest first, that are not on the machine's own read-only mounts."""
    found: list[str] = []
    for destination in destinations:
        for parent in reversed(Path(destination).parents):
            text = str(parent)
            if text not in ("/", "/tmp") and text not in found and not _under(parent, [Path("/usr"), Path("/etc")]):
                found.append(text)
    return [folder for folder in found if folder not in destinations]


def write_etc(folder: Path) -> Path:
    """The passwd and group files the sandbox sees (the machine's own would name its users), in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("passwd", PASSWD), ("group", GROUP)):
        (folder / name).write_text(text, encoding="utf-8")
        (folder / name).chmod(0o644)
    return folder


def unsandboxed(argv: list[str], limits: Limits) -> list[str]:
    """``argv`` with the limits that need no sandbox (--no-sandbox): address space, file size, no core dumps."""
    return [*_limits_argv(limits, processes=False), *argv]


def hand_over(folder: Path) -> None:
    """Give a folder and all in it to the sandbox's user (as root: uid 65534; as another user, bwrap's user
    namespace maps the owner to it already)."""
    if os.geteuid() != 0:
        return
    os.chown(folder, NOBODY, NOBODY)
    for parent, dirs, files in os.walk(folder):
        for name in dirs + files:
            os.chown(Path(parent) / name, NOBODY, NOBODY, follow_symlinks=False)


def run(argv: list[str], *, env: dict[str, str], timeout_s: float, log: Path) -> Finished:
    """Run a (sandboxed) command with its output in ``log``; kill it, and everything it started, after timeout_s."""
    start = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            returncode = process.wait(timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            returncode, timed_out = None, True
        finally:
            _kill_group(process)
    return Finished(returncode, time.perf_counter() - start, timed_out)


def _kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the command's process group: bwrap, and with it (--die-with-parent) its PID namespace."""
    with contextlib.suppress(ProcessLookupError):  # it ended and took its namespace with it
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
