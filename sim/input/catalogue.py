"""What a scenario author can name: places, segments, mediators, strategies and scenarios, as tables.

``bordersim list`` prints these, so nobody has to read the geography file to find a segment's id or the
registry to find a mediator's.
"""

from __future__ import annotations

from pathlib import Path

from sim.input import builtin
from sim.input.scenario import Scenario, available_strategies, load_scenario, strategy_path
from sim.input.strategy import StrategySpec
from sim.input.yamlio import load_model, read_yaml_mapping

KINDS = ("places", "segments", "mediators", "strategies", "scenarios")

Table = tuple[tuple[str, ...], list[tuple[object, ...]]]
"""Column names and rows."""


def catalogue(kind: str, scenario: str | Path = builtin.DEFAULT_SCENARIO) -> Table:
    """The table of one kind of name, as seen from ``scenario`` (its geography, registry and strategies)."""
    if kind == "scenarios":
        return _scenarios()
    loaded = load_scenario(scenario)
    if kind == "places":
        return _places(loaded)
    if kind == "segments":
        return _segments(loaded)
    if kind == "mediators":
        return (("id", "name", "leverage_kg", "leverage_tj"),
                [(m.id, m.name, m.leverage.KG, m.leverage.TJ) for m in loaded.registry.mediators])
    if kind == "strategies":
        return _strategies(loaded)
    raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")


def _places(sc: Scenario) -> Table:
    geo = sc.geography
    rows = [(p.id, p.name, p.side, p.kind, p.district, p.population, len(geo.segments_at(p.id)))
            for p in geo.spec.places]
    return ("id", "name", "side", "kind", "district", "population", "segments"), rows


def _segments(sc: Scenario) -> Table:
    geo = sc.geography
    edges = {e.id: e for e in geo.spec.edges if e.kind == "border"}
    rows = [(sid, kg, tj, edges[sid].status, edges[sid].resource, edges[sid].length_km)
            for sid, (kg, tj) in zip(geo.segment_ids, geo.segment_ends)]
    return ("id", "kg_end", "tj_end", "status", "resource", "length_km"), rows


def _strategies(sc: Scenario) -> Table:
    rows = []
    for name in available_strategies(sc.path):
        file = strategy_path(sc.path, name)
        spec = load_model(file, StrategySpec)
        rows.append((name, len(spec.actions), _first_sentence(spec.description)))
    return ("name", "actions", "description"), rows


def _scenarios() -> Table:
    rows = []
    for name in builtin.scenario_names():
        data = read_yaml_mapping(builtin.SCENARIOS / f"{name}.yaml")
        rows.append((name, str(data.get("start", "")), data.get("duration_hours", ""), data.get("strategy", "none"),
                     _first_sentence(str(data.get("description", "")))))
    return ("name", "start", "hours", "strategy", "description"), rows


def _first_sentence(text: str, limit: int = 90) -> str:
    line = " ".join(text.split())
    first = line.split(". ")[0]
    return first if len(first) <= limit else first[:limit - 1] + "…"


def format_table(table: Table) -> str:
    """Aligned text columns, one row a line."""
    header, rows = table
    cells = [tuple(str(c) for c in header)] + [tuple(_cell(c) for c in row) for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells)


def _cell(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
