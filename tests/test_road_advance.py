"""An offensive's armour along the roads (``sim.rules.front.advance_on_roads``, ``road_advance_rate``)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core.ladder import AIR_MLRS, ARMED, ARMOUR, MORTARS
from sim.core.randomness import StepDraws
from sim.engine.batch import Simulation, run_batch
from sim.input.scenario import load_scenario
from sim.rules.front import advance_on_roads
from tests.conftest import SCENARIOS, on_the_offensive, with_governments

KG, TJ = 0, 1
AT_ONCE = {"road_advance_rate": 1e6}
"""A rate at which every allowed advance happens within the step."""


@pytest.fixture(scope="module")
def april_scenario():
    return load_scenario(SCENARIOS / "april2021.yaml")


@pytest.fixture
def april(april_scenario) -> Simulation:
    """A few runs of April 2021's border (TJ on the offensive) with small arms at Golovnoi and nowhere else."""
    sim = Simulation(april_scenario, range(4), AT_ONCE)
    sim.state.posture[:, :, april_scenario.geography.segment_index("golovnoi_water")] = ARMED
    sim.state.refresh_rung()
    return sim


def _advance(sim: Simulation, authorised: tuple[int, int], *, offensive: tuple[bool, bool] = (False, True),
             suppress: float = 0.0) -> np.ndarray:
    """One step of the rule on every run of ``sim``, with the governments authorising ``authorised`` (KG, TJ) and
    the sides ``offensive`` on the offensive, at a rate that leaves nothing to chance; returns the mask of
    segments it brought out of calm."""
    sim.state.authorised[:] = authorised
    world = dataclasses.replace(sim.world, offensive=np.array(offensive))
    return advance_on_roads(sim.state, sim.params, world, StepDraws(sim.keys, 0),
                            np.full(sim.state.rung.shape, suppress))


def _same_outcomes(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> np.ndarray:
    """bool[R]: every outcome of the run is the same in both (outcomes that never happened count as the same)."""
    same = [(a[k] == b[k]) | ((a[k] != a[k]) & (b[k] != b[k])) if a[k].dtype.kind == "f" else a[k] == b[k]
            for k in a]
    return np.logical_and.reduce(same)


def test_an_offensive_with_armour_authorised_takes_every_road_however_far_from_the_fire(april, april_scenario):
    before = april.state.posture.copy()
    opened = _advance(april, (ARMED, ARMOUR))
    posture, roads = april.state.posture, april.world.roads.astype(bool)
    leilek_road = april_scenario.geography.segment_index("internatsional_road")  # ~70 km from Golovnoi
    assert roads[leilek_road] and (posture[:, TJ, leilek_road] == ARMOUR).all() and opened[:, leilek_road].all()
    assert (posture[:, TJ][:, roads] == ARMOUR).all()
    np.testing.assert_array_equal(posture[:, TJ][:, ~roads], before[:, TJ][:, ~roads])  # only the roads
    np.testing.assert_array_equal(posture[:, KG], before[:, KG])                        # only the side on the offensive
    np.testing.assert_array_equal(april.state.rung, posture.max(axis=1))


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


def test_the_advance_carries_april_2021s_war_to_leilek(april_scenario):
    """At the shipped parameters April's front stays near Golovnoi; with the advance, Tajik armour reaches the
    Leilek road whenever armour is authorised, and Leilek's villages are evacuated more often."""
    leilek = "peak_displaced[Leilek district]"
    seeds = range(24)
    without = run_batch(april_scenario, seeds).summaries
    with_it = run_batch(april_scenario, seeds, {"road_advance_rate": 1.0}).summaries
    armour = without["max_rung"] >= ARMOUR
    assert armour.any()  # some runs reach armour, so there is an advance to make
    assert with_it[leilek][armour].sum() > without[leilek][armour].sum()


def test_without_an_offensive_the_rule_changes_nothing(mini):
    """Governments at war with armour authorised, a road segment on the line and the rule at full speed: with
    nobody on the offensive every outcome is as at rate 0; with TJ on the offensive they differ."""
    war = with_governments(mini, ("L3", "L4"), ("L3", "L4")).with_params({"incident_rate": 0.0})
    seeds = range(8)
    assert _same_outcomes(run_batch(war, seeds, AT_ONCE).summaries, run_batch(war, seeds).summaries).all()
    attacking = on_the_offensive(war, "TJ")
    assert not _same_outcomes(run_batch(attacking, seeds, AT_ONCE).summaries,
                              run_batch(attacking, seeds).summaries).all()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1),
       runs=st.lists(st.tuples(st.floats(0.0, 10.0),                                        # road_advance_rate
                               st.tuples(st.integers(0, AIR_MLRS), st.integers(0, AIR_MLRS)),  # orders
                               st.floats(0.0, 1.0)),                                          # suppression
                     min_size=1, max_size=8),
       offensive=st.tuples(st.booleans(), st.booleans()))
def test_an_advance_only_ever_raises_the_offensives_fire_on_roads_to_armour(mini, seed, runs, offensive):
    """Whatever the postures, orders and suppression of each run of a batch: no posture falls, and a posture that
    changes is that of a side on the offensive with armour authorised, on a road segment, in a run with armed
    fire somewhere, and is now armour."""
    rng = np.random.default_rng(seed)
    scenario = on_the_offensive(mini, *(side for side, on in zip(("KG", "TJ"), offensive) if on))
    sim = Simulation(scenario, [seed + i for i in range(len(runs))],
                     [{"road_advance_rate": rate} for rate, _, _ in runs])
    state, world = sim.state, sim.world
    np.testing.assert_array_equal(world.offensive, offensive)
    state.posture[:] = rng.integers(0, AIR_MLRS + 1, size=state.posture.shape)
    state.refresh_rung()
    state.authorised[:] = [orders for _, orders, _ in runs]
    suppress = np.array([s for _, _, s in runs])[:, None] * rng.random(state.rung.shape)
    before = state.posture.copy()
    armed_somewhere = (before.max(axis=(1, 2)) >= ARMED)[:, None, None]
    advance_on_roads(state, sim.params, world, StepDraws(sim.keys, int(rng.integers(0, 1000))), suppress)
    changed = state.posture != before
    assert (state.posture >= before).all()
    allowed = ((np.array(offensive)[None, :] & (state.authorised >= ARMOUR))[:, :, None]
               & world.roads.astype(bool)[None, None, :] & armed_somewhere)
    assert not (changed & ~allowed).any()
    assert (state.posture[changed] == ARMOUR).all()
    np.testing.assert_array_equal(state.rung, state.posture.max(axis=1))
