"""Proper scores: analytic cases, properties, and the skill against baselines."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.calibration import scoring


def test_crps_of_a_point_forecast_is_the_absolute_error():
    assert scoring.crps(np.array([3.0]), 5.0) == 2.0
    assert scoring.crps(np.array([4.0, 4.0, 4.0]), 1.0) == 3.0


def test_crps_of_two_points_matches_the_definition():
    # E|X - y| - E|X - X'|/2 with X uniform on {0, 2}, y = 0: 1 - (0 + 2 + 2 + 0)/4/2 = 0.5
    assert math.isclose(scoring.crps(np.array([0.0, 2.0]), 0.0), 0.5)


def test_crps_of_a_large_normal_sample_approaches_the_closed_form():
    x = np.random.default_rng(1).normal(0.0, 1.0, 200_000)
    y = 0.7
    phi = math.exp(-y * y / 2) / math.sqrt(2 * math.pi)
    big_phi = 0.5 * (1 + math.erf(y / math.sqrt(2)))
    exact = y * (2 * big_phi - 1) + 2 * phi - 1 / math.sqrt(math.pi)
    assert abs(scoring.crps(x, y) - exact) < 0.01


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-100, 100), min_size=1, max_size=40), st.floats(-100, 100))
def test_crps_is_never_negative_and_a_perfect_point_scores_zero(values, y):
    assert scoring.crps(np.array(values), y) >= -1e-9
    assert scoring.crps(np.array([y]), y) == 0.0


def test_interval_score_is_the_width_when_inside_and_penalises_a_miss():
    x = np.linspace(0, 10, 1001)
    low, high = np.quantile(x, [0.05, 0.95])
    assert math.isclose(scoring.interval_score(x, 5.0), high - low)
    assert math.isclose(scoring.interval_score(x, high + 1.0), (high - low) + 2 / 0.1 * 1.0)


def test_pit_counts_ties_half_and_spans_zero_to_one():
    x = np.array([1.0, 2.0, 2.0, 3.0])
    assert scoring.pit(x, 2.0) == 0.5
    assert scoring.pit(x, 0.0) == 0.0 and scoring.pit(x, 9.0) == 1.0


def test_counts_are_scored_on_log_one_plus():
    s = scoring.score("E", "deaths_kg", np.array([0, 0, 0, 0]), 0.0, others=[0.0, 5.0])
    assert s.crps == 0.0 and s.crps_zero == 0.0 and s.in90
    big = scoring.score("E", "deaths_kg", np.array([60] * 10), 2.0, others=[1.0, 2.0])
    assert math.isclose(big.crps, math.log1p(60) - math.log1p(2))


def test_skill_is_one_minus_the_ratio_of_mean_scores():
    assert scoring.skill(np.array([1.0, 1.0]), np.array([2.0, 2.0])) == 0.5
    assert scoring.skill(np.array([3.0, math.nan]), np.array([1.5, 1.0])) == -1.0
    assert math.isnan(scoring.skill(np.array([math.nan]), np.array([1.0])))


def test_score_command_writes_the_validation_folder(tmp_path, capsys):
    """End to end on the test border: two episodes, one of them in the parameter file's fitted episodes."""
    import yaml

    from sim.cli import main
    from tests.conftest import DATA

    fitted = tmp_path / "fitted.yaml"
    fitted.write_text("values: {escalate_rate: 0.1}\nmade_by: {episodes: [A]}\n")
    spec = yaml.safe_load((DATA / "mini.yaml").read_text())
    spec.update(geography=str(DATA / "mini_geography.yaml"), mediators=str(DATA / "mediators.yaml"),
                strategy=str(DATA / "strategies" / "none.yaml"), parameters={"file": str(fitted)})
    scenario = tmp_path / "mini.yaml"
    scenario.write_text(yaml.safe_dump(spec, sort_keys=False))
    targets = {"deaths_kg": {"output": "deaths_kg", "point": 1, "range": [0, 2], "sources": ["t"]},
               "max_rung": {"output": "max_rung", "point": 2, "range": [2, 2], "sources": ["t"]}}
    doc = {"version": 1, "episodes": {eid: {"title": eid, "scenario": str(scenario), "targets": targets}
                                      for eid in ("A", "B")}}
    episodes = tmp_path / "episodes.yaml"
    episodes.write_text(yaml.safe_dump(doc))
    out = tmp_path / "validation"
    (out / "coverage").mkdir(parents=True)     # another check's folder inside it is kept as it was
    (out / "coverage" / "report.md").write_text("kept")
    assert main(["score", "--episodes-file", str(episodes), "--runs", "6", "--out", str(out), "--quiet", "--force"]) == 0
    assert {p.name for p in out.iterdir()} == {"scores.csv", "levels.csv", "report.md", "pit.png", "manifest.json",
                                               "coverage"}
    assert (out / "coverage" / "report.md").read_text() == "kept"
    import pandas as pd

    scores = pd.read_csv(out / "scores.csv")
    assert scores.set_index("episode")["in_sample"].to_dict() == {"A": True, "B": False}
    assert (scores["reference_size"] == 1).all() and (scores["crps"] >= 0).all()
    assert "which the fit never saw" in (out / "report.md").read_text()
    assert main(["score", "--episodes-file", str(episodes), "--episodes", "C", "--out", str(tmp_path / "x")]) == 2
    assert "unknown episode" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_leave_one_out_fits_without_each_episode_and_scores_it(tmp_path, capsys):
    """The cross-validation protocol end to end on a tiny budget: one fit per held-out episode, each scored
    against the other episodes' record and zero; nothing written for a file with too few episodes."""
    import pandas as pd
    import yaml

    from sim.cli import main
    from tests.conftest import three_mini_episodes

    path, episodes = three_mini_episodes(tmp_path)
    out = tmp_path / "loo"
    args = ["calibrate", "--cross-validate", "--episodes-file", str(path), "--population", "8", "--generations",
            "2", "--budget", "40", "--params", "escalate_rate", "--out", str(out), "--quiet", "--workers", "1"]
    assert main(args) == 0
    assert {p.name for p in out.iterdir()} == {"scores.csv", "fits.csv", "report.md", "pit.png", "manifest.json"}
    scores = pd.read_csv(out / "scores.csv")
    assert sorted(scores["episode"].unique()) == ["A", "B", "C"] and (scores["reference_size"] == 2).all()
    assert len(pd.read_csv(out / "fits.csv")) == 3
    two = tmp_path / "two.yaml"
    two.write_text(yaml.safe_dump({"version": 1, "episodes": {k: episodes[k] for k in ("A", "B")}}))
    assert main(["calibrate", "--cross-validate", "--episodes-file", str(two), "--population", "8",
                 "--out", str(tmp_path / "x"), "--quiet"]) == 2
    assert not (tmp_path / "x").exists()
    assert "needs at least three episodes" in capsys.readouterr().err


def test_an_episode_is_worse_than_zero_only_on_its_average():
    episodes = np.array(["A", "A", "B", "B"])
    assert scoring.worse_than_zero(episodes, np.array([0.1, 0.5, 0.0, 0.2]), np.array([0.3, 0.4, 0.0, 0.1])) == ["B"]


def test_score_shows_each_reading_of_a_contested_record(tmp_path):
    """A scenario with contested accounts is scored as written (taking no side) and shown under each account,
    the same seeds in every reading."""
    import pandas as pd
    import yaml

    from sim.cli import main
    from tests.conftest import DATA

    spec = yaml.safe_load((DATA / "mini.yaml").read_text())
    spec.update(geography=str(DATA / "mini_geography.yaml"), mediators=str(DATA / "mediators.yaml"),
                strategy=str(DATA / "strategies" / "none.yaml"),
                accounts={"kg_reading": {"says": "KG: TJ forces entered", "governments": {"TJ": {"offensive": True}}},
                          "tj_reading": {"says": "TJ: KG forces entered", "governments": {"KG": {"offensive": True}}}})
    scenario = tmp_path / "mini.yaml"
    scenario.write_text(yaml.safe_dump(spec, sort_keys=False))
    targets = {"deaths_kg": {"output": "deaths_kg", "point": 1, "range": [0, 2], "sources": ["t"]}}
    doc = {"version": 1, "episodes": {"A": {"title": "A", "scenario": str(scenario), "targets": targets}}}
    episodes = tmp_path / "episodes.yaml"
    episodes.write_text(yaml.safe_dump(doc))
    out = tmp_path / "validation"
    assert main(["score", "--episodes-file", str(episodes), "--runs", "4", "--out", str(out), "--quiet"]) == 0
    readings = pd.read_csv(out / "accounts.csv")
    assert readings["account"].tolist() == ["as written (no side)", "kg_reading", "tj_reading"]
    assert "Under each reading of the contested record" in (out / "report.md").read_text()


def test_the_record_as_a_distribution_pools_the_shoot_outs_and_shows_each_calm_year():
    """Shoot-outs are the episodes whose documented highest level is small arms; their L3+ shares pool with a
    binomial standard error; a calm year shows its war share and counts beside the record's."""
    from sim.calibration.record import _record_as_distribution, shoot_out_escalation

    levels = pd.DataFrame({"episode": ["war", "A", "B"], "documented_max_rung": [5.0, 2.0, 2.0],
                           "share_L3_or_heavier": [0.9, 0.1, 0.3]})
    share, se, which = shoot_out_escalation(levels, runs=100)
    assert which == ["A", "B"] and share == pytest.approx(0.2)
    assert se == pytest.approx(math.sqrt(0.2 * 0.8 / 200))
    years = pd.DataFrame([{"episode": "BASELINE", "runs": 50, "share_L3_or_heavier": 0.12,
                           "lethal_incidents_median": 1.0, "lethal_incidents_q05": 0.0, "lethal_incidents_q95": 4.0,
                           "lethal_incidents_documented_low": 0.0, "lethal_incidents_documented_high": 2.0,
                           "incidents_median": 20.0, "incidents_q05": 5.0, "incidents_q95": 60.0,
                           "incidents_documented_low": 11.5, "incidents_documented_high": 32.0}])
    text = "\n".join(_record_as_distribution(levels, years, runs=100))
    assert "pooled over A, B" in text and "20.0% (± 2.8%)" in text
    assert "12% of 50 years" in text and "1 [0–4]" in text and "11.5–32" in text
    assert _record_as_distribution(levels.iloc[:1], None, runs=100) == []
