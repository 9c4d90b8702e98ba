"""The model class works with Mesa's own tools unmodified."""

from __future__ import annotations

import gc
import weakref

import mesa

from sim.agents import BorderPost, Government, Mediator, Village
from sim.model import BorderModel
from tests.conftest import DATA, SCENARIOS


def test_batch_run_drives_the_model_unmodified():
    results = mesa.batch_run(BorderModel, parameters={"scenario": str(DATA / "mini.yaml"), "seed": [1, 2],
                                                      "escalate_rate": [0.05, 0.2]},
                             iterations=1, max_steps=200, number_processes=1, display_progress=False)
    assert len(results) == 4
    assert {r["escalate_rate"] for r in results} == {0.05, 0.2}
    # The scenario stops itself after its 96 hourly steps (running=False) well before max_steps; batch_run
    # then reports the record at index steps - 1 (its convention; our record 0 is the initial state).
    assert all(r["Step"] == 95 and r["hour"] == 95.0 for r in results)
    assert all("deaths_kg_military" in r for r in results)


def test_agents_are_mesa_agents_in_agentsets(mini):
    model = BorderModel(mini, seed=1, strategy=str(DATA / "strategies" / "strong_early.yaml"))
    by_type = model.agents_by_type
    assert len(by_type[Village]) == 4
    assert len(by_type[BorderPost]) == 2
    assert len(by_type[Government]) == 2
    assert len(by_type[Mediator]) == 1
    village = by_type[Village][0]
    assert village.present == village.population


def test_a_finished_model_is_freed_once_nobody_holds_it():
    """Mesa 3.3 keeps every model that created an agent alive through ``mesa.Agent._ids`` (mesa#3179); a
    calibration worker runs tens of thousands of them, and in session 27 each worker grew to 12 GB. The
    model's agents hold their id counters weakly (``sim.agents.BorderAgent``), so a dropped model is freed,
    and its agents' ids are still unique within it."""
    model = BorderModel(SCENARIOS / "april2021.yaml", seed=1, record_series=False)
    model.run_model()
    ids = [agent.unique_id for agent in model.agents]
    assert len(ids) == len(set(ids))
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None
