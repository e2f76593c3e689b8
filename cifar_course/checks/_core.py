"""What every check shares: CheckFailed, the nbgrader switch, the verdict lines and answers turned into numbers.

Every ``check_*`` function returns None: it prints "Correct: ..." or "Not answered yet: ...", or raises
``CheckFailed``. A failure says what is wrong and how to find the right answer, never the answer itself.
"""

from __future__ import annotations

import os

import numpy as np


class CheckFailed(AssertionError):
    """An exercise answer is not right yet; the message says why."""


def grading() -> bool:
    """True while nbgrader grades a notebook: it sets NBGRADER_EXECUTION to "autograde" or "validate"."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def answered(value, what: str) -> bool:
    """False (with a friendly note) while an exercise variable is still None.

    While nbgrader grades a notebook (see ``grading``), an unanswered exercise raises CheckFailed instead, so that a
    blank submission scores zero.
    """
    if value is None:
        if grading():
            raise CheckFailed(f"not answered: {what} is still None.")
        print(f"Not answered yet: set {what} in the exercise cell above (or reveal the solution below).")
        return False
    return True


def ok(message: str) -> None:
    """Print what is right."""
    print("Correct:", message)


def shown(value) -> str:
    """A value and its type as a learner would recognise them: "'1216' (a str)"."""
    text = repr(value.item() if isinstance(value, np.generic) else value)
    text = text if len(text) <= 40 else text[:37] + "..."
    kind = type(value).__name__
    return f"{text} ({'an' if kind[0] in 'aeiou' else 'a'} {kind})"


def plain(value):
    """A numpy scalar or 0-d array as the Python number it holds; anything else unchanged."""
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value.item()
    return value


def is_number(value) -> bool:
    """A real number (int or float, numpy's too), but not a bool."""
    value = plain(value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def whole_number(value, what: str) -> int:
    """``value`` as an int; CheckFailed if it is not a whole number (a str, a bool, 2.5, a list, ...)."""
    number = plain(value)
    if is_number(number) and float(number).is_integer():
        return int(number)
    quotes = " - remove the quotes" if isinstance(value, str) and value.strip().isdigit() else ""
    raise CheckFailed(f"{what}: give a whole number (an int), not {shown(value)}{quotes}.")


def fraction(value, what: str, allow_nan: bool = False) -> float:
    """``value`` as a float in [0, 1] (an accuracy); CheckFailed for a percentage, a list, a negative value, NaN."""
    if isinstance(value, (list, tuple, np.ndarray)) and np.size(value) > 1:
        raise CheckFailed(
            f"{what} holds {np.size(value)} numbers, not one. model.evaluate(...) returns [loss, accuracy]: "
            "keep only the accuracy, e.g. `_, accuracy = model.evaluate(...)`."
        )
    if not is_number(value):
        raise CheckFailed(f"{what}: give a number between 0 and 1, not {shown(value)}.")
    value = float(plain(value))
    if np.isnan(value):
        if allow_nan:
            return value
        raise CheckFailed(
            f"{what} is NaN (not a number): it comes from a mean over no values, or from a training run whose loss "
            "blew up. An accuracy is a fraction between 0 and 1."
        )
    if 1 < value <= 100:
        raise CheckFailed(f"accuracies are fractions between 0 and 1: {value:g} looks like a percentage.")
    if not 0 <= value <= 1:
        raise CheckFailed(f"{what} is {value:g}, but accuracies are fractions between 0 and 1.")
    return value
