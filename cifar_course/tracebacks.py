"""In IPython and Jupyter: a failed check (and a wrong setting) shows its message alone, not the source behind it.

No lesson calls it: cc.setup installs it in every lesson's setup cell.
"""

from __future__ import annotations

import sys

from .checks import CheckFailed


def _short_traceback(shell, etype, value, tb, tb_offset=None) -> list[str]:
    """IPython's handler for CheckFailed: show one red line, not the source of the checks."""
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb  # so %tb can still show all of it
    stb = [f"\x1b[31m{etype.__name__}: {value}\x1b[0m"]
    shell._showtraceback(etype, value, stb)  # as an error output: the cell still counts as failed
    return stb


def install_short_tracebacks(*also: type[Exception]) -> None:
    """In IPython or Jupyter, show a failed check (and errors of the types in ``also``) as its message alone;
    ``cc.setup`` installs it in every lesson's setup cell, the cell before (lesson 01 §1)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((CheckFailed, *also), _short_traceback)
