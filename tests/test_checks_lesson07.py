"""Lesson 07's checks: reading a learning-rate schedule."""

from __future__ import annotations

import pytest

from cifar_course import checks


def test_check_schedule_reading_reads_the_schedule_itself(capsys):
    import keras

    schedule = keras.optimizers.schedules.CosineDecay(0.0, 80, alpha=0.0, warmup_target=0.004, warmup_steps=20)
    checks.check_schedule_reading(20, 0.002, schedule)
    assert "Correct:" in capsys.readouterr().out
    for peak_step, lr, hint in [
        (21, 0.002, "count from 0"),
        (10, 0.002, "20% of all steps"),
        (20, 0.004, "the peak itself"),
        (20, 0.001, "which fraction"),
    ]:
        with pytest.raises(checks.CheckFailed, match=hint) as err:
            checks.check_schedule_reading(peak_step, lr, schedule)
        assert "0.002" not in str(err.value) and "step 20" not in str(err.value)
    with pytest.raises(checks.CheckFailed, match="whole number"):
        checks.check_schedule_reading("20", 0.002, schedule)


def test_check_mixup_wants_the_same_proportions_for_images_and_labels(capsys):
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = rng.random((4, 4, 3)), rng.random((4, 4, 3))
    ya, yb = np.eye(10)[3], np.eye(10)[5]
    checks.check_mixup(0.7 * a + 0.3 * b, 0.7 * ya + 0.3 * yb, a, b, ya, yb, 0.7)
    assert "70% class 3 and 30% class 5" in capsys.readouterr().out
    checks.check_mixup(None, None, a, b, ya, yb, 0.7)
    assert "Not answered yet" in capsys.readouterr().out
    for image, label, hint in [
        (0.3 * a + 0.7 * b, 0.7 * ya + 0.3 * yb, "swapped"),
        (a + b, 0.7 * ya + 0.3 * yb, "pixel by pixel"),
        (0.7 * a + 0.3 * b, ya, "same proportions"),
        (0.7 * a + 0.3 * b, 0.7 * ya + 0.7 * yb, "sum to 1"),
        (0.7 * a[0] + 0.3 * b[0], 0.7 * ya + 0.3 * yb, "shape"),
    ]:
        with pytest.raises(checks.CheckFailed, match=hint) as err:
            checks.check_mixup(image, label, a, b, ya, yb, 0.7)
        assert "0.7 * image_a" not in str(err.value)
