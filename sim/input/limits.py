"""Bounds on every size a user controls: how long a scenario lasts, how fine its steps are, how many runs it
asks for, and how many places its geography has.

Why: a typo (``duration_hours: 10000000``, ``runs: 100000000``) otherwise starts hours of work and grows the
memory until the machine gives out. The bounds are far above any shipped scenario (the calm year runs 8,760
hours, the delimitation scenario three years; 20–200 runs; the border has 66 places); ``--allow-large`` lifts them
for those who mean it, and the estimate of time, memory and disk (``sim.experiments.budget``) still refuses
what cannot fit on the machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sim.errors import UserError

if TYPE_CHECKING:
    from sim.input.scenario import Scenario

ALLOW_LARGE = "--allow-large"


@dataclass(frozen=True)
class Limits:
    duration_hours: float = 43_800.0
    """Five years of hours (the shipped delimitation scenario runs three)."""
    steps: int = 35_040
    """Steps of one run (duration / step): two years of half-hour steps."""
    step_hours: float = 0.25
    """The finest step, in hours."""
    runs: int = 100_000
    """Runs of one command (per strategy for a comparison, per episode for a score)."""
    places: int = 2_000
    """Places of a geography."""


LIMITS = Limits()


def _over(where: str, shown: str, limit: str) -> UserError:
    return UserError(f"{where}: {shown} is beyond the limit of {limit}; add {ALLOW_LARGE} if you mean it")


def check_runs(runs: int, where: str, allow_large: bool = False) -> None:
    """UserError when ``runs`` is above :data:`LIMITS` (``where`` names the option or file field)."""
    if not allow_large and runs > LIMITS.runs:
        raise _over(where, f"{runs:,} runs", f"{LIMITS.runs:,} runs")


def check_scenario_size(path: Path, duration_hours: float, step_hours: float, places: int,
                        allow_large: bool = False) -> None:
    """UserError naming the scenario's field when its duration, step or geography is beyond :data:`LIMITS`."""
    if allow_large:
        return
    if duration_hours > LIMITS.duration_hours:
        raise _over(f"{path}: duration_hours", f"{duration_hours:,.0f} h", f"{LIMITS.duration_hours:,.0f} h (five years)")
    if step_hours < LIMITS.step_hours:
        raise UserError(f"{path}: step_hours: {step_hours:g} h is finer than the limit of {LIMITS.step_hours:g} h; "
                        f"add {ALLOW_LARGE} if you mean it")
    steps = duration_hours / step_hours
    if steps > LIMITS.steps:
        raise _over(f"{path}: duration_hours / step_hours", f"{steps:,.0f} steps", f"{LIMITS.steps:,} steps per run")
    if places > LIMITS.places:
        raise _over(f"{path}: geography", f"{places:,} places", f"{LIMITS.places:,} places")


def check_scenario(scenario: "Scenario", allow_large: bool = False) -> None:
    """:func:`check_scenario_size` of a loaded scenario."""
    spec = scenario.spec
    check_scenario_size(scenario.path, spec.duration_hours, spec.step_hours, len(scenario.geography.spec.places),
                        allow_large)
