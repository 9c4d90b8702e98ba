"""What mediators do: each action of the strategy starts when due and adds its instrument's effect.

An action starts at a fixed hour, or a delay after the condition it waits for is first observed (a level
reached, a toll, a number of ceasefire violations; by default armed fire). Once started, each step it adds
its effect, × the mediator's *effective leverage* (the smaller of its leverages with the two sides: an
instrument works only as far as both parties accept it; the strategy's, or a run's own draw of it):

* ``call`` raises the agreement hazard by ``call_strength`` for ``call_effect_hours``;
* ``summit`` by ``summit_strength`` for ``summit_effect_hours``; ``broker`` by ``broker_strength`` while it lasts;
* ``monitors`` remove a share ``monitor_strength`` of the escalation, incident, spread and violation hazards on
  their segments, from ``monitor_deploy_hours`` after the decision;
* ``joint_commission`` raises the protocol hazard and the relaxation of tension by ``commission_strength``;
* ``delimitation`` agrees the listed segments' line when it starts: their dispute shrinks by
  ``delimitation_strength`` × leverage.

Mediators draw no random numbers, so a mediator with zero leverage changes nothing, exactly.
"""

from __future__ import annotations

import numpy as np

from sim.core.state import BatchState
from sim.core.world import INSTRUMENT_CODES, ParamBatch, World

CALL, SUMMIT, BROKER, MONITORS, COMMISSION, DELIMITATION = (
    INSTRUMENT_CODES[k] for k in ("call", "summit", "broker", "monitors", "joint_commission", "delimitation"))


def act(state: BatchState, p: ParamBatch, world: World, hour: float) -> None:
    """Start the actions that are due and set this step's effects (``state.agree_boost`` and the rest)."""
    actions = world.actions
    runs = state.runs
    state.agree_boost = np.zeros(runs)
    state.protocol_boost = np.zeros(runs)
    state.relax_boost = np.zeros(runs)
    state.monitor_cover = np.zeros((runs, world.n_segments))
    if actions.count == 0:
        return
    max_rung = state.rung.max(axis=1)[:, None]
    deaths = state.total_deaths()[:, None]
    violations = state.violations[:, None]
    observed = ((max_rung >= actions.level_at_least) & (deaths >= actions.deaths_at_least)
                & (violations >= actions.violations_at_least))  # [R, A]
    waiting = np.isnan(state.action_started)
    state.action_triggered = np.where(waiting & np.isnan(state.action_triggered) & observed, hour,
                                      state.action_triggered)
    timed = ~np.isnan(actions.at_hour)
    due = np.where(timed, hour >= np.nan_to_num(actions.at_hour, nan=np.inf),
                   ~np.isnan(state.action_triggered) & (hour >= state.action_triggered + actions.delay))
    start = waiting & due
    lev = p.leverage(actions)  # [R or 1, A]
    if start.any():
        state.action_started = np.where(start, hour, state.action_started)
        delimit = start & (actions.instrument == DELIMITATION)
        if delimit.any():
            cut = np.minimum(p.col("delimitation_strength")[:, :, None] * lev[:, :, None]
                             * actions.segments[None, :, :] * delimit[:, :, None], 1.0)  # [R, A, S]
            state.dispute = state.dispute * np.prod(1.0 - cut, axis=1)
    age = hour - state.action_started  # NaN before an action starts
    live = ~np.isnan(age) & (age < actions.duration)
    kind = actions.instrument[None, :]
    col = p.col
    boost = (np.where(live & (kind == CALL) & (age < col("call_effect_hours")), col("call_strength") * lev, 0.0)
             + np.where(live & (kind == SUMMIT) & (age < col("summit_effect_hours")), col("summit_strength") * lev, 0.0)
             + np.where(live & (kind == BROKER), col("broker_strength") * lev, 0.0))
    state.agree_boost = boost.sum(axis=1)
    commission = np.where(live & (kind == COMMISSION), col("commission_strength") * lev, 0.0).sum(axis=1)
    state.protocol_boost = commission
    state.relax_boost = commission
    watching = live & (kind == MONITORS) & (age >= col("monitor_deploy_hours"))
    if watching.any():
        cover = np.minimum(actions.segments[None, :, :] * (col("monitor_strength") * lev)[:, :, None], 1.0)
        state.monitor_cover = np.where(watching[:, :, None], cover, 0.0).max(axis=1)


def mediators_active(state: BatchState, world: World) -> np.ndarray:
    """int[R]: how many mediators have started at least one action."""
    actions = world.actions
    if actions.count == 0:
        return np.zeros(state.runs, dtype=np.int64)
    started = ~np.isnan(state.action_started)
    per_mediator = np.zeros((state.runs, len(actions.mediator_ids)), dtype=bool)
    for m in range(len(actions.mediator_ids)):
        per_mediator[:, m] = started[:, actions.mediator == m].any(axis=1)
    return per_mediator.sum(axis=1)
