"""Evacuation when violence is near, return when it is calm.

A village's *threat* is the violence on each segment weighted by rung and by distance,
``exp(-d / reach)``, where ``reach`` is ``threat_reach_km`` or the weapon's own reach if that is longer
(rockets, drones and aircraft frighten towns far behind the line: in 2022 Isfana, Sulukta and Batken town
were evacuated too, facts E13). How the segments combine is ``threat_pooling``: 1 adds them up, 0 takes the
strongest alone, and values between add that share of the rest to the strongest. A sum grows with how finely
the border is cut into segments: armour on April 2021's 13 segments, 27-31 km from Batken town, adds up to
three times the threshold there and empties a town no source has evacuated that April; the strongest alone
does not. Above ``evacuation_threshold`` a share of the people present leaves each hour, until
``evacuating_share`` of its living residents are gone (evacuations take mainly women and children, RFE/RL on
29-30 Apr 2021: the rest stay, and can be hit); once the ceasefire holds and the threat has fallen below
half the threshold, a share of the displaced comes back each hour. Flows are expected
values rounded to whole people: evacuation is organised by the authorities (facts §2: the KG Emergencies
Ministry's district counts), not a coin flip per family.
"""

from __future__ import annotations

import numpy as np

from sim.state import BorderState, hazard_to_prob, pooled


def threat_kernels(params: dict, segment_village_km: np.ndarray) -> np.ndarray:
    """``exp(-d / reach)`` per rung, segment and village (float[6, S, V]), computed once per model."""
    reach = np.maximum(params["threat_reach_km"], np.asarray(params["weapon_reach_km"]))
    return np.exp(-segment_village_km[None, :, :] / reach[:, None, None])


def threat(state: BorderState, kernels: np.ndarray, pooling: float) -> np.ndarray:
    """float[V]: the strongest segment's threat plus ``pooling`` times the sum of the others'."""
    active = np.flatnonzero(state.rung)
    if active.size == 0:
        return np.zeros(kernels.shape[2])
    rung = state.rung[active]
    weight = rung / 5.0
    exposure = kernels[rung, active]
    total = weight @ exposure
    if pooling >= 1.0:
        return total
    strongest = (weight[:, None] * exposure).max(axis=0)
    return pooled(strongest, total, pooling)


def move_people(state: BorderState, params: dict, dt: float, kernels: np.ndarray,
                returns_allowed: bool) -> None:
    if not state.rung.any() and not (returns_allowed and state.displaced.any()):
        return
    level = threat(state, kernels, params["threat_pooling"])
    leaving = level > params["evacuation_threshold"]
    out = np.where(leaving, np.floor(state.present * hazard_to_prob(params["evacuation_rate"], dt)), 0)
    out = np.minimum(out.astype(np.int64), _still_leaving(state, params["evacuating_share"]))
    state.present -= out
    state.displaced += out
    if returns_allowed:
        calm = level < 0.5 * params["evacuation_threshold"]
        back = np.where(calm, np.ceil(state.displaced * hazard_to_prob(params["return_rate"], dt)), 0)
        back = np.minimum(back.astype(np.int64), state.displaced)
        state.displaced -= back
        state.present += back


def _still_leaving(state: BorderState, share: float) -> np.ndarray:
    """int[V]: how many more may leave each village before ``share`` of its living residents are displaced."""
    if share >= 1.0:
        return state.present
    living = state.present + state.displaced
    return np.clip(np.floor(share * living).astype(np.int64) - state.displaced, 0, state.present)
