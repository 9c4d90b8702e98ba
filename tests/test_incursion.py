"""Ground incursions (sim/rules/incursion.py): the armour of a side on the offensive in the other side's village."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.ladder import AIR_MLRS, ARMOUR, MORTARS
from sim.core.randomness import StepDraws
from sim.engine.batch import Simulation, run_batch
from sim.rules import incursion
from tests.conftest import assert_summaries_equal, on_the_offensive, with_governments

KG, TJ = 0, 1
SEEDS = list(range(8))


@pytest.fixture(scope="module")
def war(mini):
    """Both governments may use armour from the start; no background incidents."""
    return with_governments(mini, ("L3", "L4"), ("L3", "L4")).with_params({"incident_rate": 0.0})


def _entered(sim: Simulation) -> np.ndarray:
    """bool[R, V]: the villages an offensive is in now."""
    share, _ = incursion.held_share(sim.state, sim.params, sim.world)
    return share > 0


def test_only_the_armour_of_a_side_on_the_offensive_enters_a_village(war):
    sim = Simulation(on_the_offensive(war, "TJ"), SEEDS[:3])
    state, home = sim.state, sim.world.nearest_village
    expected = np.arange(state.present.shape[1]) == home[KG, 0]
    state.posture[:, TJ, 0] = ARMOUR
    assert (_entered(sim) == expected).all()
    state.posture[:, TJ, 0] = MORTARS                   # mortars shell a village, they do not enter it
    assert not _entered(sim).any()
    state.posture[:, KG, :] = AIR_MLRS                  # KG is not on the offensive
    assert not _entered(sim).any()


def test_an_incursion_harms_only_the_people_still_present_in_the_entered_village(war):
    sim = Simulation(on_the_offensive(war, "TJ"), SEEDS, {"incursion_hit_rate": 0.5})
    state, world = sim.state, sim.world
    village = world.nearest_village[KG, 0]
    state.posture[:, TJ, 0] = ARMOUR
    before = state.present.copy()
    incursion.expose(state, sim.params, world, StepDraws(sim.keys, 0))
    killed = state.civilian_dead[:, village]
    assert (killed > 0).all() and (state.civilian_injured[:, village] > 0).all()
    others = np.arange(world.n_villages) != village
    assert (state.civilian_dead[:, others] == 0).all() and (state.present[:, others] == before[:, others]).all()
    assert (state.present[:, village] == before[:, village] - killed).all()
    # the dead are the step's Kyrgyz dead, credited to the segment the armour entered from
    assert state.dead_this_step.sum(axis=2).tolist() == [[k, 0] for k in killed]
    assert (state.dead_this_step[:, KG, 0] == killed).all() and state.dead_this_step[:, TJ].sum() == 0
    # who has left cannot be hit
    state.displaced[:, village] += state.present[:, village]
    state.present[:, village] = 0
    dead = state.civilian_dead.copy()
    incursion.expose(state, sim.params, world, StepDraws(sim.keys, 1))
    assert (state.civilian_dead == dead).all()


def test_without_an_offensive_or_at_rate_zero_nothing_changes(war):
    """The rule's switches: no side on the offensive (the scenarios as written), or ``incursion_hit_rate`` 0."""
    fast = {"escalate_rate": 1.0}
    off = {**fast, "incursion_hit_rate": 0.0}
    plain = run_batch(war, SEEDS, {**fast, "incursion_hit_rate": 0.05}).summaries
    assert_summaries_equal(run_batch(on_the_offensive(war, "TJ"), SEEDS, off).summaries, plain)
    for scenario, params in ((on_the_offensive(war, "TJ"), off), (war, {**fast, "incursion_hit_rate": 0.05})):
        sim = Simulation(scenario, [0], params)
        assert not incursion.enabled(sim.params, sim.world)


def test_an_offensive_raises_the_other_sides_civilian_toll(war):
    fast = {"escalate_rate": 1.0}
    without = run_batch(war, SEEDS, fast).summaries
    with_tj = run_batch(on_the_offensive(war, "TJ"), SEEDS, {**fast, "incursion_hit_rate": 0.05}).summaries
    assert (without["max_rung"] >= ARMOUR).all()     # armour was used: there was an incursion to make
    assert with_tj["deaths_kg_civilian"].sum() > without["deaths_kg_civilian"].sum() + 10 * len(SEEDS) // 6


def test_a_pooled_offensive_has_one_villages_worth_of_force_however_many_it_enters(war):
    """``force_pooling`` 1 (the default): a full force in every entered village; 0: one village's worth spread
    over all of them; in between, the share ``(1 + p (n - 1)) / n`` each. A village entered from several
    segments is credited to the first of them."""
    poolings = [1.0, 0.0, 0.5]
    sim = Simulation(on_the_offensive(war, "TJ"), [1, 1, 1], [{"force_pooling": p} for p in poolings])
    state, home = sim.state, sim.world.nearest_village
    state.posture[:, TJ, :] = ARMOUR
    share, source = incursion.held_share(state, sim.params, sim.world)
    inside = share[0] > 0
    n = int(inside.sum())
    assert n >= 2
    assert ((share > 0) == inside).all()
    full, pooled, half = share
    np.testing.assert_allclose(full, inside.astype(float))
    np.testing.assert_allclose(pooled.sum(), 1.0)
    np.testing.assert_allclose(half[inside], (1 + 0.5 * (n - 1)) / n)
    assert (pooled[~inside] == 0).all() and (half[~inside] == 0).all()
    for v in np.flatnonzero(inside):
        assert (source[:, v] == np.flatnonzero(home[KG] == v).min()).all()
    assert (source[:, ~inside] == -1).all()


def test_a_pooled_offensive_hurts_fewer_people_in_the_villages_it_enters(war):
    """Through the rule itself: over many hours in the same villages, one force spread over them hits about
    1/n as many as a full force in each."""
    runs = 8
    sim = Simulation(on_the_offensive(war, "TJ"), range(2 * runs),
                     [{"incursion_hit_rate": 0.002, "force_pooling": p} for p in (1.0, 0.0) for _ in range(runs)])
    state = sim.state
    state.posture[:, TJ, :] = ARMOUR
    for step in range(300):
        incursion.expose(state, sim.params, sim.world, StepDraws(sim.keys, step))
    hit = state.civilian_dead.sum(axis=1) + state.civilian_injured.sum(axis=1)
    full, pooled = hit[:runs], hit[runs:]
    assert (full > 200).all()
    # n = 2 villages entered: a ratio of 1/2, a little above as the full force thins the villages faster
    assert 0.35 < pooled.sum() / full.sum() < 0.65
    assert (pooled < full).all()
