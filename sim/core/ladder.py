"""The escalation ladder: the weapon levels of the facts sheet, plus a calm rung below them.

The facts sheet (``shared/facts/episodes.md`` §0) codes violence L0–L4. The model needs one more state,
"no violence", so it counts *rungs*: rung 0 is calm and rung ``n`` (1–5) is the facts sheet's level
``L{n-1}``. Every output that a person reads names levels in the facts sheet's coding.
"""

from __future__ import annotations

from enum import IntEnum


class Rung(IntEnum):
    """Rungs of the ladder, lowest first; the comment gives the facts-sheet level."""

    CALM = 0  # no violence
    CIVIL = 1  # L0: fists, stones, blockades
    SMALL_ARMS = 2  # L1: small arms, warning shots, hunting guns
    MORTARS = 3  # L2: mortars, RPGs, grenade launchers
    ARMOUR = 4  # L3: armour (APC, IFV, tanks) and tube artillery
    AIR_MLRS = 5  # L4: MLRS, armed drones, helicopters, jets


N_RUNGS = len(Rung)
# Plain ints for the hot paths: an IntEnum attribute lookup costs a microsecond, a module int nothing.
CALM, CIVIL, SMALL_ARMS, MORTARS, ARMOUR, AIR_MLRS = (int(r) for r in Rung)
ARMED = SMALL_ARMS
"""Lowest rung that counts as armed fire: ceasefire violations and the onset of talks are judged by it."""
HEAVY = ARMOUR
"""Lowest rung that counts as heavy weapons (the facts sheet's L3+)."""

LABELS = {
    Rung.CALM: "calm",
    Rung.CIVIL: "L0 stones",
    Rung.SMALL_ARMS: "L1 small arms",
    Rung.MORTARS: "L2 mortars",
    Rung.ARMOUR: "L3 armour/artillery",
    Rung.AIR_MLRS: "L4 MLRS/drones/air",
}


def level_name(rung: int) -> str:
    """The facts-sheet code of a rung: ``'L3'``, or ``'calm'`` for rung 0."""
    return "calm" if rung <= 0 else f"L{int(rung) - 1}"


def parse_level(text: str) -> Rung:
    """Parse ``'L0'``–``'L4'`` or ``'calm'`` (any case) into a rung; raise ``ValueError`` otherwise."""
    value = str(text).strip().lower()
    if value == "calm":
        return Rung.CALM
    if len(value) == 2 and value[0] == "l" and value[1] in "01234":
        return Rung(int(value[1]) + 1)
    raise ValueError("expected a level 'calm' or 'L0'..'L4' (facts-sheet coding)")
