"""Lesson 05's checks: the parameters of a VGG16 block."""

from __future__ import annotations

import pytest

from cifar_course import checks


def test_check_layer_params_counts_layers_and_hints_at_biases(capsys):
    import keras

    convs = [keras.layers.Conv2D(8, 3), keras.layers.Conv2D(4, 3)]
    convs[0].build((None, 10, 10, 3))
    convs[1].build((None, 8, 8, 8))
    total = (27 + 1) * 8 + (72 + 1) * 4
    checks.check_layer_params(total, convs)
    assert "Correct: 2 layers hold 516 parameters" in capsys.readouterr().out
    with pytest.raises(checks.CheckFailed, match="not the biases"):
        checks.check_layer_params(total - 12, convs)
    with pytest.raises(checks.CheckFailed, match="one layer's count"):
        checks.check_layer_params(224, convs)
    with pytest.raises(checks.CheckFailed, match="is not it") as err:
        checks.check_layer_params(999, convs)
    assert "516" not in str(err.value)
    with pytest.raises(checks.CheckFailed, match="whole number"):
        checks.check_layer_params("516", convs)
