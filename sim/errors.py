"""Errors a user can fix: the CLI prints them as one short message and exits with status 2."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input (a scenario, a geography, a strategy, a command line).

    The message names the file, the field path and what was expected, so the CLI prints it as is,
    without a traceback.
    """

    exit_code = 2
