"""Test-wide settings, applied before any notebook kernel starts (kernels inherit the environment)."""

import os
import tempfile

# Notebooks run in the smoke profile under pytest (COURSE_TEST_PROFILE=quick overrides it, on purpose only).
os.environ["COURSE_PROFILE"] = os.environ.get("COURSE_TEST_PROFILE", "smoke")
# Runs trained during tests go to a temporary folder, never into a student's runs/.
os.environ["CIFAR_COURSE_RUNS"] = tempfile.mkdtemp(prefix="cifar-course-test-runs-")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
