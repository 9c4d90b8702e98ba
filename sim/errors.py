"""Errors a user can fix: the CLI prints them as one short message and exits with status 2."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input (a scenario, a geography, a strategy, a command line).

    The message names the file, the field path and what was expected, so the CLI prints it as is,
    without a traceback.
    """

    exit_code = 2


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
