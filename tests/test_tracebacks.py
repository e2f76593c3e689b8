"""In IPython and Jupyter a failed check shows its one-line message, not the checks' source; the cell still fails."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from cifar_course import checks, tracebacks

ROOT = Path(__file__).resolve().parents[1]
FAILING = "from cifar_course import checks\nchecks.check_conv_params('1216', kernel_size=5, in_channels=3, filters=16)"


def test_outside_ipython_it_does_nothing():
    from IPython import get_ipython

    assert get_ipython() is None  # pytest is no IPython
    assert tracebacks.install_short_tracebacks() is None


@pytest.fixture
def shell(monkeypatch):
    """A real IPython shell (what a notebook kernel runs), removed again afterwards with what it changed."""
    import builtins
    import sys

    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])  # IPython puts its own __main__ there
    for owner, name in ((builtins, "display"), (builtins, "__IPYTHON__"), (sys, "ps1"), (sys, "ps2")):
        monkeypatch.setattr(owner, name, getattr(owner, name, None), raising=False)  # undone after the test
    shell = InteractiveShell.instance(colors="nocolor")
    yield shell
    InteractiveShell.clear_instance()


def test_in_ipython_a_failed_check_shows_one_line_and_is_still_an_error(shell, capsys):
    tracebacks.install_short_tracebacks()
    result = shell.run_cell(FAILING)
    out = capsys.readouterr().out
    assert "CheckFailed: the parameter count: give a whole number (an int), not '1216' (a str)" in out
    assert "checks.py" not in out and "raise CheckFailed" not in out and "Traceback" not in out
    assert "lesson02.py" not in out and "_core.py" not in out  # the modules the check and its message live in
    assert len(out.strip().splitlines()) == 1
    assert not result.success and isinstance(result.error_in_exec, checks.CheckFailed)


def test_in_ipython_other_errors_keep_their_full_traceback(shell, capsys):
    tracebacks.install_short_tracebacks()
    result = shell.run_cell("def f():\n    return 1 / 0\nf()")
    out = capsys.readouterr().out
    assert "ZeroDivisionError" in out and "return 1 / 0" in out
    assert isinstance(result.error_in_exec, ZeroDivisionError)


def test_setup_installs_the_short_tracebacks(monkeypatch):
    import cifar_course as cc

    calls = []
    monkeypatch.setattr(tracebacks, "install_short_tracebacks", lambda *also: calls.append(also))
    cc.setup(seed=1)
    assert calls == [(cc.MissingHere,)]


def test_in_a_notebook_the_error_output_is_one_line_and_the_cell_fails(tmp_path):
    """Run through nbclient as nbval and `cifar-course run` do: the cell has an error output and still fails."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    install = "from cifar_course.tracebacks import install_short_tracebacks\ninstall_short_tracebacks()"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(install), nbformat.v4.new_code_cell(FAILING)])
    with pytest.raises(CellExecutionError, match="CheckFailed"):  # nbval and nbclient see the failure
        NotebookClient(nb, timeout=120, allow_errors=False, resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[1].outputs
    assert [o.output_type for o in outputs] == ["error"]
    assert outputs[0].ename == "CheckFailed" and "give a whole number" in outputs[0].evalue
    shown = "\n".join(outputs[0].traceback)
    assert len(outputs[0].traceback) == 1 and "CheckFailed: the parameter count" in shown
    assert "checks.py" not in shown and "raise CheckFailed" not in shown and "lesson02.py" not in shown


def test_in_ipython_a_missing_here_error_shows_its_message_alone(shell, capsys):
    from cifar_course import MissingHere

    tracebacks.install_short_tracebacks(MissingHere)
    result = shell.run_cell("from cifar_course import MissingHere\nraise MissingHere('line one\\nline two')")
    out = capsys.readouterr().out
    assert "MissingHere: line one\nline two" in out and "Traceback" not in out and len(out.strip().splitlines()) == 2
    assert isinstance(result.error_in_exec, MissingHere)
