"""One step of the model: the rules in order, for every run of a batch at once.

The order within a step (``docs/ODD.md``, process overview and scheduling):

1. scheduled triggers fire (incidents, tension spikes, mobilisation orders);
2. mediators start the actions that are due and set this step's effects;
3. governments re-arm and authorise;
4. tension moves;
5. background incidents start;
6. sides escalate, retaliate and de-escalate;
7. fire spreads to neighbouring segments;
8. governments at war open fire along the front;
9. sides break a ceasefire in force;
10. fire inflicts casualties: soldiers and villages, crowds at the line, villages entered by an offensive;
11. people evacuate or return; crowds gather at civil confrontations;
12. the ceasefire machine advances, and orders follow it;
13. the step's counters and peaks are recorded.
"""

from __future__ import annotations

import numpy as np

from sim.core.ladder import ARMED, CALM, N_RUNGS
from sim.core.randomness import StepDraws
from sim.core.state import BatchState
from sim.core.world import ParamBatch, World
from sim.rules import casualties, ceasefire, crowds, displacement, escalation, front, incursion, mediation, orders
from sim.rules.tension import update_tension

SCHEDULE = (
    "triggers", "mediation", "orders", "tension", "incidents", "escalation", "spread", "front",
    "violations", "casualties", "crowds under fire", "incursions", "displacement", "crowds gather", "ceasefire",
    "bookkeeping",
)
"""The rules of a step, in the order :func:`step` applies them."""


BUSY_SHARE = 0.5
"""Below this share of busy runs, a step runs the rules after ignition on the busy runs only (a sub-batch);
above it, on the whole batch (copying in and out would cost more than it saves)."""


def step(state: BatchState, p: ParamBatch, world: World, keys: np.ndarray) -> np.ndarray:
    """Advance every run of the batch by one step; returns int[R], the ceasefire phase each run entered this
    step (``ceasefire.NO_CHANGE`` where none).

    After ignition, a *quiet* run (no segment out of calm, no ceasefire process, nobody displaced) can only
    age its memories, so the rules from posture moves on run for the *busy* runs alone when they are few
    (:func:`_engage` on a sub-batch, then :func:`_age_quiet` for the rest). Draws are per run, so which runs
    share a sub-batch changes no number."""
    dt = world.dt
    k = state.step
    hour = k * dt
    draws = StepDraws(keys, k)
    rung_before = state.rung.copy()  # what fire was under way when the step began: a ceasefire breach is new fire

    started = apply_triggers(state, world, k)
    mediation.act(state, p, world, hour)
    orders.give_orders(state, p, world, draws, hour)
    discipline, resolve = ceasefire.discipline(state, p)
    suppress = 1.0 - (1.0 - discipline[:, None]) * (1.0 - state.monitor_cover)
    relax = state.relax_boost + np.where(state.phase == ceasefire.WITHDRAWAL, p["withdrawal_relief"], 0.0)
    update_tension(state, p, world, world.day_of_step[k], relax)
    started |= escalation.ignite(state, p, world, draws, suppress)

    busy = state.rung.any(axis=1) | (state.phase != ceasefire.NONE) | state.displaced.any(axis=1)
    n_busy = int(busy.sum())
    if n_busy > BUSY_SHARE * state.runs:
        entered = _engage(state, p, world, draws, started, suppress, resolve, rung_before, hour)
    else:
        entered = np.full(state.runs, ceasefire.NO_CHANGE)
        if n_busy:
            runs = np.flatnonzero(busy)
            part = state.select(runs)
            entered[runs] = _engage(part, p.subset(runs), world, StepDraws(keys[runs], k), started[runs],
                                    suppress[runs], resolve[runs], rung_before[runs], hour)
            state.put(runs, part)
        _age_quiet(state, p, world, ~busy)
    state.step = k + 1
    return entered


def _engage(state: BatchState, p: ParamBatch, world: World, draws: StepDraws, started: np.ndarray,
            suppress: np.ndarray, resolve: np.ndarray, rung_before: np.ndarray, hour: float) -> np.ndarray:
    """The rules of a step from posture moves on (§3 lines 7-21 of the ODD)."""
    dt = world.dt
    escalation.move_postures(state, p, world, draws, suppress)
    started |= front.spread(state, p, world, draws, suppress)
    started |= front.open_front(state, p, world, draws, suppress)
    started |= ceasefire.break_ceasefire(state, p, world, draws, (1.0 - state.monitor_cover) / resolve[:, None])
    count_incidents(state, started)

    state.dead_this_step = np.zeros_like(state.dead_this_step)
    casualties.inflict(state, p, world, draws)
    crowds.expose(state, p, world, draws)
    if incursion.enabled(p, world):
        incursion.expose(state, p, world, draws)
    dead = state.dead_this_step
    state.recent_deaths = state.recent_deaths * np.exp(-dt / 24.0) + dead
    orders.note_losses(state, dead.sum(axis=2), dt)
    count_lethal(state, dead.sum(axis=1))

    top = state.rung.max(axis=1)
    returns = ceasefire.RETURNS[state.phase] | ((state.phase == ceasefire.NONE) & (top < ARMED))
    displacement.move_people(state, p, world, returns)
    crowds.gather(state, p, world)

    state.peak_rung = np.maximum(state.peak_rung, state.rung)
    reached = (np.arange(N_RUNGS)[None, :] <= top[:, None]) & (np.arange(N_RUNGS)[None, :] > CALM)
    state.first_hour_at_rung = np.where(reached & np.isnan(state.first_hour_at_rung), hour + dt,
                                        state.first_hour_at_rung)
    raised = ((state.rung > rung_before) & (state.rung >= ARMED)).any(axis=1)
    entered = ceasefire.update(state, p, world, draws, hour + dt, top >= ARMED, raised)
    orders.follow_ceasefire(state, world, entered)
    record_peaks(state, world)
    return entered


def _age_quiet(state: BatchState, p: ParamBatch, world: World, quiet: np.ndarray) -> None:
    """What :func:`_engage` does to a quiet run: its memories of losses fade, its segments count as calm
    since their last fire, and the quiet hours of its (absent) ceasefire process grow."""
    if not quiet.any():
        return
    fade = np.exp(-world.dt / 24.0)
    state.recent_deaths[quiet] *= fade
    state.losses_since_agreement[quiet] *= fade
    state.dead_this_step[quiet] = 0
    state.unarmed_since_calm[quiet] = True
    state.quiet_hours[quiet] += world.dt


def apply_triggers(state: BatchState, world: World, k: int) -> np.ndarray:
    """Scheduled events of step ``k`` (the same in every run); returns bool[R, S], the segments they brought
    out of calm. Nobody fires what they lack: an incident's level is capped by the side's arsenal."""
    was_calm = state.rung == CALM
    for trig in world.triggers.get(k, ()):
        segs = trig.segments
        if trig.kind == "incident":
            posture = state.posture.copy()
            for side in trig.sides:
                rung = min(trig.rung, int(world.arsenal[side]))
                posture[:, side, segs] = np.maximum(posture[:, side, segs], rung)
            state.posture = posture
            state.refresh_rung()
        elif trig.kind == "tension":
            tension = state.tension.copy()
            tension[:, segs] = np.maximum(tension[:, segs], trig.tension)
            state.tension = tension
        else:  # mobilisation
            for side in trig.sides:
                state.authorised[:, side] = np.maximum(state.authorised[:, side],
                                                       min(trig.rung, int(world.arsenal[side])))
    return was_calm & (state.rung > CALM)


def count_incidents(state: BatchState, started: np.ndarray) -> None:
    """Segments that left calm this step are new incidents; their episode's toll starts at zero."""
    state.incidents = state.incidents + started.sum(axis=1)
    state.episode_deaths = np.where(started, 0, state.episode_deaths)


def count_lethal(state: BatchState, dead_by_segment: np.ndarray) -> None:
    """An incident is lethal the first step it kills someone."""
    newly = (dead_by_segment > 0) & (state.episode_deaths == 0)
    state.lethal_incidents = state.lethal_incidents + newly.sum(axis=1)
    state.episode_deaths = state.episode_deaths + dead_by_segment


def record_peaks(state: BatchState, world: World) -> None:
    if not state.displaced.any():
        return
    state.peak_displaced = np.maximum(state.peak_displaced, state.displaced_by_side(world))
    by_district = np.rint(state.displaced @ world.district_of_village).astype(np.int64)
    state.peak_displaced_district = np.maximum(state.peak_displaced_district, by_district)
