"""The ceasefire: a state machine per run, how firmly it suppresses fire, and its violations and collapse.

none → talks → agreed → violated / holding → stabilised → withdrawal → (after 30 days) none.

* **none → talks**: once armed fire (L1+) is seen, bilateral channels (foreign ministers, heads of the
  security services, governors) open at ``talks_open_rate``.
* **talks → agreed**, **violated → agreed** (re-agreed): at ``agree_rate``, raised by the toll so far
  (``pain_weight``) and by mediation; re-agreement after a *breach* is ``reagree_factor`` times faster. A
  violated ceasefire has *collapsed* once a government has re-armed to mortars or heavier
  (``sim.rules.orders``): it is then re-agreed at the first-talks rate, not faster. Why: on 17 Sep 2022 local
  breaches were re-agreed within hours (14:30 ceasefire, Grad at 17:20 and 18:10, a further ceasefire at
  19:00; Khovar 2022-09-17), while the collapse of 16 Sep into war by order (from ~05:00) took until the 16:00
  ceasefire agreed by the presidents in Samarkand (KG border service via RIA; KG presidency via TRT World).
* **agreed**: governments order their forces down to L0 (``sim.rules.orders``). Fire still being wound down
  is not a breach; fire *opened or raised* after the agreement (a segment whose rung rises to L1 or above)
  is a *violation* (→ violated). ``hold_hours`` without armed fire → holding. Why: a war along thirty
  segments is not wound down in a few hours, and the record dates violations as new fire in the days after
  the agreement (facts §4, 'violated for 1-2 days before holding'); a fixed grace period made every first
  ceasefire of a war 'break' at its end.
* **holding → stabilised** after ``stabilise_hours`` more without armed fire, dated from the end of the last
  armed fire before it (or from the agreement), as the sources date it ("no incidents from 18 Sep").
  **stabilised → withdrawal** when a protocol is signed (``protocol_rate``, raised by a joint commission).
* Armed fire in holding, stabilised or withdrawal is a violation; after stabilisation also a *relapse*.

While a ceasefire is in force it suppresses a share ``ceasefire_discipline`` of the escalation hazards
(:func:`discipline`), and each side may still open fire on a tense segment (:func:`break_ceasefire`).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from sim.core.ladder import ARMED, CALM
from sim.core.randomness import StepDraws, Stream
from sim.core.state import BatchState, hazard_to_prob
from sim.core.world import ParamBatch, World


class Phase(IntEnum):
    NONE = 0
    TALKS = 1
    AGREED = 2
    VIOLATED = 3
    HOLDING = 4
    STABILISED = 5
    WITHDRAWAL = 6


NONE, TALKS, AGREED, VIOLATED, HOLDING, STABILISED, WITHDRAWAL = (int(p) for p in Phase)
# plain ints and lookup tables by phase for the hot path (an IntEnum attribute costs a microsecond)

IN_FORCE = np.array([p in (Phase.AGREED, Phase.HOLDING, Phase.STABILISED, Phase.WITHDRAWAL) for p in Phase])
"""bool by phase: a ceasefire is in force (forces are ordered down and escalation is suppressed)."""

RETURNS = np.array([p in (Phase.HOLDING, Phase.STABILISED, Phase.WITHDRAWAL) for p in Phase])
"""bool by phase: the displaced may go home (and, with no ceasefire, whenever no fire is armed)."""

EPISODE_RESET_HOURS = 720.0
"""Hours of withdrawal after which a later clash is treated as a new episode (30 days)."""

NO_CHANGE = -1


def in_force(state: BatchState) -> np.ndarray:
    """bool[R]: a ceasefire is in force."""
    return IN_FORCE[state.phase]


def discipline(state: BatchState, p: ParamBatch) -> tuple[np.ndarray, np.ndarray]:
    """float[R] each: the share of the escalation hazard a ceasefire in force suppresses, and the resolve.

    Each re-agreement is enforced more firmly (``reagreement_resolve``): the part of the escalation and
    violation hazards left unsuppressed is divided by ``1 + resolve × (agreements − 1)``."""
    force = in_force(state)
    if not force.any():
        return np.zeros(state.runs), np.ones(state.runs)
    resolve = np.where(force, 1.0 + p["reagreement_resolve"] * np.maximum(state.agreements - 1, 0), 1.0)
    return np.where(force, 1.0 - (1.0 - p["ceasefire_discipline"]) / resolve, 0.0), resolve


def break_ceasefire(state: BatchState, p: ParamBatch, world: World, draws: StepDraws,
                    unsuppressed: np.ndarray) -> np.ndarray:
    """Violations: under a ceasefire each side may open armed fire on a segment at a hazard
    ``violation_rate × excess``, where excess is the tension above the structural level of a disputed
    segment with no seasonal push (``tension_structural``): mostly what the fighting left, fading over days as
    violations did (facts §4, 'violated for 1-2 days before holding'). ``unsuppressed`` (float[R, S]) is what
    monitors and re-agreement resolve leave of the hazard. The other side answers through retaliation.
    Returns bool[R, S], the segments brought out of calm."""
    force = in_force(state)
    if not force.any():
        return np.zeros(state.rung.shape, dtype=bool)
    u = draws.uniform(Stream.VIOLATIONS, (2, world.n_segments))
    excess = np.maximum(state.tension - p.col("tension_structural"), 0.0)
    rate = p.col("violation_rate") * excess * unsuppressed * force[:, None]
    fire = u < hazard_to_prob(rate, world.dt)[:, None, :]
    if not fire.any():
        return np.zeros(state.rung.shape, dtype=bool)
    was_calm = state.rung == CALM
    opened = np.minimum(ARMED, world.arsenal)[None, :, None]
    state.posture = np.where(fire, np.maximum(state.posture, opened), state.posture)
    state.refresh_rung()
    return was_calm & (state.rung > CALM)


def note_heavy_rearmament(state: BatchState, runs: np.ndarray) -> None:
    """A government of each run in ``runs`` (bool[R]) has re-armed to mortars or heavier. During a violation
    the breach is now a collapse (counted once until the next agreement); while an agreement still stands
    nothing has been breached yet, so the next breach is a collapse from its start."""
    violated = runs & (state.phase == VIOLATED)
    _collapse(state, violated)
    state.rearmed_in_lull = state.rearmed_in_lull | (runs & ~violated)


def _collapse(state: BatchState, runs: np.ndarray) -> None:
    new = runs & ~state.collapsed
    state.collapses = state.collapses + new
    state.collapsed = state.collapsed | runs


def update(state: BatchState, p: ParamBatch, world: World, draws: StepDraws, hour: float,
           armed: np.ndarray, raised: np.ndarray) -> np.ndarray:
    """Advance the machine of every run by one step ending at ``hour``; ``armed`` (bool[R]) says armed fire
    is under way, ``raised`` (bool[R]) that armed fire was opened or raised on some segment this step.
    Returns int[R]: the phase each run entered, or ``NO_CHANGE``."""
    dt = world.dt
    phase = state.phase
    none = phase == NONE
    if none.all() and not armed.any():  # no episode anywhere: nothing can change (most steps of a calm year)
        state.quiet_hours = state.quiet_hours + dt
        return np.full(phase.shape, NO_CHANGE)
    u = draws.uniform(Stream.CEASEFIRE, ())
    state.quiet_hours = np.where(armed, 0.0, state.quiet_hours + dt)
    state.last_armed_hour = np.where(armed, hour, state.last_armed_hour)
    in_phase = hour - state.since_hour
    agree = p["agree_rate"] * (1.0 + p["pain_weight"] * np.log1p(state.total_deaths())) * (1.0 + state.agree_boost)
    entered = np.full(phase.shape, NO_CHANGE)

    entered[none & armed & (u < hazard_to_prob(p["talks_open_rate"], dt))] = TALKS

    violated = phase == VIOLATED
    talks = (phase == TALKS) | violated
    state.hours_violated = state.hours_violated + np.where(violated, dt, 0.0)
    agree = np.where(violated & ~state.collapsed, agree * p["reagree_factor"], agree)
    entered[talks & (u < hazard_to_prob(agree, dt))] = AGREED

    holds = ~(none | talks)
    breach = holds & armed & ((phase != AGREED) | raised)
    calm = holds & ~breach
    entered[calm & (phase == AGREED) & (state.quiet_hours >= p["hold_hours"])] = HOLDING
    entered[calm & (phase == HOLDING) & (in_phase >= p["stabilise_hours"])] = STABILISED
    protocol = hazard_to_prob(p["protocol_rate"] * (1.0 + state.protocol_boost), dt)
    entered[calm & (phase == STABILISED) & (u < protocol)] = WITHDRAWAL
    entered[calm & (phase == WITHDRAWAL) & (in_phase >= EPISODE_RESET_HOURS)] = NONE

    if breach.any():
        state.violations = state.violations + breach
        state.last_violation_hour = np.where(breach, hour, state.last_violation_hour)
        _collapse(state, breach & state.rearmed_in_lull)
        state.relapses = state.relapses + (breach & ((phase == STABILISED) | (phase == WITHDRAWAL)))
        entered[breach] = VIOLATED
    _enter(state, entered, hour)
    return entered


def _enter(state: BatchState, entered: np.ndarray, hour: float) -> None:
    changed = entered != NO_CHANGE
    if not changed.any():
        return
    state.phase = np.where(changed, entered, state.phase)
    state.since_hour = np.where(changed, hour, state.since_hour)
    state.quiet_hours = np.where(changed, 0.0, state.quiet_hours)

    def first(hours: np.ndarray, phase: int, value: np.ndarray | float = hour) -> np.ndarray:
        return np.where((entered == phase) & np.isnan(hours), value, hours)

    state.first_talks_hour = first(state.first_talks_hour, TALKS)
    agreed = entered == AGREED
    if agreed.any():
        state.agreements = state.agreements + agreed
        state.collapsed = state.collapsed & ~agreed
        state.rearmed_in_lull = state.rearmed_in_lull & ~agreed
        state.last_agreed_hour = np.where(agreed, hour, state.last_agreed_hour)
        state.first_agreed_hour = first(state.first_agreed_hour, AGREED)
    quiet_from = np.maximum(np.nan_to_num(state.last_armed_hour), np.nan_to_num(state.last_agreed_hour))
    state.first_stabilised_hour = first(state.first_stabilised_hour, STABILISED, np.minimum(quiet_from, hour))
    state.first_withdrawal_hour = first(state.first_withdrawal_hour, WITHDRAWAL)
