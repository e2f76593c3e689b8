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
