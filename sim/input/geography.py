"""The border as data: places and segments read from YAML, checked, and built into a networkx graph.

Nodes are places (villages, towns, posts, facilities, checkpoints, exclaves); an edge is either a
*border segment* (a KG place facing a TJ place across the line) or a *road* (two places on one side).
:class:`Geography` also precomputes the arrays the vectorised rules need (distances from each segment
to each village, which segments neighbour each other), once per file rather than once per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import networkx as nx
import numpy as np
import pydantic

from sim.errors import UserError
from sim.input.limits import LIMITS
from sim.input.yamlio import StrictModel, load_model, suggest

SIDES = ("KG", "TJ")
Side = Literal["KG", "TJ"]
POPULATED_KINDS = {"village", "town", "exclave"}


def district_name(district: str) -> str:
    """The district of a place's ``district`` field: the text before its first parenthesis.

    Why: the field also names the unit below the district where it is known ("Leilek district (Kulundu AO)"),
    while the official evacuation counts are per district (the KG Emergencies Ministry's 14,361 from Batken
    district and 26,288 from Leilek district on 4 May 2021, 24.kg 192886); a per-district output sums the
    villages of one district."""
    return district.split("(")[0].strip()


class PlaceSpec(StrictModel):
    id: str = pydantic.Field(pattern=r"^[a-z0-9_]+$")
    name: str
    side: Side
    kind: Literal["village", "town", "post", "facility", "checkpoint", "exclave"]
    district: str
    lat: float = pydantic.Field(ge=39.0, le=41.0)
    lon: float = pydantic.Field(ge=69.0, le=73.5)
    coord_estimated: bool
    coord_source: str
    population: int = pydantic.Field(ge=0)
    population_year: int | None = None
    population_estimated: bool = False
    population_source: str | None = None
    notes: str | None = None


class EdgeSpec(StrictModel):
    id: str | None = pydantic.Field(default=None, pattern=r"^[a-z0-9_]+$")
    a: str
    b: str
    kind: Literal["border", "road"]
    status: Literal["disputed", "agreed"] | None = None
    resource: Literal["water", "road", "pasture", "none"] | None = None
    length_km: float = pydantic.Field(gt=0)
    source: str


class GeographySpec(StrictModel):
    name: str
    description: str
    places: list[PlaceSpec] = pydantic.Field(
        min_length=2, description=f"the places of the border; at most {LIMITS.places:,} unless --allow-large")
    edges: list[EdgeSpec] = pydantic.Field(min_length=1)


@dataclass(frozen=True)
class Geography:
    """A checked border graph plus the arrays the model's rules index by segment and village."""

    path: Path
    spec: GeographySpec
    graph: nx.Graph
    segment_ids: tuple[str, ...]
    segment_ends: tuple[tuple[str, str], ...]  # (KG place, TJ place)
    segment_disputed: np.ndarray  # bool[S]
    segment_resource: tuple[str, ...]
    segment_length_km: np.ndarray  # float[S]
    segment_midpoint: np.ndarray  # float[S, 2]: (lat, lon) halfway between the segment's two places
    segment_neighbours: np.ndarray  # float[S, S]: 1 for adjacent segments, 0 otherwise
    village_ids: tuple[str, ...]  # populated places
    village_side: np.ndarray  # int[V]: 0 = KG, 1 = TJ
    village_population: np.ndarray  # int[V]
    village_district: tuple[str, ...]  # district_name of each populated place
    segment_village_km: np.ndarray  # float[S, V]: distance from segment midpoint to village

    @property
    def n_segments(self) -> int:
        return len(self.segment_ids)

    def segment_index(self, segment_id: str) -> int:
        return self.segment_ids.index(segment_id)

    def segments_at(self, place_id: str) -> list[int]:
        """Indices of the border segments that touch a place."""
        return [i for i, ends in enumerate(self.segment_ends) if place_id in ends]

    def segment_between(self, a: str, b: str) -> int | None:
        """Index of the border segment joining two places (either order), or None."""
        return next((i for i, ends in enumerate(self.segment_ends) if set(ends) == {a, b}), None)

    def nearest_segment(self, place_id: str) -> int:
        """Index of the border segment whose midpoint is nearest a place (the first of equals)."""
        place = next(p for p in self.spec.places if p.id == place_id)
        km = haversine_km(np.array([place.lat, place.lon]), self.segment_midpoint)
        return int(np.argmin(km))

    @property
    def districts(self) -> tuple[str, ...]:
        """The districts of the populated places, sorted: the per-district outputs (``outcomes.district_output``)."""
        return tuple(sorted(set(self.village_district)))

    @property
    def place_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.spec.places)

    def nearest_villages(self) -> np.ndarray:
        """Index of each side's nearest village to each segment (int[2, S]): where a crowd at the line comes
        from (sim/crowds.py) and which village an offensive across the segment enters (sim/incursion.py)."""
        nearest = np.zeros((2, self.n_segments), dtype=np.int64)
        for side in (0, 1):
            own = np.flatnonzero(self.village_side == side)
            nearest[side] = own[self.segment_village_km[:, own].argmin(axis=1)]
        return nearest

    def segment_km_apart(self) -> np.ndarray:
        """Great-circle km between the midpoints of each pair of segments (float[S, S]): how far an order to
        open fire travels from the fight it answers (sim/escalation.py, ``open_front``)."""
        mid = self.segment_midpoint
        return haversine_km(mid[:, None, :], mid[None, :, :])


def load_geography(path: Path) -> Geography:
    """Read, check and build a geography file; cached, since every run of an ensemble shares it."""
    return _load_cached(Path(path).resolve())


@lru_cache(maxsize=8)
def _load_cached(path: Path) -> Geography:
    spec = load_model(path, GeographySpec)
    graph = build_graph(path, spec)
    return _arrays(path, spec, graph)


def build_graph(path: Path, spec: GeographySpec) -> nx.Graph:
    """The networkx graph of a geography, after checking what a schema cannot."""
    places = {}
    for i, place in enumerate(spec.places):
        if place.id in places:
            raise UserError(f"{path}: places[{i}].id: duplicate place id '{place.id}'")
        if place.kind in POPULATED_KINDS and place.population <= 0:
            raise UserError(f"{path}: places[{i}].population: a {place.kind} needs a population > 0")
        places[place.id] = place
    graph = nx.Graph(name=spec.name)
    for place in spec.places:
        graph.add_node(place.id, **place.model_dump())
    edge_ids: set[str] = set()
    for i, edge in enumerate(spec.edges):
        where = f"{path}: edges[{i}]"
        for end in ("a", "b"):
            name = getattr(edge, end)
            if name not in places:
                raise UserError(f"{where}.{end}: unknown place '{name}'{suggest(name, places)}")
        if edge.a == edge.b:
            raise UserError(f"{where}: an edge joins '{edge.a}' to itself")
        same_side = places[edge.a].side == places[edge.b].side
        if edge.kind == "border":
            if same_side:
                raise UserError(
                    f"{where}: border segment '{edge.id}' joins two {places[edge.a].side} places; "
                    "a border segment must join a KG place and a TJ place"
                )
            if edge.id is None or edge.status is None or edge.resource is None:
                raise UserError(f"{where}: a border segment needs id, status and resource")
            if edge.id in edge_ids:
                raise UserError(f"{where}.id: duplicate segment id '{edge.id}'")
            edge_ids.add(edge.id)
        else:
            if not same_side:
                raise UserError(f"{where}: a road joins '{edge.a}' ({places[edge.a].side}) and "
                                f"'{edge.b}' ({places[edge.b].side}); roads stay on one side, "
                                "use kind: border for a crossing")
            if edge.status is not None or edge.resource is not None:
                raise UserError(f"{where}: status and resource belong to border segments, not roads")
        if graph.has_edge(edge.a, edge.b):
            raise UserError(f"{where}: a second edge between '{edge.a}' and '{edge.b}'")
        graph.add_edge(edge.a, edge.b, **edge.model_dump(exclude={"a", "b"}))
    if not edge_ids:
        raise UserError(f"{path}: edges: no border segment (kind: border) is defined")
    return graph


def _arrays(path: Path, spec: GeographySpec, graph: nx.Graph) -> Geography:
    places = {p.id: p for p in spec.places}
    borders = [e for e in spec.edges if e.kind == "border"]
    ends = tuple((e.a, e.b) if places[e.a].side == "KG" else (e.b, e.a) for e in borders)
    villages = [p for p in spec.places if p.population > 0]
    mid = np.array([[(places[a].lat + places[b].lat) / 2, (places[a].lon + places[b].lon) / 2]
                    for a, b in ends])
    vil = np.array([[p.lat, p.lon] for p in villages])
    return Geography(
        path=path,
        spec=spec,
        graph=graph,
        segment_ids=tuple(e.id for e in borders),  # type: ignore[misc]
        segment_ends=ends,
        segment_disputed=np.array([e.status == "disputed" for e in borders]),
        segment_resource=tuple(e.resource or "none" for e in borders),
        segment_length_km=np.array([e.length_km for e in borders]),
        segment_midpoint=mid,
        segment_neighbours=_segment_neighbours(graph, ends),
        village_ids=tuple(p.id for p in villages),
        village_side=np.array([SIDES.index(p.side) for p in villages]),
        village_population=np.array([p.population for p in villages], dtype=np.int64),
        village_district=tuple(district_name(p.district) for p in villages),
        segment_village_km=haversine_km(mid[:, None, :], vil[None, :, :]),
    )


def _segment_neighbours(graph: nx.Graph, ends: tuple[tuple[str, str], ...]) -> np.ndarray:
    """Two segments neighbour each other when they share a place or their places are one road apart.

    That is the path violence spreads along: the same post or village, or the next village up the road.
    """
    reach = {}
    for a, b in ends:
        for place in (a, b):
            if place not in reach:
                reach[place] = {place} | {n for n in graph.neighbors(place)
                                          if graph.edges[place, n]["kind"] == "road"}
    n = len(ends)
    adj = np.zeros((n, n))
    for i, (a1, b1) in enumerate(ends):
        near = reach[a1] | reach[b1]
        for j, (a2, b2) in enumerate(ends):
            if i != j and (a2 in near or b2 in near):
                adj[i, j] = 1.0
    return adj


def haversine_km(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Great-circle distance in km between arrays of (lat, lon) points (broadcasting)."""
    lat1, lon1 = np.radians(p[..., 0]), np.radians(p[..., 1])
    lat2, lon2 = np.radians(q[..., 0]), np.radians(q[..., 1])
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(h))
