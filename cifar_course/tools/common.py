"""What the tools share: the exit statuses, the one error class they raise, and one-line messages."""

from __future__ import annotations

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


def one_line(err: BaseException) -> str:
    """The first non-blank line of an error's message (its type name when it has none)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__
