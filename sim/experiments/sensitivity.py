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

Keeping the seed fixed while the parameters vary gives common random numbers across the design.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

from sim.engine.outcomes import OUTCOMES
from sim.experiments.ensemble import RunTask, run_task

DERIVED = ("deaths_total", "injured_total", "peak_displaced_total", "relapse")
"""Outcomes added to the run summary: totals over both sides, and whether the conflict relapsed."""


def default_scenario() -> Path:
    from sim.model import DEFAULT_SCENARIO

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
    return out


def run_outcomes(params: Mapping[str, Any] | None = None, seed: int = 0,
                 scenario: str | Path | None = None, strategy: str | None = None,
                 **param_values: Any) -> dict[str, float]:
    """Run one seeded model with ``params`` replacing the scenario's parameters; its scalar outcomes.

    Args:
        params: parameter names (``sim.input.parameters.SPECS``) to values; numpy scalars are accepted.
        seed: the run's seed; keep it fixed across a design for common random numbers.
        scenario: scenario YAML file (default: ``scenarios/sept2022.yaml``).
        strategy: mediation strategy name or file replacing the scenario's.
        **param_values: more parameters as keyword arguments (how EMA Workbench passes uncertainties).

    Raises :class:`~sim.errors.UserError` for an unknown parameter name or a bad value.
    """
    merged = {**dict(params or {}), **param_values}
    overrides = tuple(sorted((str(k), _plain(v)) for k, v in merged.items()))
    path = Path(scenario) if scenario is not None else default_scenario()
    result = run_task(RunTask(str(path.resolve()), int(seed), 0, strategy, overrides))
    return scalar_outcomes(result.summary)


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as Python floats and tuples (what parameter checks accept)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list):
        return tuple(float(v) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
