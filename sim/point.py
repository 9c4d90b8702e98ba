"""The parameter point a scenario runs by default: the posterior draw that reproduces the episodes best.

A scenario runs every seed at one parameter point (``values`` in ``calibration/fitted.yaml``). Until
session 21 that point was the posterior's marginal medians. With nine or ten free parameters whose posterior
is wide and correlated, the medians combine values that no accepted particle holds together: fit K2's median
point ran April 2021 to 65 / 64 dead in the median run (documented 36 / 19; its posterior predictive median
25.5 / 32), and its expected distance over E07 and E13 was 2,624 at fresh seeds where its best posterior
draws scored 950-1,700 (calibration/README.md, "The default point"). A posterior draw is a combination the
fit accepted as a whole.

How, in two stages so that the choice is not one lucky screen:

1. *screen*: every particle of the posterior generation, and the median point, runs each fitted episode
   ``screen_runs`` times, all at the same seeds (common random numbers: the differences between candidates
   are their parameters', not their seeds' luck);
2. *check*: the ``finalists`` with the lowest mean distance, and the median point, run ``check_runs`` more
   times at fresh seeds; the lowest mean wins.

The check is there because the lowest of many noisy screens is optimistic: K2's best screened particle
scored 289 on four runs and 1,253 on twenty fresh ones. The distance is the fit's
(:func:`sim.targets.distance` over the fitted targets, summed over the episodes; background years included,
so a point that reproduces the wars with bloody calm years is not chosen).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from sim.ensemble import LocalExecutor, derive_seeds
from sim.progress import progress
from sim.targets import Episode, distance, sim_value

MEDIAN = "median"
"""The label of the median point among the candidates."""

Evaluate = Callable[[list[dict[str, float]], int, int], np.ndarray]
"""``evaluate(candidates, runs, seed)``: each candidate's mean distance over ``runs`` runs at seeds from
``seed`` (the same seeds for every candidate)."""


@dataclass(frozen=True)
class PointSettings:
    screen_runs: int = 4
    finalists: int = 10
    check_runs: int = 20


QUICK_POINT = PointSettings(screen_runs=1, finalists=3, check_runs=2)
"""--quick: the machinery, not a choice worth shipping."""


@dataclass(frozen=True)
class PointChoice:
    """The chosen point and how every candidate fared."""

    label: str
    """``MEDIAN`` or ``particle <i>`` (row ``i`` of the posterior generation)."""
    values: dict[str, float]
    table: pd.DataFrame
    """One row per candidate: ``candidate``, ``weight`` (NaN for the median point), the parameters,
    ``screen_distance``, ``check_distance`` (NaN for those not in the check), ``chosen``."""
    settings: PointSettings

    def distances(self, label: str) -> tuple[float, float]:
        """(screen, check) mean distance of a candidate."""
        row = self.table.loc[self.table["candidate"] == label].iloc[0]
        return float(row["screen_distance"]), float(row["check_distance"])


def choose_point(particles: pd.DataFrame, weights: np.ndarray, medians: dict[str, float], evaluate: Evaluate,
                 settings: PointSettings, seed: int) -> PointChoice:
    """The candidate (median point or posterior particle) with the lowest mean distance in the check."""
    names = list(particles.columns)
    candidates = pd.concat([pd.DataFrame([{n: medians[n] for n in names}]), particles.reset_index(drop=True)],
                           ignore_index=True)
    labels = [MEDIAN] + [f"particle {i}" for i in range(len(particles))]
    values = [{n: float(v) for n, v in row.items()} for row in candidates.to_dict("records")]
    screen = evaluate(values, settings.screen_runs, seed)
    order = [i for i in np.argsort(screen, kind="stable") if i != 0][:settings.finalists]
    finalists = [0, *order]
    check = np.full(len(values), np.nan)
    check[finalists] = evaluate([values[i] for i in finalists], settings.check_runs, seed + 1)
    best = int(finalists[int(np.nanargmin(check[finalists]))])
    table = candidates.copy()
    table.insert(0, "candidate", labels)
    table.insert(1, "weight", np.concatenate([[np.nan], np.asarray(weights, float) / np.sum(weights)]))
    table["screen_distance"] = screen
    table["check_distance"] = check
    table["chosen"] = [i == best for i in range(len(values))]
    return PointChoice(labels[best], values[best], table, settings)


def simulated_distances(episodes: tuple[Episode, ...], censor: bool, workers: int, quiet: bool) -> Evaluate:
    """An :data:`Evaluate` that runs the model: episode ``e``'s run ``r`` has seed ``r * len(episodes) + e`` of
    ``derive_seeds(seed, ...)`` for every candidate."""

    def evaluate(candidates: list[dict[str, float]], runs: int, seed: int) -> np.ndarray:
        seeds = derive_seeds(seed, runs * len(episodes))
        tasks = [(episodes[e], censor, tuple(sorted(values.items())), seeds[r * len(episodes) + e])
                 for values in candidates for e in range(len(episodes)) for r in range(runs)]
        out = np.empty(len(tasks))
        with progress(len(tasks), f"default point: {len(candidates)} candidates × {runs} runs", quiet) as advance:
            with LocalExecutor(min(workers, len(tasks))) as ex:
                for k, d in enumerate(ex.map(_run_distance, tasks)):
                    out[k] = d
                    advance(1)
        per_episode_run = out.reshape(len(candidates), len(episodes), runs)
        return per_episode_run.mean(axis=2).sum(axis=1)

    return evaluate


def _run_distance(task: tuple[Episode, bool, tuple[tuple[str, float], ...], int]) -> float:
    """The fit's distance of one run of one episode (module level, so that worker processes can run it)."""
    from sim.calibration import run_summary  # sim.calibration imports this module

    episode, censor, values, seed = task
    summary = run_summary(str(episode.scenario), seed, dict(values), episode.stop_above)
    run = {t.key: sim_value(summary, t.output, episode, censor) for t in episode.targets}
    return distance(run, episode.fitted_targets())
