"""The Mesa agents: villages, border posts, one government per side, and mediators.

Villages and border posts hold their state in the model's arrays (``BorderState``), one row each, so the
rules that move many of them at once run vectorised (``escalation``, ``casualties``, ``displacement``);
the agents are the named handles a user, a DataCollector or a visualisation reads. Governments and
mediators are few and decide things one at a time, so their rules live in their ``step`` methods here.
"""

from __future__ import annotations

import itertools
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.ceasefire import Phase
from sim.ladder import AIR_MLRS, ARMED, Rung
from sim.mediation import ActionSpec, Leverage, MediationEffects, Observation, trigger_met
from sim.state import hazard_to_prob

if TYPE_CHECKING:
    from sim.model import BorderModel


class _CountersByModel(weakref.WeakKeyDictionary):
    """Each model's counter of agent ids, held weakly: a model is freed once its run is over.

    Why: Mesa 3.3 keeps these counters in a class-level ``defaultdict`` keyed by the model itself
    (``mesa.Agent._ids``), so every model that ever created an agent stays in memory with all its arrays
    (mesa#3179, fixed upstream by mesa#3180 after 3.3). A calibration worker runs tens of thousands of
    models: in session 27 each of the fit's two workers had grown to 12 GB after two hours and the machine
    spent its time reclaiming memory. Mesa versions that no longer read ``_ids`` ignore this attribute."""

    def __getitem__(self, model: object) -> "itertools.count[int]":
        if model not in self:
            self[model] = itertools.count(1)
        return super().__getitem__(model)


class BorderAgent(mesa.Agent):
    """The base of the model's agents: a Mesa agent whose id counter does not keep its model alive."""

    _ids = _CountersByModel()


class Village(BorderAgent):
    """A populated place. Its people are present, displaced or dead; the injured stay present."""

    def __init__(self, model: "BorderModel", place_id: str, index: int, side: str) -> None:
        super().__init__(model)
        self.place_id = place_id
        self.index = index
        self.side = side

    @property
    def population(self) -> int:
        return int(self.model.geography.village_population[self.index])

    @property
    def present(self) -> int:
        return int(self.model.state.present[self.index])

    @property
    def displaced(self) -> int:
        return int(self.model.state.displaced[self.index])

    @property
    def dead(self) -> int:
        return int(self.model.state.civilian_dead[self.index])

    @property
    def injured(self) -> int:
        return int(self.model.state.civilian_injured[self.index])


class BorderPost(BorderAgent):
    """A border-guard post or checkpoint; its level is the heaviest fire its side uses on its segments."""

    def __init__(self, model: "BorderModel", place_id: str, side: str, segments: list[int]) -> None:
        super().__init__(model)
        self.place_id = place_id
        self.side = side
        self.segments = segments

    @property
    def level(self) -> int:
        if not self.segments:
            return int(Rung.CALM)
        side = 0 if self.side == "KG" else 1
        return int(self.model.state.posture[side, self.segments].max())


class Government(BorderAgent):
    """Authorises heavy weapons and orders forces down when a ceasefire is agreed.

    Rule (orders): under pressure the government authorises one more rung at ``authorise_rate`` per
    hour, up to its arsenal, multiplied by ``1 + orders_loss_gain x own deaths since the last agreement
    (24 h memory)`` (0 by default: off). Why the option: April 2021 went from the first shots to mortars in
    ~10 h and to armour in ~13 h as the toll mounted (24.kg 192001, 192151; utrk.kg 56978), while a
    shoot-out without losses rarely changes anyone's orders. Pressure is any of: own deaths since the last
    agreement at or above ``authorise_loss_threshold``; the opponent firing above what this side may use;
    or, once armed fire (L1+) has gone on for ``authorise_after_hours``, the opponent matching it at the
    top of what it may use (a brief shoot-out ends before orders change; a day of fire does not).
    When a ceasefire is agreed it orders its forces down to L0 and its memory of losses starts afresh.
    Rule (re-arming): while a ceasefire stands violated, at ``rearm_rate`` per hour it restores the highest
    authorisation of the episode at once: a collapsed ceasefire returns to the war's weapons within hours
    (14 Sep 2022 ceasefire, 16 Sep war with drones and MLRS), not one rung at a time from L0. A government
    that came into the episode with mortars or heavier authorised (forces deployed for war, as both sides
    were from the first hours of 14 Sep 2022: mortars at 08:45, Kabar via Trend) may re-arm at the same
    rate while the agreement still stands, once per episode: the 14 Sep evening ceasefire gave way on
    16 Sep from ~05:00 to fighting along the whole Batken border, and the night ceasefire of 16 Sep to
    mortar fire at 08:50 on 17 Sep (facts E13): the heavy weapons came back with the breach, not after
    it. Re-arming to mortars or heavier (L2 or above) makes the breach, or the next breach, a *collapse*
    (``Ceasefire.note_heavy_rearmament``), which slows its re-agreement (``ceasefire.Ceasefire``);
    restoring peacetime small-arms orders does not.
    Rule (lead time of the top rung): a government whose forces came into the episode without mortars
    authorised may authorise L4 only ``air_lead_hours`` after the episode's first armed shot
    (:meth:`_top_rung_at_hand`; 0 by default: off).
    Rule (deployed orders): a government that came into the episode with mortars or heavier authorised
    climbs at ``deployed_authorise_factor`` times the rate until a ceasefire of the episode has been
    violated; out-gunned, it answers at the full rate. Why: on 14 Sep 2022 both sides fought with the
    mortars they had brought (Kabar via Trend 3644033); tanks, MLRS and drones came with the return to war
    on 16 Sep, after the ceasefire of 14 Sep (TJ GKNB via RIA; HRW). Orders that climb with the first day's
    toll bring those weapons on day 1 instead.
    """

    def __init__(self, model: "BorderModel", side: str, authorised: int, arsenal: int) -> None:
        super().__init__(model)
        self.side = side
        self.side_index = 0 if side == "KG" else 1
        self.authorised = min(authorised, arsenal)
        self.arsenal = arsenal
        self.initial_authorised = self.authorised
        self.episode_authorised = self.authorised  # the highest authorisation of the episode so far
        self.lull_rearm_used = False  # the one re-arm in a standing agreement of this episode is used
        self.losses_since_agreement = 0.0
        self.violations_before_episode = 0  # the ceasefire's violation count when this episode began
        self.first_armed_hour: float | None = None  # when this episode's armed fire began (None: no episode)

    def note_losses(self, deaths: int, dt: float) -> None:
        self.losses_since_agreement = self.losses_since_agreement * np.exp(-dt / 24.0) + deaths

    def order_ceasefire(self) -> None:
        self.episode_authorised = max(self.episode_authorised, self.authorised)
        self.authorised = int(Rung.CIVIL)
        self.losses_since_agreement = 0.0

    def stand_down(self) -> None:
        """A new episode: the peacetime rules of engagement apply again."""
        self.authorised = self.episode_authorised = self.initial_authorised
        self.lull_rearm_used = False
        self.first_armed_hour = None
        self.violations_before_episode = self.model.ceasefire.violations

    @property
    def deployed_for_war(self) -> bool:
        """Its forces came into the episode with mortars or heavier authorised (September 2022), rather than
        with the small arms of border guards (April 2021)."""
        return self.initial_authorised > ARMED

    def _holds_deployed_orders(self) -> bool:
        """Forces deployed for war and no ceasefire of this episode violated yet: the decision to bring
        heavier weapons is the decision to go back to war."""
        return (self.deployed_for_war
                and self.model.ceasefire.violations == self.violations_before_episode)

    def _top_rung_at_hand(self) -> bool:
        """L4 (MLRS, armed drones, aircraft) may be authorised: forces deployed for war have those weapons at
        hand; a local incident's forces wait ``air_lead_hours`` from the episode's first armed shot while they
        are brought up. Why: April 2021 reached armour within ~13 h of the first shots and saw no L4 in the
        ~16 h of fire before its ceasefire (facts E07); with one pace for every rung, 54 of 100 April runs at
        the session-20 posterior draws reached L4, a median 3 h after armour (calibration/README.md, session
        21). Slowing the top rung's orders by a factor instead cut September's L4 as much as April's."""
        lead = self.model.params["air_lead_hours"]
        if lead <= 0.0 or self.deployed_for_war:
            return True
        return self.first_armed_hour is not None and self.model.hour - self.first_armed_hour >= lead

    def _may_rearm(self, phase: Phase) -> bool:
        """Re-arming answers a breach; a government whose forces came into the episode with mortars or
        heavier authorised (deployed and ready, as both sides were in September 2022) may also re-arm while
        the agreement still stands, once per episode: a decision to go back to war that, once taken and
        answered by a new agreement, is not taken again on every lull. September 2022 saw two heavy
        returns after agreements, on 16 Sep from ~05:00 and on 17 Sep at 08:50 (facts E13), not one
        after each of its ceasefires."""
        lull = (phase == Phase.AGREED and self.deployed_for_war
                and not self.lull_rearm_used)
        return phase == Phase.VIOLATED or lull

    def step(self) -> None:
        model = self.model
        u, w = model.streams["orders"].random(2)
        params = model.params
        phase = model.ceasefire.phase
        if (self._may_rearm(phase) and self.authorised < self.episode_authorised
                and w < hazard_to_prob(params["rearm_rate"], model.dt)):
            self.authorised = self.episode_authorised
            self.lull_rearm_used = self.lull_rearm_used or phase == Phase.AGREED
            if self.authorised > ARMED:
                model.ceasefire.note_heavy_rearmament()
        armed_now = model.state.rung.max() >= ARMED
        if armed_now and self.first_armed_hour is None:
            self.first_armed_hour = model.hour
        elif not armed_now and phase == Phase.NONE:
            self.first_armed_hour = None  # no episode under way: a stray shot does not start a later war's clock
        opponent_max = int(model.state.posture[1 - self.side_index].max())
        sustained = model.armed_hours >= params["authorise_after_hours"]
        pressed = (self.losses_since_agreement >= params["authorise_loss_threshold"]
                   or opponent_max > self.authorised
                   or (sustained and opponent_max >= max(self.authorised, ARMED)))
        top_ready = self.authorised + 1 < AIR_MLRS or self._top_rung_at_hand()
        if pressed and self.authorised < self.arsenal and top_ready:
            urgency = 1.0 + params["orders_loss_gain"] * self.losses_since_agreement
            if self._holds_deployed_orders() and opponent_max <= self.authorised:
                urgency *= params["deployed_authorise_factor"]
            if u < hazard_to_prob(params["authorise_rate"] * urgency, model.dt):
                self.authorised += 1


@dataclass
class _ActionState:
    spec: ActionSpec
    leverage: float
    started_hour: float | None = None
    triggered_hour: float | None = None


class Mediator(BorderAgent):
    """An outside actor (CSTO, Russia, UN, OSCE, …) acting through the instruments its strategy lists.

    Each action starts at a fixed hour or a delay after an observed trigger, and then contributes its
    effect each step, scaled by the mediator's effective leverage (``mediation.Leverage.effective``).
    Mediators draw no random numbers.
    """

    def __init__(self, model: "BorderModel", mediator_id: str, name: str, leverage: Leverage,
                 actions: list[ActionSpec]) -> None:
        super().__init__(model)
        self.mediator_id = mediator_id
        self.name = name
        self.actions = [_ActionState(a, (a.leverage or leverage).effective) for a in actions]

    @property
    def active(self) -> bool:
        return any(a.started_hour is not None for a in self.actions)

    def step(self) -> None:
        model = self.model
        obs = model.observation()
        for action in self.actions:
            if action.started_hour is None:
                self._maybe_start(action, obs)
            if action.started_hour is not None:
                self._contribute(action, obs.hour, model.effects)

    def _maybe_start(self, action: _ActionState, obs: Observation) -> None:
        spec = action.spec
        if spec.at_hour is not None:
            due = obs.hour >= spec.at_hour
        else:
            if action.triggered_hour is None and trigger_met(spec.when, obs):
                action.triggered_hour = obs.hour
            due = action.triggered_hour is not None and obs.hour >= action.triggered_hour + spec.delay_hours
        if not due:
            return
        action.started_hour = obs.hour
        if spec.instrument == "delimitation":
            self.model.delimit(spec.segments, action.leverage)

    def _contribute(self, action: _ActionState, hour: float, effects: MediationEffects) -> None:
        params = self.model.params
        spec, lev = action.spec, action.leverage
        age = hour - action.started_hour  # type: ignore[operator]
        if spec.duration_hours is not None and age >= spec.duration_hours:
            return
        if spec.instrument == "call" and age < params["call_effect_hours"]:
            effects.agree_boost += params["call_strength"] * lev
        elif spec.instrument == "summit" and age < params["summit_effect_hours"]:
            effects.agree_boost += params["summit_strength"] * lev
        elif spec.instrument == "broker":
            effects.agree_boost += params["broker_strength"] * lev
        elif spec.instrument == "monitors" and age >= params["monitor_deploy_hours"]:
            cover = self.model.segment_mask(spec.segments) * params["monitor_strength"] * lev
            np.maximum(effects.monitor_cover, np.minimum(cover, 1.0), out=effects.monitor_cover)
        elif spec.instrument == "joint_commission":
            effects.protocol_boost += params["commission_strength"] * lev
            effects.relax_boost += params["commission_strength"] * lev
