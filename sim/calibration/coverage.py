"""``bordersim calibrate --check-coverage N``: does the fitting method give calibrated posteriors?

A coverage check on data simulated at known parameters, in the spirit of simulation-based calibration (Talts
et al. 2018). For each of ``N`` synthetic datasets: a true parameter vector is drawn from the priors of the
free parameters, each chosen episode is run once at that truth, the runs' values replace the documented
figures (:func:`simulated_targets`), and the batched ABC-SMC fit (:func:`sim.calibration.smc.fit_batched`)
is run on them with a fixed budget. If the method is calibrated, the truth's quantile in its posterior (the
*rank*, :func:`rank_of`) is uniform on [0, 1] over datasets, so the posterior's central 50% and 90% intervals
cover the truth in 50% and 90% of datasets. A near-prior posterior is calibrated too, trivially, so the report
also gives how much of the prior's width the 90% intervals keep.

Everything follows from ``--seed``: dataset ``i`` takes its truth, its runs' seeds and its fit's seed from
``SeedSequence([seed, COVERAGE_STREAM]).spawn(N)[i]``, and the fits are the same on any number of workers,
so the folder's numbers are too. Writes ``results/validation/coverage/`` whole or not at all.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from sim.calibration.fit import FitSettings, weighted_quantile
from sim.calibration.record import manifest_basics
from sim.calibration.simulator import FitParameter, free_parameters, run_summaries
from sim.calibration.smc import fit_batched
from sim.calibration.targets import TargetSet, sim_value
from sim.errors import UserError
from sim.experiments.ensemble import LocalExecutor
from sim.output.results import atomic_dir, portable_command, portable_path, write_json, write_text_atomic
from sim.progress import progress, say

DEFAULT_OUT = Path("results") / "validation" / "coverage"
DEFAULT_EPISODES = ("E06", "E08a", "E10", "E07")
"""Cheap episodes: three small ones (three days each) and the April 2021 war. The calm year (BASELINE) costs
about a hundred times an episode's run and is left out unless named with ``--episodes``."""
DEFAULT_PARAMS = ("escalate_rate", "military_casualty_rate", "civilian_casualty_rate", "agree_rate")
"""Parameters the default episodes say something about: how fast fire climbs the ladder, how many soldiers and
civilians it hits, how soon a ceasefire is agreed."""
DEFAULT_POPULATION = 40
DEFAULT_GENERATIONS = 2
"""The default budget of each dataset's fit: 30 datasets on the default episodes take two to ten minutes on two
cores, as they are idle or shared (about 130 simulations per dataset). Why not more: population 60 and three
generations cost three times as much and left the posteriors as wide (84% of the prior's width, against 85%)."""
COVERAGE_STREAM = 0xC0FE
"""Mixed into the seed so that the synthetic datasets' random streams differ from those of a fit."""
LEVELS = (0.5, 0.9)
"""The central posterior intervals checked."""


@dataclass(frozen=True)
class CoverageCheck:
    """What one coverage check runs: ``datasets`` synthetic datasets on the episodes of ``targets``, each fitted
    with ``settings`` (its seed replaced by the dataset's), writing ``out``."""

    targets: TargetSet
    settings: FitSettings
    datasets: int
    out: Path = DEFAULT_OUT


# --- targets simulated at known parameters ----------------------------------------------------------------

def simulated_targets(template: TargetSet, values: Mapping[str, float],
                      seeds: Mapping[str, Sequence[int]]) -> TargetSet:
    """``template`` with its figures replaced by runs at known parameter ``values``: episode ``e`` is run once
    per seed of ``seeds[e]``, and each target's point becomes the median of the runs' values (the value the fit
    compares, :func:`sim.calibration.targets.sim_value`), its range their quartiles (one run: the point).

    Outputs, reading hours and log transforms stay the template's, and so does each target's scale unless the
    runs' quartiles are wider, so that the distance weighs the synthetic figures as the fit weighs the
    documented ones. A target whose simulated value is missing (an event that never happened, not censored) is
    left out of the distance (``fit: false``)."""
    episodes = {}
    for eid, episode in template.episodes.items():
        runs = run_summaries(str(episode.scenario), [int(s) for s in seeds[eid]], dict(values),
                             read_at_hours=episode.read_at_hours)
        targets = []
        for t in episode.targets:
            simulated = np.array([sim_value(run, t.reads, episode, template.censor_at_end) for run in runs])
            if np.isnan(simulated).any():
                targets.append(dataclasses.replace(t, fit=False))
                continue
            low, point, high = (float(x) for x in np.quantile(simulated, [0.25, 0.5, 0.75]))
            spread = (math.log1p(high) - math.log1p(low)) / 2.0 if t.log else (high - low) / 2.0
            targets.append(dataclasses.replace(t, point=point, low=low, high=high, scale=max(t.scale, spread),
                                               sources=("simulated at known parameters",), note=""))
        if not any(t.fit for t in targets):
            raise UserError(f"{template.path}: episodes.{eid}: every simulated target is missing; nothing to fit")
        episodes[eid] = dataclasses.replace(episode, targets=tuple(targets))
    return TargetSet(template.path, episodes, template.censor_at_end)


# --- ranks and coverage -----------------------------------------------------------------------------------

def rank_of(values: np.ndarray, weights: np.ndarray, truth: float) -> float:
    """The truth's quantile in a weighted sample, in [0, 1]: the inverse of
    :func:`sim.calibration.fit.weighted_quantile` (0 below every value, 1 above). Uniform over datasets when
    the posterior is calibrated; the truth lies in the central ``level`` interval exactly when
    ``|rank - 0.5| <= level / 2``."""
    order = np.argsort(values)
    v, w = np.asarray(values, dtype=float)[order], np.asarray(weights, dtype=float)[order]
    cum = (np.cumsum(w) - 0.5 * w) / w.sum()
    if truth < v[0]:
        return 0.0
    if truth > v[-1]:
        return 1.0
    return float(np.interp(truth, v, cum))


def inside(rank: float, level: float) -> bool:
    """Whether a truth of this rank lies in the posterior's central ``level`` interval."""
    return abs(rank - 0.5) <= level / 2.0


def binomial_se(rate: float, n: int) -> float:
    """The standard error of an observed rate over ``n`` independent trials."""
    return math.sqrt(rate * (1.0 - rate) / n) if n else math.nan


def coverage_rows(dataset: int, params: list[FitParameter], truth: Mapping[str, float], particles: pd.DataFrame,
                  weights: np.ndarray) -> list[dict[str, Any]]:
    """One row per parameter: the truth, its rank, the posterior's central intervals and whether they cover
    it, and the 90% interval's width as a share of the prior's (both in the sampled, log10 where marked,
    space)."""
    out = []
    for p in params:
        x = particles[p.name].to_numpy(float)
        sampled = np.log10(x) if p.log else x
        true_sampled = math.log10(truth[p.name]) if p.log else truth[p.name]
        rank = rank_of(sampled, weights, true_sampled)
        row: dict[str, Any] = {"dataset": dataset, "parameter": p.name, "truth": truth[p.name], "rank": rank}
        for q in (0.05, 0.25, 0.5, 0.75, 0.95):
            row[f"q{round(100 * q):02d}"] = weighted_quantile(x, weights, q)
        for level in LEVELS:
            row[f"in{round(100 * level)}"] = inside(rank, level)
        low, high = p.sampled_bounds
        width = weighted_quantile(sampled, weights, 0.95) - weighted_quantile(sampled, weights, 0.05)
        row["width90_share_of_prior"] = width / (high - low)
        out.append(row)
    return out


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per parameter, and for all of them pooled (``parameter`` = 'all'): datasets, observed coverage of each
    level with its binomial standard error, the mean rank, and the mean share of the prior's width kept."""
    groups = [(name, part) for name, part in frame.groupby("parameter", sort=False)] + [("all", frame)]
    rows = []
    for name, part in groups:
        n = len(part)
        row: dict[str, Any] = {"parameter": name, "datasets": n}
        for level in LEVELS:
            rate = float(part[f"in{round(100 * level)}"].mean())
            row[f"coverage{round(100 * level)}"] = rate
            row[f"se{round(100 * level)}"] = binomial_se(rate, n)
        row["mean_rank"] = float(part["rank"].mean())
        row["width90_share_of_prior"] = float(part["width90_share_of_prior"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


# --- the check --------------------------------------------------------------------------------------------

def dataset_plan(seed: int, index: int, datasets: int, params: list[FitParameter],
                 episodes: Sequence[str]) -> tuple[dict[str, float], dict[str, list[int]], int]:
    """Dataset ``index``'s true parameter values (uniform on the priors, in the sampled space), one run seed
    per episode, and its fit's seed."""
    child = np.random.SeedSequence([int(seed), COVERAGE_STREAM]).spawn(datasets)[index]
    rng = np.random.default_rng(child)
    truth = {p.name: p.to_value(float(rng.uniform(*p.sampled_bounds))) for p in params}
    run_seeds = {e: [int(s)] for e, s in zip(episodes, rng.integers(0, 2 ** 63 - 1, size=len(episodes)))}
    return truth, run_seeds, int(rng.integers(0, 2 ** 31 - 1))


def _one_dataset(task: tuple) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Dataset ``index``: simulate it, fit it (in this process), rank its truth (the unit of work of a worker
    process). Why a dataset per worker rather than a fit split over workers: each generation's candidates then
    run as one batch of the engine instead of one per worker, and the datasets are independent."""
    template, settings, params, index, datasets = task
    truth, run_seeds, fit_seed = dataset_plan(settings.seed, index, datasets, params, list(template.episodes))
    synthetic = simulated_targets(template, truth, run_seeds)
    result = fit_batched(synthetic, dataclasses.replace(settings, seed=fit_seed))
    fit_row = {"dataset": index, "fit_seed": fit_seed, "generations": len(result.generations),
               "posterior_generation": result.posterior_generation, "epsilon": result.final_epsilon,
               "effective_sample_size": round(result.ess, 1), "simulations": result.simulations,
               "seconds": round(result.walltime_s, 1)}
    return coverage_rows(index, params, truth, result.particles, result.weights), fit_row


def check_coverage(check: CoverageCheck) -> Path:
    """Simulate, fit and rank every dataset; write the folder and return it."""
    if check.datasets < 2:
        raise UserError(f"--check-coverage: expected at least 2 datasets, got {check.datasets}")
    settings = check.settings
    params = free_parameters(check.targets, list(settings.params) if settings.params else None)
    episodes = list(check.targets.episodes)
    say(f"check-coverage: {check.datasets} datasets simulated at parameters drawn from the priors of "
        f"{', '.join(p.name for p in params)} on {', '.join(episodes)}; each fitted with population "
        f"{settings.population}, at most {settings.generations} generations", settings.quiet)
    one_fit = dataclasses.replace(settings, quiet=True, workers=1)
    tasks = [(check.targets, one_fit, params, i, check.datasets) for i in range(check.datasets)]
    rows: list[dict[str, Any]] = []
    fits: list[dict[str, Any]] = []
    started = time.time()
    with progress(check.datasets, "check-coverage: datasets", settings.quiet) as advance:
        with LocalExecutor(min(max(1, settings.workers), check.datasets)) as executor:
            for dataset_rows, fit_row in executor.map(_one_dataset, tasks):
                rows += dataset_rows
                fits.append(fit_row)
                advance(1)
    seconds = time.time() - started
    frame = pd.DataFrame(rows)
    fit_frame = pd.DataFrame(fits)
    frame = frame.merge(fit_frame[["dataset", "posterior_generation", "effective_sample_size"]], on="dataset")
    table = summary(frame)
    meta = {"command": portable_command(), "episodes_file": portable_path(check.targets.path),
            "episodes": episodes, "parameters": [p.name for p in params], "datasets": check.datasets,
            "seed": settings.seed, "seed_derivation": f"numpy.random.SeedSequence([seed, {COVERAGE_STREAM:#x}])"
            ".spawn(datasets)[i] gives dataset i its truth, run seeds and fit seed",
            "settings": {"population": settings.population, "generations": settings.generations,
                         "budget": settings.budget, "min_acceptance": settings.min_acceptance,
                         "replicates": settings.replicates, "workers": settings.workers,
                         "minutes": None if math.isinf(settings.walltime_minutes) else settings.walltime_minutes},
            "seconds": round(seconds, 1)}
    with atomic_dir(check.out) as tmp:
        frame.to_csv(tmp / "coverage.csv", index=False)
        fit_frame.to_csv(tmp / "fits.csv", index=False)
        write_text_atomic(tmp / "report.md", report_markdown(table, fit_frame, params, check, seconds))
        plot_ranks(frame, [p.name for p in params], tmp / "ranks.png")
        write_json(tmp / "manifest.json", {**manifest_basics(), "coverage": meta})
    pooled = table.iloc[-1]
    say(f"wrote {check.out}/ ({check.datasets} datasets, {seconds:.0f} s): 50% intervals cover "
        f"{pooled.coverage50:.0%}, 90% intervals {pooled.coverage90:.0%}", settings.quiet)
    return check.out


def report_markdown(table: pd.DataFrame, fits: pd.DataFrame, params: list[FitParameter], check: CoverageCheck,
                    seconds: float) -> str:
    s = check.settings
    n = check.datasets

    def rate(r: Any, level: int) -> str:
        return f"{getattr(r, f'coverage{level}'):.0%} ± {getattr(r, f'se{level}'):.0%}"

    def verdict(r: Any) -> str:
        near = [abs(getattr(r, f"coverage{round(100 * lv)}") - lv) <= 0.05 for lv in LEVELS]
        return "yes" if all(near) else "no"

    limit = "none" if math.isinf(s.walltime_minutes) else f"{s.walltime_minutes:g} min per fit"
    lines = [
        "# Calibration of the method: coverage on data simulated at known parameters", "",
        f"{n} synthetic datasets. For each, a true parameter vector drawn from the priors (uniform, on a log10 "
        f"scale where marked), one run of each episode ({', '.join(check.targets.episodes)}) at that truth, its "
        "values taking the place of the documented figures (same outputs, reading hours, log transforms and "
        "scales), and a batched ABC-SMC fit to them: population "
        f"{s.population}, at most {s.generations} generations, budget {s.budget} simulations, minimum "
        f"acceptance {s.min_acceptance:g}, {s.replicates} run(s) per particle, wall-time limit {limit}; seed "
        f"{s.seed}. Parameters not listed keep the scenarios' values. Wall time {seconds / 60:.1f} min on "
        f"{s.workers} worker process(es).", "",
        "The rank is the truth's quantile in its weighted posterior; calibrated, it is uniform on [0, 1] and the "
        "central 50% and 90% intervals cover the truth at those rates. Rates are given ± one binomial standard "
        "error over the datasets. The last column is the mean width of the 90% interval as a share of the "
        "prior's: near 1, the fit learnt little and its coverage says little.", "",
        "| parameter | prior | 50% coverage | 90% coverage | mean rank | 90% width / prior | within ±5 points |",
        "|---|---|---|---|---|---|---|",
    ]
    prior = {p.name: f"{p.low:g}–{p.high:g}{' (log)' if p.log else ''}" for p in params}
    for r in table.itertuples():
        name = "all, pooled" if r.parameter == "all" else f"`{r.parameter}`"
        lines.append(f"| {name} | {prior.get(r.parameter, '')} | {rate(r, 50)} | {rate(r, 90)} | "
                     f"{r.mean_rank:.2f} | {r.width90_share_of_prior:.2f} | {verdict(r)} |")
    lines += [
        "", "The pooled rates count every parameter of every dataset; the parameters of one dataset share its fit, "
        "so their standard error understates the uncertainty. An ABC posterior at a finite tolerance is wider "
        "than the exact posterior, so coverage above the nominal rate is the expected failure of a short fit; "
        "below it, the posterior is overconfident.", "",
        f"Fits: effective sample size median {fits['effective_sample_size'].median():.1f} "
        f"(range {fits['effective_sample_size'].min():.1f}–{fits['effective_sample_size'].max():.1f}); "
        f"posterior generation median {fits['posterior_generation'].median():g}; "
        f"{int(fits['simulations'].sum())} simulations in all.", "",
        "Rank histograms: `ranks.png`. Every parameter of every dataset: `coverage.csv`; every fit: `fits.csv`.",
    ]
    return "\n".join(lines) + "\n"


def plot_ranks(frame: pd.DataFrame, names: list[str], path: Path) -> None:
    """One rank histogram per parameter, with the count a calibrated method expects per bin and its 95% band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = int(frame["dataset"].nunique())
    bins = max(2, min(10, n // 6))
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.6 * rows), squeeze=False)
    expected = n / bins
    band = 1.96 * math.sqrt(n * (1 / bins) * (1 - 1 / bins))
    for ax, name in zip(axes.flat, names):
        ax.hist(frame.loc[frame["parameter"] == name, "rank"], bins=np.linspace(0, 1, bins + 1),
                color="#4c72b0", edgecolor="white")
        ax.axhspan(max(0.0, expected - band), expected + band, color="grey", alpha=0.2, lw=0)
        ax.axhline(expected, color="black", lw=1, ls="--")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("rank of the truth in its posterior", fontsize=8)
        ax.set_ylabel("datasets", fontsize=8)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.suptitle("Rank histograms (uniform if calibrated; dashed: expected, grey: 95% band)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
