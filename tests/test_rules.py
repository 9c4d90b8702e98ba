"""The model's rules, checked by their consequences on whole runs."""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.core.ladder import ARMOUR
from sim.engine.batch import Simulation, run_batch
from sim.engine.outcomes import rows
from sim.input.scenario import load_scenario
from sim.model import BorderModel
from sim.rules import displacement
from sim.rules.ceasefire import NO_CHANGE, Phase
from tests.conftest import DATA, SCENARIOS, assert_summaries_equal

SEEDS = list(range(12))


def _strategy(name: str) -> str:
    return str(DATA / "strategies" / f"{name}.yaml")


def test_no_trigger_and_no_background_rate_gives_no_violence(mini):
    quiet = dataclasses.replace(mini.with_params({"incident_rate": 0.0}), triggers=())
    s = run_batch(quiet, SEEDS).summaries
    assert (s["deaths_kg"] == 0).all() and (s["deaths_tj"] == 0).all()
    assert (s["injured_kg"] == 0).all() and (s["injured_tj"] == 0).all()
    assert (s["incidents"] == 0).all() and (s["max_rung"] == 0).all()
    assert (s["peak_displaced_kg"] == 0).all() and (s["peak_displaced_tj"] == 0).all()


def test_zero_leverage_mediator_changes_nothing_under_the_same_seed(mini):
    alone = run_batch(mini.with_strategy(_strategy("none")), SEEDS, record_series=True)
    idle = run_batch(mini.with_strategy(_strategy("zero_leverage")), SEEDS, record_series=True)
    assert alone.series is not None and idle.series is not None
    for name, values in alone.series.items():
        if name != "mediators_active":
            np.testing.assert_array_equal(values, idle.series[name], err_msg=name)
    assert_summaries_equal(alone.summaries, idle.summaries)
    assert (idle.series["mediators_active"][-1] > 0).all()


def _incidents_over_a_calm_stretch(mini, in_force: bool) -> np.ndarray:
    """Incidents per run over a long calm stretch with the ceasefire forced in force or not."""
    calm = dataclasses.replace(mini.with_params({"incident_rate": 0.01}), triggers=())
    sim = Simulation(calm, range(400))
    if in_force:
        sim.state.phase[:] = Phase.HOLDING
        sim.state.since_hour[:] = 0.0
    for _ in range(90):
        sim.advance()
    return sim.state.incidents


def test_ceasefire_in_force_lowers_the_incident_rate(mini):
    without = _incidents_over_a_calm_stretch(mini, False).sum()
    with_cf = _incidents_over_a_calm_stretch(mini, True).sum()
    assert without > 0
    assert with_cf < 0.5 * without


def test_strong_early_mediation_lowers_deaths(mini):
    deaths = {}
    for name in ("none", "strong_early"):
        scenario = mini.with_params({"escalate_rate": 0.2}).with_strategy(_strategy(name))
        s = run_batch(scenario, range(60)).summaries
        deaths[name] = np.mean(s["deaths_kg"] + s["deaths_tj"])
    assert deaths["strong_early"] < deaths["none"]


def test_people_are_conserved_and_counts_never_negative(mini):
    sim = Simulation(mini.with_params({"escalate_rate": 0.3, "civilian_casualty_rate": 2.0}), SEEDS)
    pop = sim.world.village_population[None, :]
    while not sim.done:
        sim.advance()
        s = sim.state
        assert (s.present >= 0).all() and (s.displaced >= 0).all() and (s.civilian_dead >= 0).all()
        assert (s.present + s.displaced + s.civilian_dead == pop).all()
        assert (s.civilian_dead + s.displaced <= pop).all()
        assert (s.military_dead >= 0).all() and (s.military_injured >= 0).all()
        assert ((s.posture >= 0) & (s.posture <= 5)).all()
    assert (sim.state.civilian_dead.sum(axis=1) > 0).any(), "nobody was killed: the test would not see a leak"


def test_forces_never_exceed_their_arsenal(mini):
    capped = mini.spec.model_copy(update={"governments": mini.spec.governments.model_copy(update={
        "KG": mini.spec.governments.KG.model_copy(update={"arsenal": "L1"}),
        "TJ": mini.spec.governments.TJ.model_copy(update={"arsenal": "L1"})})})
    scenario = dataclasses.replace(mini, spec=capped, params=dict(mini.params, escalate_rate=0.5))
    assert run_batch(scenario, SEEDS).peak_rung.max() <= 2  # L1 small arms


def test_ceasefire_can_be_violated_and_re_agreed(mini):
    sim = Simulation(mini.with_params({"escalate_rate": 0.2, "violation_rate": 0.05}), range(20))
    entered = []
    while not sim.done:
        entered.append(sim.advance())
    history = np.array(entered).T  # [R, steps]: the phase each run entered at each step
    s = sim.state
    re_agreed = np.flatnonzero((s.violations >= 1) & (s.agreements >= 2))
    assert re_agreed.size, "no run had a ceasefire violated and agreed again"
    for run in re_agreed:
        phases = [Phase(p) for p in history[run] if p != NO_CHANGE]
        first_violation = phases.index(Phase.VIOLATED)
        assert Phase.AGREED in phases[first_violation:]


def test_delimitation_at_a_fixed_hour_applies(mini):
    model = BorderModel(mini, seed=1, strategy=str(DATA / "strategies" / "delimit_all.yaml"))
    before = model.state.dispute.copy()
    model.step()
    strength = mini.params["delimitation_strength"]
    np.testing.assert_allclose(model.state.dispute, before * (1 - strength))


def test_a_fully_agreed_border_has_far_fewer_incidents(mini):
    long_calm = dataclasses.replace(
        mini.with_params({"incident_rate": 0.002}), triggers=(),
        spec=mini.spec.model_copy(update={"duration_hours": 2000.0}))
    counts = {name: run_batch(long_calm.with_strategy(_strategy(name)), SEEDS[:6]).summaries["incidents"].sum()
              for name in ("none", "delimit_all")}
    assert counts["none"] >= 20
    assert counts["delimit_all"] < 0.5 * counts["none"]


def test_hours_to_each_weapon_level_follow_the_recorded_climb(mini):
    """The summary dates each level by the first recorded step at or above it, counted from the onset, in
    ladder order; a level the run never reached is NaN (what calibration censors at the run's end)."""
    columns = ("hours_to_small_arms", "hours_to_mortars", "hours_to_armour", "hours_to_air_mlrs")
    # a government always under pressure, so runs climb past the shoot-out the commanders would contain
    result = run_batch(mini.with_params({"authorise_loss_threshold": 0.0}), SEEDS, record_series=True)
    assert result.series is not None
    summary, hour, max_rung = result.summaries, result.series["hour"], result.series["max_rung"]
    reached_any_level_late = False
    for run in range(result.runs):
        hours = []
        for rung, column in zip(range(2, 6), columns):
            at_or_above = hour[max_rung[:, run] >= rung, run]
            expected = at_or_above[0] - summary["onset_hour"][run] if len(at_or_above) else np.nan
            np.testing.assert_equal(summary[column][run], expected, err_msg=f"run {run}: {column}")
            hours.append(summary[column][run])
            reached_any_level_late |= bool(len(at_or_above)) and expected > 0
        reached = [h for h in hours if not np.isnan(h)]
        assert reached == sorted(reached), f"run {run}: levels dated out of order {hours}"
        assert all(np.isnan(h) for h in hours[len(reached):]), f"run {run}: a gap in the climb {hours}"
    assert reached_any_level_late, "no run climbed after its onset: the test would not see a wrong date"


def _april_2021(params: list[dict]) -> Simulation:
    """A batch of April 2021 runs, one per parameter set."""
    return Simulation(load_scenario(SCENARIOS / "april2021.yaml"), [0] * len(params), params)


def _move_people_for(sim: Simulation, hours: int) -> None:
    """``hours`` hourly steps of evacuation alone, with no return allowed."""
    assert sim.world.dt == 1.0
    for _ in range(hours):
        displacement.move_people(sim.state, sim.params, sim.world, np.zeros(sim.state.runs, dtype=bool))


def test_a_village_under_threat_empties_and_nobody_is_lost():
    """Armour on every April 2021 segment for three days: every threatened village empties (but for the last
    few: hourly flows are rounded down to whole people), the others keep everyone, and present + displaced is
    the population throughout."""
    sim = _april_2021([{}])
    sim.state.posture[...] = ARMOUR
    sim.state.refresh_rung()
    _move_people_for(sim, 72)
    pop, displaced, present = sim.world.village_population, sim.state.displaced[0], sim.state.present[0]
    threatened = displaced > 0
    assert threatened.sum() >= 20
    np.testing.assert_array_equal(present + displaced, pop)
    assert (pop[threatened] - displaced[threatened] <= 20).all()
    assert present[~threatened].sum() == pop[~threatened].sum()


APRIL_2021_FRONT = ("golovnoi_water", "golovnoi_chorkuh", "kok_tash_posts", "kok_tash_chorkuh",
                    "kok_tash_khojai_alo", "kok_tash_somoniyon_road", "kok_terek_kummazor", "vorukh_road_kok_terek",
                    "bulak_bashy_vorukh", "bulak_bashy_kekh", "min_oruk_vorukh", "paksy_aryk_vorukh",
                    "dostuk_vorukh")
"""Segments around Golovnoi, Kok-Tash and Vorukh, where April 2021 was fought: all 27-31 km from Batken town."""


def _displaced_under_armour_on(segments: tuple[str, ...], poolings: list[float],
                               hours: int = 48) -> list[dict[str, int]]:
    """Displaced per village after ``hours`` of armour (L3) on ``segments`` alone, one run per
    ``threat_pooling``."""
    sim = _april_2021([{"threat_pooling": pooling} for pooling in poolings])
    geo = sim.scenario.geography
    sim.state.posture[:, :, [geo.segment_index(s) for s in segments]] = ARMOUR
    sim.state.refresh_rung()
    _move_people_for(sim, hours)
    return [dict(zip(geo.village_ids, displaced.tolist())) for displaced in sim.state.displaced]


def test_a_town_far_behind_many_skirmishes_evacuates_only_when_threats_add_up():
    """Armour on the thirteen segments of April 2021's fighting: summed (pooling 1), their threats empty Batken
    town 27-31 km away; taken as the strongest alone (pooling 0) they do not, while the villages on the front
    (Kok-Tash, Ak-Sai, Dostuk) evacuate either way."""
    summed, strongest = _displaced_under_armour_on(APRIL_2021_FRONT, [1.0, 0.0])
    assert summed["batken"] > 20_000
    assert strongest["batken"] == 0
    for village in ("kok_tash", "ak_sai", "dostuk_batken"):
        assert summed[village] == strongest[village] > 2_000


def test_pooling_makes_no_difference_under_fire_on_one_segment():
    """With a single segment at war there is nothing to add up: every village's evacuation is the same."""
    summed, *pooled = _displaced_under_armour_on(("kok_tash_posts",), [1.0, 0.0, 0.3])
    assert sum(summed.values()) > 0
    for displaced in pooled:
        assert displaced == summed


def test_displaced_by_district_adds_up_to_each_side_and_is_reported_per_district():
    """Every district of the border geography belongs to one side, so at every hour its displaced add up to
    that side's; each district's peak is reported as ``peak_displaced[<district>]``, and a side's peak is no
    more than the sum of its districts' peaks (they need not peak at the same hour)."""
    model = BorderModel(SCENARIOS / "april2021.yaml", seed=11)
    geo = model.geography
    kg_districts = sorted({d for d, side in zip(geo.village_district, geo.village_side) if side == 0})
    assert {"Batken district", "Leilek district"} <= set(kg_districts)
    in_district = {d: np.array([v == d for v in geo.village_district]) for d in kg_districts}
    sim = Simulation(model.scenario, SEEDS[:6])  # the same check on a batch of runs
    while model.running:
        model.step()
        sim.advance()
        displaced_kg, _ = model.displaced_by_side()
        assert sum(int(model.state.displaced[mask].sum()) for mask in in_district.values()) == displaced_kg
        by_side = sim.state.displaced_by_side(sim.world)[:, 0]
        assert (sum(sim.state.displaced[:, mask].sum(axis=1) for mask in in_district.values()) == by_side).all()
    summaries = [model.summary(), *rows(sim.summary())]
    for summary in summaries:
        peaks = [summary[f"peak_displaced[{d}]"] for d in kg_districts]
        assert summary["peak_displaced_kg"] <= sum(peaks)
        assert set(geo.districts) == {k[len("peak_displaced["):-1] for k in summary
                                      if k.startswith("peak_displaced[")}
    assert any(max(summary[f"peak_displaced[{d}]"] for d in kg_districts) > 0 for summary in summaries)
