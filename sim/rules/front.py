"""How fire moves along the border: to neighbouring segments, and along a front by order.

* :func:`spread` — armed fire ignites neighbouring segments along the graph.
* :func:`open_front` — a government at war (mortars or heavier authorised, armed fire somewhere) has its
  forces open fire along the disputed line: anywhere if it came into the episode deployed for war, fading
  with distance from the fire if its war grew out of a local incident (:func:`front_reach`).

Each returns bool[R, S], the segments it brought out of calm (they count as incidents).
"""

from __future__ import annotations

import numpy as np

from sim.core.ladder import ARMED, CALM, N_RUNGS
from sim.core.randomness import StepDraws, Stream
from sim.core.state import BatchState, hazard_to_prob
from sim.core.world import ParamBatch, World


RUNGS = np.arange(1, N_RUNGS)


def _raise_postures(state: BatchState, hit: np.ndarray, target: np.ndarray | int) -> np.ndarray:
    """Raise the postures where ``hit`` to at least ``target``; the mask of segments that left calm."""
    was_calm = state.rung == CALM
    state.posture = np.where(hit, np.maximum(state.posture, target), state.posture)
    state.refresh_rung()
    return was_calm & (state.rung > CALM)


def spread(state: BatchState, p: ParamBatch, world: World, draws: StepDraws, suppress: np.ndarray) -> np.ndarray:
    """Armed fire spills to neighbouring segments at ``spread_rate`` × (neighbour's rung − 1) / 4, to the
    neighbour's rung less one (at least L1), within orders and arsenal."""
    if not (state.rung >= ARMED).any():
        return np.zeros(state.rung.shape, dtype=bool)
    u = draws.uniform(Stream.SPREAD, (2, world.n_segments))
    # the strongest armed posture of each side next door, as the number of rungs 1..5 some neighbour reaches
    armed = np.where(state.posture >= ARMED, state.posture, 0)  # [R, 2, S]
    reaches = (armed[:, :, None, :] >= RUNGS[None, None, :, None]).astype(np.float64)  # [R, 2, 5, S]
    nearby = ((reaches @ world.neighbours.T) > 0).sum(axis=2)
    pressure = np.maximum(nearby - 1, 0) / 4.0
    rate = p.col("spread_rate")[:, :, None] * pressure * (1.0 - suppress)[:, None, :]
    hit = (u < hazard_to_prob(rate, world.dt)) & (nearby >= ARMED)
    target = np.minimum(np.maximum(nearby - 1, ARMED), np.maximum(state.authorised[:, :, None], ARMED))
    target = np.minimum(target, world.arsenal[None, :, None])
    return _raise_postures(state, hit, target)


def front_reach(state: BatchState, p: ParamBatch, world: World) -> np.ndarray:
    """How far each side's front reaches to each segment (float[R, 2, S], 1 = fully): everywhere for a side
    whose government came into the episode deployed for war, otherwise ``exp(-front_decay_per_km × km)`` to
    the nearest segment under armed fire.

    Why: April 2021's war grew out of a quarrel over water at Golovnoi and stayed in the Batken and Leilek
    sectors (19 named sites); September 2022's forces came deployed, with mortars from the first hours, and
    fought "along the entire perimeter". A front that reaches the whole line for both spreads April over
    every segment and evacuates more than twice its documented 40,649 (docs/calibration.md)."""
    deployed = world.deployed_for_war
    reach = np.ones((state.runs, 2, world.n_segments))
    if deployed.all():
        return reach
    armed = state.rung >= ARMED
    nearest_km = np.where(armed[:, :, None], world.km_apart[None, :, :], np.inf).min(axis=1)  # [R, S]
    near_fire = np.where(np.isinf(nearest_km), 0.0, np.exp(-p.col("front_decay_per_km") * np.minimum(nearest_km, 1e9)))
    reach[:, ~deployed, :] = near_fire[:, None, :]
    return reach


def open_front(state: BatchState, p: ParamBatch, world: World, draws: StepDraws,
               suppress: np.ndarray) -> np.ndarray:
    """War by order: once armed fire has begun somewhere, a side whose government authorises mortars (L2) or
    heavier opens armed fire (L1) on disputed segments where it is not yet firing, at ``front_rate`` per rung
    authorised above L1 (× dispute, × the front's reach, minus what a ceasefire or monitors suppress).

    Why not only :func:`spread`: in 2022 fire ran along the whole Batken perimeter within a day, well beyond
    the neighbours of the first clash; neighbour contagion fast enough for that would make every shoot-out a
    war."""
    at_war = np.maximum(state.authorised - ARMED, 0)  # [R, 2]: rungs authorised above small arms
    live = at_war.any(axis=1) & (state.rung >= ARMED).any(axis=1)
    if not live.any():
        return np.zeros(state.rung.shape, dtype=bool)
    u = draws.uniform(Stream.FRONT, (2, world.n_segments))
    reach = front_reach(state, p, world)
    rate = (p.col("front_rate")[:, :, None] * at_war[:, :, None] * reach * state.dispute[:, None, :]
            * (1.0 - suppress)[:, None, :])
    opened = (u < hazard_to_prob(rate, world.dt)) & (state.posture < ARMED) & live[:, None, None]
    return _raise_postures(state, opened, ARMED)
