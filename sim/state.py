"""The model's mutable state as numpy arrays, indexed by side (0 = KG, 1 = TJ), segment and village.

Rules read and write these arrays in whole-array operations; the Mesa agents are views onto rows of
them (see ``agents.py``). Keeping the hot state here is what makes a 12-day hourly run take
milliseconds (``benchmarks/README.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.geography import Geography

RESOURCE_FACTOR_PARAM = {
    "water": "resource_water_factor",
    "road": "resource_road_factor",
    "pasture": "resource_pasture_factor",
}


@dataclass
class BorderState:
    tension: np.ndarray  # float[S], 0..1
    posture: np.ndarray  # int[2, S]: rung each side fires at on each segment
    rung: np.ndarray  # int[S]: the heavier of the two sides' fire; kept in step by refresh_rung()
    peak_rung: np.ndarray  # int[S]
    dispute: np.ndarray  # float[S]: 1 = disputed, agreed_incident_factor = described; lowered by delimitation
    resource_factor: np.ndarray  # float[S]
    recent_deaths: np.ndarray  # float[2, S]: own deaths near each segment, decaying with a 24 h time scale
    episode_deaths: np.ndarray  # int[S]: deaths since the segment last went from calm to violent
    present: np.ndarray  # int[V]: people in the village
    displaced: np.ndarray  # int[V]
    civilian_dead: np.ndarray  # int[V]
    civilian_injured: np.ndarray  # int[V]
    military_dead: np.ndarray  # int[2]
    military_injured: np.ndarray  # int[2]
    crowd: np.ndarray  # int[2, S]: each side's residents standing at the line (sim/crowds.py)
    unarmed_since_calm: np.ndarray  # bool[S]: no armed fire since the segment was last calm (crowds may gather)
    incidents: int = 0
    lethal_incidents: int = 0

    @classmethod
    def initial(cls, geo: Geography, params: dict, tension_default: float,
                tension_by_segment: dict[str, float]) -> "BorderState":
        n_seg = geo.n_segments
        tension = np.full(n_seg, tension_default)
        for seg, value in tension_by_segment.items():
            tension[geo.segment_index(seg)] = value
        dispute = np.where(geo.segment_disputed, 1.0, params["agreed_incident_factor"])
        resource = np.array([params[RESOURCE_FACTOR_PARAM[r]] if r in RESOURCE_FACTOR_PARAM else 1.0
                             for r in geo.segment_resource])
        n_vil = len(geo.village_ids)
        return cls(
            tension=tension,
            posture=np.zeros((2, n_seg), dtype=np.int64),
            rung=np.zeros(n_seg, dtype=np.int64),
            peak_rung=np.zeros(n_seg, dtype=np.int64),
            dispute=dispute,
            resource_factor=resource,
            recent_deaths=np.zeros((2, n_seg)),
            episode_deaths=np.zeros(n_seg, dtype=np.int64),
            present=geo.village_population.copy(),
            displaced=np.zeros(n_vil, dtype=np.int64),
            civilian_dead=np.zeros(n_vil, dtype=np.int64),
            civilian_injured=np.zeros(n_vil, dtype=np.int64),
            military_dead=np.zeros(2, dtype=np.int64),
            military_injured=np.zeros(2, dtype=np.int64),
            crowd=np.zeros((2, n_seg), dtype=np.int64),
            unarmed_since_calm=np.ones(n_seg, dtype=bool),
        )

    def refresh_rung(self) -> None:
        """Recompute each segment's rung after postures changed (rules call it, readers don't)."""
        np.maximum(self.posture[0], self.posture[1], out=self.rung)


def pooled(strongest: np.ndarray | float, total: np.ndarray | float, pooling: float) -> np.ndarray | float:
    """The strongest contribution plus ``pooling`` times the rest of ``total``: 0 keeps the strongest alone, 1
    the sum. How several segments combine, for a village's threat (``threat_pooling``) and for a side's force
    (``force_pooling``)."""
    return strongest + pooling * (total - strongest)


def hazard_to_prob(rate: np.ndarray | float, dt: float) -> np.ndarray | float:
    """Probability that an event with hazard ``rate`` per hour happens within ``dt`` hours."""
    return -np.expm1(-np.asarray(rate) * dt)
