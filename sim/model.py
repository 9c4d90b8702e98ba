"""BorderModel: the Mesa model that ties the border's state, its agents and its rules together.

One step is ``step_hours`` (default one hour). Within a step, in this order: scheduled triggers fire;
mediators act; governments give orders; tension moves; background incidents start; sides escalate,
retaliate and de-escalate; fire spreads to neighbouring segments; governments at war open fire along the
front; an offensive's armour advances along the roads; sides break a ceasefire in force;
casualties are inflicted; people
evacuate or return; the ceasefire machine advances; the DataCollector records the step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mesa
from mesa.agent import AgentSet
import numpy as np

from sim import casualties, crowds, displacement, escalation, incursion, tension
from sim.agents import BorderPost, Government, Mediator, Village
from sim.ceasefire import Ceasefire, Phase
from sim.geography import SIDES
from sim.ladder import ARMED, CALM, CIVIL, parse_level
from sim.mediation import MediationEffects, Observation
from sim.scenario import ResolvedTrigger, Scenario, load_scenario
from sim.state import BorderState

DEFAULT_SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "sept2022.yaml"
STREAMS = ("incidents", "escalation", "spread", "violations", "casualties", "ceasefire", "orders", "front",
           "crowds", "incursions", "advance")
"""Independent random streams, one per rule, so a change in one rule's draws leaves the others aligned."""

RETURN_PHASES = (Phase.HOLDING, Phase.STABILISED, Phase.WITHDRAWAL)


class BorderModel(mesa.Model):
    """Tension, clashes, ceasefires and mediation on the border of one scenario.

    Args:
        scenario: a loaded :class:`~sim.scenario.Scenario` or the path of a scenario YAML file.
        seed: seed for every random draw of the run (Mesa convention); or pass ``rng``.
        rng: a numpy ``Generator`` or seed, instead of ``seed``.
        strategy: a mediation strategy name or path replacing the scenario's own.
        record_series: collect the per-step series in the DataCollector (default). A calibration run, which
            reads only the run's outcomes, turns it off: collecting costs 15-20% of a calm year
            (benchmarks/README.md).
        **overrides: model parameters to replace (names from ``sim.parameters.SPECS``), which is how
            ``mesa.batch_run`` and sensitivity analyses sweep them.
    """

    def __init__(self, scenario: Scenario | str | Path = DEFAULT_SCENARIO, seed: int | None = None,
                 rng: Any = None, strategy: str | None = None, record_series: bool = True,
                 **overrides: Any) -> None:
        super().__init__(seed=seed, rng=rng)
        self.record_series = record_series
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario, strategy)
        elif strategy is not None:
            scenario = scenario.with_strategy(strategy)
        if overrides:
            scenario = scenario.with_params(overrides)
        self.scenario = scenario
        self.geography = geo = scenario.geography
        self.params = scenario.params
        self.dt = scenario.spec.step_hours
        self.n_steps = scenario.n_steps
        children = np.random.SeedSequence(int(self.rng.integers(2**63))).spawn(len(STREAMS))
        self.streams = {name: np.random.default_rng(child) for name, child in zip(STREAMS, children)}
        init = scenario.spec.initial_tension
        self.state = BorderState.initial(geo, self.params, init.default, init.segments)
        self.ceasefire = Ceasefire()
        self.effects = MediationEffects(monitor_cover=np.zeros(geo.n_segments))
        self.armed_hours = 0.0  # hours of continuous armed fire anywhere, up to this step
        self.first_hour_at_rung: dict[int, float] = {}  # end hour of the first step any segment reached each rung
        self.peak_displaced = [0, 0]
        districts = geo.districts
        self._village_district = np.array([districts.index(d) for d in geo.village_district])
        self.peak_displaced_district = np.zeros(len(districts), dtype=np.int64)  # in geo.districts' order
        self._water = np.array([r == "water" for r in geo.segment_resource])
        self._village_masks = (geo.village_side == 0, geo.village_side == 1)
        self._kg_villages = self._village_masks[0].astype(float)  # for per-side totals as dot products
        self._exposure = casualties.exposure_kernels(geo, self.params, self._village_masks)
        self._threat = displacement.threat_kernels(self.params, geo.segment_village_km)
        self._crowds_on = crowds.enabled(self.params)
        self._nearest_village = geo.nearest_villages()
        govs = scenario.spec.governments
        self._offensive = np.array([getattr(govs, side).offensive for side in SIDES])
        self._incursions_on = incursion.enabled(self.params, self._offensive)
        self._advance_on = self.params["road_advance_rate"] > 0 and bool(self._offensive.any())
        self._roads = np.array([r == "road" for r in geo.segment_resource], dtype=float)
        self._front_closeness = np.exp(-self.params["front_decay_per_km"] * geo.segment_km_apart())
        self._day_of_step = [scenario.time_of_step(k).timetuple().tm_yday for k in range(self.n_steps + 1)]
        self._mask_cache: dict[tuple[str, ...] | None, np.ndarray] = {}
        self._triggers_by_step: dict[int, list[ResolvedTrigger]] = {}
        for trig in scenario.triggers:
            self._triggers_by_step.setdefault(trig.step, []).append(trig)
        self._create_agents()
        self._deployed_for_war = np.array([gov.deployed_for_war for gov in self.government_list])
        self.datacollector = mesa.DataCollector(model_reporters=REPORTERS)
        self._record()

    # --- set-up -------------------------------------------------------------------------------------
    def _create_agents(self) -> None:
        geo, spec = self.geography, self.scenario.spec
        places = {p.id: p for p in geo.spec.places}
        for i, vid in enumerate(geo.village_ids):
            Village(self, vid, i, places[vid].side)
        for place in geo.spec.places:
            if place.kind in ("post", "checkpoint"):
                BorderPost(self, place.id, place.side, geo.segments_at(place.id))
        for side in SIDES:
            gov = getattr(spec.governments, side)
            Government(self, side, int(parse_level(gov.authorised)), int(parse_level(gov.arsenal)))
        by_mediator: dict[str, list] = {}
        for action in self.scenario.strategy.actions:
            by_mediator.setdefault(action.mediator, []).append(action)
        for mediator_id, actions in by_mediator.items():
            m = self.scenario.registry.get(mediator_id)
            assert m is not None  # checked when the strategy was loaded
            Mediator(self, m.id, m.name, m.leverage, actions)
        self.governments = self.agents_by_type[Government]
        self.mediators = self.agents_by_type.get(Mediator, AgentSet([], random=self.random))
        # fixed-order tuples for reading in the hot path (iterating an AgentSet walks weak references)
        self.government_list: tuple[Government, ...] = tuple(self.governments)
        self.mediator_list: tuple[Mediator, ...] = tuple(self.mediators)

    # --- what agents and rules query ----------------------------------------------------------------
    @property
    def hour(self) -> float:
        """Hours since the scenario's start at the beginning of the current step."""
        return max(self.steps - 1, 0) * self.dt

    @property
    def onset_hour(self) -> float | None:
        """End hour of the first step with any incident (rung >= L0): what every ``hours_*`` outcome counts from."""
        return self.first_hour_at_rung.get(CIVIL)

    def total_deaths(self) -> int:
        s = self.state
        return int(s.military_dead.sum() + s.civilian_dead.sum())

    def observation(self) -> Observation:
        """What mediators see this step (computed once per step, before they act)."""
        return self._observation

    def segment_mask(self, segments: list[str] | None) -> np.ndarray:
        key = None if segments is None else tuple(segments)
        if key not in self._mask_cache:
            mask = np.ones(self.geography.n_segments)
            if key is not None:
                mask[:] = 0.0
                mask[[self.geography.segment_index(s) for s in key]] = 1.0
            self._mask_cache[key] = mask
        return self._mask_cache[key]

    def delimit(self, segments: list[str] | None, leverage: float) -> None:
        """Agree the listed segments' line beforehand: their dispute shrinks by strength × leverage."""
        cut = self.params["delimitation_strength"] * leverage * self.segment_mask(segments)
        self.state.dispute *= 1.0 - np.minimum(cut, 1.0)

    # --- the step -----------------------------------------------------------------------------------
    def step(self) -> None:
        state, params, dt, geo = self.state, self.params, self.dt, self.geography
        hour = self.hour
        started = self._apply_triggers(self.steps - 1)

        self.effects = MediationEffects(monitor_cover=np.zeros(geo.n_segments))
        if self.mediator_list:
            self._observation = Observation(hour, int(state.rung.max()), self.total_deaths(),
                                            self.ceasefire.violations)
            self.mediators.do("step")
        self.governments.do("step")
        cover = self.effects.monitor_cover
        discipline, resolve = self._discipline()
        suppress = 1.0 - (1.0 - discipline) * (1.0 - cover)
        ceiling = np.array([g.authorised for g in self.government_list])
        arsenal = np.array([g.arsenal for g in self.government_list])

        relax = self.effects.relax_boost + (params["withdrawal_relief"]
                                            if self.ceasefire.phase == Phase.WITHDRAWAL else 0.0)
        day = self._day_of_step[self.steps - 1]
        tension.update_tension(state, params, dt, day, self._water, geo.segment_neighbours, relax)
        started |= escalation.ignite(state, params, dt, self.streams["incidents"], suppress)
        escalation.move_postures(state, params, dt, self.streams["escalation"], ceiling, arsenal,
                                 suppress, params["ceasefire_deescalate_rate"])
        started |= escalation.spread(state, params, dt, self.streams["spread"], geo.segment_neighbours,
                                     ceiling, arsenal, suppress)
        started |= escalation.open_front(state, params, dt, self.streams["front"], ceiling, suppress,
                                         self._deployed_for_war, self._front_closeness)
        if self._advance_on:
            started |= escalation.advance_on_roads(state, params, dt, self.streams["advance"], ceiling,
                                                   self._offensive, self._roads, suppress)
        started |= escalation.break_ceasefire(state, params, dt, self.streams["violations"], arsenal,
                                              (1.0 - cover) / resolve, self.ceasefire.in_force)
        self._count_incidents(started)

        losses = casualties.inflict(state, geo, params, dt, self.streams["casualties"], self._village_masks,
                                    self._exposure)
        if self._crowds_on:
            crowds.expose(state, params, dt, self.streams["crowds"], self._nearest_village, losses)
        if self._incursions_on:
            incursion.expose(state, params, dt, self.streams["incursions"], self._offensive, self._nearest_village,
                             losses)
        for gov in self.government_list:
            gov.note_losses(int(losses.dead_by_segment[gov.side_index].sum()), dt)
        self._count_lethal(losses.dead_by_segment.sum(axis=0))

        returns = self.ceasefire.phase in RETURN_PHASES or (
            self.ceasefire.phase == Phase.NONE and not (state.rung >= ARMED).any())
        displacement.move_people(state, params, dt, self._threat, returns)
        if self._crowds_on:
            crowds.gather(state, params, self._nearest_village)  # with the people still present after evacuation

        top = int(state.rung.max())
        np.maximum(state.peak_rung, state.rung, out=state.peak_rung)
        for rung in range(CIVIL, top + 1):  # events are dated at the end of the step they happen in
            self.first_hour_at_rung.setdefault(rung, hour + dt)
        armed = top >= ARMED
        self.armed_hours = self.armed_hours + dt if armed else 0.0
        u = float(self.streams["ceasefire"].random())
        changed = self.ceasefire.update(hour + dt, dt, armed, self.total_deaths(), params,
                                        self.effects.agree_boost, self.effects.protocol_boost, u)
        if changed == Phase.AGREED:
            self.governments.do("order_ceasefire")
        elif changed == Phase.NONE:
            self.governments.do("stand_down")

        if self.steps >= self.n_steps:
            self.running = False
        self._record()

    def displaced_by_side(self) -> tuple[int, int]:
        """People displaced now from KG and from TJ villages."""
        displaced = self.state.displaced
        displaced_kg = int(self._kg_villages @ displaced)
        return displaced_kg, int(displaced.sum()) - displaced_kg

    def _record(self) -> None:
        self.peak_displaced = [max(peak, now) for peak, now in zip(self.peak_displaced, self.displaced_by_side())]
        by_district = np.bincount(self._village_district, weights=self.state.displaced,
                                  minlength=len(self.peak_displaced_district))
        np.maximum(self.peak_displaced_district, by_district.astype(np.int64), out=self.peak_displaced_district)
        if self.record_series:
            self.metrics = measure(self)  # read by the DataCollector's reporters
            self.datacollector.collect(self)

    def _discipline(self) -> tuple[float, float]:
        """The share of the escalation hazard a ceasefire in force suppresses, and the resolve factor.

        Each re-agreement is enforced more firmly (``reagreement_resolve``): the part of the escalation
        and violation hazards left unsuppressed is divided by ``1 + resolve * (agreements - 1)``.
        """
        if not self.ceasefire.in_force:
            return 0.0, 1.0
        params = self.params
        resolve = 1.0 + params["reagreement_resolve"] * max(self.ceasefire.agreements - 1, 0)
        return 1.0 - (1.0 - params["ceasefire_discipline"]) / resolve, resolve

    def _apply_triggers(self, step: int) -> np.ndarray:
        """Scheduled events of this step; returns the mask of segments they brought out of calm."""
        state = self.state
        was_calm = state.rung == CALM
        for trig in self._triggers_by_step.get(step, ()):
            segs = list(trig.segments)
            if trig.kind == "incident":
                for side in trig.sides:
                    rung = min(trig.rung, self.government_list[side].arsenal)  # nobody fires what they lack
                    state.posture[side, segs] = np.maximum(state.posture[side, segs], rung)
                state.refresh_rung()
            elif trig.kind == "tension":
                state.tension[segs] = np.maximum(state.tension[segs], trig.tension)
            else:  # mobilisation
                for gov in self.government_list:
                    if gov.side_index in trig.sides:
                        gov.authorised = max(gov.authorised, min(trig.rung, gov.arsenal))
        return was_calm & (state.rung > CALM)

    def _count_incidents(self, started: np.ndarray) -> None:
        n = int(started.sum())
        if n:
            self.state.incidents += n
            self.state.episode_deaths[started] = 0

    def _count_lethal(self, dead_by_segment: np.ndarray) -> None:
        s = self.state
        newly_lethal = (dead_by_segment > 0) & (s.episode_deaths == 0)
        s.lethal_incidents += int(newly_lethal.sum())
        s.episode_deaths += dead_by_segment


METRICS = (
    "hour", "max_rung", "active_segments", "armed_segments", "mean_tension",
    "deaths_kg_military", "deaths_tj_military", "deaths_kg_civilian", "deaths_tj_civilian",
    "injured_kg", "injured_tj", "displaced_kg", "displaced_tj", "ceasefire_phase",
    "authorised_kg", "authorised_tj", "mediators_active", "incidents",
)
"""Per-step series the DataCollector records (one column each in ``series.csv``)."""


def measure(model: BorderModel) -> dict[str, Any]:
    """All per-step series at once: cheaper than one reporter function per column."""
    s = model.state
    kg = model._kg_villages
    civ_dead, civ_hurt = s.civilian_dead, s.civilian_injured
    dead_kg, hurt_kg = int(kg @ civ_dead), int(kg @ civ_hurt)
    displaced_kg, displaced_tj = model.displaced_by_side()
    rung = s.rung
    return {
        "hour": model.steps * model.dt,
        "max_rung": int(rung.max()),
        "active_segments": int(np.count_nonzero(rung)),
        "armed_segments": int(np.count_nonzero(rung >= ARMED)),
        "mean_tension": float(s.tension.mean()),
        "deaths_kg_military": int(s.military_dead[0]),
        "deaths_tj_military": int(s.military_dead[1]),
        "deaths_kg_civilian": dead_kg,
        "deaths_tj_civilian": int(civ_dead.sum()) - dead_kg,
        "injured_kg": int(s.military_injured[0]) + hurt_kg,
        "injured_tj": int(s.military_injured[1] + civ_hurt.sum()) - hurt_kg,
        "displaced_kg": displaced_kg,
        "displaced_tj": displaced_tj,
        "ceasefire_phase": model.ceasefire.phase.name.lower(),
        "authorised_kg": int(model.government_list[0].authorised),
        "authorised_tj": int(model.government_list[1].authorised),
        "mediators_active": sum(med.active for med in model.mediator_list),
        "incidents": s.incidents,
    }


def _reporter(name: str):
    return lambda model: model.metrics[name]


REPORTERS: dict[str, Any] = {name: _reporter(name) for name in METRICS}
