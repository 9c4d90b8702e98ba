"""Compare posteriors on fresh predictive runs: should a refit replace the shipped fit?

Why a script: a fit's own report draws its posterior predictive at one seed (100 runs per episode, 20 calm
years), and session 17 measured how much that one draw moves. At two fresh seeds the shipped fit's April
Kyrgyz death median was 33 and 19 (the runs split between a war that stops at small arms and one that goes
to L4, and the median falls on either side), and over 100 calm years each posterior tried so far had years
with 39-45 lethal incidents that a report's 20 years may or may not show. Deciding on one report each can
therefore ship or reject a fit by luck. This script re-runs every posterior with the same draws and seeds:

* per seed: the expected distance of a run over the episode targets that count in the fit (the report's
  ``misfit.csv`` total), how many median goals are met, how many documented figures fall inside the 90% interval,
  the median of each goal target, and the share of each episode's runs that went past its documented weapon
  level (the report's ``by_level_<episode>.csv``: where a toll too high comes from);
* calm years (``BASELINE``): ``--calm-draws`` draws, each run at ``--calm-seeds`` seeds: the median, 90th
  percentile and largest lethal-incident count, and how many years have more than 25 (the measure of
  sessions 11-12).

A YAML file (``fitted.yaml`` or any file with a ``values:`` mapping of parameters) is a *point*: every
draw is that one parameter set, so the figures show what the parameters' spread adds to a posterior's
misfit (session 18: the shipped fit's median point against its posterior, and against a hand-set point).

Parameters a posterior does not hold come from the scenarios' parameter file (``calibration/fitted.yaml``),
so compare posteriors whose fixed parameters are the shipped ones. Usage::

    python calibration/compare_posteriors.py calibration/posterior.csv=shipped /tmp/fit/out/posterior.csv=refit
    python calibration/compare_posteriors.py calibration/fitted.yaml=shipped_median calibration/posterior.csv
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.calibration import predictive, predictive_values
from sim.calibration_report import Prediction, by_weapon_level, comparison_table, documented_rung
from sim.errors import UserError
from sim.parameters import read_parameter_file
from sim.targets import TargetSet, load_targets

EPISODES = ("E07", "E13")
LETHAL_YEAR = 25  # "calm years with more than 25 lethal incidents", the measure of sessions 11-12


@dataclass(frozen=True)
class Posterior:
    """Posterior draws, or one parameter point (``point``) that every draw repeats."""

    label: str
    draws: pd.DataFrame
    point: bool = False

    def head(self, n: int) -> pd.DataFrame:
        """The first ``n`` draws; for a point, ``n`` copies of it."""
        return self.draws.loc[[0] * n].reset_index(drop=True) if self.point else self.draws.head(n)


def read_point(path: str) -> pd.DataFrame:
    """The ``values:`` of a parameter file as a one-row frame; a wrong file is a one-line error."""
    try:
        return pd.DataFrame([read_parameter_file(Path(path))])
    except UserError as err:
        sys.exit(f"compare_posteriors: {err}")


def read_posterior(arg: str) -> Posterior:
    """``PATH`` or ``PATH=LABEL``; a missing or unreadable file is a user error, not a traceback."""
    path, _, label = arg.partition("=")
    label = label or Path(path).parent.name
    if Path(path).suffix in (".yaml", ".yml"):
        return Posterior(label, read_point(path), point=True)
    try:
        draws = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        sys.exit(f"compare_posteriors: cannot read posterior {path}: {err}")
    if draws.empty:
        sys.exit(f"compare_posteriors: {path} holds no draws")
    return Posterior(label, draws)


def episode_row(post: Posterior, targets: TargetSet, n_draws: int, seed: int, workers: int,
                quiet: bool) -> dict:
    """Distance, goals and coverage of E07 and E13 at one seed (the same quantities as the report's)."""
    row = {"posterior": post.label, "seed": seed, "distance": 0.0, "goals_met": 0, "inside_90pct": 0,
           "targets": 0}
    for eid in EPISODES:
        ep = targets.episodes[eid]
        runs = predictive(ep, post.head(n_draws), seed, workers, quiet)
        pred = Prediction(ep, runs, predictive_values(ep, runs, targets.censor_at_end))
        table = comparison_table(pred, list(EPISODES))
        row["distance"] += table.loc[table["in_distance"], "mean_sq_deviation"].sum()
        row["goals_met"] += int((table["median_goal"] == "ok").sum())
        row["inside_90pct"] += int(table["documented_inside_90pct"].sum())
        row["targets"] += len(table)
        for r in table[table["median_goal"] != ""].itertuples():
            row[f"{eid} {r.target}"] = r.sim_median
        levels = by_weapon_level(pred)
        if not levels.empty:
            past = levels["rung"] > documented_rung(ep)
            row[f"{eid} % past documented level"] = 100.0 * float(levels.loc[past, "share"].sum())
    return row


def calm_years(post: Posterior, targets: TargetSet, n_draws: int, seeds: list[int], workers: int,
               quiet: bool) -> dict:
    """Lethal incidents in calm years: ``n_draws`` draws, each run once per seed."""
    ep = targets.episodes["BASELINE"]
    lethal = np.concatenate([
        predictive_values(ep, predictive(ep, post.head(n_draws), seed, workers, quiet),
                          targets.censor_at_end)["lethal_incidents"].to_numpy(float)
        for seed in seeds])
    return {"posterior": post.label, "years": lethal.size, "median": float(np.median(lethal)),
            "p90": float(np.quantile(lethal, 0.9)), "max": float(lethal.max()),
            f"years_over_{LETHAL_YEAR}": int((lethal > LETHAL_YEAR).sum())}


def markdown(df: pd.DataFrame) -> str:
    """A pipe table, ready for calibration/README.md (pandas' to_markdown needs an extra package)."""
    cells = [[f"{v:,.1f}" if isinstance(v, float) else str(v) for v in row] for row in df.itertuples(index=False)]
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("posteriors", nargs="+",
                    help="posterior.csv files or YAML points (a values: mapping), each optionally =LABEL")
    ap.add_argument("--draws", type=int, default=200, help="draws per episode run (default 200)")
    ap.add_argument("--seeds", default="777,778", help="comma-separated predictive seeds (default 777,778)")
    ap.add_argument("--calm-draws", type=int, default=20, help="draws for the calm years; 0 skips them")
    ap.add_argument("--calm-seeds", default="20261124,20261131,20261138,20261145,20261152",
                    help="seeds per calm-year draw (default: five)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    posteriors = [read_posterior(a) for a in args.posteriors]
    targets = load_targets()
    seeds = [int(s) for s in args.seeds.split(",")]
    episodes = pd.DataFrame([episode_row(p, targets, args.draws, s, args.workers, args.quiet)
                             for p in posteriors for s in seeds])
    print(markdown(episodes))
    if args.calm_draws > 0:
        calm_seeds = [int(s) for s in args.calm_seeds.split(",")]
        calm = pd.DataFrame([calm_years(p, targets, args.calm_draws, calm_seeds, args.workers, args.quiet)
                             for p in posteriors])
        print()
        print(markdown(calm))


if __name__ == "__main__":
    main()
