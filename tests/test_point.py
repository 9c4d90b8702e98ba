"""The default point: the candidate (posterior medians or a posterior particle) that reproduces the fitted
episodes best in a check at fresh seeds, so that one lucky screen does not choose it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.point import MEDIAN, PointSettings, choose_point, simulated_distances
from sim.targets import load_targets
from tests.test_calibration import episodes_file, mini_scenario

pytest.importorskip("pyabc")


def fake_evaluate(true_distance: dict[float, float], luck: dict[tuple[float, int], float]):
    """An evaluator whose candidates are told apart by ``x``: the true distance plus a seed's luck."""
    calls = []

    def evaluate(candidates, runs, seed):
        calls.append((len(candidates), runs, seed))
        return np.array([true_distance[c["x"]] + luck.get((c["x"], seed), 0.0) for c in candidates])

    return evaluate, calls


def particles(xs):
    return pd.DataFrame({"x": xs})


def test_a_lucky_screen_does_not_choose_the_point():
    """Particle x=1 screens best by luck but is worse at fresh seeds; the check picks x=2, the truly best."""
    true = {0.5: 300.0, 1.0: 200.0, 2.0: 100.0, 3.0: 400.0, 4.0: 500.0}
    evaluate, calls = fake_evaluate(true, luck={(1.0, 10): -190.0})
    choice = choose_point(particles([1.0, 2.0, 3.0, 4.0]), np.ones(4), {"x": 0.5}, evaluate,
                          PointSettings(screen_runs=3, finalists=2, check_runs=9), seed=10)
    assert choice.label == "particle 1" and choice.values == {"x": 2.0}
    # the screen ran all five candidates at the screen's runs; the check the two best and the medians, fresh seeds
    assert calls == [(5, 3, 10), (3, 9, 11)]
    table = choice.table.set_index("candidate")
    assert table["chosen"].sum() == 1 and table.loc["particle 1", "chosen"]
    assert np.isnan(table.loc["particle 2", "check_distance"]) and np.isnan(table.loc["particle 3", "check_distance"])
    assert table.loc[MEDIAN, "check_distance"] == 300.0 and np.isnan(table.loc[MEDIAN, "weight"])
    assert table["weight"].sum() == pytest.approx(1.0)
    assert choice.distances("particle 1") == (100.0, 100.0)


def test_medians_that_beat_every_particle_stay_the_default():
    true = {0.5: 50.0, 1.0: 200.0, 2.0: 100.0}
    evaluate, _ = fake_evaluate(true, luck={})
    choice = choose_point(particles([1.0, 2.0]), np.array([0.3, 0.7]), {"x": 0.5}, evaluate,
                          PointSettings(screen_runs=1, finalists=5, check_runs=1), seed=0)
    assert choice.label == MEDIAN and choice.values == {"x": 0.5}


def test_simulated_distances_run_every_candidate_at_the_same_seeds(tmp_path):
    """Common random numbers: the same parameters score the same, wherever they stand in the list and in
    however many processes; different parameters at the same seeds score differently."""
    scenario = mini_scenario(tmp_path, violent=True)
    targets = {"deaths_kg": {"output": "deaths_kg", "point": 4, "range": [2, 6], "sources": ["test"]},
               "injured_kg": {"output": "injured_kg", "point": 12, "range": [8, 16], "sources": ["test"]}}
    ts = load_targets(episodes_file(tmp_path, targets, scenario))
    episodes = tuple(ts.episodes.values())
    calm, bloody = {"military_casualty_rate": 0.05}, {"military_casualty_rate": 1.5}
    one = simulated_distances(episodes, ts.censor_at_end, workers=1, quiet=True)([calm, bloody, calm], 3, 7)
    two = simulated_distances(episodes, ts.censor_at_end, workers=2, quiet=True)([bloody, calm], 3, 7)
    assert one[0] == one[2] == two[1] and one[1] == two[0]
    assert one[0] != one[1] and np.all(one >= 0)
