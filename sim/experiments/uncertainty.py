"""What a comparison leaves uncertain besides chance: the mediation effects and the mediators' leverage.

The calibration fits the rules of fighting and ceasefires to the documented wars, but it cannot tell what a
mediation instrument does: both wars had one history of mediation each. So the strength of each instrument
(the parameters ``sim.input.parameters.SPECS`` marks ``kind="effect"``) and each mediator's leverage with each
side (``leverage_prior`` in ``scenarios/mediators.yaml``) have a *prior*: a range with a median and a stated
source, from the mediation literature or a judgement. A comparison draws every one of them afresh for each
run index, the same draw for every strategy (:class:`EffectPriors`), so that a ranking carries what nobody
has measured.

Each prior is *split uniform*: half its mass spread evenly between ``low`` and the median, half between the
median and ``high``. The median is the value shipped with the model (unless the source says otherwise, as for
the CSTO), the ends are the source's range, and nothing inside the range is favoured beyond that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from sim.input.parameters import SPECS
from sim.input.strategy import MediatorRegistry

SIDE_NAMES = {"KG": "Kyrgyzstan", "TJ": "Tajikistan"}
LEVERAGE_PREFIX = "leverage:"
DRAW_STREAM = 0x4D454449  # keeps the prior draws apart from every other use of the comparison's base seed


@dataclass(frozen=True)
class UncertainInput:
    """One input a comparison draws per run: a parameter or a mediator's leverage with one side."""

    key: str
    """A parameter name, or ``leverage:<mediator>:<side>``."""
    label: str
    """What it is, in a practitioner's words ("how much leverage Russia has with Tajikistan")."""
    low: float
    median: float
    high: float
    basis: str
    """``literature``, ``judgement`` or ``calibrated`` (a posterior draw)."""
    source: str

    @property
    def fixed(self) -> bool:
        return self.low == self.high


def split_uniform(u: np.ndarray | float, low: float, median: float, high: float) -> np.ndarray:
    """The quantile function of the split-uniform prior: ``u`` in [0, 1) to a value in [low, high].

    ``u < 0.5`` maps evenly onto [low, median] and ``u >= 0.5`` onto [median, high], so the median is
    exact whatever the asymmetry of the range."""
    u = np.asarray(u, dtype=float)
    below = low + 2.0 * u * (median - low)
    above = median + (2.0 * u - 1.0) * (high - median)
    return np.where(u < 0.5, below, above)


EFFECT_LABELS = {
    "call_strength": "how much a leader's call speeds agreement",
    "call_effect_hours": "how long a call's push lasts",
    "broker_strength": "how much brokering speeds agreement",
    "summit_strength": "how much a summit speeds agreement",
    "summit_effect_hours": "how long a summit's push lasts",
    "monitor_strength": "how much monitors suppress fire",
    "monitor_deploy_hours": "how long monitors take to arrive",
    "commission_strength": "how much a joint commission calms the line",
    "delimitation_strength": "how much agreeing a segment's line removes its dispute",
}
"""Each mediation-effect parameter in a practitioner's words."""

INSTRUMENT_EFFECTS = {
    "call": ("call_strength", "call_effect_hours"), "broker": ("broker_strength",),
    "summit": ("summit_strength", "summit_effect_hours"), "monitors": ("monitor_strength", "monitor_deploy_hours"),
    "joint_commission": ("commission_strength",), "delimitation": ("delimitation_strength",),
}
"""The effect parameters each instrument's outcome depends on (``sim.rules.mediation``)."""


def relevant(inputs: Sequence[UncertainInput], actions: Sequence[Any]) -> list[UncertainInput]:
    """The inputs a strategy's runs can depend on: every calibrated parameter, the effects of the
    instruments its actions use and the leverage of its mediators (``actions``: the strategies' actions,
    e.g. a strategy and its baseline together)."""
    effects = {name for a in actions for name in INSTRUMENT_EFFECTS[a.instrument]}
    mediators = {a.mediator for a in actions if a.leverage is None}
    out = []
    for i in inputs:
        if i.key.startswith(LEVERAGE_PREFIX):
            if i.key[len(LEVERAGE_PREFIX):].split(":")[0] in mediators:
                out.append(i)
        elif i.basis == "calibrated" or i.key in effects:
            out.append(i)
    return out


def short_meaning(name: str) -> str:
    """A parameter's meaning cut to its first clause, for tables."""
    text = SPECS[name].meaning
    for stop in (":", ". ", " (", ";"):
        text = text.split(stop)[0]
    text = text.rstrip(".")
    return (text[:77] + "...") if len(text) > 80 else text


def _basis(reason: str) -> str:
    return "literature" if reason.lower().startswith("literature") else "judgement"


def effect_inputs() -> list[UncertainInput]:
    """Every mediation-effect parameter with its prior; the median is the parameter's default."""
    out = []
    for name, spec in SPECS.items():
        if spec.kind != "effect" or spec.prior is None:
            continue
        low, high = spec.prior
        default = float(spec.default)  # type: ignore[arg-type]
        out.append(UncertainInput(name, f"{EFFECT_LABELS.get(name, short_meaning(name))} ({name})",
                                  low, default, high, _basis(spec.prior_reason), spec.prior_reason))
    return out


def leverage_inputs(registry: MediatorRegistry) -> list[UncertainInput]:
    """Each mediator's leverage with each side, for the mediators whose prior has any width."""
    out = []
    for m in registry.mediators:
        prior = m.leverage_prior
        if prior is None or prior.low == prior.high:
            continue
        for side in ("KG", "TJ"):
            out.append(UncertainInput(f"{LEVERAGE_PREFIX}{m.id}:{side}",
                                      f"how much leverage {m.name} has with {SIDE_NAMES[side]}",
                                      prior.low, prior.median, prior.high, "judgement",
                                      " ".join((m.leverage_prior_source or "").split())))
    return out


@dataclass(frozen=True)
class EffectPriors:
    """The comparison's draws of mediation effects and leverage: run ``i`` of every strategy gets draw ``i``.

    A draw depends only on the base seed, the run index and the list of inputs, never on the strategy, the
    executor or which other runs are made, so runs stay paired and results do not depend on how they run."""

    inputs: tuple[UncertainInput, ...]
    seed: int

    @classmethod
    def for_registry(cls, registry: MediatorRegistry, seed: int) -> "EffectPriors":
        return cls(tuple(effect_inputs() + leverage_inputs(registry)), int(seed))

    def values(self, run: int) -> dict[str, float]:
        """Run ``run``'s draw: input key -> value."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, DRAW_STREAM, int(run)]))
        u = rng.random(len(self.inputs))
        return {i.key: float(split_uniform(x, i.low, i.median, i.high)) for i, x in zip(self.inputs, u)}

    def task_fields(self, run: int) -> tuple[tuple[tuple[str, float], ...], tuple[tuple[str, float, float], ...]]:
        """Run ``run``'s draw as a run's parameter overrides and its leverage (mediator, KG, TJ)."""
        return task_fields(self.values(run))

    def info(self) -> dict[str, Any]:
        return {"seed": self.seed, "distribution": "split uniform: half the mass evenly on each side of the median",
                "assignment": "run i of every strategy uses draw i",
                "inputs": [{"key": i.key, "low": i.low, "median": i.median, "high": i.high, "basis": i.basis}
                           for i in self.inputs]}


def posterior_inputs(draws: Sequence[Sequence[tuple[str, float]]]) -> list[UncertainInput]:
    """The calibrated parameters that vary among the posterior draws, as inputs of the driver analysis."""
    if not draws:
        return []
    names = [n for n, _ in draws[0]]
    columns = {n: np.array([dict(d)[n] for d in draws], dtype=float) for n in names}
    return [UncertainInput(n, f"{short_meaning(n).lower()} ({n}, calibrated)",
                           float(v.min()), float(np.median(v)), float(v.max()), "calibrated",
                           "posterior of the calibration to the documented wars (docs/calibration.md)")
            for n, v in columns.items() if v.min() < v.max()]


def task_fields(values: dict[str, float]) -> tuple[tuple[tuple[str, float], ...], tuple[tuple[str, float, float], ...]]:
    """Drawn inputs by key as a run's parameter overrides and its leverage (mediator, KG, TJ): the keys
    ``leverage:<mediator>:<side>`` become leverage, the others parameter overrides."""
    overrides = tuple(sorted((k, v) for k, v in values.items() if not k.startswith(LEVERAGE_PREFIX)))
    sides: dict[str, dict[str, float]] = {}
    for key, v in values.items():
        if key.startswith(LEVERAGE_PREFIX):
            mediator, side = key[len(LEVERAGE_PREFIX):].split(":")
            sides.setdefault(mediator, {})[side] = v
    return overrides, tuple((m, s["KG"], s["TJ"]) for m, s in sorted(sides.items()))
