"""Casualties: fire received on a segment hits the soldiers there and the civilians still nearby.

A side's losses on a segment are driven by the *opponent's* rung: military casualties at a rate per
segment scaled by the weapon's lethality, pooled over the front by ``force_pooling`` (:func:`pooled_share`);
civilian casualties in proportion to the people still present in each village, decaying with distance as
``exp(-d / reach)`` where heavier weapons reach further. Who has left cannot be hit: evacuation is what
protects civilians. Dead civilians leave the village's present population, so present + displaced + dead
always equals the village's population.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.geography import Geography
from sim.state import BorderState, pooled


@dataclass(frozen=True)
class StepLosses:
    """Deaths this step by side, and on which segments (for the loss-driven rules)."""

    dead_by_segment: np.ndarray  # int[2, S]
    military_dead: np.ndarray  # int[2]
    civilian_dead: np.ndarray  # int[2]


def pooled_share(weights: np.ndarray, pooling: float) -> float:
    """The factor that turns a sum of ``weights`` into the largest one plus ``pooling`` times the rest.

    Why: a rate per segment makes a side's losses grow with how many segments it fights on, as if each had a
    full force of its own. April 2021 was fought on ~19 segments and September 2022 on ~31, yet their tolls
    differ by about two (calibration/README.md, session 23). ``pooling`` 1 keeps the sum (factor 1), 0 gives
    the most intense segment's weight, spread over the front in proportion to each segment's weight."""
    total = float(weights.sum())
    if total <= 0.0:
        return 1.0
    return pooled(float(weights.max()), total, pooling) / total


def exposure_kernels(geo: Geography, params: dict, village_masks: tuple[np.ndarray, np.ndarray]
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``exp(-d / reach[rung])`` for every rung, segment and village of each side: float[6, S, V_side].

    Computed once per model (distances and reaches do not change during a run), so a step only gathers
    rows instead of evaluating exponentials.
    """
    reach = np.asarray(params["weapon_reach_km"])
    kernel = np.exp(-geo.segment_village_km[None, :, :] / reach[:, None, None])
    return kernel[:, :, village_masks[0]], kernel[:, :, village_masks[1]]


def inflict(state: BorderState, geo: Geography, params: dict, dt: float, rng: np.random.Generator,
            village_masks: tuple[np.ndarray, np.ndarray], kernels: tuple[np.ndarray, np.ndarray]
            ) -> StepLosses:
    """One step of casualties; civilians hit in a village are credited to the segment whose fire
    reached that village most (for the loss memory and the lethal-incident count)."""
    n_seg = geo.n_segments
    dead_by_segment = np.zeros((2, n_seg), dtype=np.int64)
    mil_dead = np.zeros(2, dtype=np.int64)
    civ_dead = np.zeros(2, dtype=np.int64)
    if state.rung.any():
        lethality = np.asarray(params["lethality_profile"])
        for side in (0, 1):
            fire = state.posture[1 - side]  # rung the opponent fires at, per segment
            under_fire = np.flatnonzero(fire)
            if under_fire.size == 0:
                continue
            fire = fire[under_fire]
            weight = lethality[fire] * dt
            # soldiers on each segment under fire; the sum is kept exactly at pooling 1 (the same draws)
            pooling = params["force_pooling"]
            force = weight if pooling >= 1.0 else weight * pooled_share(weight, pooling)
            hit = rng.poisson(params["military_casualty_rate"] * force)
            killed = rng.binomial(hit, params["military_kill_fraction"])
            state.military_dead[side] += killed.sum()
            state.military_injured[side] += (hit - killed).sum()
            dead_by_segment[side, under_fire] += killed
            mil_dead[side] = killed.sum()
            # civilians of this side's villages (a sum of Poisson draws is one Poisson draw)
            mask = village_masks[side]
            present = state.present[mask]
            rate = (params["civilian_casualty_rate"] * weight)[:, None] * kernels[side][fire, under_fire]
            civ_hit = np.minimum(rng.poisson(rate.sum(axis=0) * present / 1000.0), present)
            civ_killed = rng.binomial(civ_hit, params["civilian_kill_fraction"])
            state.present[mask] = present - civ_killed
            state.civilian_dead[mask] += civ_killed
            state.civilian_injured[mask] += civ_hit - civ_killed
            if civ_killed.any():
                source = under_fire[rate.argmax(axis=0)]
                dead_by_segment[side] += np.bincount(source, weights=civ_killed, minlength=n_seg).astype(np.int64)
            civ_dead[side] = civ_killed.sum()
    state.recent_deaths *= np.exp(-dt / 24.0)
    state.recent_deaths += dead_by_segment
    return StepLosses(dead_by_segment, mil_dead, civ_dead)
