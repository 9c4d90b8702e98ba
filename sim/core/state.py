"""The state of a batch of runs: every array has a leading run axis (R).

Shapes: ``[R, S]`` per segment, ``[R, 2, S]`` per side and segment (side 0 = KG, 1 = TJ), ``[R, V]`` per
village, ``[R, 2]`` per side (the governments), ``[R]`` per run (the ceasefire machine, counters), and
``[R, A]`` per mediation action. Hours that have not happened yet are NaN. The rules in ``sim.rules`` read
and replace these arrays; nothing else writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sim.core.ladder import N_RUNGS
from sim.core.world import ParamBatch, World, resource_factor


def hazard_to_prob(rate: np.ndarray | float, dt: float) -> np.ndarray:
    """Probability that an event with hazard ``rate`` per hour happens within ``dt`` hours."""
    return -np.expm1(-np.asarray(rate) * dt)


def pooled(strongest: np.ndarray, total: np.ndarray, pooling: np.ndarray | float) -> np.ndarray:
    """The strongest contribution plus ``pooling`` times the rest of ``total``: 0 keeps the strongest alone,
    1 the sum. How several segments combine, for a village's threat (``threat_pooling``) and for a side's
    force (``force_pooling``)."""
    return strongest + pooling * (total - strongest)


def pooled_share(weights: np.ndarray, pooling: np.ndarray) -> np.ndarray:
    """float[...]: the factor that turns the sum of ``weights`` over the last axis into its largest entry plus
    ``pooling`` (broadcast against the leading axes) times the rest; 1 where the weights sum to 0."""
    total = weights.sum(axis=-1)
    strongest = weights.max(axis=-1)
    safe = np.where(total > 0, total, 1.0)
    return np.where(total > 0, pooled(strongest, total, pooling) / safe, 1.0)


@dataclass
class BatchState:
    # the border
    tension: np.ndarray  # float[R, S], 0..1
    posture: np.ndarray  # int[R, 2, S]: rung each side fires at on each segment
    rung: np.ndarray  # int[R, S]: the heavier of the two sides' fire (kept by the rules that move postures)
    peak_rung: np.ndarray  # int[R, S]
    dispute: np.ndarray  # float[R, S]: 1 = disputed, agreed_incident_factor = described; lowered by delimitation
    resource_factor: np.ndarray  # float[R, S]
    recent_deaths: np.ndarray  # float[R, 2, S]: own deaths near each segment, decaying with a 24 h time scale
    episode_deaths: np.ndarray  # int[R, S]: deaths since the segment last went from calm to violent
    crowd: np.ndarray  # int[R, 2, S]: each side's residents standing at the line
    unarmed_since_calm: np.ndarray  # bool[R, S]: no armed fire since the segment was last calm
    # the people
    present: np.ndarray  # int[R, V]
    displaced: np.ndarray  # int[R, V]
    civilian_dead: np.ndarray  # int[R, V]
    civilian_injured: np.ndarray  # int[R, V]
    military_dead: np.ndarray  # int[R, 2]
    military_injured: np.ndarray  # int[R, 2]
    # the governments
    authorised: np.ndarray  # int[R, 2]: the heaviest rung each side's forces may use
    episode_authorised: np.ndarray  # int[R, 2]: the highest authorisation of the episode so far
    lull_rearm_used: np.ndarray  # bool[R, 2]
    losses_since_agreement: np.ndarray  # float[R, 2]: own deaths, 24 h memory, reset by an agreement
    violations_before_episode: np.ndarray  # int[R, 2]
    first_armed_hour: np.ndarray  # float[R, 2]: when this episode's armed fire began
    # the ceasefire machine
    phase: np.ndarray  # int[R]: sim.rules.ceasefire.Phase
    since_hour: np.ndarray  # float[R]
    quiet_hours: np.ndarray  # float[R]
    agreements: np.ndarray  # int[R]
    violations: np.ndarray  # int[R]
    relapses: np.ndarray  # int[R]
    collapses: np.ndarray  # int[R]
    collapsed: np.ndarray  # bool[R]
    rearmed_in_lull: np.ndarray  # bool[R]
    hours_violated: np.ndarray  # float[R]
    first_talks_hour: np.ndarray  # float[R]
    first_agreed_hour: np.ndarray  # float[R]
    first_stabilised_hour: np.ndarray  # float[R]
    first_withdrawal_hour: np.ndarray  # float[R]
    last_violation_hour: np.ndarray  # float[R]
    last_armed_hour: np.ndarray  # float[R]
    last_agreed_hour: np.ndarray  # float[R]
    # mediation
    action_started: np.ndarray  # float[R, A]
    action_triggered: np.ndarray  # float[R, A]
    agree_boost: np.ndarray  # float[R]: this step's effects of the active instruments
    protocol_boost: np.ndarray  # float[R]
    relax_boost: np.ndarray  # float[R]
    monitor_cover: np.ndarray  # float[R, S]
    # bookkeeping
    incidents: np.ndarray  # int[R]
    lethal_incidents: np.ndarray  # int[R]
    first_hour_at_rung: np.ndarray  # float[R, 6]: end hour of the first step any segment reached each rung
    peak_displaced: np.ndarray  # int[R, 2]
    peak_displaced_district: np.ndarray  # int[R, D]
    dead_this_step: np.ndarray  # int[R, 2, S]: deaths of the current step by side and segment
    threat_level: np.ndarray  # float[R, V]: each village's threat at the rungs in threat_rung (a cache)
    threat_rung: np.ndarray  # int[R, S]: the rungs threat_level was computed from (-1: never)
    step: int = 0

    @property
    def runs(self) -> int:
        return int(self.tension.shape[0])

    def refresh_rung(self) -> None:
        """Recompute each segment's rung after postures changed."""
        self.rung = self.posture.max(axis=1)

    def total_deaths(self) -> np.ndarray:
        """int[R]: military and civilian dead of both sides."""
        return self.military_dead.sum(axis=1) + self.civilian_dead.sum(axis=1)

    def displaced_by_side(self, world: World) -> np.ndarray:
        """int[R, 2]: people displaced now from each side's villages."""
        return np.rint(self.displaced @ world.side_of_village).astype(np.int64)

    def select(self, runs: np.ndarray) -> "BatchState":
        """The state of some runs only (int indices; a copy)."""
        return BatchState(**{name: (value[runs] if isinstance(value, np.ndarray) else value)
                             for name, value in ((n, getattr(self, n)) for n in _FIELDS)})

    def put(self, runs: np.ndarray, part: "BatchState") -> None:
        """Write the state of some runs (int indices) back from ``part``, a :meth:`select` of them."""
        for name in _ARRAY_FIELDS:
            getattr(self, name)[runs] = getattr(part, name)


_FIELDS = tuple(f.name for f in fields(BatchState))
_ARRAY_FIELDS = tuple(name for name in _FIELDS if name != "step")


def initial_state(world: World, params: ParamBatch) -> BatchState:
    runs, n_seg, n_vil = params.runs, world.n_segments, world.n_villages
    n_act, n_dist = world.actions.count, world.district_of_village.shape[1]

    def zeros(*shape: int, dtype: type = np.int64) -> np.ndarray:
        return np.zeros((runs, *shape), dtype=dtype)

    def nans(*shape: int) -> np.ndarray:
        return np.full((runs, *shape), np.nan)

    authorised = np.tile(world.initial_authorised, (runs, 1))
    return BatchState(
        tension=np.tile(world.initial_tension, (runs, 1)),
        posture=zeros(2, n_seg), rung=zeros(n_seg), peak_rung=zeros(n_seg),
        dispute=np.where(world.segment_disputed[None, :], 1.0, params.col("agreed_incident_factor")),
        resource_factor=resource_factor(world, params),
        recent_deaths=zeros(2, n_seg, dtype=np.float64), episode_deaths=zeros(n_seg),
        crowd=zeros(2, n_seg), unarmed_since_calm=np.ones((runs, n_seg), dtype=bool),
        present=np.tile(world.village_population, (runs, 1)), displaced=zeros(n_vil),
        civilian_dead=zeros(n_vil), civilian_injured=zeros(n_vil),
        military_dead=zeros(2), military_injured=zeros(2),
        authorised=authorised, episode_authorised=authorised.copy(), lull_rearm_used=zeros(2, dtype=bool),
        losses_since_agreement=zeros(2, dtype=np.float64), violations_before_episode=zeros(2),
        first_armed_hour=nans(2),
        phase=zeros(), since_hour=zeros(dtype=np.float64), quiet_hours=zeros(dtype=np.float64),
        agreements=zeros(), violations=zeros(), relapses=zeros(), collapses=zeros(),
        collapsed=zeros(dtype=bool), rearmed_in_lull=zeros(dtype=bool), hours_violated=zeros(dtype=np.float64),
        first_talks_hour=nans(), first_agreed_hour=nans(), first_stabilised_hour=nans(),
        first_withdrawal_hour=nans(), last_violation_hour=nans(), last_armed_hour=nans(), last_agreed_hour=nans(),
        action_started=nans(n_act), action_triggered=nans(n_act),
        agree_boost=zeros(dtype=np.float64), protocol_boost=zeros(dtype=np.float64),
        relax_boost=zeros(dtype=np.float64), monitor_cover=zeros(n_seg, dtype=np.float64),
        incidents=zeros(), lethal_incidents=zeros(),
        first_hour_at_rung=nans(N_RUNGS), peak_displaced=zeros(2), peak_displaced_district=zeros(n_dist),
        dead_this_step=zeros(2, n_seg),
        threat_level=zeros(n_vil, dtype=np.float64), threat_rung=np.full((runs, n_seg), -1, dtype=np.int64),
    )


