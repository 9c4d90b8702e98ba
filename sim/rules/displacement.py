"""Evacuation when violence is near, return when it is calm.

A village's *threat* is the violence on each segment weighted by rung (rung / 5) and by distance,
``exp(-d / reach)``, where ``reach`` is ``threat_reach_km`` or the weapon's own reach if that is longer
(rockets, drones and aircraft frighten towns far behind the line: in 2022 Isfana, Sulukta and Batken town
were evacuated too, facts E13). Segments combine by ``threat_pooling``: 1 adds them up, 0 takes the
strongest alone, values between add that share of the rest to the strongest (a sum grows with how finely the
border is cut into segments). Above ``evacuation_threshold`` a share ``evacuation_rate`` of the people
present leaves each hour, until the village is empty; once the ceasefire holds and the threat has fallen below half the threshold, a share ``return_rate`` of the displaced comes
back each hour. Flows are expected values rounded to whole people: evacuation is organised by the
authorities (the KG Emergencies Ministry's district counts, facts §2), not a coin flip per family.
"""

from __future__ import annotations

import numpy as np

from sim.core.state import BatchState, hazard_to_prob, pooled
from sim.core.world import ParamBatch, World


def threat(rung: np.ndarray, pooling: np.ndarray, world: World) -> np.ndarray:
    """float[R, V]: each village's threat from the segments' rungs (int[R, S]): the strongest segment's threat
    plus ``pooling`` (float[R, 1]) times the sum of the others'.

    Each run's sum is taken over its own segments in order (not as a matrix product, whose rounding may depend
    on how many runs share the call), so a run's threat is the same to the last bit in any batch."""
    runs = rung.shape[0]
    total = np.zeros((runs, world.n_villages))
    rows, segs = np.nonzero(rung)
    if rows.size == 0:
        return total
    contribution = (rung[rows, segs] / 5.0)[:, None] * world.threat_kernel[rung[rows, segs], segs]  # [M, V]
    which, starts = np.unique(rows, return_index=True)  # np.nonzero lists the pairs run by run
    total[which] = np.add.reduceat(contribution, starts, axis=0)
    if (pooling >= 1.0).all():
        return total
    strongest = np.zeros_like(total)
    strongest[which] = np.maximum.reduceat(contribution, starts, axis=0)
    return np.where(pooling >= 1.0, total, pooled(strongest, total, pooling))


def current_threat(state: BatchState, p: ParamBatch, world: World) -> np.ndarray:
    """float[R, V]: :func:`threat` of the state's rungs, recomputed only for the runs whose rungs changed since
    it was last computed (``state.threat_rung``): in a war most steps change few runs' rungs."""
    changed = np.flatnonzero((state.rung != state.threat_rung).any(axis=1))
    if changed.size:
        rung = state.rung[changed]
        state.threat_level[changed] = threat(rung, p.col("threat_pooling")[changed], world)
        state.threat_rung[changed] = rung
    return state.threat_level


def move_people(state: BatchState, p: ParamBatch, world: World, returns_allowed: np.ndarray) -> None:
    """One step of evacuation and return; ``returns_allowed`` (bool[R]) says the displaced may go home."""
    live = state.rung.any(axis=1) | (returns_allowed & state.displaced.any(axis=1))
    if not live.any():
        return
    level = current_threat(state, p, world)
    threshold = p.col("evacuation_threshold")
    leaving = level > threshold
    out = np.where(leaving, np.floor(state.present * hazard_to_prob(p.col("evacuation_rate"), world.dt)), 0)
    out = out.astype(np.int64)
    present = state.present - out
    displaced = state.displaced + out
    calm = (level < 0.5 * threshold) & returns_allowed[:, None]
    back = np.where(calm, np.ceil(displaced * hazard_to_prob(p.col("return_rate"), world.dt)), 0)
    back = np.minimum(back.astype(np.int64), displaced)
    state.present = present + back
    state.displaced = displaced - back
