"""Figures of a strategy comparison: ``curves.png``, ``forest.png`` and ``survival.png``.

Kept apart from the comparison's running and statistics so that importing :mod:`sim.experiments.compare` (which every
Dask worker does to run :func:`sim.experiments.compare.compare_task`) does not import matplotlib; only writing the
results folder does. Uses the Agg backend set by :mod:`sim.output.plots`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Sequence

import matplotlib.dates as mdates
import numpy as np
import pandas as pd

from sim.core.ladder import LABELS, N_RUNGS, Rung
from sim.experiments.comparison_stats import CURVES, DIFF_OUTCOMES, FOREST_OUTCOMES
from sim.output.plots import save_figure, plt


def _colours(labels: Sequence[str]) -> dict[str, Any]:
    cmap = plt.get_cmap("tab10")
    return {label: cmap(i % 10) for i, label in enumerate(labels)}


def _styles(labels: Sequence[str]) -> dict[str, str]:
    """Line styles that keep identical curves (a strategy that changes nothing) visible."""
    return {label: ("-", "--", ":", "-.")[i % 4] for i, label in enumerate(labels)}


def plot_curves(curves: pd.DataFrame, start: Any, name: str, labels: Sequence[str], out: Path) -> Path:
    """Escalation level, cumulative deaths and people displaced over time: median and 5–95% band per
    strategy, on shared axes."""
    colours, styles = _colours(labels), _styles(labels)
    titles = {"max_rung": "escalation (highest level)", "deaths_total": "cumulative deaths, both sides",
              "displaced_total": "people displaced, both sides"}
    fig, axes = plt.subplots(3, 1, figsize=(11, 10), sharex=True)
    for ax, curve in zip(axes, CURVES):
        for label in labels:
            c = curves[(curves["strategy"] == label) & (curves["curve"] == curve)]
            t = [start + timedelta(hours=float(h)) for h in c["hour"]]
            ax.plot(t, c["median"], color=colours[label], ls=styles[label], lw=1.6, label=label)
            ax.fill_between(t, c["p5"], c["p95"], color=colours[label], alpha=0.12, lw=0)
        ax.set_ylabel(titles[curve])
        ax.grid(alpha=0.3)
    axes[0].set_yticks(range(N_RUNGS), [LABELS[Rung(r)] for r in range(N_RUNGS)])
    axes[0].set_ylim(-0.2, N_RUNGS - 0.8)
    axes[0].legend(loc="upper right", fontsize=8, ncol=2)
    axes[-1].xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%H:%M"))
    fig.suptitle(f"{name}: median and 5–95% band across paired runs, by strategy")
    fig.tight_layout()
    return save_figure(fig, out)


def plot_forest(diffs: pd.DataFrame, baseline: str, labels: Sequence[str], out: Path) -> Path:
    """Mean paired difference against the baseline with its bootstrap 95% CI, one panel per outcome."""
    others = [label for label in labels if label != baseline] or list(labels)
    colours = _colours(labels)
    titles = {o.column: o.label for o in DIFF_OUTCOMES}
    fig, axes = plt.subplots(1, len(FOREST_OUTCOMES), figsize=(4 * len(FOREST_OUTCOMES), 0.6 * len(others) + 2),
                             sharey=True)
    y = np.arange(len(others))[::-1]
    for ax, outcome in zip(axes, FOREST_OUTCOMES):
        sub = diffs[diffs["outcome"] == outcome].set_index("strategy").loc[others]
        for yi, label in zip(y, others):
            row = sub.loc[label]
            ax.errorbar(row["mean_diff"], yi, xerr=[[row["mean_diff"] - row["ci_lo"]], [row["ci_hi"] - row["mean_diff"]]],
                        fmt="o", color=colours[label], capsize=3)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_title(titles[outcome], fontsize=9)
        ax.grid(alpha=0.3, axis="x")
    axes[0].set_yticks(y, others)
    fig.suptitle(f"Difference from '{baseline}' (mean over paired runs, bootstrap 95% CI; left is fewer)")
    fig.tight_layout()
    return save_figure(fig, out)


def plot_survival(survival: pd.DataFrame, runs: pd.DataFrame, labels: Sequence[str], out: Path) -> Path:
    """Kaplan–Meier curves: share of first ceasefires not yet violated, by hours since agreement."""
    colours, styles = _colours(labels), _styles(labels)
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for label in labels:
        km = survival[survival["strategy"] == label]
        agreed = int(runs.loc[runs["strategy"] == label, "ceasefire_survival_hours"].notna().sum())
        total = int((runs["strategy"] == label).sum())
        ax.step(km["hours"], km["survival"], where="post", color=colours[label], ls=styles[label], lw=1.6,
                label=f"{label} (agreed in {agreed}/{total} runs)")
        cens = km[km["censored"] > 0]
        ax.plot(cens["hours"], cens["survival"], "|", color=colours[label], ms=6)
    ax.set_xlabel("hours since the first agreed ceasefire")
    ax.set_ylabel("share of ceasefires not yet violated")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Ceasefire survival (Kaplan–Meier; | = censored at the end of the run)")
    fig.tight_layout()
    return save_figure(fig, out)


def plot_when(table: pd.DataFrame, baseline: str, out: Path) -> Path:
    """The cost of waiting: each strategy's mean paired difference against the baseline by the delay of its
    first action, with the bootstrap 95% band, one panel per outcome."""
    from sim.experiments.comparison_stats import OUTCOMES

    outcomes = list(dict.fromkeys(table["outcome"]))
    names = list(dict.fromkeys(table["strategy"]))
    colours = _colours(names)
    fig, axes = plt.subplots(1, len(outcomes), figsize=(4.2 * len(outcomes), 4.2))
    for ax, outcome in zip(np.atleast_1d(axes), outcomes):
        for name in names:
            sub = table[(table["outcome"] == outcome) & (table["strategy"] == name)].sort_values("delay_hours")
            ax.plot(sub["delay_hours"], sub["mean_diff"], "o-", color=colours[name], lw=1.6, label=name)
            ax.fill_between(sub["delay_hours"], sub["ci_lo"], sub["ci_hi"], color=colours[name], alpha=0.15, lw=0)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_title(OUTCOMES[outcome].label, fontsize=9)
        ax.set_xlabel("hours after it is due that the strategy's first action comes")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel(f"difference from '{baseline}' (mean, 95% CI)")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.suptitle("When to act: what waiting costs (paired runs; below 0 is better than the baseline)")
    fig.tight_layout()
    return save_figure(fig, out)


def plot_sensitivity(table: pd.DataFrame, method: str, out: Path, top: int = 8) -> Path:
    """The leading inputs of each output of a sensitivity analysis: total (ST) and first-order (S1) Sobol
    indices with their 95% intervals, or Morris mu* with its interval; one panel per output."""
    outputs = list(dict.fromkeys(table["output"]))
    cols = min(3, len(outputs))
    rows = -(-len(outputs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.6 * cols, 0.32 * top * rows + 1.6 * rows), squeeze=False)
    key, conf = ("ST", "ST_conf") if method == "sobol" else ("mu_star", "mu_star_conf")
    for ax, output in zip(axes.flat, outputs):
        sub = table[table["output"] == output].sort_values(key, ascending=False).head(top)[::-1]
        y = np.arange(len(sub))
        ax.barh(y, sub[key], xerr=sub[conf], color="tab:blue", alpha=0.6, label=key, capsize=2)
        if method == "sobol":
            ax.errorbar(sub["S1"], y, xerr=sub["S1_conf"], fmt="o", color="black", ms=3, capsize=2, label="S1")
        ax.set_yticks(y, sub["input"], fontsize=7)
        ax.set_title(output, fontsize=8)
        ax.axvline(0, color="black", lw=0.6)
        ax.grid(alpha=0.3, axis="x")
    for ax in list(axes.flat)[len(outputs):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Global sensitivity: " + ("total (bars) and first-order (dots) Sobol indices, 95% intervals"
                                           if method == "sobol" else "Morris mu* (bars), 95% intervals"))
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return save_figure(fig, out)


def plot_years(frame: pd.DataFrame, labels: Sequence[str], out: Path) -> Path:
    """Incidents and lethal incidents per calendar year by strategy: mean, and the 5–95% band of the runs."""
    colours, styles = _colours(labels), _styles(labels)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, count in zip(axes, ("incidents", "lethal_incidents")):
        for label in labels:
            sub = frame[frame["strategy"] == label].groupby("year")[count]
            years = np.array(sorted(frame["year"].unique()))
            mean = sub.mean().loc[years]
            lo, hi = sub.quantile(0.05).loc[years], sub.quantile(0.95).loc[years]
            ax.plot(years, mean, "o", color=colours[label], ls=styles[label], lw=1.6, label=label)
            ax.fill_between(years, lo, hi, color=colours[label], alpha=0.12, lw=0)
        ax.set_title(count.replace("_", " ") + " per year (mean, 5–95% of runs)", fontsize=9)
        ax.set_xticks(sorted(frame["year"].unique()))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, out)
