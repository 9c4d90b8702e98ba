"""Ensembles: many seeded runs of a scenario, executed in this process, a process pool or on Dask.

Per-run seeds come from ``numpy.random.SeedSequence(base_seed).spawn(n)``, so run ``i`` has the same seed
whatever executes it and however many workers there are: results do not depend on the executor. A task
is one whole run (never part of a step), which keeps each task well above the cost of shipping it.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol, Sequence

import numpy as np
import pandas as pd

from sim.outcomes import run_reading


def derive_seeds(base_seed: int, runs: int) -> list[int]:
    """Independent per-run seeds from one base seed (``SeedSequence.spawn``), as plain ints."""
    children = np.random.SeedSequence(base_seed).spawn(runs)
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs to repeat one run: picklable and small."""

    scenario_path: str
    seed: int
    run: int = 0
    strategy: str | None = None
    overrides: tuple[tuple[str, Any], ...] = ()
    label: str = ""
    read_at_hours: tuple[float, ...] = ()
    """Hours at which the cumulative outputs are read as well (``outcomes.TimedReadings``): a calibration
    target dated to a moment of the episode."""


@dataclass
class RunResult:
    task: RunTask
    summary: dict[str, Any]
    series: pd.DataFrame
    segment_peaks: np.ndarray = field(repr=False)


@lru_cache(maxsize=32)
def _scenario(path: str, strategy: str | None):
    from sim.scenario import load_scenario

    return load_scenario(path, strategy)


def run_task(task: RunTask) -> RunResult:
    """Run one seeded model to the end and collect its outputs (the unit of work of every executor)."""
    from sim.model import BorderModel

    scenario = _scenario(task.scenario_path, task.strategy)
    model = BorderModel(scenario, seed=task.seed, **dict(task.overrides))
    summary = run_reading(model, task.read_at_hours)
    series = model.datacollector.get_model_vars_dataframe()
    series.insert(0, "step", np.arange(len(series)))
    return RunResult(task, summary, series, model.state.peak_rung.copy())


class Executor(Protocol):
    """Maps a function over tasks and yields results in task order (a context manager)."""

    def __enter__(self) -> "Executor": ...
    def __exit__(self, *exc: object) -> None: ...
    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Any]: ...


class LocalExecutor:
    """This process (``workers=1``) or a pool of processes on this machine."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> "LocalExecutor":
        if self.workers > 1:
            self._pool = ProcessPoolExecutor(max_workers=self.workers)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Any]:
        if self._pool is None:
            return (fn(t) for t in tasks)
        chunk = max(1, len(tasks) // (self.workers * 8))
        return self._pool.map(fn, tasks, chunksize=chunk)


def run_ensemble(tasks: Sequence[RunTask], executor: Executor,
                 on_result: Callable[[RunResult], None] | None = None) -> list[RunResult]:
    """Run every task with ``executor``; ``on_result`` is called as each finishes (progress)."""
    results = []
    for result in executor.map(run_task, tasks):
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def tasks_for(scenario_path: str | Path, base_seed: int, runs: int, strategy: str | None = None,
              overrides: dict[str, Any] | None = None, label: str = "") -> list[RunTask]:
    seeds = derive_seeds(base_seed, runs)
    frozen = tuple(sorted((overrides or {}).items()))
    return [RunTask(str(scenario_path), s, i, strategy, frozen, label) for i, s in enumerate(seeds)]


def summaries_frame(results: Iterable[RunResult]) -> pd.DataFrame:
    rows = [{"run": r.task.run, "seed": r.task.seed, **r.summary} for r in results]
    return pd.DataFrame(rows)


def series_frame(results: Iterable[RunResult]) -> pd.DataFrame:
    frames = []
    for r in results:
        df = r.series.copy()
        df.insert(0, "run", r.task.run)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)
