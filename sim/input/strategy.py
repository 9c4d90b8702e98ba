"""Mediators and mediation strategies as data, and what each instrument does to the model.

A *strategy* (``scenarios/strategies/*.yaml``) lists actions: which mediator uses which instrument,
when (a fixed hour from the start, a number of hours after the onset, or a delay after an observed
condition), on which segments. Mediators come from a
registry (``scenarios/mediators.yaml``) that gives each its leverage with each side.

Every effect is proportional to the mediator's *effective leverage*, the smaller of its leverages with
the two sides: an instrument works only as far as both parties accept it. A mediator with zero leverage
therefore changes nothing, and mediators draw no random numbers, so that result is exact under a seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pydantic

from typing import Any

from sim.errors import UserError
from sim.input.yamlio import Level, StrictModel, load_model, suggest

Instrument = Literal["call", "broker", "summit", "monitors", "joint_commission", "delimitation"]
INSTRUMENTS: tuple[str, ...] = Instrument.__args__  # type: ignore[attr-defined]


class Leverage(StrictModel):
    KG: float = pydantic.Field(ge=0.0, le=1.0)
    TJ: float = pydantic.Field(ge=0.0, le=1.0)

    @property
    def effective(self) -> float:
        return min(self.KG, self.TJ)


class LeveragePrior(StrictModel):
    """The range a comparison draws a mediator's leverage with each side from: two uniform halves either side
    of the median (so the median is the value a draw falls below half the time)."""

    low: float = pydantic.Field(ge=0.0, le=1.0)
    median: float = pydantic.Field(ge=0.0, le=1.0)
    high: float = pydantic.Field(ge=0.0, le=1.0)

    @pydantic.model_validator(mode="after")
    def _ordered(self) -> "LeveragePrior":
        if not self.low <= self.median <= self.high:
            raise ValueError(f"expected low <= median <= high, got {self.low}, {self.median}, {self.high}")
        return self


class MediatorSpec(StrictModel):
    id: str = pydantic.Field(pattern=r"^[a-z0-9_]+$")
    name: str
    leverage: Leverage
    leverage_source: str
    leverage_prior: LeveragePrior | None = None
    """Where comparisons draw this mediator's leverage from; None: the listed leverage, fixed."""
    leverage_prior_source: str | None = None
    notes: str | None = None

    @pydantic.model_validator(mode="after")
    def _prior_sourced(self) -> "MediatorSpec":
        if self.leverage_prior is not None and not self.leverage_prior_source:
            raise ValueError("leverage_prior needs a leverage_prior_source saying what it rests on")
        return self


class MediatorRegistry(StrictModel):
    description: str
    mediators: list[MediatorSpec] = pydantic.Field(min_length=1)

    def get(self, mediator_id: str) -> MediatorSpec | None:
        return next((m for m in self.mediators if m.id == mediator_id), None)

    @property
    def ids(self) -> list[str]:
        return [m.id for m in self.mediators]


class Trigger(StrictModel):
    """An observed condition: all the given thresholds must be met."""

    level_at_least: Level | None = pydantic.Field(default=None, description="any segment at this level or "
                                                  "above")
    deaths_at_least: int | None = pydantic.Field(default=None, ge=0, description="at least this many dead, "
                                                 "both sides")
    after_ceasefire_violations: int | None = pydantic.Field(default=None, ge=0, description="at least this "
                                                            "many ceasefire violations")


ONSET = Trigger(level_at_least="L0")
"""The condition ``after_onset_hours`` waits for: the first incident (any segment at L0 or above). The mediators
see it in the step the incident starts when a trigger starts it, and at the end of that step otherwise."""


class ActionSpec(StrictModel):
    """One action. When: ``at_hour`` (hours from the scenario's start), ``after_onset_hours`` (hours after the
    first incident), or ``when`` a condition is first observed plus ``delay_hours``; with none of them, a
    delay after the first armed fire (L1)."""

    mediator: str = pydantic.Field(description="a mediator id from the registry")
    instrument: Instrument
    at_hour: float | None = pydantic.Field(default=None, ge=0, description="start this many hours after the "
                                           "scenario's start")
    after_onset_hours: float | None = pydantic.Field(default=None, ge=0, description="start this many hours "
                                                     "after the first incident")
    when: Trigger | None = pydantic.Field(default=None, description="start once all these are observed "
                                          "(plus delay_hours)")
    delay_hours: float = pydantic.Field(default=0.0, ge=0, description="hours between the condition and the "
                                        "start")
    duration_hours: float | None = pydantic.Field(default=None, gt=0, description="how long it lasts "
                                                  "(default: to the end)")
    segments: list[str] | None = pydantic.Field(default=None, description="the segments it covers (default: "
                                                "all)")
    leverage: Leverage | None = pydantic.Field(default=None, description="replaces the registry's leverage "
                                               "for this action")
    source: str | None = None

    @pydantic.model_validator(mode="before")
    @classmethod
    def _onset_timing(cls, data: Any) -> Any:
        """``after_onset_hours: X`` is a wait for the onset condition (:data:`ONSET`) and a delay of X."""
        if not isinstance(data, dict) or data.get("after_onset_hours") is None:
            return data
        clash = [k for k in ("at_hour", "when", "delay_hours") if data.get(k) is not None]
        if clash:
            raise ValueError(f"give after_onset_hours alone, without {', '.join(clash)}: it already says when")
        return {**data, "when": ONSET, "delay_hours": data["after_onset_hours"]}

    @pydantic.model_validator(mode="after")
    def _timing(self) -> "ActionSpec":
        if self.at_hour is not None and self.when is not None:
            raise ValueError("give either at_hour or when, not both")
        return self


class StrategySpec(StrictModel):
    name: str
    description: str
    actions: list[ActionSpec] = pydantic.Field(default_factory=list)


def load_registry(path: Path) -> MediatorRegistry:
    return load_model(path, MediatorRegistry)


def load_strategy(path: Path, registry: MediatorRegistry, segment_ids: tuple[str, ...]) -> StrategySpec:
    """Read a strategy and check that it names known mediators and segments."""
    strategy = load_model(path, StrategySpec)
    for i, action in enumerate(strategy.actions):
        if registry.get(action.mediator) is None:
            raise UserError(f"{path}: actions[{i}].mediator: unknown mediator '{action.mediator}'"
                            f"{suggest(action.mediator, registry.ids)}")
        for j, seg in enumerate(action.segments or []):
            if seg not in segment_ids:
                raise UserError(f"{path}: actions[{i}].segments[{j}]: unknown segment '{seg}'"
                                f"{suggest(seg, segment_ids)}")
    return strategy
