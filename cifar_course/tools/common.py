"""What the tools share: the exit statuses, the one error class they raise, and one-line messages."""

from __future__ import annotations

from ..arrays import one_line as one_line  # the first line of a message: one rule, the package's too

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_RUN, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
PROG = "cifar-course"


class ToolError(Exception):
    """An error the command line reports as one line on stderr, with its exit status."""

    def __init__(self, message: str, status: int = EXIT_USAGE):
        super().__init__(message)
        self.status = status


def say(*parts) -> None:
    """Print to stdout at once (the runner's progress bars share the terminal)."""
    print(*parts, flush=True)
