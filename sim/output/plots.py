"""Figures drawn from saved results (so ``bordersim plot`` can redraw them without re-running).

* ``escalation.png``: escalation level and armed segments, cumulative deaths by side, displaced by side,
  over time: the median across runs with a 5–95% band when there is more than one run; the ceasefire's
  first agreement and stabilisation are marked with their median hour.
* ``map.png``: drawn by :mod:`sim.output.maps`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.core.ladder import LABELS, N_RUNGS, Rung  # noqa: E402

SIDE_COLOURS = {"KG": "#d62728", "TJ": "#2ca02c"}


def with_death_totals(series: pd.DataFrame) -> pd.DataFrame:
    """A copy of an hourly series with ``deaths_kg`` and ``deaths_tj`` (military and civilian together)."""
    series = series.copy()
    for side in ("kg", "tj"):
        series[f"deaths_{side}"] = series[f"deaths_{side}_military"] + series[f"deaths_{side}_civilian"]
    return series


def band(series: pd.DataFrame, column: str) -> pd.DataFrame:
    """Median and 5-95% quantiles of a column across runs, per step."""
    grouped = series.groupby("step")[column]
    return pd.DataFrame({"median": grouped.median(), "lo": grouped.quantile(0.05),
                         "hi": grouped.quantile(0.95), "hour": series.groupby("step")["hour"].first()})


def _times(start: datetime, hours: pd.Series) -> list[datetime]:
    return [start + timedelta(hours=float(h)) for h in hours]


def _draw(ax: plt.Axes, series: pd.DataFrame, column: str, start: datetime, label: str, colour: str,
          runs: int) -> None:
    b = band(series, column)
    t = _times(start, b["hour"])
    ax.plot(t, b["median"], color=colour, label=label, lw=1.6)
    if runs > 1:
        ax.fill_between(t, b["lo"], b["hi"], color=colour, alpha=0.2, lw=0)


def plot_escalation(series: pd.DataFrame, summary: pd.DataFrame, start: datetime, title: str,
                    out: Path, marks: Sequence[tuple[str, datetime]] = ()) -> Path:
    """The escalation curves of one ensemble (see module docstring)."""
    runs = series["run"].nunique()
    series = with_death_totals(series)
    fig, axes = plt.subplots(4, 1, figsize=(10, 11), sharex=True)
    _draw(axes[0], series, "max_rung", start, "highest level", "#7f0000", runs)
    axes[0].set_yticks(range(N_RUNGS), [LABELS[Rung(r)] for r in range(N_RUNGS)])
    axes[0].set_ylim(-0.2, N_RUNGS - 0.8)
    axes[0].set_ylabel("escalation")
    _draw(axes[1], series, "armed_segments", start, "segments with armed fire", "#e34a33", runs)
    _draw(axes[1], series, "active_segments", start, "segments with any violence", "#fdbb84", runs)
    axes[1].set_ylabel("segments")
    for side in ("KG", "TJ"):
        _draw(axes[2], series, f"deaths_{side.lower()}", start, f"{side} deaths", SIDE_COLOURS[side], runs)
        _draw(axes[3], series, f"displaced_{side.lower()}", start, f"{side} displaced", SIDE_COLOURS[side], runs)
    axes[2].set_ylabel("cumulative deaths")
    axes[3].set_ylabel("people displaced")
    onset = summary["onset_hour"].median()
    for column, label, style in (("hours_to_first_ceasefire", "first ceasefire (median)", "--"),
                                 ("hours_to_stabilisation", "stabilised (median)", ":")):
        hours = summary[column].dropna()
        if len(hours) and not np.isnan(onset):
            when = start + timedelta(hours=float(onset + hours.median()))
            for ax in axes:
                ax.axvline(when, color="#1f77b4", ls=style, lw=1)
            axes[0].text(when, N_RUNGS - 1.1, f" {label}", color="#1f77b4", fontsize=8, va="top")
    for label, when in marks:
        for ax in axes:
            ax.axvline(when, color="black", ls="-", lw=0.6, alpha=0.5)
        axes[0].text(when, -0.1, f" {label}", fontsize=7, rotation=90, va="bottom")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    axes[-1].xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%H:%M"))
    band_note = f"median and 5–95% band over {runs} runs" if runs > 1 else "one run"
    fig.suptitle(f"{title}: {band_note}")
    fig.tight_layout()
    return save_figure(fig, out)


def save_figure(fig: plt.Figure, out: Path) -> Path:
    """Save a figure via a temporary name and a rename (no half-written PNG), then close it."""
    out = Path(out)
    tmp = out.with_name(f".{out.stem}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(out)
    return out
