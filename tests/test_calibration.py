"""Calibration: targets are checked, a known parameter vector is recovered, and `calibrate --quick` writes
fitted.yaml, posterior.csv and the report that scenarios then pick up."""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

pytest.importorskip("pyabc")

from sim.calibration.command import CalibrateOptions, settings_for  # noqa: E402
from sim.calibration.coverage import simulated_targets  # noqa: E402
from sim.calibration.fit import (GENERATION_GIVEN_UP, FitSettings, _ProgressHandler, _sampler, fit,  # noqa: E402
                                 posterior_generation, weighted_quantile)
from sim.calibration.report import (Prediction, by_level_markdown, by_weapon_level, comparison_table,  # noqa: E402
                                   documented_percentile, edge_verdict, misfit_breakdown, misfit_markdown)
from sim.calibration.simulator import ScaledDistance, Simulator, free_parameters, replicate_key, run_summary  # noqa: E402
from sim.calibration.targets import TargetSet, distance, load_targets  # noqa: E402
from sim.cli import main  # noqa: E402
from sim.engine.outcomes import CUMULATIVE  # noqa: E402
from sim.errors import UserError  # noqa: E402
from sim.input.scenario import load_scenario  # noqa: E402
from sim.output.results import portable_path  # noqa: E402
from tests.conftest import DATA, REPO  # noqa: E402


def mini_scenario(tmp_path: Path, name: str = "mini_cal", parameters_file: Path | None = None,
                  violent: bool = False) -> Path:
    """A copy of tests/data/mini.yaml in tmp_path (its references made absolute); ``violent``: mortars
    authorised from the start and a tense border, so that casualty counts carry information."""
    spec = yaml.safe_load((DATA / "mini.yaml").read_text())
    spec.update(name=name, geography=str(DATA / "mini_geography.yaml"), mediators=str(DATA / "mediators.yaml"),
                strategy=str(DATA / "strategies" / "none.yaml"))
    if violent:
        spec["governments"] = {"KG": {"authorised": "L2", "arsenal": "L4"}, "TJ": {"authorised": "L2", "arsenal": "L4"}}
        spec["initial_tension"] = {"default": 0.8}
        spec["triggers"] = [{"kind": "incident", "hour": 2, "segment": "seg_water", "level": "L2"}]
    if parameters_file is not None:
        spec["parameters"] = {"file": str(parameters_file)}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def episodes_file(tmp_path: Path, targets: dict[str, dict], scenario: Path, ids=("A", "B")) -> Path:
    doc = {"version": 1, "episodes": {}}
    for eid in ids:
        doc["episodes"][eid] = {
            "title": f"mini episode {eid}", "scenario": str(scenario),
            "onset": "2022-09-14T02:00:00+06:00",  # mini.yaml's trigger at hour 2
            "timeline": [{"event": "onset", "at": "2022-09-14T02:00:00+06:00", "label": "shots", "source": "test"},
                         {"event": "ceasefire_agreed", "at": "2022-09-15T12:00:00+06:00", "label": "agreed",
                          "source": "test"}],
            "targets": targets}
    path = tmp_path / "episodes.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def synthetic_targets(tmp_path: Path, truth: dict[str, float]) -> tuple[TargetSet, Path]:
    """Targets simulated at known parameters on the violent test border: the medians and quartiles of 30 runs
    of six outputs (``sim.calibration.coverage.simulated_targets``). One episode counted twice (two 'episodes'
    on the same scenario): more data per parameter vector."""
    scenario = mini_scenario(tmp_path, violent=True)
    template = {out: {"output": out, "point": 0, "sources": ["simulated at known parameters"]}
                for out in ("injured_kg", "injured_tj", "deaths_kg", "deaths_tj", "max_rung", "segments_involved")}
    ts = load_targets(episodes_file(tmp_path, template, scenario, ids=("SYN1", "SYN2")))
    return simulated_targets(ts, truth, {e: range(30) for e in ts.episodes}), scenario


def test_the_shipped_episodes_file_is_valid_and_maps_to_model_outputs():
    ts = load_targets()
    assert {"E07", "E13", "BASELINE"} <= set(ts.episodes)
    assert list(ts.select(None).episodes) == ["E07", "E13"]
    e07, e13 = ts.episodes["E07"], ts.episodes["E13"]
    assert e07.onset_hour == 12 and e13.onset_hour == 6  # the scenarios' first incidents
    points = {t.key: t.point for t in ts.all_targets()}
    assert points["E07.deaths_kg"] == 36 and points["E07.deaths_tj"] == 19
    assert points["E07.max_rung"] == 4 and points["E13.max_rung"] == 5  # rung = facts level + 1
    assert all(t.scale > 0 for t in ts.all_targets())


def test_parameter_recovery_on_the_mini_border(tmp_path):
    """Data simulated at known parameters is fitted back inside the posterior's 90% interval."""
    truth = {"escalate_rate": 0.08, "military_casualty_rate": 0.6}
    ts, scenario = synthetic_targets(tmp_path, truth)
    result = fit(ts, FitSettings(population=30, generations=3, budget=1200, walltime_minutes=10.0, workers=1,
                                 seed=3, quiet=True, params=tuple(truth)))
    for name, value in truth.items():
        x = result.particles[name].to_numpy()
        lo, hi = (weighted_quantile(x, result.weights, q) for q in (0.05, 0.95))
        assert lo <= value <= hi, f"{name}: true {value} outside the posterior 90% interval [{lo:.3g}, {hi:.3g}]"
    # parameters with a prior that were not fitted keep the scenario's values, and go into fitted.yaml with them
    scenario_params = load_scenario(scenario).params
    assert "agree_rate" in result.fixed and not set(truth) & set(result.fixed)
    assert all(result.fixed[k] == pytest.approx(scenario_params[k]) for k in result.fixed)
    # the data are informative: the injury rate's interval is narrower than its prior (0.02-2, log scale)
    x = result.particles["military_casualty_rate"].to_numpy()
    lo, hi = (weighted_quantile(x, result.weights, q) for q in (0.05, 0.95))
    assert np.log10(hi / lo) < 0.85 * np.log10(2.0 / 0.02)


def test_calibrate_quick_end_to_end_and_scenarios_use_the_fit(tmp_path):
    scenario = mini_scenario(tmp_path)
    targets = {
        "deaths_kg": {"output": "deaths_kg", "point": 2, "range": [0, 4], "sources": ["test"]},
        "max_rung": {"output": "max_rung", "point": 3, "sources": ["test"]},
        "hours": {"output": "hours_to_first_ceasefire", "point": 30, "range": [20, 40], "sources": ["test"]},
        "injured_tj": {"output": "injured_tj", "point": 5, "fit": False, "sources": ["test"]},
        "dead_by_day_2": {"output": "deaths_kg", "by": "2022-09-15T00:00:00+06:00", "point": 1, "range": [0, 2],
                          "sources": ["test"]},
    }
    ep_file = episodes_file(tmp_path, targets, scenario)
    out = tmp_path / "fit"
    code = main(["calibrate", "--quick", "--quiet", "--episodes-file", str(ep_file), "--out", str(out),
                 "--workers", "2", "--seed", "5", "--history", str(tmp_path / "kept" / "abc.db")])
    assert code == 0
    fitted = yaml.safe_load((out / "fitted.yaml").read_text())
    assert fitted["posterior_draws"] == "posterior.csv"
    assert (tmp_path / "kept" / "abc.db").is_file() and fitted["made_by"]["resumed"] is False
    assert fitted["made_by"]["history"] == portable_path(tmp_path / "kept" / "abc.db")   # no machine's folders
    assert not Path(fitted["made_by"]["history"]).is_absolute()
    assert not Path(fitted["made_by"]["episodes_file"]["path"]).is_absolute()
    assert fitted["made_by"]["episodes"] == ["A", "B"] and fitted["made_by"]["quick"] is True
    draws = pd.read_csv(out / fitted["posterior_draws"])
    assert list(draws.columns) == [k for k in fitted["values"] if k not in fitted["fixed"]] and len(draws) > 0
    assert fitted["made_by"]["posterior_generation"] in range(fitted["made_by"]["generations"])
    for f in ("report.md", "table_A.csv", "table_B.csv", "misfit.csv", "posterior_marginals.png", "posterior_pairs.png",
              "escalation_A.png", "manifest.json"):
        assert (out / "report" / f).is_file(), f
    table = pd.read_csv(out / "report" / "table_A.csv")
    assert {"documented", "sim_median", "sim_q05", "sim_q95", "documented_inside_90pct",
            "documented_percentile"} <= set(table.columns)
    assert table["documented_percentile"].between(0, 100).all()
    assert table.set_index("target").loc["dead_by_day_2", "output"] == "deaths_kg@24h"  # fitted, read at its hour
    # --resume --generations 0 writes fitted.yaml and the report anew from the stored fit, sampling nothing
    again = tmp_path / "again"
    assert main(["calibrate", "--quick", "--quiet", "--episodes-file", str(ep_file), "--out", str(again),
                 "--workers", "2", "--seed", "5", "--history", str(tmp_path / "kept" / "abc.db"), "--resume",
                 "--generations", "0"]) == 0
    rewritten = yaml.safe_load((again / "fitted.yaml").read_text())
    assert rewritten["values"] == fitted["values"] and rewritten["made_by"]["simulations"] == fitted["made_by"]["simulations"]
    assert "written anew from the fit stored in" in (again / "report" / "report.md").read_text()
    # a scenario naming the fitted file uses the fitted values
    used = load_scenario(mini_scenario(tmp_path, "uses_fit", out / "fitted.yaml")).params
    for name, value in fitted["values"].items():
        assert used[name] == pytest.approx(value)
    # nothing of the real fit was touched
    assert not (tmp_path / "calibration").exists()


def test_quick_never_writes_the_real_fit_by_default():
    from sim.calibration.fit import OutputPaths

    quick, real = OutputPaths.choose(None, True), OutputPaths.choose(None, False)
    assert quick.fitted != real.fitted and quick.report != real.report
    assert real.fitted == REPO / "calibration" / "fitted.yaml"


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["episodes"]["A"]["targets"]["deaths_kg"].update(output="deaths_kgg"),
     "episodes.A.targets.deaths_kg.output: unknown model output 'deaths_kgg' (did you mean 'deaths_kg'?)"),
    (lambda d: d["episodes"]["A"]["targets"]["deaths_kg"].update(range=[5, 1]), "low <= high"),
    (lambda d: d["episodes"]["A"]["targets"]["deaths_kg"].update(point=9), "outside its range"),
    (lambda d: d["episodes"]["A"].update(onset="2022-09-14T05:00:00+06:00"), "the hour offsets must match"),
    (lambda d: d["episodes"]["A"].update(scenario="nowhere.yaml"), "episodes.A.scenario: file not found"),
    (lambda d: d.setdefault("distance", {}).update(log_outputs=["deaths_kgg"]),
     "distance.log_outputs[0]: unknown model output 'deaths_kgg' (did you mean 'deaths_kg'?)"),
    (lambda d: d["episodes"]["A"]["targets"]["deaths_kg"].update(output="peak_displaced[Nowhere district]"),
     "episodes.A.targets.deaths_kg.output: no district 'Nowhere district' among the populated places of"),
    (lambda d: d["episodes"]["A"].update(stop_above={"hours_to_first_ceasefire": 10}),
     "episodes.A.stop_above.hours_to_first_ceasefire: not an output that only grows during a run"),
    (lambda d: d["episodes"]["A"]["targets"]["deaths_kg"].update(output="hours_to_mortars",
                                                                   by="2022-09-15T00:00:00+06:00"),
     "episodes.A.targets.deaths_kg: 'by' reads the output at a moment of the run, so it must be one that never"),
    (lambda d: d["episodes"]["A"]["targets"]["deaths_kg"].update(by="2022-09-30T00:00:00+06:00"),
     "episodes.A.targets.deaths_kg.by: 2022-09-30T00:00:00+06:00 falls outside the scenario's time span"),
    (lambda d: d["episodes"]["A"]["targets"]["deaths_kg"].update(by="the next morning"),
     "episodes.A.targets.deaths_kg.by:"),
])
def test_bad_targets_give_a_clear_error_and_overwrite_nothing(tmp_path, capsys, mutate, expected):
    scenario = mini_scenario(tmp_path)
    ep_file = episodes_file(tmp_path, {"deaths_kg": {"output": "deaths_kg", "point": 2, "range": [0, 4],
                                                      "sources": ["t"]}}, scenario)
    doc = yaml.safe_load(ep_file.read_text())
    mutate(doc)
    ep_file.write_text(yaml.safe_dump(doc))
    out = tmp_path / "fit"
    out.mkdir()
    (out / "fitted.yaml").write_text("values: {escalate_rate: 0.1}\n")
    code = main(["calibrate", "--quick", "--episodes-file", str(ep_file), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert str(ep_file) in err or "nowhere.yaml" in err
    assert expected in err
    assert (out / "fitted.yaml").read_text() == "values: {escalate_rate: 0.1}\n"
    assert sorted(p.name for p in out.iterdir()) == ["fitted.yaml"]


def test_log_outputs_weigh_a_halving_and_a_doubling_alike(tmp_path):
    scenario = mini_scenario(tmp_path)
    ep_file = episodes_file(tmp_path, {"deaths_kg": {"output": "deaths_kg", "point": 400, "range": [380, 420],
                                                      "sources": ["t"]}}, scenario)
    doc = yaml.safe_load(ep_file.read_text())
    linear = load_targets(ep_file).episodes["A"].targets[0]
    doc["distance"] = {"log_outputs": ["deaths_kg"]}
    ep_file.write_text(yaml.safe_dump(doc))
    logged = load_targets(ep_file).episodes["A"].targets[0]
    assert logged.log and not linear.log
    assert logged.scale == pytest.approx(np.log(1.1))  # the 10% relative floor as a ratio; the range is narrower
    assert logged.deviation(800) == pytest.approx(-logged.deviation(200), rel=0.01)
    assert linear.deviation(800) == pytest.approx(-2.0 * linear.deviation(200))  # linear: an overshoot costs double


def test_a_stopped_run_gives_lower_bounds_of_the_full_run(tmp_path):
    """``stop_above`` ends a fit's run early; what it returns never exceeds what the full run reaches, and the
    capped output is past its cap (so the particle is rejected on a lower bound, never on a wrong value)."""
    scenario = str(mini_scenario(tmp_path, violent=True))
    stopped_early = 0
    for seed in range(4):
        full = run_summary(scenario, seed, {})
        cap = full["deaths_kg"] / 2
        if cap <= 0:
            continue
        stopped = run_summary(scenario, seed, {}, stop_above=(("deaths_kg", cap),))
        assert stopped["deaths_kg"] > cap
        assert all(stopped[name] <= full[name] for name in CUMULATIVE)
        stopped_early += stopped["deaths_kg"] < full["deaths_kg"]
    assert stopped_early >= 1
    never = run_summary(scenario, 0, {}, stop_above=(("deaths_kg", 1e9),))
    assert pd.Series(never).equals(pd.Series(run_summary(scenario, 0, {})))  # a cap never reached changes nothing


def test_a_dated_target_reads_the_toll_as_it_stood_at_that_hour(tmp_path):
    """``by:`` compares the output at a moment of the run: the same value as the hourly series at that hour, the
    final value at the run's last hour, the same in a fit's run and in a predictive run, and the run itself is
    unchanged by reading it (same final outcomes as without)."""
    from sim.calibration.fit import predictive, predictive_values

    scenario = mini_scenario(tmp_path, violent=True)
    targets = {"deaths_kg": {"output": "deaths_kg", "point": 4, "range": [2, 6], "sources": ["t"]},
               "dead_by_20h": {"output": "deaths_kg", "by": "2022-09-14T20:00:00+06:00", "point": 0, "sources": ["t"]},
               "dead_by_end": {"output": "deaths_kg", "by": "2022-09-18T00:00:00+06:00", "point": 4, "sources": ["t"]}}
    episode = load_targets(episodes_file(tmp_path, targets, scenario, ids=("A",))).episodes["A"]
    assert episode.read_at_hours == (20.0, 96.0)
    draws = pd.DataFrame({"military_casualty_rate": [0.5] * 6})
    runs = predictive(episode, draws, seed=3, workers=1, quiet=True)
    values = predictive_values(episode, runs, censor=True)
    assert (values["dead_by_end"] == values["deaths_kg"]).all()
    assert (values["dead_by_20h"] <= values["deaths_kg"]).all() and (values["dead_by_20h"] < values["deaths_kg"]).any()
    for run, row in zip(runs, values.itertuples()):
        s = run.series
        at_20h = s.loc[s["step"] == 20, ["deaths_kg_military", "deaths_kg_civilian"]].sum(axis=1).item()
        assert row.dead_by_20h == at_20h      # series row 0 is the start; row k the end of step k, hour k
        fit_run = run_summary(str(scenario), run.task.seed, {"military_casualty_rate": 0.5}, read_at_hours=(20.0,))
        assert fit_run["deaths_kg@20h"] == row.dead_by_20h
        plain = run_summary(str(scenario), run.task.seed, {"military_casualty_rate": 0.5})
        assert plain == {k: v for k, v in fit_run.items() if "@" not in k}


@pytest.mark.parametrize("replicates", [1, 2])
def test_giving_up_on_a_particle_never_loses_one_that_would_be_accepted(tmp_path, replicates):
    """The fit abandons a particle once its distance's lower bound passes epsilon. Whatever epsilon, an abandoned
    particle's full distance (the mean over its replicate runs) exceeds it, and a particle simulated to the end
    has exactly the full values."""
    scenario = mini_scenario(tmp_path, violent=True)
    targets = {"deaths_kg": {"output": "deaths_kg", "point": 1, "range": [0, 2], "sources": ["test"]},
               "injured_tj": {"output": "injured_tj", "point": 2, "sources": ["test"]},
               "hours": {"output": "hours_to_first_ceasefire", "point": 30, "range": [20, 40], "sources": ["test"]},
               "early_dead": {"output": "deaths_kg", "by": "2022-09-14T20:00:00+06:00", "point": 0, "range": [0, 1],
                              "sources": ["test"]}}
    ts = load_targets(episodes_file(tmp_path, targets, scenario))
    params = free_parameters(ts, ["escalate_rate", "military_casualty_rate"])
    simulator = Simulator(tuple(ts.episodes.values()), tuple(params), base_seed=11, replicates=replicates)
    fitted = ts.fitted_targets()
    mean_distance = ScaledDistance(tuple(fitted), replicates)
    given_up = kept = 0
    for i, rate in enumerate(np.linspace(-1.5, 0.3, 6)):
        pars = {"log10_escalate_rate": -1.2, "log10_military_casualty_rate": float(rate)}
        full, complete = simulator.simulate(pars)
        assert complete and full == simulator(pars)
        d = mean_distance(full, {})
        for eps in (d * 0.3, d * 0.9, d, d * 1.5):
            values, complete = simulator.simulate(pars, eps)
            if complete:
                assert values == full
                kept += 1
            else:
                assert d > eps
                given_up += 1
    assert given_up and kept  # both paths were exercised


def test_replicates_add_runs_at_new_seeds_and_the_distance_is_their_mean(tmp_path):
    """--replicates K: replicate 0 is the one-replicate fit's run (same seeds), the other replicates are runs at
    other seeds, and the particle's distance is the mean of its runs' distances."""
    scenario = mini_scenario(tmp_path, violent=True)
    targets = {"deaths_kg": {"output": "deaths_kg", "point": 4, "range": [2, 6], "sources": ["test"]},
               "injured_kg": {"output": "injured_kg", "point": 12, "range": [8, 16], "sources": ["test"]}}
    ts = load_targets(episodes_file(tmp_path, targets, scenario))
    params = tuple(free_parameters(ts, ["escalate_rate"]))
    fitted = ts.fitted_targets()
    pars = {"log10_escalate_rate": -1.0}
    single = Simulator(tuple(ts.episodes.values()), params, base_seed=5)(pars)
    three = Simulator(tuple(ts.episodes.values()), params, base_seed=5, replicates=3)(pars)
    assert {k: three[k] for k in single} == single
    runs = [{t.key: three[replicate_key(t.key, r)] for t in fitted} for r in range(3)]
    assert runs[1] != runs[0] or runs[2] != runs[0]                 # the replicates are other runs
    per_run = [distance(run, fitted) for run in runs]
    assert ScaledDistance(tuple(fitted), 3)(three, {}) == pytest.approx(np.mean(per_run))
    assert ScaledDistance(tuple(fitted))(single, {}) == pytest.approx(per_run[0])


def test_malformed_yaml_and_unknown_episode_are_user_errors(tmp_path, capsys):
    bad = tmp_path / "episodes.yaml"
    bad.write_text("episodes: {E07: [unclosed\n")
    assert main(["calibrate", "--quick", "--episodes-file", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "malformed YAML" in capsys.readouterr().err
    with pytest.raises(UserError, match="unknown episode 'E99'"):
        load_targets().select(["E99"])
    assert not (tmp_path / "o").exists()


def test_the_shipped_scenarios_use_the_shipped_fit():
    fitted_file = REPO / "calibration" / "fitted.yaml"
    if not fitted_file.is_file():
        pytest.skip("no calibration/fitted.yaml yet")
    fitted = yaml.safe_load(fitted_file.read_text())
    assert (fitted_file.parent / fitted["posterior_draws"]).is_file()
    for name in ("april2021", "sept2022", "baseline"):
        params = load_scenario(REPO / "scenarios" / f"{name}.yaml").params
        for key, value in fitted["values"].items():
            assert params[key] == pytest.approx(value), (name, key)


class _History:
    """The two things posterior_generation reads from a pyabc History: max_t and get_distribution."""

    def __init__(self, weights: list[list[float]]):
        self.weights = weights
        self.max_t = len(weights) - 1

    def get_distribution(self, m: int, t: int):
        w = np.asarray(self.weights[t], dtype=float)
        return pd.DataFrame({"x": np.arange(len(w), dtype=float) + 10 * t}), w / w.sum()


def test_a_collapsed_last_generation_is_not_the_posterior():
    even, skewed, collapsed = [1.0] * 10, [1.0] * 5 + [0.1] * 5, [1.0] + [1e-6] * 9
    t, df, w, sizes = posterior_generation(_History([even, skewed, collapsed]), min_ess=3.0)
    assert t == 1 and df["x"].iloc[0] == 10.0
    assert sizes[0] == pytest.approx(10.0) and sizes[2] == pytest.approx(1.0, abs=0.01)
    # no generation good enough: the least degenerate one
    t, *_ = posterior_generation(_History([skewed, collapsed]), min_ess=50.0)
    assert t == 0


def test_progress_says_why_the_fit_stopped_and_nothing_else(capsys):
    handler = _ProgressHandler()
    for msg in ("t: 6, eps: 3.2e+02.", "Accepted: 150 / 3031 = 4.9e-02, ESS: 2.3e+01.", "Submitting population 6.",
                "Stopping: sample not ok.", "Stop: Maximum walltime."):
        handler.emit(logging.LogRecord("ABC", logging.INFO, __file__, 0, msg, None, None))
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["calibrate: t: 6, eps: 3.2e+02.", "calibrate: Accepted: 150 / 3031 = 4.9e-02, ESS: 2.3e+01.",
                     f"calibrate: {GENERATION_GIVEN_UP}", "calibrate: Stop: Maximum walltime."]


@pytest.mark.parametrize("quiet, terminal, shown", [(False, True, True), (True, True, False), (False, False, False)])
def test_the_bar_of_accepted_particles_shows_on_a_terminal_unless_quiet(monkeypatch, quiet, terminal, shown):
    monkeypatch.setattr("sys.stdout.isatty", lambda: terminal)
    for workers in (1, 2):
        with _sampler(FitSettings(workers=workers, quiet=quiet)) as sampler:
            assert sampler.show_progress is shown


def test_the_misfit_breakdown_adds_up_to_the_distance_and_ranks_the_worst_target_first(tmp_path):
    targets = {
        "deaths_kg": {"output": "deaths_kg", "point": 10, "range": [8, 12], "sources": ["t"]},
        "max_rung": {"output": "max_rung", "point": 3, "sources": ["t"]},
        "hours": {"output": "hours_to_first_ceasefire", "point": 30, "range": [20, 40], "sources": ["t"]},
        "injured_tj": {"output": "injured_tj", "point": 5, "fit": False, "sources": ["t"]},
        "dead_by_20h": {"output": "deaths_kg", "by": "2022-09-14T20:00:00+06:00", "point": 1, "fit": False,
                        "sources": ["t"]},
    }
    episode = load_targets(episodes_file(tmp_path, targets, mini_scenario(tmp_path), ids=("A",))).episodes["A"]
    runs = pd.DataFrame({"run": [0, 1, 2], "deaths_kg": [10.0, 14.0, 6.0], "max_rung": [5.0, 5.0, 4.0],
                         "hours": [30.0, float("nan"), 25.0], "injured_tj": [50.0, 60.0, 70.0],
                         "dead_by_20h": [1.0, 9.0, 0.0]})
    table = comparison_table(Prediction(episode, [], runs), ["A"]).set_index("target")
    # the goals are the final toll's; a toll dated to an hour is reported beside it, under its own name
    assert table.loc["deaths_kg", "median_goal"] == "ok" and table.loc["dead_by_20h", "median_goal"] == ""
    assert table.loc["dead_by_20h", "output"] == "deaths_kg@20h"
    table = table.reset_index()
    misfit = misfit_breakdown({"A": table}, ["A"])
    fitted = episode.fitted_targets()
    mean_distance = np.mean([distance({t.key: row[t.name] for t in fitted}, fitted) for _, row in runs.iterrows()])
    assert misfit["mean_sq_deviation"].sum() == pytest.approx(mean_distance)
    assert misfit["share"].sum() == pytest.approx(1.0)
    assert "injured_tj" not in set(misfit["target"])             # not in the distance, not in the breakdown
    assert misfit["target"].iloc[0] == "hours"                    # a run that never agreed counts as 100 units off
    rung = misfit.set_index("target").loc["max_rung"]
    assert rung["median_deviation"] > 0 and rung["sim_median"] == 5.0   # too high, and said so
    assert "too high" in misfit_markdown(misfit)


def test_runs_grouped_by_highest_weapon_level_show_where_a_median_goal_is_missed(tmp_path):
    targets = {
        "deaths_kg": {"output": "deaths_kg", "point": 10, "sources": ["t"]},
        "evacuated_kg": {"output": "peak_displaced_kg", "point": 1000, "sources": ["t"]},
        "max_rung": {"output": "max_rung", "point": 4, "sources": ["t"]},
        "injured_tj": {"output": "injured_tj", "point": 5, "sources": ["t"]},
    }
    episode = load_targets(episodes_file(tmp_path, targets, mini_scenario(tmp_path), ids=("A",))).episodes["A"]
    runs = pd.DataFrame({"run": range(5), "deaths_kg": [2.0, 9.0, 11.0, 40.0, 60.0],
                         "evacuated_kg": [0.0, 900.0, 1100.0, 5000.0, 7000.0], "max_rung": [2.0, 4.0, 4.0, 5.0, 5.0],
                         "injured_tj": [1.0, 2.0, 3.0, 4.0, 5.0]})
    levels = by_weapon_level(Prediction(episode, [], runs)).set_index("rung")
    assert list(levels.index) == [2, 4, 5] and levels["runs"].sum() == 5
    assert levels["share"].sum() == pytest.approx(1.0)
    assert levels.loc[4, "documented_level"] and not levels.loc[5, "documented_level"]
    assert levels.loc[4, "deaths_kg"] == 10.0 and levels.loc[5, "evacuated_kg"] == 6000.0   # medians per level
    assert "injured_tj" not in levels.columns                    # only the goal targets (and segments)
    text = by_level_markdown(levels.reset_index(), episode)
    assert "40% of the runs went past the documented level" in text
    assert "**L3 armour/artillery** (documented)" in text
    none_at_documented = by_weapon_level(Prediction(episode, [], runs[runs["max_rung"] != 4.0]))
    assert not none_at_documented["documented_level"].any()   # the share past it is still said
    assert "67% of the runs went past" in by_level_markdown(none_at_documented, episode)
    del targets["max_rung"]
    no_rung = load_targets(episodes_file(tmp_path, targets, mini_scenario(tmp_path), ids=("A",))).episodes["A"]
    assert by_weapon_level(Prediction(no_rung, [], runs.drop(columns="max_rung"))).empty


def test_a_fit_kept_in_a_history_file_continues_where_it_stopped(tmp_path):
    """--history/--resume: the continued fit adds generations to the stored ones (a lower epsilon, more
    simulations in total) and refuses to continue with other parameters."""
    scenario = mini_scenario(tmp_path, violent=True)
    targets = {"deaths_kg": {"output": "deaths_kg", "point": 4, "range": [2, 6], "sources": ["test"]},
               "injured_kg": {"output": "injured_kg", "point": 12, "range": [8, 16], "sources": ["test"]}}
    ts = load_targets(episodes_file(tmp_path, targets, scenario, ids=("A",)))
    db = tmp_path / "abc.db"
    settings = FitSettings(population=12, generations=1, budget=400, walltime_minutes=5.0, workers=1, seed=4,
                           quiet=True, params=("escalate_rate", "military_casualty_rate"), history=db)
    first = fit(ts, settings)
    assert db.is_file() and len(first.generations) == 1
    more = fit(ts, replace(settings, resume=True))
    assert [g["generation"] for g in more.generations] == [0, 1]
    assert more.generations[0]["epsilon"] == pytest.approx(first.generations[0]["epsilon"])
    assert more.generations[1]["epsilon"] < more.generations[0]["epsilon"]
    assert more.simulations > first.simulations
    again = fit(ts, replace(settings, resume=True, generations=0))   # no new generation: the stored posterior
    assert again.generations == more.generations and again.simulations == more.simulations
    pd.testing.assert_frame_equal(again.particles, more.particles)
    with pytest.raises(UserError, match="escalate_rate"):
        fit(ts, replace(settings, resume=True, params=("escalate_rate",)))
    with pytest.raises(UserError, match="--replicates 1"):
        fit(ts, replace(settings, resume=True, replicates=2))
    wider = fit(ts, replace(settings, resume=True, population=20))   # a larger population for the new generation
    assert [g["acceptance"] for g in wider.generations[:2]] == [g["acceptance"] for g in more.generations]
    assert wider.generations[2]["acceptance"] == pytest.approx(20 / wider.generations[2]["samples"])


def test_min_acceptance_reaches_the_fit_settings_and_a_share_outside_0_1_is_refused(capsys):
    """--min-acceptance sets the fit's ``min_acceptance`` (which ``fit`` hands to pyabc as ``min_acceptance_rate``);
    0 or more than 1 is a user error, not a traceback."""
    assert settings_for(CalibrateOptions(min_acceptance=0.005)).min_acceptance == 0.005
    assert settings_for(CalibrateOptions()).min_acceptance == FitSettings().min_acceptance
    for bad in ("0", "1.5", "two"):
        assert main(["calibrate", "--quick", "--min-acceptance", bad]) == 2
        err = capsys.readouterr().err
        assert "--min-acceptance" in err and "Traceback" not in err


def test_history_and_resume_are_checked_before_anything_runs(tmp_path, capsys):
    existing = tmp_path / "abc.db"
    existing.write_text("")
    cases = ((["--resume"], "--resume needs --history"),
             (["--resume", "--history", str(tmp_path / "none.db")], "does not exist"),
             (["--history", str(existing)], "add --resume"),
             (["--out-of-sample", "--history", str(tmp_path / "new.db")], "--out-of-sample"),
             (["--generations", "0"], "--generations 0"))
    for extra, message in cases:
        assert main(["calibrate", "--quick", "--out", str(tmp_path / "o"), *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists() and not (tmp_path / "new.db").exists()


def test_a_fit_on_a_dask_cluster_ends_at_its_wall_time_and_keeps_the_last_complete_generation(tmp_path, capsys):
    """--scheduler: pyabc's Dask sampler ends a generation only once enough particles are accepted (it ignores
    the limit on simulations per generation), so a generation still under way at the wall-time limit has to be
    ended by the simulations themselves. Without that this fit, allowed far more generations than its 15
    seconds hold, would never return; the thread keeps the test from hanging with it."""
    distributed = pytest.importorskip("distributed")
    scenario = mini_scenario(tmp_path, violent=True)
    targets = {"deaths_kg": {"output": "deaths_kg", "point": 4, "range": [2, 6], "sources": ["test"]},
               "injured_kg": {"output": "injured_kg", "point": 12, "range": [8, 16], "sources": ["test"]}}
    ts = load_targets(episodes_file(tmp_path, targets, scenario, ids=("A",)))
    outcome: dict[str, object] = {}

    def run_fit(settings: FitSettings) -> None:
        try:
            outcome["result"] = fit(ts, settings)
        except Exception as exc:  # reported by the assertion below, not lost in the thread
            outcome["error"] = exc

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        settings = FitSettings(population=10, generations=1000, budget=10**6, walltime_minutes=0.25, seed=6,
                               min_acceptance=1e-6, params=("escalate_rate", "military_casualty_rate"),
                               scheduler=cluster.scheduler_address)
        thread = threading.Thread(target=run_fit, args=(settings,), daemon=True)
        thread.start()
        thread.join(timeout=120)
        assert not thread.is_alive(), "the fit on Dask went on two minutes past its 15-second wall time"
    assert "result" in outcome, f"the fit on Dask failed: {outcome.get('error')!r}"
    result = outcome["result"]
    err = capsys.readouterr().err
    assert "on the Dask cluster at tcp://" in err
    assert "the wall time ran out in the generation in progress" in err
    assert 1 <= len(result.generations) < 1000 and result.walltime_s < 60
    assert list(result.particles.columns) == ["escalate_rate", "military_casualty_rate"]
    assert len(result.particles) == 10 and result.ess > 0


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=1, max_size=40), st.integers(-5, 55), st.integers(0, 10))
def test_the_documented_percentile_stays_in_0_100_and_grows_with_the_documented_value(runs, documented, step):
    low = documented_percentile(np.array(runs), documented)
    high = documented_percentile(np.array(runs), documented + step)
    assert 0.0 <= low <= high <= 100.0


def test_the_documented_percentile_counts_ties_half_and_edges_are_named():
    assert documented_percentile(np.array([1.0, 2, 3, 4]), 2.5) == 50.0
    assert documented_percentile(np.array([1.0, 2, 2, 3]), 2) == 50.0
    assert documented_percentile(np.array([1.0, 2, 3, 4]), 0) == 0.0
    assert documented_percentile(np.array([1.0, 2, 3, 4, math.nan]), 9) == 100.0   # a run without the output
    assert math.isnan(documented_percentile(np.array([math.nan]), 1))
    table = pd.DataFrame({"target": ["deaths", "hours", "injured", "segments"],
                          "in_distance": [True, True, True, False],
                          "documented_percentile": [50.0, 3.0, 97.0, 99.0]})
    [line] = edge_verdict({"E": table}, ["E"])
    assert line == ("* **E**: of 3 fitted figures, 1 lie above the simulated median and 1 below it; at the edge "
                    "of the predictive distribution: hours (p3), injured (p97).")


def test_batched_abc_smc_recovers_parameters_on_the_mini_border(tmp_path):
    """The batched ABC-SMC fits data simulated at known parameters back inside its 90% interval, narrows the
    informative parameter, and gives the same posterior for the same seed."""
    from sim.calibration.smc import fit_batched

    truth = {"escalate_rate": 0.08, "military_casualty_rate": 0.6}
    ts, _ = synthetic_targets(tmp_path, truth)
    settings = FitSettings(population=60, generations=4, budget=3000, walltime_minutes=10.0, workers=1, seed=3,
                           quiet=True, params=tuple(truth), method="batched")
    result = fit_batched(ts, settings)
    assert result.posterior_generation >= 2 and result.ess >= 6
    for name, value in truth.items():
        x = result.particles[name].to_numpy()
        lo, hi = (weighted_quantile(x, result.weights, q) for q in (0.05, 0.95))
        assert lo <= value <= hi, f"{name}: true {value} outside the posterior 90% interval [{lo:.3g}, {hi:.3g}]"
    x = result.particles["military_casualty_rate"].to_numpy()
    lo, hi = (weighted_quantile(x, result.weights, q) for q in (0.05, 0.95))
    assert np.log10(hi / lo) < 0.85 * np.log10(2.0 / 0.02)
    again = fit_batched(ts, replace(settings, workers=2))  # the same fit on two worker processes
    pd.testing.assert_frame_equal(again.particles, result.particles)
    np.testing.assert_array_equal(again.weights, result.weights)


def test_a_round_of_the_batched_fit_proposes_what_the_last_acceptance_says_one_round_needs():
    """Enough candidates that a round usually completes the generation at the last acceptance (with a margin),
    never fewer than a population and never more than four."""
    from sim.calibration.smc import MAX_ROUND, ROUND_MARGIN, round_size

    assert round_size(60, 0.5, 60) == math.ceil(ROUND_MARGIN * 60 / 0.5)
    assert round_size(10, 0.9, 60) == 60            # a nearly complete generation still runs a population
    assert round_size(60, 0.01, 60) == MAX_ROUND * 60  # a very low acceptance is capped
    assert round_size(60, 0.0, 60) == MAX_ROUND * 60   # no acceptance measured: capped, not a division by zero
    sizes = [round_size(60, a, 60) for a in (0.9, 0.5, 0.3, 0.2, 0.1)]
    assert sizes == sorted(sizes)                    # the lower the acceptance, the larger the round
