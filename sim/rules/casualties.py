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
from sim.core.ladder import N_RUNGS, SMALL_ARMS
from sim.core.randomness import StepDraws, Stream
from sim.core.state import BatchState, pooled_share
from sim.core.world import ParamBatch, World


RUNGS = np.arange(1, N_RUNGS)
"""The rungs that inflict casualties (every one above calm)."""


def lethality(p: ParamBatch, rungs: np.ndarray) -> np.ndarray:
    """The casualty rate of fire at each entry of ``rungs`` (an int array whose first axis is the run),
    relative to mortars: ``lethality_profile`` by rung, with the small-arms (L1) entry taken from
    ``small_arms_lethality``. Why a parameter of its own: the small episodes of 2014-2022 were fought with
    small arms alone and identify it, while the heavier rungs are identified only together with the casualty
    rates, by the two wars, so their ratios stay hand-set."""
    small = p["small_arms_lethality"].reshape((-1,) + (1,) * (rungs.ndim - 1))
    return np.where(rungs == SMALL_ARMS, small, p.by_rung("lethality_profile", rungs))


def inflict(state: BatchState, p: ParamBatch, world: World, draws: StepDraws) -> None:
    """One step of fire's casualties; adds the dead by side and segment to ``state.dead_this_step``.
    Civilians hit in a village are credited to the segment whose fire reached that village most. Only the
    runs with fire somewhere are computed."""
    n_seg, n_vil = world.n_segments, world.n_villages
    live = np.flatnonzero(state.posture.any(axis=(1, 2)))
    if live.size == 0:
        return
    pl = p if live.size == state.runs else p.subset(live)
    fire = state.posture[live][:, ::-1, :]  # [L, 2, S]: the rung each side is fired at, per segment
    hot = fire > 0
    weight = lethality(pl, fire) * world.dt * hot
    force = weight * pooled_share(weight, pl.col("force_pooling"))[:, :, None]
    runs, sides, segs = np.nonzero(hot)
    slots = sides * n_seg + segs
    mean = pl["military_casualty_rate"][runs] * force[runs, sides, segs]
    hit = randomness.poisson(mean, draws.uniform_at(Stream.MILITARY, live[runs], slots))
    killed = randomness.binomial(hit, pl["military_kill_fraction"][runs],
                                 draws.uniform_at(Stream.MILITARY, live[runs], slots + 2 * n_seg))
    dead = np.zeros((live.size, 2, n_seg), dtype=np.int64)
    dead[runs, sides, segs] = killed
    hits = np.zeros_like(dead)
    hits[runs, sides, segs] = hit
    mil_dead = dead.sum(axis=2)
    state.military_dead[live] += mil_dead
    state.military_injured[live] += hits.sum(axis=2) - mil_dead

    # civilians: the hit rate of each village, from the fire at its own side's segments, by rung
    civ = pl.col("civilian_casualty_rate")[:, :, None] * weight  # [L, 2, S]
    side = world.village_side
    by_rung = np.where(fire[:, :, None, :] == RUNGS[None, None, :, None], civ[:, :, None, :], 0.0)  # [L,2,5,S]
    by_side = by_rung.reshape(live.size, 2, -1) @ world.exposure[1:].reshape(-1, n_vil)  # [L, 2, V]
    rate = np.take_along_axis(by_side, side[None, None, :], axis=1)[:, 0, :]
    vr, vv = np.nonzero(rate > 0)
    if vr.size:
        rows = live[vr]
        present = state.present[rows, vv]
        civ_hit = np.minimum(randomness.poisson(rate[vr, vv] * present / 1000.0,
                                                draws.uniform_at(Stream.CIVILIANS, rows, vv)), present)
        civ_killed = randomness.binomial(civ_hit, pl["civilian_kill_fraction"][vr],
                                         draws.uniform_at(Stream.CIVILIANS, rows, vv + n_vil))
        state.present[rows, vv] -= civ_killed
        state.civilian_dead[rows, vv] += civ_killed
        state.civilian_injured[rows, vv] += civ_hit - civ_killed
        lethal = civ_killed > 0
        if lethal.any():
            r, v, k = vr[lethal], vv[lethal], civ_killed[lethal]
            s_side = side[v]
            # the segment whose fire reached the village most
            contribution = civ[r, s_side, :] * world.exposure[fire[r, s_side, :], np.arange(n_seg)[None, :],
                                                               v[:, None]]
            np.add.at(dead, (r, s_side, contribution.argmax(axis=1)), k)
    state.dead_this_step[live] += dead
