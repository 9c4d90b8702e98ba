"""Benchmark of a batched ABC-SMC fit to the whole record: simulations per second at a fixed budget.

A fit's cost is what limits every honest analysis of the model (leave-one-out, ablation, coverage checks), and
the calm year dominates it. This runs the fit of the shipped calibration's episodes and free parameters at a
small fixed budget and seed, with the round size of the batched ABC-SMC as shipped and with rounds of one
population (the earlier behaviour), and prints each one's wall time, simulations per second, generations and
final epsilon. Usage::

    .venv/bin/python benchmarks/bench_fit.py                 # population 60, budget 1500, 2 workers
    .venv/bin/python benchmarks/bench_fit.py --budget 800 --workers 1
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import datetime
from unittest import mock

from sim.calibration import smc
from sim.calibration.fit import FitSettings
from sim.calibration.targets import load_targets

EPISODES = "E07,E13,BASELINE,E02,E03,E06,E08a,E08b,E10"
PARAMS = ("incident_rate,escalate_rate,contain_rate,arms_tension,authorise_rate,orders_loss_gain,front_rate,"
          "front_decay_per_km,agree_rate,military_casualty_rate,civilian_casualty_rate,crowd_hit_rate,"
          "small_arms_lethality")


def one_population(still_needed: int, acceptance: float, population: int) -> int:
    """Rounds of one population each, whatever the acceptance."""
    return population


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=60)
    parser.add_argument("--budget", type=int, default=1500)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"{datetime.now():%Y-%m-%d %H:%M}  {platform.platform()}  cores={os.cpu_count()}  "
          f"python={platform.python_version()}")
    targets = load_targets().select(EPISODES.split(","))
    settings = FitSettings(population=args.population, generations=20, budget=args.budget, walltime_minutes=60.0,
                           workers=args.workers, quiet=True, params=tuple(PARAMS.split(",")), method="batched")
    for label, rounds in (("rounds sized by acceptance", smc.round_size), ("rounds of one population",
                                                                           one_population)):
        with mock.patch.object(smc, "round_size", rounds):
            start = time.perf_counter()
            result = smc.fit_batched(targets, settings)
            seconds = time.perf_counter() - start
        print(f"  {label:28s} {seconds:6.1f} s  {result.simulations / seconds:5.1f} simulations/s  "
              f"{len(result.generations)} generations, epsilon {result.final_epsilon:,.0f}", flush=True)


if __name__ == "__main__":
    main()
