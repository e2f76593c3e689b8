"""Same seed, same machine, CPU: training gives bit-identical weights (docs/troubleshooting.md: what still varies)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import cifar_course as cc
from cifar_course import data as data_mod

SCRIPT = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_reproducibility import train
print("DIGEST", train(0)[1])
"""


def train(seed: int) -> tuple[list[np.ndarray], str]:
    """Seeds, data split, a small CNN with dropout and batch norm, two shuffled epochs: (weights, digest)."""
    import keras

    cc.set_seeds(seed)
    ds = data_mod.synthetic_dataset("cifar10", 160, 10)
    (x, y), _ = cc.split_validation(cc.scale_pixels(ds.x_train), ds.y_train, 0.2)
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.MaxPooling2D(2),
            keras.layers.Dropout(0.3),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=32, epochs=2, shuffle=True, verbose=0)
    weights = model.get_weights()
    return weights, hashlib.sha256(b"".join(w.tobytes() for w in weights)).hexdigest()


def test_same_seed_gives_identical_weights_in_one_process():
    first, digest = train(0)
    second, again = train(0)
    assert all(np.array_equal(a, b) for a, b in zip(first, second)) and digest == again
    other, different = train(1)
    assert different != digest, "a different seed should train differently (else this test proves nothing)"


def test_same_seed_gives_identical_weights_in_a_fresh_process():
    """A restarted kernel: a new Python process with its own hash seed and TensorFlow state."""
    _, digest = train(0)
    env = {**os.environ, "PYTHONHASHSEED": "random"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"DIGEST {digest}" in out.stdout
