"""What a run produces: its per-step series (:func:`measure`) and its scalar outcomes (:func:`summarise`),
computed for every run of a batch at once.

Hours are counted from the onset (the end of the first step with any incident); an outcome that never
happened (no ceasefire, no stabilisation, a weapon level never reached) is NaN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim.core.ladder import AIR_MLRS, ARMED, ARMOUR, CIVIL, HEAVY, MORTARS, SMALL_ARMS, level_name
from sim.core.state import BatchState
from sim.core.world import World
from sim.rules.ceasefire import Phase
from sim.rules.mediation import mediators_active

OUTCOMES = (
    "deaths_kg", "deaths_tj", "deaths_kg_military", "deaths_kg_civilian", "deaths_tj_military",
    "deaths_tj_civilian", "civilian_deaths", "injured_kg", "injured_tj", "peak_displaced_kg",
    "peak_displaced_tj", "onset_hour", "hours_to_small_arms", "hours_to_mortars", "hours_to_armour",
    "hours_to_air_mlrs", "hours_to_first_ceasefire", "ceasefire_agreements", "violations",
    "hours_violated", "hours_to_stabilisation", "hours_to_withdrawal", "relapses", "collapses", "max_rung",
    "max_level", "heavy_weapons", "segments_involved", "incidents", "lethal_incidents",
)
"""Columns of ``summary.csv``, in order; per-district peaks (:data:`DISTRICT_OUTPUT`) follow them."""

DISTRICT_OUTPUT = "peak_displaced[{}]"
"""Name of the per-district output: the peak number displaced at once from the populated places of one
district, e.g. ``peak_displaced[Leilek district]``; a calibration target may name one."""

LEVEL_HOURS = {"hours_to_small_arms": SMALL_ARMS, "hours_to_mortars": MORTARS, "hours_to_armour": ARMOUR,
               "hours_to_air_mlrs": AIR_MLRS}
"""The outcomes that date each weapon level (L1-L4), and the rung each one dates."""

CUMULATIVE = (
    "deaths_kg", "deaths_tj", "deaths_kg_military", "deaths_tj_military", "civilian_deaths", "injured_kg",
    "injured_tj", "peak_displaced_kg", "peak_displaced_tj", "ceasefire_agreements", "violations", "relapses",
    "collapses", "max_rung", "segments_involved", "incidents", "lethal_incidents",
)
"""Outcomes that never decrease during a run: their value at any step is a lower bound of the final one."""

TIMED_OUTPUT = "{output}@{hour:g}h"
"""Name of a cumulative output read at a given hour of the run (hours since the scenario's start), e.g.
``deaths_kg@36h``: its value at the end of the step that ends at that hour."""

METRICS = (
    "hour", "max_rung", "active_segments", "armed_segments", "mean_tension",
    "deaths_kg_military", "deaths_tj_military", "deaths_kg_civilian", "deaths_tj_civilian",
    "injured_kg", "injured_tj", "displaced_kg", "displaced_tj", "ceasefire_phase",
    "authorised_kg", "authorised_tj", "mediators_active", "incidents",
)
"""Per-step series (one column each in ``series.csv``); ``ceasefire_phase`` is the phase's name."""


def district_output(district: str) -> str:
    return DISTRICT_OUTPUT.format(district)


def output_district(output: str) -> str | None:
    """The district a per-district output names, or None for any other output."""
    head, tail = DISTRICT_OUTPUT.split("{}")
    if output.startswith(head) and output.endswith(tail) and len(output) > len(head) + len(tail):
        return output[len(head):-len(tail)]
    return None


def timed_output(output: str, hour: float) -> str:
    return TIMED_OUTPUT.format(output=output, hour=hour)


def _civilian(state: BatchState, world: World, counts: np.ndarray) -> np.ndarray:
    """int[R, 2]: a per-village count summed by side."""
    return np.rint(counts @ world.side_of_village).astype(np.int64)


def measure(state: BatchState, world: World) -> dict[str, np.ndarray]:
    """The per-step series of every run (each an array over runs; ``ceasefire_phase`` as int)."""
    civ_dead = _civilian(state, world, state.civilian_dead)
    civ_hurt = _civilian(state, world, state.civilian_injured)
    displaced = state.displaced_by_side(world)
    rung = state.rung
    return {
        "hour": np.full(state.runs, state.step * world.dt),
        "max_rung": rung.max(axis=1),
        "active_segments": np.count_nonzero(rung, axis=1),
        "armed_segments": np.count_nonzero(rung >= ARMED, axis=1),
        "mean_tension": state.tension.mean(axis=1),
        "deaths_kg_military": state.military_dead[:, 0],
        "deaths_tj_military": state.military_dead[:, 1],
        "deaths_kg_civilian": civ_dead[:, 0],
        "deaths_tj_civilian": civ_dead[:, 1],
        "injured_kg": state.military_injured[:, 0] + civ_hurt[:, 0],
        "injured_tj": state.military_injured[:, 1] + civ_hurt[:, 1],
        "displaced_kg": displaced[:, 0],
        "displaced_tj": displaced[:, 1],
        "ceasefire_phase": state.phase.copy(),
        "authorised_kg": state.authorised[:, 0].copy(),
        "authorised_tj": state.authorised[:, 1].copy(),
        "mediators_active": mediators_active(state, world),
        "incidents": state.incidents.copy(),
    }


PHASE_NAMES = np.array([phase.name.lower() for phase in Phase])


def phase_names(phases: np.ndarray) -> np.ndarray:
    return PHASE_NAMES[phases]


def summarise(state: BatchState, world: World, districts: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Every run's scalar outcomes (each an array over runs), with one peak per district of ``districts``."""
    civ_dead = _civilian(state, world, state.civilian_dead)
    civ_hurt = _civilian(state, world, state.civilian_injured)
    onset = state.first_hour_at_rung[:, CIVIL]

    def since_onset(hours: np.ndarray) -> np.ndarray:
        return hours - onset  # NaN where either never happened

    max_rung = state.peak_rung.max(axis=1)
    mil = state.military_dead
    out: dict[str, np.ndarray] = {
        "deaths_kg": mil[:, 0] + civ_dead[:, 0],
        "deaths_tj": mil[:, 1] + civ_dead[:, 1],
        "deaths_kg_military": mil[:, 0].copy(),
        "deaths_kg_civilian": civ_dead[:, 0],
        "deaths_tj_military": mil[:, 1].copy(),
        "deaths_tj_civilian": civ_dead[:, 1],
        "civilian_deaths": civ_dead.sum(axis=1),
        "injured_kg": state.military_injured[:, 0] + civ_hurt[:, 0],
        "injured_tj": state.military_injured[:, 1] + civ_hurt[:, 1],
        "peak_displaced_kg": state.peak_displaced[:, 0].copy(),
        "peak_displaced_tj": state.peak_displaced[:, 1].copy(),
        "onset_hour": onset.copy(),
        **{name: since_onset(state.first_hour_at_rung[:, rung]) for name, rung in LEVEL_HOURS.items()},
        "hours_to_first_ceasefire": since_onset(state.first_agreed_hour),
        "ceasefire_agreements": state.agreements.copy(),
        "violations": state.violations.copy(),
        "hours_violated": state.hours_violated.copy(),
        "hours_to_stabilisation": since_onset(state.first_stabilised_hour),
        "hours_to_withdrawal": since_onset(state.first_withdrawal_hour),
        "relapses": state.relapses.copy(),
        "collapses": state.collapses.copy(),
        "max_rung": max_rung,
        "max_level": np.array([level_name(r) for r in max_rung]),
        "heavy_weapons": max_rung >= HEAVY,
        "segments_involved": (state.peak_rung >= ARMED).sum(axis=1),
        "incidents": state.incidents.copy(),
        "lethal_incidents": state.lethal_incidents.copy(),
    }
    for i, district in enumerate(districts):
        out[district_output(district)] = state.peak_displaced_district[:, i].copy()
    return out


def rows(columns: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Per-run dictionaries of plain Python values from per-outcome arrays; an outcome that never happened
    is ``math.nan``."""
    names = list(columns)
    values = [[math.nan if v != v else v for v in columns[n].tolist()] for n in names]
    return [dict(zip(names, row)) for row in zip(*values)]


EVENT_TIMES = {"onset_hour": "onset", **{name: name.removeprefix("hours_to_") for name in OUTCOMES
                                         if name.startswith("hours_to_")}}
"""The outcomes that date an event (NaN when it never happened in the run), and the event each one dates."""


def happened_output(timing: str) -> str:
    """Name of the 0/1 indicator that a timed event happened at all: ``happened_first_ceasefire``. Tables and
    the run outcomes carry it beside the NaN of a run where the event never came, so that nobody reads an
    empty cell as 'not recorded'."""
    return f"happened_{EVENT_TIMES[timing]}"
