"""Proper scores of the model's forecasts of documented episodes, against naive baselines.

The conflict-forecasting field scores fatality forecasts with the continuous ranked probability score (CRPS)
and the interval score of a central prediction interval (Gneiting & Raftery 2007; used by the ViEWS
prediction challenge, Hegre et al. 2022). Both are proper: a forecaster does best by saying what it believes.
Here a forecast is the set of simulated values of one documented figure over an ensemble of runs; the
observation is the documented point. Two baselines answer "better than what?":

* **reference class**: the same figure's documented values in the *other* episodes, as an empirical
  distribution (what an analyst who only knew the record of this border would forecast);
* **zero**: a point forecast of nothing happening (deaths 0, nobody displaced).

Skill is ``1 - score / baseline score``: above 0 the model beats the baseline, 1 is a perfect forecast.
Counts of people are scored on ``log(1 + x)``, so an error of 10 dead weighs more in a clash of 2 than in a
war of 60, as the field scores fatalities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SCORED_OUTPUTS = ("deaths_kg", "deaths_tj", "injured_kg", "injured_tj", "peak_displaced_kg")
"""The documented figures scored: deaths and injured per side and the Kyrgyz displaced (the Tajik side has
no published figure for most episodes)."""

INTERVAL_ALPHA = 0.10
"""The interval score is that of the central 90% prediction interval."""


def transform(values: np.ndarray | float) -> np.ndarray:
    """Counts of people are scored on log(1 + x)."""
    return np.log1p(np.maximum(np.asarray(values, dtype=np.float64), 0.0))


def crps(samples: np.ndarray, observed: float) -> float:
    """CRPS of the empirical distribution of ``samples`` at ``observed``: E|X - y| - E|X - X'| / 2, exactly
    (sorted-sample form). For one sample it is the absolute error."""
    x = np.sort(np.asarray(samples, dtype=np.float64))
    n = x.size
    if n == 0:
        return math.nan
    spread = 2.0 * np.dot(2.0 * np.arange(1, n + 1) - n - 1, x) / (n * n)  # E|X - X'|
    return float(np.abs(x - observed).mean() - 0.5 * spread)


def interval_score(samples: np.ndarray, observed: float, alpha: float = INTERVAL_ALPHA) -> float:
    """Interval score of the central (1 - alpha) interval of ``samples``: its width plus 2/alpha times how far
    the observation falls outside it."""
    low, high = np.quantile(np.asarray(samples, dtype=np.float64), [alpha / 2, 1 - alpha / 2])
    below = max(low - observed, 0.0)
    above = max(observed - high, 0.0)
    return float((high - low) + 2.0 / alpha * (below + above))


def pit(samples: np.ndarray, observed: float) -> float:
    """Probability integral transform of the observation: the share of samples below it, ties counted half
    (0.5 when every sample equals it). Uniform over many episodes when the forecasts are calibrated."""
    x = np.asarray(samples, dtype=np.float64)
    return float(((x < observed).sum() + 0.5 * (x == observed).sum()) / x.size)


def inside(samples: np.ndarray, observed: float, level: float) -> bool:
    """The observation lies inside the central ``level`` interval of the samples."""
    low, high = np.quantile(np.asarray(samples, dtype=np.float64), [(1 - level) / 2, (1 + level) / 2])
    return bool(low <= observed <= high)


@dataclass(frozen=True)
class Scored:
    """One documented figure of one episode, scored against the model and both baselines (on the log scale)."""

    episode: str
    output: str
    documented: float
    sim_median: float
    sim_q05: float
    sim_q95: float
    crps: float
    crps_reference: float
    crps_zero: float
    interval: float
    interval_reference: float
    interval_zero: float
    pit: float
    in50: bool
    in90: bool
    reference_size: int


def score(episode: str, output: str, simulated: np.ndarray, documented: float,
          others: list[float]) -> Scored:
    """Score one figure: ``simulated`` are the runs' values, ``others`` the same figure documented in the other
    episodes (the reference class; with none, its scores are NaN)."""
    x, y = transform(simulated), float(transform(documented))
    ref = transform(np.asarray(others, dtype=np.float64)) if others else np.array([])
    zero = np.zeros(1)
    q = np.quantile(np.asarray(simulated, dtype=np.float64), [0.5, 0.05, 0.95])
    return Scored(
        episode=episode, output=output, documented=float(documented), sim_median=float(q[0]),
        sim_q05=float(q[1]), sim_q95=float(q[2]),
        crps=crps(x, y), crps_reference=crps(ref, y) if ref.size else math.nan, crps_zero=crps(zero, y),
        interval=interval_score(x, y), interval_reference=interval_score(ref, y) if ref.size else math.nan,
        interval_zero=interval_score(zero, y), pit=pit(x, y), in50=inside(x, y, 0.5), in90=inside(x, y, 0.9),
        reference_size=len(others),
    )


def worse_than_zero(episodes: np.ndarray, crps_model: np.ndarray, crps_zero: np.ndarray) -> list[str]:
    """The episodes whose figures the model forecasts worse, on average, than a forecast of zero would."""
    frame = {}
    for e, m, z in zip(episodes, crps_model, crps_zero):
        total = frame.setdefault(e, [0.0, 0.0])
        total[0] += m
        total[1] += z
    return sorted(e for e, (m, z) in frame.items() if m > z + 1e-9)


def skill(score_model: np.ndarray, score_baseline: np.ndarray) -> float:
    """``1 - mean model score / mean baseline score`` over the figures where both exist (NaN if none)."""
    ok = ~(np.isnan(score_model) | np.isnan(score_baseline))
    if not ok.any() or score_baseline[ok].mean() == 0:
        return math.nan
    return float(1.0 - score_model[ok].mean() / score_baseline[ok].mean())
