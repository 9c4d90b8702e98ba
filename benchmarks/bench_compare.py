"""Benchmark of ``bordersim compare``: the 8 shipped strategies x N runs of sept2022 with 1 and with 2 workers.

Times the whole comparison (runs, statistics, figures, writing the folder into a temporary directory),
prints wall time, runs per second and the speed-up of 2 workers over 1, and checks that both give
identical per-run results. Usage::

    .venv/bin/python benchmarks/bench_compare.py            # N = 1000 (the default)
    .venv/bin/python benchmarks/bench_compare.py --runs 100 --workers 1,2,4
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pandas as pd

from sim.experiments.compare import compare_strategies
from sim.experiments.ensemble import LocalExecutor

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "sept2022.yaml"
STRATEGIES = ("none,documented_2022,documented_2021,russia_early_call,csto_monitors,un_osce_joint_commission,"
              "combined_early,delimitation_push")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs per strategy (default 1000)")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts (default 1,2)")
    parser.add_argument("--scenario", type=Path, default=SCENARIO)
    parser.add_argument("--strategies", default=STRATEGIES)
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    n_strategies = len(args.strategies.split(","))
    total = n_strategies * args.runs
    print(f"{datetime.now():%Y-%m-%d %H:%M}  {platform.platform()}  {platform.processor() or platform.machine()}"
          f"  cores={os.cpu_count()}  python={platform.python_version()}")
    print(f"{args.scenario.name}: {n_strategies} strategies x {args.runs} runs = {total} runs")
    times: dict[int, float] = {}
    frames: dict[int, pd.DataFrame] = {}
    for workers in counts:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            frames[workers] = compare_strategies(args.scenario, args.strategies, runs=args.runs,
                                                 executor=LocalExecutor(workers), out=Path(tmp) / "out",
                                                 quiet=True)
            times[workers] = time.perf_counter() - start
        print(f"  workers={workers}: {times[workers]:7.1f} s  ({total / times[workers]:5.1f} runs/s)"
              + (f"  speed-up x{times[counts[0]] / times[workers]:.2f}" if workers != counts[0] else ""),
              flush=True)
    first = frames[counts[0]]
    identical = all(first.equals(f) for f in frames.values())
    print(f"  identical per-run results across worker counts: {identical}")


if __name__ == "__main__":
    main()
