"""Profiles (how much work a run does) and the seeds."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Profile:
    """How much data and how many epochs a run uses; ``profile.pick`` chooses a value per profile (lesson 02 §9)."""

    name: str
    train_size: int | None  # training images kept (stratified); None keeps them all
    test_size: int | None  # test images kept (stratified); None keeps them all
    purpose: str

    def pick(self, *, full, quick, smoke):
        """The value given for this profile: ``epochs = profile.pick(full=10, quick=4, smoke=1)`` (lesson 02 §9)."""
        return {"full": full, "quick": quick, "smoke": smoke}[self.name]


PROFILES = {
    "smoke": Profile("smoke", 600, 200, "tests: a few hundred images and 1 epoch"),
    "quick": Profile("quick", 10_000, 2_000, "a class on laptops: a stratified subset and fewer epochs"),
    "full": Profile("full", None, None, "the reference settings: every image, reference epochs"),
}
DEFAULT_PROFILE = "full"
_chosen: str | None = None
_seed = 42  # the seed given to setup()/set_seeds(); split_validation follows it


def _check_profile_name(name: str, where: str) -> str:
    key = name.strip().lower()
    if key not in PROFILES:
        raise ValueError(
            f"Unknown profile {name!r} ({where}). Valid profiles: {', '.join(PROFILES)}. "
            "Example: COURSE_PROFILE=quick jupyter lab"
        )
    return key


def set_profile(name: str) -> Profile:
    """Choose the profile from code, before ``cc.setup`` (it wins over $COURSE_PROFILE); every lesson's introduction
    names it (lesson 01 setup)."""
    global _chosen
    _chosen = _check_profile_name(name, "set_profile")
    return PROFILES[_chosen]


def get_profile(name: str | None = None) -> Profile:
    """The profile in force: the argument, else set_profile(), else $COURSE_PROFILE, else 'full' (used by the tools)."""
    if name is not None:
        return PROFILES[_check_profile_name(name, "argument")]
    if _chosen is not None:
        return PROFILES[_chosen]
    env = os.environ.get("COURSE_PROFILE")
    if env:
        return PROFILES[_check_profile_name(env, "environment variable COURSE_PROFILE")]
    return PROFILES[DEFAULT_PROFILE]


def set_seeds(seed: int = 42) -> None:
    """Fix the seeds of Python, NumPy and TensorFlow (via Keras) so runs repeat on one machine (lesson 03 §2).

    $CIFAR_COURSE_SEED, when set, replaces every seed a lesson asks for (``cifar-course run --seed N``): the same
    lesson with other random draws, to check that what it shows does not hang on one seed."""
    import keras

    global _seed
    seed = int(os.environ.get("CIFAR_COURSE_SEED") or seed)
    _seed = seed
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


def current_seed() -> int:
    """The seed last given to setup() or set_seeds() (42 before either); cc.split_validation follows it
    (lesson 01 §7)."""
    return _seed
