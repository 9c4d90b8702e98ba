"""The maps: the shipped boundary extract, its clipping, the layout of panels, label placement, the projection
behind the scale bar, and map.html as a self-contained page."""

from __future__ import annotations

import json
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.path import Path as MplPath
from pyproj import Geod

from sim.cli import main
from sim.input.geography import PlaceSpec, load_geography
from sim.output import basemap
from sim.output.labels import Label, place_labels
from sim.output.maps import BorderMap, segment_levels
from tests.conftest import DATA, SCENARIOS

GEOGRAPHY = SCENARIOS / "geography" / "batken_sughd.yaml"


@pytest.fixture(scope="module")
def shipped() -> BorderMap:
    return BorderMap(load_geography(GEOGRAPHY))


def _bounds(field: str) -> tuple[float, float]:
    meta = PlaceSpec.model_fields[field].metadata
    return next(m.ge for m in meta if hasattr(m, "ge")), next(m.le for m in meta if hasattr(m, "le"))


def test_the_extract_covers_every_place_a_geography_may_have():
    west, south, east, north = basemap.BBOX
    assert (west, east) == _bounds("lon") and (south, north) == _bounds("lat")
    data = json.loads(basemap.EXTRACT.read_text())
    assert data["features"]
    for feature in data["features"]:
        flat = np.array(re.findall(r"-?\d+\.?\d*", json.dumps(feature["geometry"]["coordinates"])), float)
        lon, lat = flat[0::2], flat[1::2]
        assert lon.min() >= west and lon.max() <= east and lat.min() >= south and lat.max() <= north


def test_the_extract_has_the_kyrgyz_tajik_boundary_and_the_vorukh_exclave(shipped):
    bm = basemap.load_basemap()
    pairs = {frozenset(b.between) for b in bm.boundaries}
    assert frozenset({"417", "762"}) in pairs  # KG-TJ
    kg_tj = sum(len(b.line) for b in bm.boundaries if set(b.between) == {"417", "762"})
    assert kg_tj > 200, "the 1:10m line has hundreds of vertices here"
    vorukh = next(p for p in shipped.geo.spec.places if p.id == "vorukh")
    tajik_rings = bm.country("762").rings
    assert any(MplPath(np.array(r)).contains_point((vorukh.lon, vorukh.lat)) for r in tajik_rings)
    isfana = next(p for p in shipped.geo.spec.places if p.id == "isfana")
    assert any(MplPath(np.array(r)).contains_point((isfana.lon, isfana.lat)) for r in bm.country("417").rings)


def test_clipping_keeps_what_lies_inside_the_box():
    box = (0.0, 0.0, 1.0, 1.0)
    square = [(-1.0, -1.0), (2.0, -1.0), (2.0, 2.0), (-1.0, 2.0)]
    clipped = np.array(basemap.clip_polygon(square, box))
    assert clipped.min() == 0.0 and clipped.max() == 1.0
    assert basemap.clip_polygon([(2.0, 2.0), (3.0, 2.0), (3.0, 3.0)], box) == []
    parts = basemap.clip_line([(-1.0, 0.5), (0.5, 0.5), (0.5, 2.0), (0.8, 0.5), (0.9, 0.5)], box)
    # in at the left edge, out at the top, back in at the top (x = 0.5 + 0.3 * 2/3) and on to the end
    assert [len(p) for p in parts] == [3, 3]
    assert np.array(parts[0]) == pytest.approx(np.array([(0.0, 0.5), (0.5, 0.5), (0.5, 1.0)]))
    assert np.array(parts[1]) == pytest.approx(np.array([(0.7, 1.0), (0.8, 0.5), (0.9, 0.5)]))


def test_a_boundary_is_the_arc_two_countries_share():
    # two unit squares side by side; arc 0 is their common edge, used reversed by the second
    topology = {"type": "Topology", "arcs": [[[1, 0], [1, 1]], [[1, 1], [0, 1], [0, 0], [1, 0]],
                                             [[1, 0], [2, 0], [2, 1], [1, 1]]],
                "objects": {"countries": {"type": "GeometryCollection", "geometries": [
                    {"type": "Polygon", "id": "001", "properties": {"name": "West"}, "arcs": [[0, 1]]},
                    {"type": "Polygon", "id": "002", "properties": {"name": "East"}, "arcs": [[~0, 2]]}]}}}
    out = basemap.extract(topology, bbox=(-1, -1, 3, 2))
    lines = [f for f in out["features"] if f["properties"]["layer"] == "boundary"]
    assert len(lines) == 1 and lines[0]["geometry"]["coordinates"] == [[1, 0], [1, 1]]
    assert {lines[0]["properties"]["left"], lines[0]["properties"]["right"]} == {"001", "002"}
    names = {f["properties"]["name"] for f in out["features"] if f["properties"]["layer"] == "country"}
    assert names == {"West", "East"}


def test_a_segments_level_is_the_highest_reached_in_at_least_half_the_runs():
    peaks = pd.DataFrame({"run": [0, 1, 2, 3, 0, 1, 2, 3], "segment": ["a"] * 4 + ["b"] * 4,
                          "peak_rung": [0, 0, 4, 4, 1, 2, 3, 5]})
    levels, armed = segment_levels(peaks)
    assert levels == {"a": 4, "b": 3}
    assert armed == {"a": 0.5, "b": 0.75}


def test_far_off_sections_go_to_an_inset_and_the_crowded_one_to_a_detail_panel(shipped):
    far = {"dzhekendi", "toyvaron", "sarkhadchi_post"}
    assert far.isdisjoint(shipped.groups[0])
    assert [set(g) for g, _ in shipped.insets] == [far]
    x, y = shipped.places["vorukh"]
    assert shipped.detail is not None and shipped.detail.contains(np.array(x), np.array(y))
    assert shipped.main.width > 100  # km: Isfana to Batken
    small = BorderMap(load_geography(DATA / "mini_geography.yaml"))
    assert small.insets == [] and small.detail is None


def test_projected_distances_are_true_distances(shipped):
    """What the scale bar relies on: km on the map are km on the ground (UTM, within its 0.04% scale error
    plus the distortion of the zone's edge)."""
    geod = Geod(ellps="WGS84")
    places = {p.id: p for p in shipped.geo.spec.places}
    for a, b in (("isfana", "batken"), ("vorukh", "chorkuh"), ("batken", "dzhekendi")):
        (xa, ya), (xb, yb) = shipped.places[a], shipped.places[b]
        _, _, metres = geod.inv(places[a].lon, places[a].lat, places[b].lon, places[b].lat)
        assert np.hypot(xb - xa, yb - ya) == pytest.approx(metres / 1000, rel=2e-3)


def test_labels_are_placed_without_covering_each_other():
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    labels = [Label(ax.text(5, 5, f"village number {i}", fontsize=8), (5.0, 5.0)) for i in range(8)]
    place_labels(ax, labels, np.array([[5.0, 5.0]]), np.zeros((0, 2)))
    renderer = fig.canvas.get_renderer()
    boxes = [lab.text.get_window_extent(renderer) for lab in labels]
    frame = ax.get_window_extent(renderer)
    for i, a in enumerate(boxes):
        assert frame.x0 <= a.x0 and a.x1 <= frame.x1 and frame.y0 <= a.y0 and a.y1 <= frame.y1
        for b in boxes[i + 1:]:
            overlap_w = min(a.x1, b.x1) - max(a.x0, b.x0)
            overlap_h = min(a.y1, b.y1) - max(a.y0, b.y0)
            assert overlap_w <= 0 or overlap_h <= 0, "two labels overlap"
    plt.close(fig)


@pytest.fixture(scope="module")
def mini_html(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("html") / "mini"
    assert main(["run", str(DATA / "mini.yaml"), "--runs", "3", "--out", str(out), "--quiet"]) == 0
    return (out / "map.html").read_text(encoding="utf-8")


def test_map_html_loads_nothing_from_the_network(mini_html):
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)\s*=\s*["']?(https?:)?//""", mini_html)
    assert "@import" not in mini_html and "url(http" not in mini_html


def test_map_html_holds_the_ensemble_and_one_replayed_run(mini_html):
    data = json.loads(re.search(r'<script id="data" type="application/json">(.*?)</script>', mini_html,
                                re.S).group(1))
    assert [s["id"] for s in data["segments"]] == ["seg_water", "seg_posts", "seg_east"]
    assert data["runs"] == 3
    replay = data["replay"]
    assert replay is not None, data["note"]  # replaying the run's seed gave the recorded run
    steps = len(replay["hour"])
    assert steps == 97 and len(replay["rung"]) == steps and len(replay["displaced"][0]) == len(replay["villages"])
    assert all(len(v) == steps for v in replay["curves"].values())
