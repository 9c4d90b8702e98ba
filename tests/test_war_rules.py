"""The rules that separate a border incident from a war: the arms gate, the front, re-arming after a
breach or in the lull of a ceasefire, collapsed ceasefires, and how stabilisation is dated."""

from __future__ import annotations

import dataclasses

import numpy as np

from sim import casualties
from sim.ceasefire import Ceasefire, Phase
from sim.escalation import arms_gate, first_use_divisor, move_postures, open_front
from sim.ladder import AIR_MLRS, ARMED, ARMOUR, CALM, CIVIL, MORTARS
from sim.model import BorderModel
from sim.outcomes import summarise
from tests.conftest import SCENARIOS, finished, with_governments


def _civil_confrontation(scenario, seed: int, tension: float, **params: float) -> BorderModel:
    """A model whose only event is stone-throwing on the first segment at the given tension, run to the end.
    Escalation is fast (1/h) unless ``params`` say otherwise."""
    quiet = dataclasses.replace(scenario.with_params({"incident_rate": 0.0, "escalate_rate": 1.0, **params}),
                                triggers=())
    model = BorderModel(quiet, seed=seed)
    model.state.tension[:] = tension
    model.state.posture[0, 0] = CIVIL
    model.state.refresh_rung()
    model.run_model()
    return model


def test_stones_at_ordinary_tension_never_turn_into_shots(mini):
    for seed in range(10):
        model = _civil_confrontation(mini, seed, tension=0.5, arms_tension=0.9)
        assert model.state.peak_rung.max() == CIVIL


def test_stones_at_high_tension_can_turn_into_shots(mini):
    armed = [_civil_confrontation(mini, seed, tension=0.95, arms_tension=0.5).state.peak_rung.max()
             >= ARMED for seed in range(10)]
    assert sum(armed) >= 5


def test_a_confrontation_above_the_arms_threshold_lasts_longer(mini):
    """With no climbing at all, stones at Golovnoi-like tension go on longer than stones on an ordinary day."""
    def hours_of_stones(tension: float) -> float:
        hours = []
        for seed in range(20):
            model = _civil_confrontation(mini, seed, tension, arms_tension=0.7, escalate_rate=0.0)
            series = model.datacollector.get_model_vars_dataframe()
            hours.append(float((series.max_rung >= CIVIL).sum()))
        return float(np.mean(hours))

    assert hours_of_stones(0.95) > 2.0 * hours_of_stones(0.5)


def test_arms_gate_is_zero_below_the_threshold_and_one_at_full_tension():
    gate = arms_gate(np.array([0.0, 0.7, 0.85, 1.0]), 0.7)
    np.testing.assert_allclose(gate, [0.0, 0.0, 0.5, 1.0])


def test_a_first_use_is_pooled_over_the_segments_at_a_sides_heaviest_rung():
    """KG fires small arms on four segments (its heaviest) and is calm on one; TJ fires mortars on one segment and
    small arms on three. TJ's mortars are already in use, so its small-arms segments climb to them freely, and
    only its climb into armour, from its one mortar segment, is a first use. KG's climbs into mortars are one
    decision (÷ n ** pooling) over the segments where it is not out-gunned (an out-gunned side answers in
    kind instead)."""
    own = np.array([[ARMED, ARMED, ARMED, ARMED, CALM],
                    [MORTARS, ARMED, ARMED, ARMED, CALM]])
    outgunned = own[::-1] > own
    may_climb = own > CALM
    np.testing.assert_array_equal(first_use_divisor(own, outgunned, may_climb, 0.0), np.ones(own.shape))
    divisor = first_use_divisor(own, outgunned, may_climb, 1.0)
    np.testing.assert_array_equal(divisor, [[1, 3, 3, 3, 1], [1, 1, 1, 1, 1]])  # KG out-gunned on segment 0
    np.testing.assert_allclose(first_use_divisor(own, own < CALM, may_climb, 0.5),
                               [[2, 2, 2, 2, 1], [1, 1, 1, 1, 1]])


def _hours_with_a_first_mortar(pooling: float, hours: int = 200) -> int:
    """Of ``hours`` independent hours of small-arms fire on every April 2021 segment, with mortars authorised,
    how many see KG fire its first mortar somewhere."""
    model = BorderModel(SCENARIOS / "april2021.yaml", seed=0)
    params = dict(model.params, escalate_rate=0.2, first_use_pooling=pooling, tension_gain=0.0)
    rng = np.random.default_rng(1)
    n = model.state.rung.size
    cap = np.array([MORTARS, ARMED])
    count = 0
    for _ in range(hours):
        state = dataclasses.replace(model.state, posture=np.full((2, n), ARMED))
        state.refresh_rung()
        move_postures(state, params, 1.0, rng, cap, np.array([5, 5]), np.zeros(n), 0.0)
        count += bool((state.posture[0] >= MORTARS).any())
    return count


def test_pooling_makes_a_wide_fronts_first_use_as_slow_as_one_segments():
    """43 segments, each climbing at 0.2 x 0.8 (the profile from small arms) per hour: unpooled, some segment
    brings mortars in nearly every hour; pooled, the side does in ~15% of hours (1 - exp(-0.16))."""
    assert _hours_with_a_first_mortar(0.0) > 190
    assert 15 <= _hours_with_a_first_mortar(1.0) <= 50


def _front_state(mini):
    model = BorderModel(mini, seed=0)
    state = model.state
    state.posture[:, 0] = ARMED  # armed fire on the first segment
    state.refresh_rung()
    return state


def _front_anywhere(state) -> tuple[np.ndarray, np.ndarray]:
    """``deployed`` and ``closeness`` for a front with no limit of distance (``front_decay_per_km`` = 0)."""
    n = state.rung.size
    return np.array([False, False]), np.ones((n, n))


def test_no_front_opens_under_peacetime_orders(mini):
    state = _front_state(mini)
    before = state.posture.copy()
    rng = np.random.default_rng(0)
    for _ in range(50):
        open_front(state, dict(mini.params, front_rate=100.0), 1.0, rng, np.array([ARMED, ARMED]),
                   np.zeros(state.rung.size), *_front_anywhere(state))
    np.testing.assert_array_equal(state.posture, before)


def test_a_government_at_war_opens_fire_along_the_line_and_only_its_own_side(mini):
    state = _front_state(mini)
    opened = open_front(state, dict(mini.params, front_rate=100.0), 1.0, np.random.default_rng(0),
                        np.array([MORTARS, ARMED]), np.zeros(state.rung.size), *_front_anywhere(state))
    assert (state.posture[0] >= ARMED).all()          # KG at war: every segment
    assert (state.posture[1, 1:] == CALM).all()       # TJ under peacetime orders: untouched
    assert opened[1:].all() and not opened[0]         # new incidents where it was calm


def test_no_front_while_no_armed_fire_anywhere(mini):
    model = BorderModel(mini, seed=0)
    opened = open_front(model.state, dict(mini.params, front_rate=100.0), 1.0, np.random.default_rng(0),
                        np.array([MORTARS, MORTARS]), np.zeros(model.state.rung.size), *_front_anywhere(model.state))
    assert not opened.any() and model.state.rung.max() == CALM


def test_the_front_widens_a_war_beyond_neighbour_spread():
    scenario = SCENARIOS / "sept2022.yaml"
    only = dict(spread_rate=0.0, violation_rate=0.0, incident_rate=0.0)  # no other way for fire to reach a segment
    narrow = [summarise(finished(scenario, s, front_rate=0.0, **only))["segments_involved"] for s in range(5)]
    wide = [summarise(finished(scenario, s, front_rate=0.2, **only))["segments_involved"] for s in range(5)]
    assert max(narrow) == 1  # the trigger's segment
    assert min(wide) >= 10


def test_a_local_wars_front_fades_with_distance_but_a_deployed_one_reaches_the_whole_line():
    """Fire at Golovnoi; both governments at war, only KG deployed for war from the start. KG opens fire on
    every segment; TJ near Golovnoi only, not in the Leilek sector ~70 km away nor at Dzhekendi (120 km)."""
    model = BorderModel(SCENARIOS / "april2021.yaml", seed=0)
    state, geo = model.state, model.geography
    fire = geo.segment_index("golovnoi_water")
    state.posture[:, fire] = ARMED
    state.refresh_rung()
    km_apart = geo.segment_km_apart()
    km = km_apart[fire]
    opened = open_front(state, dict(model.params, front_rate=100.0), 1.0, np.random.default_rng(0),
                        np.array([MORTARS, MORTARS]), np.zeros(state.rung.size), np.array([True, False]),
                        np.exp(-0.3 * km_apart))
    assert (state.posture[0] >= ARMED).all()
    assert (state.posture[1, km < 5] >= ARMED).all()
    assert (state.posture[1, km > 50] == CALM).all()
    assert opened.sum() == opened.size - 1 and not opened[fire]  # KG's fire brings every other segment out of calm


def test_the_front_decay_leaves_a_war_of_deployed_forces_unchanged():
    """September 2022's governments came deployed for war: their front reaches the whole line whatever the decay."""
    scenario = SCENARIOS / "sept2022.yaml"
    for seed in range(3):
        anywhere = summarise(finished(scenario, seed, front_decay_per_km=0.0))
        local = summarise(finished(scenario, seed, front_decay_per_km=0.3))
        assert local == anywhere


def test_a_war_grown_from_a_local_incident_stays_nearer_its_start_with_a_front_decay():
    """April 2021's governments came with small arms authorised: a front that fades with distance involves
    fewer segments and displaces fewer people than one that reaches the whole line."""
    scenario = SCENARIOS / "april2021.yaml"
    runs = {decay: [summarise(finished(scenario, seed, front_decay_per_km=decay)) for seed in range(10)]
            for decay in (0.0, 0.1)}
    for key in ("segments_involved", "peak_displaced_kg"):
        anywhere, local = (sum(run[key] for run in runs[decay]) for decay in (0.0, 0.1))
        assert local < 0.8 * anywhere, key


def test_segments_are_as_far_apart_as_their_midpoints():
    geo = BorderModel(SCENARIOS / "april2021.yaml", seed=0).geography
    km = geo.segment_km_apart()
    np.testing.assert_allclose(km, km.T)
    np.testing.assert_allclose(np.diag(km), 0.0)
    golovnoi, dzhekendi = geo.segment_index("golovnoi_water"), geo.segment_index("dzhekendi_toyvaron")
    assert 100 < km[golovnoi, dzhekendi] < 140  # Batken district to the eastern front, across the map


def test_a_violated_ceasefire_restores_the_wars_orders(mini):
    for rate, expected in ((1e6, MORTARS), (0.0, CIVIL)):
        model = BorderModel(mini.with_params({"rearm_rate": rate}), seed=3)
        gov = model.government_list[0]
        gov.authorised = MORTARS
        gov.order_ceasefire()
        assert gov.authorised == CIVIL
        model.ceasefire.phase = Phase.VIOLATED
        gov.step()
        assert gov.authorised == expected


def test_re_arming_lets_a_collapsed_ceasefire_return_to_heavy_weapons():
    """After the first violation, runs whose governments re-arm fight with heavier weapons."""
    def heaviest_after_first_violation(rearm_rate: float, seed: int) -> int:
        model = finished(SCENARIOS / "sept2022.yaml", seed, rearm_rate=rearm_rate, violation_rate=0.02)
        first = next((h for h, phase in model.ceasefire.history if phase == "violated"), None)
        if first is None:
            return -1
        series = model.datacollector.get_model_vars_dataframe()
        return int(series.loc[series.hour > first, "max_rung"].max())

    pairs = [(heaviest_after_first_violation(0.0, s), heaviest_after_first_violation(1.0, s)) for s in range(8)]
    pairs = [(a, b) for a, b in pairs if a >= 0 and b >= 0]
    assert len(pairs) >= 4
    assert np.mean([b for _, b in pairs]) > np.mean([a for a, _ in pairs])


def test_re_arming_to_mortars_or_heavier_marks_a_collapse_and_restoring_peacetime_orders_does_not(mini):
    model = BorderModel(mini.with_params({"rearm_rate": 1e6}), seed=3)
    gov = model.government_list[0]
    model.ceasefire.phase = Phase.VIOLATED
    for war_orders, collapsed in ((ARMED, False), (MORTARS, True)):
        gov.authorised = gov.episode_authorised = war_orders
        gov.order_ceasefire()
        gov.step()
        assert gov.authorised == war_orders
        assert model.ceasefire.collapsed is collapsed


def test_only_a_government_that_came_in_with_mortars_re_arms_while_the_agreement_stands(mini):
    """Forces deployed with mortars authorised (September 2022) may take the war's orders back during the
    agreed lull; forces that came in under peacetime small-arms orders wait for a breach."""
    for came_in_with, expected in (("L2", MORTARS), ("L1", CIVIL)):
        scenario = with_governments(mini, (came_in_with, "L4"), (came_in_with, "L4"))
        model = BorderModel(scenario.with_params({"rearm_rate": 1e6}), seed=3)
        gov = model.government_list[0]
        gov.authorised = MORTARS
        gov.order_ceasefire()
        model.ceasefire.phase = Phase.AGREED
        gov.step()
        assert gov.authorised == expected, came_in_with


def test_a_government_re_arms_in_the_lull_once_per_episode_and_after_a_breach_every_time(mini):
    scenario = with_governments(mini, ("L2", "L4"), ("L2", "L4"))
    model = BorderModel(scenario.with_params({"rearm_rate": 1e6}), seed=3)
    gov = model.government_list[0]

    def re_arms_after_a_ceasefire_in(phase: Phase) -> bool:
        gov.authorised = MORTARS
        gov.order_ceasefire()
        model.ceasefire.phase = phase
        gov.step()
        return gov.authorised == MORTARS

    assert re_arms_after_a_ceasefire_in(Phase.AGREED)
    assert not re_arms_after_a_ceasefire_in(Phase.AGREED)
    assert re_arms_after_a_ceasefire_in(Phase.VIOLATED)
    assert re_arms_after_a_ceasefire_in(Phase.VIOLATED)
    assert not re_arms_after_a_ceasefire_in(Phase.AGREED)
    gov.stand_down()  # a new episode
    assert re_arms_after_a_ceasefire_in(Phase.AGREED)


def test_a_re_arm_in_the_lull_is_no_collapse_until_the_breach_which_collapses_at_once(mini):
    params = dict(mini.params, agree_rate=0.1, pain_weight=0.0, reagree_factor=10.0)
    cf = Ceasefire(phase=Phase.AGREED, agreements=1)
    cf.note_heavy_rearmament()
    assert (cf.collapses, cf.collapsed, cf.violations) == (0, False, 0)
    assert cf.update(5.0, 1.0, True, 0, params, 0.0, 0.0, u=0.99) == Phase.VIOLATED
    assert (cf.collapses, cf.collapsed, cf.violations) == (1, True, 1)
    # re-agreed, then breached again with nobody re-armed since: a plain breach
    assert cf.update(6.0, 1.0, True, 0, params, 0.0, 0.0, u=0.0) == Phase.AGREED
    assert cf.update(10.0, 1.0, True, 0, params, 0.0, 0.0, u=0.99) == Phase.VIOLATED
    assert (cf.collapses, cf.collapsed, cf.violations) == (1, False, 2)


def test_a_collapsed_ceasefire_is_re_agreed_at_the_first_talks_rate_and_a_breach_faster(mini):
    """With these rates one step agrees with probability 0.095 at the first-talks rate and 0.63 at ten times
    it; a draw of 0.3 separates them."""
    params = dict(mini.params, agree_rate=0.1, pain_weight=0.0, reagree_factor=10.0)
    outcomes = {}
    for collapsed in (False, True):
        cf = Ceasefire(phase=Phase.VIOLATED, agreements=1)
        if collapsed:
            cf.note_heavy_rearmament()
        outcomes[collapsed] = cf.update(5.0, 1.0, True, 0, params, 0.0, 0.0, u=0.3)
        assert cf.collapses == int(collapsed)
    assert outcomes == {False: Phase.AGREED, True: None}


def test_a_collapse_is_counted_once_and_the_next_agreement_clears_it(mini):
    params = dict(mini.params, agree_rate=0.1, pain_weight=0.0, reagree_factor=10.0)
    cf = Ceasefire(phase=Phase.VIOLATED, agreements=1)
    for hour in (1.0, 2.0, 3.0):
        cf.note_heavy_rearmament()  # both governments may re-arm, in several steps
        cf.update(hour, 1.0, True, 0, params, 0.0, 0.0, u=0.99)
    assert (cf.collapses, cf.collapsed) == (1, True)
    assert cf.update(4.0, 1.0, True, 0, params, 0.0, 0.0, u=0.0) == Phase.AGREED
    assert not cf.collapsed


def test_stabilisation_is_dated_from_when_fire_stopped(mini):
    params = dict(mini.params, talks_open_rate=1e6, agree_rate=1e6, hold_hours=12.0, stabilise_hours=36.0)
    cf = Ceasefire()
    hour = 0.0
    for armed in [True] * 10 + [False] * 80:
        hour += 1.0
        cf.update(hour, 1.0, armed, 0, params, 0.0, 0.0, u=0.0 if hour <= 2 else 0.99)
    assert cf.first_agreed_hour == 2.0
    assert cf.phase in (Phase.STABILISED, Phase.WITHDRAWAL)
    assert cf.violations >= 1                         # fire after the 3 h grace broke the first agreement
    entered = next(h for h, phase in cf.history if phase == "stabilised")
    assert entered == 10.0 + 12.0 + 36.0              # the machine needs hold + stabilise hours to know
    assert cf.first_stabilised_hour == 10.0           # but dates it from the end of the last armed step


def _hours_to_authorise(scenario, seed: int, losses: float, violations: int = 0, opponent_fires: int = CALM,
                        **params: float) -> int | None:
    """Hours until the KG government, kept under pressure by a fixed toll, authorises one rung more;
    ``violations`` ceasefire violations have happened so far, and the opponent fires at ``opponent_fires``."""
    model = BorderModel(scenario.with_params({"authorise_rate": 0.05, **params}), seed=seed)
    model.ceasefire.violations = violations
    model.state.posture[1, 0] = opponent_fires
    government = model.government_list[0]
    for hour in range(1, 400):
        government.losses_since_agreement = losses  # held fixed: only the orders rule runs
        government.step()
        if government.authorised > government.initial_authorised:
            return hour
    return None


def test_with_urgent_orders_a_government_losing_more_people_authorises_sooner(mini):
    few = [_hours_to_authorise(mini, seed, losses=2.0, orders_loss_gain=0.3) for seed in range(20)]
    many = [_hours_to_authorise(mini, seed, losses=20.0, orders_loss_gain=0.3) for seed in range(20)]
    assert all(m is not None and (f is None or m <= f) for f, m in zip(few, many))  # same draws: never later
    assert np.median(many) * 3 < np.median([f if f is not None else 400 for f in few])  # urgency 7x vs 1.6x


def test_by_default_the_toll_beyond_the_threshold_does_not_hurry_orders(mini):
    """``orders_loss_gain`` is 0 in SPECS (off); only calibration/fitted.yaml turns it on."""
    few = [_hours_to_authorise(mini, seed, losses=2.0) for seed in range(10)]
    many = [_hours_to_authorise(mini, seed, losses=20.0) for seed in range(10)]
    assert few == many


def test_forces_deployed_for_war_keep_their_orders_until_a_ceasefire_of_the_episode_is_violated(mini):
    """With ``deployed_authorise_factor`` 0, a government that came in with mortars (September 2022) holds
    them under pressure until a ceasefire is violated, then climbs as at factor 1 (same draws); out-gunned,
    it answers at once. One that came in with small arms (April 2021) is not held."""
    deployed = with_governments(mini, ("L2", "L4"), ("L2", "L4"))
    seeds = range(8)

    def hours(scenario, factor: float, **kwargs) -> list[int | None]:
        return [_hours_to_authorise(scenario, seed, losses=20.0, deployed_authorise_factor=factor, **kwargs)
                for seed in seeds]

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
    gov = model.government_list[0]
    gov.losses_since_agreement = 20.0
    model.ceasefire.violations = 1
    gov.step()
    assert gov.authorised == MORTARS + 1
    gov.stand_down()
    gov.losses_since_agreement = 20.0
    gov.step()
    assert gov.authorised == MORTARS


def _orders_at(model: BorderModel, hour: int, opponent_fires: int) -> None:
    """One step of the KG government's orders at ``hour``, under a toll of 20 dead, while TJ fires at
    ``opponent_fires`` on segment 0."""
    model.state.posture[1, 0] = opponent_fires
    model.state.refresh_rung()
    model.steps = hour + 1                      # model.hour = hour
    government = model.government_list[0]
    government.losses_since_agreement = 20.0
    government.step()


def _hour_of_next_orders(scenario, seed: int, authorised: int, lead: float) -> int | None:
    """Hours from the first armed shot (hour 0) until the KG government, holding ``authorised`` under a heavy
    toll, authorises one rung more, with ``air_lead_hours`` = ``lead``."""
    model = BorderModel(scenario.with_params({"authorise_rate": 0.3, "orders_loss_gain": 0.5,
                                              "air_lead_hours": lead}), seed=seed)
    government = model.government_list[0]
    government.authorised = authorised
    for hour in range(200):
        _orders_at(model, hour, ARMED)
        if government.authorised > authorised:
            return hour
    return None


def test_a_local_incidents_forces_wait_the_lead_time_for_the_top_rung_and_deployed_ones_do_not(mini):
    """With ``air_lead_hours`` 48, a government that came in with small arms (April 2021) authorises L4 no
    sooner than 48 h after the first armed shot, though at 0 it does so within hours; the lower rungs' orders
    and a government that came in with mortars (September 2022) are unchanged (same draws)."""
    local = with_governments(mini, ("L1", "L4"), ("L1", "L4"))
    deployed = with_governments(mini, ("L2", "L4"), ("L2", "L4"))
    seeds = range(8)

    def hours(scenario, authorised: int, lead: float) -> list[int | None]:
        return [_hour_of_next_orders(scenario, seed, authorised, lead) for seed in seeds]

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
    government = model.government_list[0]
    government.authorised = ARMOUR
    _orders_at(model, 0, ARMED)
    assert government.authorised == ARMOUR and government.first_armed_hour == 0.0
    _orders_at(model, 11, ARMED)
    assert government.authorised == AIR_MLRS
    government.stand_down()
    assert government.first_armed_hour is None
    _orders_at(model, 14, ARMED)                # fire again: the clock starts ...
    assert government.first_armed_hour == 14.0
    _orders_at(model, 15, CALM)                 # ... and stops when the fire ends with no talks or agreement
    assert government.first_armed_hour is None
    government.authorised = ARMOUR
    _orders_at(model, 19, ARMED)
    assert government.authorised == ARMOUR and government.first_armed_hour == 19.0


def test_with_a_long_lead_time_april_2021_never_reaches_the_top_rung():
    """Both governments of april2021.yaml came in with small arms, so no run reaches L4 before the lead time
    (neither side fires it first, and answering in kind needs someone to fire it)."""
    for seed in range(4):
        model = finished(SCENARIOS / "april2021.yaml", seed, air_lead_hours=1e4)
        assert int(model.state.peak_rung.max()) < AIR_MLRS



def _soldiers_hit(mini, segments_under_fire: int, pooling: float, hours: int = 400) -> int:
    """Tajik soldiers hit over ``hours`` of Kyrgyz mortar fire on the first ``segments_under_fire`` segments."""
    model = BorderModel(mini, seed=0, force_pooling=pooling, military_casualty_rate=0.5)
    state = model.state
    state.posture[0, :segments_under_fire] = MORTARS
    state.refresh_rung()
    rng = np.random.default_rng(3)
    for _ in range(hours):
        casualties.inflict(state, model.geography, model.params, 1.0, rng, model._village_masks, model._exposure)
    return int(state.military_dead[1] + state.military_injured[1])


def test_pooled_forces_lose_no_more_soldiers_on_a_wide_front_than_on_one_segment(mini):
    """``force_pooling`` 0: a side's soldiers are one force, and three segments under the same fire cost it what
    one does; 1 (the default): every segment has a full force of its own, and three cost three times as much."""
    one = _soldiers_hit(mini, 1, 1.0)
    assert one > 100
    assert 2.5 < _soldiers_hit(mini, 3, 1.0) / one < 3.5
    assert 0.8 < _soldiers_hit(mini, 3, 0.0) / one < 1.25
    assert _soldiers_hit(mini, 1, 0.0) == one          # one segment: nothing to pool
