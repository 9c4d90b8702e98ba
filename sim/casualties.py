"""Casualties: fire received on a segment hits the soldiers there and the civilians still nearby.

A side's losses on a segment are driven by the *opponent's* rung: military casualties at a rate per
segment scaled by the weapon's lethality; civilian casualties in proportion to the people still present in
each village, decaying with distance as ``exp(-d / reach)`` where heavier weapons reach further. Who has
left cannot be hit: evacuation is what protects civilians. Dead civilians leave the village's present
population, so present + displaced + dead always equals the village's population.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.geography import Geography
from sim.state import BorderState


@dataclass(frozen=True)
class StepLosses:
    """Deaths this step by side, and on which segments (for the loss-driven rules)."""

    dead_by_segment: np.ndarray  # int[2, S]
    military_dead: np.ndarray  # int[2]
    civilian_dead: np.ndarray  # int[2]


def inflict(state: BorderState, geo: Geography, params: dict, dt: float, rng: np.random.Generator,
            village_masks: tuple[np.ndarray, np.ndarray]) -> StepLosses:
    if not state.rung.any():
        state.recent_deaths *= np.exp(-dt / 24.0)
        zeros = np.zeros(2, dtype=np.int64)
        return StepLosses(np.zeros((2, geo.n_segments), dtype=np.int64), zeros, zeros)
    lethality = np.asarray(params["lethality_profile"])
    reach = np.asarray(params["weapon_reach_km"])
    n_seg = geo.n_segments
    dead_by_segment = np.zeros((2, n_seg), dtype=np.int64)
    mil_dead = np.zeros(2, dtype=np.int64)
    civ_dead = np.zeros(2, dtype=np.int64)
    for side in (0, 1):
        fire = state.posture[1 - side]  # rung the opponent fires at, per segment
        under_fire = np.flatnonzero(fire)
        if under_fire.size == 0:
            continue
        fire = fire[under_fire]
        # soldiers
        hit = rng.poisson(params["military_casualty_rate"] * lethality[fire] * dt)
        killed = rng.binomial(hit, params["military_kill_fraction"])
        state.military_dead[side] += killed.sum()
        state.military_injured[side] += (hit - killed).sum()
        dead_by_segment[side, under_fire] += killed
        mil_dead[side] = killed.sum()
        # civilians of this side's villages
        mask = village_masks[side]
        present = state.present[mask]
        exposure = np.exp(-geo.segment_village_km[np.ix_(under_fire, mask)] / reach[fire][:, None])
        rate = (params["civilian_casualty_rate"] * lethality[fire] * dt)[:, None] * exposure
        civ_hit = rng.poisson(rate * (present / 1000.0)[None, :])  # [segments under fire, Vk]
        civ_killed = rng.binomial(civ_hit, params["civilian_kill_fraction"])
        drawn_dead = civ_killed.sum(axis=0)
        per_village_dead = np.minimum(drawn_dead, present)
        if (per_village_dead < drawn_dead).any():  # an emptied village: credit segments only the capped dead
            keep = np.divide(per_village_dead, drawn_dead, out=np.zeros(drawn_dead.shape), where=drawn_dead > 0)
            civ_killed = np.floor(civ_killed * keep[None, :]).astype(np.int64)
        per_village_hurt = np.minimum((civ_hit - civ_killed).sum(axis=0), present - per_village_dead)
        state.present[mask] = present - per_village_dead
        state.civilian_dead[mask] += per_village_dead
        state.civilian_injured[mask] += per_village_hurt
        dead_by_segment[side, under_fire] += civ_killed.sum(axis=1)
        civ_dead[side] = per_village_dead.sum()
    state.recent_deaths *= np.exp(-dt / 24.0)
    state.recent_deaths += dead_by_segment
    return StepLosses(dead_by_segment, mil_dead, civ_dead)
