"""The ``cifar-course`` command: run the lessons headless, manage the data sets, compare saved runs.

    cifar-course run [--profile smoke|quick|full] [--only 02,05] [--data DIR] [--out DIR]
    cifar-course data download [NAME ...] | import PATH | verify [PATH ...] | where
    cifar-course report [--runs DIR] [--out DIR]
    cifar-course classroom release OUT [--only 02,04] [--notebooks DIR] [--points N] | grades OUT [--csv FILE]
    cifar-course classroom autograde COURSE [--only 01,02] [--students a,b] [--profile P] [--no-sandbox]
    cifar-course book [--profile quick|smoke|full] [--out DIR] [--data DIR] | book --linkcheck
    cifar-course figures [--check]

Exit status: 0 everything worked; 1 something failed (a notebook cell, a checksum, missing or unusable
data, a download); 2 a bad command line or setting (unknown lesson, profile or command, a path that does
not exist); 3 ``run`` finished but some lessons were *not run* because something they need is missing on
this machine (e.g. ImageNet weights offline; each is listed as "not run: <reason>"); 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from ..data import DATASETS, DataError, DataNotFoundError
from ..folders import (
    DEFAULT_DATA_DIR,
    cache_dir,
    data_folder,
    describe_sources,
    in_keras_cache,
    keras_cache_dir,
    runs_dir,
)
from ..profiles import PROFILES, get_profile
from .common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_NOT_RUN, EXIT_OK, EXIT_USAGE, PROG, ToolError, one_line, say
from .datatools import (
    ARCHIVE_SUFFIXES,
    KNOWN_SHA256,
    check_checksum,
    count_archive,
    describe_folder,
    import_npz,
    import_root,
    import_tree,
    is_archive,
    load_test,
    name_from,
    read_sums,
)
from .runner import discover_lessons, find_notebooks_dir, results_table, run_course, select_lessons

DEFAULT_DATA_HOME = str(DEFAULT_DATA_DIR)
DATA_DEFAULT_HELP = f"$CIFAR_COURSE_DATA, else {DEFAULT_DATA_HOME} if it exists"
EXIT_HELP = (
    "exit status: 0 ok; 1 something failed (a notebook cell, a checksum, missing or unusable data, "
    "a download); 2 bad command line or setting; 3 the run finished but some lessons were not run "
    "because something they need is missing here; 130 interrupted"
)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + message
        raise ToolError(f"{message} (see: {self.prog} --help)", EXIT_USAGE)


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)


def _warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr, flush=True)


def course_folder(data: str | Path | None) -> tuple[Path | None, str]:
    """The folder the course reads and why (folders.data_folder, with the argument named --data)."""
    try:
        root, why = data_folder(data)
    except ValueError as err:  # CIFAR_COURSE_DATA (or --data) names no folder
        raise ToolError(one_line(err)) from None
    return root, ("from --data" if data is not None else why)


def sources(name: str, data: str | Path | None) -> str:
    """Where the course looks for a data set (folders.describe_sources, with the argument named --data)."""
    return describe_sources(name, data).replace("(from data_dir)", "(from --data)")


# =========================================================================== run
def cmd_run(args, argv: list[str]) -> int:
    try:
        profile = get_profile(args.profile).name if args.profile else get_profile().name
    except ValueError as err:  # COURSE_PROFILE names no profile
        raise ToolError(one_line(err)) from None
    notebooks = find_notebooks_dir(args.notebooks)
    all_lessons = discover_lessons(notebooks)
    if not all_lessons:
        raise ToolError(f"no lesson notebooks (NN_name.ipynb) in {notebooks}")
    lessons = select_lessons(all_lessons, args.only)
    data_dir = None
    if args.data:
        data_dir = Path(args.data).expanduser()
        if not data_dir.is_dir():
            raise ToolError(f"--data {data_dir} is not a folder")
    out = Path(args.out).expanduser() if args.out else runs_dir(notebooks)
    if out.exists() and not out.is_dir():
        raise ToolError(f"--out {out} is a file, not a folder")
    data_text = sources("cifar10", data_dir)
    if args.seed is not None:  # the kernels inherit it: every seed the lessons set becomes this one
        os.environ["CIFAR_COURSE_SEED"] = str(args.seed)
        say(f"Seed: {args.seed} in place of every seed the lessons set (CIFAR_COURSE_SEED)")
    say(
        f"Running {len(lessons)} lesson(s) ({', '.join(lesson.number for lesson in lessons)}) from {notebooks}, "
        f"profile {profile} ({PROFILES[profile].purpose})"
    )
    say(f"Data: {data_text}")
    course = run_course(
        lessons,
        profile,
        out_base=out,
        notebooks=notebooks,
        data_dir=data_dir,
        command=" ".join([PROG, *map(shlex.quote, argv)]),
        data_description=data_text,
        timeout=args.timeout,
        progress=False if args.no_progress else None,
    )
    say("")
    say(results_table(course))
    say("")
    say(f"Results: {course.folder / 'results.md'} (and results.json); executed notebooks in {course.folder}")
    for r in course.results:
        if r.status == "failed":
            where = f" at cell {r.error['cell']} (`{r.error['source']}`)" if r.error else ""
            what = f"{r.error['ename']}: {r.error['evalue']}" if r.error else r.reason
            if r.error and r.error["ename"] == "DataNotFoundError":
                what += " (see: cifar-course data where; add data: cifar-course data import PATH, or --data DIR)"
            _error(
                f"lesson {r.lesson} ({r.notebook}) failed{where}: {what} -- the executed notebook up to the "
                f"error is {r.executed}"
            )
        elif r.status == "not run":
            _warn(f"lesson {r.lesson} ({r.notebook}) not run: {r.reason}")
        elif r.status == "interrupted":
            _error(f"interrupted in lesson {r.lesson}; results so far are in {course.folder}")
    skipped = [lesson.number for lesson in lessons[len(course.results) :]]
    if skipped:
        _warn(f"lesson(s) {', '.join(skipped)} not started because an earlier lesson stopped the run")
    if course.exit_status == EXIT_NOT_RUN:
        _warn(f"exit status {EXIT_NOT_RUN}: the run finished, but some lessons were not run (see above)")
    return course.exit_status


# =========================================================================== data
def cmd_data_import(args) -> int:
    path = Path(args.path).expanduser()
    if not path.exists():
        raise ToolError(f"{path} does not exist")
    if args.name and args.name not in DATASETS:
        raise ToolError(f"unknown data set {args.name!r}; choose one of {', '.join(DATASETS)}")
    is_npz = path.is_file() and path.suffix == ".npz"  # e.g. Keras's mnist.npz: copied as it is
    if path.is_file() and not is_npz and not is_archive(path):
        raise ToolError(f"{path} is not a tar archive ({', '.join(ARCHIVE_SUFFIXES)}), an .npz or a folder")
    if not path.is_file() and not path.is_dir():
        raise ToolError(f"{path} is neither a file nor a folder")
    root, _ = import_root(args.to)
    root.mkdir(parents=True, exist_ok=True)
    if is_npz:
        import_npz(path, args.name, root, args.force)
    else:
        import_tree(path, args.name, root, args.force)
    try:
        reads, why = data_folder()  # the folder the course reads when nothing is passed
    except ValueError as err:  # CIFAR_COURSE_DATA points to no folder
        reads, why = None, one_line(err)
    if reads is not None and reads.resolve() == root.resolve():
        lasts = ", as long as that variable is set" if why == "from CIFAR_COURSE_DATA" else ""
        say(f"Nothing to set: the course reads {root} ({why}){lasts}.")
    else:
        now = f"it reads {reads} ({why})" if reads is not None else why.removeprefix("none: ")
        say(
            f"The course reads this folder only when told: export CIFAR_COURSE_DATA={root}  "
            f"(or: cifar-course run --data {root}). Now {now.rstrip('.')}."
        )
    say(f"Check it with: cifar-course data verify {root}")
    return EXIT_OK


def cmd_data_verify(args) -> int:
    results: list[bool | None] = []
    targets = [Path(p).expanduser() for p in args.paths]
    for p in targets:
        if not p.exists():
            raise ToolError(f"{p} does not exist")
    if not targets:
        root, why = course_folder(args.data)
        if root is not None:
            say(f"Course data folder: {root} ({why})")
            targets = [root]
        else:
            held = [n for n in DATASETS if in_keras_cache(n)]
            if not held:
                raise ToolError(
                    f"nothing to verify: no course data folder ({why.removeprefix('none: ')}) and the "
                    "Keras cache holds no data set (see: cifar-course data where)",
                    EXIT_FAILED,
                )
            say(f"Keras cache {keras_cache_dir()}:")
            results += [load_test(n, None) for n in held]
    for target in targets:
        if target.is_file():
            say(f"{target}:")
            results.append(check_checksum(target))
            if is_archive(target):
                results.append(count_archive(target))
            continue
        say(f"{target}:")
        sums = target / "SHA256SUMS"
        checked = False
        if sums.is_file():
            for fname in read_sums(sums):
                if (target / fname).is_file():
                    results.append(check_checksum(target / fname))
                    if is_archive(target / fname):
                        results.append(count_archive(target / fname))
                else:
                    say(f"  {target / fname}: MISSING (listed in {sums})")
                    results.append(False)
            checked = True
        for archive in sorted(target.glob("*")):
            if archive.name in KNOWN_SHA256 and not (sums.is_file() and archive.name in read_sums(sums)):
                results.append(check_checksum(archive))
                checked = True
        held = [n for n in DATASETS if (target / n).is_dir()]
        if held:
            results += [load_test(n, target) for n in held]
        elif target.name in DATASETS and target.parent.is_dir():
            results.append(load_test(target.name, target.parent))
        elif name_from(target) is not None:  # a data-set folder of another name, e.g. fashion-mnist/ of IDX files
            results.append(load_test(name_from(target), None, folder=target))
        elif not checked:
            raise ToolError(
                f"nothing to verify in {target}: no SHA256SUMS, no official archive and no data-set "
                f"folder ({', '.join(DATASETS)})",
                EXIT_FAILED,
            )
    bad = sum(1 for r in results if r is False)
    if bad:
        _error(f"verify: {bad} problem(s) found (marked above)")
        return EXIT_FAILED
    say("All checks passed.")
    return EXIT_OK


def cmd_data_where(args) -> int:
    root, why = course_folder(args.data)
    home, origin = import_root(None)
    if root is not None:
        say(f"Course data folder: {root} ({why})")
    else:
        say(
            f"Course data folder: {why} (cifar-course data import PATH creates {DEFAULT_DATA_DIR}; "
            "or set CIFAR_COURSE_DATA=DIR, or pass --data DIR)"
        )
    found = (
        "from CIFAR_COURSE_DATA"
        if origin == "CIFAR_COURSE_DATA"
        else "the default folder, which the course then finds by itself"
    )
    say(f"`data import` puts data into: {home} ({found})")
    say(f"Keras cache (downloads): {keras_cache_dir()}")
    say(f"Decoded-image cache: {cache_dir()}")
    offline = os.environ.get("CIFAR_COURSE_OFFLINE", "") not in ("", "0")
    say(f"Offline mode (CIFAR_COURSE_OFFLINE): {'on' if offline else 'off'}")
    say("")
    for name in DATASETS:
        say(f"{name}:")
        say(f"  the course looks for: {sources(name, args.data)}")
        if root is not None:
            folder = root / name
            say(f"  {folder}: " + (describe_folder(folder, name) if folder.is_dir() else "absent"))
        say(f"  Keras cache: {in_keras_cache(name) or 'absent'}")
    return EXIT_OK


def cmd_data_download(args) -> int:
    import socket

    names = list(DATASETS) if "all" in args.names else (args.names or ["cifar10"])
    for n in names:
        if n not in DATASETS:
            raise ToolError(f"unknown data set {n!r}; choose from {', '.join(DATASETS)} or all")
    socket.setdefaulttimeout(args.timeout)
    import keras

    failed = 0
    for name in names:
        if in_keras_cache(name):
            say(f"{name}: already in the Keras cache ({in_keras_cache(name)})")
            continue
        say(f"{name}: downloading with keras.datasets.{name}.load_data() into {keras_cache_dir()} ...")
        try:
            loader = getattr(keras.datasets, name)
            loader.load_data(label_mode="fine") if name == "cifar100" else loader.load_data()
        except Exception as err:  # offline, server down, bad checksum
            failed += 1
            _error(
                f"download of {name} failed: {one_line(err)[:200]} -- offline? copy the files over and use: "
                f"cifar-course data import PATH"
            )
            continue
        say(f"{name}: done ({in_keras_cache(name) or keras_cache_dir()})")
    return EXIT_FAILED if failed else EXIT_OK


# =========================================================================== report
def cmd_report(args, argv: list[str]) -> int:
    from ..training import list_runs
    from .report import RUN_HEADERS, latest_only, markdown_table, run_rows, write_report

    base = Path(args.runs).expanduser() if args.runs else runs_dir()
    if not base.is_dir():
        raise ToolError(f"runs folder {base} does not exist (train a lesson first, or pass --runs DIR)")
    runs = list_runs(base)
    if args.profile:
        runs = [r for r in runs if r.profile == args.profile]
    if args.latest:
        runs = latest_only(runs)
    if not runs:
        raise ToolError(
            f"no saved runs (*/metrics.json) in {base}" + (f" for profile {args.profile}" if args.profile else ""),
            EXIT_FAILED,
        )
    out = Path(args.out).expanduser() if args.out else base / "report"
    md, png = write_report(runs, out, base, command=" ".join([PROG, *map(shlex.quote, argv)]))
    say(markdown_table(RUN_HEADERS, run_rows(runs)))
    say("")
    say(f"Report: {md} and {png}")
    return EXIT_OK


# =========================================================================== classroom
def cmd_classroom(args) -> int:
    from . import classroom  # imports nbgrader when it runs: `cifar-course --help` stays fast

    if args.classroom_command == "release":
        classroom.release(args.out, notebooks=args.notebooks, only=args.only, points=args.points)
    elif args.classroom_command == "autograde":
        from . import grading

        outcomes = grading.autograde(
            args.course,
            args.only,
            sandboxed=not args.no_sandbox,
            profile=args.profile,
            students=args.students,
            cell_s=args.cell_limit,
            submission_s=args.time_limit,
            memory_gb=args.memory_limit,
        )
        return grading.exit_status(outcomes)
    else:
        classroom.grades(args.out, csv_path=args.csv)
    return EXIT_OK


# =========================================================================== book
def cmd_book(args) -> int:
    from . import book  # imports Sphinx when it runs: `cifar-course --help` stays fast

    if args.linkcheck:
        return book.check_links(args.out, notebooks=args.notebooks)
    index, status = book.build_book(
        args.profile, out=args.out, data_dir=args.data, notebooks=args.notebooks, timeout=args.timeout
    )
    say(f"Open the book: {index}")
    return status


# =========================================================================== parser
def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = _Parser(
        prog=PROG, description="Run the cifar-course lessons, manage their data, compare runs.", epilog=EXIT_HELP
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{run,data,report,classroom,book,figures}")

    run = sub.add_parser(
        "run", help="execute the lesson notebooks headless and print a results table", epilog=EXIT_HELP
    )
    run.add_argument(
        "--profile",
        choices=list(PROFILES),
        help="how much work: smoke (tests), quick (a class), full (reference); default: $COURSE_PROFILE, else full",
    )
    run.add_argument("--only", metavar="02,05", help="run only these lessons (numbers, commas, ranges like 02-04)")
    run.add_argument("--data", metavar="DIR", help="the course data folder (sets CIFAR_COURSE_DATA for the lessons)")
    run.add_argument("--out", metavar="DIR", help="where the course-<profile>-<time>/ folder goes (default: runs/)")
    run.add_argument("--notebooks", metavar="DIR", help="the lessons folder (default: ./notebooks)")
    run.add_argument("--timeout", type=int, default=None, metavar="S", help="stop a cell after S seconds")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    run.add_argument(
        "--seed", type=int, metavar="N", help="use seed N wherever a lesson fixes one: do its results hold for others?"
    )

    data = sub.add_parser("data", help="download, import, verify or locate the data sets", epilog=EXIT_HELP)
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="{download,import,verify,where}")
    dl = dsub.add_parser("download", help="download with keras.datasets into the Keras cache (needs internet)")
    dl.add_argument("names", nargs="*", metavar="NAME", help=f"{', '.join(DATASETS)} or all (default: cifar10)")
    dl.add_argument("--timeout", type=float, default=60, help="network timeout in seconds (default 60)")
    imp = dsub.add_parser("import", help="copy an archive (.tar.gz) or an image folder into the course data folder")
    imp.add_argument("path", metavar="PATH", help="cifar-10-python.tar.gz, an image-folder archive, or a folder")
    imp.add_argument("--name", help=f"which data set it is ({', '.join(DATASETS)}) when its name does not say")
    imp.add_argument(
        "--to", metavar="DIR", help=f"target data folder (default: $CIFAR_COURSE_DATA, else {DEFAULT_DATA_HOME})"
    )
    imp.add_argument("--force", action="store_true", help="replace a data set already there")
    ver = dsub.add_parser("verify", help="check checksums and load every data set found, counting images")
    ver.add_argument("paths", nargs="*", metavar="PATH", help="archives or folders (default: the course data folder)")
    ver.add_argument("--data", metavar="DIR", help=f"the course data folder (default: {DATA_DEFAULT_HELP})")
    where = dsub.add_parser("where", help="show where the course looks for each data set and what it found")
    where.add_argument("--data", metavar="DIR", help=f"the course data folder (default: {DATA_DEFAULT_HELP})")

    rep = sub.add_parser("report", help="compare every saved run with the reference numbers (Markdown + PNG)")
    rep.add_argument("--runs", metavar="DIR", help="the runs folder (default: $CIFAR_COURSE_RUNS, else runs/)")
    rep.add_argument("--out", metavar="DIR", help="where report.md and report.png go (default: <runs>/report/)")
    rep.add_argument("--profile", choices=list(PROFILES), help="only runs of this profile")
    rep.add_argument("--latest", action="store_true", help="only the newest run of each lesson/model/profile/data")

    cls = sub.add_parser(
        "classroom", help="teach a class with nbgrader: student editions, autograding, grades", epilog=EXIT_HELP
    )
    csub = cls.add_subparsers(dest="classroom_command", required=True, metavar="{release,autograde,grades}")
    rel = csub.add_parser(
        "release",
        help="write nbgrader source versions and student editions (no solutions, locked checks) of the lessons",
    )
    rel.add_argument("out", metavar="OUT", help="the course folder to write (nbgrader's source/, release/, ...)")
    rel.add_argument("--only", metavar="02,04", help="only these lessons (numbers, commas, ranges like 02-04)")
    rel.add_argument("--notebooks", metavar="DIR", help="the lessons folder (default: ./notebooks)")
    rel.add_argument("--points", type=float, default=1, metavar="N", help="points per exercise (default 1)")
    agr = csub.add_parser(
        "autograde",
        help="grade every submission in COURSE/submitted/, each in its own sandbox, into nbgrader's gradebook",
        epilog="exit status: 0 every submission graded; 1 some could not be graded (listed with the reason) or "
        "something failed; 2 bad command line",
    )
    agr.add_argument("course", metavar="COURSE", help="the course folder (where gradebook.db is)")
    agr.add_argument("--only", metavar="01,02", help="only these lessons (numbers, commas, ranges like 02-04)")
    agr.add_argument("--students", metavar="alice,bob", help="only these students (default: every one who handed in)")
    agr.add_argument(
        "--profile", choices=list(PROFILES), help="the profile to grade in (default: $COURSE_PROFILE, else smoke)"
    )
    agr.add_argument("--cell-limit", type=int, metavar="S", help="seconds per cell (default: the profile's)")
    agr.add_argument("--time-limit", type=int, metavar="S", help="seconds per submission (default: the profile's)")
    agr.add_argument(
        "--memory-limit", type=float, metavar="GB", help="address space per process, GB (default: the profile's)"
    )
    agr.add_argument(
        "--no-sandbox",
        action="store_true",
        help="UNSAFE: run the students' code with your rights, for your own trial submissions only",
    )
    grd = csub.add_parser("grades", help="every student's points, from nbgrader's gradebook in OUT")
    grd.add_argument("out", metavar="OUT", help="the course folder (where gradebook.db is)")
    grd.add_argument("--csv", metavar="FILE", help="also write the table as CSV, for a spreadsheet")

    bk = sub.add_parser(
        "book", help="build the course as a book (HTML): lessons with their outputs, guides, results", epilog=EXIT_HELP
    )
    bk.add_argument(
        "--profile", choices=list(PROFILES), default="quick", help="run the lessons in it (default quick; smoke: tests)"
    )
    bk.add_argument("--out", metavar="DIR", help="the build folder (default: book/_build/<profile>/)")
    bk.add_argument("--data", metavar="DIR", help="the course data folder (sets CIFAR_COURSE_DATA for the lessons)")
    bk.add_argument("--notebooks", metavar="DIR", help="the lessons folder (default: ./notebooks)")
    bk.add_argument("--timeout", type=int, default=None, metavar="S", help="stop a cell after S seconds")
    bk.add_argument("--linkcheck", action="store_true", help="check the book's external links instead (needs internet)")
    fig = sub.add_parser(
        "figures",
        help="rewrite the measured figures the pages quote (generated blocks) from results/*.json",
        epilog="exit status: 0 written (or, with --check, up to date); 1 --check found stale blocks; "
        "2 bad command line",
    )
    fig.add_argument("--check", action="store_true", help="change nothing; exit 1 listing each stale block")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``cifar-course`` and ``python -m cifar_course``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        if args.command == "run":
            return cmd_run(args, argv)
        if args.command == "report":
            return cmd_report(args, argv)
        if args.command == "classroom":
            return cmd_classroom(args)
        if args.command == "book":
            return cmd_book(args)
        if args.command == "figures":
            from .figures import run as figures_run

            return figures_run(check=args.check)
        return {
            "download": cmd_data_download,
            "import": cmd_data_import,
            "verify": cmd_data_verify,
            "where": cmd_data_where,
        }[args.data_command](args)
    except SystemExit as exit_:  # --help, --version
        return exit_.code if isinstance(exit_.code, int) else EXIT_OK
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED
    except ToolError as err:
        _error(str(err))
        return err.status
    except DataNotFoundError as err:
        _error(
            f"{one_line(err)} See where the course looks: cifar-course data where; add data: "
            "cifar-course data import PATH"
        )
        return EXIT_FAILED
    except DataError as err:
        _error(one_line(err))
        return EXIT_FAILED
    except OSError as err:
        _error(f"{err.strerror or one_line(err)}: {err.filename}" if err.filename else one_line(err))
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
