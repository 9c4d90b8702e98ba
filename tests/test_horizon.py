"""``bordersim horizon``: incidents per calendar year under strategies that act over years."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

from sim.cli import main
from sim.experiments import compare as cmp
from sim.experiments.ensemble import LocalExecutor
from sim.experiments.horizon import year_starts
from sim.input.scenario import load_scenario
from tests.conftest import DATA, SCENARIOS

MINI = DATA / "mini.yaml"


def test_years_end_on_each_first_of_january_and_at_the_end():
    start = datetime(2023, 1, 1, tzinfo=timezone(timedelta(hours=6)))
    assert year_starts(start, 26304) == [(2023, 8760.0), (2024, 17544.0), (2025, 26304.0)]
    assert year_starts(datetime(2023, 12, 31, 12, tzinfo=timezone.utc), 24) == [(2023, 12.0), (2024, 24.0)]


def test_cli_horizon_years_add_up_to_each_runs_total(tmp_path):
    out = tmp_path / "h"
    assert main(["horizon", str(MINI), "--strategies", "none,delimit_all", "--runs", "4", "--out", str(out),
                 "--quiet", "--workers", "1"]) == 0
    years = pd.read_csv(out / "years.csv")
    totals = years.groupby(["strategy", "run"])[["incidents", "lethal_incidents"]].sum()
    runs = cmp.compare_strategies(MINI, "none,delimit_all", runs=4, executor=LocalExecutor(1))
    expected = runs.set_index(["strategy", "run"])[["incidents", "lethal_incidents"]]
    pd.testing.assert_frame_equal(totals.sort_index(), expected.sort_index(), check_dtype=False)
    assert {"report.md", "years.png", "manifest.json"} <= {p.name for p in out.iterdir()}


def test_horizon_keeps_an_existing_folder_unless_forced(tmp_path, capsys):
    out = tmp_path / "h"
    args = ["horizon", str(MINI), "--strategies", "none", "--runs", "2", "--out", str(out), "--quiet",
            "--workers", "1"]
    assert main(args) == 0
    (out / "note.txt").write_text("mine")
    assert main(args) == 2
    assert "already exists; add --force" in capsys.readouterr().err and (out / "note.txt").exists()
    assert main([*args, "--force"]) == 0 and not (out / "note.txt").exists()


def test_the_delimitation_record_agrees_every_mapped_disputed_segment_by_december_2024():
    scenario = load_scenario(SCENARIOS / "delimitation_2023_2025.yaml")
    disputed = {s for s, d in zip(scenario.geography.segment_ids, scenario.geography.segment_disputed) if d}
    agreed = [s for a in scenario.strategy.actions for s in a.segments or []]
    assert len(agreed) == len(set(agreed)) and set(agreed) == disputed
    assert max(a.at_hour for a in scenario.strategy.actions) == (
        datetime(2024, 12, 4, tzinfo=scenario.spec.start.tzinfo) - scenario.spec.start).total_seconds() / 3600
