"""The border on a map: ``map.png`` of a results folder, and the map layer of the browser app.

What is drawn, and why:

* **Projection**: the UTM zone of the geography's centre (WGS 84, via pyproj), so distances and angles are
  true to within 0.1% across the area and the scale bar is exact; north is marked.
* **Boundary and sides**: Natural Earth's international boundary and country areas (:mod:`sim.output.basemap`),
  the countries named on the map. The line is generalised (about a kilometre) and much of it is undelimited,
  so a place's side is the marker's colour from the geography file, not the side of the line it falls on.
* **Segments**: a border segment is a straight line between its two places (the model's graph), numbered
  and coloured by level; the key beside the map gives each number's segment id (as in ``segments.csv``).
  Every level of the ladder has its own colour, lightest to darkest as the weapons get heavier.
* **Layout**: an overview of the main area; a detail panel of its densest part when the segments there are
  too close to read at the overview's scale; an inset for each group of places far from the rest (a road of
  hundreds of kilometres to a distant section would otherwise squash the main area). The groups come from
  the geography (places within :data:`GROUP_KM` of each other), not from fixed coordinates.
* **Labels** are placed so as not to cover each other (:mod:`sim.output.labels`), with leader lines where
  they had to move away from their place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.patheffects as pe  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402
from pyproj import Transformer  # noqa: E402

from sim.core.ladder import LABELS, N_RUNGS, Rung, level_name  # noqa: E402
from sim.input.geography import Geography  # noqa: E402
from sim.output.labels import Label, place_labels
from sim.output.basemap import ATTRIBUTION, Basemap, load_basemap  # noqa: E402
from sim.output.plots import SIDE_COLOURS, save_figure  # noqa: E402

LEVEL_COLOURS = ("#b8b8b8", "#f7d13d", "#f98c0a", "#c73e4c", "#5d126e", "#0c0826")
"""One colour per rung (calm, L0 … L4): grey, then yellow to near-black along matplotlib's "inferno" map, so
the levels differ in lightness as well as hue (and in grey-scale print)."""
LEVEL_WIDTHS = (1.6, 2.2, 2.6, 3.0, 3.4, 3.8)
SIDE_ISO = {"KG": "417", "TJ": "762"}
"""ISO 3166-1 numeric code of each side's country (the basemap's ``iso``)."""
COUNTRY_FILL = {"417": "#f6e8e6", "762": "#e6f1e3"}
OTHER_FILL = "#eeeeee"
GROUP_KM = 60.0
"""Places closer than this (by a chain of places) form one group; a group with border segments away from the
largest one is drawn in an inset."""
DETAIL_KM = 24.0
"""Side of the detail panel's square."""
DETAIL_MIN_SEGMENTS = 10
"""The detail panel is drawn when its square holds at least this many segments."""
MARKERS = {"village": "o", "town": "o", "exclave": "o", "post": "^", "checkpoint": "s", "facility": "D"}


def short_name(name: str) -> str:
    """A place's name for a label: the text before its first parenthesis, without quotes ("Ak-Sai (Kak-Sai)"
    -> "Ak-Sai", "'Dushanbe' post (Isfara detachment)" -> "Dushanbe post")."""
    return name.split(" (")[0].replace("'", "").strip()


def segment_levels(segment_peaks: pd.DataFrame) -> tuple[dict[str, int], dict[str, float]]:
    """Per segment: the highest rung reached in at least half of the runs, and the share of runs in which it
    saw armed fire (L1 or heavier). ``segment_peaks`` has columns ``run``, ``segment``, ``peak_rung``."""
    levels: dict[str, int] = {}
    armed: dict[str, float] = {}
    for seg, peaks in segment_peaks.groupby("segment", sort=False)["peak_rung"]:
        values = np.sort(peaks.to_numpy())[::-1]
        levels[str(seg)] = int(values[(len(values) - 1) // 2])
        armed[str(seg)] = float(np.mean(values >= int(Rung.SMALL_ARMS)))
    return levels, armed


@dataclass(frozen=True)
class Extent:
    """A panel's area in projected km: (x0, x1, y0, y1)."""

    x0: float
    x1: float
    y0: float
    y1: float

    def contains(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (x >= self.x0) & (x <= self.x1) & (y >= self.y0) & (y <= self.y1)

    def padded(self, frac: float, minimum: float) -> "Extent":
        px = max((self.x1 - self.x0) * frac, minimum)
        py = max((self.y1 - self.y0) * frac, minimum)
        return Extent(self.x0 - px, self.x1 + px, self.y0 - py, self.y1 + py)

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@dataclass
class BorderMap:
    """A geography in projected coordinates, with the basemap, and the panels to draw it in."""

    geo: Geography
    basemap: Basemap = field(default_factory=load_basemap)

    @cached_property
    def zone(self) -> int:
        lon = np.mean([p.lon for p in self.geo.spec.places])
        return int((lon + 180) // 6) + 1

    @cached_property
    def transformer(self) -> Transformer:
        return Transformer.from_crs("EPSG:4326", f"EPSG:{32600 + self.zone}", always_xy=True)

    @property
    def crs_name(self) -> str:
        return f"UTM zone {self.zone}N (WGS 84)"

    def project(self, lon: Sequence[float] | np.ndarray, lat: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lon, lat) in degrees to (x, y) in km."""
        x, y = self.transformer.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.asarray(x) / 1000.0, np.asarray(y) / 1000.0

    @cached_property
    def places(self) -> dict[str, tuple[float, float]]:
        spec = self.geo.spec.places
        x, y = self.project([p.lon for p in spec], [p.lat for p in spec])
        return {p.id: (float(a), float(b)) for p, a, b in zip(spec, x, y)}

    @cached_property
    def segments(self) -> list[tuple[int, str, tuple[float, float], tuple[float, float]]]:
        """(number from 1, id, end a, end b) of every border segment, in the geography's order."""
        return [(i + 1, sid, self.places[a], self.places[b])
                for i, (sid, (a, b)) in enumerate(zip(self.geo.segment_ids, self.geo.segment_ends))]

    @cached_property
    def groups(self) -> list[list[str]]:
        """Places joined by chains of places less than :data:`GROUP_KM` apart; the group with the most border
        segments first."""
        ids = list(self.places)
        xy = np.array([self.places[i] for i in ids])
        dist = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
        label = -np.ones(len(ids), dtype=int)
        for start in range(len(ids)):
            if label[start] >= 0:
                continue
            label[start] = start
            stack = [start]
            while stack:
                i = stack.pop()
                for j in np.flatnonzero((dist[i] < GROUP_KM) & (label < 0)):
                    label[j] = start
                    stack.append(j)
        groups = [[ids[i] for i in np.flatnonzero(label == g)] for g in np.unique(label)]
        ends = [set(e) for e in self.geo.segment_ends]
        count = {id(g): sum(bool(e & set(g)) for e in ends) for g in groups}
        return sorted(groups, key=lambda g: (-count[id(g)], -len(g)))

    def extent_of(self, place_ids: Sequence[str], frac: float = 0.06, minimum: float = 2.0) -> Extent:
        xy = np.array([self.places[p] for p in place_ids])
        return Extent(xy[:, 0].min(), xy[:, 0].max(), xy[:, 1].min(), xy[:, 1].max()).padded(frac, minimum)

    @cached_property
    def main(self) -> Extent:
        return self.extent_of(self.groups[0])

    @cached_property
    def insets(self) -> list[tuple[list[str], Extent]]:
        """Far-off groups that hold border segments, each with its extent."""
        ends = [set(e) for e in self.geo.segment_ends]
        return [(g, self.extent_of(g, 0.25, 3.0)) for g in self.groups[1:] if any(e & set(g) for e in ends)]

    @cached_property
    def detail(self) -> Extent | None:
        """The :data:`DETAIL_KM` square of the main area holding the most segment midpoints, if it holds at
        least :data:`DETAIL_MIN_SEGMENTS` and the main area is much larger than it."""
        if max(self.main.width, self.main.height) < 2 * DETAIL_KM:
            return None
        mids = np.array([((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) for _, _, a, b in self.segments])
        inside_main = self.main.contains(mids[:, 0], mids[:, 1])
        mids = mids[inside_main]
        half = DETAIL_KM / 2
        best, best_n = None, 0
        for cx, cy in mids:
            near = (np.abs(mids[:, 0] - cx) <= half) & (np.abs(mids[:, 1] - cy) <= half)
            if near.sum() > best_n:
                best_n, best = int(near.sum()), mids[near].mean(axis=0)
        if best is None or best_n < DETAIL_MIN_SEGMENTS:
            return None
        return Extent(best[0] - half, best[0] + half, best[1] - half, best[1] + half)


# --- drawing ------------------------------------------------------------------------------------------

def _ring_xy(bmap: BorderMap, ring: Sequence[tuple[float, float]]) -> np.ndarray:
    x, y = bmap.project([p[0] for p in ring], [p[1] for p in ring])
    return np.column_stack([x, y])


def draw_basemap(ax: plt.Axes, bmap: BorderMap, extent: Extent, country_labels: bool = True) -> None:
    """Country areas, the international boundary and the countries' names, inside ``extent``."""
    rings = [(c, _ring_xy(bmap, r)) for c in bmap.basemap.countries for r in c.rings]
    # largest first, so that exclaves (drawn as separate polygons) lie on top of the country around them
    rings.sort(key=lambda cr: -abs(_area(cr[1])))
    for country, xy in rings:
        ax.fill(xy[:, 0], xy[:, 1], color=COUNTRY_FILL.get(country.iso, OTHER_FILL), lw=0, zorder=0)
    for boundary in bmap.basemap.boundaries:
        xy = _ring_xy(bmap, boundary.line)
        ax.plot(xy[:, 0], xy[:, 1], color="#5a5a5a", lw=1.3, ls=(0, (6, 2, 1, 2)), zorder=1)
    ax.set_xlim(extent.x0, extent.x1)
    ax.set_ylim(extent.y0, extent.y1)
    ax.set_aspect("equal")
    ax.set_facecolor(OTHER_FILL)
    ax.set_xticks([])
    ax.set_yticks([])
    if country_labels:
        _label_countries(ax, bmap, extent, rings)


def _area(xy: np.ndarray) -> float:
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))


def _label_countries(ax: plt.Axes, bmap: BorderMap, extent: Extent, rings: list) -> None:
    """Each country's name at the point of its area in the panel farthest from places and the boundary."""
    gx, gy = np.meshgrid(np.linspace(extent.x0, extent.x1, 40)[2:-2], np.linspace(extent.y0, extent.y1, 30)[2:-2])
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    obstacles = [np.array(list(bmap.places.values()))]
    obstacles += [_ring_xy(bmap, b.line) for b in bmap.basemap.boundaries]
    obs = np.vstack(obstacles)
    clearance = np.min(np.hypot(grid[:, None, 0] - obs[None, :, 0], grid[:, None, 1] - obs[None, :, 1]), axis=1)
    # where each grid point lies: the smallest ring containing it (an exclave inside its neighbour)
    owner = np.full(len(grid), "", dtype=object)
    for country, xy in sorted(rings, key=lambda cr: abs(_area(cr[1]))):
        inside = MplPath(xy).contains_points(grid) & (owner == "")
        owner[inside] = country.name
    for name in sorted(set(owner) - {""}):
        here = owner == name
        if here.sum() < 6:
            continue
        best = np.flatnonzero(here)[np.argmax(clearance[here])]
        ax.text(grid[best, 0], grid[best, 1], name.upper(), ha="center", va="center", fontsize=10,
                color="#7a7a7a", fontweight="bold", alpha=0.9, zorder=1,
                path_effects=[pe.withStroke(linewidth=3, foreground="white")])


def draw_segments(ax: plt.Axes, bmap: BorderMap, levels: Mapping[str, int], numbers: bool,
                  extent: Extent | None = None, skip: Extent | None = None) -> list:
    """Border segments coloured and widened by level; their numbers (returned as text artists to place)."""
    texts = []
    for number, sid, a, b in bmap.segments:
        rung = int(levels.get(sid, 0))
        ax.plot([a[0], b[0]], [a[1], b[1]], color=LEVEL_COLOURS[rung], lw=LEVEL_WIDTHS[rung],
                solid_capstyle="round", zorder=3,
                path_effects=[pe.Stroke(linewidth=LEVEL_WIDTHS[rung] + 1.4, foreground="#3a3a3a"), pe.Normal()])
        mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
        if not numbers or (extent and not extent.contains(np.array(mx), np.array(my))):
            continue
        if skip is not None and skip.contains(np.array(mx), np.array(my)):
            continue
        text = ax.text(mx, my, str(number), fontsize=6.5, zorder=6, color="black",
                       bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="#3a3a3a", lw=0.5, alpha=0.95))
        texts.append(Label(text, (mx, my), (-1.0, 2.0, 6.0, 12.0, 20.0, 32.0)))
    return texts


def draw_roads(ax: plt.Axes, bmap: BorderMap, group: set[str]) -> None:
    """Roads between places of one group (a road to a far-off group would cross the whole panel)."""
    for a, b, data in bmap.geo.graph.edges(data=True):
        if data["kind"] == "road" and a in group and b in group:
            (xa, ya), (xb, yb) = bmap.places[a], bmap.places[b]
            ax.plot([xa, xb], [ya, yb], color="#a0a0a0", lw=0.8, zorder=2)


def draw_places(ax: plt.Axes, bmap: BorderMap, extent: Extent, labelled: Sequence[str],
                sizes: Mapping[str, float] | None = None) -> list:
    """Place markers by kind, coloured by side and sized by population (or by ``sizes``); labels for the
    places in ``labelled`` (returned as text artists to place)."""
    texts = []
    for place in bmap.geo.spec.places:
        x, y = bmap.places[place.id]
        if not extent.contains(np.array(x), np.array(y)):
            continue
        populated = place.kind in ("village", "town", "exclave")
        size = (sizes or {}).get(place.id, 10 + 30 * np.sqrt(place.population / 10000) if populated else 16)
        ax.scatter([x], [y], s=size, marker=MARKERS[place.kind], color=SIDE_COLOURS[place.side],
                   edgecolor="white", lw=0.6, zorder=4)
        if place.id in labelled:
            big = place.kind == "town" or place.population >= 20000
            text = ax.text(x, y, short_name(place.name), fontsize=8 if big else 6.5, zorder=5,
                           fontweight="bold" if big else "normal", style="italic" if not populated else "normal",
                           path_effects=[pe.withStroke(linewidth=2.2, foreground="white")])
            texts.append((-place.population - (1e9 if big else 0), Label(text, (x, y))))
    return [label for _, label in sorted(texts, key=lambda pl: pl[0])]


def label_obstacles(bmap: BorderMap) -> tuple[np.ndarray, np.ndarray]:
    """Points labels should not cover: the places' markers, and points along every segment and road."""
    markers = np.array(list(bmap.places.values()))
    ends = [(a, b) for _, _, a, b in bmap.segments]
    ends += [(bmap.places[a], bmap.places[b]) for a, b, d in bmap.geo.graph.edges(data=True) if d["kind"] == "road"]
    t = np.linspace(0.0, 1.0, 9)[1:-1, None]
    lines = np.vstack([np.array(a) + t * (np.array(b) - np.array(a)) for a, b in ends])
    return markers, lines


def scale_bar(ax: plt.Axes, extent: Extent) -> None:
    """A scale bar of a round length near a fifth of the panel's width, in its lower left."""
    target = extent.width / 5
    length = min((0.5, 1, 2, 5, 10, 20, 25, 50, 100), key=lambda n: abs(np.log(n / target)))
    x0 = extent.x0 + extent.width * 0.04
    y0 = extent.y0 + extent.height * 0.05
    h = extent.height * 0.012
    for i in range(2):
        ax.add_patch(plt.Rectangle((x0 + i * length / 2, y0), length / 2, h, fc="black" if i == 0 else "white",
                                   ec="black", lw=0.6, zorder=7))
    style = dict(fontsize=7, ha="center", va="bottom", zorder=7, path_effects=[pe.withStroke(linewidth=2, foreground="white")])
    for value, x in ((0, x0), (length / 2, x0 + length / 2), (length, x0 + length)):
        ax.text(x, y0 + 1.6 * h, f"{value:g}", **style)
    ax.text(x0 + length + extent.width * 0.01, y0, "km", fontsize=7, va="bottom", zorder=7)


def north_arrow(ax: plt.Axes, bmap: BorderMap, extent: Extent) -> None:
    """An arrow to true north (grid north of the UTM zone differs from it by about a degree here)."""
    cx, cy = extent.x1 - extent.width * 0.04, extent.y1 - extent.height * 0.16
    lon, lat = bmap.transformer.transform(cx * 1000, cy * 1000, direction="INVERSE")
    x1, y1 = bmap.project([lon], [lat + 0.01])
    dx, dy = float(x1[0]) - cx, float(y1[0]) - cy
    norm = np.hypot(dx, dy)
    length = extent.height * 0.09
    ax.annotate("N", xy=(cx + dx / norm * length, cy + dy / norm * length), xytext=(cx, cy), ha="center",
                va="top", fontsize=8, fontweight="bold", zorder=7,
                arrowprops=dict(arrowstyle="-|>", color="black", lw=1.2))


def draw_panel(ax: plt.Axes, bmap: BorderMap, extent: Extent, levels: Mapping[str, int], group: set[str],
               labelled: Sequence[str], numbers: bool = True, skip_numbers: Extent | None = None,
               sizes: Mapping[str, float] | None = None, country_labels: bool = True) -> None:
    """One map panel: basemap, roads of ``group``, segments, places, labels, scale bar and north arrow."""
    draw_basemap(ax, bmap, extent, country_labels)
    draw_roads(ax, bmap, group)
    labels = draw_segments(ax, bmap, levels, numbers, extent, skip_numbers)
    labels += draw_places(ax, bmap, extent, labelled, sizes)
    scale_bar(ax, extent)
    north_arrow(ax, bmap, extent)
    markers, lines = label_obstacles(bmap)
    place_labels(ax, labels, np.vstack([markers, _furniture(extent)]), lines)


def _furniture(extent: Extent) -> np.ndarray:
    """Points over the scale bar (lower left) and the north arrow (upper right), for labels to keep off."""
    gx, gy = np.meshgrid(np.linspace(0, 1, 8), np.linspace(0, 1, 4))
    corners = [((0.03, 0.03), (0.30, 0.10)), ((0.90, 0.72), (0.99, 0.88))]
    pts = [np.column_stack([extent.x0 + (a[0] + gx.ravel() * (b[0] - a[0])) * extent.width,
                            extent.y0 + (a[1] + gy.ravel() * (b[1] - a[1])) * extent.height]) for a, b in corners]
    return np.vstack(pts)


def overview_labels(bmap: BorderMap, detail: Extent | None) -> list[str]:
    """Places named on the overview: towns, exclaves and villages of 10,000 or more; inside the detail panel's
    square only towns and exclaves."""
    names = []
    for place in bmap.geo.spec.places:
        x, y = bmap.places[place.id]
        major = place.kind in ("town", "exclave")
        in_detail = detail is not None and bool(detail.contains(np.array(x), np.array(y)))
        if major or (place.population >= 10000 and not in_detail):
            names.append(place.id)
    return names


def level_legend(ax: plt.Axes, title: str = "segment level") -> None:
    handles = [plt.Line2D([], [], color=LEVEL_COLOURS[r], lw=LEVEL_WIDTHS[r] + 1,
                          path_effects=[pe.Stroke(linewidth=LEVEL_WIDTHS[r] + 2.4, foreground="#3a3a3a"), pe.Normal()],
                          label=LABELS[Rung(r)]) for r in range(N_RUNGS)]
    handles += [plt.Line2D([], [], color="#5a5a5a", lw=1.3, ls=(0, (6, 2, 1, 2)), label="international boundary"),
                plt.Line2D([], [], color="#a0a0a0", lw=0.8, label="road")]
    handles += [plt.Line2D([], [], ls="", marker="o", color=SIDE_COLOURS[s], label=f"{s} village / town")
                for s in SIDE_COLOURS]
    handles += [plt.Line2D([], [], ls="", marker=m, color="#6a6a6a", label=k)
                for k, m in (("post", "^"), ("checkpoint", "s"), ("facility", "D"))]
    ax.legend(handles=handles, loc="upper left", fontsize=7, title=title, title_fontsize=8, frameon=False)


def plot_map(geo: Geography, segment_peaks: pd.DataFrame, title: str, out: Path) -> Path:
    """``map.png``: every border segment coloured by the highest level it reached in at least half of the runs,
    on the international boundary, with a numbered key of segment ids (see the module docstring)."""
    bmap = BorderMap(geo)
    levels, armed = segment_levels(segment_peaks)
    runs = int(segment_peaks["run"].nunique()) if len(segment_peaks) else 0
    detail, insets = bmap.detail, bmap.insets
    main_group = set(bmap.groups[0])

    fig = plt.figure(figsize=(16, 12.5))
    ratio = bmap.main.height / bmap.main.width
    top_h = min(0.5, 0.78 * ratio * 16 / 12.5)
    ax_main = fig.add_axes((0.02, 0.93 - top_h, 0.78, top_h))
    draw_panel(ax_main, bmap, bmap.main, levels, main_group, overview_labels(bmap, detail), skip_numbers=detail)
    ax_main.set_title("Overview", fontsize=10, loc="left")
    low_top = 0.93 - top_h - 0.035
    if detail is not None:
        size = min(low_top - 0.04, 0.5 * 16 / 12.5)
        ax_detail = fig.add_axes((0.02, low_top - size, size * 12.5 / 16, size))
        inside = [p for p in main_group if detail.contains(np.array(bmap.places[p][0]), np.array(bmap.places[p][1]))]
        draw_panel(ax_detail, bmap, detail, levels, main_group, inside, country_labels=True)
        ax_detail.set_title("Detail (grey frame on the overview)", fontsize=10, loc="left")
        ax_main.add_patch(plt.Rectangle((detail.x0, detail.y0), detail.width, detail.height, fill=False,
                                        ec="#4a4a4a", lw=1.0, ls="--", zorder=8))
        right_x = 0.02 + size * 12.5 / 16 + 0.02
    else:
        right_x = 0.02
    centre = np.array([(bmap.main.x0 + bmap.main.x1) / 2, (bmap.main.y0 + bmap.main.y1) / 2])
    for k, (group, extent) in enumerate(insets[:2]):
        ax_in = fig.add_axes((right_x, low_top - 0.24 - k * 0.27, 0.22, 0.22))
        draw_panel(ax_in, bmap, extent, levels, set(group), group, country_labels=False)
        gx, gy = (extent.x0 + extent.x1) / 2, (extent.y0 + extent.y1) / 2
        km = float(np.hypot(gx - centre[0], gy - centre[1]))
        bearing = (np.degrees(np.arctan2(gx - centre[0], gy - centre[1])) + 360) % 360
        ax_in.set_title(f"Far-off section: {km:.0f} km at bearing {bearing:.0f}°\nfrom the overview's centre",
                        fontsize=8, loc="left")
    ax_legend = fig.add_axes((right_x + 0.235, low_top - 0.30, 0.16, 0.30))
    ax_legend.axis("off")
    level_legend(ax_legend, "highest level in ≥ half the runs" if runs > 1 else "highest level reached")
    _segment_key(fig, bmap, levels, armed, runs, (0.81, 0.93))
    band = f"{runs} runs" if runs != 1 else "one run"
    fig.suptitle(f"{title}: highest level reached on each border segment ({band})", x=0.02, y=0.975,
                 ha="left", fontsize=13)
    fig.text(0.02, 0.008, f"Projection: {bmap.crs_name}. {ATTRIBUTION}; a place's side is the marker colour "
             "(geography file), not where the generalised line puts it. Segments are drawn as straight lines "
             "between the places that face each other.", fontsize=7, color="#4a4a4a")
    return save_figure(fig, out)


def _segment_key(fig: plt.Figure, bmap: BorderMap, levels: Mapping[str, int], armed: Mapping[str, float],
                 runs: int, at: tuple[float, float]) -> None:
    """The key from segment numbers to ids, with each segment's level (and share of runs with armed fire)."""
    x, y = at
    fig.text(x, y + 0.01, "Segments (id as in segments.csv)", fontsize=8.5, fontweight="bold", va="bottom")
    step = min(0.0185, 0.9 / max(len(bmap.segments), 1))
    for i, (number, sid, _, _) in enumerate(bmap.segments):
        rung = int(levels.get(sid, 0))
        share = f"  {armed.get(sid, 0):.0%} armed" if runs > 1 else ""
        yy = y - (i + 1) * step
        fig.patches.append(plt.Rectangle((x, yy - 0.004), 0.008, 0.009, transform=fig.transFigure,
                                         fc=LEVEL_COLOURS[rung], ec="#3a3a3a", lw=0.4, figure=fig))
        fig.text(x + 0.011, yy, f"{number:>2}  {sid}  {level_name(rung)}{share}", fontsize=6.5, va="center",
                 family="monospace")
