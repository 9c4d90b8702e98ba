"""Tension on each segment: a structural level set by dispute and resources, pushed up by violence.

Tension (0–1) is the memory of the border: it relaxes toward a structural level (higher where the line is
disputed, and where water is at stake higher in the irrigation season; the resource at stake also
multiplies the incident hazard, in ``escalation.ignite``), rises
while a segment or its neighbours are violent, and relaxes faster under a withdrawal protocol or a joint
commission. It drives background incidents, escalation and ceasefire violations.
"""

from __future__ import annotations

import math

import numpy as np

from sim.state import BorderState


def structural_tension(state: BorderState, params: dict, day_of_year: float, water: np.ndarray) -> np.ndarray:
    season = 1.0 + params["season_amplitude"] * math.cos(2 * math.pi * (day_of_year - 196) / 365.0)
    return np.clip(params["tension_structural"] * state.dispute * np.where(water, season, 1.0), 0.0, 1.0)


def update_tension(state: BorderState, params: dict, dt: float, day_of_year: float, water: np.ndarray,
                   neighbours: np.ndarray, relax_boost: float) -> None:
    """Relax toward the structural level; violence here and next door pushes tension toward 1."""
    target = structural_tension(state, params, day_of_year, water)
    relax = params["tension_relax_rate"] * (1.0 + relax_boost)
    violence = state.rung / 5.0
    nearby = np.minimum(1.0, neighbours @ violence)
    push = params["tension_from_violence"] * (violence + 0.5 * nearby)
    t = state.tension
    t += dt * (relax * (target - t) + push * (1.0 - t))
    np.clip(t, 0.0, 1.0, out=t)
