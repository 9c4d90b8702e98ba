"""``bordersim compare``: paired seeds, executors, resume, the CLI, the posterior and SALib.

The model rules are still being tuned, so these tests check structure, exact identities (paired seeds,
executors, resume) and directions, never particular simulated numbers.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.errors import UserError
from sim.experiments import compare as cmp
from sim.experiments.ensemble import LocalExecutor, derive_seeds
from sim.experiments.sensitivity import run_outcomes
from sim.experiments.uncertainty import EffectPriors
from sim.input.parameters import SPECS
from sim.input.scenario import load_scenario
from tests.conftest import DATA, write_posterior

MINI = DATA / "mini.yaml"
EXPECTED_FILES = {"runs.csv", "districts.csv", "table.csv", "table.md", "differences.csv", "ranking.csv",
                  "report.md", "curves.csv", "survival.csv", "curves.png", "forest.png", "survival.png",
                  "manifest.json", "difference_distribution.csv", "ranks.csv", "drivers.csv", "mixtures.csv"}


@pytest.fixture(scope="module")
def four() -> pd.DataFrame:
    """none, a copy of none, a zero-leverage mediator and a strong early one, on 12 paired seeds."""
    return cmp.compare_strategies(MINI, "none,none_again,zero_leverage,strong_early", runs=12,
                                  executor=LocalExecutor(1))


@pytest.fixture(scope="module")
def four_diffs(four) -> pd.DataFrame:
    return cmp.paired_differences(four, "none", seed=7)


def test_runs_are_paired_by_seed(four):
    seeds = derive_seeds(7, 12)
    for _, sub in four.groupby("strategy"):
        assert sub["run"].tolist() == list(range(12))
        assert sub["seed"].tolist() == seeds
    assert list(dict.fromkeys(four["strategy"])) == ["none", "none_again", "zero_leverage", "strong_early"]


def test_strategy_identical_to_baseline_gives_exactly_zero_differences(four, four_diffs):
    same = four_diffs[four_diffs["strategy"] == "none_again"]
    assert (same[["mean_diff", "ci_lo", "ci_hi", "share_lower", "share_higher"]].to_numpy() == 0).all()
    cols = [c for c in four.columns if c != "strategy"]
    a = four[four["strategy"] == "none"][cols].reset_index(drop=True)
    b = four[four["strategy"] == "none_again"][cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_zero_leverage_mediator_is_not_ranked_better_than_none(four_diffs):
    zero = four_diffs[four_diffs["strategy"] == "zero_leverage"]
    # mediators draw no random numbers and act in proportion to leverage: exactly no effect under a seed
    assert (zero[["mean_diff", "ci_lo", "ci_hi"]].to_numpy() == 0).all()
    ranks = cmp.ranking(four_diffs).set_index("strategy")
    assert ranks.loc["zero_leverage", "verdict"] == "not distinguishable from baseline"
    assert ranks.loc["zero_leverage", "deaths_diff"] == 0


def test_strong_early_mediation_lowers_deaths(four, four_diffs):
    row = four_diffs[(four_diffs["strategy"] == "strong_early") & (four_diffs["outcome"] == "deaths_total")].iloc[0]
    assert row["mean_diff"] < 0
    assert row["share_lower"] > row["share_higher"]
    assert cmp.ranking(four_diffs)["strategy"].iloc[0] == "strong_early"


def test_strategy_table_has_every_outcome_and_sane_intervals(four):
    table = cmp.strategy_table(four)
    assert set(table["strategy"]) == set(four["strategy"])
    for _, row in table.iterrows():
        if row["kind"] == "probability":
            assert 0.0 <= row["mean"] <= 1.0
        elif row["runs"]:
            assert row["p5"] <= row["median"] <= row["p95"]


def test_bootstrap_is_seeded_and_brackets_the_mean(four):
    a = cmp.paired_differences(four, "none", seed=3)
    b = cmp.paired_differences(four, "none", seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert ((a["ci_lo"] <= a["mean_diff"] + 1e-12) & (a["mean_diff"] <= a["ci_hi"] + 1e-12)).all()


def test_ceasefire_survival_and_kaplan_meier():
    hours = np.arange(6, dtype=float)
    phases = np.array(["none", "talks", "agreed", "holding", "violated", "agreed"])
    assert cmp.ceasefire_survival(hours, phases) == (2.0, True)
    assert cmp.ceasefire_survival(hours, np.array(["none", "talks", "agreed", "holding", "holding", "stabilised"])) == (3.0, False)
    t, e = cmp.ceasefire_survival(hours, np.array(["none"] * 6))
    assert math.isnan(t) and not e
    km = cmp.kaplan_meier(np.array([1.0, 2.0, 2.0, 5.0, np.nan]), np.array([True, True, False, False, False]))
    assert km["survival"].tolist() == pytest.approx([1.0, 0.75, 0.75 * 2 / 3, 0.75 * 2 / 3])


def test_results_do_not_depend_on_executor_or_worker_count():
    distributed = pytest.importorskip("distributed")
    from sim.experiments.executors import DaskExecutor

    kwargs = dict(strategies="none,strong_early", runs=6)
    one = cmp.compare_strategies(MINI, executor=LocalExecutor(1), **kwargs)
    two = cmp.compare_strategies(MINI, executor=LocalExecutor(2), **kwargs)
    pd.testing.assert_frame_equal(one, two)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        on_dask = cmp.compare_strategies(MINI, executor=DaskExecutor(client=client), **kwargs)
    pd.testing.assert_frame_equal(one, on_dask)


class Stop(Exception):
    pass


def test_resume_finishes_an_interrupted_comparison_without_redoing_runs(tmp_path):
    kwargs = dict(strategies="none,strong_early", runs=5, executor=LocalExecutor(1))
    reference = cmp.compare_strategies(MINI, out=tmp_path / "ref", **kwargs)
    out = tmp_path / "cmp" / "mini"
    seen: list[tuple[str, int]] = []

    def interrupt_after_four(record):
        seen.append((record.strategy, record.run))
        if len(seen) == 4:
            raise Stop

    with pytest.raises(Stop):
        cmp.compare_strategies(MINI, out=out, on_run=interrupt_after_four, **kwargs)
    partial = cmp.partial_dir(out)
    assert not out.exists(), "an interrupted comparison must not leave a results folder"
    assert len(list(partial.glob("*.json"))) == 4

    redone: list[tuple[str, int]] = []
    resumed = cmp.compare_strategies(MINI, out=out, resume=True,
                                     on_run=lambda r: redone.append((r.strategy, r.run)), **kwargs)
    assert len(redone) == 6 and not set(redone) & set(seen[:4])
    pd.testing.assert_frame_equal(resumed, reference)
    pd.testing.assert_frame_equal(pd.read_csv(out / "runs.csv"), pd.read_csv(tmp_path / "ref" / "runs.csv"))
    pd.testing.assert_frame_equal(pd.read_csv(out / "differences.csv"),
                                  pd.read_csv(tmp_path / "ref" / "differences.csv"))
    assert json.loads((out / "manifest.json").read_text())["comparison"]["resumed_runs"] == 4
    assert not partial.exists()
    assert {p.name for p in out.iterdir()} == EXPECTED_FILES


def test_checkpoints_of_other_settings_are_not_reused(tmp_path):
    out = tmp_path / "mini"
    with pytest.raises(Stop):
        cmp.compare_strategies(MINI, "none", runs=3, seed=1, out=out, executor=LocalExecutor(1),
                               on_run=lambda r: (_ for _ in ()).throw(Stop))
    redone = []
    cmp.compare_strategies(MINI, "none", runs=3, seed=2, out=out, resume=True, executor=LocalExecutor(1),
                           on_run=redone.append)
    assert len(redone) == 3


def test_cli_writes_the_comparison(tmp_path, capsys):
    out = tmp_path / "res"
    code = main(["compare", str(MINI), "--strategies", "none,zero_leverage,strong_early", "--runs", "4",
                 "--workers", "1", "--out", str(out), "--quiet"])
    assert code == 0
    assert {p.name for p in out.iterdir()} == EXPECTED_FILES
    meta = json.loads((out / "manifest.json").read_text())
    assert meta["comparison"]["baseline"] == "none"
    assert list(meta["comparison"]["strategies"]) == ["none", "zero_leverage", "strong_early"]
    assert meta["comparison"]["executor"]["kind"] == "local"
    assert meta["comparison"]["posterior"] is None
    assert meta["seeds"]["per_run"] == derive_seeds(7, 4)
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 12 and set(runs["strategy"]) == {"none", "zero_leverage", "strong_early"}
    ranking = pd.read_csv(out / "ranking.csv")
    assert sorted(ranking["rank"]) == [1, 2, 3]
    report = (out / "report.md").read_text()
    assert "Ranking" in report and "horizon" in report
    assert capsys.readouterr().err == ""
    assert not cmp.partial_dir(out).exists()


@pytest.mark.parametrize("args, message", [
    (["--strategies", "none,csto_monitor"], "unknown strategy 'csto_monitor'"),
    (["--strategies", "none,strong_erly"], "did you mean 'strong_early'"),
    (["--strategies", " , "], "at least one strategy"),
    (["--strategies", "none", "--runs", "0"], "--runs"),
    (["--strategies", "none,strong_early", "--baseline", "nobody"], "--baseline"),
    (["--strategies", "none", "--posterior", "--fitted", "missing/fitted.yaml"], "bordersim calibrate"),
    (["--strategies", "none", "--scheduler", "tcp://127.0.0.1:9"], "--scheduler"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "res"
    code = main(["compare", str(MINI), *args, "--out", str(out), "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_unreachable_dask_scheduler_exits_2(tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    import sim.experiments.executors

    monkeypatch.setattr(sim.experiments.executors, "CONNECT_TIMEOUT", "2s")
    code = main(["compare", str(MINI), "--strategies", "none", "--runs", "2", "--executor", "dask",
                 "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "res"), "--quiet"])
    assert code == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_posterior_draws_are_shared_by_run_index(tmp_path):
    rows = {"agree_rate": [0.01, 0.1, 0.3], "escalate_rate": [0.2, 0.05, 0.01]}
    fitted = write_posterior(tmp_path, rows)
    out = tmp_path / "res"
    frame = cmp.compare_strategies(MINI, "none,strong_early", runs=4, posterior=True, fitted=fitted,
                                   executor=LocalExecutor(1), out=out)
    assert frame.groupby("strategy")["draw"].apply(list).to_dict() == {"none": [0, 1, 2, 0],
                                                                      "strong_early": [0, 1, 2, 0]}
    seeds = derive_seeds(7, 4)
    priors = EffectPriors.for_registry(load_scenario(MINI).registry, 7)
    for i in (1, 3):
        # the posterior draw, and the draw of the mediation effects the same run index gets
        params = {**{k: v[i % 3] for k, v in rows.items()}, **dict(priors.task_fields(i)[0])}
        expected = run_outcomes(params, seeds[i], scenario=MINI, strategy="strong_early")
        got = frame[(frame["strategy"] == "strong_early") & (frame["run"] == i)].iloc[0]
        for key in ("deaths_total", "peak_displaced_total", "violations", "max_rung"):
            assert float(got[key]) == expected[key]
    post = json.loads((out / "manifest.json").read_text())["comparison"]["posterior"]
    assert post["n_draws"] == 3 and post["parameters"] == ["agree_rate", "escalate_rate"]
    assert "posterior" in (out / "report.md").read_text()


def test_posterior_with_an_unknown_parameter_is_a_user_error(tmp_path):
    fitted = write_posterior(tmp_path, {"agree_rat": [0.1]})
    with pytest.raises(UserError, match="did you mean 'agree_rate'"):
        cmp.compare_strategies(MINI, "none", runs=1, posterior=True, fitted=fitted)


def test_run_outcomes_is_a_plain_function_of_params_and_seed():
    a = run_outcomes({"agree_rate": 0.05}, 3, scenario=MINI)
    b = run_outcomes(seed=3, scenario=MINI, agree_rate=np.float64(0.05))  # EMA Workbench style (kwargs)
    assert a == b or all((x == y) or (math.isnan(x) and math.isnan(y)) for x, y in zip(a.values(), b.values()))
    assert all(isinstance(v, float) for v in a.values())
    assert {"deaths_total", "peak_displaced_total", "heavy_weapons", "hours_to_stabilisation"} <= set(a)
    with pytest.raises(UserError, match="unknown parameter"):
        run_outcomes({"agree_rat": 0.05}, 3, scenario=MINI)


def test_salib_drives_run_outcomes():
    sample = pytest.importorskip("SALib.sample.morris")
    analyze = pytest.importorskip("SALib.analyze.morris")
    names = ["agree_rate", "escalate_rate", "front_rate"]
    problem = {"num_vars": 3, "names": names, "bounds": [list(SPECS[n].prior) for n in names]}
    X = sample.sample(problem, N=3, num_levels=4, seed=1)
    Y = np.array([run_outcomes(dict(zip(names, x)), seed=11, scenario=MINI)["deaths_total"] for x in X])
    assert np.isfinite(Y).all()
    result = analyze.analyze(problem, X, Y, num_levels=4, seed=1)
    assert len(result["mu_star"]) == 3 and np.isfinite(result["mu_star"]).all()
