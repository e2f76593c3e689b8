"""Checks for lesson 03, dropout: a dense layer's parameters, what dropout keeps, when early stopping stops."""

from __future__ import annotations

import numpy as np

from ._core import CheckFailed, answered, is_number, ok, plain, shown, whole_number


def check_dense_params(answer, n_inputs: int, units: int) -> None:
    """The parameter count of a Dense layer: (inputs + 1) × units (lesson 03 §2; again in lesson 04 §3)."""
    if not answered(answer, "your count"):
        return
    answer = whole_number(answer, "the parameter count")
    expected = (n_inputs + 1) * units
    if answer == expected:
        return ok(f"{n_inputs:,} weights plus one bias for each of the {units} units: {expected:,} parameters.")
    if answer == n_inputs * units:
        raise CheckFailed(f"{answer:,} counts the weights but not the biases: every unit has one bias as well.")
    if answer in ((4 * n_inputs + 1) * units, 4 * n_inputs * units):
        raise CheckFailed(
            f"{answer:,} uses the size before pooling: MaxPooling2D(2) halves the height and the width, "
            "so Flatten gets a quarter of the values."
        )
    raise CheckFailed(
        f"{answer:,} is not it. A Dense layer has (inputs + 1) x units parameters, where the inputs "
        "are the values Flatten produces (height x width x channels)."
    )


def check_dropout_kept_value(answer, rate: float) -> None:
    """The value a Dropout(rate) layer gives the ones it keeps during training, for an input of ones (lesson 03 §5)."""
    if not answered(answer, "kept_value"):
        return
    value = plain(answer)
    if not is_number(value):
        raise CheckFailed(f"kept_value: give a number, not {shown(answer)}.")
    expected = 1 / (1 - rate)
    if np.isclose(value, expected, atol=5e-3):  # bfloat16 shows 1 / 0.75 as 1.3359
        return ok(f"kept values are divided by 1 - {rate} = {1 - rate:g}: {value:.4f}, so the expected sum stays.")
    if np.isclose(value, 1.0):
        raise CheckFailed("1.0 is what the layer gives outside training; with training=True the kept values change.")
    if np.isclose(value, 1 - rate) or np.isclose(value, rate):
        raise CheckFailed(
            f"{value:g} is a fraction of values (kept or dropped), not what a kept value becomes: the "
            "layer scales the kept values so that their expected sum stays the same."
        )
    if value < 1:
        raise CheckFailed("kept values grow, they do not shrink: the layer makes up for the values it drops.")
    raise CheckFailed(f"{value:g} is not it: run the layer on ones with training=True and look at the non-zero values.")


def _early_stopping_replay(values, patience: int, mode: str = "min") -> tuple[int | None, int]:
    """Keras's EarlyStopping rule replayed on per-epoch values: (epoch it stops after or None, best epoch), 1-based."""
    best, best_epoch, wait = None, 0, 0
    for epoch, value in enumerate(values):
        wait += 1
        if best is None or (value < best if mode == "min" else value > best):
            best, best_epoch, wait = value, epoch, 0
            continue
        if wait >= patience and epoch > 0:
            return epoch + 1, best_epoch + 1
    return None, best_epoch + 1


def check_early_stopping(answer, values, patience: int, mode: str = "min") -> None:
    """``answer`` = (epoch early stopping stops after, or None; epoch whose weights it restores), counted from 1
    (lesson 03 §9)."""
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' (a loss) or 'max' (an accuracy), not {mode!r}.")
    if not answered(answer, "the answer (stop_epoch, best_epoch)"):
        return
    try:
        stop, best = answer
    except (TypeError, ValueError):
        raise CheckFailed(
            f"answer is {answer!r}: give two numbers, (stop_epoch, best_epoch), "
            "with stop_epoch = None if training would run to the end."
        ) from None
    best = whole_number(best, "best_epoch")
    stop = None if stop is None else whole_number(stop, "stop_epoch")
    values = list(values)
    want_stop, want_best = _early_stopping_replay(values, patience, mode)
    if want_stop is not None and want_stop == len(values) and stop in (None, want_stop) and best == want_best:
        return ok(
            f"with patience={patience}, the rule fires after epoch {want_stop}, the last epoch that was run: "
            f"stopping there and running to the end are the same thing, so {want_stop} and None are both right. "
            f"Training keeps the weights of epoch {want_best}."
        )
    count_from_1 = " Epochs count from 1, as Keras prints them."
    if best != want_best:
        better = "lowest" if mode == "min" else "highest"
        if best == want_best - 1:
            hint = count_from_1
        elif best == _early_stopping_replay(values, patience, "max" if mode == "min" else "min")[1]:
            hint = " For a loss, lower is better." if mode == "min" else " For an accuracy, higher is better."
        elif not 1 <= best <= len(values):
            hint = f" There are {len(values)} epochs, numbered 1 to {len(values)}."
        elif want_stop is not None and best > want_stop:
            hint = f" Epoch {best} never runs: training has stopped before it."
        else:
            hint = ""
        raise CheckFailed(
            f"the weights kept are not those of epoch {best}: restore_best_weights keeps the epoch with the "
            f"{better} value so far, before training stopped.{hint}"
        )
    if stop != want_stop:
        if stop is None:
            raise CheckFailed(
                f"training does stop early: find the first time that {patience} epochs in a row bring no new best."
            )
        if stop < best:
            raise CheckFailed(f"training cannot stop after epoch {stop}, before the epoch whose weights it keeps.")
        if stop > len(values):
            raise CheckFailed(
                f"there are only {len(values)} epochs: if training never stops early, stop_epoch is None."
            )
        hint = count_from_1 if want_stop is not None and stop == want_stop - 1 else ""
        raise CheckFailed(
            f"training does not stop after epoch {stop}: it stops once {patience} epochs in a row bring no new best "
            f"(a tie is no improvement); if that never happens, it runs to the end and stop_epoch is None.{hint}"
        )
    where = "runs to the end" if want_stop is None else f"stops after epoch {want_stop}"
    ok(f"with patience={patience}, training {where} and keeps the weights of epoch {want_best}.")
