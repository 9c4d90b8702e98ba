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
9. an offensive's armour advances along the roads;
10. sides break a ceasefire in force;
11. fire inflicts casualties: soldiers and villages, crowds at the line, villages entered by an offensive;
12. people evacuate or return; crowds gather at civil confrontations;
13. the ceasefire machine advances, and orders follow it;
14. the step's counters and peaks are recorded.
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
    "triggers", "mediation", "orders", "tension", "incidents", "escalation", "spread", "front", "road advance",
    "violations", "casualties", "crowds under fire", "incursions", "displacement", "crowds gather", "ceasefire",
    "bookkeeping",
)
"""The rules of a step, in the order :func:`step` applies them."""


def step(state: BatchState, p: ParamBatch, world: World, keys: np.ndarray) -> np.ndarray:
    """Advance every run of the batch by one step; returns int[R], the ceasefire phase each run entered this
    step (``ceasefire.NO_CHANGE`` where none)."""
    dt = world.dt
    k = state.step
    hour = k * dt
    draws = StepDraws(keys, k)

    started = apply_triggers(state, world, k)
    mediation.act(state, p, world, hour)
    orders.give_orders(state, p, world, draws, hour)
    cover = state.monitor_cover
    discipline, resolve = ceasefire.discipline(state, p)
    suppress = 1.0 - (1.0 - discipline[:, None]) * (1.0 - cover)

    relax = state.relax_boost + np.where(state.phase == ceasefire.WITHDRAWAL, p["withdrawal_relief"], 0.0)
    update_tension(state, p, world, world.day_of_step[k], relax)
    started |= escalation.ignite(state, p, world, draws, suppress)
    escalation.move_postures(state, p, world, draws, suppress)
    started |= front.spread(state, p, world, draws, suppress)
    started |= front.open_front(state, p, world, draws, suppress)
    started |= front.advance_on_roads(state, p, world, draws, suppress)
    started |= ceasefire.break_ceasefire(state, p, world, draws, (1.0 - cover) / resolve[:, None])
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
    armed = top >= ARMED
    state.armed_hours = np.where(armed, state.armed_hours + dt, 0.0)
    entered = ceasefire.update(state, p, world, draws, hour + dt, armed)
    orders.follow_ceasefire(state, world, entered)
    record_peaks(state, world)
    state.step = k + 1
    return entered


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
