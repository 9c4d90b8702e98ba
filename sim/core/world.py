"""What a batch of runs shares: the scenario compiled into arrays, and the parameters of each run.

:class:`World` holds everything that does not change during a run and is the same for every run of a batch:
the border's geometry and the kernels derived from it, the scheduled triggers, the governments' starting
orders, the mediation strategy's actions. :class:`ParamBatch` holds each run's parameters as arrays with a
leading run axis, so runs of one batch may differ in any parameter (a posterior draw, a sensitivity
sample) except the few that shape the precomputed kernels (:data:`SHARED_IN_BATCH`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from sim.core.ladder import ARMED

SHARED_IN_BATCH = ("weapon_reach_km", "threat_reach_km")
"""Parameters every run of a batch must share: they shape the distance kernels computed once per batch.
An ensemble that varies them runs one batch per distinct value (``sim.experiments.ensemble.batches``)."""

RESOURCE_FACTOR = {"water": "resource_water_factor", "road": "resource_road_factor",
                   "pasture": "resource_pasture_factor"}

ACTION_LEVERAGE = "action_leverage"
"""Key of a run's own effective leverage per action (float[A]) among its parameters, when a comparison draws
the mediators' leverage run by run; absent, every run uses the strategy's (``Actions.leverage``)."""

INSTRUMENT_CODES = {"call": 0, "summit": 1, "broker": 2, "monitors": 3, "joint_commission": 4, "delimitation": 5}


class ParamBatch:
    """Each run's parameters: ``p[name]`` is float[R] for a scalar and float[R, 6] for a per-rung profile;
    ``p.col(name)`` is float[R, 1] (a scalar ready to broadcast against a [R, S] array)."""

    def __init__(self, per_run: Sequence[Mapping[str, Any]]) -> None:
        if not per_run:
            raise ValueError("a batch needs at least one run")
        names = per_run[0].keys()
        self.values: dict[str, np.ndarray] = {
            name: np.array([run[name] for run in per_run], dtype=np.float64) for name in names}
        self._cols = {name: v[:, None] for name, v in self.values.items() if v.ndim == 1}
        self._shared_profiles = {name: v[0] for name, v in self.values.items()
                                 if v.ndim == 2 and (v == v[0]).all()}
        self.runs = len(per_run)
        for name in SHARED_IN_BATCH:
            if name in self.values and not (self.values[name] == self.values[name][0]).all():
                raise ValueError(f"parameter {name} must be the same for every run of a batch")

    def subset(self, runs: np.ndarray) -> "ParamBatch":
        """The parameters of some runs only (int indices), in that order."""
        sub = object.__new__(ParamBatch)
        sub.values = {name: v[runs] for name, v in self.values.items()}
        sub._cols = {name: v[:, None] for name, v in sub.values.items() if v.ndim == 1}
        sub._shared_profiles = self._shared_profiles
        sub.runs = int(len(runs))
        return sub

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]

    def col(self, name: str) -> np.ndarray:
        return self._cols[name]

    def by_rung(self, name: str, rungs: np.ndarray) -> np.ndarray:
        """A per-rung profile's value at each entry of ``rungs`` (an int array whose first axis is the run)."""
        shared = self._shared_profiles.get(name)
        if shared is not None:
            return shared[rungs]
        table = self.values[name]
        return table[np.arange(self.runs).reshape((-1,) + (1,) * (rungs.ndim - 1)), rungs]

    def leverage(self, actions: "Actions") -> np.ndarray:
        """float[R, A] (or [1, A] when every run shares it): each action's effective leverage in each run."""
        per_run = self.values.get(ACTION_LEVERAGE)
        return actions.leverage[None, :] if per_run is None else per_run

    def first(self, name: str) -> Any:
        """The value of a parameter every run shares (:data:`SHARED_IN_BATCH`)."""
        return self.values[name][0]


@dataclass(frozen=True)
class Trigger:
    kind: str  # incident | tension | mobilisation
    segments: np.ndarray  # int indices
    sides: np.ndarray  # int indices
    rung: int
    tension: float


@dataclass(frozen=True)
class Actions:
    """A strategy's actions as arrays over actions (A): who, what, when, where."""

    mediator: np.ndarray  # int[A]: index into ``mediator_ids``
    mediator_ids: tuple[str, ...]
    instrument: np.ndarray  # int[A]: INSTRUMENT_CODES
    leverage: np.ndarray  # float[A]: effective leverage (the smaller of the two sides')
    at_hour: np.ndarray  # float[A], NaN for a triggered action
    level_at_least: np.ndarray  # int[A]: rung the trigger needs (L1 when none is given)
    deaths_at_least: np.ndarray  # float[A]
    violations_at_least: np.ndarray  # float[A]
    delay: np.ndarray  # float[A]
    duration: np.ndarray  # float[A], inf when unlimited
    segments: np.ndarray  # float[A, S]: 1 on the segments it covers

    @property
    def count(self) -> int:
        return int(self.mediator.size)


@dataclass(frozen=True)
class World:
    """The scenario as arrays (S segments, V villages, D districts)."""

    n_steps: int
    dt: float
    day_of_step: np.ndarray  # float[n_steps + 1]: day of the year at each step's start
    neighbours: np.ndarray  # float[S, S]: 1 for adjacent segments
    neighbour_counts: np.ndarray  # int[S, S]: the same as integers (exact sums)
    segment_disputed: np.ndarray  # bool[S]
    segment_resource: tuple[str, ...]
    water: np.ndarray  # bool[S]
    km_apart: np.ndarray  # float[S, S]
    nearest_village: np.ndarray  # int[2, S]
    village_side: np.ndarray  # int[V]
    village_population: np.ndarray  # int[V]
    side_of_village: np.ndarray  # float[V, 2]: one-hot
    district_of_village: np.ndarray  # float[V, D]: one-hot
    exposure: np.ndarray  # float[6, S, V]: exp(-d / weapon reach)
    threat_kernel: np.ndarray  # float[6, S, V]: exp(-d / max(threat reach, weapon reach))
    initial_tension: np.ndarray  # float[S]
    triggers: dict[int, tuple[Trigger, ...]]
    arsenal: np.ndarray  # int[2]
    initial_authorised: np.ndarray  # int[2]
    offensive: np.ndarray  # bool[2]
    actions: Actions

    @property
    def n_segments(self) -> int:
        return int(self.segment_disputed.size)

    @property
    def n_villages(self) -> int:
        return int(self.village_side.size)

    @property
    def deployed_for_war(self) -> np.ndarray:
        """bool[2]: the side's forces came into the episode with mortars or heavier authorised."""
        return self.initial_authorised > ARMED


def resource_factor(world: World, params: ParamBatch) -> np.ndarray:
    """float[R, S]: each segment's incident-hazard multiplier for the resource at stake."""
    out = np.ones((params.runs, world.n_segments))
    for resource, name in RESOURCE_FACTOR.items():
        mask = np.array([r == resource for r in world.segment_resource])
        if mask.any():
            out[:, mask] = params.col(name)
    return out


