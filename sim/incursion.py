"""Ground incursions: forces on the offensive enter the other side's border villages once armour is in use.

Why a rule of its own: in both documented wars the ground fighting went into Kyrgyz villages. Tajik tanks
entered Internatsional on 29 Apr 2021 (utrk.kg 56978) and 78-120 Kyrgyz houses were destroyed, against
>10 on the Tajik side in Khoja Alo (24.kg 192886); in September 2022 Tajik forces entered Kyrgyz villages
(Ak-Sai: >180 houses burned, Batken plenipotentiary via maralfm.kg) and 418 Kyrgyz houses were destroyed
(CABAR.asia 2023) against ~20 Tajik (TJ MFA). Fire alone (:mod:`sim.casualties`) is the same for both sides
and depends on who lives near the line, and the mapped Tajik border villages are the larger (~207,000
residents nearest a segment against ~68,000 Kyrgyz), so without this rule the Tajik civilian toll comes
out the larger: the reverse of the record (Kyrgyz / Tajik deaths 36 / 19 in 2021, 62 / 41 in 2022).

The rule, per segment: while a side whose government is on the offensive (scenario
``governments.<side>.offensive``) fires at armour (L3) or heavier on a segment, its forces are in the
other side's nearest village of that segment; each person still present there is hit at
``incursion_hit_rate`` per hour, and a share ``civilian_kill_fraction`` of those hit die. An offensive in
several villages at once has one force for all of them: each gets the share ``(1 + p (n - 1)) / n`` of that
rate, with ``n`` villages entered and ``p = force_pooling`` (1: a full force in every village, the default;
0: one village's worth spread over them). Evacuation is what protects them: who has left cannot be hit.
``incursion_hit_rate = 0`` or no side on the offensive switches the rule off.
"""

from __future__ import annotations

import numpy as np

from sim.casualties import StepLosses, pooled_share
from sim.ladder import ARMOUR
from sim.state import BorderState, hazard_to_prob


def enabled(params: dict, offensive: np.ndarray) -> bool:
    return params["incursion_hit_rate"] > 0 and bool(offensive.any())


def entered(state: BorderState, offensive: np.ndarray, home: np.ndarray) -> np.ndarray:
    """Which villages an offensive is in now (bool[V]): the defending side's nearest village of every segment
    where the attacker fires at armour or heavier. ``home`` is int[2, S] from :meth:`sim.geography.Geography.nearest_villages`."""
    inside = np.zeros(state.present.size, dtype=bool)
    for attacker in np.flatnonzero(offensive):
        inside[villages_entered_by(state, attacker, home)] = True
    return inside


def villages_entered_by(state: BorderState, attacker: int, home: np.ndarray) -> np.ndarray:
    """The defending side's villages (int, unique) nearest to the segments where ``attacker`` fires at armour
    or heavier."""
    return np.unique(home[1 - attacker, state.posture[attacker] >= ARMOUR])


def held_share(state: BorderState, offensive: np.ndarray, home: np.ndarray, pooling: float) -> np.ndarray:
    """float[V]: the share of ``incursion_hit_rate`` in each village an offensive is in (0 where none is)."""
    share = np.zeros(state.present.size)
    for attacker in np.flatnonzero(offensive):
        villages = villages_entered_by(state, attacker, home)
        if villages.size:
            share[villages] = np.maximum(share[villages], pooled_share(np.ones(villages.size), pooling))
    return share


def expose(state: BorderState, params: dict, dt: float, rng: np.random.Generator, offensive: np.ndarray,
           home: np.ndarray, losses: StepLosses) -> None:
    """One step of an incursion's harm to the people still present; adds the dead to ``losses``.

    The ``incursions`` stream serves this rule alone. A binomial draw at probability 0 takes nothing from
    the stream, so the early return when no village is entered changes no later draw: it only saves time.
    A village's dead are credited, for the loss memory and the lethal-incident count, to the first segment
    from which the attacker entered it."""
    inside = entered(state, offensive, home)
    if not inside.any():
        return
    pooling = params["force_pooling"]
    share = inside if pooling >= 1.0 else held_share(state, offensive, home, pooling)
    hit = rng.binomial(state.present, hazard_to_prob(params["incursion_hit_rate"] * share, dt))
    killed = rng.binomial(hit, params["civilian_kill_fraction"])
    state.present -= killed
    state.civilian_dead += killed
    state.civilian_injured += hit - killed
    for attacker in np.flatnonzero(offensive):
        defender = 1 - attacker
        from_segments = np.flatnonzero(state.posture[attacker] >= ARMOUR)
        villages, first = np.unique(home[defender, from_segments], return_index=True)
        dead = killed[villages]
        losses.dead_by_segment[defender, from_segments[first]] += dead
        losses.civilian_dead[defender] += dead.sum()
        state.recent_deaths[defender, from_segments[first]] += dead
