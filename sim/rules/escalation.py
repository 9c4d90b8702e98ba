"""The escalation ladder on each segment: incidents start, sides escalate, retaliate and de-escalate.

Each side has a *posture* on each segment: the rung it fires at.

* :func:`ignite` — a calm segment sees a civil incident (L0) at a hazard set by dispute, resource and
  tension.
* :func:`move_postures` — an out-gunned side matches its opponent's rung (retaliation); a side not
  out-gunned climbs one rung at a hazard raised by tension (``exp(tension_gain (T - 0.5))``, the same factor
  as for incidents) and by its own recent losses; the first armed shot (L0 → L1) also needs tension above
  ``arms_tension`` (:func:`arms_gate`; most incidents stay stones and blockades), and above it a civil
  confrontation disperses more slowly. Both are capped by what its government authorises and suppressed by a
  ceasefire and by monitors. At parity a side steps down at ``deescalate_rate``; facing a lower opponent it
  reciprocates at ``reciprocate_rate`` (both slowed by its recent losses); above its orders it drops to them.
* Two regimes of armed fire (:func:`contained`): while no government has authorised mortars or heavier in the
  episode, fire stays within the border guards' own weapons and the commanders on the spot contain it: at
  parity a side steps down at ``contain_rate`` instead of ``deescalate_rate``. Once a government has decided
  for heavier weapons (:mod:`sim.rules.orders`) the fire is its war, and only ``deescalate_rate`` applies.

Each rule draws one uniform number per slot whatever the state (``sim.core.randomness``), so two runs with
the same seed stay aligned when a strategy changes what happens (common random numbers).
"""

from __future__ import annotations

import numpy as np

from sim.core.ladder import CALM, CIVIL, SMALL_ARMS
from sim.core.randomness import StepDraws, Stream
from sim.core.state import BatchState, hazard_to_prob
from sim.core.world import ParamBatch, World


def ignite(state: BatchState, p: ParamBatch, world: World, draws: StepDraws, suppress: np.ndarray) -> np.ndarray:
    """Background incidents on calm segments; returns bool[R, S], the segments that ignited. Which side
    starts it is an even chance (the lower or upper half of the same uniform number)."""
    u = draws.uniform(Stream.INCIDENTS, (world.n_segments,))
    rate = (p.col("incident_rate") * state.dispute * state.resource_factor
            * np.exp(p.col("tension_gain") * (state.tension - 0.5)) * (1.0 - suppress))
    chance = hazard_to_prob(rate, world.dt)
    started = (state.rung == CALM) & (u < chance)
    if started.any():
        tj = u < 0.5 * chance
        state.posture = state.posture.copy()
        state.posture[:, 0][started & ~tj] = CIVIL
        state.posture[:, 1][started & tj] = CIVIL
        state.refresh_rung()
    return started


def arms_gate(tension: np.ndarray, threshold: np.ndarray | float) -> np.ndarray:
    """How readily stones turn into shots at each tension: 0 up to ``threshold``, rising linearly to 1 at 1.

    Why a threshold: the same escalation hazard has to carry a war's first day and leave ~30 routine incidents
    a year mostly bloodless (facts §1.3), and it is tension (a contested position, a camera on the canal) that
    separates the two."""
    return np.clip((tension - threshold) / np.maximum(1.0 - threshold, 1e-9), 0.0, 1.0)


def contained(state: BatchState, world: World) -> np.ndarray:
    """bool[R]: the runs whose fire is still a shoot-out the commanders on the spot can contain: neither
    government has authorised mortars or heavier in this episode, and neither came deployed for war."""
    top = np.maximum(state.authorised, state.episode_authorised).max(axis=1)
    return (top <= SMALL_ARMS) & ~world.deployed_for_war.any()


def move_postures(state: BatchState, p: ParamBatch, world: World, draws: StepDraws, suppress: np.ndarray) -> None:
    """One step of each side's decisions on each active segment.

    ``suppress`` (float[R, S]) is the share of the escalation hazard removed by a ceasefire or monitors. Forces
    above their authorised rung drop to it at ``ceasefire_deescalate_rate`` (orders to cease fire). A climb and
    a step down compete for the same uniform number: up below the climb's chance, down above one minus the
    step-down's chance."""
    if not state.rung.any():
        return
    u = draws.uniform(Stream.ESCALATION, (2, world.n_segments))
    own = state.posture
    opp = own[:, ::-1]
    active = (state.rung >= CIVIL)[:, None, :]
    cap = state.authorised[:, :, None]
    arsenal = world.arsenal[None, :, None]
    answer_cap = np.maximum(cap, np.minimum(opp, arsenal))  # fire may always be answered in kind
    outgunned = opp > own
    profile = p.by_rung("escalate_profile", own)
    loss = 1.0 + p.col("loss_escalation_gain")[:, :, None] * state.recent_deaths
    tension = state.tension[:, None, :]
    col = lambda name: p.col(name)[:, :, None]  # noqa: E731 - [R, 1, 1]
    climb = col("escalate_rate") * profile * loss * np.exp(col("tension_gain") * (tension - 0.5))
    gate = arms_gate(tension, col("arms_tension"))
    climb = np.where(own == CIVIL, climb * gate, climb)
    unsuppressed = (1.0 - suppress)[:, None, :]
    up_rate = np.where(outgunned, col("retaliate_rate"), climb) * unsuppressed * active
    may_rise = np.where(outgunned, own < answer_cap, own < cap)
    up_chance = np.where(may_rise, hazard_to_prob(up_rate, world.dt), 0.0)
    target_up = np.where(outgunned, np.minimum(opp, answer_cap), own + 1)

    over_orders = own > cap
    comply = np.where(over_orders, col("ceasefire_deescalate_rate"), 0.0)
    # tit-for-tat downwards: facing a lower opponent a side reciprocates; at parity either may step down first;
    # losses slow both
    at_parity = np.where(contained(state, world)[:, None, None], col("contain_rate"), col("deescalate_rate"))
    down_armed = np.where(opp < own, col("reciprocate_rate"), at_parity) * (opp <= own)
    # the tension that lets stones turn into shots also keeps the crowd from dispersing
    step_down = np.where(own == CIVIL, col("calm_rate") * (1.0 - gate) * (opp <= CIVIL), down_armed / loss)
    down_rate = comply + step_down * (own > CALM)
    up = u < up_chance
    down = ~up & (u >= 1.0 - hazard_to_prob(down_rate, world.dt))
    target_down = np.where(over_orders, np.maximum(cap, 0), own - 1)
    state.posture = np.where(up, target_up, np.where(down, np.maximum(target_down, 0), own))
    state.refresh_rung()
