"""The model as the fit sees it: free parameters and their priors, one simulation of a parameter vector
(one run of each episode), and the distance between simulated and documented figures.

One *simulation* of a parameter vector is one run of each selected episode's scenario with those parameters.
Its seeds come from ``SeedSequence([--seed, bits of the parameter values])``, so the same vector always
gives the same runs for a given ``--seed`` whichever process evaluates it. The distance
(:func:`sim.calibration.targets.distance`) scales each documented figure by its documented range.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import numpy as np

from sim.calibration.targets import (Episode, Target, TargetSet, distance, distance_lower_bound, sim_value,
                                     surely_above)
from sim.errors import UserError
from sim.input.parameters import SPECS


@dataclass(frozen=True)
class FitParameter:
    """One free parameter: its prior is uniform on [low, high], on a log10 scale when ``log``."""

    name: str
    low: float
    high: float
    log: bool
    reason: str

    @property
    def key(self) -> str:
        """The name pyabc samples: ``log10_<name>`` for log-scale priors."""
        return f"log10_{self.name}" if self.log else self.name

    @property
    def sampled_bounds(self) -> tuple[float, float]:
        """The prior's bounds in the space pyabc samples (log10 of the unit for log-scale priors)."""
        return (math.log10(self.low), math.log10(self.high)) if self.log else (self.low, self.high)

    def to_value(self, sampled: float) -> float:
        return float(10.0 ** sampled) if self.log else float(sampled)


BACKGROUND_ONLY = ("incident_rate",)
"""Parameters that act only on background incidents on calm segments (``escalation.ignite``): the episode
targets say nothing about them, so they are fitted only when a background target set (BASELINE) is selected."""


def free_parameters(targets: TargetSet, names: list[str] | None = None) -> list[FitParameter]:
    """The parameters to fit: those ``sim.input.parameters.SPECS`` marks as fitted, or just ``names``."""
    background = any(e.kind == "background" for e in targets.episodes.values())
    out: list[FitParameter] = []
    for name, spec in SPECS.items():
        if spec.fit:
            if not background and name in BACKGROUND_ONLY and names is None:
                continue
            low, high = spec.prior
            out.append(FitParameter(name, low, high, spec.log_prior, spec.prior_reason or spec.source))
    if names is not None:
        known = {p.name: p for p in out}
        for n in names:
            if n not in known:
                from sim.input.yamlio import suggest
                raise UserError(f"--params: '{n}' has no prior to fit{suggest(n, list(known))}")
        out = [known[n] for n in names]
    return out


# --- one simulation -------------------------------------------------------------------------------------

@lru_cache(maxsize=16)
def _scenario(path: str):
    from sim.input.scenario import load_scenario

    return load_scenario(path)


def run_summaries(scenario_path: str, seeds: list[int], values: dict[str, float],
                  stop_above: tuple[tuple[str, float], ...] = (),
                  give_up: Callable[[list[dict[str, Any]], np.ndarray], bool] | None = None,
                  read_at_hours: tuple[float, ...] = ()) -> list[dict[str, Any]]:
    """Runs of a scenario with some parameters replaced, one per seed, as one batch: their scalar outcomes,
    and the cumulative ones at ``read_at_hours`` (``sim.engine.outcomes.timed_output``).

    Checked once a day (``sim.engine.batch.STOP_CHECK_STEPS``), a run ends early as soon as one ``stop_above``
    (cumulative output, cap) pair is exceeded, and every run ends once ``give_up(summaries so far, their run
    indices)`` says so; their outputs are then lower bounds of the full runs'. Why: in a fit, a calm year that
    has turned into a war costs many times a calm one to simulate to its end, and its lower-bound values
    already put it far outside any accepted distance."""
    from sim.engine.batch import run_batch
    from sim.engine.outcomes import rows

    def stop(summary: dict[str, np.ndarray], runs: np.ndarray) -> np.ndarray:
        so_far = rows(summary)
        if give_up is not None and give_up(so_far, runs):
            return np.ones(len(so_far), dtype=bool)
        return np.array([any(run[name] > cap for name, cap in stop_above) for run in so_far])

    checking = bool(stop_above) or give_up is not None
    result = run_batch(_scenario(scenario_path), seeds, values, read_at_hours=read_at_hours,
                       stop=stop if checking else None)
    return result.summary_rows()


def run_summary(scenario_path: str, seed: int, values: dict[str, float],
                stop_above: tuple[tuple[str, float], ...] = (),
                stop_if: Callable[[dict[str, Any]], bool] | None = None,
                read_at_hours: tuple[float, ...] = ()) -> dict[str, Any]:
    """One run of :func:`run_summaries`; ``stop_if`` ends it early from its outputs so far."""
    give_up = None if stop_if is None else (lambda runs, _: stop_if(runs[0]))
    return run_summaries(scenario_path, [seed], values, stop_above, give_up, read_at_hours)[0]


def seeds_for(values: dict[str, float], base_seed: int, n: int) -> list[int]:
    """Per-episode seeds from the base seed and the parameter values' bits (reproducible anywhere)."""
    words = np.asarray([values[k] for k in sorted(values)], dtype=np.float64).view(np.uint32).tolist()
    children = np.random.SeedSequence([int(base_seed), *words]).spawn(n)
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


def replicate_key(key: str, replicate: int) -> str:
    """The summary-statistic name of target ``key`` in run ``replicate`` of a particle. Replicate 0 keeps the
    plain key, so a fit with one replicate stores the targets' keys unchanged."""
    return key if replicate == 0 else f"{key}#{replicate}"


class DeadlinePassed(Exception):
    """Raised by a simulation begun after the fit's wall-time limit, when the fit runs on a Dask cluster.

    Why not a rejection, as on one machine: pyabc's Dask sampler ends a generation only once enough particles
    are accepted and ignores the limit on simulations per generation (its stopping criteria other than that
    limit are checked between generations, pyABC#235), so a generation past the deadline would reject forever.
    The exception ends it; :func:`fit` then keeps the last complete generation, as pyabc does on one machine."""


@dataclass(frozen=True)
class Simulator:
    """The model as pyabc sees it: parameters in, the targets' simulated values out. Picklable."""

    episodes: tuple[Episode, ...]
    parameters: tuple[FitParameter, ...]
    base_seed: int
    censor: bool = True
    deadline: float = math.inf
    """Wall-clock time (``time.time()``) after which every simulation is rejected at once (or, with
    ``raise_past_deadline``, raises), so a generation that cannot finish in time ends quickly (the last complete
    generation is kept)."""
    replicates: int = 1
    """Runs of each episode per particle; the particle's distance is their mean (:class:`ScaledDistance`)."""
    raise_past_deadline: bool = False
    """Past the deadline, raise :class:`DeadlinePassed` instead of rejecting (for pyabc's Dask sampler)."""

    def values(self, pars: Any) -> dict[str, float]:
        return {p.name: p.to_value(float(pars[p.key])) for p in self.parameters}

    def __call__(self, pars: Any) -> dict[str, float]:
        return self.simulate(pars)[0]

    def simulate(self, pars: Any, eps: float = math.inf) -> tuple[dict[str, float], bool]:
        """The targets' simulated values (:func:`replicate_key` per replicate), and False if the particle was
        given up as certain to be rejected.

        Episodes run shortest first, each ``replicates`` times as one batch. The runs stop, and the episodes
        after them are skipped, once the distance's lower bound (the finished episodes' distances plus
        :func:`~sim.calibration.targets.distance_lower_bound` of the runs in progress, over ``replicates``)
        exceeds ``eps``: such a particle could not be accepted, so giving it up changes nothing but the time
        spent (a calm year costs 10-20 runs of an episode). Seeds stay tied to the episodes' order in the targets file, replicate
        ``r`` of episode ``i`` taking seed ``r * len(episodes) + i``, so replicate 0 has the seeds of a
        one-replicate fit."""
        if time.time() > self.deadline:
            if self.raise_past_deadline:
                raise DeadlinePassed
            return {}, False
        values = self.values(pars)
        seeds = seeds_for(values, self.base_seed, len(self.episodes) * self.replicates)
        position = {e.id: i for i, e in enumerate(self.episodes)}
        limit = eps * self.replicates            # the mean over replicates exceeds eps once the sum exceeds this
        out: dict[str, float] = {}
        spent = 0.0
        for episode in sorted(self.episodes, key=lambda e: e.duration_hours):
            fitted = episode.fitted_targets()
            bounds = np.zeros(self.replicates)  # each replicate's distance lower bound so far

            def give_up(runs: list[dict[str, Any]], which: np.ndarray) -> bool:
                bounds[which] = [distance_lower_bound(run, fitted) for run in runs]
                return bool(surely_above(spent + float(bounds.sum()), limit))

            summaries = run_summaries(
                str(episode.scenario), [seeds[r * len(self.episodes) + position[episode.id]]
                                        for r in range(self.replicates)],
                values, episode.stop_above, None if math.isinf(eps) else give_up, episode.read_at_hours)
            for r, summary in enumerate(summaries):
                run = {t.key: sim_value(summary, t.reads, episode, self.censor) for t in episode.targets}
                out.update({replicate_key(k, r): v for k, v in run.items()})
                spent += distance(run, fitted)
            if surely_above(spent, limit):
                return out, False
        return out, True


@dataclass(frozen=True)
class ScaledDistance:
    """pyabc distance: sum of squared range-scaled deviations over the fitted targets, averaged over a
    particle's replicate runs. Picklable.

    Why a mean over replicates: one run's distance is mostly the run's luck (at one fit's posterior medians the
    expected distance of a run was 2,610 and 2,963 at two seeds, while the last generation of a comparable fit
    accepted only runs below 291), so a particle is accepted for a lucky run more than for its parameters. The
    mean of ``replicates`` runs estimates a parameter vector's expected distance with less of that luck."""

    targets: tuple[Target, ...]
    replicates: int = 1

    def __call__(self, x: dict, x_0: dict) -> float:
        targets = list(self.targets)
        runs = [{t.key: x.get(replicate_key(t.key, r), math.nan) for t in targets} for r in range(self.replicates)]
        return sum(distance(run, targets) for run in runs) / self.replicates


# --- the fit --------------------------------------------------------------------------------------------
