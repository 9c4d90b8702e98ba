"""``map.html``: an interactive map of a results folder in one self-contained file (no network needed).

The page holds its data and a small script inline. It shows the map of :mod:`sim.output.maps` (same
projection, boundary, colours and segment numbers) with pan and zoom, and:

* **the ensemble**: each segment coloured by the highest level it reached in at least half of the runs; a
  segment's tooltip gives the share of runs that reached each level; the peak displaced per district and the
  deaths by side (median and 5–95% range);
* **one run over time**: a time slider (and play button) over the run whose death toll is the ensemble's
  median, replayed from its seed: each segment's level, and each village's displaced and civilian dead,
  hour by hour, beside the ensemble's curves with the same hour marked.

A results folder records levels per segment and displacement per district only at their peaks, so the hour
by hour picture per place comes from replaying one run (``BorderModel`` with the run's seed and the
scenario's parameters). Runs with parameters drawn from the posterior, or a scenario that no longer gives
the recorded run, are not replayed; the page then says so and shows the ensemble only.
"""

from __future__ import annotations

import html
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from sim.core.ladder import LABELS, N_RUNGS, Rung
from sim.engine.outcomes import DISTRICT_OUTPUT
from sim.errors import UserError
from sim.input.geography import Geography
from sim.output.basemap import ATTRIBUTION
from sim.output.maps import COUNTRY_FILL, LEVEL_COLOURS, OTHER_FILL, BorderMap, segment_levels, short_name
from sim.output.plots import SIDE_COLOURS, band, with_death_totals
from sim.output.results import recorded_path, write_text_atomic

CURVES = {"max_rung": "highest level", "deaths_kg": "KG deaths", "deaths_tj": "TJ deaths",
          "displaced_kg": "KG displaced", "displaced_tj": "TJ displaced"}


def representative_run(summary: pd.DataFrame) -> int:
    """The run whose death toll (both sides) is nearest the ensemble's median; the lowest such run number."""
    total = summary["deaths_kg"] + summary["deaths_tj"]
    gap = (total - total.median()).abs()
    return int(summary.loc[gap == gap.min(), "run"].min())


def replay(meta: Mapping[str, Any], summary: pd.DataFrame) -> tuple[dict[str, Any] | None, str]:
    """Replay the representative run of a results folder hour by hour; (data, note). ``data`` is None, with
    the reason in ``note``, when the run cannot be repeated exactly (see the module docstring)."""
    from sim.model import BorderModel

    if meta.get("posterior"):
        return None, "Runs drew their parameters from the posterior; only the ensemble is shown."
    run = representative_run(summary)
    row = summary.loc[summary["run"] == run].iloc[0]
    seed = int(meta["seeds"]["per_run"][run])
    try:
        model = BorderModel(recorded_path(meta["scenario"]["path"]), seed=seed,
                            strategy=meta["scenario"]["strategy"])
    except UserError as err:
        return None, f"The run could not be replayed ({err}); only the ensemble is shown."
    state = model.sim.state
    frames: dict[str, list] = {"hour": [], "rung": [], "displaced": [], "dead": []}

    def record() -> None:
        frames["hour"].append(round(state.step * model.dt, 3))
        frames["rung"].append(state.rung[0].astype(int).tolist())
        frames["displaced"].append(np.rint(state.displaced[0]).astype(int).tolist())
        frames["dead"].append(np.rint(state.civilian_dead[0]).astype(int).tolist())

    record()
    while model.running:
        model.step()
        record()
    got = model.summary()
    if any(int(got[k]) != int(row[k]) for k in ("deaths_kg", "deaths_tj", "max_rung")):
        return None, ("Replaying the run's seed no longer gives the recorded run (the scenario or the model "
                      "changed since); only the ensemble is shown.")
    note = (f"Run {run} (seed {seed}): the run whose death toll ({int(row['deaths_kg'] + row['deaths_tj'])}) is "
            f"nearest the median, replayed hour by hour.")
    hourly = with_death_totals(model.datacollector.get_model_vars_dataframe())
    curves = {key: [round(float(v), 2) for v in hourly[key]] for key in CURVES}
    return {"run": run, "seed": seed, "villages": list(model.geography.village_ids), "curves": curves,
            **frames}, note


def _curves(series: pd.DataFrame) -> dict[str, Any]:
    series = with_death_totals(series)
    out: dict[str, Any] = {}
    for column in CURVES:
        b = band(series, column)
        out[column] = {k: [round(float(v), 2) for v in b[k]] for k in ("hour", "median", "lo", "hi")}
    return out


def _districts(summary: pd.DataFrame) -> list[dict[str, Any]]:
    pattern = re.compile("^" + re.escape(DISTRICT_OUTPUT).replace(r"\{\}", "(.+)") + "$")
    rows = []
    for column in summary.columns:
        m = pattern.match(str(column))
        if m:
            q = np.quantile(summary[column].astype(float), [0.5, 0.05, 0.95])
            rows.append({"name": m.group(1), "median": int(round(q[0])), "lo": int(round(q[1])),
                         "hi": int(round(q[2]))})
    return sorted(rows, key=lambda r: -r["median"])


def _xy(x: float, y: float) -> list[float]:
    return [round(float(x), 3), round(-float(y), 3)]  # SVG's y runs down


def page_data(geo: Geography, series: pd.DataFrame, summary: pd.DataFrame, segments: pd.DataFrame,
              start: datetime, name: str, meta: Mapping[str, Any] | None) -> dict[str, Any]:
    """Everything the page shows, as plain JSON-able values."""
    bmap = BorderMap(geo)
    levels, _ = segment_levels(segments)
    runs = int(summary["run"].nunique())
    shares = segments.groupby("segment")["peak_rung"].apply(
        lambda p: [round(float(np.mean(p >= r)), 3) for r in range(N_RUNGS)]).to_dict()
    districts = {p.id: p.district for p in geo.spec.places}

    def extent(e: Any) -> list[float]:
        return [round(e.x0, 2), round(-e.y1, 2), round(e.width, 2), round(e.height, 2)]

    countries = []
    for c in bmap.basemap.countries:
        for ring in c.rings:
            x, y = bmap.project([p[0] for p in ring], [p[1] for p in ring])
            countries.append({"name": c.name, "fill": COUNTRY_FILL.get(c.iso, OTHER_FILL),
                              "ring": [_xy(a, b) for a, b in zip(x, y)]})
    countries.sort(key=lambda c: -len(c["ring"]))
    boundaries = []
    for b in bmap.basemap.boundaries:
        x, y = bmap.project([p[0] for p in b.line], [p[1] for p in b.line])
        boundaries.append([_xy(a, c) for a, c in zip(x, y)])
    data, note = (replay(meta, summary) if meta is not None else (None, "No manifest: only the ensemble is shown."))
    deaths = {side: [int(v) for v in np.quantile(summary[f"deaths_{side.lower()}"], [0.5, 0.05, 0.95])]
              for side in ("KG", "TJ")}
    return {
        "title": name, "runs": runs, "start": start.isoformat(), "crs": bmap.crs_name, "attribution": ATTRIBUTION,
        "levels": [LABELS[Rung(r)] for r in range(N_RUNGS)], "colours": list(LEVEL_COLOURS),
        "sides": SIDE_COLOURS,
        "main": extent(bmap.main), "insets": [extent(e) for _, e in bmap.insets],
        "countries": countries, "boundaries": boundaries,
        "roads": [[_xy(*bmap.places[a]), _xy(*bmap.places[b])] for a, b, d in geo.graph.edges(data=True)
                  if d["kind"] == "road" and _same_group(bmap, a, b)],
        "segments": [{"n": n, "id": sid, "a": _xy(*a), "b": _xy(*b), "level": levels.get(sid, 0),
                      "shares": shares.get(sid, [1.0] + [0.0] * (N_RUNGS - 1))} for n, sid, a, b in bmap.segments],
        "places": [{"id": p.id, "name": short_name(p.name), "full": p.name, "side": p.side, "kind": p.kind,
                    "pop": p.population, "district": districts[p.id], "xy": _xy(*bmap.places[p.id])}
                   for p in geo.spec.places],
        "curves": _curves(series), "curve_labels": CURVES, "districts": _districts(summary), "deaths": deaths,
        "replay": data, "note": note,
    }


def _same_group(bmap: BorderMap, a: str, b: str) -> bool:
    return any(a in g and b in g for g in bmap.groups)


def write_html_map(out: Path, geo: Geography, series: pd.DataFrame, summary: pd.DataFrame,
                   segments: pd.DataFrame, start: datetime, name: str, meta: Mapping[str, Any] | None) -> Path:
    """Write ``map.html`` (see the module docstring)."""
    data = page_data(geo, series, summary, segments, start, name, meta)
    text = (TEMPLATE.replace("__TITLE__", html.escape(f"{name}: border map"))
            .replace("__DATA__", json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")))
    write_text_atomic(Path(out), text)
    return Path(out)


TEMPLATE = (Path(__file__).resolve().parent / "data" / "map_template.html").read_text(encoding="utf-8")
