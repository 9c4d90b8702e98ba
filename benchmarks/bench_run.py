"""How long one run costs: bordersim's scenarios against Mesa's own Epstein civil-violence example.

Prints, for ``scenarios/sept2022.yaml``, the median wall time per run (one whole seeded run, as an ensemble
worker does it: build the model, run it to the end, collect its series and summary; loading the scenario
is cached and not timed) and the cost per agent-step (time per step / number of agents in
``model.agents``). The same two figures are measured, in the same process, for Mesa's example
``mesa.examples.EpsteinCivilViolence`` (default parameters, the same number of steps) as a reference for
what a conventional one-object-per-agent Mesa model costs on this machine. Then the time per run of
``april2021`` (also with the crowds at the line switched off and on, ``crowd_size`` 0 and 300, on the same
seeds: what the crowd rule costs) and of the one-year ``baseline`` (fewer repeats), and of ``baseline`` run as a
calibration runs it (``calibration.run_summary``: no per-step series).

    .venv/bin/python benchmarks/bench_run.py            # or: make bench
    .venv/bin/python benchmarks/bench_run.py --quick    # fewer repeats, for a smoke test
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import mesa  # noqa: E402
from mesa.examples import EpsteinCivilViolence  # noqa: E402

from sim.ensemble import RunTask, derive_seeds, run_task  # noqa: E402
from sim.calibration import run_summary  # noqa: E402
from sim.model import BorderModel  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

SCENARIOS = REPO / "scenarios"
BASE_SEED = 12345


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_scenario(name: str, runs: int, as_fit: bool = False,
                   overrides: dict[str, float] | None = None) -> dict[str, float]:
    """Median seconds per run of a scenario, its steps and its agents (scenario loading excluded).

    ``as_fit``: time the run as a calibration does (``calibration.run_summary``: no per-step series).
    ``overrides``: parameters replacing the scenario's (the same seeds, so two settings compare run for run)."""
    path = str(SCENARIOS / f"{name}.yaml")
    scenario = load_scenario(path)
    probe = BorderModel(scenario, seed=0)
    n_agents, n_steps = len(probe.agents), scenario.n_steps
    values = dict(overrides or {})
    frozen = tuple(sorted(values.items()))

    def one(seed: int, run: int) -> object:
        if as_fit:
            return run_summary(path, seed, values)
        return run_task(RunTask(path, seed=seed, run=run, overrides=frozen))

    one(0, 0)  # warm up: loads and caches the scenario, imports the rules
    times = [_timed(lambda s=s, i=i: one(s, i)) for i, s in enumerate(derive_seeds(BASE_SEED, runs))]
    median = statistics.median(times)
    return {"runs": runs, "steps": n_steps, "agents": n_agents, "per_run": median,
            "per_step": median / n_steps, "per_agent_step": median / n_steps / n_agents,
            "min": min(times), "max": max(times)}


def bench_epstein(steps: int, runs: int) -> dict[str, float]:
    """The same figures for Mesa's Epstein civil-violence example with default parameters."""
    times, agents = [], []
    for seed in derive_seeds(BASE_SEED, runs):
        start = time.perf_counter()
        model = EpsteinCivilViolence(seed=seed)
        for _ in range(steps):
            model.step()
        times.append(time.perf_counter() - start)
        agents.append(len(model.agents))
    median = statistics.median(times)
    n_agents = statistics.median(agents)
    return {"runs": runs, "steps": steps, "agents": n_agents, "per_run": median, "per_step": median / steps,
            "per_agent_step": median / steps / n_agents, "min": min(times), "max": max(times)}


def _fmt_seconds(value: float) -> str:
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.1f} ms"
    return f"{value * 1e6:.2f} µs"


def _row(label: str, r: dict[str, float]) -> str:
    return (f"{label:<28} {int(r['runs']):>5} {int(r['steps']):>6} {int(r['agents']):>7} "
            f"{_fmt_seconds(r['per_run']):>10} {_fmt_seconds(r['per_step']):>10} "
            f"{_fmt_seconds(r['per_agent_step']):>12}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs of sept2022 (default 30)")
    parser.add_argument("--epstein-runs", type=int, default=3, help="timed runs of the Mesa example (default 3)")
    parser.add_argument("--april-runs", type=int, default=10, help="timed runs of april2021 (default 10)")
    parser.add_argument("--baseline-runs", type=int, default=3, help="timed runs of baseline (default 3)")
    parser.add_argument("--quick", action="store_true", help="3/1/2/1 runs instead: a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.epstein_runs, args.april_runs, args.baseline_runs = 3, 1, 2, 1

    print(f"bordersim benchmark, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
          f"Python {platform.python_version()}, mesa {mesa.__version__}")
    print("one run = build the model, run every step, collect series and summary (scenario load cached)\n")
    print(f"{'model':<28} {'runs':>5} {'steps':>6} {'agents':>7} {'per run':>10} {'per step':>10} "
          f"{'per agent-step':>12}")

    sept = bench_scenario("sept2022", args.runs)
    print(_row("sept2022 (12 days, hourly)", sept), flush=True)
    epstein = bench_epstein(int(sept["steps"]), args.epstein_runs)
    print(_row("Mesa EpsteinCivilViolence", epstein), flush=True)
    april = bench_scenario("april2021", args.april_runs)
    print(_row("april2021 (8 days, hourly)", april), flush=True)
    for size in (0, 300):
        crowds = bench_scenario("april2021", args.april_runs, overrides={"crowd_size": size})
        print(_row(f"april2021, crowd_size {size}", crowds), flush=True)
    baseline = bench_scenario("baseline", args.baseline_runs)
    print(_row("baseline (1 year, hourly)", baseline), flush=True)
    baseline_fit = bench_scenario("baseline", args.baseline_runs, as_fit=True)
    print(_row("baseline, as a fit runs it", baseline_fit), flush=True)

    ratio = epstein["per_agent_step"] / sept["per_agent_step"]
    print(f"\nper agent-step, sept2022 costs 1/{ratio:.1f} of the Epstein example "
          f"(per step: {epstein['per_step'] / sept['per_step']:.1f}x cheaper)")
    print(f"sept2022 spread over {args.runs} runs: min {_fmt_seconds(sept['min'])}, max {_fmt_seconds(sept['max'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
