"""The escalation ladder on each segment: incidents start, sides escalate, retaliate, de-escalate, spread.

Each side has a *posture* on each segment: the rung it fires at. The rules, each in one function:

* :func:`ignite` — a calm segment sees a civil incident (L0) at a hazard set by dispute, resource and
  tension;
* :func:`move_postures` — an out-gunned side matches its opponent's rung (retaliation); a side not
  out-gunned climbs one rung at a hazard raised by tension (``exp(tension_gain * (T - 0.5))``, the same
  factor as for incidents) and by its own recent losses; the first armed shot (L0 -> L1) also needs tension
  above ``arms_tension`` (most incidents stay stones and blockades), and above it a civil confrontation
  disperses more slowly (the same gate); both are capped by
  what its government authorises (orders) and suppressed by a ceasefire and by monitors; a side's first use
  of a weapon that needs orders (mortars or heavier) is pooled across its front (:func:`first_use_divisor`);
  at parity a side
  steps down at ``deescalate_rate``, facing a lower opponent it reciprocates at ``reciprocate_rate`` (both
  slowed by its recent losses), and it drops to what is authorised when orders come;
* :func:`spread` — armed fire ignites neighbouring segments along the graph;
* :func:`open_front` — a government at war (mortars or heavier authorised, armed fire somewhere) has its
  forces open fire along the disputed line: anywhere if it came into the episode deployed for war, fading
  with distance from the fire if its war grew out of a local incident (:func:`front_reach`);
* :func:`advance_on_roads` — a side on the offensive whose government authorises armour sends it along the
  roads anywhere on the line, however far from the fire;
* :func:`break_ceasefire` — while a ceasefire is in force, a side on a tense segment opens fire anyway.

Every function draws a fixed number of random numbers per call, whatever the state, so two runs with the
same seed stay aligned even when a strategy changes what happens (common random numbers).
"""

from __future__ import annotations

import numpy as np

from sim.ladder import ARMED, ARMOUR, CALM, CIVIL
from sim.state import BorderState, hazard_to_prob


def ignite(state: BorderState, params: dict, dt: float, rng: np.random.Generator,
           suppress: np.ndarray) -> np.ndarray:
    """Background incidents on calm segments; returns a bool mask of the segments that ignited."""
    u = rng.random(state.tension.size)
    who = rng.random(state.tension.size) < 0.5
    calm = state.rung == CALM
    rate = (params["incident_rate"] * state.dispute * state.resource_factor
            * np.exp(params["tension_gain"] * (state.tension - 0.5)) * (1.0 - suppress))
    started = calm & (u < hazard_to_prob(rate, dt))
    if started.any():
        state.posture[0, started & ~who] = CIVIL
        state.posture[1, started & who] = CIVIL
        state.refresh_rung()
    return started


def move_postures(state: BorderState, params: dict, dt: float, rng: np.random.Generator,
                  ceiling: np.ndarray, arsenal: np.ndarray, suppress: np.ndarray,
                  comply_rate: float) -> None:
    """One hour of each side's decisions on each active segment.

    ``ceiling`` and ``arsenal`` are int[2] (per side); ``suppress`` is float[S], the share of the
    escalation hazard removed by a ceasefire or monitors; ``comply_rate`` is the hazard that forces above
    their authorised rung drop to it (orders to cease fire).
    """
    u = rng.random(state.posture.shape)
    v = rng.random(state.posture.shape)
    if not state.rung.any():
        return
    own = state.posture
    opp = own[::-1]
    active = state.rung >= CIVIL
    cap = ceiling[:, None]
    answer_cap = np.maximum(cap, np.minimum(opp, arsenal[:, None]))  # fire may always be answered in kind
    outgunned = opp > own
    profile = np.asarray(params["escalate_profile"])[own]
    loss = 1.0 + params["loss_escalation_gain"] * state.recent_deaths
    climb = params["escalate_rate"] * profile * loss * np.exp(params["tension_gain"] * (state.tension - 0.5))
    gate = arms_gate(state.tension, params["arms_tension"])
    climb = np.where(own == CIVIL, climb * gate, climb)
    if params["first_use_pooling"] > 0.0:
        climb = climb / first_use_divisor(own, outgunned, active & (own < cap), params["first_use_pooling"])
    up_rate = np.where(outgunned, params["retaliate_rate"], climb) * (1.0 - suppress) * active
    up = (u < hazard_to_prob(up_rate, dt)) & np.where(outgunned, own < answer_cap, own < cap)
    target_up = np.where(outgunned, np.minimum(opp, answer_cap), own + 1)

    over_orders = own > cap
    if over_orders.any():
        down_rate = np.where(over_orders, comply_rate, 0.0)
    else:
        down_rate = np.zeros(own.shape)
    # tit-for-tat downwards: facing a lower opponent, a side reciprocates its step down; at parity
    # either side may step down first; losses slow both
    down_armed = np.where(opp < own, params["reciprocate_rate"], params["deescalate_rate"]) * (opp <= own)
    # the tension that lets stones turn into shots also keeps the crowd from dispersing
    step_down = np.where(own == CIVIL, params["calm_rate"] * (1.0 - gate) * (opp <= CIVIL), down_armed / loss)
    down_rate = down_rate + step_down * (own > CALM)
    down = ~up & (v < hazard_to_prob(down_rate, dt))
    target_down = np.where(over_orders, np.maximum(cap, 0), own - 1)
    state.posture[...] = np.where(up, target_up, np.where(down, np.maximum(target_down, 0), own))
    state.refresh_rung()


def first_use_divisor(own: np.ndarray, outgunned: np.ndarray, may_climb: np.ndarray, pooling: float
                      ) -> np.ndarray:
    """By how much each side's climb on each segment is divided (float[2, S], >= 1): ``n ** pooling`` on the
    ``n`` segments where a side stands at the heaviest rung it fires anywhere and would climb into a weapon
    that needs orders (mortars or heavier) that it has not yet used in the fight; 1 elsewhere.

    Why: mortars, armour, rockets and drones are brought into a fight by a command, not by each border post
    on its own; with one independent climb per segment, a war on thirty segments brings the next weapon
    thirty times as fast as a clash on one. At the shipped parameters that sent a third of April 2021 runs
    to L4 (drones, MLRS), which April never saw (facts E07: "no confirmed MLRS, drones or aircraft"), and
    most September 2022 runs to L4 before the first ceasefire, when the record has it after the ceasefire
    of 14 Sep collapsed (calibration/README.md). ``pooling`` 0 keeps every segment's decision its own; 1
    makes a new weapon's first use one decision per side however wide the front. Once a side fires a
    weapon somewhere, further segments climb to it at the full rate, and an out-gunned side answers in
    kind at ``retaliate_rate`` regardless."""
    side_top = own.max(axis=1, keepdims=True)
    first_use = (own == side_top) & (own >= ARMED) & ~outgunned & may_climb
    n = first_use.sum(axis=1, keepdims=True)
    return np.where(first_use, np.maximum(n, 1) ** pooling, 1.0)


def arms_gate(tension: np.ndarray, threshold: float) -> np.ndarray:
    """How readily stones turn into shots at each tension: 0 up to ``threshold``, rising linearly to 1 at 1.

    Why a threshold: the same escalation hazard has to carry a war's first day and leave ~30 routine incidents
    a year mostly bloodless (facts §1.3), and it is tension (a contested position, a camera on the canal) that
    separates the two."""
    return np.clip((tension - threshold) / max(1.0 - threshold, 1e-9), 0.0, 1.0)


def spread(state: BorderState, params: dict, dt: float, rng: np.random.Generator,
           neighbours: np.ndarray, ceiling: np.ndarray, arsenal: np.ndarray, suppress: np.ndarray) -> np.ndarray:
    """Armed fire spills to neighbouring segments; returns the mask of segments it ignited from calm."""
    u = rng.random(state.posture.shape)
    if state.rung.max() < ARMED:
        return np.zeros(state.rung.shape, dtype=bool)
    was_calm = state.rung == CALM
    armed = np.where(state.posture >= ARMED, state.posture, 0)  # [2, S]
    # strongest armed posture of each side among each segment's neighbours
    nearby = (neighbours[None, :, :] * armed[:, :, None]).max(axis=1)  # [2, S]
    pressure = np.maximum(nearby - 1, 0) / 4.0
    rate = params["spread_rate"] * pressure * (1.0 - suppress)
    hit = (u < hazard_to_prob(rate, dt)) & (nearby >= ARMED)
    target = np.minimum(np.maximum(nearby - 1, ARMED), np.maximum(ceiling[:, None], ARMED))
    target = np.minimum(target, arsenal[:, None])
    state.posture[...] = np.where(hit, np.maximum(state.posture, target), state.posture)
    state.refresh_rung()
    return was_calm & (state.rung > CALM)


def open_front(state: BorderState, params: dict, dt: float, rng: np.random.Generator,
               ceiling: np.ndarray, suppress: np.ndarray, deployed: np.ndarray,
               closeness: np.ndarray) -> np.ndarray:
    """War by order: once armed fire has begun somewhere, a side whose government authorises mortars (L2) or
    heavier opens armed fire (L1) on disputed segments where it is not yet firing, at ``front_rate`` per rung
    authorised above L1 (× dispute, minus what a ceasefire or monitors suppress), × the front's reach
    (:func:`front_reach`).

    Why not only :func:`spread`: in 2022 fire ran along the whole Batken perimeter within a day, well beyond
    the neighbours of the first clash; neighbour contagion fast enough for that would make every shoot-out a
    war. ``deployed`` (bool[2]) and ``closeness`` (float[S, S]) are as in :func:`front_reach`. Returns the
    mask of segments it brought out of calm."""
    u = rng.random(state.posture.shape)
    at_war = np.maximum(ceiling - ARMED, 0)  # rungs authorised above small arms, per side
    if not at_war.any() or state.rung.max() < ARMED:
        return np.zeros(state.rung.shape, dtype=bool)
    was_calm = state.rung == CALM
    reach = front_reach(state, deployed, closeness)
    rate = params["front_rate"] * at_war[:, None] * reach * state.dispute * (1.0 - suppress)
    opened = (u < hazard_to_prob(rate, dt)) & (state.posture < ARMED)
    if opened.any():
        state.posture[opened] = ARMED
        state.refresh_rung()
    return was_calm & (state.rung > CALM)


def front_reach(state: BorderState, deployed: np.ndarray, closeness: np.ndarray) -> np.ndarray:
    """How far each side's front reaches to each segment (float[2, S], 1 = fully): everywhere for a side
    whose government came into the episode deployed for war (``deployed``, bool[2]), otherwise the
    ``closeness`` (float[S, S], ``exp(-front_decay_per_km × km)`` between segments) of the nearest segment
    under armed fire.

    Why: April 2021's war grew out of a quarrel over water at Golovnoi and stayed in the Batken and Leilek
    sectors (19 named sites); September 2022's forces came deployed, with mortars from the first hours, and
    fought "along the entire perimeter". A front that reaches the whole line for both spreads April over
    every segment and evacuates more than twice its documented 40,649 (calibration/README.md)."""
    armed = state.rung >= ARMED
    if not armed.any():
        return np.zeros(state.posture.shape)
    near_fire = closeness[armed].max(axis=0)
    return np.where(deployed[:, None], 1.0, near_fire[None, :])


def advance_on_roads(state: BorderState, params: dict, dt: float, rng: np.random.Generator,
                     ceiling: np.ndarray, offensive: np.ndarray, roads: np.ndarray, suppress: np.ndarray
                     ) -> np.ndarray:
    """An offensive's armour goes for the roads: once armed fire has begun somewhere, a side whose government
    is on the offensive (``offensive``, bool[2]) and authorises armour (L3) or heavier fires at armour on each
    road segment (``roads``, float[S], 1 for a segment whose stake is a road) where it fires less, at
    ``road_advance_rate`` per hour × dispute (minus what a ceasefire or monitors suppress), whatever its
    distance from the fire. Its armour is then in the other side's nearest village (:mod:`sim.incursion`), and
    the front opens around it (:func:`front_reach`).

    Why: April 2021's war began over water at Golovnoi, yet Tajik tanks entered Internatsional on the Leilek
    road ~70 km west at ~17:00 on 29 Apr, three hours after the mortars at Golovnoi (utrk.kg 56978; 24.kg
    192151), and the Tort-Kocho road section, Leilek's only road to the rest of Kyrgyzstan, was cut. A front
    that fades with distance from the fire (fitted so that April stays in two sectors, not the whole line)
    cannot reach Leilek in hours, and it is Leilek that the record has evacuated: 26,288 of April's 40,649
    (24.kg 192886), where the model empties Batken district instead (calibration/README.md, session 21).
    An advance is a decision of the offensive's command, not a spread of fire, so it does not fade with
    distance. Returns the mask of segments it brought out of calm."""
    u = rng.random(state.posture.shape)
    attackers = offensive & (ceiling >= ARMOUR)
    if not attackers.any() or state.rung.max() < ARMED:
        return np.zeros(state.rung.shape, dtype=bool)
    was_calm = state.rung == CALM
    rate = params["road_advance_rate"] * roads * state.dispute * (1.0 - suppress)
    moved = (u < hazard_to_prob(rate, dt)) & attackers[:, None] & (state.posture < ARMOUR)
    if moved.any():
        state.posture[moved] = ARMOUR
        state.refresh_rung()
    return was_calm & (state.rung > CALM)


def break_ceasefire(state: BorderState, params: dict, dt: float, rng: np.random.Generator,
                    arsenal: np.ndarray, unsuppressed: np.ndarray, in_force: bool) -> np.ndarray:
    """Violations: under a ceasefire each side may open armed fire on a segment at a hazard
    ``violation_rate * excess``, where excess is the tension above the structural level of a disputed
    segment with no seasonal push (``tension_structural``): mostly what the fighting left, fading over
    days as violations did (facts §4, 'violated for 1-2 days before holding'). One reference for all
    segments, so a segment whose line was agreed (lower tension) is less, not more, prone to violations.
    The hazard is multiplied by ``unsuppressed`` (float[S]: what monitors and re-agreement resolve leave).
    The other side then answers through :func:`move_postures` (retaliation). Returns the mask of
    segments it brought out of calm (they count as incidents)."""
    u = rng.random(state.posture.shape)
    was_calm = state.rung == CALM
    if not in_force:
        return np.zeros(state.rung.shape, dtype=bool)
    excess = np.maximum(state.tension - params["tension_structural"], 0.0)
    rate = params["violation_rate"] * excess * unsuppressed
    fire = u < hazard_to_prob(rate, dt)
    if fire.any():
        opened = np.minimum(ARMED, arsenal)[:, None]
        state.posture[...] = np.where(fire, np.maximum(state.posture, opened), state.posture)
        state.refresh_rung()
    return was_calm & (state.rung > CALM)
