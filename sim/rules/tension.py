"""Tension on each segment: a structural level set by dispute and resources, pushed up by violence.

Tension (0–1) is the memory of the border: it relaxes toward a structural level (higher where the line is
disputed, and where water is at stake higher in the irrigation season), rises while a segment or its
neighbours are violent, and relaxes faster under a withdrawal protocol or a joint commission. It drives
background incidents, escalation and ceasefire violations.
"""

from __future__ import annotations

import numpy as np

from sim.core.state import BatchState
from sim.core.world import ParamBatch, World


def structural_tension(state: BatchState, p: ParamBatch, day_of_year: float, world: World) -> np.ndarray:
    """float[R, S]: the level tension relaxes toward."""
    season = 1.0 + p.col("season_amplitude") * np.cos(2 * np.pi * (day_of_year - 196) / 365.0)
    return np.clip(p.col("tension_structural") * state.dispute * np.where(world.water, season, 1.0), 0.0, 1.0)


def update_tension(state: BatchState, p: ParamBatch, world: World, day_of_year: float,
                   relax_boost: np.ndarray) -> None:
    """Relax toward the structural level; violence here and next door pushes tension toward 1.

    ``relax_boost`` (float[R]) is the extra relaxation of a joint commission or a withdrawal."""
    target = structural_tension(state, p, day_of_year, world)
    relax = p.col("tension_relax_rate") * (1.0 + relax_boost[:, None])
    violence = state.rung / 5.0
    # the neighbours' rungs summed as integers: exact, so a run's tension never depends on its batch
    nearby = np.minimum(1.0, (state.rung @ world.neighbour_counts.T) / 5.0)
    push = p.col("tension_from_violence") * (violence + 0.5 * nearby)
    t = state.tension
    state.tension = np.clip(t + world.dt * (relax * (target - t) + push * (1.0 - t)), 0.0, 1.0)
