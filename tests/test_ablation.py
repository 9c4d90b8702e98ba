"""The ablation protocol: each mechanism switched off, the leave-one-out protocol run again, and the comparison."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from sim.calibration import ablation
from sim.calibration.crossval import CrossValidation
from sim.calibration.fit import FitSettings
from sim.calibration.smc import simulate_candidates
from sim.calibration.simulator import free_parameters
from sim.calibration.targets import load_targets
from sim.cli import main
from tests.conftest import three_mini_episodes


def test_an_arm_holds_its_mechanism_off_and_fits_the_rest():
    plan = CrossValidation(FitSettings(params=("escalate_rate", "contain_rate", "crowd_hit_rate")))
    scenario = {"deescalate_rate": 0.053}
    containment = ablation.arm_settings(plan, "containment", scenario).settings
    assert containment.params == ("escalate_rate", "crowd_hit_rate")
    assert dict(containment.held) == {"contain_rate": 0.053}  # the war-time rate: one regime, not two
    crowds = ablation.arm_settings(plan, "crowds", scenario).settings
    assert crowds.params == ("escalate_rate", "contain_rate")  # the hit rate of a crowd that never gathers is moot
    assert dict(crowds.held) == {"crowd_size": 0.0}
    assert ablation.arm_settings(plan, ablation.FULL, scenario) == plan
    assert ablation.check_arms(("crowds", "full", "crowds")) == ("full", "crowds")


def test_a_held_value_reaches_every_run_of_the_fit(tmp_path):
    """With the casualty rates held at zero, every candidate is as far from the record as a run with no dead."""
    path, _ = three_mini_episodes(tmp_path)
    targets = load_targets(path)
    episode = targets.episodes["C"]                       # 3 dead documented
    params = free_parameters(targets, ["escalate_rate"])
    sampled = np.array([[math.log10(0.3)], [math.log10(0.05)]])
    held = (("civilian_casualty_rate", 0.0), ("crowd_hit_rate", 0.0), ("military_casualty_rate", 0.0))
    distances = simulate_candidates((episode,), params, sampled, math.inf, 1, 1, True, held)
    deaths = next(t for t in episode.fitted_targets() if t.output == "deaths_kg")
    assert (distances >= deaths.deviation(0.0) ** 2 - 1e-12).all()
    free = simulate_candidates((episode,), params, sampled, math.inf, 1, 1, True)
    assert not np.array_equal(free, distances)


def test_the_paired_difference_is_the_mean_change_per_figure():
    full = pd.DataFrame({"episode": ["A", "A", "B"], "output": ["deaths_kg", "deaths_tj", "deaths_kg"],
                         "crps": [0.2, 0.4, 0.6]})
    arm = full.assign(crps=[0.3, 0.4, 0.9])
    mean, se, n = ablation.paired_difference(arm, full)
    assert n == 3 and mean == pytest.approx(0.4 / 3)
    assert se == pytest.approx(np.std([0.1, 0.0, 0.3], ddof=1) / math.sqrt(3))


def test_ablation_end_to_end_on_a_tiny_budget(tmp_path, capsys):
    """Every arm runs the protocol into its own folder beside the full model's; the table compares them."""
    path, _ = three_mini_episodes(tmp_path)
    out = tmp_path / "ablation"
    args = ["calibrate", "--cross-validate", "--ablate", "crowds,small_arms_lethality", "--episodes-file",
            str(path), "--population", "8", "--generations", "2", "--budget", "40", "--params",
            "escalate_rate,small_arms_lethality", "--out", str(out), "--quiet", "--workers", "1"]
    assert main(args) == 0
    assert {p.name for p in out.iterdir()} == {"full", "crowds", "small_arms_lethality", "table.csv", "report.md",
                                               "manifest.json"}
    table = pd.read_csv(out / "table.csv").set_index("arm")
    assert table.loc["full", "free_parameters"] == 2 and table.loc["small_arms_lethality", "free_parameters"] == 1
    assert math.isclose(table.loc["full", "crps_change_vs_full"], 0.0) and table.loc["crowds", "figures"] == 3  # deaths_kg of A, B, C
    held = json.loads((out / "manifest.json").read_text())["ablation"]["held"]
    assert held["crowds"] == {"crowd_size": 0.0} and held["full"] == {}
    assert "| crowds |" in (out / "report.md").read_text()
    assert json.loads((out / "crowds" / "manifest.json").read_text())["cross_validation"]["settings"]["held"] == held["crowds"]


@pytest.mark.parametrize("extra, message", [
    (["--ablate", "crowds"], "add --cross-validate"),
    (["--cross-validate", "--ablate", "teleport", "--params", "escalate_rate"], "unknown mechanism teleport"),
    (["--cross-validate", "--ablate", "crowds"], "--ablate needs --params"),
])
def test_a_bad_ablation_is_refused_and_writes_nothing(tmp_path, capsys, extra, message):
    path, _ = three_mini_episodes(tmp_path)
    out = tmp_path / "ablation"
    assert main(["calibrate", "--episodes-file", str(path), "--out", str(out), "--quiet", *extra]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
