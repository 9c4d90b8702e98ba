"""Statistics of a strategy comparison, computed from its per-run frame (``runs.csv``).

Pure functions of data frames and arrays, with no model runs and no files, so they can be tested and
reused (notebooks, other drivers) on any frame with the columns of :func:`sim.experiments.compare.runs_frame`: the
per-strategy table, paired differences with a bootstrap CI, the ranking, and ceasefire survival
(Kaplan–Meier). The outcome definitions here are shared by the tables, the report and the figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

BOOTSTRAP_RESAMPLES = 2000
RELAPSE_WINDOW_HOURS = 720.0
CURVES = ("max_rung", "deaths_total", "displaced_total")


@dataclass(frozen=True)
class Outcome:
    column: str
    label: str
    kind: str  # "count", "hours" or "probability"


_OUTCOMES = {o.column: o for o in (
    Outcome("deaths_kg", "deaths, Kyrgyzstan", "count"),
    Outcome("deaths_tj", "deaths, Tajikistan", "count"),
    Outcome("deaths_total", "deaths, both sides", "count"),
    Outcome("civilian_deaths", "civilian deaths", "count"),
    Outcome("injured_kg", "injured, Kyrgyzstan", "count"),
    Outcome("injured_tj", "injured, Tajikistan", "count"),
    Outcome("injured_total", "injured, both sides", "count"),
    Outcome("peak_displaced_kg", "peak displaced, Kyrgyzstan", "count"),
    Outcome("peak_displaced_tj", "peak displaced, Tajikistan", "count"),
    Outcome("peak_displaced_total", "peak displaced, both sides", "count"),
    Outcome("hours_to_stabilisation", "hours from onset to a ceasefire that holds", "hours"),
    Outcome("hours_to_stabilisation_censored", "hours to a ceasefire that holds (censored)", "hours"),
    Outcome("violations", "ceasefire violations", "count"),
    Outcome("heavy_weapons", "P(heavy weapons, L3+)", "probability"),
    Outcome("relapse", "P(relapse within 30 days)", "probability"),
    Outcome("collapse", "P(a ceasefire collapses back into war)", "probability"),
)}
"""Every outcome a comparison reports, with its label and kind; the tables below pick from it."""

TABLE_OUTCOMES = tuple(_OUTCOMES[c] for c in (
    "deaths_kg", "deaths_tj", "deaths_total", "civilian_deaths", "injured_kg", "injured_tj",
    "peak_displaced_kg", "peak_displaced_tj", "peak_displaced_total", "hours_to_stabilisation", "violations",
    "heavy_weapons", "relapse", "collapse"))

DIFF_OUTCOMES = tuple(_OUTCOMES[c] for c in (
    "deaths_total", "deaths_kg", "deaths_tj", "civilian_deaths", "injured_total", "peak_displaced_total",
    "hours_to_stabilisation_censored", "violations", "heavy_weapons", "relapse", "collapse"))

FOREST_OUTCOMES = ("deaths_total", "civilian_deaths", "peak_displaced_total", "hours_to_stabilisation_censored")


def strategy_table(runs: pd.DataFrame, order: Sequence[str] | None = None) -> pd.DataFrame:
    """Per strategy and outcome: runs where it is defined, mean, median, 5% and 95% quantiles."""
    rows = []
    for strategy in order or list(dict.fromkeys(runs["strategy"])):
        sub = runs[runs["strategy"] == strategy]
        for o in TABLE_OUTCOMES:
            values = sub[o.column].astype(float).dropna().to_numpy()
            row = {"strategy": strategy, "outcome": o.column, "label": o.label, "kind": o.kind,
                   "runs": len(values), "mean": math.nan, "median": math.nan, "p5": math.nan,
                   "p95": math.nan}
            if len(values):
                row["mean"] = float(values.mean())
                if o.kind != "probability":
                    row["median"], row["p5"], row["p95"] = (float(q) for q in np.quantile(values, [0.5, 0.05, 0.95]))
            rows.append(row)
    return pd.DataFrame(rows)


def paired_differences(runs: pd.DataFrame, baseline: str, seed: int = 0,
                       resamples: int = BOOTSTRAP_RESAMPLES) -> pd.DataFrame:
    """Mean of (strategy - baseline) over runs paired by run index, with a percentile bootstrap 95% CI.

    The bootstrap resamples run indices with replacement (the same resamples for every strategy and
    outcome, from ``numpy.random.default_rng(seed)``). ``share_lower``/``share_higher`` are the shares of
    runs in which the strategy's value was below / above the baseline's.
    """
    columns = [o.column for o in DIFF_OUTCOMES]
    wide = runs.pivot(index="run", columns="strategy", values=columns)
    base = wide.xs(baseline, axis=1, level="strategy")[columns].to_numpy(float)
    n = base.shape[0]
    rows = []
    for strategy in dict.fromkeys(runs["strategy"]):
        values = wide.xs(strategy, axis=1, level="strategy")[columns].to_numpy(float)
        d = values - base
        means = _bootstrap_means(d, seed, resamples)
        lo, hi = np.percentile(means, [2.5, 97.5], axis=0)
        for j, o in enumerate(DIFF_OUTCOMES):
            rows.append({"strategy": strategy, "baseline": baseline, "outcome": o.column, "label": o.label,
                         "runs": n, "mean_baseline": float(base[:, j].mean()),
                         "mean_strategy": float(values[:, j].mean()), "mean_diff": float(d[:, j].mean()),
                         "ci_lo": float(lo[j]), "ci_hi": float(hi[j]),
                         "share_lower": float((d[:, j] < 0).mean()), "share_higher": float((d[:, j] > 0).mean())})
    return pd.DataFrame(rows)


def _bootstrap_means(d: np.ndarray, seed: int, resamples: int) -> np.ndarray:
    """Means of ``resamples`` bootstrap resamples of the rows of ``d`` (runs x outcomes)."""
    rng = np.random.default_rng(seed)
    n, k = d.shape
    chunk = max(1, min(resamples, 4_000_000 // max(1, n * k)))
    out = np.empty((resamples, k))
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = d[idx].mean(axis=1)
    return out


def ranking(differences: pd.DataFrame) -> pd.DataFrame:
    """Strategies ranked by mean paired difference in total deaths, ties by peak displaced."""
    deaths = differences[differences["outcome"] == "deaths_total"].set_index("strategy")
    displaced = differences[differences["outcome"] == "peak_displaced_total"].set_index("strategy")
    table = pd.DataFrame({
        "strategy": deaths.index,
        "deaths_diff": deaths["mean_diff"].to_numpy(), "deaths_ci_lo": deaths["ci_lo"].to_numpy(),
        "deaths_ci_hi": deaths["ci_hi"].to_numpy(),
        "displaced_diff": displaced.loc[deaths.index, "mean_diff"].to_numpy(),
        "displaced_ci_lo": displaced.loc[deaths.index, "ci_lo"].to_numpy(),
        "displaced_ci_hi": displaced.loc[deaths.index, "ci_hi"].to_numpy(),
    })
    table["verdict"] = [_verdict(lo, hi, s == differences["baseline"].iloc[0])
                        for s, lo, hi in zip(table["strategy"], table["deaths_ci_lo"], table["deaths_ci_hi"])]
    table = table.sort_values(["deaths_diff", "displaced_diff", "strategy"], kind="mergesort")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True)


def _verdict(lo: float, hi: float, is_baseline: bool) -> str:
    if is_baseline:
        return "baseline"
    if hi < 0:
        return "fewer deaths (95% CI below 0)"
    if lo > 0:
        return "more deaths (95% CI above 0)"
    return "not distinguishable from baseline"


def ceasefire_survival(hours: np.ndarray, phases: np.ndarray) -> tuple[float, bool]:
    """Hours from the first agreed ceasefire to its first violation; censored at the end of the run.

    Returns ``(hours, True)`` if a violation came, ``(hours to the end, False)`` if none did, and
    ``(nan, False)`` if no ceasefire was ever agreed.
    """
    agreed = np.flatnonzero(phases == "agreed")
    if agreed.size == 0:
        return math.nan, False
    start = agreed[0]
    broken = np.flatnonzero(phases[start:] == "violated")
    if broken.size:
        return float(hours[start + broken[0]] - hours[start]), True
    return float(hours[-1] - hours[start]), False


def kaplan_meier(times: np.ndarray, events: np.ndarray) -> pd.DataFrame:
    """Kaplan–Meier survival estimate: the step function's value after each distinct time."""
    ok = ~np.isnan(times)
    times, events = times[ok], events[ok].astype(bool)
    rows = [{"hours": 0.0, "survival": 1.0, "at_risk": len(times), "events": 0, "censored": 0}]
    surv = 1.0
    for t in np.unique(times):
        at_risk = int((times >= t).sum())
        d = int(((times == t) & events).sum())
        c = int(((times == t) & ~events).sum())
        if d:
            surv *= 1.0 - d / at_risk
        rows.append({"hours": float(t), "survival": surv, "at_risk": at_risk, "events": d, "censored": c})
    return pd.DataFrame(rows)


def survival_table(runs: pd.DataFrame) -> pd.DataFrame:
    frames = []
    for strategy in dict.fromkeys(runs["strategy"]):
        sub = runs[runs["strategy"] == strategy]
        km = kaplan_meier(sub["ceasefire_survival_hours"].to_numpy(float), sub["ceasefire_violated"].to_numpy())
        km.insert(0, "strategy", strategy)
        frames.append(km)
    return pd.concat(frames, ignore_index=True)
