"""Comparisons that carry the uncertainty of the mediation effects: priors, draws, ranks, drivers, mixtures,
censoring and the when-to-act sweep, against analytic cases and end to end on the test border."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.experiments import compare as cmp
from sim.experiments.comparison_stats import (difference_distribution, first_order_shares, mixtures, noise_floor,
                                              rank_distribution, ranks_table)
from sim.experiments.ensemble import LocalExecutor
from sim.experiments.uncertainty import EffectPriors, UncertainInput, effect_inputs, leverage_inputs, split_uniform
from sim.experiments.when import delayed, parse_delays
from sim.errors import UserError
from sim.input.parameters import SPECS
from sim.input.scenario import load_scenario
from tests.conftest import DATA, SCENARIOS

MINI = DATA / "mini.yaml"


def _input(key: str, low: float, median: float, high: float) -> UncertainInput:
    return UncertainInput(key, key, low, median, high, "judgement", "test")


# --- priors ------------------------------------------------------------------------------------------------
def test_split_uniform_puts_half_the_mass_on_each_side_of_the_median():
    assert split_uniform(0.0, 0.1, 0.6, 0.7) == pytest.approx(0.1)
    assert split_uniform(0.5, 0.1, 0.6, 0.7) == pytest.approx(0.6)
    assert split_uniform(0.999999, 0.1, 0.6, 0.7) == pytest.approx(0.7, abs=1e-5)
    draws = split_uniform(np.random.default_rng(1).random(20000), 0.1, 0.6, 0.7)
    assert np.median(draws) == pytest.approx(0.6, abs=0.01)
    assert draws.min() >= 0.1 and draws.max() <= 0.7


def test_every_mediation_effect_has_a_sourced_prior_around_its_default_and_is_not_fitted():
    effects = {i.key: i for i in effect_inputs()}
    assert set(effects) == {"call_strength", "call_effect_hours", "broker_strength", "summit_strength",
                            "summit_effect_hours", "monitor_strength", "monitor_deploy_hours",
                            "commission_strength", "delimitation_strength"}
    for name, i in effects.items():
        assert i.low <= SPECS[name].default == i.median <= i.high
        assert SPECS[name].prior_reason and not SPECS[name].fit
        assert i.basis in ("literature", "judgement")
    # the evidence finds no measurable effect of calls and summits: their priors reach zero
    assert effects["call_strength"].low == 0 and effects["summit_strength"].low == 0


def test_every_shipped_mediator_has_a_sourced_leverage_prior():
    registry = load_scenario(SCENARIOS / "sept2022.yaml").registry
    for m in registry.mediators:
        assert m.leverage_prior is not None and m.leverage_prior_source
    keys = {i.key for i in leverage_inputs(registry)}
    assert "leverage:russia:TJ" in keys
    assert not any(k.startswith("leverage:kg_tj_commission") for k in keys)  # zero width: not drawn


def test_a_run_draws_the_same_values_whatever_else_is_drawn():
    priors = EffectPriors((_input("call_strength", 0.0, 0.5, 1.0),), seed=3)
    assert priors.values(5) == priors.values(5)
    assert priors.values(5) != priors.values(6)
    values = [priors.values(i)["call_strength"] for i in range(200)]
    assert 0.0 <= min(values) and max(values) <= 1.0


def test_a_leverage_prior_out_of_order_is_a_user_error(tmp_path):
    text = (DATA / "mediators.yaml").read_text().replace(
        "leverage_source: test}", "leverage_source: test, leverage_prior: {low: 0.5, median: 0.2, high: 0.9}, "
        "leverage_prior_source: test}", 1)
    for name in ("mini.yaml", "mini_geography.yaml"):
        (tmp_path / name).write_text((DATA / name).read_text())
    (tmp_path / "mediators.yaml").write_text(text)
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "none.yaml").write_text((DATA / "strategies" / "none.yaml").read_text())
    with pytest.raises(UserError, match="mediators.yaml.*low <= median <= high"):
        load_scenario(tmp_path / "mini.yaml")


# --- a strategy whose effects are certainly nothing changes nothing ----------------------------------------
def test_effects_with_zero_width_priors_at_zero_change_nothing():
    zero = EffectPriors(tuple(_input(i.key, 0.0, 0.0, 0.0) for i in effect_inputs()), seed=7)
    frame = cmp.compare_strategies(MINI, "none,strong_early", runs=8, executor=LocalExecutor(1), effects=zero)
    outcomes = [c for c in frame.columns if c not in ("strategy",) and not c.startswith("input:")]
    a = frame[frame["strategy"] == "none"][outcomes].reset_index(drop=True)
    b = frame[frame["strategy"] == "strong_early"][outcomes].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_drawn_effects_are_paired_across_strategies_and_recorded_per_run():
    frame = cmp.compare_strategies(MINI, "none,strong_early", runs=6, executor=LocalExecutor(1))
    inputs = [c for c in frame.columns if c.startswith("input:")]
    assert "input:broker_strength" in inputs
    by = {s: sub.set_index("run")[inputs] for s, sub in frame.groupby("strategy")}
    pd.testing.assert_frame_equal(by["none"], by["strong_early"])
    assert by["none"]["input:broker_strength"].nunique() == 6


def test_without_chance_every_run_has_the_same_seed():
    frame = cmp.compare_strategies(MINI, "none", runs=3, executor=LocalExecutor(1), chance=False,
                                   effects=False)
    assert frame["seed"].nunique() == 1
    assert frame["deaths_total"].nunique() == 1


# --- ranks and probabilities against analytic cases --------------------------------------------------------
def test_rank_distribution_shares_ties_and_sums_to_one():
    values = np.array([[1.0, 2.0], [2.0, 1.0], [1.0, 1.0], [0.0, 5.0]])
    dist = rank_distribution(values)
    assert dist[0].tolist() == pytest.approx([(1 + 0 + 0.5 + 1) / 4, (0 + 1 + 0.5 + 0) / 4])
    assert dist.sum(axis=0) == pytest.approx([1, 1]) and dist.sum(axis=1) == pytest.approx([1, 1])
    same = rank_distribution(np.ones((5, 3)))
    assert same == pytest.approx(np.full((3, 3), 1 / 3))


def _frame(values: dict[str, list[float]], column: str = "deaths_total") -> pd.DataFrame:
    return pd.DataFrame([{"strategy": s, "run": i, column: v} for s, vs in values.items() for i, v in enumerate(vs)])


def test_p_better_p_best_and_difference_quantiles():
    runs = _frame({"none": [10, 10, 10, 10], "a": [5, 10, 20, 0], "b": [10, 10, 10, 10]})
    dist = difference_distribution(runs, "none", ("deaths_total",)).set_index("strategy")
    assert dist.loc["a", "p_better"] == 0.5 and dist.loc["a", "p_worse"] == 0.25 and dist.loc["a", "p_same"] == 0.25
    assert dist.loc["a", "median"] == pytest.approx(np.median([-5, 0, 10, -10]))
    assert dist.loc["b", "p_same"] == 1.0
    ranks = ranks_table(runs, ["none", "a", "b"]).set_index("strategy")
    # run 0: a best; run 1: three-way tie (1/3 each); run 2: none and b tie (1/2 each); run 3: a best
    assert ranks.loc["a", "p_best"] == pytest.approx((1 + 1 / 3 + 0 + 1) / 4)
    assert ranks.loc["none", "p_best"] == pytest.approx((0 + 1 / 3 + 0.5 + 0) / 4)
    assert ranks["p_best"].sum() == pytest.approx(1.0)


def test_first_order_shares_find_the_input_that_matters():
    rng = np.random.default_rng(0)
    x = rng.random((2000, 2))
    y = x[:, 0]
    shares = first_order_shares(x, y, bins=10)
    assert shares[0] == pytest.approx(0.99, abs=0.005)  # what 10 bins leave: a uniform's variance / 100
    assert shares[1] <= noise_floor(2000, bins=10)
    noisy = 2 * x[:, 0] + rng.normal(0, 0.3, 2000)
    expected = (4 / 12) / (4 / 12 + 0.09)
    assert first_order_shares(x, noisy, bins=20)[0] == pytest.approx(expected, abs=0.03)
    assert first_order_shares(x, np.zeros(2000)).tolist() == [0.0, 0.0]


# --- mixtures and censoring ---------------------------------------------------------------------------------
def test_mixtures_split_contained_runs_from_wars():
    runs = pd.DataFrame({"strategy": ["s"] * 4, "run": range(4), "max_rung": [2, 3, 4, 5],
                         "deaths_total": [0, 1, 50, 70], "civilian_deaths": [0, 0, 10, 20],
                         "peak_displaced_total": [0, 10, 1000, 2000],
                         "hours_to_stabilisation": [np.nan, 10.0, 50.0, np.nan]})
    parts = mixtures(runs, ["s"]).set_index("part")
    assert parts.loc["contained", "share"] == 0.5 and parts.loc["war", "share"] == 0.5
    assert parts.loc["war", "deaths_total_median"] == 60 and parts.loc["contained", "deaths_total_median"] == 0.5
    assert parts.loc["war", "hours_to_stabilisation_runs"] == 1  # the never-stabilised run is not averaged in


def test_runs_that_never_stabilise_are_censored_at_the_horizon():
    frame = cmp.compare_strategies(MINI, "none", runs=8, executor=LocalExecutor(1))
    never = frame["hours_to_stabilisation"].isna()
    horizon = 96.0
    censored = frame["hours_to_stabilisation_censored"]
    assert censored.notna().all()
    expected = np.where(frame["onset_hour"].isna(), 0.0, horizon - frame["onset_hour"])
    assert censored[never].tolist() == pytest.approx(expected[never.to_numpy()].tolist())


# --- when to act ---------------------------------------------------------------------------------------------
def test_delays_move_a_strategy_keeping_its_spacing():
    spec = load_scenario(SCENARIOS / "sept2022.yaml", "documented_2022").strategy
    moved = delayed(spec, 6.0)
    assert [a.delay_hours for a in moved.actions] == [a.at_hour - 60 + 6 for a in spec.actions]
    assert all(a.at_hour is None and a.when.level_at_least == "L0" for a in moved.actions)
    early = load_scenario(SCENARIOS / "sept2022.yaml", "russia_early_call").strategy
    assert [a.delay_hours for a in delayed(early, 24.0).actions] == [24.0, 24.0]


@pytest.mark.parametrize("text", ["", "a", "-1", "3,3"])
def test_bad_delays_are_user_errors(text):
    with pytest.raises(UserError, match="--delays"):
        parse_delays(text)


# --- the command line, end to end ---------------------------------------------------------------------------
def test_cli_compare_reports_probabilities_ranks_drivers_and_mixtures(tmp_path):
    out = tmp_path / "cmp"
    assert main(["compare", str(MINI), "--strategies", "none,strong_early,zero_leverage", "--runs", "10",
                 "--out", str(out), "--quiet", "--workers", "1"]) == 0
    report = (out / "report.md").read_text()
    for heading in ("What these numbers rest on", "P(better)", "P(best)", "What the differences depend on",
                    "Contained clash or war", "runs where it happened"):
        assert heading in report or heading in (out / "table.md").read_text()
    ranks = pd.read_csv(out / "ranks.csv")
    assert ranks["p_best"].sum() == pytest.approx(1.0)
    assert set(pd.read_csv(out / "mixtures.csv")["part"]) == {"contained", "war"}
    assert not pd.read_csv(out / "drivers.csv")["first_order_share"].isna().any()
    meta = json.loads((out / "manifest.json").read_text())["comparison"]
    assert meta["effect_priors"]["inputs"] and meta["posterior"] is None


def test_cli_fixed_effects_draw_nothing(tmp_path):
    out = tmp_path / "cmp"
    assert main(["compare", str(MINI), "--strategies", "none,strong_early", "--runs", "4", "--out", str(out),
                 "--quiet", "--workers", "1", "--fixed-effects"]) == 0
    assert not [c for c in pd.read_csv(out / "runs.csv").columns if c.startswith("input:")]
    assert json.loads((out / "manifest.json").read_text())["comparison"]["effect_priors"] is None


def test_cli_when_to_act(tmp_path):
    out = tmp_path / "when"
    assert main(["compare", str(MINI), "--strategies", "none,strong_early", "--runs", "6", "--delays", "0,12",
                 "--out", str(out), "--quiet", "--workers", "1"]) == 0
    table = pd.read_csv(out / "when.csv")
    assert sorted(set(table["delay_hours"])) == [0, 12]
    first = table[table["delay_hours"] == 0]
    assert (first["cost_of_waiting"] == 0).all()
    assert {"when.md", "when.png", "runs.csv", "manifest.json"} <= {p.name for p in out.iterdir()}


def test_cli_bad_delays_exit_2(tmp_path, capsys):
    assert main(["compare", str(MINI), "--strategies", "none,strong_early", "--delays", "soon",
                 "--out", str(tmp_path / "w")]) == 2
    assert "--delays" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()


# --- global sensitivity ---------------------------------------------------------------------------------------
def test_cli_sensitivity_morris_on_the_test_border(tmp_path):
    out = tmp_path / "sens"
    assert main(["sensitivity", str(MINI), "--strategies", "none,strong_early", "--method", "morris",
                 "--samples", "2", "--out", str(out), "--quiet", "--workers", "1"]) == 0
    table = pd.read_csv(out / "indices.csv")
    assert not table[["mu_star", "mu_star_conf", "sigma"]].isna().any().any()
    outputs = set(table["output"])
    # an undefined time to a holding ceasefire enters as an indicator and a censored time, never as NaN
    assert {"stabilised (none)", "hours_to_stabilisation_censored (none)",
            "deaths_total: strong_early - none"} <= outputs
    assert {"broker_strength", "agree_rate"} <= set(table["input"])
    meta = json.loads((out / "manifest.json").read_text())["sensitivity"]
    assert meta["runs"] == 2 * (meta["rows"]) and meta["seconds"] >= 0
    assert {"report.md", "sensitivity.png"} <= {p.name for p in out.iterdir()}


def test_sensitivity_keeps_an_existing_folder_unless_forced(tmp_path, capsys):
    out = tmp_path / "sens"
    args = ["sensitivity", str(MINI), "--strategies", "none", "--method", "morris", "--samples", "2",
            "--out", str(out), "--quiet", "--workers", "1"]
    assert main(args) == 0
    before = (out / "indices.csv").read_bytes()
    (out / "note.txt").write_text("mine")
    assert main(args) == 2
    assert "already exists; add --force" in capsys.readouterr().err
    assert (out / "note.txt").exists() and (out / "indices.csv").read_bytes() == before
    assert main([*args, "--force"]) == 0
    assert not (out / "note.txt").exists() and (out / "indices.csv").read_bytes() == before


def test_cli_sensitivity_sobol_needs_a_power_of_two(tmp_path, capsys):
    assert main(["sensitivity", str(MINI), "--samples", "6", "--out", str(tmp_path / "s")]) == 2
    assert "power of two" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_sensitivity_undefined_outcomes_become_indicator_and_censored_time():
    from sim.experiments.global_sensitivity import _outputs

    never = {"deaths_total": 3.0, "civilian_deaths": 1.0, "peak_displaced_total": 10.0, "heavy_weapons": 0.0,
             "hours_to_stabilisation": float("nan"), "onset_hour": 6.0}
    reached = {**never, "hours_to_stabilisation": 40.0}
    out = _outputs([never, reached], horizon=96.0)
    assert out["stabilised"] == 0.5
    assert out["hours_to_stabilisation_censored"] == pytest.approx((90.0 + 40.0) / 2)
