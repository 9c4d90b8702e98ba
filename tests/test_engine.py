"""The batched engine: a run's outputs depend on its own seed and parameters only.

Whatever batch it shares, however many runs the ensemble has, whichever process or Dask worker runs it,
and whether it is driven through ``BorderModel`` (Mesa) or a batch, run *i* gives the same numbers.
"""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core import randomness
from sim.core.randomness import StepDraws, Stream, run_keys
from sim.engine.batch import run_batch
from sim.experiments.ensemble import LocalExecutor, derive_seeds, run_ensemble, series_frame, summaries_frame, tasks_for
from sim.input.scenario import load_scenario
from sim.model import BorderModel, summarise
from tests.conftest import DATA, SCENARIOS


def _same(a: dict, b: dict) -> bool:
    return pd.Series(a).equals(pd.Series(b))


@pytest.fixture(scope="module")
def april():
    return load_scenario(SCENARIOS / "april2021.yaml")


def test_a_run_is_the_same_alone_and_inside_a_batch_of_hundreds(april):
    seeds = derive_seeds(99, 300)
    batch = run_batch(april, seeds).summary_rows()
    for i in (0, 137, 299):
        alone = run_batch(april, [seeds[i]]).summary_rows()[0]
        assert _same(alone, batch[i]), f"run {i} differs alone and in the batch"


def test_a_run_is_the_same_whatever_the_other_runs_parameters(april):
    """Parameters may differ per run within a batch (posterior draws, sensitivity samples)."""
    seeds = derive_seeds(4, 6)
    params = [{"escalate_rate": r, "crowd_hit_rate": 0.01 * (i + 1)} for i, r in enumerate(np.linspace(0.02, 0.3, 6))]
    batch = run_batch(april, seeds, params).summary_rows()
    for i in (0, 3, 5):
        alone = run_batch(april, [seeds[i]], params[i]).summary_rows()[0]
        assert _same(alone, batch[i])


def test_border_model_and_mesa_batch_run_give_the_batch_s_outputs(mini):
    seeds = derive_seeds(8, 5)
    result = run_batch(mini, seeds, record_series=True)
    for i, seed in enumerate(seeds):
        model = BorderModel(mini, seed=seed)
        model.run_model()
        assert _same(summarise(model), result.summary_rows()[i])
        frame = model.datacollector.get_model_vars_dataframe()
        assert (frame["max_rung"].to_numpy() == result.series["max_rung"][:, i]).all()
        assert (frame["deaths_kg_military"].to_numpy() == result.series["deaths_kg_military"][:, i]).all()
    rows = mesa.batch_run(BorderModel, parameters={"scenario": str(DATA / "mini.yaml"), "seed": seeds[:2]},
                          iterations=1, max_steps=1000, number_processes=1, display_progress=False)
    for row in rows:
        i = seeds.index(row["seed"])
        assert row["incidents"] == result.summary_rows()[i]["incidents"]


def test_worker_processes_and_batch_sizes_change_nothing(april):
    tasks = tasks_for(SCENARIOS / "april2021.yaml", 21, 12)
    with LocalExecutor(1) as one:
        serial = run_ensemble(tasks, one, workers=1)
    with LocalExecutor(2) as two:
        parallel = run_ensemble(tasks, two, workers=2)
    pd.testing.assert_frame_equal(summaries_frame(serial), summaries_frame(parallel))
    pd.testing.assert_frame_equal(series_frame(serial), series_frame(parallel))


def test_a_dask_cluster_gives_the_same_runs():
    distributed = pytest.importorskip("distributed")
    from sim.experiments.executors import DaskExecutor

    tasks = tasks_for(DATA / "mini.yaml", 5, 8)
    with LocalExecutor(1) as one:
        serial = run_ensemble(tasks, one)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client, DaskExecutor(client=client, workers=2) as dask:
            remote = run_ensemble(tasks, dask, workers=2)
    pd.testing.assert_frame_equal(summaries_frame(serial), summaries_frame(remote))


# --- the random numbers ---------------------------------------------------------------------------------

def test_uniforms_of_a_run_do_not_depend_on_its_batch_or_on_which_slots_are_drawn():
    keys = run_keys([1, 2, 3])
    dense = StepDraws(keys, 17).uniform(Stream.ESCALATION, (2, 5))
    alone = StepDraws(keys[1:2], 17).uniform(Stream.ESCALATION, (2, 5))
    assert (dense[1] == alone[0]).all()
    runs, slots = np.array([2, 0]), np.array([7, 3])
    sparse = StepDraws(keys, 17).uniform_at(Stream.ESCALATION, runs, slots)
    assert (sparse == dense.reshape(3, -1)[runs, slots]).all()
    assert not (StepDraws(keys, 18).uniform(Stream.ESCALATION, (2, 5)) == dense).any()


def test_uniforms_are_uniform():
    u = StepDraws(run_keys(range(50)), 3).uniform(Stream.SPREAD, (2000,)).ravel()
    assert 0.0 <= u.min() and u.max() < 1.0
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    expected = u.size / 10
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 30  # 9 degrees of freedom: p < 0.001 above ~27.9


@pytest.mark.parametrize("mean", [0.02, 0.7, 4.0, 35.0, 400.0])
def test_poisson_draws_have_the_poisson_mean_and_variance(mean):
    u = StepDraws(run_keys([7]), 0).uniform(Stream.MILITARY, (200_000,))[0]
    x = randomness.poisson(np.full(u.shape, mean), u)
    se = np.sqrt(mean / u.size)
    assert abs(x.mean() - mean) < 5 * se
    assert abs(x.var() / mean - 1) < 0.05


@pytest.mark.parametrize("n,p", [(3, 0.3), (40, 0.05), (300, 0.5), (5000, 0.002), (20000, 0.4), (10, 0.97)])
def test_binomial_draws_have_the_binomial_mean_and_variance(n, p):
    u = StepDraws(run_keys([11]), 0).uniform(Stream.CROWDS, (200_000,))[0]
    x = randomness.binomial(np.full(u.shape, n), np.full(u.shape, p), u)
    mean, var = n * p, n * p * (1 - p)
    assert x.min() >= 0 and x.max() <= n
    assert abs(x.mean() - mean) < 5 * np.sqrt(var / u.size)
    assert abs(x.var() / var - 1) < 0.05


@settings(max_examples=60, deadline=None)
@given(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 200), st.floats(0.0, 1.0))
def test_binomial_draws_stay_within_zero_and_n_and_grow_with_u(u, n, p):
    low = randomness.binomial(np.array([n]), np.array([p]), np.array([u]))[0]
    high = randomness.binomial(np.array([n]), np.array([p]), np.array([u + (1.0 - u) / 2]))[0]
    assert 0 <= low <= high <= n
