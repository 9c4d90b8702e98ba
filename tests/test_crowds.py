"""The crowd rule (sim/crowds.py): who stands at the line when a civil confrontation turns armed."""

from __future__ import annotations

import numpy as np
import pytest

from sim.ladder import ARMED, CIVIL
from sim.model import BorderModel
from sim.outcomes import summarise
from sim.scenario import load_scenario
from tests.conftest import DATA, finished

CROWD = {"crowd_size": 300, "crowd_hit_rate": 0.1}
OFF = {"crowd_size": 0}


@pytest.fixture(scope="module")
def stones_then_shots():
    return load_scenario(DATA / "mini_crowd.yaml").with_params({"incident_rate": 0.0})


def _run_until(model: BorderModel, hour: float) -> None:
    while model.running and model.hour < hour:
        model.step()


def test_a_crowd_gathers_on_both_sides_at_a_civil_confrontation(stones_then_shots):
    model = BorderModel(stones_then_shots, seed=1, **CROWD)
    _run_until(model, 4)
    seg = model.geography.segment_index("seg_water")
    assert model.state.rung[seg] == CIVIL
    assert model.state.crowd[:, seg].tolist() == [300, 300]


def test_a_crowd_under_fire_is_hit_and_then_disperses(stones_then_shots):
    with_crowd = [summarise(finished(stones_then_shots, seed, **CROWD)) for seed in range(8)]
    without = [summarise(finished(stones_then_shots, seed, **OFF)) for seed in range(8)]
    # TJ fires first, so the Kyrgyz crowd is hit from hour 6; 300 people at 0.1/h for hours cannot all be missed
    assert sum(s["injured_kg"] + s["deaths_kg_civilian"] for s in with_crowd) > \
        sum(s["injured_kg"] + s["deaths_kg_civilian"] for s in without) + 50
    model = finished(stones_then_shots, 0, **CROWD)
    seg = model.geography.segment_index("seg_water")
    assert model.state.crowd[:, seg].sum() < 600


def test_no_crowd_where_the_fighting_began_armed(mini):
    """A war that starts between soldiers (September 2022) draws no crowd: the rule changes nothing there."""
    quiet = mini.with_params({"incident_rate": 0.0})
    for seed in range(4):
        assert summarise(finished(quiet, seed, **CROWD)) == summarise(finished(quiet, seed, **OFF))


def test_a_crowd_never_outnumbers_the_people_present(stones_then_shots):
    model = BorderModel(stones_then_shots, seed=3, crowd_size=10**6, crowd_hit_rate=0.2)
    home = model._nearest_village
    for _ in range(30):
        model.step()
        for side in (0, 1):
            drawn = np.bincount(home[side], weights=model.state.crowd[side], minlength=model.state.present.size)
            assert (drawn <= model.state.present).all()
    seg = model.geography.segment_index("seg_water")
    assert model.state.posture[1, seg] >= ARMED
