"""The race of lessons 07 and 08: every step trained, tested and saved the same way, one row per step in a table.

Lesson 07 §4 writes the bookkeeping out and explains it; lesson 08 reuses it from here. A ``Race`` holds what every
step shares (the data, the recorded full run, which steps train here) and collects the rows and histories.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .modern import predict_tta
from .reference import Recorded, recorded_runs
from .training import list_runs, new_run

TTA_VIEWS = {"none": 0, "flip": 1, "flip+shift": 1}  # predict_tta's translate= for each kind of TTA (lesson 07 §9)


@dataclass
class Race:
    """What the steps of one lesson's race share, and the rows and histories they add (lesson 07 §4)."""

    lesson: str  # "07" or "08": the lesson the runs are saved for
    data: object  # the cc.load_dataset(...) result (its name, classes and test labels)
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray  # scaled test images; their labels are data.y_test
    race_images: int  # the images per epoch of a race step (the final model says its own)
    trains: Callable[[int], bool] = lambda step: True  # False: show the recorded full run of that step instead
    recorded: dict[int, Recorded] = field(default_factory=dict)
    results: list[dict] = field(default_factory=list)
    histories: dict[str, dict] = field(default_factory=dict)


def recorded_steps(lesson: str) -> dict[int, Recorded]:
    """The course's recorded full run of every step of a lesson's race, by step, the newest record winning (lesson
    07 §4)."""
    return {r.step: r for r in reversed(recorded_runs(lesson)) if r.step is not None and not r.variant}


def _test_accuracies(model, x_test, y_test, views: str) -> dict[str, float]:
    """Test accuracy with no TTA and, as ``views`` asks, with flips and with flips and shifts, from one prediction
    (lesson 07 §9)."""
    flip = views != "none"  # "none": one view, the image itself
    probs = predict_tta(model, x_test, flip=flip, translate=TTA_VIEWS[views], per_view=True)

    def right(p):
        return round(float(np.mean(p.argmax(axis=1) == y_test)), 4)

    found = {"none": right(probs[0])}  # the image itself comes first
    if flip:
        found["flip"] = right(probs[[0, len(probs) // 2]].mean(axis=0))  # the image and its mirror
    return {**found, "flip+shift": right(probs.mean(axis=0))} if views == "flip+shift" else found


def fit_step(
    race: Race,
    step: int,
    adds: str,
    model,
    train_data,
    epochs: int,
    batch_size: int,
    n_images: int | None = None,
    tta: str = "none",
    views: str | None = None,
    callbacks: Sequence = (),
    variant: str = "",
):
    """Fit, measure on the test set (``tta``: "none", "flip" or "flip+shift"), save the run, add a row; returns the
    run, or None where the step shows its recorded full run instead (lesson 07 §4).

    ``views``: the test-time augmentations to measure and save with the run besides (steps 5 and 7 read them);
    ``callbacks``: more Keras callbacks for ``fit`` (step 12's lookahead); ``variant``: an optional change to the
    step (lesson 07 §13's "cutmix"), saved with the run, so that nothing takes it for the step itself."""
    if not race.trains(step):
        return _show_recorded(race, step, adds)
    images = n_images or race.race_images
    run = new_run(race.lesson, model.name, data=race.data, batch_size=batch_size)
    history = model.fit(
        train_data,
        epochs=epochs,
        validation_data=(race.x_val, race.y_val),
        shuffle=False,  # tf.data shuffles
        callbacks=[*run.callbacks(images_per_epoch=images, progress=step >= 8), *callbacks],  # progress: slow steps
        verbose=2,
    )
    accuracies = _test_accuracies(model, race.x_test, race.data.y_test, views or tta)
    test_accuracy = accuracies[tta]
    extra = {"step": step, "adds": adds, "tta": tta, "test_accuracy_tta": accuracies, "variant": variant}
    extra["test_accuracy_no_tta"] = accuracies["none"]
    metrics = run.save(model, history, test_accuracy=test_accuracy, extra=extra)
    seconds = metrics["train_seconds"]
    print(
        f"step {step} ({adds}): test accuracy {test_accuracy:.4f}{'' if tta == 'none' else f' ({tta} TTA)'}, "
        f"{seconds / 60:.1f} min of training, {metrics['images_per_second']:.0f} images/s"
    )
    row = (model.count_params(), epochs, len(race.x_test), test_accuracy, seconds / 60, metrics["images_per_second"])
    _add_row(race, step, adds, "your run", *row)
    race.histories[f"{step}: {adds}"] = history.history
    return run


def _add_row(
    race: Race,
    step: int,
    adds: str,
    source: str,
    params: int | None,
    epochs: int,
    test_images: int,
    accuracy: float,
    minutes: float = np.nan,
    images_per_second: float = np.nan,
) -> None:
    """One row of the race's table (lesson 07 §4)."""
    race.results.append(
        {
            "step": step,
            "adds": adds,
            "source": source,
            "params": params,
            "epochs": epochs,
            "test images": test_images,
            "test accuracy": accuracy,
            "train minutes": minutes,
            "images/s": images_per_second,
        }
    )


def _show_recorded(race: Race, step: int, adds: str) -> None:
    """The quick profile's stand-in for training a wide step: the course's recorded full run of it, said to be so
    (lesson 07 §4)."""
    found = race.recorded.get(step)
    if found is None:
        print(f"step {step} ({adds}): not trained in quick, and no recorded full run at hand (results/ is in the repo)")
        return None
    print(f"step {step} ({adds}): not trained in quick. Recorded: test accuracy {found.test_accuracy:.4f}", end=" ")
    print(f"({found.where})")
    # the recorded run's time was on another machine or setting: not yours, so no minutes
    _add_row(race, step, adds, "recorded full run", found.params, found.epochs, 10_000, found.test_accuracy)
    return None


def start_from(race: Race, lesson: str, step: int, adds: str, tta: str, profile: str) -> None:
    """The race's first row: your newest run of ``lesson``'s ``step`` on the same data and profile, else the course's
    recorded full run of it, its ``tta`` accuracy (lesson 08 §7)."""
    mine = [
        r
        for r in list_runs()
        if r.lesson == lesson
        and r.raw.get("step") == step
        and not r.raw.get("variant")  # lesson 07 §13's CutMix run is not step 3 itself
        and r.profile == profile
        and not r.why_left_out(race.data, profile)  # pick_run's rule: the same data set, classes and kind
        and tta in (r.raw.get("test_accuracy_tta") or {})
    ]
    if mine:
        run = mine[-1]
        accuracy = run.raw["test_accuracy_tta"][tta]
        print(f"step {step} ({adds}): your lesson {lesson} run {run.name}, test accuracy {accuracy:.4f} ({tta} TTA)")
        minutes = run.train_seconds / 60
        _add_row(race, step, adds, "your run", run.params, run.epochs, len(race.x_test), accuracy, minutes)
        return
    found = recorded_steps(lesson).get(step)
    if found is None or tta not in (found.tta or {}):
        print(f"step {step} ({adds}): no run of lesson {lesson} saved here, and no recorded full run at hand")
        return
    accuracy = found.tta[tta]
    print(f"step {step} ({adds}): no run of lesson {lesson} on this data and profile here; recorded: {accuracy:.4f}")
    _add_row(race, step, adds, "recorded full run", found.params, found.epochs, 10_000, accuracy)


def _recorded_accuracy(race: Race, step: int) -> float:
    """The recorded full run's test accuracy of a step (steps 5 and 7: the TTA of steps 4 and 6), or NaN (lesson 07
    §12)."""
    tta = {5: "flip", 7: "flip+shift"}.get(step)
    found = race.recorded.get(step - 1 if tta else step)
    if found is None or (tta and not found.tta):
        return np.nan
    return found.tta[tta] if tta else found.test_accuracy


def step_table(race: Race, profile_name: str, no_training: Sequence[int] = ()) -> pd.DataFrame:
    """The race's rows as a table: gain over the row before (same source only), one standard error of noise, and,
    outside ``full``, the recorded full run of every step (lesson 07 §12)."""
    table = pd.DataFrame(race.results).set_index("step")
    same_source = table["source"].eq(table["source"].shift())
    table["gain (points)"] = (100 * table["test accuracy"].diff()).where(same_source)
    acc = table["test accuracy"]
    table["noise ± (points)"] = 100 * np.sqrt(acc * (1 - acc) / table["test images"])  # one standard error
    table.loc[[s for s in no_training if s in table.index], ["train minutes", "images/s"]] = np.nan
    if profile_name != "full" and race.recorded:  # the course's recorded full run of every step, for comparison
        table["recorded full run"] = [_recorded_accuracy(race, step) for step in table.index]
    return table


def read_gains(table: pd.DataFrame, skip: Sequence[int] = ()) -> None:
    """Print which of your own run's gains stand clear of twice the noise (lesson 07 §12)."""
    own = table[table["source"] == "your run"]
    for step, row in own.iterrows():
        if np.isnan(row["gain (points)"]) or step in skip:
            continue
        noise = 2 * row["noise ± (points)"]
        gain = row["gain (points)"]
        verdict = "a clear gain" if gain > noise else "a clear loss" if gain < -noise else "within the noise"
        print(f"step {step:>2} ({row['adds']}): {gain:+.1f} points, {verdict} (twice the noise: {noise:.1f})")
