"""The rules that separate a border incident from a war: the arms gate, the front, re-arming after a
breach or in the lull of a ceasefire, collapsed ceasefires, and how stabilisation is dated."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np

from sim.core.ladder import AIR_MLRS, ARMED, ARMOUR, CALM, CIVIL, MORTARS
from sim.core.randomness import StepDraws
from sim.engine.batch import Simulation, run_batch
from sim.input.scenario import Scenario, load_scenario
from sim.model import BorderModel
from sim.rules import casualties, ceasefire
from sim.rules.ceasefire import NO_CHANGE, Phase
from sim.rules.escalation import arms_gate, contained
from sim.rules.front import front_reach, open_front
from sim.rules.orders import give_orders
from tests.conftest import SCENARIOS, with_governments

KG, TJ = 0, 1


@lru_cache(maxsize=None)
def _scenario(name: str) -> Scenario:
    return load_scenario(SCENARIOS / f"{name}.yaml")


def _draws(sim: Simulation, step: int) -> StepDraws:
    """The uniform numbers of step ``step`` for every run of ``sim``."""
    return StepDraws(sim.keys, step)


def _no_suppression(sim: Simulation) -> np.ndarray:
    return np.zeros(sim.state.rung.shape)


def _same_outcomes(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    """Every outcome of every run is the same (outcomes that never happened, NaN, count as the same)."""
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f") for k in a)


def _civil_confrontations(scenario: Scenario, runs: int, tension: float, hours: float | None = None,
                          **params: float) -> tuple[Simulation, np.ndarray]:
    """A batch of ``runs`` runs whose only event is stone-throwing on the first segment at the given tension, run
    to the end (after ``hours``, if given, instead of the scenario's own duration), and the hours each run saw
    any incident. Escalation is fast (1/h) unless ``params`` say otherwise."""
    quiet = dataclasses.replace(scenario.with_params({"incident_rate": 0.0, "escalate_rate": 1.0, **params}),
                                triggers=())
    if hours is not None:
        quiet = dataclasses.replace(quiet, spec=quiet.spec.model_copy(update={"duration_hours": hours}))
    sim = Simulation(quiet, range(runs))
    sim.state.tension[:] = tension
    sim.state.posture[:, KG, 0] = CIVIL
    sim.state.refresh_rung()
    active = np.zeros(runs)
    while not sim.done:
        sim.advance()
        active += (sim.state.rung.max(axis=1) >= CIVIL) * sim.world.dt
    return sim, active


def test_stones_at_ordinary_tension_never_turn_into_shots(mini):
    sim, _ = _civil_confrontations(mini, 40, tension=0.5, arms_tension=0.9)
    assert sim.state.peak_rung.max() == CIVIL


def test_stones_at_high_tension_can_turn_into_shots(mini):
    sim, _ = _civil_confrontations(mini, 40, tension=0.95, arms_tension=0.5)
    armed = sim.state.peak_rung.max(axis=1) >= ARMED
    assert armed.sum() >= 20


def test_a_confrontation_above_the_arms_threshold_lasts_longer(mini):
    """With no climbing at all, stones at Golovnoi-like tension go on longer than stones on an ordinary day.
    Measured over 20 days, so that the confrontations are not cut short by the end of a four-day run (at
    tension 0.95 about half of them outlast the mini scenario's 96 h)."""
    def hours_of_stones(tension: float) -> float:
        sim, hours = _civil_confrontations(mini, 400, tension, hours=480.0, arms_tension=0.7, escalate_rate=0.0)
        assert sim.state.peak_rung.max() == CIVIL
        assert (sim.state.rung.max(axis=1) == CALM).mean() > 0.99  # nearly every confrontation has ended
        return float(hours.mean())

    assert hours_of_stones(0.95) > 2.0 * hours_of_stones(0.5)


def test_arms_gate_is_zero_below_the_threshold_and_one_at_full_tension():
    gate = arms_gate(np.array([0.0, 0.7, 0.85, 1.0]), 0.7)
    np.testing.assert_allclose(gate, [0.0, 0.0, 0.5, 1.0])
    # a threshold per run, against tensions per run and segment
    gate = arms_gate(np.array([[0.7, 0.85, 1.0], [0.7, 0.85, 1.0]]), np.array([[0.7], [0.4]]))
    np.testing.assert_allclose(gate, [[0.0, 0.5, 1.0], [0.5, 0.75, 1.0]])


def _front(mini, runs: int = 4, **params: float) -> Simulation:
    """A batch on the mini border with armed fire on its first segment and a front with no limit of distance
    (``front_decay_per_km`` = 0) opening at a rate that leaves nothing to chance."""
    sim = Simulation(mini, range(runs), {"front_rate": 100.0, "front_decay_per_km": 0.0, **params})
    sim.state.posture[:, :, 0] = ARMED
    sim.state.refresh_rung()
    return sim


def _open_front(sim: Simulation, step: int = 0) -> np.ndarray:
    return open_front(sim.state, sim.params, sim.world, _draws(sim, step), _no_suppression(sim))


def test_no_front_opens_under_peacetime_orders(mini):
    sim = _front(mini)
    sim.state.authorised[:] = [ARMED, ARMED]
    before = sim.state.posture.copy()
    for step in range(50):
        assert not _open_front(sim, step).any()
    np.testing.assert_array_equal(sim.state.posture, before)


def test_a_government_at_war_opens_fire_along_the_line_and_only_its_own_side(mini):
    sim = _front(mini)
    state = sim.state
    state.authorised[:] = [MORTARS, ARMED]
    opened = _open_front(sim)
    assert (state.posture[:, KG] >= ARMED).all()          # KG at war: every segment
    assert (state.posture[:, TJ, 1:] == CALM).all()       # TJ under peacetime orders: untouched
    assert opened[:, 1:].all() and not opened[:, 0].any()  # new incidents where it was calm
    np.testing.assert_array_equal(state.rung, state.posture.max(axis=1))


def test_no_front_while_no_armed_fire_anywhere(mini):
    sim = Simulation(mini, range(4), {"front_rate": 100.0, "front_decay_per_km": 0.0})
    sim.state.authorised[:] = [MORTARS, MORTARS]
    sim.state.posture[1, KG, 0] = CIVIL  # stones are no armed fire
    sim.state.refresh_rung()
    assert (front_reach(sim.state, sim.params, sim.world) == 0.0).all()  # no fire for a local front to reach out from
    opened = _open_front(sim)
    assert not opened.any() and sim.state.rung.max() == CIVIL


def test_the_front_widens_a_war_beyond_neighbour_spread():
    scenario = _scenario("sept2022")
    only = dict(spread_rate=0.0, violation_rate=0.0, incident_rate=0.0)  # no other way for fire to reach a segment
    narrow = run_batch(scenario, range(10), dict(front_rate=0.0, **only)).summaries["segments_involved"]
    wide = run_batch(scenario, range(10), dict(front_rate=0.2, **only)).summaries["segments_involved"]
    assert narrow.max() == 1  # the trigger's segment
    assert wide.min() >= 10


def test_a_local_wars_front_fades_with_distance_but_a_deployed_one_reaches_the_whole_line():
    """Fire at Golovnoi; both governments at war, only KG deployed for war from the start. KG opens fire on
    every segment; TJ near Golovnoi only, not in the Leilek sector ~70 km away nor at Dzhekendi (120 km)."""
    scenario = with_governments(_scenario("april2021"), ("L2", "L4"), ("L1", "L4"))
    sim = Simulation(scenario, range(4), {"front_rate": 100.0, "front_decay_per_km": 0.3})
    state, world = sim.state, sim.world
    fire = scenario.geography.segment_index("golovnoi_water")
    state.posture[:, :, fire] = ARMED
    state.refresh_rung()
    state.authorised[:] = [MORTARS, MORTARS]
    km = world.km_apart[fire]
    opened = _open_front(sim)
    assert (state.posture[:, KG] >= ARMED).all()
    assert (state.posture[:, TJ][:, km < 5] >= ARMED).all()
    assert (state.posture[:, TJ][:, km > 50] == CALM).all()
    # KG's fire brings every other segment out of calm
    assert (opened.sum(axis=1) == world.n_segments - 1).all() and not opened[:, fire].any()


def test_the_front_decay_leaves_a_war_of_deployed_forces_unchanged():
    """September 2022's governments came deployed for war: their front reaches the whole line whatever the decay."""
    scenario = _scenario("sept2022")
    anywhere = run_batch(scenario, range(8), {"front_decay_per_km": 0.0}).summaries
    local = run_batch(scenario, range(8), {"front_decay_per_km": 0.3}).summaries
    assert _same_outcomes(local, anywhere)


def test_a_war_grown_from_a_local_incident_stays_nearer_its_start_with_a_front_decay():
    """April 2021's governments came with small arms authorised: a front that fades with distance involves
    fewer segments and displaces fewer people than one that reaches the whole line."""
    scenario = _scenario("april2021")
    runs = {decay: run_batch(scenario, range(20), {"front_decay_per_km": decay}).summaries for decay in (0.0, 0.1)}
    for key in ("segments_involved", "peak_displaced_kg"):
        anywhere, local = (runs[decay][key].sum() for decay in (0.0, 0.1))
        assert local < 0.8 * anywhere, key


def test_segments_are_as_far_apart_as_their_midpoints():
    scenario = _scenario("april2021")
    geo = scenario.geography
    km = geo.segment_km_apart()
    np.testing.assert_allclose(km, km.T)
    np.testing.assert_allclose(np.diag(km), 0.0)
    golovnoi, dzhekendi = geo.segment_index("golovnoi_water"), geo.segment_index("dzhekendi_toyvaron")
    assert 100 < km[golovnoi, dzhekendi] < 140  # Batken district to the eastern front, across the map
    np.testing.assert_array_equal(Simulation(scenario, [0]).world.km_apart, km)


def _give_orders(sim: Simulation, step: int, hour: float | None = None) -> None:
    """One step of both governments' orders (``give_orders``) in every run of ``sim``, with the draws of step
    ``step``, at ``hour`` (the step's start unless given)."""
    when = step * sim.world.dt if hour is None else hour
    give_orders(sim.state, sim.params, sim.world, _draws(sim, step), when)


def test_a_violated_ceasefire_restores_the_wars_orders(mini):
    for rate, expected in ((1e6, MORTARS), (0.0, CIVIL)):
        model = BorderModel(mini.with_params({"rearm_rate": rate}), seed=3)
        gov = model.government_list[KG]
        gov.authorised = MORTARS
        gov.order_ceasefire()
        assert gov.authorised == CIVIL
        model.ceasefire.phase = Phase.VIOLATED
        _give_orders(model.sim, 0)
        assert gov.authorised == expected


def _heaviest_after_first_violation(rearm_rate: float, seeds: range) -> np.ndarray:
    """For each run of September 2022, the heaviest rung fired after its first ceasefire violation (-1 if none)."""
    result = run_batch(_scenario("sept2022"), seeds, {"rearm_rate": rearm_rate, "violation_rate": 0.02},
                       record_series=True)
    phase, max_rung = result.series["ceasefire_phase"], result.series["max_rung"]  # [steps + 1, R]
    heaviest = np.full(len(seeds), -1)
    for run in range(len(seeds)):
        violated = np.flatnonzero(phase[:, run] == Phase.VIOLATED)
        if violated.size and violated[0] + 1 < phase.shape[0]:
            heaviest[run] = max_rung[violated[0] + 1:, run].max()
    return heaviest


def test_re_arming_lets_a_collapsed_ceasefire_return_to_heavy_weapons():
    """After the first violation, runs whose governments re-arm fight with heavier weapons."""
    seeds = range(32)
    without, rearmed = _heaviest_after_first_violation(0.0, seeds), _heaviest_after_first_violation(1.0, seeds)
    both = (without >= 0) & (rearmed >= 0)
    assert both.sum() >= len(seeds) // 2
    assert rearmed[both].mean() > without[both].mean()


def test_re_arming_to_mortars_or_heavier_marks_a_collapse_and_restoring_peacetime_orders_does_not(mini):
    model = BorderModel(mini.with_params({"rearm_rate": 1e6}), seed=3)
    gov = model.government_list[KG]
    model.ceasefire.phase = Phase.VIOLATED
    for step, (war_orders, collapsed) in enumerate(((ARMED, False), (MORTARS, True))):
        gov.authorised = war_orders
        model.state.episode_authorised[KG] = war_orders
        gov.order_ceasefire()
        _give_orders(model.sim, step)
        assert gov.authorised == war_orders
        assert model.ceasefire.collapsed is collapsed


def test_only_a_government_that_came_in_with_mortars_re_arms_while_the_agreement_stands(mini):
    """Forces deployed with mortars authorised (September 2022) may take the war's orders back during the
    agreed lull; forces that came in under peacetime small-arms orders wait for a breach."""
    for came_in_with, expected in (("L2", MORTARS), ("L1", CIVIL)):
        scenario = with_governments(mini, (came_in_with, "L4"), (came_in_with, "L4"))
        model = BorderModel(scenario.with_params({"rearm_rate": 1e6}), seed=3)
        gov = model.government_list[KG]
        gov.authorised = MORTARS
        gov.order_ceasefire()
        model.ceasefire.phase = Phase.AGREED
        _give_orders(model.sim, 0)
        assert gov.authorised == expected, came_in_with


def test_a_government_re_arms_in_the_lull_once_per_episode_and_after_a_breach_every_time(mini):
    scenario = with_governments(mini, ("L2", "L4"), ("L2", "L4"))
    model = BorderModel(scenario.with_params({"rearm_rate": 1e6}), seed=3)
    gov = model.government_list[KG]
    steps = iter(range(100))

    def re_arms_after_a_ceasefire_in(phase: Phase) -> bool:
        gov.authorised = MORTARS
        gov.order_ceasefire()
        model.ceasefire.phase = phase
        _give_orders(model.sim, next(steps))
        return gov.authorised == MORTARS

    assert re_arms_after_a_ceasefire_in(Phase.AGREED)
    assert not re_arms_after_a_ceasefire_in(Phase.AGREED)
    assert re_arms_after_a_ceasefire_in(Phase.VIOLATED)
    assert re_arms_after_a_ceasefire_in(Phase.VIOLATED)
    assert not re_arms_after_a_ceasefire_in(Phase.AGREED)
    gov.stand_down()  # a new episode
    assert re_arms_after_a_ceasefire_in(Phase.AGREED)


class _Draws:
    """Stands in for ``StepDraws`` where a test chooses the draw: every uniform number of run ``i`` is ``u[i]``."""

    def __init__(self, u: float | list[float]) -> None:
        self.u = np.atleast_1d(np.asarray(u, dtype=np.float64))

    def uniform(self, stream: int, shape: tuple[int, ...]) -> np.ndarray:
        u = self.u.reshape((-1,) + (1,) * len(shape))
        return np.broadcast_to(u, (self.u.size, *shape)).copy()


def _machines(mini, runs: int = 1, phase: Phase = Phase.NONE, agreements: int = 0, **params: float) -> Simulation:
    """A batch whose ceasefire machines all stand in ``phase`` (entered at hour 0) after ``agreements``
    agreements; by default an agreement's hazard is 0.1/h, ten times that after a plain breach, and the toll
    does not hurry it."""
    sim = Simulation(mini, range(runs), {"agree_rate": 0.1, "pain_weight": 0.0, "reagree_factor": 10.0, **params})
    sim.state.phase[:] = phase
    sim.state.agreements[:] = agreements
    return sim


def _update(sim: Simulation, hour: float, armed: bool, u: float | list[float], raised: bool | None = None
            ) -> np.ndarray:
    """One step of the machines ending at ``hour``, with armed fire under way or not, and the draw(s) ``u``;
    ``raised`` says the fire was opened or raised this step (by default: whenever it is armed)."""
    runs = sim.state.runs
    raised = armed if raised is None else raised
    return ceasefire.update(sim.state, sim.params, sim.world, _Draws(u), hour, np.full(runs, armed),
                            np.full(runs, raised))


def _note_heavy_rearmament(sim: Simulation) -> None:
    ceasefire.note_heavy_rearmament(sim.state, np.ones(sim.state.runs, dtype=bool))


def _counts(sim: Simulation) -> tuple[int, bool, int]:
    state = sim.state
    return int(state.collapses[0]), bool(state.collapsed[0]), int(state.violations[0])


def test_a_re_arm_in_the_lull_is_no_collapse_until_the_breach_which_collapses_at_once(mini):
    sim = _machines(mini, phase=Phase.AGREED, agreements=1)
    _note_heavy_rearmament(sim)
    assert _counts(sim) == (0, False, 0)
    assert _update(sim, 5.0, True, u=0.99).tolist() == [Phase.VIOLATED]
    assert _counts(sim) == (1, True, 1)
    # re-agreed, then breached again with nobody re-armed since: a plain breach
    assert _update(sim, 6.0, True, u=0.0).tolist() == [Phase.AGREED]
    assert _update(sim, 10.0, True, u=0.99).tolist() == [Phase.VIOLATED]
    assert _counts(sim) == (1, False, 2)


def test_a_collapsed_ceasefire_is_re_agreed_at_the_first_talks_rate_and_a_breach_faster(mini):
    """With these rates one step agrees with probability 0.095 at the first-talks rate and 0.63 at ten times
    it; a draw of 0.3 separates them. Two runs of a batch: a plain breach, and a collapse."""
    sim = _machines(mini, runs=2, phase=Phase.VIOLATED, agreements=1)
    collapsed = np.array([False, True])
    ceasefire.note_heavy_rearmament(sim.state, collapsed)
    entered = _update(sim, 5.0, True, u=0.3)
    assert sim.state.collapses.tolist() == [0, 1]
    assert entered.tolist() == [Phase.AGREED, NO_CHANGE]


def test_fire_being_wound_down_after_an_agreement_is_no_breach_and_fresh_fire_is_at_once(mini):
    """A ceasefire is breached by fire opened or raised after it was agreed, at whatever hour; fire that was
    under way and is being wound down breaks nothing, but it keeps the agreement from holding."""
    sim = _machines(mini, phase=Phase.AGREED, agreements=1, hold_hours=2.0)
    for hour in range(1, 30):
        assert _update(sim, float(hour), True, u=0.99, raised=False).tolist() == [NO_CHANGE]
    assert sim.state.violations[0] == 0 and sim.state.phase[0] == Phase.AGREED
    assert _update(sim, 30.5, True, u=0.99, raised=True).tolist() == [Phase.VIOLATED]
    assert sim.state.violations[0] == 1
    fresh = _machines(mini, phase=Phase.AGREED, agreements=1)
    assert _update(fresh, 0.5, True, u=0.99, raised=True).tolist() == [Phase.VIOLATED]  # no grace period


def test_a_collapse_is_counted_once_and_the_next_agreement_clears_it(mini):
    sim = _machines(mini, phase=Phase.VIOLATED, agreements=1)
    for hour in (1.0, 2.0, 3.0):
        _note_heavy_rearmament(sim)  # both governments may re-arm, in several steps
        _update(sim, hour, True, u=0.99)
    assert _counts(sim)[:2] == (1, True)
    assert _update(sim, 4.0, True, u=0.0).tolist() == [Phase.AGREED]
    assert not sim.state.collapsed[0]


def test_stabilisation_is_dated_from_when_fire_stopped(mini):
    sim = _machines(mini, talks_open_rate=1e6, agree_rate=1e6, hold_hours=12.0, stabilise_hours=36.0)
    history = []
    hour = 0.0
    for armed in [True] * 10 + [False] * 80:
        hour += 1.0
        fresh_fire = hour == 5.0  # fire opened anew after the agreement; the rest is being wound down
        entered = int(_update(sim, hour, armed, u=0.0 if hour <= 2 else 0.99, raised=fresh_fire)[0])
        if entered != NO_CHANGE:
            history.append((hour, Phase(entered)))
    state = sim.state
    assert state.first_agreed_hour[0] == 2.0
    assert state.phase[0] in (Phase.STABILISED, Phase.WITHDRAWAL)
    assert state.violations[0] == 1                   # the fresh fire broke the first agreement, nothing else
    entered = next(h for h, phase in history if phase == Phase.STABILISED)
    assert entered == 10.0 + 12.0 + 36.0              # the machine needs hold + stabilise hours to know
    assert state.first_stabilised_hour[0] == 10.0     # but dates it from the end of the last armed step


def _hours_to_authorise(scenario, seeds: range, losses: float, violations: int = 0, opponent_fires: int = CALM,
                        **params: float) -> list[int | None]:
    """For each seed, hours until the KG government, kept under pressure by a fixed toll, authorises one rung
    more (None: not within 400 h); ``violations`` ceasefire violations have happened so far, and the
    opponent fires at ``opponent_fires``. One run of a batch per seed."""
    sim = Simulation(scenario, seeds, {"authorise_rate": 0.05, **params})
    state = sim.state
    state.violations[:] = violations
    state.posture[:, TJ, 0] = opponent_fires
    state.refresh_rung()
    first: list[int | None] = [None] * len(seeds)
    for hour in range(1, 400):
        state.losses_since_agreement[:, KG] = losses  # held fixed: only the orders rule runs
        _give_orders(sim, hour)
        for run in np.flatnonzero(state.authorised[:, KG] > sim.world.initial_authorised[KG]):
            if first[run] is None:
                first[run] = hour
    return first


def test_with_urgent_orders_a_government_losing_more_people_authorises_sooner(mini):
    few = _hours_to_authorise(mini, range(200), losses=2.0, orders_loss_gain=0.3)
    many = _hours_to_authorise(mini, range(200), losses=20.0, orders_loss_gain=0.3)
    assert all(m is not None and (f is None or m <= f) for f, m in zip(few, many))  # same draws: never later
    assert np.median(many) * 3 < np.median([f if f is not None else 400 for f in few])  # urgency 7x vs 1.6x


def test_by_default_the_toll_beyond_the_threshold_does_not_hurry_orders(mini):
    """``orders_loss_gain`` is 0 in SPECS (off); only calibration/fitted.yaml turns it on."""
    few = _hours_to_authorise(mini, range(10), losses=2.0)
    many = _hours_to_authorise(mini, range(10), losses=20.0)
    assert few == many
    assert all(h is not None for h in few)


def test_forces_deployed_for_war_keep_their_orders_until_a_ceasefire_of_the_episode_is_violated(mini):
    """With ``deployed_authorise_factor`` 0, a government that came in with mortars (September 2022) holds
    them under pressure until a ceasefire is violated, then climbs as at factor 1 (same draws); out-gunned,
    it answers at once. One that came in with small arms (April 2021) is not held."""
    deployed = with_governments(mini, ("L2", "L4"), ("L2", "L4"))
    seeds = range(8)

    def hours(scenario, factor: float, **kwargs) -> list[int | None]:
        return _hours_to_authorise(scenario, seeds, losses=20.0, deployed_authorise_factor=factor, **kwargs)

    climbing = hours(deployed, 1.0)
    assert all(h is not None for h in climbing)
    assert hours(deployed, 0.0) == [None] * len(seeds)
    assert hours(deployed, 0.0, violations=1) == climbing
    assert hours(deployed, 0.0, opponent_fires=ARMOUR) == hours(deployed, 1.0, opponent_fires=ARMOUR)
    peacetime = with_governments(mini, ("L1", "L4"), ("L1", "L4"))
    assert hours(peacetime, 0.0) == hours(peacetime, 1.0)


def test_a_new_episode_holds_deployed_orders_again_after_an_earlier_violation(mini):
    """The hold counts violations from the start of the episode: after ``stand_down`` an old violation no
    longer frees the orders."""
    deployed = with_governments(mini, ("L2", "L4"), ("L2", "L4"))
    model = BorderModel(deployed.with_params({"authorise_rate": 1e6, "deployed_authorise_factor": 0.0}), seed=1)
    gov = model.government_list[KG]
    gov.losses_since_agreement = 20.0
    model.ceasefire.violations = 1
    _give_orders(model.sim, 0)
    assert gov.authorised == MORTARS + 1
    gov.stand_down()
    gov.losses_since_agreement = 20.0
    _give_orders(model.sim, 1)
    assert gov.authorised == MORTARS


def _orders_at(sim: Simulation, hour: int, opponent_fires: int) -> None:
    """One step of the governments' orders at ``hour`` in every run of ``sim``, with KG under a toll of 20 dead,
    while TJ fires at ``opponent_fires`` on segment 0."""
    sim.state.posture[:, TJ, 0] = opponent_fires
    sim.state.refresh_rung()
    sim.state.losses_since_agreement[:, KG] = 20.0
    _give_orders(sim, hour, float(hour))


def _hours_of_next_orders(scenario, seeds: range, authorised: int, lead: float) -> list[int | None]:
    """For each seed, hours from the first armed shot (hour 0) until the KG government, holding ``authorised``
    under a heavy toll, authorises one rung more, with ``air_lead_hours`` = ``lead`` (None: not within 200 h)."""
    sim = Simulation(scenario, seeds, {"authorise_rate": 0.3, "orders_loss_gain": 0.5, "air_lead_hours": lead})
    sim.state.authorised[:, KG] = authorised
    first: list[int | None] = [None] * len(seeds)
    for hour in range(200):
        _orders_at(sim, hour, ARMED)
        for run in np.flatnonzero(sim.state.authorised[:, KG] > authorised):
            if first[run] is None:
                first[run] = hour
    return first


def test_a_local_incidents_forces_wait_the_lead_time_for_the_top_rung_and_deployed_ones_do_not(mini):
    """With ``air_lead_hours`` 48, a government that came in with small arms (April 2021) authorises L4 no
    sooner than 48 h after the first armed shot, though at 0 it does so within hours; the lower rungs' orders
    and a government that came in with mortars (September 2022) are unchanged (same draws)."""
    local = with_governments(mini, ("L1", "L4"), ("L1", "L4"))
    deployed = with_governments(mini, ("L2", "L4"), ("L2", "L4"))
    seeds = range(16)

    def hours(scenario, authorised: int, lead: float) -> list[int | None]:
        return _hours_of_next_orders(scenario, seeds, authorised, lead)

    at_once = hours(local, ARMOUR, 0.0)
    assert all(h is not None and h < 48 for h in at_once)
    waiting = hours(local, ARMOUR, 48.0)
    assert all(h is not None and h >= 48 for h in waiting)
    assert hours(local, MORTARS, 48.0) == hours(local, MORTARS, 0.0)      # armour needs no lead time
    assert hours(deployed, ARMOUR, 48.0) == hours(deployed, ARMOUR, 0.0)


def test_a_new_episode_waits_the_lead_time_again(mini):
    """The lead time counts from the episode's first armed shot: after ``stand_down`` the clock restarts, and
    it is not started by fire that ended with no talks or agreement."""
    local = with_governments(mini, ("L1", "L4"), ("L1", "L4"))
    model = BorderModel(local.with_params({"authorise_rate": 1e6, "air_lead_hours": 10.0}), seed=1)
    government = model.government_list[KG]
    government.authorised = ARMOUR
    _orders_at(model.sim, 0, ARMED)
    assert government.authorised == ARMOUR and government.first_armed_hour == 0.0
    _orders_at(model.sim, 11, ARMED)
    assert government.authorised == AIR_MLRS
    government.stand_down()
    assert government.first_armed_hour is None
    _orders_at(model.sim, 14, ARMED)            # fire again: the clock starts ...
    assert government.first_armed_hour == 14.0
    _orders_at(model.sim, 15, CALM)             # ... and stops when the fire ends with no talks or agreement
    assert government.first_armed_hour is None
    government.authorised = ARMOUR
    _orders_at(model.sim, 19, ARMED)
    assert government.authorised == ARMOUR and government.first_armed_hour == 19.0


def test_with_a_long_lead_time_april_2021_never_reaches_the_top_rung():
    """Both governments of april2021.yaml came in with small arms, so no run reaches L4 before the lead time
    (neither side fires it first, and answering in kind needs someone to fire it)."""
    result = run_batch(_scenario("april2021"), range(40), {"air_lead_hours": 1e4})
    assert int(result.peak_rung.max()) < AIR_MLRS
    assert (result.summaries["max_rung"] >= ARMOUR).any()  # the wars go as far as the rung below


def _soldiers_hit(mini, runs: list[tuple[int, float]], hours: int = 400) -> np.ndarray:
    """Tajik soldiers hit over ``hours`` of Kyrgyz mortar fire, in one run of a batch (all with seed 0) per
    (segments under fire, ``force_pooling``): the first that many segments are under fire."""
    sim = Simulation(mini, [0] * len(runs), [{"force_pooling": pooling, "military_casualty_rate": 0.5}
                                            for _, pooling in runs])
    state = sim.state
    for run, (segments_under_fire, _) in enumerate(runs):
        state.posture[run, KG, :segments_under_fire] = MORTARS
    state.refresh_rung()
    for step in range(hours):
        casualties.inflict(state, sim.params, sim.world, _draws(sim, step))
    return state.military_dead[:, TJ] + state.military_injured[:, TJ]


def test_pooled_forces_lose_no_more_soldiers_on_a_wide_front_than_on_one_segment(mini):
    """``force_pooling`` 0: a side's soldiers are one force, and three segments under the same fire cost it what
    one does; 1 (the default): every segment has a full force of its own, and three cost three times as much."""
    one, three, three_pooled, one_pooled = _soldiers_hit(mini, [(1, 1.0), (3, 1.0), (3, 0.0), (1, 0.0)])
    assert one > 100
    assert 2.5 < three / one < 3.5
    assert 0.8 < three_pooled / one < 1.25
    assert one_pooled == one          # one segment: nothing to pool (same seed, same draws)


def _hit_by(mini, rung: int, small_arms_lethality: list[float], hours: int = 400) -> np.ndarray:
    """Tajik soldiers hit over ``hours`` of Kyrgyz fire at ``rung`` on one segment, one run (seed 0) per value of
    ``small_arms_lethality``."""
    sim = Simulation(mini, [0] * len(small_arms_lethality),
                     [{"small_arms_lethality": x, "military_casualty_rate": 0.5} for x in small_arms_lethality])
    sim.state.posture[:, KG, 0] = rung
    sim.state.refresh_rung()
    for step in range(hours):
        casualties.inflict(sim.state, sim.params, sim.world, _draws(sim, step))
    return sim.state.military_dead[:, TJ] + sim.state.military_injured[:, TJ]


def test_small_arms_lethality_scales_small_arms_fire_and_nothing_heavier(mini):
    """Soldiers under small-arms fire are hit in proportion to ``small_arms_lethality`` (a Poisson count with
    mean 0.5 x lethality per hour: 400 h at 0.1 and at 1.0 give about 20 and 200), while under mortar fire the
    parameter changes no number."""
    low, high = _hit_by(mini, ARMED, [0.1, 1.0])
    assert 8 <= low <= 35 and 160 <= high <= 240
    mortar_low, mortar_high = _hit_by(mini, MORTARS, [0.1, 1.0])
    assert mortar_low == mortar_high > 100


# --- two regimes: a shoot-out the commanders contain, a war the government decides ---------------------------

def _shoot_out(scenario: Scenario, runs: int, **params: float) -> Simulation:
    """A batch whose only event is small-arms fire between both sides on the first segment, under peacetime
    orders (small arms authorised), with no background incidents."""
    quiet = dataclasses.replace(scenario.with_params({"incident_rate": 0.0, **params}), triggers=())
    quiet = with_governments(quiet, ("L1", "L4"), ("L1", "L4"))
    sim = Simulation(quiet, range(runs))
    sim.state.posture[:, :, 0] = ARMED
    sim.state.refresh_rung()
    return sim


def _hours_of_fire(sim: Simulation) -> np.ndarray:
    """Hours each run of ``sim`` spends with armed fire anywhere, run to the scenario's end."""
    hours = np.zeros(sim.state.runs)
    while not sim.done:
        hours += (sim.state.rung.max(axis=1) >= ARMED) * sim.world.dt
        sim.advance()
    return hours


def test_without_losses_a_shoot_out_under_peacetime_orders_never_draws_heavier_weapons(mini):
    """War is a government's decision under pressure: with nobody hurt and nobody firing above its orders,
    no government authorises mortars, however long the fire lasts."""
    sim = _shoot_out(mini, 40, military_casualty_rate=0.0, civilian_casualty_rate=0.0, crowd_hit_rate=0.0,
                     contain_rate=0.05, spread_rate=0.0)
    hours = _hours_of_fire(sim)
    assert hours.max() > 12, "the fire never lasted: the test would not see a decision taken under it"
    assert sim.state.peak_rung.max() <= ARMED
    assert (sim.state.authorised <= ARMED).all()


def test_commanders_contain_a_shoot_out_faster_the_higher_contain_rate(mini):
    slow = _hours_of_fire(_shoot_out(mini, 60, contain_rate=0.05, spread_rate=0.0))
    fast = _hours_of_fire(_shoot_out(mini, 60, contain_rate=2.0, spread_rate=0.0))
    assert fast.mean() < 0.5 * slow.mean()
    assert np.median(fast) <= 3.0  # both sides step down within about an hour each


def test_losses_that_force_a_decision_end_containment(mini):
    """Once a government has authorised mortars the fire is its war: the commanders' rate no longer applies,
    and a government that came deployed for war is never contained."""
    sim = _shoot_out(mini, 4)
    assert contained(sim.state, sim.world).all()
    sim.state.authorised[:2, TJ] = MORTARS
    assert contained(sim.state, sim.world).tolist() == [False, False, True, True]
    deployed = Simulation(with_governments(mini, ("L2", "L4"), ("L1", "L4")), range(2))
    assert not contained(deployed.state, deployed.world).any()


def test_a_heavy_toll_under_peacetime_orders_can_still_become_a_war(mini):
    """The stated reason for a war from a shoot-out: own dead at or above the threshold press a government to
    authorise heavier weapons before the commanders contain the fire."""
    sim = _shoot_out(mini, 40, contain_rate=0.05, authorise_rate=0.5)
    sim.state.losses_since_agreement[:, KG] = 5.0
    while not sim.done:
        sim.advance()
    assert (sim.state.peak_rung.max(axis=1) >= MORTARS).mean() > 0.5
