"""Map labels that do not cover each other: a greedy placement over candidate positions.

Each label, in the order given (most important first), tries positions on rings around its anchor and takes
the cheapest: overlapping a label already placed costs most, covering a place's marker less, covering a line
little, and distance from the anchor a little more the farther it goes. A label that ends up away from its
anchor gets a thin leader line. Deterministic, and fast enough to run for every frame of the browser app.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

DIRECTIONS = np.array([(np.cos(a), np.sin(a)) for a in np.radians(np.arange(0, 360, 22.5))])
OVERLAP_COST = 1000.0
MARKER_COST = 60.0
LINE_COST = 6.0
DISTANCE_COST = 0.4
LEADER_PX = 9.0
"""A label whose nearest edge is farther than this from its anchor (in pixels) gets a leader line."""


@dataclass
class Label:
    """A text artist to place and the point (data coordinates) it names."""

    text: plt.Text
    anchor: tuple[float, float]
    radii: tuple[float, ...] = (3.0, 8.0, 15.0, 25.0, 38.0, 55.0)
    """Distances (pixels) from the anchor to the label's nearest edge that are tried, nearest first; a negative
    one puts the label's centre on the anchor (a number on its line)."""


def _covered(box: np.ndarray, points: np.ndarray) -> int:
    if not len(points):
        return 0
    x0, y0, x1, y1 = box
    return int(np.count_nonzero((points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0)
                                & (points[:, 1] <= y1)))


def _overlap(box: np.ndarray, boxes: np.ndarray) -> float:
    """Area of ``box`` covered by ``boxes`` (pixels squared)."""
    if not len(boxes):
        return 0.0
    w = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    h = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    return float((w * h).sum())


def place_labels(ax: plt.Axes, labels: list[Label], markers: np.ndarray, lines: np.ndarray) -> None:
    """Move each label to its cheapest free position (see the module docstring). ``markers`` and ``lines`` are
    points (data coordinates, shape [n, 2]) that labels should not cover: place markers, and points sampled
    along the drawn lines."""
    if not labels:
        return
    ax.apply_aspect()  # the axes' final box (an equal-aspect map shrinks it at draw time)
    renderer = ax.figure.canvas.get_renderer()
    to_px = ax.transData.transform
    frame = ax.get_window_extent(renderer)
    marker_px = to_px(markers) if len(markers) else np.zeros((0, 2))
    line_px = to_px(lines) if len(lines) else np.zeros((0, 2))
    placed: list[np.ndarray] = []
    for label in labels:
        label.text.set_ha("center")
        label.text.set_va("center")
        ext = label.text.get_window_extent(renderer)
        w, h = ext.width + 2, ext.height + 2
        ax_px = to_px(np.array([label.anchor]))[0]
        best, best_cost, best_r = ax_px, np.inf, 0.0
        for r in label.radii:
            for dx, dy in DIRECTIONS[:1] if r < 0 else DIRECTIONS:
                # the centre of a w x h box whose nearest edge lies r pixels from the anchor along (dx, dy)
                scale = min(w / 2 / abs(dx) if dx else np.inf, h / 2 / abs(dy) if dy else np.inf)
                centre = ax_px if r < 0 else ax_px + np.array([dx, dy]) * (scale + r)
                box = np.array([centre[0] - w / 2, centre[1] - h / 2, centre[0] + w / 2, centre[1] + h / 2])
                if box[0] < frame.x0 or box[2] > frame.x1 or box[1] < frame.y0 or box[3] > frame.y1:
                    continue
                cost = (OVERLAP_COST * _overlap(box, np.array(placed)) / (w * h)
                        + MARKER_COST * _covered(box, marker_px) + LINE_COST * _covered(box, line_px)
                        + DISTANCE_COST * max(r, 0.0))
                if cost < best_cost:
                    best, best_cost, best_r = centre, cost, r
            if best_cost < DISTANCE_COST * max(r, 0.0) + 1e-9:
                break  # nothing is covered here, and farther rings can only cost more
        box = np.array([best[0] - w / 2, best[1] - h / 2, best[0] + w / 2, best[1] + h / 2])
        placed.append(box)
        to_data = ax.transData.inverted().transform
        label.text.set_position(tuple(to_data(best)))
        if best_r > LEADER_PX:
            edge = to_data(np.clip(ax_px, box[:2], box[2:]))  # the label's edge nearest to its anchor
            ax.annotate("", xy=label.anchor, xytext=tuple(edge), zorder=label.text.get_zorder() - 0.5,
                        arrowprops=dict(arrowstyle="-", color="#5a5a5a", lw=0.5, shrinkA=0, shrinkB=1.5))
