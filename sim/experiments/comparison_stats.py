"""Statistics of a strategy comparison, computed from its per-run frame (``runs.csv``).

Pure functions of data frames and arrays, with no model runs and no files, so they can be tested and
reused (notebooks, other drivers) on any frame with the columns of :func:`sim.experiments.compare.runs_frame`: the
per-strategy table, paired differences with a bootstrap CI, the ranking, and ceasefire survival
(Kaplan–Meier). The outcome definitions here are shared by the tables, the report and the figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

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


OUTCOMES = {o.column: o for o in (
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

TABLE_OUTCOMES = tuple(OUTCOMES[c] for c in (
    "deaths_kg", "deaths_tj", "deaths_total", "civilian_deaths", "injured_kg", "injured_tj",
    "peak_displaced_kg", "peak_displaced_tj", "peak_displaced_total", "hours_to_stabilisation", "violations",
    "heavy_weapons", "relapse", "collapse"))

DIFF_OUTCOMES = tuple(OUTCOMES[c] for c in (
    "deaths_total", "deaths_kg", "deaths_tj", "civilian_deaths", "injured_total", "peak_displaced_total",
    "hours_to_stabilisation_censored", "violations", "heavy_weapons", "relapse", "collapse"))

FOREST_OUTCOMES = ("deaths_total", "civilian_deaths", "peak_displaced_total", "hours_to_stabilisation_censored")


def strategy_table(runs: pd.DataFrame, order: Sequence[str] | None = None) -> pd.DataFrame:
    """Per strategy and outcome: runs where it is defined (``runs``) and where its event happened
    (``happened``: deaths above zero, a ceasefire reached, heavy weapons used), mean, median, 5% and 95%
    quantiles over the runs where it is defined."""
    rows = []
    for strategy in order or list(dict.fromkeys(runs["strategy"])):
        sub = runs[runs["strategy"] == strategy]
        for o in TABLE_OUTCOMES:
            values = sub[o.column].astype(float).dropna().to_numpy()
            row = {"strategy": strategy, "outcome": o.column, "label": o.label, "kind": o.kind,
                   "runs": len(values), "happened": happened(sub[o.column], o.kind), "mean": math.nan, "median": math.nan, "p5": math.nan,
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
        means = bootstrap_means(d, seed, resamples)
        lo, hi = np.percentile(means, [2.5, 97.5], axis=0)
        for j, o in enumerate(DIFF_OUTCOMES):
            rows.append({"strategy": strategy, "baseline": baseline, "outcome": o.column, "label": o.label,
                         "runs": n, "mean_baseline": float(base[:, j].mean()),
                         "mean_strategy": float(values[:, j].mean()), "mean_diff": float(d[:, j].mean()),
                         "ci_lo": float(lo[j]), "ci_hi": float(hi[j]),
                         "share_lower": float((d[:, j] < 0).mean()), "share_higher": float((d[:, j] > 0).mean())})
    return pd.DataFrame(rows)


def bootstrap_means(d: np.ndarray, seed: int, resamples: int) -> np.ndarray:
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


# --- what the uncertainty does to a comparison -------------------------------------------------------------
BETTER_WHEN_LOWER = ("deaths_total", "deaths_kg", "deaths_tj", "civilian_deaths", "injured_total",
                     "peak_displaced_total", "hours_to_stabilisation_censored", "violations", "heavy_weapons",
                     "relapse", "collapse")
"""Outcomes for which a lower value is better (all the differences a comparison reports)."""

DISTRIBUTION_OUTCOMES = ("deaths_total", "deaths_kg", "deaths_tj", "civilian_deaths", "peak_displaced_total",
                         "hours_to_stabilisation_censored")
"""The paired differences whose whole distribution the report gives: deaths (both sides and by side), civilian deaths,
displaced, hours to a ceasefire that holds."""

RANK_OUTCOME = "deaths_total"
WAR_RUNG = 4
"""Lowest highest-rung of a run that counts as a war: armour or artillery (the facts sheet's L3), as
``sim.core.ladder.HEAVY``; a run below it stayed a contained clash."""


def _paired(runs: pd.DataFrame, column: str) -> pd.DataFrame:
    """run x strategy values of one outcome."""
    return runs.pivot(index="run", columns="strategy", values=column).astype(float)


def difference_distribution(runs: pd.DataFrame, baseline: str,
                            outcomes: Sequence[str] = DISTRIBUTION_OUTCOMES) -> pd.DataFrame:
    """Per strategy and outcome, the distribution of the paired difference (strategy − baseline) over runs:
    its 5, 25, 50, 75 and 95% quantiles, and P(better) / P(worse) / P(same): the shares of runs in which the
    strategy's value was below, above or equal to the baseline's (lower is better for every outcome)."""
    rows = []
    for column in outcomes:
        wide = _paired(runs, column)
        for strategy in dict.fromkeys(runs["strategy"]):
            if strategy == baseline:
                continue
            d = (wide[strategy] - wide[baseline]).dropna().to_numpy()
            q = np.quantile(d, [0.05, 0.25, 0.5, 0.75, 0.95]) if d.size else [math.nan] * 5
            rows.append({"strategy": strategy, "outcome": column, "runs": int(d.size),
                         "p5": q[0], "p25": q[1], "median": q[2], "p75": q[3], "p95": q[4],
                         "mean": float(d.mean()) if d.size else math.nan,
                         "p_better": float((d < 0).mean()) if d.size else math.nan,
                         "p_worse": float((d > 0).mean()) if d.size else math.nan,
                         "p_same": float((d == 0).mean()) if d.size else math.nan})
    return pd.DataFrame(rows)


def rank_distribution(values: np.ndarray) -> np.ndarray:
    """float[k, k]: ``out[s, r]`` is the share of runs in which strategy ``s`` ranks ``r + 1`` (1 = lowest
    value = best) among the ``k`` strategies, from ``values`` float[runs, k].

    Ties share their places: ``m`` strategies tied for places ``p … p+m−1`` each get ``1/m`` of each of
    those places, so every row and every column sums to one and identical strategies get identical rows."""
    n, k = values.shape
    out = np.zeros((k, k))
    for row in values:
        order = np.sort(row)
        for s, v in enumerate(row):
            first = int(np.searchsorted(order, v, side="left"))
            last = int(np.searchsorted(order, v, side="right"))
            out[s, first:last] += 1.0 / (last - first)
    return out / max(n, 1)


def ranks_table(runs: pd.DataFrame, labels: Sequence[str], outcome: str = RANK_OUTCOME) -> pd.DataFrame:
    """Per strategy: P(best) and the distribution of its rank by ``outcome`` across paired runs, and its
    mean rank."""
    wide = _paired(runs, outcome)[list(labels)]
    dist = rank_distribution(wide.to_numpy())
    table = pd.DataFrame(dist, columns=[f"p_rank_{r + 1}" for r in range(len(labels))])
    table.insert(0, "strategy", list(labels))
    table.insert(1, "p_best", dist[:, 0])
    table.insert(2, "mean_rank", dist @ np.arange(1, len(labels) + 1))
    table.insert(3, "outcome", outcome)
    return table


def first_order_shares(x: np.ndarray, y: np.ndarray, bins: int | None = None) -> np.ndarray:
    """float[k]: each input's first-order share of the variance of ``y``, estimated from the runs already
    made (the given-data method): the runs are put into ``bins`` equal-count bins of input ``j``, and the
    share is the variance of the bin means of ``y`` over the variance of ``y``, corrected for what the
    within-bin noise alone adds to the bin means (epsilon-squared) and clipped to [0, 1].

    ``x`` is float[runs, k], ``y`` float[runs]; bins defaults to about the square root of the runs (2–20)."""
    n = y.size
    k = x.shape[1]
    out = np.zeros(k)
    total = float(((y - y.mean()) ** 2).sum())
    if n < 4 or total == 0.0:
        return out
    b = bins or int(min(20, max(2, round(math.sqrt(n)))))
    for j in range(k):
        if np.ptp(x[:, j]) == 0:
            continue
        order = np.argsort(x[:, j], kind="mergesort")
        groups = np.array_split(order, b)
        between = sum(g.size * (y[g].mean() - y.mean()) ** 2 for g in groups if g.size)
        within = total - between
        used = sum(1 for g in groups if g.size)
        msw = within / max(n - used, 1)
        out[j] = min(1.0, max(0.0, (between - (used - 1) * msw) / total))
    return out


NOISE_PERMUTATIONS = 200


def noise_floor(runs: int, bins: int | None = None, seed: int = 0) -> float:
    """The 95th percentile of :func:`first_order_shares` for an input that has no effect at all, with
    ``runs`` runs (by permutation: the estimate depends only on the ranks, so this holds for any input).
    A share below it is indistinguishable from noise."""
    if runs < 4:
        return 1.0
    rng = np.random.default_rng(seed)
    x = np.arange(runs, dtype=float)[:, None]
    shares = [first_order_shares(x, rng.standard_normal(runs), bins)[0] for _ in range(NOISE_PERMUTATIONS)]
    return float(np.quantile(shares, 0.95))


@dataclass(frozen=True)
class Driver:
    strategy: str
    outcome: str
    key: str
    label: str
    basis: str
    share: float
    low_third_mean: float
    high_third_mean: float
    noise: float = 0.0
    """:func:`noise_floor` for the runs the share was estimated from."""

    @property
    def flips(self) -> bool:
        """The mean difference has opposite signs in the lowest and highest thirds of the input's draws."""
        return self.low_third_mean * self.high_third_mean < 0


def drivers(runs: pd.DataFrame, baseline: str, inputs: Sequence[Any] | dict[str, Sequence[Any]],
            outcomes: Sequence[str] = ("deaths_total", "civilian_deaths", "peak_displaced_total",
                                       "hours_to_stabilisation_censored")) -> list[Driver]:
    """For each strategy and outcome, each uncertain input's first-order share of the variance of the paired
    difference (:func:`first_order_shares`), with the mean difference over the runs in the lowest and the
    highest third of the input's draws (a sign flip between them: the ranking depends on that input).
    ``inputs`` are :class:`sim.experiments.uncertainty.UncertainInput` whose keys are ``input:<key>``
    columns of ``runs``, the same for every strategy or a list per strategy (those it can depend on)."""
    out: list[Driver] = []
    base = runs[runs["strategy"] == baseline].set_index("run")
    floors: dict[int, float] = {}
    for strategy in dict.fromkeys(runs["strategy"]):
        if strategy == baseline:
            continue
        own = inputs.get(strategy, []) if isinstance(inputs, dict) else inputs
        present = [i for i in own if f"input:{i.key}" in runs.columns]
        if not present:
            continue
        sub = runs[runs["strategy"] == strategy].set_index("run").loc[base.index]
        x = sub[[f"input:{i.key}" for i in present]].to_numpy(float)
        for column in outcomes:
            d = (sub[column].astype(float) - base[column].astype(float)).to_numpy()
            ok = ~np.isnan(d)
            shares = first_order_shares(x[ok], d[ok])
            n = int(ok.sum())
            if n not in floors:
                floors[n] = noise_floor(n)
            for j, inp in enumerate(present):
                xs, ds = x[ok, j], d[ok]
                lo_cut, hi_cut = np.quantile(xs, [1 / 3, 2 / 3]) if xs.size else (0.0, 0.0)
                low = ds[xs <= lo_cut]
                high = ds[xs >= hi_cut]
                out.append(Driver(strategy, column, inp.key, inp.label, inp.basis, float(shares[j]),
                                  float(low.mean()) if low.size else math.nan,
                                  float(high.mean()) if high.size else math.nan, floors[n]))
    return out


def drivers_table(found: Sequence[Driver]) -> pd.DataFrame:
    return pd.DataFrame([{"strategy": d.strategy, "outcome": d.outcome, "input": d.key, "basis": d.basis,
                          "first_order_share": d.share, "noise_floor": d.noise,
                          "mean_diff_low_third": d.low_third_mean,
                          "mean_diff_high_third": d.high_third_mean, "sign_flips": d.flips} for d in found])


MIXTURE_OUTCOMES = ("deaths_total", "civilian_deaths", "peak_displaced_total", "hours_to_stabilisation")


def mixtures(runs: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """Per strategy, the runs split into those that stayed contained (highest level below L3) and those that
    became a war (armour, artillery or heavier), with each part's share and the median and 5–95% range of
    each outcome within it: a medians over both parts would describe neither."""
    rows = []
    for strategy in labels:
        sub = runs[runs["strategy"] == strategy]
        war = sub["max_rung"].astype(int) >= WAR_RUNG
        for part, mask in (("contained", ~war), ("war", war)):
            part_runs = sub[mask]
            row: dict[str, Any] = {"strategy": strategy, "part": part, "runs": int(mask.sum()),
                                   "share": float(mask.mean()) if len(sub) else math.nan}
            for column in MIXTURE_OUTCOMES:
                v = part_runs[column].astype(float).dropna().to_numpy()
                q = np.quantile(v, [0.5, 0.05, 0.95]) if v.size else [math.nan] * 3
                row.update({f"{column}_median": q[0], f"{column}_p5": q[1], f"{column}_p95": q[2],
                            f"{column}_runs": int(v.size)})
            rows.append(row)
    return pd.DataFrame(rows)


def happened(values: pd.Series, kind: str) -> int:
    """Runs in which an outcome's event happened: a count above zero, a time that was reached (not NaN), or
    a probability outcome that is true."""
    v = values.astype(float)
    if kind == "hours":
        return int(v.notna().sum())
    return int((v.fillna(0) > 0).sum())
