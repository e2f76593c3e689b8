"""``python -m cifar_course``: the same as the ``cifar-course`` command."""

import sys

from .tools.cli import main

sys.exit(main())
