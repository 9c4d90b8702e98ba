"""Evacuation when violence is near, return when it is calm.

A village's *threat* is the violence on every segment weighted by rung and by distance,
``exp(-d / reach)``, where ``reach`` is ``threat_reach_km`` or the weapon's own reach if that is longer
(rockets, drones and aircraft frighten towns far behind the line: in 2022 Isfana, Sulukta and Batken town
were evacuated too, facts E13). Above ``evacuation_threshold`` a share of the people present leaves each
hour; once the ceasefire holds and the threat has fallen below half the threshold, a share of the
displaced comes back each hour. Flows are expected values rounded to whole people: evacuation is organised
by the authorities (facts §2: the KG Emergencies Ministry's district counts), not a coin flip per family.
"""

from __future__ import annotations

import numpy as np

from sim.state import BorderState, hazard_to_prob


def threat_kernels(params: dict, segment_village_km: np.ndarray) -> np.ndarray:
    """``exp(-d / reach)`` per rung, segment and village (float[6, S, V]), computed once per model."""
    reach = np.maximum(params["threat_reach_km"], np.asarray(params["weapon_reach_km"]))
    return np.exp(-segment_village_km[None, :, :] / reach[:, None, None])


def threat(state: BorderState, kernels: np.ndarray) -> np.ndarray:
    active = np.flatnonzero(state.rung)
    rung = state.rung[active]
    return (rung / 5.0) @ kernels[rung, active]


def move_people(state: BorderState, params: dict, dt: float, kernels: np.ndarray,
                returns_allowed: bool) -> None:
    if not state.rung.any() and not (returns_allowed and state.displaced.any()):
        return
    level = threat(state, kernels)
    leaving = level > params["evacuation_threshold"]
    out = np.where(leaving, np.floor(state.present * hazard_to_prob(params["evacuation_rate"], dt)), 0)
    out = out.astype(np.int64)
    state.present -= out
    state.displaced += out
    if returns_allowed:
        calm = level < 0.5 * params["evacuation_threshold"]
        back = np.where(calm, np.ceil(state.displaced * hazard_to_prob(params["return_rate"], dt)), 0)
        back = np.minimum(back.astype(np.int64), state.displaced)
        state.displaced -= back
        state.present += back
