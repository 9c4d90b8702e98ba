"""Orders: what each government authorises its forces to fire, and when it orders them down.

* **Authorisation: war is a government's decision.** Under pressure a government authorises one more rung at
  ``authorise_rate`` per hour, up to its arsenal, × ``1 + orders_loss_gain × own deaths since the last
  agreement (24 h memory)``. Pressure is either: own deaths since the last agreement at or above
  ``authorise_loss_threshold``, or the opponent firing above what this side may use. Fire that merely goes on
  is not pressure: under peacetime orders the commanders on the spot contain a shoot-out
  (``contain_rate``, :mod:`sim.rules.escalation`), and a government takes the decision for heavier weapons
  only when its own dead mount or the other side has already taken it. Why: the small episodes of 2014-2022
  stopped at small arms within hours (facts, small episodes), while April 2021 went from the first shots to
  mortars in ~10 h and to armour in ~13 h as the toll mounted (24.kg 192001, 192151; utrk.kg 56978).
* **Forces deployed for war** (mortars or heavier authorised from the start, as on 14 Sep 2022: mortars at
  08:45, Kabar via Trend 3644033) climb at ``deployed_authorise_factor`` times the rate until a ceasefire of
  the episode has been violated; tanks, MLRS and drones came with the return to war on 16 Sep, after the
  ceasefire of 14 Sep (TJ GKNB via RIA; HRW).
* **Lead time of the top rung.** Forces that came without mortars authorised may authorise L4 only
  ``air_lead_hours`` after the episode's first armed shot (April 2021 reached armour within ~13 h and saw no
  L4 in the ~16 h before its ceasefire, facts E07).
* **Re-arming.** While a ceasefire stands violated, at ``rearm_rate`` per hour a government restores the
  highest authorisation of the episode at once: a collapsed ceasefire returns to the war's weapons within
  hours (14 Sep 2022 ceasefire, 16 Sep war with drones and MLRS). Forces deployed for war may do so once per
  episode while the agreement still stands (16 Sep from ~05:00; 17 Sep mortar fire at 08:50, facts E13).
  Re-arming to mortars or heavier makes the breach a collapse (``sim.rules.ceasefire``).
* **Ceasefire orders.** When a ceasefire is agreed, forces are ordered down to L0 and the memory of losses
  starts afresh; when the border returns to no ceasefire at all (a new episode) peacetime orders apply again.
"""

from __future__ import annotations

import numpy as np

from sim.core.ladder import AIR_MLRS, ARMED, CIVIL
from sim.core.randomness import StepDraws, Stream
from sim.core.state import BatchState, hazard_to_prob
from sim.core.world import ParamBatch, World
from sim.rules import ceasefire
from sim.rules.ceasefire import AGREED, NONE, VIOLATED


def give_orders(state: BatchState, p: ParamBatch, world: World, draws: StepDraws, hour: float) -> None:
    """One step of both governments' decisions: re-arming, then authorising the next rung."""
    dt = world.dt
    phase = state.phase[:, None]
    armed_now = (state.rung.max(axis=1) >= ARMED)[:, None]
    losses = state.losses_since_agreement
    if (not armed_now.any() and (state.phase == NONE).all()
            and (losses < p.col("authorise_loss_threshold")).all() and not state.posture.any()):
        return  # no episode, no fire, no toll: no government has a reason to change its orders
    u = draws.uniform(Stream.ORDERS, (2, 2))
    climb_u, rearm_u = u[:, :, 0], u[:, :, 1]
    deployed = world.deployed_for_war[None, :]

    lull = (phase == AGREED) & deployed & ~state.lull_rearm_used
    rearm = (((phase == VIOLATED) | lull) & (state.authorised < state.episode_authorised)
             & (rearm_u < hazard_to_prob(p.col("rearm_rate"), dt)))
    if rearm.any():
        state.authorised = np.where(rearm, state.episode_authorised, state.authorised)
        state.lull_rearm_used = state.lull_rearm_used | (rearm & (phase == AGREED))
        ceasefire.note_heavy_rearmament(state, (rearm & (state.authorised > ARMED)).any(axis=1))

    fah = state.first_armed_hour
    fah = np.where(armed_now & np.isnan(fah), hour, fah)
    state.first_armed_hour = np.where(~armed_now & (phase == NONE), np.nan, fah)

    auth = state.authorised
    opponent_max = state.posture[:, ::-1].max(axis=2)
    pressed = (losses >= p.col("authorise_loss_threshold")) | (opponent_max > auth)
    lead = p.col("air_lead_hours")
    top_at_hand = ((lead <= 0.0) | deployed
                   | (~np.isnan(state.first_armed_hour) & (hour - state.first_armed_hour >= lead)))
    top_ready = (auth + 1 < AIR_MLRS) | top_at_hand
    urgency = 1.0 + p.col("orders_loss_gain") * losses
    holds_deployed = deployed & (state.violations[:, None] == state.violations_before_episode)
    urgency = np.where(holds_deployed & (opponent_max <= auth), urgency * p.col("deployed_authorise_factor"), urgency)
    climb = (pressed & (auth < world.arsenal[None, :]) & top_ready
             & (climb_u < hazard_to_prob(p.col("authorise_rate") * urgency, dt)))
    state.authorised = auth + climb


def note_losses(state: BatchState, dead_by_side: np.ndarray, dt: float) -> None:
    """Each government's memory of its own deaths (float[R, 2]), decaying with a 24 h time scale."""
    state.losses_since_agreement = state.losses_since_agreement * np.exp(-dt / 24.0) + dead_by_side


def follow_ceasefire(state: BatchState, world: World, entered: np.ndarray) -> None:
    """Orders that follow the ceasefire machine: an agreement orders forces down to L0; the end of an episode
    restores peacetime orders."""
    agreed = entered == AGREED
    if agreed.any():
        order_down(state, np.repeat(agreed[:, None], 2, axis=1))
    over = entered == NONE
    if over.any():
        restore_peacetime(state, world, np.repeat(over[:, None], 2, axis=1))


def order_down(state: BatchState, sides: np.ndarray) -> None:
    """The governments in ``sides`` (bool[R, 2]) order their forces down to L0 under an agreed ceasefire; their
    memory of losses starts afresh."""
    state.episode_authorised = np.where(sides, np.maximum(state.episode_authorised, state.authorised),
                                        state.episode_authorised)
    state.authorised = np.where(sides, CIVIL, state.authorised)
    state.losses_since_agreement = np.where(sides, 0.0, state.losses_since_agreement)


def restore_peacetime(state: BatchState, world: World, sides: np.ndarray) -> None:
    """A new episode for the governments in ``sides`` (bool[R, 2]): the peacetime rules of engagement apply
    again, and the episode's violations count from now."""
    peacetime = world.initial_authorised[None, :]
    state.authorised = np.where(sides, peacetime, state.authorised)
    state.episode_authorised = np.where(sides, peacetime, state.episode_authorised)
    state.lull_rearm_used = state.lull_rearm_used & ~sides
    state.first_armed_hour = np.where(sides, np.nan, state.first_armed_hour)
    state.violations_before_episode = np.where(sides, state.violations[:, None], state.violations_before_episode)
