"""The model's rules, checked by their consequences on whole runs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from sim import displacement
from sim.ceasefire import Phase
from sim.ladder import ARMOUR
from sim.model import BorderModel
from sim.outcomes import summarise
from tests.conftest import DATA, SCENARIOS, finished

SEEDS = range(12)


def test_no_trigger_and_no_background_rate_gives_no_violence(mini):
    quiet = dataclasses.replace(mini.with_params({"incident_rate": 0.0}), triggers=())
    for seed in range(5):
        s = summarise(finished(quiet, seed))
        assert s["deaths_kg"] == s["deaths_tj"] == 0
        assert s["injured_kg"] == s["injured_tj"] == 0
        assert s["incidents"] == 0 and s["max_rung"] == 0
        assert s["peak_displaced_kg"] == s["peak_displaced_tj"] == 0


def test_zero_leverage_mediator_changes_nothing_under_the_same_seed(mini):
    for seed in range(6):
        alone = finished(mini, seed, strategy=str(DATA / "strategies" / "none.yaml"))
        idle = finished(mini, seed, strategy=str(DATA / "strategies" / "zero_leverage.yaml"))
        a = alone.datacollector.get_model_vars_dataframe().drop(columns="mediators_active")
        b = idle.datacollector.get_model_vars_dataframe().drop(columns="mediators_active")
        pd.testing.assert_frame_equal(a, b)
        assert summarise(alone) == summarise(idle)
        assert any(m.active for m in idle.mediators)


def _incident_hazard_run(mini, in_force: bool, seed: int) -> int:
    """Incidents over a long calm stretch with the ceasefire forced in force or not."""
    model = BorderModel(mini.with_params({"incident_rate": 0.01}), seed=seed)
    model._triggers_by_step.clear()
    if in_force:
        model.ceasefire.phase = Phase.HOLDING
        model.ceasefire.since_hour = 0.0
    for _ in range(90):
        model.step()
    return model.state.incidents


def test_ceasefire_in_force_lowers_the_incident_rate(mini):
    without = sum(_incident_hazard_run(mini, False, s) for s in SEEDS)
    with_cf = sum(_incident_hazard_run(mini, True, s) for s in SEEDS)
    assert without > 0
    assert with_cf < 0.5 * without


def test_strong_early_mediation_lowers_deaths(mini):
    deaths = {}
    for name in ("none", "strong_early"):
        strat = str(DATA / "strategies" / f"{name}.yaml")
        runs = [summarise(finished(mini.with_params({"escalate_rate": 0.2}), s, strategy=strat))
                for s in range(30)]
        deaths[name] = np.mean([r["deaths_kg"] + r["deaths_tj"] for r in runs])
    assert deaths["strong_early"] < deaths["none"]


def test_people_are_conserved_and_counts_never_negative(mini):
    for seed in SEEDS:
        model = BorderModel(mini.with_params({"escalate_rate": 0.3, "civilian_casualty_rate": 2.0}), seed=seed)
        pop = model.geography.village_population
        while model.running:
            model.step()
            s = model.state
            assert (s.present >= 0).all() and (s.displaced >= 0).all() and (s.civilian_dead >= 0).all()
            assert (s.present + s.displaced + s.civilian_dead == pop).all()
            assert (s.civilian_dead + s.displaced <= pop).all()
            assert (s.military_dead >= 0).all() and (s.military_injured >= 0).all()
            assert ((s.posture >= 0) & (s.posture <= 5)).all()


def test_forces_never_exceed_their_arsenal(mini):
    capped = mini.spec.model_copy(update={"governments": mini.spec.governments.model_copy(update={
        "KG": mini.spec.governments.KG.model_copy(update={"arsenal": "L1"}),
        "TJ": mini.spec.governments.TJ.model_copy(update={"arsenal": "L1"})})})
    scenario = dataclasses.replace(mini, spec=capped, params=dict(mini.params, escalate_rate=0.5))
    for seed in range(8):
        model = finished(scenario, seed)
        assert model.state.peak_rung.max() <= 2  # L1 small arms


def test_ceasefire_can_be_violated_and_re_agreed(mini):
    histories = [finished(mini.with_params({"escalate_rate": 0.2, "violation_rate": 0.05}), s).ceasefire
                 for s in range(20)]
    re_agreed = [cf for cf in histories if cf.violations >= 1 and cf.agreements >= 2]
    assert re_agreed, "no run had a ceasefire violated and agreed again"
    for cf in re_agreed:
        phases = [name for _, name in cf.history]
        first_violation = phases.index("violated")
        assert "agreed" in phases[first_violation:]


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
    counts = {}
    for name in ("none", "delimit_all"):
        strategy = str(DATA / "strategies" / f"{name}.yaml")
        counts[name] = sum(finished(long_calm, s, strategy=strategy).state.incidents for s in range(6))
    assert counts["none"] >= 20
    assert counts["delimit_all"] < 0.5 * counts["none"]


def test_hours_to_each_weapon_level_follow_the_recorded_climb(mini):
    """The summary dates each level by the first recorded step at or above it, counted from the onset, in
    ladder order; a level the run never reached is NaN (what calibration censors at the run's end)."""
    columns = ("hours_to_small_arms", "hours_to_mortars", "hours_to_armour", "hours_to_air_mlrs")
    reached_any_level_late = False
    for seed in range(6):
        model = finished(mini, seed)
        summary = summarise(model)
        series = model.datacollector.get_model_vars_dataframe()
        hours = []
        for rung, column in zip(range(2, 6), columns):
            at_or_above = series.hour[series.max_rung >= rung]
            expected = at_or_above.iloc[0] - summary["onset_hour"] if len(at_or_above) else np.nan
            np.testing.assert_equal(summary[column], expected, err_msg=f"seed {seed}: {column}")
            hours.append(summary[column])
            reached_any_level_late |= bool(len(at_or_above)) and expected > 0
        reached = [h for h in hours if not np.isnan(h)]
        assert reached == sorted(reached), f"seed {seed}: levels dated out of order {hours}"
        assert all(np.isnan(h) for h in hours[len(reached):]), f"seed {seed}: a gap in the climb {hours}"
    assert reached_any_level_late, "no run climbed after its onset: the test would not see a wrong date"


def _evacuate_under_armour(share: float, hours: int = 72) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Armour on every April 2021 segment for ``hours``: (population, displaced, present) per village."""
    model = BorderModel(SCENARIOS / "april2021.yaml", seed=0)
    state = model.state
    state.posture[...] = ARMOUR
    state.refresh_rung()
    params = dict(model.params, evacuating_share=share)
    for _ in range(hours):
        displacement.move_people(state, params, 1.0, model._threat, returns_allowed=False)
    return model.geography.village_population, state.displaced, state.present


def test_an_evacuation_leaves_behind_those_who_stay_and_everyone_leaves_by_default():
    """With a share of 0.6, every village under threat evacuates 60% of its people (to the person) and no more;
    with the default share of 1, the same villages empty out
    (but for the last few: hourly flows are rounded down to whole people)."""
    pop, displaced, present = _evacuate_under_armour(0.6)
    threatened = displaced > 0
    assert threatened.sum() >= 20
    np.testing.assert_array_equal(displaced[threatened], np.floor(0.6 * pop[threatened]).astype(int))
    np.testing.assert_array_equal(present + displaced, pop)
    _, everyone, left = _evacuate_under_armour(1.0)
    assert (pop[threatened] - everyone[threatened] <= 20).all()  # hourly flows are rounded down to whole people
    assert left[~threatened].sum() == pop[~threatened].sum()


APRIL_2021_FRONT = ("golovnoi_water", "golovnoi_chorkuh", "kok_tash_posts", "kok_tash_chorkuh",
                    "kok_tash_khojai_alo", "kok_tash_somoniyon_road", "kok_terek_kummazor", "vorukh_road_kok_terek",
                    "bulak_bashy_vorukh", "bulak_bashy_kekh", "min_oruk_vorukh", "paksy_aryk_vorukh",
                    "dostuk_vorukh")
"""Segments around Golovnoi, Kok-Tash and Vorukh, where April 2021 was fought: all 27-31 km from Batken town."""


def _displaced_under_armour_on(segments: tuple[str, ...], pooling: float, hours: int = 48) -> dict[str, int]:
    """Displaced per village after ``hours`` of armour (L3) on ``segments`` alone, with ``threat_pooling``."""
    model = BorderModel(SCENARIOS / "april2021.yaml", seed=0)
    geo, state = model.geography, model.state
    state.posture[:, [geo.segment_index(s) for s in segments]] = ARMOUR
    state.refresh_rung()
    params = dict(model.params, threat_pooling=pooling)
    for _ in range(hours):
        displacement.move_people(state, params, 1.0, model._threat, returns_allowed=False)
    return dict(zip(geo.village_ids, state.displaced.tolist()))


def test_a_town_far_behind_many_skirmishes_evacuates_only_when_threats_add_up():
    """Armour on the thirteen segments of April 2021's fighting: summed (pooling 1), their threats empty Batken
    town 27-31 km away; taken as the strongest alone (pooling 0) they do not, while the villages on the front
    (Kok-Tash, Ak-Sai, Dostuk) evacuate either way."""
    summed = _displaced_under_armour_on(APRIL_2021_FRONT, pooling=1.0)
    strongest = _displaced_under_armour_on(APRIL_2021_FRONT, pooling=0.0)
    assert summed["batken"] > 20_000
    assert strongest["batken"] == 0
    for village in ("kok_tash", "ak_sai", "dostuk_batken"):
        assert summed[village] == strongest[village] > 2_000


def test_pooling_makes_no_difference_under_fire_on_one_segment():
    """With a single segment at war there is nothing to add up: every village's evacuation is the same."""
    for pooling in (0.0, 0.3):
        assert _displaced_under_armour_on(("kok_tash_posts",), pooling) == \
            _displaced_under_armour_on(("kok_tash_posts",), 1.0)


def test_displaced_by_district_adds_up_to_each_side_and_is_reported_per_district():
    """Every district of the border geography belongs to one side, so at every hour its displaced add up to
    that side's; each district's peak is reported as ``peak_displaced[<district>]``, and a side's peak is no
    more than the sum of its districts' peaks (they need not peak at the same hour)."""
    model = BorderModel(SCENARIOS / "april2021.yaml", seed=11)
    geo = model.geography
    kg_districts = sorted({d for d, side in zip(geo.village_district, geo.village_side) if side == 0})
    assert {"Batken district", "Leilek district"} <= set(kg_districts)
    while model.running:
        model.step()
        displaced_kg, _ = model.displaced_by_side()
        by_district = {d: int(model.state.displaced[[v == d for v in geo.village_district]].sum())
                       for d in kg_districts}
        assert sum(by_district.values()) == displaced_kg
    summary = summarise(model)
    peaks = [summary[f"peak_displaced[{d}]"] for d in kg_districts]
    assert summary["peak_displaced_kg"] <= sum(peaks) and max(peaks) > 0
    assert set(geo.districts) == {k[len("peak_displaced["):-1] for k in summary if k.startswith("peak_displaced[")}
