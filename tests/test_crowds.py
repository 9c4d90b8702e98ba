"""The crowd rule (sim/rules/crowds.py): who stands at the line when a civil confrontation turns armed."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.ladder import ARMED, CALM, CIVIL
from sim.engine.batch import Simulation, run_batch
from sim.input.scenario import load_scenario
from sim.rules import crowds
from tests.conftest import DATA, assert_summaries_equal

CROWD = {"crowd_size": 300, "crowd_hit_rate": 0.1}
OFF = {"crowd_size": 0}
SEEDS = list(range(24))
KG, TJ = 0, 1


@pytest.fixture(scope="module")
def stones_then_shots():
    return load_scenario(DATA / "mini_crowd.yaml").with_params({"incident_rate": 0.0})


def _advance(sim: Simulation, steps: int) -> None:
    for _ in range(steps):
        if sim.done:
            return
        sim.advance()


def _drawn_from_each_village(sim: Simulation) -> np.ndarray:
    """int[R, V]: the people of each village standing at the line, counted from the crowds themselves."""
    home = sim.world.nearest_village
    drawn = np.zeros_like(sim.state.present)
    for side in (KG, TJ):
        for seg in range(sim.world.n_segments):
            drawn[:, home[side, seg]] += sim.state.crowd[:, side, seg]
    return drawn


def test_a_crowd_gathers_on_both_sides_at_a_civil_confrontation(stones_then_shots):
    sim = Simulation(stones_then_shots, SEEDS, CROWD)
    _advance(sim, 5)  # the stones start at hour 1; the shots come at hour 6
    seg = stones_then_shots.geography.segment_index("seg_water")
    civil = sim.state.rung[:, seg] == CIVIL
    assert civil.sum() >= len(SEEDS) // 2, "too few runs still at the civil confrontation to see a crowd"
    assert (sim.state.crowd[civil, :, seg] == 300).all()
    calm = sim.state.rung[:, seg] == CALM
    assert (sim.state.crowd[calm, :, seg] == 0).all()  # where it has calmed down everyone went home


def test_a_crowd_under_fire_is_hit_and_then_disperses(stones_then_shots):
    with_crowd = run_batch(stones_then_shots, SEEDS, CROWD).summaries
    without = run_batch(stones_then_shots, SEEDS, OFF).summaries

    def kg_civilians_hit(s: dict[str, np.ndarray]) -> int:
        return int((s["injured_kg"] + s["deaths_kg_civilian"]).sum())

    # TJ fires first, so the Kyrgyz crowd is hit from hour 6; 300 people at 0.1/h for hours cannot all be missed
    assert kg_civilians_hit(with_crowd) > kg_civilians_hit(without) + 50 * len(SEEDS) // 8
    # a crowd that came under fire is thinner at the end (no new confrontation starts in this scenario)
    sim = Simulation(stones_then_shots, SEEDS, CROWD)
    seg = stones_then_shots.geography.segment_index("seg_water")
    fired_on = np.zeros(sim.state.runs, dtype=bool)
    while not sim.done:
        sim.advance()
        fired_on |= (sim.state.posture[:, TJ, seg] >= ARMED) & (sim.state.crowd[:, KG, seg] > 0)
    assert fired_on.sum() >= len(SEEDS) // 2
    assert (sim.state.crowd[fired_on, :, seg].sum(axis=1) < 600).all()


def test_no_crowd_where_the_fighting_began_armed(mini):
    """A war that starts between soldiers (September 2022) draws no crowd: the rule changes nothing there."""
    quiet = mini.with_params({"incident_rate": 0.0})
    assert_summaries_equal(run_batch(quiet, SEEDS[:8], CROWD).summaries, run_batch(quiet, SEEDS[:8], OFF).summaries)


def test_a_crowd_never_outnumbers_the_people_present(stones_then_shots):
    sim = Simulation(stones_then_shots, SEEDS[:8], {"crowd_size": 10**6, "crowd_hit_rate": 0.2})
    seg = stones_then_shots.geography.segment_index("seg_water")
    under_fire = np.zeros(sim.state.runs, dtype=bool)
    for _ in range(30):
        sim.advance()
        assert (_drawn_from_each_village(sim) <= sim.state.present).all()
        under_fire |= (sim.state.posture[:, TJ, seg] >= ARMED) & (sim.state.crowd[:, KG, seg] > 0)
    assert under_fire.sum() >= sim.state.runs // 2, "too few crowds under fire to test the cap under fire"


def test_segments_that_share_a_village_fill_their_crowds_in_segment_order(mini):
    """Two civil confrontations drawing on one village take what it has present in segment order: the first
    gets a full crowd, the next what is left, and a crowd already standing elsewhere is left alone; together
    they never exceed who is present."""
    sim = Simulation(mini, [0, 1, 2], {"crowd_size": 300})
    state, world = sim.state, sim.world
    shared = world.nearest_village[KG, 0]
    segs = np.flatnonzero(world.nearest_village[KG] == shared)
    assert segs.size >= 2, "the mini border has two segments nearest the same Kyrgyz village"
    first, second = segs[:2]
    state.posture[:, :, [first, second]] = CIVIL
    state.refresh_rung()
    state.present[:, shared] = [500, 250, 350]
    state.crowd[2, KG, second] = 300  # run 2: a full crowd already stands at the second segment
    crowds.gather(state, sim.params, world)
    assert state.crowd[:, KG, first].tolist() == [300, 250, 50]
    assert state.crowd[:, KG, second].tolist() == [200, 0, 300]
    assert (_drawn_from_each_village(sim) <= state.present).all()
