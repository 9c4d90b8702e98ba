"""Progress for long work (ensembles, comparisons, calibration), silenced by ``--quiet``."""

from __future__ import annotations

import contextlib
import sys
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


@contextlib.contextmanager
def progress(total: int, description: str, quiet: bool = False) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``; draws a bar on stderr unless quiet."""
    if quiet:
        yield lambda n=1: None
        return
    console = Console(file=sys.stderr)
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False)
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)


def say(message: str, quiet: bool = False) -> None:
    """A one-line status message on stderr (results paths, summaries), unless quiet."""
    if not quiet:
        print(message, file=sys.stderr)
