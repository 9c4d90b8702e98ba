"""One run as a plain function of parameters and a seed, for SALib, EMA Workbench and similar tools.

``run_outcomes(params, seed)`` returns a flat ``dict`` of float outcomes of one seeded run. It takes the
parameters as a mapping (SALib: ``dict(zip(problem["names"], row))``) or as keyword arguments (EMA
Workbench calls ``function(**experiment)``), so both drive it unmodified::

    from SALib.sample import morris as sample
    from SALib.analyze import morris
    problem = {"num_vars": 2, "names": ["agree_rate", "escalate_rate"],
               "bounds": [SPECS["agree_rate"].prior, SPECS["escalate_rate"].prior]}
    X = sample.sample(problem, N=10)
    Y = np.array([run_outcomes(dict(zip(problem["names"], x)), seed=1)["deaths_total"] for x in X])
    morris.analyze(problem, X, Y)

    # EMA Workbench
    model = Model("bordersim", function=run_outcomes)
    model.uncertainties = [RealParameter("agree_rate", 0.003, 0.3)]
    model.levers = [CategoricalParameter("strategy", ["none", "csto_monitors"])]
    model.constants = [Constant("seed", 1)]
    model.outcomes = [ScalarOutcome("deaths_total")]

Keeping the seed fixed while the parameters vary gives common random numbers across the design. An event that
never happened in a run (no ceasefire, no stabilisation, a level never reached) has NaN hours and a
``happened_<event>`` of 0, so an analysis can count it rather than drop it.

``mesa.batch_run(ScenarioRun, parameters={"seed": range(20), ...})`` gives the same outcomes as rows of a batch
run, one per seed: :class:`ScenarioRun` is a whole run as one Mesa step.

Importing Mesa switches multiprocessing to 'spawn': a script that runs these in worker processes must keep its
work under ``if __name__ == "__main__":``; a worker that runs a model while re-importing an unguarded script
warns (:func:`sim.errors.warn_if_unguarded_main`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import mesa

from sim.engine.outcomes import EVENT_TIMES, OUTCOMES, happened_output
from sim.errors import warn_if_unguarded_main
from sim.experiments.ensemble import RunTask, run_task
from sim.input.builtin import DEFAULT_SCENARIO, scenario_file

DERIVED = ("deaths_total", "injured_total", "peak_displaced_total", "relapse")
"""Outcomes added to the run summary: totals over both sides, and whether the conflict relapsed."""

SCALAR_OUTCOMES = (*(name for name in OUTCOMES if name != "max_level"), *DERIVED,
                   *(happened_output(t) for t in EVENT_TIMES))
"""The keys of :func:`run_outcomes`: the numeric run outcomes, the derived ones and the happened indicators."""


def default_scenario() -> Path:
    return DEFAULT_SCENARIO


def scalar_outcomes(summary: Mapping[str, Any]) -> dict[str, float]:
    """The numeric outcomes of a run summary as floats (booleans as 0/1, never-happened as NaN)."""
    out: dict[str, float] = {}
    for name in OUTCOMES:
        value = summary.get(name)
        if isinstance(value, bool):
            out[name] = float(value)
        elif isinstance(value, (int, float)):
            out[name] = float(value)
        elif value is None:
            out[name] = math.nan
        else:
            try:
                out[name] = float(value)
            except (TypeError, ValueError):
                continue  # labels such as max_level ('L2')
    out["deaths_total"] = out["deaths_kg"] + out["deaths_tj"]
    out["injured_total"] = out["injured_kg"] + out["injured_tj"]
    out["peak_displaced_total"] = out["peak_displaced_kg"] + out["peak_displaced_tj"]
    out["relapse"] = float(out["relapses"] > 0)
    for timing in EVENT_TIMES:
        out[happened_output(timing)] = float(not math.isnan(out[timing]))
    return out


def run_outcomes(params: Mapping[str, Any] | None = None, seed: int = 0,
                 scenario: str | Path | None = None, strategy: str | None = None,
                 **param_values: Any) -> dict[str, float]:
    """Run one seeded model with ``params`` replacing the scenario's parameters; its scalar outcomes.

    Args:
        params: parameter names (``sim.input.parameters.SPECS``) to values; numpy scalars are accepted.
        seed: the run's seed; keep it fixed across a design for common random numbers.
        scenario: scenario YAML file or shipped scenario name (default: ``sept2022``).
        strategy: mediation strategy name or file replacing the scenario's.
        **param_values: more parameters as keyword arguments (how EMA Workbench passes uncertainties).

    Raises :class:`~sim.errors.UserError` for an unknown parameter name or a bad value.
    """
    warn_if_unguarded_main()
    merged = {**dict(params or {}), **param_values}
    overrides = tuple(sorted((str(k), _plain(v)) for k, v in merged.items()))
    path = scenario_file(scenario) if scenario is not None else default_scenario()
    result = run_task(RunTask(str(path.resolve()), int(seed), 0, strategy, overrides))
    return scalar_outcomes(result.summary)


class ScenarioRun(mesa.Model):
    """A whole run of a scenario as one step of a Mesa model, for ``mesa.batch_run``: its DataCollector holds
    the run's outcomes (:data:`SCALAR_OUTCOMES`), so batch_run returns one row of outcomes per run.

    Pass the seeds as a parameter (``"seed": range(20)``) with ``iterations=1`` so that every row can be
    repeated; without a seed, Mesa draws one. Other parameters are the model's (``sim.input.parameters``) and
    ``scenario`` / ``strategy`` as for :func:`run_outcomes`. Runs are exactly those of the same seeds in
    ``BorderModel`` and in ensembles. (``BorderModel`` itself records the hourly series; batch_run reads its
    second-to-last record, since the model also records its initial state.)"""

    def __init__(self, scenario: str | Path | None = None, seed: int | None = None, rng: Any = None,
                 strategy: str | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, rng=rng)
        self.run_seed = int(seed) if seed is not None else int(self.rng.integers(2**63))
        self.run_scenario = scenario
        self.run_strategy = strategy
        self.run_params = kwargs
        self.outcomes: dict[str, float] = {}
        self.datacollector = mesa.DataCollector(
            model_reporters={name: _outcome_reporter(name) for name in SCALAR_OUTCOMES})

    def step(self) -> None:
        self.outcomes = run_outcomes(self.run_params, self.run_seed, self.run_scenario, self.run_strategy)
        self.datacollector.collect(self)
        self.running = False


def _outcome_reporter(name: str):
    return lambda model: model.outcomes[name]


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as Python floats and tuples (what parameter checks accept)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list):
        return tuple(float(v) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
