"""Scalar outcomes of one finished run: what the summary table, comparisons and calibration read."""

from __future__ import annotations

import math
from typing import Any, Iterable

from sim.ladder import AIR_MLRS, ARMED, ARMOUR, HEAVY, MORTARS, SMALL_ARMS, level_name
from sim.model import BorderModel, measure

OUTCOMES = (
    "deaths_kg", "deaths_tj", "deaths_kg_military", "deaths_kg_civilian", "deaths_tj_military",
    "deaths_tj_civilian", "civilian_deaths", "injured_kg", "injured_tj", "peak_displaced_kg",
    "peak_displaced_tj", "onset_hour", "hours_to_small_arms", "hours_to_mortars", "hours_to_armour",
    "hours_to_air_mlrs", "hours_to_first_ceasefire", "ceasefire_agreements", "violations",
    "hours_violated", "hours_to_stabilisation", "hours_to_withdrawal", "relapses", "collapses", "max_rung",
    "max_level", "heavy_weapons", "segments_involved", "incidents", "lethal_incidents",
)
"""Columns of ``summary.csv``. Hours are counted from the onset (the first incident of the run); an
outcome that never happened (no ceasefire, no stabilisation, a weapon level never reached) is NaN."""

DISTRICT_OUTPUT = "peak_displaced[{}]"
"""Name of the per-district output: the peak number displaced at once from the populated places of one
district (``Geography.districts``), e.g. ``peak_displaced[Leilek district]``. One column per district of the
scenario's geography follows the columns of ``OUTCOMES`` in ``summary.csv``; a target may name one."""


def district_output(district: str) -> str:
    return DISTRICT_OUTPUT.format(district)


def output_district(output: str) -> str | None:
    """The district a per-district output names, or None for any other output."""
    head, tail = DISTRICT_OUTPUT.split("{}")
    if output.startswith(head) and output.endswith(tail) and len(output) > len(head) + len(tail):
        return output[len(head):-len(tail)]
    return None


LEVEL_HOURS = {"hours_to_small_arms": SMALL_ARMS, "hours_to_mortars": MORTARS, "hours_to_armour": ARMOUR,
               "hours_to_air_mlrs": AIR_MLRS}
"""The outcomes that date each weapon level (L1-L4), and the rung each one dates."""

CUMULATIVE = (
    "deaths_kg", "deaths_tj", "deaths_kg_military", "deaths_tj_military", "civilian_deaths", "injured_kg",
    "injured_tj", "peak_displaced_kg", "peak_displaced_tj", "ceasefire_agreements", "violations", "relapses", "collapses", "max_rung",
    "segments_involved", "incidents", "lethal_incidents",
)
"""Outcomes that never decrease during a run: their value at any step is a lower bound of the final one
(what lets a calibration run stop early once one is far above its target, ``calibration.run_summary``)."""


def summarise(model: BorderModel) -> dict[str, Any]:
    m = measure(model)
    cf = model.ceasefire
    onset = model.onset_hour

    def since_onset(hour: float | None) -> float:
        return math.nan if hour is None or onset is None else float(hour - onset)

    max_rung = int(model.state.peak_rung.max())
    return {
        "deaths_kg": m["deaths_kg_military"] + m["deaths_kg_civilian"],
        "deaths_tj": m["deaths_tj_military"] + m["deaths_tj_civilian"],
        "deaths_kg_military": m["deaths_kg_military"],
        "deaths_kg_civilian": m["deaths_kg_civilian"],
        "deaths_tj_military": m["deaths_tj_military"],
        "deaths_tj_civilian": m["deaths_tj_civilian"],
        "civilian_deaths": m["deaths_kg_civilian"] + m["deaths_tj_civilian"],
        "injured_kg": m["injured_kg"],
        "injured_tj": m["injured_tj"],
        "peak_displaced_kg": int(model.peak_displaced[0]),
        "peak_displaced_tj": int(model.peak_displaced[1]),
        "onset_hour": math.nan if onset is None else float(onset),
        **{name: since_onset(model.first_hour_at_rung.get(rung)) for name, rung in LEVEL_HOURS.items()},
        "hours_to_first_ceasefire": since_onset(cf.first_agreed_hour),
        "ceasefire_agreements": cf.agreements,
        "violations": cf.violations,
        "hours_violated": cf.hours_violated,
        "hours_to_stabilisation": since_onset(cf.first_stabilised_hour),
        "hours_to_withdrawal": since_onset(cf.first_withdrawal_hour),
        "relapses": cf.relapses,
        "collapses": cf.collapses,
        "max_rung": max_rung,
        "max_level": level_name(max_rung),
        "heavy_weapons": max_rung >= HEAVY,
        "segments_involved": int((model.state.peak_rung >= ARMED).sum()),
        "incidents": model.state.incidents,
        "lethal_incidents": model.state.lethal_incidents,
        **{district_output(d): int(peak)
           for d, peak in zip(model.geography.districts, model.peak_displaced_district)},
    }


TIMED_OUTPUT = "{output}@{hour:g}h"
"""Name of a cumulative output read at a given hour of the run (hours since the scenario's start), e.g.
``deaths_kg@36h``: its value at the end of the step that ends at that hour. A target with ``by:`` reads one."""


def timed_output(output: str, hour: float) -> str:
    return TIMED_OUTPUT.format(output=output, hour=hour)


class TimedReadings:
    """The cumulative outputs (:data:`CUMULATIVE`) as they stood at given hours of a run.

    Why: the sources date the tolls as they mounted (April 2021: one Kyrgyz dead by the night of 29 April, 31 by
    the next evening), and a run that reaches the final toll a day early is not the documented war. Call
    :meth:`after_step` after every step; :meth:`values` gives ``timed_output(name, hour)`` for every name and
    hour. An hour the run stopped before (a calibration run cut short) reads the run's last values, which are
    lower bounds of the missing readings, as every output of a cut-short run is."""

    def __init__(self, hours: Iterable[float]) -> None:
        self.pending = sorted(set(float(h) for h in hours))
        self.read: dict[str, Any] = {}

    def after_step(self, model: BorderModel) -> None:
        self._read_due(model, model.steps * model.dt)

    def values(self, model: BorderModel) -> dict[str, Any]:
        self._read_due(model, math.inf)
        return dict(self.read)

    def _read_due(self, model: BorderModel, now: float) -> None:
        if not self.pending or self.pending[0] > now + 1e-9:
            return
        due = [h for h in self.pending if h <= now + 1e-9]
        summary = summarise(model)
        for hour in due:
            self.read.update({timed_output(name, hour): summary[name] for name in CUMULATIVE})
        self.pending = self.pending[len(due):]


def run_reading(model: BorderModel, hours: Iterable[float]) -> dict[str, Any]:
    """Run ``model`` to its end (as ``mesa.Model.run_model`` does) and return its outcomes, with the
    cumulative outputs at ``hours`` as well (:class:`TimedReadings`)."""
    readings = TimedReadings(hours)
    while model.running:
        model.step()
        readings.after_step(model)
    return {**summarise(model), **readings.values(model)}
