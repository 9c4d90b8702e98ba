"""Crowds at the line: residents who gather at a civil confrontation are in the open when shooting starts.

Why a rule of its own: village exposure (``sim.rules.casualties``) spreads fire over everyone living near a
segment, which makes small-arms fire almost harmless to civilians. April 2021 began otherwise: about 300
people a side faced each other at the Golovnoi water point when the first shots were fired and the fire
lasted some six hours (24.kg 192968), and most of the Kyrgyz injured were civilians (121 of 154,
ria24.today 2021-04-30). September 2022 began between border guards, with no crowd.

Per segment and side:

* while the segment is at a civil confrontation (L0) that has not turned armed since it was last calm, up
  to ``crowd_size`` residents of the side's nearest village stand at the line; a village shares what it has
  present among its segments in segment order, and its crowds never exceed who is present;
* while the opponent fires armed (L1 or heavier) on the segment, each person in the crowd is hit at
  ``crowd_hit_rate`` per hour under small arms, scaled by the lethality profile for heavier fire; a share
  ``civilian_kill_fraction`` of those hit die; the hit leave the crowd and the rest disperse at
  ``crowd_disperse_rate`` per hour;
* once the segment is calm the crowd has gone home.

The rule is symmetric between the sides: who fired first at Golovnoi is what the two governments' accounts
dispute. ``crowd_size = 0`` switches it off.
"""

from __future__ import annotations

import numpy as np

from sim.core import randomness
from sim.core.ladder import ARMED, CALM, CIVIL
from sim.core.randomness import StepDraws, Stream
from sim.core.state import BatchState, hazard_to_prob
from sim.core.world import ParamBatch, World
from sim.rules.casualties import lethality


def _village_totals(crowd: np.ndarray, world: World) -> np.ndarray:
    """int[R, V]: the people of each village standing at the line (a village belongs to one side)."""
    runs = crowd.shape[0]
    totals = np.zeros((runs, world.n_villages), dtype=np.int64)
    for side in (0, 1):
        np.add.at(totals, (slice(None), world.nearest_village[side]), crowd[:, side, :])
    return totals


def _cap_at_present(crowd: np.ndarray, present: np.ndarray, world: World) -> np.ndarray:
    """Shrink the crowds drawn from a village that has fewer people present than their total."""
    totals = _village_totals(crowd, world)
    over = totals > present
    if not over.any():
        return crowd
    share = np.where(over, present / np.maximum(totals, 1), 1.0)  # [R, V]
    scale = np.stack([share[:, world.nearest_village[side]] for side in (0, 1)], axis=1)
    return np.floor(crowd * scale).astype(np.int64)


def gather(state: BatchState, p: ParamBatch, world: World) -> None:
    """Crowds form at civil confrontations, go home from calm segments, and never exceed who is present.

    Only a confrontation that has not yet turned armed draws a crowd: once shooting has begun on a segment,
    people stay away from it until it has been calm again."""
    calm = state.rung == CALM
    crowd = np.where(calm[:, None, :], 0, state.crowd)
    state.unarmed_since_calm = (state.unarmed_since_calm | calm) & (state.rung < ARMED)
    size = p.col("crowd_size")[:, :, None]
    wanting = ((state.rung == CIVIL) & state.unarmed_since_calm)[:, None, :] & (crowd < size)
    if not wanting.any() and not crowd.any():
        state.crowd = crowd
        return
    if wanting.any():
        # room in each village: who is present less its crowds at segments that are not being filled
        settled = np.where(wanting, 0, crowd)
        room = state.present - _village_totals(settled, world)  # [R, V]
        runs, sides, segs = np.nonzero(wanting)
        villages = world.nearest_village[sides, segs]
        group = runs * world.n_villages + villages
        order = np.lexsort((segs, sides, group))
        group_sorted = group[order]
        first = np.r_[0, np.flatnonzero(np.diff(group_sorted)) + 1]
        rank = np.arange(order.size) - np.repeat(first, np.diff(np.r_[first, order.size]))
        want = size[runs, 0, 0][order]
        filled = np.clip(room[runs[order], villages[order]] - rank * want, 0, want)
        crowd = crowd.copy()
        crowd[runs[order], sides[order], segs[order]] = filled.astype(np.int64)
    state.crowd = _cap_at_present(crowd, state.present, world)


def expose(state: BatchState, p: ParamBatch, world: World, draws: StepDraws) -> None:
    """One step of fire into the crowds; adds the dead to ``state.dead_this_step`` and the village tallies."""
    if not state.crowd.any():
        return
    n_seg = world.n_segments
    crowd = _cap_at_present(state.crowd, state.present, world)  # fire into the villages may have killed some
    fire = state.posture[:, ::-1, :]
    exposed = (fire >= ARMED) & (crowd > 0)
    if not exposed.any():
        state.crowd = crowd
        return
    runs, sides, segs = np.nonzero(exposed)
    slots = sides * n_seg + segs
    relative = lethality(p, fire)[runs, sides, segs] / p["small_arms_lethality"][runs]  # 1 at small arms
    rate = p["crowd_hit_rate"][runs] * relative
    people = crowd[runs, sides, segs]
    hit = randomness.binomial(people, hazard_to_prob(rate, world.dt), draws.uniform_at(Stream.CROWDS, runs, slots))
    killed = randomness.binomial(hit, p["civilian_kill_fraction"][runs],
                                 draws.uniform_at(Stream.CROWDS, runs, slots + 2 * n_seg))
    left = randomness.binomial(people - hit, hazard_to_prob(p["crowd_disperse_rate"][runs], world.dt),
                               draws.uniform_at(Stream.CROWDS, runs, slots + 4 * n_seg))
    crowd = crowd.copy()
    crowd[runs, sides, segs] = people - hit - left
    state.crowd = crowd
    villages = world.nearest_village[sides, segs]
    dead_here = np.zeros_like(state.present)
    np.add.at(dead_here, (runs, villages), killed)
    hurt_here = np.zeros_like(state.present)
    np.add.at(hurt_here, (runs, villages), hit - killed)
    state.present = state.present - dead_here
    state.civilian_dead = state.civilian_dead + dead_here
    state.civilian_injured = state.civilian_injured + hurt_here
    dead = np.zeros_like(state.dead_this_step)
    dead[runs, sides, segs] = killed
    state.dead_this_step = state.dead_this_step + dead
