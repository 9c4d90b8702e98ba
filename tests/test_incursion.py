"""Ground incursions (sim/incursion.py): the armour of a side on the offensive in the other side's village."""

from __future__ import annotations

import numpy as np
import pytest

from sim import incursion
from sim.casualties import StepLosses
from sim.ladder import AIR_MLRS, ARMOUR, MORTARS
from sim.model import BorderModel
from sim.outcomes import summarise
from tests.conftest import finished, on_the_offensive, with_governments

KG, TJ = 0, 1


@pytest.fixture(scope="module")
def war(mini):
    """Both governments may use armour from the start; no background incidents."""
    return with_governments(mini, ("L3", "L4"), ("L3", "L4")).with_params({"incident_rate": 0.0})


def _no_losses(n_seg: int) -> StepLosses:
    return StepLosses(np.zeros((2, n_seg), dtype=np.int64), np.zeros(2, dtype=np.int64), np.zeros(2, dtype=np.int64))


def test_only_the_armour_of_a_side_on_the_offensive_enters_a_village(war):
    model = BorderModel(on_the_offensive(war, "TJ"), seed=1)
    state, home = model.state, model._nearest_village
    expected = np.arange(state.present.size) == home[KG, 0]
    state.posture[TJ, 0] = ARMOUR
    assert incursion.entered(state, model._offensive, home).tolist() == expected.tolist()
    state.posture[TJ, 0] = MORTARS                      # mortars shell a village, they do not enter it
    assert not incursion.entered(state, model._offensive, home).any()
    state.posture[KG, :] = AIR_MLRS                     # KG is not on the offensive
    assert not incursion.entered(state, model._offensive, home).any()


def test_an_incursion_harms_only_the_people_still_present_in_the_entered_village(war):
    model = BorderModel(on_the_offensive(war, "TJ"), seed=1, incursion_hit_rate=0.5)
    state, home = model.state, model._nearest_village
    village = home[KG, 0]
    state.posture[TJ, 0] = ARMOUR
    before = state.present.copy()
    losses = _no_losses(model.geography.n_segments)
    incursion.expose(state, model.params, 1.0, np.random.default_rng(0), model._offensive, home, losses)
    killed = state.civilian_dead
    assert killed[village] > 0 and state.civilian_injured[village] > 0
    others = np.arange(state.present.size) != village
    assert (killed[others] == 0).all() and (state.present[others] == before[others]).all()
    assert state.present[village] == before[village] - killed[village]
    assert losses.civilian_dead.tolist() == [killed[village], 0]
    assert losses.dead_by_segment[KG, 0] == killed[village] and losses.dead_by_segment[TJ].sum() == 0
    # who has left cannot be hit
    state.displaced[village] += state.present[village]
    state.present[village] = 0
    dead = state.civilian_dead.copy()
    incursion.expose(state, model.params, 1.0, np.random.default_rng(1), model._offensive, home, losses)
    assert (state.civilian_dead == dead).all()


def test_without_an_offensive_or_at_rate_zero_nothing_changes(war):
    """The rule's switches: no side on the offensive, or ``incursion_hit_rate`` 0 (the default)."""
    fast = {"escalate_rate": 1.0}
    for seed in range(3):
        plain = summarise(finished(war, seed, **fast, incursion_hit_rate=0.05))
        assert summarise(finished(on_the_offensive(war, "TJ"), seed, **fast)) == plain


def test_an_offensive_raises_the_other_sides_civilian_toll(war):
    fast = {"escalate_rate": 1.0}
    runs = range(6)
    without = [summarise(finished(war, seed, **fast)) for seed in runs]
    with_tj = [summarise(finished(on_the_offensive(war, "TJ"), seed, **fast, incursion_hit_rate=0.05))
               for seed in runs]
    assert all(r["max_rung"] >= ARMOUR for r in without)     # armour was used: there was an incursion to make
    assert sum(r["deaths_kg_civilian"] for r in with_tj) > sum(r["deaths_kg_civilian"] for r in without) + 10


def test_a_pooled_offensive_has_one_villages_worth_of_force_however_many_it_enters(war):
    """``force_pooling`` 1 (the default): a full force in every entered village; 0: one village's worth spread
    over all of them; in between, the share ``(1 + p (n - 1)) / n`` each."""
    model = BorderModel(on_the_offensive(war, "TJ"), seed=1)
    state, home = model.state, model._nearest_village
    state.posture[TJ, :] = ARMOUR
    inside = incursion.entered(state, model._offensive, home)
    n = int(inside.sum())
    assert n >= 2
    full = incursion.held_share(state, model._offensive, home, 1.0)
    pooled = incursion.held_share(state, model._offensive, home, 0.0)
    half = incursion.held_share(state, model._offensive, home, 0.5)
    np.testing.assert_allclose(full, inside.astype(float))
    np.testing.assert_allclose(pooled.sum(), 1.0)
    np.testing.assert_allclose(half[inside], (1 + 0.5 * (n - 1)) / n)
    assert (pooled[~inside] == 0).all() and (half[~inside] == 0).all()


def test_a_pooled_offensive_hurts_fewer_people_in_the_villages_it_enters(war):
    """Through the rule itself: over many hours in the same villages, one force spread over them hits about
    1/n as many as a full force in each."""
    def hit_over_hours(pooling: float) -> int:
        model = BorderModel(on_the_offensive(war, "TJ"), seed=1, incursion_hit_rate=0.002, force_pooling=pooling)
        state, home = model.state, model._nearest_village
        state.posture[TJ, :] = ARMOUR
        rng = np.random.default_rng(7)
        for _ in range(300):
            incursion.expose(state, model.params, 1.0, rng, model._offensive, home, _no_losses(3))
        return int(state.civilian_dead.sum() + state.civilian_injured.sum())

    full, pooled = hit_over_hours(1.0), hit_over_hours(0.0)
    assert full > 200
    # n = 2 villages entered: a ratio of 1/2, a little above as the full force thins the villages faster
    assert 0.35 < pooled / full < 0.65
