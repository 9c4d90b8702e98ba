"""Calibration of the method: `calibrate --check-coverage N` fits data simulated at known parameters and
reports how often the posteriors' central intervals cover the truth; the rank and coverage arithmetic is
checked against a case whose exact posterior is known."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from sim.calibration.coverage import binomial_se, dataset_plan, inside, rank_of, simulated_targets, summary
from sim.calibration.fit import weighted_quantile
from sim.calibration.simulator import FitParameter, run_summary
from sim.calibration.targets import load_targets, sim_value
from sim.cli import main
from tests.test_calibration import episodes_file, mini_scenario

PARAMS = ("escalate_rate", "military_casualty_rate")


def normal_datasets(n: int, draws: int, seed: int, sd_factor: float = 1.0,
                    weighted: bool = False) -> pd.DataFrame:
    """Ranks and coverage for a conjugate toy: theta ~ N(0, 1), y ~ N(theta, 0.5^2), so the posterior is
    N(0.8 y, 0.2) exactly. The posterior sample is drawn from it (its spread times ``sd_factor``), or, with
    ``weighted``, drawn from the prior and weighted by the likelihood (importance sampling, as ABC-SMC weights)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        theta = rng.normal()
        y = rng.normal(theta, 0.5)
        if weighted:
            x = rng.normal(size=draws)
            w = np.exp(-0.5 * ((y - x) / 0.5) ** 2)
        else:
            x = rng.normal(0.8 * y, math.sqrt(0.2) * sd_factor, size=draws)
            w = np.ones(draws)
        r = rank_of(x, w, theta)
        rows.append({"dataset": i, "parameter": "theta", "rank": r, "in50": inside(r, 0.5), "in90": inside(r, 0.9),
                     "width90_share_of_prior": 0.5})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("weighted", [False, True])
def test_exact_posteriors_cover_the_truth_at_their_nominal_rates(weighted):
    frame = normal_datasets(2000, 300, seed=11, weighted=weighted)
    row = summary(frame).set_index("parameter").loc["theta"]
    assert row.datasets == 2000
    for level in (50, 90):   # within 3.5 standard errors of the nominal rate (~1% and ~0.7% here)
        nominal = level / 100
        assert abs(row[f"coverage{level}"] - nominal) < 3.5 * math.sqrt(nominal * (1 - nominal) / 2000)
    counts = np.histogram(frame["rank"], bins=10, range=(0, 1))[0]
    assert counts.min() > 150 and counts.max() < 250      # uniform ranks: 200 per bin expected


def test_an_overconfident_posterior_undercovers_and_its_ranks_pile_up_at_the_ends():
    frame = normal_datasets(2000, 300, seed=12, sd_factor=0.5)   # exact normal coverage: 26% and 59%
    row = summary(frame).set_index("parameter").loc["theta"]
    assert row.coverage50 < 0.35 and row.coverage90 < 0.7
    ends = ((frame["rank"] < 0.1) | (frame["rank"] > 0.9)).mean()
    assert ends > 0.3


def test_ranks_of_degenerate_cases():
    x, w = np.array([1.0, 2.0, 3.0, 4.0]), np.ones(4)
    assert rank_of(x, w, 0.5) == 0.0 and rank_of(x, w, 9.0) == 1.0       # outside every particle
    assert rank_of(x, w, 2.5) == pytest.approx(0.5)                       # at the median
    assert rank_of(x, np.array([0.0, 0.0, 0.0, 1.0]), 4.0) == pytest.approx(0.5)   # all weight on one particle
    assert rank_of(x[::-1], w, 2.5) == pytest.approx(0.5)                 # order does not matter
    # the rank inverts weighted_quantile, so "inside the interval" and "rank inside its band" are one test
    rng = np.random.default_rng(3)
    v, wt = rng.normal(size=50), rng.random(50)
    for q in (0.05, 0.25, 0.6, 0.95):
        assert rank_of(v, wt, weighted_quantile(v, wt, q)) == pytest.approx(q)
    assert inside(0.25, 0.5) and inside(0.75, 0.5) and not inside(0.76, 0.5) and not inside(0.04, 0.9)
    assert binomial_se(0.5, 100) == pytest.approx(0.05) and binomial_se(1.0, 30) == 0.0


def test_targets_simulated_at_known_parameters_keep_the_template_and_take_the_runs_values(tmp_path):
    scenario = mini_scenario(tmp_path, violent=True)
    template = load_targets(episodes_file(tmp_path, {
        "deaths": {"output": "deaths_kg", "point": 3, "range": [1, 9], "sources": ["test"]},
        "rung": {"output": "max_rung", "point": 4, "sources": ["test"]},
        "hours": {"output": "hours_to_first_ceasefire", "point": 30, "sources": ["test"]}}, scenario))
    truth = {"escalate_rate": 0.1}
    synthetic = simulated_targets(template, truth, {"A": [5], "B": [6, 7]})
    run = run_summary(str(scenario), 5, truth)
    for before, after in zip(template.episodes["A"].targets, synthetic.episodes["A"].targets):
        value = sim_value(run, before.reads, template.episodes["A"], template.censor_at_end)
        assert after.point == after.low == after.high == value      # one run: the point, a range of one value
        assert (after.output, after.scale, after.log, after.fit) == (before.output, before.scale, before.log, True)
    two = [run_summary(str(scenario), s, truth)["deaths_kg"] for s in (6, 7)]
    deaths = synthetic.episodes["B"].targets[0]
    assert deaths.point == np.median(two) and deaths.scale >= template.episodes["B"].targets[0].scale


def test_dataset_plans_come_from_the_seed_and_the_index_alone():
    params = [FitParameter("escalate_rate", 0.005, 0.3, True, "test"),
              FitParameter("pain_weight", 0.0, 4.0, False, "test")]
    a = dataset_plan(4, 1, 3, params, ["E06", "E07"])
    assert a == dataset_plan(4, 1, 30, params, ["E06", "E07"])      # more datasets: the first ones unchanged
    assert a != dataset_plan(4, 2, 3, params, ["E06", "E07"]) and a != dataset_plan(5, 1, 3, params, ["E06", "E07"])
    for p in params:
        assert p.low <= a[0][p.name] <= p.high


def coverage_command(tmp_path, out, datasets: int, workers: int) -> list[str]:
    scenario = mini_scenario(tmp_path, violent=True)
    ep = episodes_file(tmp_path, {
        "deaths_kg": {"output": "deaths_kg", "point": 2, "range": [0, 4], "sources": ["test"]},
        "injured_kg": {"output": "injured_kg", "point": 4, "range": [2, 8], "sources": ["test"]},
        "rung": {"output": "max_rung", "point": 3, "sources": ["test"]}}, scenario)
    return ["calibrate", "--check-coverage", str(datasets), "--episodes-file", str(ep), "--episodes", "A",
            "--params", ",".join(PARAMS), "--population", "10", "--generations", "2", "--seed", "9",
            "--workers", str(workers), "--out", str(out), "--quiet"]


def test_check_coverage_end_to_end_on_the_mini_border(tmp_path):
    out = tmp_path / "coverage"
    assert main(coverage_command(tmp_path, out, 3, 1)) == 0
    assert {p.name for p in out.iterdir()} == {"report.md", "coverage.csv", "fits.csv", "ranks.png", "manifest.json"}
    frame = pd.read_csv(out / "coverage.csv")
    assert len(frame) == 3 * len(PARAMS) and set(frame["parameter"]) == set(PARAMS)
    assert frame["rank"].between(0, 1).all()
    # the coverage columns say what the ranks say, and what the posterior quantiles say
    assert (frame["in50"] == ((frame["rank"] - 0.5).abs() <= 0.25)).all()
    assert (frame["in90"] == ((frame["rank"] - 0.5).abs() <= 0.45)).all()
    assert (frame["in90"] == ((frame["q05"] <= frame["truth"]) & (frame["truth"] <= frame["q95"]))).all()
    assert (frame["in50"] <= frame["in90"]).all()
    # the report's rates are the table's
    report = (out / "report.md").read_text()
    pooled = re.search(r"\| all, pooled \|\s*\| (\d+)% ± \d+% \| (\d+)% ± \d+% \|", report)
    assert pooled, report
    assert int(pooled.group(1)) == round(100 * frame["in50"].mean())
    assert int(pooled.group(2)) == round(100 * frame["in90"].mean())
    assert "each episode (A)" in report and "population 10" in report
    manifest = json.loads((out / "manifest.json").read_text())["coverage"]
    assert manifest["datasets"] == 3 and manifest["parameters"] == list(PARAMS) and manifest["episodes"] == ["A"]
    assert manifest["settings"]["population"] == 10 and manifest["settings"]["minutes"] is None
    # the first datasets depend on the seed and their index only, not on N or the number of workers
    again = tmp_path / "again"
    assert main(coverage_command(tmp_path, again, 2, 2)) == 0
    pd.testing.assert_frame_equal(pd.read_csv(again / "coverage.csv"), frame[frame["dataset"] < 2])


@pytest.mark.parametrize("args, message", [
    (["--check-coverage", "1"], "expected datasets >= 2, got 1"),
    (["--check-coverage", "4", "--params", "escalate_rte"], "'escalate_rte' has no prior to fit"),
    (["--check-coverage", "4", "--cross-validate"], "drop --cross-validate"),
])
def test_check_coverage_bad_input(tmp_path, capsys, args, message):
    out = tmp_path / "coverage"
    assert main(["calibrate", *args, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_check_coverage_on_a_targets_file_without_the_default_episodes_asks_for_them(tmp_path, capsys):
    ep = episodes_file(tmp_path, {"rung": {"output": "max_rung", "point": 3, "sources": ["test"]}},
                       mini_scenario(tmp_path))
    out = tmp_path / "coverage"
    assert main(["calibrate", "--check-coverage", "3", "--episodes-file", str(ep), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "has no episode E06, E08a, E10, E07" in err and "--episodes" in err and not out.exists()
