"""Ensembles: many seeded runs of a scenario, executed in this process, a process pool or on Dask.

Per-run seeds come from ``numpy.random.SeedSequence(base_seed).spawn(n)``, so run ``i`` has the same seed
whatever executes it and however many workers there are: results do not depend on the executor. The
unit of work is a batch of whole runs (``sim.engine.batch``), never part of a step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Protocol, Sequence

import numpy as np
import pandas as pd

from sim.errors import warn_if_unguarded_main
from sim.experiments.pool import WorkerPool

if TYPE_CHECKING:
    from sim.engine.batch import BatchResult



def seed_of(base_seed: int, run: int) -> int:
    """Run ``run``'s seed: the ``run``-th child of ``SeedSequence(base_seed).spawn``, made on its own (a child
    is the parent's entropy with ``spawn_key=(run,)``), so no run needs the seeds of the runs before it."""
    child = np.random.SeedSequence(base_seed, spawn_key=(run,))
    return int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def derive_seeds(base_seed: int, runs: int) -> list[int]:
    """Independent per-run seeds from one base seed (``SeedSequence(base_seed).spawn(runs)``), as plain ints;
    made one at a time (:func:`seed_of`), so memory holds the ints and no ``SeedSequence`` objects."""
    return [seed_of(base_seed, i) for i in range(runs)]


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
    account: str | None = None
    """The scenario's contested account to run under (``accounts`` in the YAML), or None: as written."""
    leverage: tuple[tuple[str, float, float], ...] = ()
    """The run's own draw of mediators' leverage, (mediator id, KG, TJ) each; mediators not named keep the
    registry's (``sim.experiments.uncertainty``)."""


@dataclass
class RunResult:
    task: RunTask
    summary: dict[str, Any]
    series: pd.DataFrame
    segment_peaks: np.ndarray = field(repr=False)


@lru_cache(maxsize=32)
def _scenario(path: str, strategy: str | None, account: str | None = None):
    from sim.input.scenario import load_scenario

    return load_scenario(path, strategy, account)


BATCH_RUNS = 250
"""Most runs in one batch of the engine: a few hundred runs amortise numpy's per-call cost, and a batch of
``sept2022`` runs takes a few seconds, well above the cost of shipping it to a worker."""


def run_task_batch(tasks: Sequence[RunTask], record_series: bool = True) -> "BatchResult":
    """Run tasks of one scenario, strategy and reading hours as one batch of the engine. Each run's outputs
    depend only on its own seed and parameters, so how tasks are grouped into batches changes nothing."""
    from sim.engine.batch import run_batch

    first = tasks[0]
    scenario = _scenario(first.scenario_path, first.strategy, first.account)
    leverage = ([{m: (kg, tj) for m, kg, tj in t.leverage} for t in tasks]
                if any(t.leverage for t in tasks) else None)
    return run_batch(scenario, [t.seed for t in tasks], [dict(t.overrides) for t in tasks],
                     record_series=record_series, read_at_hours=first.read_at_hours, leverage=leverage)


def run_tasks(tasks: Sequence[RunTask], record_series: bool = True) -> list[RunResult]:
    """:func:`run_task_batch` as one :class:`RunResult` per task (the unit of work of every executor), in
    task order."""
    result = run_task_batch(tasks, record_series)
    rows = result.summary_rows()
    frames = _series_frames(result.series) if result.series is not None else [pd.DataFrame()] * len(tasks)
    return [RunResult(t, row, frame, result.peak_rung[i]) for i, (t, row, frame) in enumerate(zip(tasks, rows, frames))]


def _series_frames(series: dict[str, np.ndarray]) -> list[pd.DataFrame]:
    from sim.engine.outcomes import phase_names

    steps = next(iter(series.values())).shape[0]
    frames = []
    for i in range(next(iter(series.values())).shape[1]):
        columns: dict[str, Any] = {"step": np.arange(steps)}
        for name, values in series.items():
            columns[name] = phase_names(values[:, i]) if name == "ceasefire_phase" else values[:, i]
        frames.append(pd.DataFrame(columns))
    return frames


def run_task(task: RunTask) -> RunResult:
    """One task alone (a batch of one): the same outputs as in any batch."""
    return run_tasks([task])[0]


def batches(tasks: Sequence[RunTask], workers: int = 1) -> list[list[int]]:
    """Which tasks (by index) run together: tasks the engine can batch (same scenario, strategy, reading hours
    and kernel-shaping parameters), in task order within each group; at most :data:`BATCH_RUNS` runs per
    batch, and small enough that every worker gets at least two."""
    from sim.core.world import SHARED_IN_BATCH

    groups: dict[tuple, list[int]] = {}
    for i, t in enumerate(tasks):
        shared = tuple(repr(dict(t.overrides).get(name)) for name in SHARED_IN_BATCH)
        groups.setdefault((t.scenario_path, t.strategy, t.account, t.read_at_hours, *shared), []).append(i)
    out = []
    for group in groups.values():
        size = max(1, min(BATCH_RUNS, -(-len(group) // max(1, 2 * workers))))
        out.extend(group[i:i + size] for i in range(0, len(group), size))
    return out


class Executor(Protocol):
    """Maps a function over tasks and yields results in task order (a context manager)."""

    def __enter__(self) -> "Executor": ...
    def __exit__(self, *exc: object) -> None: ...
    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Any]: ...


class LocalExecutor:
    """This process (``workers=1``) or a pool of processes on this machine (:class:`WorkerPool`: an
    interrupt or an error ends the workers at once)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: WorkerPool | None = None

    def __enter__(self) -> "LocalExecutor":
        if self.workers > 1:
            self._pool = WorkerPool(self.workers).__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if self._pool is not None:
            self._pool.__exit__(exc_type, *exc)
            self._pool = None

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Any]:
        if self._pool is None:
            return (fn(t) for t in tasks)
        return self._pool.map(fn, tasks)


def run_ensemble(tasks: Sequence[RunTask], executor: Executor,
                 on_result: Callable[[RunResult], None] | None = None, workers: int = 1) -> list[RunResult]:
    """Run every task with ``executor``, in batches (:func:`batches`); ``on_result`` is called for each run
    as its batch finishes (progress). Results in task order."""
    warn_if_unguarded_main()
    plan = batches(tasks, workers)
    results: list[Any] = [None] * len(tasks)
    for indices, batch in zip(plan, executor.map(run_tasks, [[tasks[i] for i in ix] for ix in plan])):
        for i, result in zip(indices, batch):
            results[i] = result
            if on_result is not None:
                on_result(result)
    return results


def tasks_for(scenario_path: str | Path, base_seed: int, runs: int, strategy: str | None = None,
              overrides: dict[str, Any] | None = None, label: str = "", account: str | None = None) -> list[RunTask]:
    seeds = derive_seeds(base_seed, runs)
    frozen = tuple(sorted((overrides or {}).items()))
    return [RunTask(str(scenario_path), s, i, strategy, frozen, label, account=account)
            for i, s in enumerate(seeds)]


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
