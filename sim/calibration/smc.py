"""ABC-SMC over batches of candidate parameter vectors (``bordersim calibrate --method batched``).

The same algorithm as the pyabc fit (population Monte Carlo ABC, Beaumont et al. 2009; Toni et al. 2009):
generation 0 samples the priors; each later generation perturbs particles of the last one with a normal kernel
(variance ``KERNEL_SCALING`` times their weighted variance, each parameter on its own), keeps the candidates
whose distance is at most epsilon (the weighted median of the last generation's distances) and weights them by
prior / proposal density. The kernel is truncated to the prior box, with the truncation's normalisation in the
proposal density: with twenty-odd parameters a kernel that had to be redrawn until a vector fell inside every
bound would almost never succeed (each bound is crossed with some chance, and the chances multiply). pyabc's
kernel has a full covariance and redraws instead; with a dozen parameters or fewer the two agree.
What differs is how candidates are simulated: a whole batch of them at once, each episode as one
batch of the engine (a run per candidate and replicate, each with its own parameters), instead of one
candidate at a time. A candidate is given up, and its remaining episodes skipped, as soon as its distance's
lower bound exceeds epsilon, as in :class:`sim.calibration.simulator.Simulator`; its seeds are those the
pyabc fit would give it (``seeds_for``).
"""

from __future__ import annotations

import math
import time
import numpy as np
import pandas as pd

from sim.calibration.fit import (KERNEL_SCALING, FitResult, FitSettings, effective_sample_size, fixed_values,
                                 weighted_quantile)
from sim.calibration.simulator import FitParameter, _scenario, free_parameters, seeds_for
from sim.calibration.targets import Episode, TargetSet, distance, distance_lower_bound, sim_value, surely_above
from sim.core.randomness import normal_quantile
from sim.engine.batch import run_batch
from sim.engine.outcomes import rows
from sim.errors import UserError
from sim.experiments.ensemble import LocalExecutor
from sim.progress import say


def simulate_candidates(episodes: tuple[Episode, ...], params: list[FitParameter], sampled: np.ndarray,
                        epsilon: float, base_seed: int, replicates: int, censor: bool,
                        held: tuple[tuple[str, float], ...] = ()) -> np.ndarray:
    """float[M]: each candidate's mean distance over its replicates (inf where given up above ``epsilon``);
    ``held`` values (:attr:`FitSettings.held`) apply to every run."""
    n = sampled.shape[0]
    free = [{p.name: p.to_value(float(x)) for p, x in zip(params, row)} for row in sampled]
    seeds = [seeds_for(v, base_seed, len(episodes) * replicates) for v in free]
    values = [{**dict(held), **v} for v in free]
    position = {e.id: i for i, e in enumerate(episodes)}
    limit = epsilon * replicates
    spent = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    for episode in sorted(episodes, key=lambda e: e.duration_hours):
        going = np.flatnonzero(alive)
        if going.size == 0:
            break
        fitted = episode.fitted_targets()
        owner = np.tile(going, replicates)  # the candidate of each run: replicate r of candidate i is run r*k + i
        replicate = np.repeat(np.arange(replicates), going.size)
        run_seeds = [seeds[c][r * len(episodes) + position[episode.id]] for c, r in zip(owner, replicate)]
        bounds = np.zeros(owner.size)

        def give_up(summary: dict[str, np.ndarray], which: np.ndarray) -> np.ndarray:
            bounds[which] = [distance_lower_bound(run, fitted) for run in rows(summary)]
            over = surely_above(spent + np.bincount(owner, weights=bounds, minlength=n), limit)
            return over[owner[which]]

        result = run_batch(_scenario(str(episode.scenario)), run_seeds, [values[c] for c in owner],
                           read_at_hours=episode.read_at_hours,
                           stop=None if math.isinf(epsilon) else give_up)
        for c, summary in zip(owner, result.summary_rows()):
            run = {t.key: sim_value(summary, t.reads, episode, censor) for t in episode.targets}
            spent[c] += distance(run, fitted)
        alive &= ~surely_above(spent, limit)
    out = spent / replicates
    out[~alive] = math.inf
    return out


def _simulate_chunk(task: tuple) -> np.ndarray:
    """:func:`simulate_candidates` of one chunk of candidates (the unit of work of a worker process)."""
    return simulate_candidates(*task)


def fit_batched(targets: TargetSet, settings: FitSettings) -> FitResult:
    """ABC-SMC with each generation's candidates simulated in batches; returns the posterior generation."""
    if settings.resume or settings.history is not None or settings.scheduler is not None:
        raise UserError("--method batched keeps no database and runs on this machine: drop --history, --resume "
                        "and --scheduler, or use --method pyabc")
    params = free_parameters(targets, list(settings.params) if settings.params else None)
    episodes = tuple(targets.episodes.values())
    low = np.array([p.sampled_bounds[0] for p in params])
    high = np.array([p.sampled_bounds[1] for p in params])
    rng = np.random.default_rng(np.random.SeedSequence([settings.seed, 0x5AC]))
    n = settings.population
    started = time.time()
    say(f"calibrate: fitting {len(params)} parameters to {len(targets.fitted_targets())} targets of "
        f"{', '.join(e.id for e in episodes)} in batches of {n}: at most {settings.generations} generations / "
        f"{settings.budget} simulations / {settings.walltime_minutes:g} min, {max(1, settings.workers)} "
        f"process(es)", settings.quiet)
    workers = max(1, settings.workers)

    def simulate(sampled: np.ndarray, epsilon: float) -> np.ndarray:
        """Each candidate's distance; the candidates are split over the worker processes, which changes no
        number (a candidate's runs and its giving up depend on it alone)."""
        chunks = np.array_split(np.arange(len(sampled)), workers)
        tasks = [(episodes, params, sampled[c], epsilon, settings.seed, settings.replicates, targets.censor_at_end,
                  settings.held) for c in chunks if c.size]
        return np.concatenate(list(executor.map(_simulate_chunk, tasks)))

    with LocalExecutor(workers) as executor:
        return _generations(targets, settings, params, episodes, rng, low, high, started, simulate)


def _generations(targets: TargetSet, settings: FitSettings, params: list[FitParameter],
                 episodes: tuple[Episode, ...], rng: np.random.Generator, low: np.ndarray, high: np.ndarray,
                 started: float, simulate) -> FitResult:
    """The generations of the fit, candidates simulated by ``simulate(sampled, epsilon)``."""
    n = settings.population
    deadline = started + 60.0 * settings.walltime_minutes
    particles = low + (high - low) * rng.random((n, len(params)))
    dists = simulate(particles, math.inf)
    weights = np.full(n, 1.0 / n)
    simulations = n
    populations = [(particles, weights, dists)]
    gens = [{"generation": 0, "epsilon": math.inf, "samples": n, "acceptance": 1.0,
             "effective_sample_size": float(n)}]
    acceptance = 0.5  # epsilon is the median distance of the last generation: about half its own particles pass
    for t in range(1, settings.generations):
        epsilon = weighted_quantile(dists, weights, 0.5)
        kernel = _TruncatedKernel(particles, weights, low, high)
        kept: list[np.ndarray] = []
        kept_d: list[np.ndarray] = []
        tried = 0
        complete = False
        while simulations < settings.budget and time.time() < deadline:
            still_needed = n - sum(len(k) for k in kept)
            batch = min(round_size(still_needed, acceptance, n), settings.budget - simulations)
            proposal = kernel.propose(rng, batch)
            d = simulate(proposal, epsilon)
            simulations += batch
            tried += batch
            kept.append(proposal[d <= epsilon])
            kept_d.append(d[d <= epsilon])
            if sum(len(k) for k in kept) >= n:
                complete = True
                break
            if tried > n / settings.min_acceptance:
                break
        if not complete:
            say(f"calibrate: generation {t} did not finish (budget, wall time or acceptance below "
                f"{settings.min_acceptance:g}); the last complete generation is kept", settings.quiet)
            break
        acceptance = sum(len(k) for k in kept) / tried  # of every candidate simulated, surplus included
        new = np.concatenate(kept)[:n]
        new_d = np.concatenate(kept_d)[:n]
        new_w = 1.0 / kernel.density(new)  # the prior is uniform on the box
        new_w /= new_w.sum()
        particles, weights, dists = new, new_w, new_d
        populations.append((particles, weights, dists))
        gens.append({"generation": t, "epsilon": float(epsilon), "samples": tried, "acceptance": acceptance,
                     "effective_sample_size": round(effective_sample_size(weights), 1)})
        say(f"calibrate: generation {t}: epsilon {epsilon:.4g}, acceptance {acceptance:.3f}, effective sample "
            f"size {effective_sample_size(weights):.1f}, {simulations} simulations, {time.time() - started:.0f} s",
            settings.quiet)
    floor = settings.min_ess_fraction * n
    chosen = max(g["generation"] for g in gens if g["effective_sample_size"] >= floor)
    particles, weights, _ = populations[chosen]
    frame = pd.DataFrame({p.name: [p.to_value(v) for v in particles[:, i]] for i, p in enumerate(params)})
    result = FitResult(params, frame, weights, gens, simulations, time.time() - started, [e.id for e in episodes],
                       settings, posterior_generation=chosen, fixed=fixed_values(episodes, params, targets))
    say(f"calibrate: {len(gens)} generations, {simulations} simulations, posterior generation {chosen}, epsilon "
        f"{result.final_epsilon:.3g}, effective sample size {result.ess:.1f} of {n}, {result.walltime_s:.0f} s",
        settings.quiet)
    return result


ROUND_MARGIN = 1.25
"""A round proposes this many times the candidates the last generation's acceptance says are needed."""

MAX_ROUND = 4
"""A round proposes at most this many populations' worth of candidates."""


def round_size(still_needed: int, acceptance: float, population: int) -> int:
    """How many candidates to propose and simulate in one round of a generation: enough that, at the last
    generation's acceptance, one round usually completes it, and never fewer than a population. Why: the
    calm year dominates a fit, and a batch's cost per run falls steeply with its size (one busy run keeps a
    whole step's rules running), so a few large rounds cost far less than many rounds of one population.
    The candidates of a round beyond the population's last place are simulated and not used."""
    wanted = math.ceil(ROUND_MARGIN * still_needed / max(acceptance, 1e-3))
    return int(min(max(wanted, population), MAX_ROUND * population))


class _TruncatedKernel:
    """Independent normal perturbations of each parameter, truncated to the prior box ``[low, high]``."""

    def __init__(self, particles: np.ndarray, weights: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
        mean = weights @ particles
        variance = weights @ (particles - mean) ** 2
        self.sigma = np.sqrt(KERNEL_SCALING * variance) + 1e-12 * (high - low)
        self.centres, self.weights, self.low, self.high = particles, weights, low, high
        self.cdf_low = _normal_cdf((low - particles) / self.sigma)     # [parents, parameters]
        self.mass = np.maximum(_normal_cdf((high - particles) / self.sigma) - self.cdf_low, 1e-300)

    def propose(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """``count`` perturbed particles, each from a parent drawn by weight; all inside the box."""
        parents = rng.choice(len(self.centres), size=count, p=self.weights)
        u = self.cdf_low[parents] + self.mass[parents] * rng.random((count, len(self.sigma)))
        draw = self.centres[parents] + self.sigma * normal_quantile(u)
        return np.clip(draw, self.low, self.high)

    def density(self, x: np.ndarray) -> np.ndarray:
        """The proposal density at each row of ``x`` (up to a constant): the weighted mixture of the truncated
        kernels of every parent."""
        z = (x[:, None, :] - self.centres[None, :, :]) / self.sigma
        log_k = (-0.5 * z * z - np.log(self.mass)[None, :, :]).sum(axis=2)      # [new, parents]
        top = log_k.max(axis=1, keepdims=True)
        return (np.exp(log_k - top) * self.weights[None, :]).sum(axis=1) * np.exp(top[:, 0])


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    """The standard normal distribution function (math.erf over the array: the arrays here are small)."""
    return 0.5 * (1.0 + np.vectorize(math.erf, otypes=[float])(z / math.sqrt(2.0)))
