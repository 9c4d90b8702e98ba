"""Calibration targets (``calibration/episodes.yaml``): read, checked, and turned into a distance.

Each episode names a scenario and lists documented figures, each with a point value, the range over which the
sources disagree, its sources, and the model output (one of :data:`sim.engine.outcomes.OUTCOMES`) it is compared
with. Mistakes are :class:`~sim.errors.UserError` naming the file and the field path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pydantic

from sim.engine.outcomes import CUMULATIVE, OUTCOMES, district_output, output_district, timed_output
from sim.errors import UserError
from sim.input.builtin import CALIBRATION
from sim.input.yamlio import AwareDatetime, StrictModel, load_model, suggest

DEFAULT_EPISODES_FILE = CALIBRATION / "episodes.yaml"
TIMELINE_EVENTS = ("onset", "first_shots", "heavy_weapons", "ceasefire_agreed", "violation", "stabilised",
                   "protocol_signed", "withdrawal")


class DistanceSpec(StrictModel):
    relative_floor: float = pydantic.Field(default=0.1, ge=0.0)
    default_floor: float = pydantic.Field(default=1.0, gt=0.0)
    floors: dict[str, float] = pydantic.Field(default_factory=dict)
    log_outputs: list[str] = pydantic.Field(default_factory=list)
    censor_at_end: bool = True


class TargetSpec(StrictModel):
    output: str
    point: float | None = None
    range: tuple[float, float] | None = None
    sources: list[str] = pydantic.Field(min_length=1)
    note: str | None = None
    fit: bool = True
    under_reported: bool = False
    floor: float | None = pydantic.Field(default=None, gt=0.0)
    by: AwareDatetime | None = None
    """Read the output as it stood at this moment of the episode, not at the run's end (a toll dated by a
    source as it mounted); only an output that never decreases during a run (``outcomes.CUMULATIVE``)."""

    @pydantic.field_validator("output")
    @classmethod
    def _known_output(cls, value: str) -> str:
        if value not in OUTCOMES and output_district(value) is None:
            raise ValueError(f"unknown model output '{value}'{suggest(value, OUTCOMES)} (or "
                             f"'{district_output('<district>')}' for one district of the scenario's geography)")
        return value

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> "TargetSpec":
        if self.point is None and self.range is None:
            raise ValueError("give a 'point', a 'range' [low, high], or both")
        if self.by is not None and self.output not in CUMULATIVE:
            raise ValueError(f"'by' reads the output at a moment of the run, so it must be one that never "
                             f"decreases during a run: one of {', '.join(CUMULATIVE)}")
        if self.range is not None:
            low, high = self.range
            if low > high:
                raise ValueError(f"range must be [low, high] with low <= high, got {list(self.range)}")
            if self.point is not None and not low <= self.point <= high:
                raise ValueError(f"point {self.point} lies outside its range {list(self.range)}")
        return self


class TimelineEvent(StrictModel):
    event: Literal[TIMELINE_EVENTS]  # type: ignore[valid-type]
    at: AwareDatetime
    label: str
    source: str


class EpisodeSpec(StrictModel):
    title: str
    kind: Literal["episode", "background"] = "episode"
    default: bool = True
    scenario: str
    onset: AwareDatetime | None = None
    timeline: list[TimelineEvent] = pydantic.Field(default_factory=list)
    stop_above: dict[str, pydantic.PositiveFloat] = pydantic.Field(default_factory=dict)
    targets: dict[str, TargetSpec] = pydantic.Field(min_length=1)


class EpisodesFile(StrictModel):
    version: Literal[1] = 1
    distance: DistanceSpec = DistanceSpec()
    episodes: dict[str, EpisodeSpec] = pydantic.Field(min_length=1)


@dataclass(frozen=True)
class Target:
    episode: str
    name: str
    output: str
    point: float
    low: float
    high: float
    scale: float
    fit: bool
    under_reported: bool
    sources: tuple[str, ...]
    note: str
    log: bool = False
    """Compared on log(1 + value), with ``scale`` in those units (``distance.log_outputs``)."""
    hour: float | None = None
    """The hour of the run (since the scenario's start) at which the output is read; None: at the run's end."""

    @property
    def reads(self) -> str:
        """The name of the run's value this target is compared with: the output, or the output at ``hour``
        (``outcomes.timed_output``)."""
        return self.output if self.hour is None else timed_output(self.output, self.hour)

    @property
    def key(self) -> str:
        """The summary-statistic name pyabc sees: ``E07.deaths_kg``."""
        return f"{self.episode}.{self.name}"

    def deviation(self, value: float) -> float:
        """How many scale units a simulated value lies from the documented point (signed)."""
        if self.log:
            return (math.log1p(max(value, 0.0)) - math.log1p(self.point)) / self.scale
        return (value - self.point) / self.scale


@dataclass(frozen=True)
class Episode:
    id: str
    title: str
    kind: str
    default: bool
    scenario: Path
    onset_hour: float | None
    duration_hours: float
    start: datetime
    timeline: tuple[TimelineEvent, ...]
    targets: tuple[Target, ...]
    stop_above: tuple[tuple[str, float], ...] = ()
    """In the fit only, a run of this episode stops once one of these cumulative outputs exceeds its cap: its
    values are then lower bounds, already far enough from the documents to reject the particle."""

    def fitted_targets(self) -> list[Target]:
        """The targets that enter the distance (``fit: true``)."""
        return [t for t in self.targets if t.fit]

    @property
    def read_at_hours(self) -> tuple[float, ...]:
        """The hours at which a run of this episode must read its cumulative outputs for the dated targets."""
        return tuple(sorted({t.hour for t in self.targets if t.hour is not None}))


@dataclass(frozen=True)
class TargetSet:
    path: Path
    episodes: dict[str, Episode]
    censor_at_end: bool

    def select(self, ids: list[str] | None) -> "TargetSet":
        """The episodes named (in that order), or those marked ``default: true``."""
        if ids is None:
            chosen = [e for e in self.episodes if self.episodes[e].default]
        else:
            for i in ids:
                if i not in self.episodes:
                    raise UserError(f"--episodes: unknown episode '{i}' in {self.path}"
                                    f"{suggest(i, list(self.episodes))}")
            chosen = list(dict.fromkeys(ids))
        if not chosen:
            raise UserError(f"{self.path}: no episode selected (none is marked default: true)")
        return TargetSet(self.path, {e: self.episodes[e] for e in chosen}, self.censor_at_end)

    def fitted_targets(self) -> list[Target]:
        return [t for e in self.episodes.values() for t in e.fitted_targets()]

    def all_targets(self) -> list[Target]:
        return [t for e in self.episodes.values() for t in e.targets]


def load_targets(path: str | Path = DEFAULT_EPISODES_FILE) -> TargetSet:
    """Read and check an episodes file; every scenario it names is loaded (and so checked) too."""
    from sim.input.scenario import load_scenario

    path = Path(path)
    spec = load_model(path, EpisodesFile)
    floors = spec.distance.floors
    for name in floors:
        if name not in OUTCOMES:
            raise UserError(f"{path}: distance.floors.{name}: unknown model output{suggest(name, OUTCOMES)}")
    for i, name in enumerate(spec.distance.log_outputs):
        if name not in OUTCOMES:
            raise UserError(f"{path}: distance.log_outputs[{i}]: unknown model output '{name}'"
                            f"{suggest(name, OUTCOMES)}")
    episodes: dict[str, Episode] = {}
    for eid, ep in spec.episodes.items():
        where = f"{path}: episodes.{eid}"
        scen_path = (path.parent / ep.scenario).resolve()
        if not scen_path.is_file():
            raise UserError(f"{where}.scenario: file not found: {scen_path}")
        scenario = load_scenario(scen_path)
        start, duration = scenario.spec.start, scenario.spec.duration_hours
        onset = None
        if ep.onset is not None:
            onset = (ep.onset - start).total_seconds() / 3600.0
            first = min((t.step * scenario.spec.step_hours for t in scenario.triggers if t.kind == "incident"),
                        default=None)
            if first is not None and abs(first - onset) > 1e-9:
                raise UserError(f"{where}.onset: {ep.onset.isoformat()} is hour {onset:g} of the scenario, but the "
                                f"scenario's first incident trigger is at hour {first:g}; the hour offsets must match")
        for name in ep.stop_above:
            if name not in CUMULATIVE:
                raise UserError(f"{where}.stop_above.{name}: not an output that only grows during a run"
                                f"{suggest(name, CUMULATIVE)}")
        for i, ev in enumerate(ep.timeline):
            hour = (ev.at - start).total_seconds() / 3600.0
            if not 0 <= hour <= duration:
                raise UserError(f"{where}.timeline[{i}].at: {ev.at.isoformat()} falls outside the scenario's "
                                f"time span (start {start.isoformat()}, {duration:g} h)")
        targets = []
        districts = scenario.geography.districts
        for name, t in ep.targets.items():
            district = output_district(t.output)
            if district is not None and district not in districts:
                raise UserError(f"{where}.targets.{name}.output: no district '{district}' among the populated "
                                f"places of {scenario.geography.path}{suggest(district, districts)}")
            hour = None
            if t.by is not None:
                hour = (t.by - start).total_seconds() / 3600.0
                if not 0 < hour <= duration:
                    raise UserError(f"{where}.targets.{name}.by: {t.by.isoformat()} falls outside the scenario's "
                                    f"time span (start {start.isoformat()}, {duration:g} h)")
            low, high = t.range if t.range is not None else (t.point, t.point)
            point = t.point if t.point is not None else (low + high) / 2.0
            log = t.output in spec.distance.log_outputs
            if log:  # the same rule in log(1 + x) units: the range's half-width, or the relative floor as a ratio
                scale = max((math.log1p(high) - math.log1p(low)) / 2.0, math.log1p(spec.distance.relative_floor))
            else:
                floor = t.floor or floors.get(t.output, spec.distance.default_floor)
                scale = max((high - low) / 2.0, spec.distance.relative_floor * abs(point), floor)
            targets.append(Target(eid, name, t.output, float(point), float(low), float(high), float(scale),
                                  t.fit, t.under_reported, tuple(t.sources), (t.note or "").strip(), log, hour))
        if not any(t.fit for t in targets):
            raise UserError(f"{where}.targets: every target has fit: false; nothing to fit against")
        episodes[eid] = Episode(eid, ep.title, ep.kind, ep.default, scen_path, onset, duration, start,
                                tuple(ep.timeline), tuple(targets), tuple(ep.stop_above.items()))
    return TargetSet(path, episodes, spec.distance.censor_at_end)


def observed(targets: list[Target]) -> dict[str, float]:
    """The documented point values keyed like the simulated statistics (what pyabc calls x_0)."""
    return {t.key: t.point for t in targets}


def sim_value(summary: dict[str, Any], output: str, episode: Episode, censor: bool) -> float:
    """A run's value of ``output`` as a float; an event that never happened is censored at the run's end."""
    value = summary.get(output)
    if isinstance(value, bool):
        return float(value)
    value = math.nan if value is None else float(value)
    if math.isnan(value) and censor and output.startswith("hours_"):
        onset = summary.get("onset_hour")
        onset = 0.0 if onset is None or math.isnan(float(onset)) else float(onset)
        return episode.duration_hours - onset
    return value


def distance_lower_bound(summary: dict[str, Any], targets: list[Target]) -> float:
    """The least :func:`distance` a run still in progress can end with, from its outputs so far.

    Only outputs that never decrease during a run (``outcomes.CUMULATIVE``) count, and only once they are past
    their documented point: from there on their deviation can only grow. Why: a fit can then abandon a run,
    and skip the episodes after it, as soon as the particle can no longer be accepted."""
    total = 0.0
    for t in targets:
        if t.output in CUMULATIVE:   # a dated target not read yet: the output now is a lower bound of it too
            z = t.deviation(float(summary.get(t.reads, summary[t.output])))
            total += z * z if z > 0 else 0.0
    return total


def surely_above(bound: float | np.ndarray, limit: float) -> bool | np.ndarray:
    """A distance's lower bound is above ``limit`` by more than rounding: the bound and the full distance sum
    the same squares in different orders, so a bound equal to the distance may come out a hair above it."""
    return bound > limit * (1.0 + 1e-9) + 1e-12


MISSING_DEVIATION = 100.0
"""Scale units a missing simulated value counts for in the distance."""


def distance_deviation(target: Target, value: float | None) -> float:
    """A run's deviation from ``target`` as the distance counts it: ``Target.deviation``, or
    ``MISSING_DEVIATION`` for a missing value."""
    return MISSING_DEVIATION if value is None or math.isnan(value) else target.deviation(value)


def distance(sim: dict[str, float], targets: list[Target]) -> float:
    """Sum over targets of their squared deviations (``Target.deviation``: (simulated - point) / scale, on
    log(1 + x) for ``distance.log_outputs``); a missing value counts as ``MISSING_DEVIATION`` scale units."""
    return sum(distance_deviation(t, sim.get(t.key, math.nan)) ** 2 for t in targets)
