"""Ground incursions: forces on the offensive enter the other side's border villages once armour is in use.

While a side whose government is on the offensive (scenario ``governments.<side>.offensive``, stated per
account of the episode) fires at armour (L3) or heavier on a segment, its forces are in the other side's
nearest village of that segment; each person still present there is hit at ``incursion_hit_rate`` per hour,
and a share ``civilian_kill_fraction`` of those hit die. An offensive in several villages at once has one
force for all of them: each gets the share ``(1 + p (n − 1)) / n`` of that rate, with ``n`` villages entered
and ``p = force_pooling``. Evacuation is what protects them: who has left cannot be hit.

Why: in both wars ground fighting went into villages (April 2021: tanks in Internatsional, utrk.kg 56978;
78-120 Kyrgyz houses destroyed against >10 Tajik in Khoja Alo, 24.kg 192886; September 2022: 418 Kyrgyz
houses destroyed, CABAR.asia 2023, against ~20 Tajik, TJ MFA). Fire alone is the same for both sides and
depends on who lives near the line. ``incursion_hit_rate = 0`` or no side on the offensive switches it off.
"""

from __future__ import annotations

import numpy as np

from sim.core import randomness
from sim.core.ladder import ARMOUR
from sim.core.randomness import StepDraws, Stream
from sim.core.state import BatchState, hazard_to_prob
from sim.core.world import ParamBatch, World


def enabled(p: ParamBatch, world: World) -> bool:
    return bool((p["incursion_hit_rate"] > 0).any()) and bool(world.offensive.any())


def held_share(state: BatchState, p: ParamBatch, world: World) -> tuple[np.ndarray, np.ndarray]:
    """float[R, V], the share of ``incursion_hit_rate`` in each village an offensive is in (0 where none is),
    and int[R, V], the first segment (lowest index) from which it entered (-1 where none did)."""
    n_seg, n_vil = world.n_segments, world.n_villages
    share = np.zeros((state.runs, n_vil))
    source = np.full((state.runs, n_vil), -1, dtype=np.int64)
    for attacker in np.flatnonzero(world.offensive):
        villages = world.nearest_village[1 - attacker]  # [S]
        armour = state.posture[:, attacker, :] >= ARMOUR  # [R, S]
        if not armour.any():
            continue
        first = np.full((state.runs, n_vil), n_seg, dtype=np.int64)
        r, s = np.nonzero(armour)
        np.minimum.at(first, (r, villages[s]), s)  # the lowest segment index wins
        inside = first < n_seg
        n = inside.sum(axis=1, keepdims=True)
        pooling = p.col("force_pooling")
        each = (1.0 + pooling * (n - 1)) / np.maximum(n, 1)
        share = np.where(inside, np.maximum(share, each), share)
        source = np.where(inside & (source < 0), first, source)
    return share, source


def expose(state: BatchState, p: ParamBatch, world: World, draws: StepDraws) -> None:
    """One step of an incursion's harm to the people still present; adds the dead to ``state.dead_this_step``
    (credited to the segment it entered from)."""
    share, source = held_share(state, p, world)
    inside = share > 0
    if not inside.any():
        return
    runs, villages = np.nonzero(inside)
    n_vil = world.n_villages
    present = state.present[runs, villages]
    chance = hazard_to_prob(p["incursion_hit_rate"][runs] * share[runs, villages], world.dt)
    hit = randomness.binomial(present, chance, draws.uniform_at(Stream.INCURSIONS, runs, villages))
    killed = randomness.binomial(hit, p["civilian_kill_fraction"][runs],
                                 draws.uniform_at(Stream.INCURSIONS, runs, villages + n_vil))
    state.present = state.present.copy()
    state.present[runs, villages] -= killed
    state.civilian_dead = state.civilian_dead.copy()
    state.civilian_dead[runs, villages] += killed
    state.civilian_injured = state.civilian_injured.copy()
    state.civilian_injured[runs, villages] += hit - killed
    dead = np.zeros_like(state.dead_this_step)
    np.add.at(dead, (runs, world.village_side[villages], source[runs, villages]), killed)
    state.dead_this_step = state.dead_this_step + dead
