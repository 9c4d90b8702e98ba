"""Run a batch of runs of one scenario to their end: the engine's front door for ensembles, comparisons,
calibration and sensitivity analyses.

Runs of a batch share the scenario and the strategy; each has its own seed and may have its own parameters.
Run *i*'s outputs depend only on its seed and parameters, never on the other runs of its batch
(``sim.core.randomness``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from sim.core.randomness import run_keys
from sim.core.state import BatchState, initial_state
from sim.core.world import ACTION_LEVERAGE, ParamBatch, World
from sim.engine import outcomes
from sim.engine.compile import action_leverage, compile_world
from sim.engine.outcomes import CUMULATIVE, METRICS, measure, summarise, timed_output
from sim.engine.schedule import step
from sim.input.parameters import checked
from sim.input.scenario import Scenario

STOP_CHECK_STEPS = 24
"""How often (in steps) a batch with a stopping rule looks at its runs' outputs."""

StopRule = Callable[[dict[str, np.ndarray], np.ndarray], np.ndarray]
"""Given the outputs so far of the runs still going (arrays over those runs) and which runs they are (their
positions in the batch's seeds), which of them may stop now."""


@dataclass
class BatchResult:
    """What a batch produced, run by run in the order of its seeds."""

    summaries: dict[str, np.ndarray]  # outcome -> value per run (with the timed readings, if any)
    series: dict[str, np.ndarray] | None  # metric -> [steps + 1, R] (None unless recorded)
    peak_rung: np.ndarray  # int[R, S]
    stopped_early: np.ndarray  # bool[R]

    @property
    def runs(self) -> int:
        return int(self.peak_rung.shape[0])

    def summary_rows(self) -> list[dict[str, Any]]:
        return outcomes.rows(self.summaries)


class Simulation:
    """A batch in progress: its compiled world, parameters, keys and state, advanced by :meth:`advance`."""

    def __init__(self, scenario: Scenario, seeds: Sequence[int],
                 params: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None,
                 leverage: Sequence[Mapping[str, tuple[float, float]]] | None = None) -> None:
        if params is None or isinstance(params, Mapping):
            base = {**scenario.params, **checked(params or {}, "parameters")}
            per_run: Sequence[Mapping[str, Any]] = [base] * len(seeds)
        else:
            per_run = [{**scenario.params, **checked(p, "parameters")} for p in params]
        if len(per_run) != len(seeds):
            raise ValueError(f"{len(seeds)} seeds but {len(per_run)} parameter sets")
        if leverage is not None:
            if len(leverage) != len(seeds):
                raise ValueError(f"{len(seeds)} seeds but {len(leverage)} leverage draws")
            per_run = [{**p, ACTION_LEVERAGE: action_leverage(scenario, lev)} for p, lev in zip(per_run, leverage)]
        self.scenario = scenario
        self.params = ParamBatch(per_run)
        self.world: World = compile_world(scenario, self.params)
        self.keys = run_keys(seeds)
        self.state: BatchState = initial_state(self.world, self.params)
        self.districts = scenario.geography.districts

    @property
    def done(self) -> bool:
        return self.state.step >= self.world.n_steps

    def advance(self) -> np.ndarray:
        """One step of every run; the ceasefire phase each run entered (``sim.rules.ceasefire.NO_CHANGE``)."""
        return step(self.state, self.params, self.world, self.keys)

    def summary(self) -> dict[str, np.ndarray]:
        return summarise(self.state, self.world, self.districts)

    def metrics(self) -> dict[str, np.ndarray]:
        return measure(self.state, self.world)

    def keep(self, runs: np.ndarray) -> None:
        """Drop every run but ``runs`` (int indices) from the batch."""
        self.state = self.state.select(runs)
        self.keys = self.keys[runs]
        self.params = self.params.subset(runs)


def run_batch(scenario: Scenario, seeds: Sequence[int],
              params: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None,
              record_series: bool = False, read_at_hours: Sequence[float] = (),
              stop: StopRule | None = None,
              leverage: Sequence[Mapping[str, tuple[float, float]]] | None = None) -> BatchResult:
    """Run every seed of a batch to the end of the scenario (or until ``stop`` lets it go).

    ``params`` is one set of parameter overrides for all runs or one per run; ``leverage`` (one per run)
    replaces the mediators' leverage it names, mediator id -> (KG, TJ). ``read_at_hours`` adds the
    cumulative outputs read at those hours (``timed_output``); a run stopped before one reads its last
    values, lower bounds of the full run's. With ``record_series`` every metric is kept at every step."""
    if stop is not None and record_series:
        raise ValueError("a batch that records its series runs every run to the end (no stopping rule)")
    # one BLAS thread: runs are spread over processes, and the engine's small matrix products lose more to
    # thread hand-offs than they gain (3x slower with two threads on a two-core machine)
    with threadpool_limits(limits=1, user_api="blas"):
        return _run(scenario, seeds, params, record_series, read_at_hours, stop, leverage)


def _run(scenario: Scenario, seeds: Sequence[int], params: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None,
         record_series: bool, read_at_hours: Sequence[float], stop: StopRule | None,
         leverage: Sequence[Mapping[str, tuple[float, float]]] | None = None) -> BatchResult:
    sim = Simulation(scenario, seeds, params, leverage)
    n_runs, n_steps = len(seeds), sim.world.n_steps
    index = np.arange(n_runs)  # which original run each row of the batch is
    pending = sorted({float(h) for h in read_at_hours})
    readings: dict[str, np.ndarray] = {}
    final: dict[str, np.ndarray] = {}
    peak = np.zeros((n_runs, sim.world.n_segments), dtype=np.int64)
    stopped = np.zeros(n_runs, dtype=bool)
    series: dict[str, np.ndarray] | None = None
    if record_series:
        series = {name: np.zeros((n_steps + 1, n_runs), dtype=np.int64 if name != "mean_tension" else float)
                  for name in METRICS}
        _record(series, 0, sim.metrics())

    def read_due(now: float, summary: dict[str, np.ndarray], rows: np.ndarray) -> None:
        while pending and pending[0] <= now + 1e-9:
            hour = pending.pop(0)
            for name in CUMULATIVE:
                key = timed_output(name, hour)
                readings.setdefault(key, np.zeros(n_runs, dtype=summary[name].dtype))[rows] = summary[name]

    def finish(rows: np.ndarray, positions: np.ndarray) -> None:
        summary = {k: v[positions] for k, v in sim.summary().items()}
        for name, values in summary.items():
            final.setdefault(name, np.empty(n_runs, dtype=values.dtype))[rows] = values
        for hour in pending:  # readings still due: the run's last values
            for name in CUMULATIVE:
                key = timed_output(name, hour)
                readings.setdefault(key, np.zeros(n_runs, dtype=summary[name].dtype))[rows] = summary[name]
        peak[rows] = sim.state.peak_rung[positions]

    while not sim.done:
        sim.advance()
        k = sim.state.step
        if series is not None:
            _record(series, k, sim.metrics())
        now = k * sim.world.dt
        if pending and pending[0] <= now + 1e-9:
            read_due(now, sim.summary(), index)
        if stop is not None and k % STOP_CHECK_STEPS == 0 and not sim.done:
            summary = {**sim.summary(), **{key: v[index] for key, v in readings.items()}}
            going = ~np.asarray(stop(summary, index), dtype=bool)
            if not going.all():
                leaving = np.flatnonzero(~going)
                stopped[index[leaving]] = True
                finish(index[leaving], leaving)
                if not going.any():
                    break
                keep = np.flatnonzero(going)
                sim.keep(keep)
                index = index[keep]
    if index.size and not stopped[index].all():
        finish(index, np.arange(index.size))
    return BatchResult({**final, **readings}, series, peak, stopped)


def _record(series: dict[str, np.ndarray], k: int, metrics: dict[str, np.ndarray]) -> None:
    for name, values in metrics.items():
        series[name][k] = values
