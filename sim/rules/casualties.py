"""Casualties: fire received on a segment hits the soldiers there and the civilians still nearby.

A side's losses on a segment are driven by the *opponent's* rung. Soldiers: hit at
``military_casualty_rate`` × the weapon's lethality (relative to mortars) per segment under fire, pooled over
the front by ``force_pooling`` (a side at war on many segments does not have a full force on each); a share
``military_kill_fraction`` of those hit die. Civilians of the side's villages: hit at
``civilian_casualty_rate`` × lethality × ``exp(-d / reach)`` per 1000 people still present, summed over the
segments under fire, where heavier weapons reach further; a share ``civilian_kill_fraction`` die. Who has
left cannot be hit: evacuation is what protects civilians. Dead civilians leave the village's present
population, so present + displaced + dead always equals the village's population.

Why pooling: April 2021 was fought on ~19 segments and September 2022 on ~31, yet their tolls differ by about
two (KG / TJ dead 36 / 19 and 62 / 41, facts E07, E13).
"""

from __future__ import annotations

import numpy as np

from sim.core import randomness
from sim.core.ladder import N_RUNGS
from sim.core.randomness import StepDraws, Stream
from sim.core.state import BatchState, pooled_share
from sim.core.world import ParamBatch, World


RUNGS = np.arange(1, N_RUNGS)
"""The rungs that inflict casualties (every one above calm)."""


def inflict(state: BatchState, p: ParamBatch, world: World, draws: StepDraws) -> None:
    """One step of fire's casualties; adds the dead by side and segment to ``state.dead_this_step``.
    Civilians hit in a village are credited to the segment whose fire reached that village most."""
    n_seg, n_vil = world.n_segments, world.n_villages
    fire = state.posture[:, ::-1, :]  # [R, 2, S]: the rung each side is fired at, per segment
    hot = fire > 0
    if not hot.any():
        return
    weight = p.by_rung("lethality_profile", fire) * world.dt * hot
    force = weight * pooled_share(weight, p.col("force_pooling"))[:, :, None]
    runs, sides, segs = np.nonzero(hot)
    slots = sides * n_seg + segs
    mean = p["military_casualty_rate"][runs] * force[runs, sides, segs]
    hit = randomness.poisson(mean, draws.uniform_at(Stream.MILITARY, runs, slots))
    killed = randomness.binomial(hit, p["military_kill_fraction"][runs],
                                 draws.uniform_at(Stream.MILITARY, runs, slots + 2 * n_seg))
    dead = np.zeros((state.runs, 2, n_seg), dtype=np.int64)
    dead[runs, sides, segs] = killed
    mil_dead = dead.sum(axis=2)
    mil_hit = np.zeros((state.runs, 2), dtype=np.int64)
    np.add.at(mil_hit, (runs, sides), hit)
    state.military_dead = state.military_dead + mil_dead
    state.military_injured = state.military_injured + mil_hit - mil_dead

    # civilians: the hit rate of each village, from the fire at its own side's segments, by rung
    civ = p.col("civilian_casualty_rate")[:, :, None] * weight  # [R, 2, S]
    side = world.village_side
    by_rung = np.where(fire[:, :, None, :] == RUNGS[None, None, :, None], civ[:, :, None, :], 0.0)  # [R,2,5,S]
    by_side = by_rung.reshape(state.runs, 2, -1) @ world.exposure[1:].reshape(-1, n_vil)  # [R, 2, V]
    rate = np.take_along_axis(by_side, side[None, None, :], axis=1)[:, 0, :]
    exposed = rate > 0
    if not exposed.any():
        state.dead_this_step = state.dead_this_step + dead
        return
    vr, vv = np.nonzero(exposed)
    present = state.present[vr, vv]
    civ_hit = np.minimum(randomness.poisson(rate[vr, vv] * present / 1000.0,
                                            draws.uniform_at(Stream.CIVILIANS, vr, vv)), present)
    civ_killed = randomness.binomial(civ_hit, p["civilian_kill_fraction"][vr],
                                     draws.uniform_at(Stream.CIVILIANS, vr, vv + n_vil))
    state.present = state.present.copy()
    state.present[vr, vv] -= civ_killed
    state.civilian_dead = state.civilian_dead.copy()
    state.civilian_dead[vr, vv] += civ_killed
    state.civilian_injured = state.civilian_injured.copy()
    state.civilian_injured[vr, vv] += civ_hit - civ_killed
    lethal = civ_killed > 0
    if lethal.any():
        r, v, k = vr[lethal], vv[lethal], civ_killed[lethal]
        s_side = side[v]
        # the segment whose fire reached the village most
        contribution = civ[r, s_side, :] * world.exposure[fire[r, s_side, :], np.arange(n_seg)[None, :], v[:, None]]
        source = contribution.argmax(axis=1)
        np.add.at(dead, (r, s_side, source), k)
    state.dead_this_step = state.dead_this_step + dead
