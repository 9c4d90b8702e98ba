"""Errors a user can fix (the CLI prints them as one short message and exits with status 2), and interrupts."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator


class UserError(Exception):
    """A mistake in the user's input (a scenario, a geography, a strategy, a command line).

    The message names the file, the field path and what was expected, so the CLI prints it as is,
    without a traceback.
    """

    exit_code = 2


class Interrupted(KeyboardInterrupt):
    """The command was stopped by a signal (SIGINT: Ctrl-C; SIGTERM: a scheduler, ``timeout``, ``kill``).

    A :class:`KeyboardInterrupt`, so that every clean-up written for Ctrl-C runs for SIGTERM too. ``detail``
    says what was kept (the CLI prints it in its one line)."""

    def __init__(self, signum: int = signal.SIGINT, detail: str = "no results were written") -> None:
        super().__init__(detail)
        self.signum = int(signum)
        self.detail = detail

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports a command ended by that signal (130, 143)."""
        return 128 + self.signum

    @property
    def what(self) -> str:
        return "terminated" if self.signum == signal.SIGTERM else "interrupted"


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise :class:`Interrupted` in the main thread, once: further signals
    are ignored while the interrupted command cleans up (ending its workers, removing temporary folders), so
    that clean-up always finishes. The previous handlers are restored afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.getsignal(s) for s in caught}

    def handler(signum: int, frame: object) -> None:
        for s in caught:
            signal.signal(s, signal.SIG_IGN)
        raise Interrupted(signum)

    for s in caught:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)


def interrupt_outcome(exc: KeyboardInterrupt) -> tuple[str, int]:
    """The CLI's one line and exit status for an interrupt (a plain KeyboardInterrupt counts as SIGINT)."""
    if not isinstance(exc, Interrupted):
        exc = Interrupted()
    return f"{exc.what}; {exc.detail}", exc.exit_code

UNGUARDED_MAIN = (
    "bordersim: a model is being run while a worker process re-imports the main script. Importing Mesa "
    "switches multiprocessing to 'spawn', whose workers import the main script again: without "
    "`if __name__ == \"__main__\":` around the script's work, each worker repeats it (the EMA Workbench's "
    "MultiprocessingEvaluator then respawns its workers for minutes). Put the script's code under that guard.")


def warn_if_unguarded_main() -> bool:
    """Warn (and return True) when called while a spawned worker is still importing the parent's main script.

    Why: ``import mesa`` (3.3) sets multiprocessing's start method to 'spawn'. A spawned worker runs the main
    script again as ``__mp_main__``; a script that runs models at its top level, unguarded, then runs them again
    in every worker, silently. Python marks a process that is still preparing this way with ``_inheriting``
    (the same mark its own 'bootstrapping phase' check reads), so the tool can tell the user instead."""
    import multiprocessing
    import warnings

    if not getattr(multiprocessing.current_process(), "_inheriting", False):
        return False
    warnings.warn(UNGUARDED_MAIN, RuntimeWarning, stacklevel=3)
    return True
