"""The map's background: international boundaries and country areas from Natural Earth, shipped as a small
GeoJSON extract (``sim/output/data/natural_earth_border.geojson``; source and licence in the README beside it).

Why an extract: the maps need the boundary of one small area, and reading it must work offline after a plain
``pip install``. The extract is cut from Natural Earth's 1:10m admin-0 countries (public domain) as packaged
in the npm package ``world-atlas`` (TopoJSON); running this module regenerates it::

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python -m sim.output.basemap package/countries-10m.json

A boundary line is an arc that two countries' outlines share (TopoJSON stores each shared border once), so
the lines are exact copies of the source's, not differences of polygons.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Sequence

DATA = Path(__file__).resolve().parent / "data"
EXTRACT = DATA / "natural_earth_border.geojson"

BBOX = (69.0, 39.0, 73.5, 41.0)
"""(west, south, east, north) in degrees: the bounds a geography's places must lie in
(``sim.input.geography.PlaceSpec``), so every map of a valid geography has its boundary."""

SOURCE = ("Natural Earth 1:10m Cultural Vectors, Admin 0 - Countries, version 4.1.0 (public domain), "
          "as TopoJSON in the npm package world-atlas 2.0.2")
ATTRIBUTION = "Boundary: Natural Earth 1:10m (public domain), generalised; much of this line is undelimited"

Point = tuple[float, float]


@dataclass(frozen=True)
class Country:
    """One country's area inside the extract: its polygons' outer rings (lon, lat)."""

    name: str
    iso: str
    rings: tuple[tuple[Point, ...], ...]


@dataclass(frozen=True)
class Boundary:
    """A stretch of international boundary between two countries (ISO 3166-1 numeric codes)."""

    between: tuple[str, str]
    line: tuple[Point, ...]


@dataclass(frozen=True)
class Basemap:
    countries: tuple[Country, ...]
    boundaries: tuple[Boundary, ...]

    def country(self, iso: str) -> Country | None:
        return next((c for c in self.countries if c.iso == iso), None)


@lru_cache(maxsize=2)
def load_basemap(path: Path = EXTRACT) -> Basemap:
    """Read the shipped extract (or another GeoJSON written by :func:`extract`)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    countries: list[Country] = []
    boundaries: list[Boundary] = []
    for feature in data["features"]:
        props, geom = feature["properties"], feature["geometry"]
        if props["layer"] == "country":
            polygons = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
            rings = tuple(tuple((float(x), float(y)) for x, y in polygon[0]) for polygon in polygons)
            countries.append(Country(props["name"], props["iso"], rings))
        else:
            boundaries.append(Boundary((props["left"], props["right"]),
                                       tuple((float(x), float(y)) for x, y in geom["coordinates"])))
    return Basemap(tuple(countries), tuple(boundaries))


# --- making the extract -------------------------------------------------------------------------------

def decode_arcs(topology: dict[str, Any]) -> list[list[Point]]:
    """A TopoJSON topology's arcs as (lon, lat) points (undoing quantisation and delta encoding)."""
    transform = topology.get("transform")
    arcs = []
    for arc in topology["arcs"]:
        if transform is None:
            arcs.append([(float(x), float(y)) for x, y in arc])
            continue
        (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def _ring(indices: Sequence[int], arcs: list[list[Point]]) -> list[Point]:
    """Join a ring's arcs (a negative index ``~i`` is arc ``i`` reversed); shared end points appear once."""
    points: list[Point] = []
    for index in indices:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc if not points else arc[1:])
    return points


def _arc_ids(nested: Any) -> set[int]:
    if isinstance(nested, int):
        return {nested if nested >= 0 else ~nested}
    return set().union(*(_arc_ids(item) for item in nested)) if nested else set()


def clip_polygon(ring: Sequence[Point], bbox: Sequence[float]) -> list[Point]:
    """Sutherland–Hodgman clipping of a ring to a rectangle (west, south, east, north); [] if none is left."""
    west, south, east, north = bbox
    edges = ((0, west, True), (0, east, False), (1, south, True), (1, north, False))
    points = list(ring)
    for axis, limit, keep_above in edges:
        if not points:
            break
        inside = [(p[axis] >= limit) if keep_above else (p[axis] <= limit) for p in points]
        clipped: list[Point] = []
        for i, current in enumerate(points):
            previous = points[i - 1]
            if inside[i] != inside[i - 1]:
                t = (limit - previous[axis]) / (current[axis] - previous[axis])
                crossing = [previous[0] + t * (current[0] - previous[0]), previous[1] + t * (current[1] - previous[1])]
                crossing[axis] = limit
                clipped.append((crossing[0], crossing[1]))
            if inside[i]:
                clipped.append(current)
        points = clipped
    return points if len(points) >= 3 else []


def clip_line(line: Sequence[Point], bbox: Sequence[float]) -> list[list[Point]]:
    """The parts of a polyline inside a rectangle (Liang–Barsky on each segment, joined where they touch)."""
    west, south, east, north = bbox
    parts: list[list[Point]] = []
    for (x0, y0), (x1, y1) in zip(line[:-1], line[1:]):
        dx, dy = x1 - x0, y1 - y0
        lo, hi = 0.0, 1.0
        for p, q in ((-dx, x0 - west), (dx, east - x0), (-dy, y0 - south), (dy, north - y0)):
            if p == 0:
                if q < 0:
                    lo, hi = 1.0, 0.0
                continue
            t = q / p
            if p < 0:
                lo = max(lo, t)
            else:
                hi = min(hi, t)
        if lo > hi:
            continue
        a, b = (x0 + lo * dx, y0 + lo * dy), (x0 + hi * dx, y0 + hi * dy)
        if parts and parts[-1][-1] == a:
            parts[-1].append(b)
        else:
            parts.append([a, b])
    return parts


def extract(topology: dict[str, Any], bbox: Sequence[float] = BBOX, digits: int = 4) -> dict[str, Any]:
    """The GeoJSON extract of a world-atlas countries topology: the countries' areas clipped to ``bbox``
    (layer ``country``) and every boundary two countries share inside it (layer ``boundary``)."""
    arcs = decode_arcs(topology)
    geometries = [g for g in topology["objects"]["countries"]["geometries"] if "id" in g and g.get("arcs")]

    def rounded(points: Iterable[Point]) -> list[list[float]]:
        return [[round(x, digits), round(y, digits)] for x, y in points]

    features: list[dict[str, Any]] = []
    kept = []
    for geom in geometries:
        polygons = geom["arcs"] if geom["type"] == "MultiPolygon" else [geom["arcs"]]
        parts = [clip_polygon(_ring(polygon[0], arcs), bbox) for polygon in polygons]
        parts = [p for p in parts if p]
        if not parts:
            continue
        kept.append(geom)
        features.append({"type": "Feature",
                         "properties": {"layer": "country", "name": geom["properties"]["name"], "iso": geom["id"]},
                         "geometry": {"type": "MultiPolygon",
                                      "coordinates": [[rounded(p + p[:1])] for p in parts]}})
    owners: dict[int, list[str]] = {}
    for geom in kept:
        for arc_id in sorted(_arc_ids(geom["arcs"])):
            owners.setdefault(arc_id, []).append(geom["id"])
    for arc_id, isos in sorted(owners.items()):
        if len(isos) != 2:
            continue
        for part in clip_line(arcs[arc_id], bbox):
            features.append({"type": "Feature",
                             "properties": {"layer": "boundary", "left": isos[0], "right": isos[1]},
                             "geometry": {"type": "LineString", "coordinates": rounded(part)}})
    return {"type": "FeatureCollection", "source": SOURCE, "bbox": list(bbox), "features": features}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.output.basemap", description=(
        "Regenerate the boundary extract from world-atlas's countries-10m.json (see this module's docstring)."))
    parser.add_argument("topojson", type=Path, help="countries-10m.json of the npm package world-atlas")
    parser.add_argument("--out", type=Path, default=EXTRACT, help="GeoJSON to write (default: the shipped extract)")
    args = parser.parse_args(argv)
    collection = extract(json.loads(args.topojson.read_text(encoding="utf-8")))
    text = json.dumps(collection, separators=(",", ":"))
    args.out.write_text(text.replace('{"type":"Feature"', '\n{"type":"Feature"') + "\n", encoding="utf-8")
    print(f"{args.out}: {len(collection['features'])} features, {len(text) / 1000:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
