"""Compile a loaded scenario into the arrays a batch of its runs shares (``sim.core.world.World``)."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from sim.core.ladder import ARMED, CIVIL, parse_level
from sim.core.world import INSTRUMENT_CODES, Actions, ParamBatch, Trigger, World
from sim.input.geography import SIDES
from sim.input.scenario import Scenario


def compile_world(scenario: Scenario, params: ParamBatch) -> World:
    """The arrays a batch of ``scenario``'s runs needs; the kernels use the batch's shared reaches."""
    geo, spec = scenario.geography, scenario.spec
    n_seg = geo.n_segments
    reach = np.asarray(params.first("weapon_reach_km"), dtype=np.float64)
    km = geo.segment_village_km
    exposure = np.exp(-km[None, :, :] / reach[:, None, None])
    threat_reach = np.maximum(float(params.first("threat_reach_km")), reach)
    threat_kernel = np.exp(-km[None, :, :] / threat_reach[:, None, None])
    neighbours = geo.segment_neighbours
    tension = np.full(n_seg, spec.initial_tension.default)
    for seg, value in spec.initial_tension.segments.items():
        tension[geo.segment_index(seg)] = value
    triggers: dict[int, list[Trigger]] = {}
    for t in scenario.triggers:
        triggers.setdefault(t.step, []).append(
            Trigger(t.kind, np.array(t.segments, dtype=np.int64), np.array(t.sides, dtype=np.int64), t.rung,
                    t.tension))
    govs = [getattr(spec.governments, side) for side in SIDES]
    arsenal = np.array([int(parse_level(g.arsenal)) for g in govs])
    authorised = np.minimum([int(parse_level(g.authorised)) for g in govs], arsenal)
    districts = geo.districts
    district_index = np.array([districts.index(d) for d in geo.village_district])
    return World(
        n_steps=scenario.n_steps,
        dt=spec.step_hours,
        day_of_step=np.array([scenario.time_of_step(k).timetuple().tm_yday for k in range(scenario.n_steps + 1)],
                             dtype=np.float64),
        neighbours=neighbours,
        neighbour_counts=neighbours.astype(np.int64),
        segment_disputed=np.asarray(geo.segment_disputed, dtype=bool),
        segment_resource=geo.segment_resource,
        water=np.array([r == "water" for r in geo.segment_resource]),
        km_apart=geo.segment_km_apart(),
        nearest_village=geo.nearest_villages(),
        village_side=np.asarray(geo.village_side),
        village_population=np.asarray(geo.village_population, dtype=np.int64),
        side_of_village=np.eye(2)[geo.village_side],
        district_of_village=np.eye(len(districts))[district_index],
        exposure=exposure,
        threat_kernel=threat_kernel,
        initial_tension=tension,
        triggers={step: tuple(ts) for step, ts in triggers.items()},
        arsenal=arsenal,
        initial_authorised=authorised,
        offensive=np.array([bool(g.offensive) for g in govs]),
        actions=compile_actions(scenario),
    )


def compile_actions(scenario: Scenario) -> Actions:
    geo = scenario.geography
    actions = scenario.strategy.actions
    mediator_ids = tuple(dict.fromkeys(a.mediator for a in actions))
    segments = np.ones((len(actions), geo.n_segments))
    for i, a in enumerate(actions):
        if a.segments is not None:
            segments[i] = 0.0
            segments[i, [geo.segment_index(s) for s in a.segments]] = 1.0
    leverage = action_leverage(scenario)
    when = [a.when for a in actions]
    return Actions(
        mediator=np.array([mediator_ids.index(a.mediator) for a in actions], dtype=np.int64),
        mediator_ids=mediator_ids,
        instrument=np.array([INSTRUMENT_CODES[a.instrument] for a in actions], dtype=np.int64),
        leverage=leverage,
        at_hour=np.array([np.nan if a.at_hour is None else a.at_hour for a in actions], dtype=np.float64),
        level_at_least=np.array([int(parse_level(w.level_at_least)) if w is not None and w.level_at_least
                                 else (ARMED if w is None else CIVIL - 1) for w in when], dtype=np.int64),
        deaths_at_least=np.array([w.deaths_at_least if w is not None and w.deaths_at_least is not None else 0
                                  for w in when], dtype=np.float64),
        violations_at_least=np.array([w.after_ceasefire_violations if w is not None
                                      and w.after_ceasefire_violations is not None else 0 for w in when],
                                     dtype=np.float64),
        delay=np.array([a.delay_hours for a in actions], dtype=np.float64),
        duration=np.array([np.inf if a.duration_hours is None else a.duration_hours for a in actions]),
        segments=segments,
    )


def action_leverage(scenario: Scenario, drawn: Mapping[str, tuple[float, float]] | None = None) -> np.ndarray:
    """float[A]: each action's effective leverage, the smaller of its mediator's leverages with KG and TJ.

    An action that sets its own leverage keeps it; otherwise ``drawn`` (mediator id -> (KG, TJ), a run's draw
    from the mediators' leverage priors) replaces the registry's values for the mediators it names."""
    out = []
    for a in scenario.strategy.actions:
        if a.leverage is not None:
            out.append(a.leverage.effective)
        elif drawn is not None and a.mediator in drawn:
            out.append(min(drawn[a.mediator]))
        else:
            registered = scenario.registry.get(a.mediator)
            assert registered is not None  # checked when the strategy was loaded
            out.append(registered.leverage.effective)
    return np.array(out, dtype=np.float64)
