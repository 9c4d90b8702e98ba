"""The model with the tools analysts drive it from: mesa.batch_run rows of run outcomes, outcomes that say
when an event never happened, and a warning where Mesa's 'spawn' start method would rerun a script silently."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import mesa

from sim.engine.outcomes import EVENT_TIMES, happened_output
from sim.experiments.sensitivity import SCALAR_OUTCOMES, ScenarioRun, run_outcomes
from tests.conftest import DATA, REPO

MINI = str(DATA / "mini.yaml")


def test_batch_run_collects_one_row_of_run_outcomes_per_seed_and_repeats_them():
    def batch() -> list[dict]:
        return mesa.batch_run(ScenarioRun, parameters={"scenario": MINI, "seed": [3, 4],
                                                       "escalate_rate": [0.05, 0.2]},
                              iterations=1, number_processes=1, display_progress=False)

    rows = batch()
    assert len(rows) == 4
    for row in rows:
        expected = run_outcomes({"escalate_rate": row["escalate_rate"]}, seed=row["seed"], scenario=MINI)
        got = {k: row[k] for k in SCALAR_OUTCOMES}
        assert got.keys() == expected.keys()
        assert all(a == b or (math.isnan(a) and math.isnan(b)) for a, b in zip(got.values(), expected.values()))
    again = batch()
    assert [r["deaths_kg"] for r in again] == [r["deaths_kg"] for r in rows]


def test_an_event_that_never_happened_is_nan_with_an_indicator_of_zero():
    quiet = run_outcomes({"incident_rate": 0.0, "escalate_rate": 0.0}, seed=1, scenario=MINI)
    for timing in EVENT_TIMES:
        assert quiet[happened_output(timing)] == float(not math.isnan(quiet[timing]))
    assert math.isnan(quiet["hours_to_air_mlrs"]) and quiet["happened_air_mlrs"] == 0.0
    assert quiet["happened_onset"] == 1.0  # mini's trigger at hour 2


def test_a_worker_that_runs_a_model_while_importing_an_unguarded_script_warns(tmp_path):
    """Mesa makes workers 'spawn': they import the main script again. An unguarded script that runs a model at
    its top level then runs it in every worker; the worker says so on stderr."""
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent(f"""
        import concurrent.futures
        from sim.experiments.sensitivity import run_outcomes
        run_outcomes(seed=1, scenario={MINI!r})
        with concurrent.futures.ProcessPoolExecutor(1) as pool:
            list(pool.map(abs, [-1]))
    """))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0  # the pool breaks: Python refuses a pool inside a worker that is bootstrapping
    assert "RuntimeWarning: bordersim: a model is being run while a worker process re-imports the main script" \
        in done.stderr
    guarded = tmp_path / "guarded.py"
    guarded.write_text(textwrap.dedent(f"""
        import concurrent.futures
        from sim.experiments.sensitivity import run_outcomes

        def deaths(seed):
            return run_outcomes(seed=seed, scenario={MINI!r})["deaths_total"]

        if __name__ == "__main__":
            with concurrent.futures.ProcessPoolExecutor(1) as pool:
                print(list(pool.map(deaths, [1])))
    """))
    done = subprocess.run([sys.executable, str(guarded)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "RuntimeWarning" not in done.stderr, done.stderr
