"""An offensive's armour along the roads (``escalation.advance_on_roads``, ``road_advance_rate``)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.escalation import advance_on_roads
from sim.ladder import AIR_MLRS, ARMED, ARMOUR, MORTARS
from sim.model import BorderModel
from sim.outcomes import summarise
from tests.conftest import SCENARIOS, finished, on_the_offensive, with_governments

KG, TJ = 0, 1
AT_ONCE = {"road_advance_rate": 1e6}
"""A rate at which every allowed advance happens within the step."""


@pytest.fixture
def april() -> BorderModel:
    """April 2021's border (TJ on the offensive) with small arms at Golovnoi and nowhere else."""
    model = BorderModel(SCENARIOS / "april2021.yaml", seed=0)
    model.state.posture[:, model.geography.segment_index("golovnoi_water")] = ARMED
    model.state.refresh_rung()
    return model


def _advance(model: BorderModel, ceiling: tuple[int, int], *, offensive: tuple[bool, bool] = (False, True),
             suppress: float = 0.0) -> np.ndarray:
    """One step of the rule on ``model``'s state at a rate that leaves nothing to chance; returns the mask of
    segments it brought out of calm."""
    n = model.geography.n_segments
    return advance_on_roads(model.state, dict(model.params, **AT_ONCE), 1.0, np.random.default_rng(0),
                            np.array(ceiling), np.array(offensive), model._roads, np.full(n, suppress))


def test_an_offensive_with_armour_authorised_takes_every_road_however_far_from_the_fire(april):
    before = april.state.posture.copy()
    opened = _advance(april, (ARMED, ARMOUR))
    posture, roads = april.state.posture, april._roads.astype(bool)
    leilek_road = april.geography.segment_index("internatsional_road")  # ~70 km from Golovnoi
    assert roads[leilek_road] and posture[TJ, leilek_road] == ARMOUR and opened[leilek_road]
    assert (posture[TJ, roads] == ARMOUR).all()
    np.testing.assert_array_equal(posture[TJ, ~roads], before[TJ, ~roads])  # only the roads
    np.testing.assert_array_equal(posture[KG], before[KG])                  # only the side on the offensive
    np.testing.assert_array_equal(april.state.rung, posture.max(axis=0))


def test_no_advance_without_armour_orders_an_offensive_or_a_fight(april):
    before = april.state.posture.copy()
    assert not _advance(april, (ARMED, MORTARS)).any()                        # mortars authorised: no armour
    assert not _advance(april, (ARMOUR, ARMOUR), offensive=(False, False)).any()  # nobody on the offensive
    np.testing.assert_array_equal(april.state.posture, before)
    april.state.posture[:] = 0
    april.state.refresh_rung()
    assert not _advance(april, (ARMED, ARMOUR)).any()                         # no armed fire anywhere yet
    assert not april.state.posture.any()


def test_a_ceasefire_or_monitors_that_suppress_everything_stop_the_advance(april):
    before = april.state.posture.copy()
    assert not _advance(april, (ARMED, ARMOUR), suppress=1.0).any()
    np.testing.assert_array_equal(april.state.posture, before)


def test_the_advance_carries_april_2021s_war_to_leilek():
    """At the shipped parameters April's front stays near Golovnoi; with the advance, Tajik armour reaches the
    Leilek road whenever armour is authorised, and Leilek's villages are evacuated more often."""
    leilek = "peak_displaced[Leilek district]"
    seeds = range(12)
    without = [summarise(finished(SCENARIOS / "april2021.yaml", seed)) for seed in seeds]
    with_it = [summarise(finished(SCENARIOS / "april2021.yaml", seed, road_advance_rate=1.0)) for seed in seeds]
    armour = [i for i, run in enumerate(without) if run["max_rung"] >= ARMOUR]
    assert armour  # some runs reach armour, so there is an advance to make
    assert sum(with_it[i][leilek] for i in armour) > sum(without[i][leilek] for i in armour)


def test_without_an_offensive_the_rule_changes_nothing(mini):
    """Governments at war with armour authorised, a road segment on the line and the rule at full speed: with
    nobody on the offensive every outcome is as at rate 0; with TJ on the offensive they differ."""
    war = with_governments(mini, ("L3", "L4"), ("L3", "L4")).with_params({"incident_rate": 0.0})
    for seed in range(3):
        assert summarise(finished(war, seed, **AT_ONCE)) == summarise(finished(war, seed))
    attacking = on_the_offensive(war, "TJ")
    assert any(summarise(finished(attacking, seed, **AT_ONCE)) != summarise(finished(attacking, seed))
               for seed in range(3))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rate=st.floats(0.0, 10.0),
       ceiling=st.tuples(st.integers(0, AIR_MLRS), st.integers(0, AIR_MLRS)),
       offensive=st.tuples(st.booleans(), st.booleans()), suppress=st.floats(0.0, 1.0))
def test_an_advance_only_ever_raises_the_offensives_fire_on_roads_to_armour(mini, seed, rate, ceiling, offensive,
                                                                           suppress):
    """Whatever the postures, orders and suppression: no posture falls, and a posture that changes is that of a
    side on the offensive with armour authorised, on a road segment, and is now armour."""
    model = BorderModel(mini, seed=0)
    rng = np.random.default_rng(seed)
    state = model.state
    state.posture[:] = rng.integers(0, AIR_MLRS + 1, size=state.posture.shape)
    state.refresh_rung()
    before = state.posture.copy()
    n = model.geography.n_segments
    advance_on_roads(state, dict(model.params, road_advance_rate=rate), 1.0, rng, np.array(ceiling),
                     np.array(offensive), model._roads, np.full(n, suppress))
    changed = state.posture != before
    assert (state.posture >= before).all()
    allowed = (np.array(offensive) & (np.array(ceiling) >= ARMOUR))[:, None] & model._roads.astype(bool)[None, :]
    assert not (changed & ~allowed).any()
    assert (state.posture[changed] == ARMOUR).all()
    np.testing.assert_array_equal(state.rung, state.posture.max(axis=0))
