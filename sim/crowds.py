"""Crowds at the line: residents who gather at a civil confrontation are in the open when shooting starts.

Why a rule of its own: village exposure (:mod:`sim.casualties`) spreads fire over everyone living near a
segment, which makes small-arms fire almost harmless to civilians. April 2021 began otherwise: about 300
people a side faced each other at the Golovnoi water point when the first shots were fired and the fire
lasted some six hours (24.kg 192968), and most of the Kyrgyz injured were civilians (121 of 154,
ria24.today 2021-04-30). September 2022 began between border guards, with no crowd.

The rule, per segment and side:

* while the segment is at a civil confrontation (L0, stones and blockades) that has not yet turned armed, up to ``crowd_size`` residents
  of the side's nearest village stand at the line (no more than the village has present);
* while the opponent fires armed (L1 or heavier) on the segment, each person in the crowd is hit at
  ``crowd_hit_rate`` per hour under small arms, scaled by the lethality profile for heavier fire; a share
  ``civilian_kill_fraction`` of those hit die; the hit leave the crowd, and the rest disperse at
  ``crowd_disperse_rate`` per hour;
* once the segment is calm the crowd has gone home.

The crowd is part of its village's present population, so the dead leave ``present`` as in
:mod:`sim.casualties`. ``crowd_size = 0`` switches the rule off.
"""

from __future__ import annotations

import numpy as np

from sim.casualties import StepLosses
from sim.ladder import ARMED, CALM, CIVIL
from sim.state import BorderState, hazard_to_prob


def enabled(params: dict) -> bool:
    return params["crowd_size"] > 0


def gather(state: BorderState, params: dict, home: np.ndarray) -> None:
    """Crowds form at civil confrontations, go home from calm segments, and never exceed who is present.

    Only a confrontation that has not yet turned armed draws a crowd: once shooting has begun on a segment,
    people stay away from it until it has been calm again (a segment stepping down from armed fire to L0
    during a war is soldiers holding positions, not residents gathering)."""
    calm = state.rung == CALM
    state.crowd[:, calm] = 0
    state.unarmed_since_calm |= calm
    state.unarmed_since_calm &= state.rung < ARMED
    civil = (state.rung == CIVIL) & state.unarmed_since_calm
    if not civil.any() and not state.crowd.any():
        return  # most steps of a calm year: nobody gathers and nobody is out
    for side in (0, 1):
        for seg in np.flatnonzero(civil & (state.crowd[side] < params["crowd_size"])):
            village = home[side, seg]
            elsewhere = state.crowd[side][home[side] == village].sum() - state.crowd[side, seg]
            room = max(int(state.present[village]) - int(elsewhere), 0)
            state.crowd[side, seg] = min(int(params["crowd_size"]), room)
        _cap_at_present(state.crowd[side], home[side], state.present)


def _cap_at_present(crowd: np.ndarray, home: np.ndarray, present: np.ndarray) -> None:
    """Shrink the crowds drawn from a village that has emptied below their total (evacuation)."""
    total = np.bincount(home, weights=crowd, minlength=present.size)
    over = total > present
    if over.any():
        share = np.where(over, present / np.maximum(total, 1), 1.0)[home]
        crowd[...] = np.floor(crowd * share).astype(np.int64)


def expose(state: BorderState, params: dict, dt: float, rng: np.random.Generator, home: np.ndarray,
           losses: StepLosses) -> None:
    """One step of fire into the crowds; adds the dead to ``losses`` and the village tallies.

    The ``crowds`` stream serves this rule alone. A binomial draw of no people, or at probability 0, takes
    nothing from the stream (numpy returns 0 at once), so a side with no crowd under fire is skipped without
    changing any later draw: the skip only saves time (benchmarks/README.md)."""
    lethality = np.asarray(params["lethality_profile"])
    for side in (0, 1):
        crowd = state.crowd[side]
        if not crowd.any():
            continue
        _cap_at_present(crowd, home[side], state.present)  # fire into the villages may have killed some
        fire = state.posture[1 - side]
        under_fire = fire >= ARMED
        if not (under_fire & (crowd > 0)).any():
            continue
        rate = params["crowd_hit_rate"] * lethality[fire] / lethality[ARMED] * under_fire
        hit = rng.binomial(crowd, hazard_to_prob(rate, dt))
        killed = rng.binomial(hit, params["civilian_kill_fraction"])
        left = rng.binomial(crowd - hit, hazard_to_prob(params["crowd_disperse_rate"] * under_fire, dt))
        crowd -= hit + left
        if not hit.any():
            continue
        villages = home[side]
        dead_here = np.bincount(villages, weights=killed, minlength=state.present.size).astype(np.int64)
        hurt_here = np.bincount(villages, weights=hit - killed, minlength=state.present.size).astype(np.int64)
        state.present -= dead_here
        state.civilian_dead += dead_here
        state.civilian_injured += hurt_here
        losses.dead_by_segment[side] += killed
        losses.civilian_dead[side] += killed.sum()
        state.recent_deaths[side] += killed
