"""What a run costs: the batched engine on bordersim's scenarios, against Mesa's own Epstein example.

Measured in one process on one core (one BLAS thread), the scenario loaded once and not timed:

* ``sept2022`` in batches of ``--batch`` runs (as ensembles, comparisons and fits run it): ms per run, runs per
  second, and the cost per agent-step (time per run-step / agents of the Mesa model), against Mesa's
  ``EpsteinCivilViolence`` example (default parameters, the same number of steps) in the same process;
* ``sept2022`` as one ``BorderModel`` (a batch of one, with its DataCollector), the Mesa front door;
* ``april2021`` batched, and the one-year ``baseline`` batched and as a fit runs it (one run, no series);
* scaling: generated borders of growing size (villages and segments in a line), batched, to show the cost
  grows linearly with the size of the border; and the memory a batch of 1,000 ``sept2022`` runs holds.

    .venv/bin/python benchmarks/bench_run.py            # or: make bench
    .venv/bin/python benchmarks/bench_run.py --quick    # smaller batches, for a smoke test
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import mesa  # noqa: E402
from mesa.examples import EpsteinCivilViolence  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from sim.calibration.simulator import run_summary  # noqa: E402
from sim.engine.batch import Simulation, run_batch  # noqa: E402
from sim.experiments.ensemble import derive_seeds  # noqa: E402
from sim.input.scenario import load_scenario  # noqa: E402
from sim.model import BorderModel  # noqa: E402

SCENARIOS = REPO / "scenarios"
BASE_SEED = 12345


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def batched(name_or_path: str | Path, runs: int, repeats: int) -> dict[str, float]:
    """Seconds per run of a scenario run as one batch of ``runs`` (best and median of ``repeats``)."""
    path = Path(name_or_path) if Path(name_or_path).suffix else SCENARIOS / f"{name_or_path}.yaml"
    scenario = load_scenario(path)
    run_batch(scenario, derive_seeds(BASE_SEED, 2))  # warm up
    times = []
    for r in range(repeats):
        seeds = derive_seeds(BASE_SEED + r, runs)
        start = time.perf_counter()
        run_batch(scenario, seeds)
        times.append((time.perf_counter() - start) / runs)
    return {"per_run": statistics.median(times), "best": min(times), "steps": scenario.n_steps,
            "segments": scenario.geography.n_segments, "villages": len(scenario.geography.village_ids)}


def border_model(name: str, runs: int) -> float:
    """Median seconds of one run through ``BorderModel`` (a batch of one, DataCollector on)."""
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    times = []
    for seed in derive_seeds(BASE_SEED, runs):
        start = time.perf_counter()
        BorderModel(scenario, seed=seed).run_model()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def as_fit(name: str, runs: int) -> float:
    path = str(SCENARIOS / f"{name}.yaml")
    run_summary(path, 0, {})
    times = []
    for seed in derive_seeds(BASE_SEED, runs):
        start = time.perf_counter()
        run_summary(path, seed, {})
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def epstein(steps: int, runs: int) -> dict[str, float]:
    times, agents = [], []
    for seed in derive_seeds(BASE_SEED, runs):
        start = time.perf_counter()
        model = EpsteinCivilViolence(seed=seed)
        for _ in range(steps):
            model.step()
        times.append(time.perf_counter() - start)
        agents.append(len(model.agents))
    return {"per_run": statistics.median(times), "agents": statistics.median(agents)}


def generated_border(folder: Path, villages_per_side: int) -> Path:
    """A straight border of ``villages_per_side`` village pairs, one disputed segment per pair, roads along
    each side: a scenario file of that size (places = 2 x villages_per_side)."""
    places, edges = [], []
    for i in range(villages_per_side):
        lon = 69.0 + 4.0 * i / villages_per_side
        for side, lat in (("KG", 40.0), ("TJ", 39.98)):
            places.append(f"  - {{id: {side.lower()}_{i}, name: {side} {i}, side: {side}, kind: village, district: d{i // 50},"
                          f" lat: {lat}, lon: {lon:.4f}, coord_estimated: true, coord_source: generated,"
                          f" population: 2000, population_estimated: true, population_source: generated}}")
        edges.append(f"  - {{id: s{i}, a: kg_{i}, b: tj_{i}, kind: border, status: disputed, resource: none,"
                     f" length_km: 1, source: generated}}")
        if i:
            for side in ("kg", "tj"):
                edges.append(f"  - {{a: {side}_{i - 1}, b: {side}_{i}, kind: road, length_km: 1, source: generated}}")
    geo = folder / f"geo_{villages_per_side}.yaml"
    geo.write_text("name: generated\ndescription: generated border for benchmarks\nplaces:\n"
                   + "\n".join(places) + "\nedges:\n" + "\n".join(edges) + "\n")
    scenario = folder / f"border_{villages_per_side}.yaml"
    mediators = folder / "mediators.yaml"
    mediators.write_text((SCENARIOS / "mediators.yaml").read_text())
    (folder / "strategies").mkdir(exist_ok=True)
    (folder / "strategies" / "none.yaml").write_text((SCENARIOS / "strategies" / "none.yaml").read_text())
    scenario.write_text(f"""name: border_{villages_per_side}
description: generated
start: 2022-09-14T00:00:00+06:00
duration_hours: 72
geography: {geo.name}
initial_tension: {{default: 0.6}}
governments:
  KG: {{authorised: L1, arsenal: L4}}
  TJ: {{authorised: L1, arsenal: L4}}
triggers:
  - {{kind: incident, hour: 1, segment: s0, level: L1}}
""")
    return scenario


def batch_memory(runs: int) -> float:
    """Peak MB of numpy allocations while a batch of ``runs`` sept2022 runs is built and stepped a day."""
    scenario = load_scenario(SCENARIOS / "sept2022.yaml")
    tracemalloc.start()
    sim = Simulation(scenario, derive_seeds(BASE_SEED, runs))
    for _ in range(24):
        sim.advance()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=300, help="runs per batch (default 300)")
    parser.add_argument("--repeats", type=int, default=3, help="timed batches per figure (default 3)")
    parser.add_argument("--quick", action="store_true", help="small batches, one repeat: a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch, args.repeats = 20, 1
    print(f"bordersim benchmark, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
          f"Python {platform.python_version()}, mesa {mesa.__version__}; one process, one BLAS thread\n")
    with threadpool_limits(limits=1, user_api="blas"):
        sept = batched("sept2022", args.batch, args.repeats)
        model = BorderModel(load_scenario(SCENARIOS / "sept2022.yaml"), seed=0)
        agents = len(model.agents)
        per_agent_step = sept["per_run"] / sept["steps"] / agents
        print(f"sept2022, batches of {args.batch}: {_ms(sept['per_run'])} per run (best {_ms(sept['best'])}), "
              f"{1 / sept['per_run']:.0f} runs/s; {agents} agents, {per_agent_step * 1e9:.0f} ns per agent-step")
        ep = epstein(int(sept["steps"]), 1 if args.quick else 2)
        ep_agent_step = ep["per_run"] / sept["steps"] / ep["agents"]
        print(f"Mesa EpsteinCivilViolence, {int(sept['steps'])} steps: {_ms(ep['per_run'])} per run, "
              f"{ep['agents']:.0f} agents, {ep_agent_step * 1e9:.0f} ns per agent-step: "
              f"sept2022 costs 1/{ep_agent_step / per_agent_step:.0f} of it per agent-step")
        one = border_model("sept2022", 3 if args.quick else 10)
        print(f"sept2022, one BorderModel (batch of one, DataCollector on): {_ms(one)} per run")
        april = batched("april2021", args.batch, args.repeats)
        print(f"april2021, batches of {args.batch}: {_ms(april['per_run'])} per run")
        calm = batched("baseline", max(args.batch // 3, 10), 1)
        print(f"baseline (a calm year, 8,760 steps), batches of {max(args.batch // 3, 10)}: "
              f"{_ms(calm['per_run'])} per run")
        print(f"baseline as a fit runs it (one run, no series): {_ms(as_fit('baseline', 1 if args.quick else 3))}")
        print("\nscaling: generated borders, 72 hourly steps, batches of 50")
        with tempfile.TemporaryDirectory() as tmp:
            for n in ((25, 100) if args.quick else (25, 100, 250, 500, 1000)):
                r = batched(generated_border(Path(tmp), n), 50, 1)
                print(f"  {2 * n:>5} places, {r['segments']:>5} segments: {_ms(r['per_run'])} per run, "
                      f"{r['per_run'] / r['segments'] * 1e6:.1f} µs per segment-run")
        runs = 100 if args.quick else 1000
        print(f"\nmemory: a batch of {runs} sept2022 runs peaks at {batch_memory(runs):.0f} MB of arrays")
    return 0


if __name__ == "__main__":
    sys.exit(main())
