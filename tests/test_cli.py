"""End to end through the command line: validate, run, plot, reproducibility, interruption."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import sim.experiments.simulate
from sim.cli import main
from sim.engine.outcomes import EVENT_TIMES, OUTCOMES, happened_output
from sim.experiments.ensemble import derive_seeds
from sim.input.parameters import SPECS
from sim.model import summarise
from sim.output.results import portable_command, portable_path, recorded_path
from tests.conftest import DATA, REPO, SCENARIOS, finished, write_posterior

MINI = DATA / "mini.yaml"
MINI_SEED = 7  # the seed in tests/data/mini.yaml
STEPS = 96  # mini.yaml: 96 hourly steps, plus the initial record
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FIGURES = {"escalation.png", "map.png", "map.html"}
RESULT_FILES = {"series.parquet", "summary.csv", "segments.csv", "districts.csv", "report.md",
                "manifest.json"} | FIGURES


def run_cli(*args: str) -> int:
    return main(["run", *map(str, args)])


@pytest.fixture(scope="module")
def mini_results(tmp_path_factory) -> Path:
    """One results folder of the mini scenario, 3 runs, shared by the read-only tests below."""
    out = tmp_path_factory.mktemp("cli") / "mini3"
    assert run_cli(MINI, "--runs", "3", "--out", out, "--quiet") == 0
    return out


def _no_leftovers(parent: Path, keep: set[str] = frozenset()) -> None:
    """Nothing in ``parent`` but ``keep``: no results folder, no temporary folder that looks like one."""
    assert {p.name for p in parent.iterdir()} == set(keep)


def test_validate_prints_ok(capsys):
    assert main(["validate", str(MINI)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{MINI}: ok")
    assert "3 border segments" in out and "96 steps of 1 h" in out


@pytest.mark.parametrize("name", ["sept2022", "april2021", "baseline"])
def test_shipped_scenarios_validate(capsys, name):
    assert main(["validate", str(SCENARIOS / f"{name}.yaml")]) == 0
    assert ": ok" in capsys.readouterr().out


def test_run_writes_a_complete_results_folder(mini_results):
    assert {p.name for p in mini_results.iterdir()} == RESULT_FILES
    _no_leftovers(mini_results.parent, {"mini3"})

    series = pd.read_parquet(mini_results / "series.parquet")
    assert len(series) == 3 * (STEPS + 1)
    assert series.groupby("run").size().to_dict() == {0: STEPS + 1, 1: STEPS + 1, 2: STEPS + 1}
    assert {"run", "step", "time", "hour", "max_rung", "deaths_kg_military"} <= set(series.columns)

    summary = pd.read_csv(mini_results / "summary.csv")
    assert len(summary) == 3
    happened = [happened_output(t) for t in EVENT_TIMES]
    assert list(summary.columns) == ["run", "seed", *OUTCOMES, *happened]
    assert all(c.isidentifier() for c in summary.columns)  # no column name carries data
    for timing in EVENT_TIMES:  # an empty hours cell is an event that never happened, and says so
        assert (summary[timing].isna() == (summary[happened_output(timing)] == 0)).all()

    districts = pd.read_csv(mini_results / "districts.csv")  # one row per run and district
    assert list(districts.columns) == ["run", "district", "side", "peak_displaced"]
    assert districts["district"].tolist() == ["test"] * 3 and districts["side"].tolist() == ["both"] * 3

    segments = pd.read_csv(mini_results / "segments.csv")
    assert list(segments.columns) == ["run", "segment", "peak_rung"]
    assert len(segments) == 3 * 3
    assert set(segments["segment"]) == {"seg_water", "seg_posts", "seg_east"}

    report = (mini_results / "report.md").read_text()
    assert report.startswith("# mini: 3 runs")

    for png in ("escalation.png", "map.png"):
        data = (mini_results / png).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 1000


def test_manifest_records_what_makes_the_run_repeatable(mini_results):
    meta = json.loads((mini_results / "manifest.json").read_text())
    assert len(meta["scenario"]["hash"]) == 64
    assert meta["scenario"]["name"] == "mini"
    assert set(meta["parameters"]) == set(SPECS)
    seeds = meta["seeds"]
    assert seeds["base"] == MINI_SEED and seeds["runs"] == 3
    assert seeds["per_run"] == derive_seeds(MINI_SEED, 3)
    assert all(isinstance(s, int) for s in seeds["per_run"])
    summary = pd.read_csv(mini_results / "summary.csv")
    assert summary["seed"].tolist() == seeds["per_run"]
    assert meta["software"]["mesa"] and meta["software"]["mesa"] != "not installed"
    assert set(meta["git"]) == {"commit", "dirty"}


def test_same_seed_gives_byte_identical_tables(mini_results, tmp_path):
    again = tmp_path / "again"
    assert run_cli(MINI, "--runs", "3", "--out", again, "--quiet") == 0
    for name in ("summary.csv", "series.parquet", "segments.csv", "districts.csv"):
        assert (again / name).read_bytes() == (mini_results / name).read_bytes(), name


def test_seed_option_changes_the_results(mini_results, tmp_path):
    other = tmp_path / "other"
    assert run_cli(MINI, "--runs", "3", "--seed", "8", "--out", other, "--quiet") == 0
    meta = json.loads((other / "manifest.json").read_text())
    assert meta["seeds"]["base"] == 8 and meta["seeds"]["per_run"] == derive_seeds(8, 3)
    assert (other / "series.parquet").read_bytes() != (mini_results / "series.parquet").read_bytes()


def test_plot_redraws_the_figures(mini_results, tmp_path, capsys):
    folder = tmp_path / "copy"
    folder.mkdir()
    for name in RESULT_FILES - FIGURES:
        (folder / name).write_bytes((mini_results / name).read_bytes())
    assert main(["plot", str(folder)]) == 0
    printed = capsys.readouterr().out.split()
    assert {Path(p).name for p in printed} == FIGURES
    for png in ("escalation.png", "map.png"):
        assert (folder / png).read_bytes().startswith(PNG_MAGIC)


def test_manifest_names_files_relative_to_the_repository(mini_results):
    """Committed manifests must not name one machine's folders: paths are relative to the repository root."""
    meta = json.loads((mini_results / "manifest.json").read_text())
    scenario = meta["scenario"]
    assert scenario["path"] == "tests/data/mini.yaml"
    assert scenario["geography"] == "tests/data/mini_geography.yaml"
    assert all(not Path(p).is_absolute() and ".." not in Path(p).parts for p in scenario["inputs"])
    assert recorded_path(scenario["geography"]) == REPO / "tests" / "data" / "mini_geography.yaml"


def test_portable_path_is_relative_to_the_repository_then_the_working_directory(tmp_path, monkeypatch):
    assert portable_path(REPO / "scenarios" / ".." / "calibration" / "fitted.yaml") == "calibration/fitted.yaml"
    monkeypatch.chdir(REPO / "scenarios")
    assert portable_path("sept2022.yaml") == "scenarios/sept2022.yaml"   # inside the repository: from its root
    monkeypatch.chdir(tmp_path)
    assert portable_path(tmp_path / "runs" / "abc.db") == "runs/abc.db"  # outside it: from the working directory
    assert portable_path(tmp_path.parent / "elsewhere.db") == "elsewhere.db"  # outside both: the name only
    assert recorded_path("scenarios/sept2022.yaml") == REPO / "scenarios" / "sept2022.yaml"
    assert recorded_path("runs/abc.db") == Path("runs/abc.db")
    assert portable_command(["/usr/bin/bordersim", "run", str(REPO / "scenarios" / "sept2022.yaml"),
                             f"--out={tmp_path / 'res'}", "--runs", "3"]) == \
        "bordersim run scenarios/sept2022.yaml --out=res --runs 3"


def test_plot_redraws_from_another_working_directory(mini_results, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "copy"
    folder.mkdir()
    for name in RESULT_FILES - FIGURES:
        (folder / name).write_bytes((mini_results / name).read_bytes())
    monkeypatch.chdir(tmp_path)
    assert main(["plot", "copy"]) == 0
    assert (folder / "map.png").read_bytes().startswith(PNG_MAGIC)


def test_quiet_prints_nothing_and_a_normal_run_prints_progress(tmp_path, capsys):
    assert run_cli(MINI, "--runs", "2", "--out", tmp_path / "quiet", "--quiet") == 0
    quiet = capsys.readouterr()
    assert quiet.err == "" and quiet.out == ""
    assert run_cli(MINI, "--runs", "2", "--out", tmp_path / "loud") == 0
    loud = capsys.readouterr()
    assert "2/2" in loud.err and "wrote" in loud.err
    assert loud.out == ""


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("where", ["run_ensemble", "write_results", "draw_figures"])
def test_interrupted_run_exits_130_and_leaves_no_results(tmp_path, capsys, monkeypatch, where):
    """Interrupted while running, before writing, or half-way through writing (inside the temporary folder)."""
    monkeypatch.setattr(sim.experiments.simulate, where, _interrupt)
    parent = tmp_path / "results"
    parent.mkdir()
    assert run_cli(MINI, "--runs", "2", "--out", parent / "mini", "--quiet") == 130
    assert "interrupted" in capsys.readouterr().err
    _no_leftovers(parent)


def test_interrupted_rerun_keeps_the_previous_results(tmp_path, monkeypatch):
    parent = tmp_path / "results"
    out = parent / "mini"
    assert run_cli(MINI, "--runs", "2", "--out", out, "--quiet") == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(sim.experiments.simulate, "draw_figures", _interrupt)
    assert run_cli(MINI, "--runs", "2", "--seed", "99", "--out", out, "--quiet", "--force") == 130
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    _no_leftovers(parent, {"mini"})


LONG_HORIZON_STRATEGIES = {"delimitation_record"}
"""Shipped strategies written for the multi-year delimitation scenario (tests/test_horizon.py): their actions
start after sept2022's 288 hours, which a run refuses."""


@pytest.mark.parametrize("strategy", sorted(p.stem for p in (SCENARIOS / "strategies").glob("*.yaml")
                                            if p.stem not in LONG_HORIZON_STRATEGIES))
def test_every_shipped_strategy_runs_on_sept2022(tmp_path, strategy):
    out = tmp_path / strategy
    assert run_cli(SCENARIOS / "sept2022.yaml", "--strategy", strategy, "--runs", "1", "--quiet",
                   "--out", out) == 0
    meta = json.loads((out / "manifest.json").read_text())
    assert meta["scenario"]["strategy"] == strategy
    assert len(pd.read_csv(out / "summary.csv")) == 1


def test_run_with_posterior_draws_each_runs_parameters(tmp_path):
    """--posterior: run i uses draw i mod n, recorded in summary.csv, the manifest and the report."""
    rows = {"agree_rate": [0.01, 0.1, 0.3], "escalate_rate": [0.2, 0.05, 0.01]}
    fitted = write_posterior(tmp_path, rows)
    out = tmp_path / "res"
    assert run_cli(MINI, "--runs", "4", "--posterior", "--fitted", fitted, "--out", out, "--quiet") == 0
    summary = pd.read_csv(out / "summary.csv")
    assert summary["draw"].tolist() == [0, 1, 2, 0]
    seeds = derive_seeds(MINI_SEED, 4)
    for i in (1, 2):
        expected = summarise(finished(MINI, seeds[i], **{k: v[i] for k, v in rows.items()}))
        for key in ("deaths_kg", "peak_displaced_kg", "violations", "max_rung"):
            assert summary.loc[i, key] == pytest.approx(expected[key])
    post = json.loads((out / "manifest.json").read_text())["posterior"]
    assert post["n_draws"] == 3 and post["parameters"] == ["agree_rate", "escalate_rate"]
    assert "calibration uncertainty" in (out / "report.md").read_text()


def test_run_without_posterior_says_its_ranges_are_chance_only(mini_results):
    assert json.loads((mini_results / "manifest.json").read_text())["posterior"] is None
    assert "run-to-run chance only" in (mini_results / "report.md").read_text()


def test_run_with_posterior_but_no_calibration_is_a_clear_error(tmp_path, capsys):
    code = run_cli(MINI, "--posterior", "--fitted", tmp_path / "missing.yaml", "--out", tmp_path / "res", "--quiet")
    assert code == 2
    assert "run `bordersim calibrate` first" in capsys.readouterr().err
    assert not (tmp_path / "res").exists()


def test_a_contested_account_is_applied_only_when_asked_and_named_in_the_outputs(tmp_path, capsys):
    """Scenarios take no side by default; ``--account`` applies one party's reading, and the report and the
    manifest say which; an unknown account is a clear error."""
    import yaml

    from sim.input.scenario import load_scenario
    from tests.conftest import DATA

    spec = yaml.safe_load(MINI.read_text())
    spec["accounts"] = {"kg_reading": {"says": "KG accounts: TJ forces entered the villages",
                                       "governments": {"TJ": {"offensive": True}}}}
    scenario = tmp_path / "mini.yaml"
    scenario.write_text(yaml.safe_dump(spec, sort_keys=False))
    for name in ("mini_geography.yaml", "mediators.yaml"):
        (tmp_path / name).write_text((DATA / name).read_text())
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "none.yaml").write_text((DATA / "strategies" / "none.yaml").read_text())

    as_written, kg = load_scenario(scenario), load_scenario(scenario, account="kg_reading")
    assert not as_written.spec.governments.TJ.offensive and kg.spec.governments.TJ.offensive
    assert kg.spec.governments.KG == as_written.spec.governments.KG and kg.hash() != as_written.hash()

    out = tmp_path / "kg"
    assert run_cli(scenario, "--runs", "2", "--account", "kg_reading", "--out", out, "--quiet") == 0
    assert "follow one party's account, `kg_reading`" in (out / "report.md").read_text()
    assert json.loads((out / "manifest.json").read_text())["scenario"]["account"] == "kg_reading"
    neutral = tmp_path / "neutral"
    assert run_cli(scenario, "--runs", "2", "--out", neutral, "--quiet") == 0
    assert "take no side" in (neutral / "report.md").read_text()
    assert run_cli(scenario, "--runs", "2", "--account", "nope", "--out", tmp_path / "x") == 2
    err = capsys.readouterr().err
    assert "accounts: no account 'nope'" in err and "kg_reading" in err and not (tmp_path / "x").exists()


def test_when_and_sensitivity_take_a_shipped_scenario_by_name(capsys):
    """The when-to-act sweep and the sensitivity analysis resolve a shipped name like every other command: the
    error a wrong strategy gets is about the strategy, not about a missing scenario file."""
    from sim.experiments.when import default_when_out

    assert default_when_out("sept2022") == Path("results") / "when" / "sept2022"
    assert main(["sensitivity", "sept2022", "--strategies", "nope_strategy", "--samples", "4"]) == 2
    err = capsys.readouterr().err
    assert "nope_strategy" in err and "sept2022: file not found" not in err
