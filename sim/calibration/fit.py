"""ABC-SMC (pyabc) over the free parameters, and what a fit writes: ``fitted.yaml`` (the posterior's weighted
medians), ``posterior.csv`` (a weighted resample) and the posterior predictive runs the report reads
(:mod:`sim.calibration.report`). The priors and their reasons live with the parameters
(``sim.input.parameters.SPECS``); ``docs/calibration.md`` tabulates them.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

# imported here, not lazily: forked workers must inherit the engine as it was when the fit started
import sim.engine.batch  # noqa: F401
from sim.calibration.simulator import (BACKGROUND_ONLY, DeadlinePassed, FitParameter, ScaledDistance, Simulator,
                                      _scenario, free_parameters)
from sim.calibration.targets import Episode, TargetSet, sim_value
from sim.errors import UserError
from sim.experiments.ensemble import LocalExecutor, RunResult, RunTask, derive_seeds, run_ensemble
from sim.input.parameters import PARAMETER_SETS
from sim.output.results import file_sha256, git_commit, package_versions, portable_command, portable_path, write_text_atomic
from sim.progress import progress, say

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class FitSettings:
    population: int = 150
    generations: int = 10
    budget: int = 12000             # simulations (parameter vectors) at most, over all generations
    walltime_minutes: float = 20.0
    workers: int = 2
    seed: int = 20240501
    scheduler: str | None = None
    quiet: bool = False
    params: tuple[str, ...] | None = None
    min_acceptance: float = 0.02
    """Stop when a generation needs more than population / min_acceptance simulations (pyabc criterion). Why
    not lower by default: below 2% a generation costs over 50 simulations per particle, hours on two cores;
    ``--min-acceptance`` lowers it for a fit that is meant to run that long."""
    history: Path | None = None
    """Where pyabc's database is kept, so that ``resume`` can continue the fit; None: a temporary file."""
    resume: bool = False
    """Continue the fit stored in ``history`` for up to ``generations`` more generations. Why: a fit on two
    cores stops at its time cap while the posterior is still broad (90% intervals up to two decades wide after 7
    generations), and each further generation costs about twice the last."""
    replicates: int = 1
    """Runs of each episode per particle (``--replicates``); the distance is their mean. A simulation in
    ``budget`` is one particle, so it costs ``replicates`` runs of each episode."""
    method: str = "pyabc"
    """``pyabc``: one candidate at a time through pyabc (a database, resumable, Dask); ``batched``: each
    generation's candidates simulated together in batches of the engine (``sim.calibration.smc``)."""
    held: tuple[tuple[str, float], ...] = ()
    """Parameter values every simulation of the fit (and its predictions) runs with, over the scenarios' own:
    how an ablation switches a mechanism off (``sim.calibration.ablation``). Batched fits only."""
    min_ess_fraction: float = 0.1
    """The posterior is the last generation whose effective sample size is at least this share of the
    population. Why: a late generation can put nearly all its weight on one or two particles (an effective sample
    size of 1.2 of 150 has been seen after five good generations); its median is then one particle's, and an
    earlier, slightly wider generation is the better posterior."""


KERNEL_SCALING = 2.0
"""Widening of pyabc's multivariate-normal perturbation kernel (pyabc's default is 1). Why: with a dozen
uniform priors and a run-to-run spread wider than most documented ranges, the accepted particles fill much of
the prior box; a kernel of the default width then gives a proposal density far lower near the box's faces
than in its middle, and the importance weights (prior / proposal) collapse onto a few particles. Measured on
E07+E13 with 16 free parameters, population 100: effective sample size after the first generation 1.7 with
scaling 1, 7.6 with pyabc's LocalTransition, 15 with 1.5, 50 with 3 (where proposals outside the box,
which pyabc redraws, made generations slow)."""

QUICK = dict(population=16, generations=2, budget=160, walltime_minutes=3.0)
"""--quick: a tiny population and two generations (about a minute on two idle cores, report included)."""


@dataclass
class FitResult:
    parameters: list[FitParameter]
    particles: pd.DataFrame        # one row per particle of the last generation, columns = parameter names
    weights: np.ndarray
    generations: list[dict[str, Any]]
    simulations: int
    walltime_s: float
    episodes: list[str]
    settings: FitSettings
    posterior_generation: int
    """The generation ``particles`` come from: the last one with enough effective sample size."""
    fixed: dict[str, float] = field(default_factory=dict)
    """Parameters with a prior that were not fitted: the value the episodes' scenario gave them, carried into
    fitted.yaml so that scenarios reading it keep them (a fit of a subset changes only that subset)."""
    draws: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def ess(self) -> float:
        """Effective sample size of the posterior generation's weights."""
        return effective_sample_size(self.weights)

    @property
    def final_epsilon(self) -> float:
        return float(self.generations[self.posterior_generation]["epsilon"]) if self.generations else math.nan

    def medians(self) -> dict[str, float]:
        return {p.name: weighted_quantile(self.particles[p.name].to_numpy(), self.weights, 0.5)
                for p in self.parameters}


def effective_sample_size(weights: np.ndarray) -> float:
    """(sum w)^2 / sum w^2: how many equally weighted particles the weights are worth."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / (w ** 2).sum()) if len(w) else math.nan


def posterior_generation(history: Any, min_ess: float) -> tuple[int, pd.DataFrame, np.ndarray, list[float]]:
    """The last generation whose effective sample size reaches ``min_ess`` (else the one with the largest),
    its particles and weights, and every generation's effective sample size."""
    dists = [history.get_distribution(m=0, t=t) for t in range(history.max_t + 1)]
    sizes = [effective_sample_size(w) for _, w in dists]
    good = [t for t, e in enumerate(sizes) if e >= min_ess]
    t = good[-1] if good else int(np.argmax(sizes))
    df, w = dists[t]
    return t, df, np.asarray(w, dtype=float), sizes


def fixed_values(episodes: tuple[Episode, ...], fitted: list[FitParameter], targets: TargetSet) -> dict[str, float]:
    """The values the first episode's scenario gives the parameters that have a prior but are not fitted."""
    names = {p.name for p in fitted}
    scenario_params = _scenario(str(episodes[0].scenario)).params
    every = [p.name for p in free_parameters(targets)] + list(BACKGROUND_ONLY)
    return {n: float(scenario_params[n]) for n in dict.fromkeys(every) if n not in names and n in scenario_params}


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    v, w = np.asarray(values)[order], np.asarray(weights, dtype=float)[order]
    cum = np.cumsum(w) - 0.5 * w
    cum /= w.sum()
    return float(np.interp(q, cum, v))


GENERATION_GIVEN_UP = ("Stop: the generation in progress was given up: it needed more than population / "
                       "min_acceptance simulations (acceptance below the minimum, or the time ran out); the last "
                       "complete generation is kept")
"""What pyabc's terse 'Stopping: sample not ok.' means for this fit: after the deadline every simulation is
rejected at once, so a generation cut short by time ends the same way as one whose acceptance collapsed."""
WALL_TIME_GIVEN_UP = ("Stop: the wall time ran out in the generation in progress, which was given up; the last "
                      "complete generation is kept")
"""How a fit on a Dask cluster ends at its wall time (:class:`DeadlinePassed`)."""


class _ProgressHandler(logging.Handler):
    """pyabc's generation / epsilon / acceptance log lines, and why the fit stopped, on stderr as one line each."""

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if msg.startswith("Stopping: sample not ok"):
            msg = GENERATION_GIVEN_UP
        if record.levelno >= logging.WARNING or msg.startswith(("t:", "Accepted:", "Stop:")):
            print(f"calibrate: {msg}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _sampler(settings: FitSettings):
    """pyabc's sampler for this machine or a Dask cluster; the connection to the cluster is closed afterwards.

    Its own bar of the particles accepted so far is switched on when not quiet and stdout is a terminal:
    a generation of a long fit can take most of an hour, and the generation lines alone then say nothing for
    that long. Only on a terminal, because the bar (pyabc's ``jabbar``, on stdout) redraws itself in place,
    which in a log file is noise."""
    sampler = _make_sampler(settings)
    sampler.show_progress = not settings.quiet and sys.stdout.isatty()
    try:
        yield sampler
    finally:
        if settings.scheduler:
            sampler.shutdown()


def _make_sampler(settings: FitSettings):
    import pyabc

    if settings.scheduler:
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - distributed comes with pyabc
            raise UserError(f"--scheduler needs dask.distributed: {exc}") from None
        try:
            client = Client(settings.scheduler, timeout=20)
        except OSError as exc:
            raise UserError(f"--scheduler: cannot reach the Dask scheduler at {settings.scheduler}: {exc}") from None
        return pyabc.sampler.DaskDistributedSampler(dask_client=client, batch_size=4)
    if settings.workers <= 1:
        return pyabc.sampler.SingleCoreSampler(check_max_eval=True)
    return pyabc.sampler.MulticoreEvalParallelSampler(n_procs=settings.workers, check_max_eval=True)


def fit(targets: TargetSet, settings: FitSettings) -> FitResult:
    """Run ABC-SMC on the selected episodes; returns the last generation's weighted particles."""
    try:
        import pyabc
    except ImportError:
        raise UserError("calibrate needs pyabc: pip install 'bordersim[calibrate]' (or pip install pyabc)") from None

    from sim.calibration.abc_model import EarlyRejectingModel

    params = free_parameters(targets, list(settings.params) if settings.params else None)
    fitted = tuple(targets.fitted_targets())
    episodes = tuple(targets.episodes.values())
    started = time.time()
    simulator = Simulator(episodes, tuple(params), settings.seed, targets.censor_at_end,
                          deadline=started + 60.0 * settings.walltime_minutes, replicates=settings.replicates,
                          raise_past_deadline=settings.scheduler is not None)
    prior = pyabc.Distribution(**{p.key: pyabc.RV("uniform", p.sampled_bounds[0],
                                                   p.sampled_bounds[1] - p.sampled_bounds[0]) for p in params})
    dist = pyabc.distance.FunctionDistance(ScaledDistance(fitted, settings.replicates))

    abc_logger = logging.getLogger("ABC")
    handler = _ProgressHandler()
    old_level, old_handlers = abc_logger.level, list(abc_logger.handlers)
    for h in old_handlers:
        abc_logger.removeHandler(h)
    abc_logger.addHandler(handler)
    abc_logger.setLevel(logging.WARNING if settings.quiet else logging.INFO)
    np.random.seed(settings.seed % 2**32)
    where = f"on the Dask cluster at {settings.scheduler}" if settings.scheduler else f"{settings.workers} worker(s)"
    if settings.generations == 0:
        say(f"calibrate: no new generation: the posterior stored in {settings.history}", settings.quiet)
    else:
        say(f"calibrate: fitting {len(params)} parameters to {len(fitted)} targets of "
            f"{', '.join(e.id for e in episodes)}: population {settings.population}, at most "
            f"{settings.generations} generations / {settings.budget} simulations / {settings.walltime_minutes:g} "
            f"min, {settings.replicates} run(s) of each episode per simulation, {where}", settings.quiet)
    try:
        with _database(settings.history) as db, _sampler(settings) as sampler:
            abc = pyabc.ABCSMC(EarlyRejectingModel(simulator), prior, dist, population_size=settings.population,
                               sampler=sampler,
                               transitions=pyabc.transition.MultivariateNormalTransition(scaling=KERNEL_SCALING))
            observed = {t.key: t.point for t in fitted}
            if settings.resume:
                stored = abc.load(db, 1)
                _check_resumable(stored, settings.history, params, observed, settings.replicates)
                np.random.seed((settings.seed + stored.max_t + 1) % 2**32)  # not a replay of the first run's draws
            else:
                abc.new(db, observed)
            if settings.generations == 0:    # --resume --generations 0: the stored posterior as it is
                history = abc.history
            else:
                try:
                    history = abc.run(max_nr_populations=settings.generations,
                                      max_total_nr_simulations=settings.budget,
                                      max_walltime=timedelta(minutes=settings.walltime_minutes),
                                      min_acceptance_rate=settings.min_acceptance)
                except DeadlinePassed:
                    say(f"calibrate: {WALL_TIME_GIVEN_UP}", settings.quiet)
                    history = abc.history
            if history.max_t < 0:
                raise UserError(f"calibrate: not one generation finished within {settings.walltime_minutes:g} min "
                                f"/ {settings.budget} simulations; raise --budget")
            chosen, df, w, sizes = posterior_generation(history, settings.min_ess_fraction * settings.population)
            pops = history.get_all_populations()
            nsims = history.total_nr_simulations
    finally:
        abc_logger.removeHandler(handler)
        for h in old_handlers:
            abc_logger.addHandler(h)
        abc_logger.setLevel(old_level)
    gens = [{"generation": int(r.t), "epsilon": float(r.epsilon), "samples": int(r.samples),
             "acceptance": (r.particles / r.samples) if r.samples else math.nan,
             "effective_sample_size": round(sizes[int(r.t)], 1)}
            for r in pops.itertuples() if r.t >= 0]
    particles = pd.DataFrame({p.name: [p.to_value(v) for v in df[p.key].to_numpy()] for p in params})
    result = FitResult(params, particles, w, gens, int(nsims), time.time() - started,
                       [e.id for e in episodes], settings, posterior_generation=chosen,
                       fixed=fixed_values(episodes, params, targets))
    if chosen != len(gens) - 1:
        say(f"calibrate: the last generation's effective sample size is {sizes[-1]:.1f}; the posterior is "
            f"generation {chosen} (effective sample size {sizes[chosen]:.1f})", settings.quiet)
    say(f"calibrate: {len(gens)} generations, {nsims} simulations, posterior generation {chosen}, epsilon "
        f"{result.final_epsilon:.3g}, effective sample size {result.ess:.1f} of {len(result.weights)}, "
        f"{result.walltime_s:.0f} s", settings.quiet)
    return result


@contextlib.contextmanager
def _database(history: Path | None):
    """pyabc's database URL: the kept file ``history``, or a temporary file removed afterwards."""
    if history is not None:
        Path(history).parent.mkdir(parents=True, exist_ok=True)
        yield "sqlite:///" + str(Path(history).resolve())
        return
    with tempfile.TemporaryDirectory(prefix="bordersim-abc-") as tmp:
        yield "sqlite:///" + os.path.join(tmp, "abc.db")


def _check_resumable(stored: Any, path: Path | None, params: list[FitParameter], observed: dict[str, float],
                     replicates: int) -> None:
    """A fit continues only with the parameters, documented values and replicates it began with; else a
    UserError."""
    if stored.max_t < 0:
        raise UserError(f"--resume: {path} holds no finished generation to continue")
    stored_replicates = stored_replicate_count(stored)
    if stored_replicates != replicates:
        raise UserError(f"--resume: {path} was fitted with --replicates {stored_replicates}; resume with the same")
    began_with = set(stored.get_distribution(m=0, t=stored.max_t)[0].columns)
    if began_with != {p.key for p in params}:
        raise UserError(f"--resume: {path} fitted {', '.join(sorted(began_with))}; --params now asks for "
                        f"{', '.join(sorted(p.key for p in params))}")
    before = stored.observed_sum_stat()
    changed = sorted(k for k in set(before) | set(observed)
                     if k not in before or k not in observed or not np.isclose(float(before[k]), observed[k]))
    if changed:
        raise UserError(f"--resume: the targets differ from those {path} was fitted to ({', '.join(changed)}); "
                        "resume with the same --episodes and episodes file, or start a new fit")


def stored_replicate_count(stored: Any) -> int:
    """How many runs per episode the particles of a stored fit's last generation hold (see :func:`replicate_key`)."""
    _, sum_stats = stored.get_weighted_sum_stats(t=stored.max_t)
    return 1 + max((int(k.rsplit("#", 1)[1]) for k in sum_stats[0] if "#" in k), default=0) if sum_stats else 1


def resample(result: FitResult, n: int, seed: int) -> pd.DataFrame:
    """``n`` draws from the weighted posterior (multinomial resampling)."""
    rng = np.random.default_rng(seed)
    w = result.weights / result.weights.sum()
    idx = rng.choice(len(w), size=n, replace=True, p=w)
    return result.particles.iloc[idx].reset_index(drop=True)


# --- posterior predictive runs --------------------------------------------------------------------------

def predictive(episode: Episode, draws: pd.DataFrame, seed: int, workers: int, quiet: bool,
               base_params: dict[str, float] | None = None) -> list[RunResult]:
    """One run of ``episode`` per posterior draw (seeds from ``SeedSequence(seed)``)."""
    seeds = derive_seeds(seed, len(draws))
    tasks = []
    for i, (row, s) in enumerate(zip(draws.to_dict("records"), seeds)):
        values = {**(base_params or {}), **{k: float(v) for k, v in row.items()}}
        tasks.append(RunTask(str(episode.scenario), s, i, None, tuple(sorted(values.items())), episode.id,
                             episode.read_at_hours))
    with progress(len(tasks), f"{episode.id}: posterior predictive", quiet) as advance:
        with LocalExecutor(min(workers, len(tasks))) as ex:
            return run_ensemble(tasks, ex, on_result=lambda _: advance(1), workers=min(workers, len(tasks)))


def predictive_values(episode: Episode, results: list[RunResult], censor: bool) -> pd.DataFrame:
    """Each target's simulated value per predictive run (censoring as in the fit)."""
    rows = []
    for r in results:
        row = {"run": r.task.run}
        for t in episode.targets:
            row[t.name] = sim_value(r.summary, t.reads, episode, censor)
        rows.append(row)
    return pd.DataFrame(rows)


# --- output ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OutputPaths:
    fitted: Path
    posterior: Path
    report: Path

    @classmethod
    def choose(cls, out: Path | None, quick: bool) -> "OutputPaths":
        if out is not None:
            out = Path(out)
            return cls(out / "fitted.yaml", out / "posterior.csv", out / "report")
        if quick:
            base = REPO / "results" / "calibration_quick"
            return cls(base / "fitted.yaml", base / "posterior.csv", base / "report")
        fitted = PARAMETER_SETS["fitted"]  # the full fit publishes the named set the scenarios use
        return cls(fitted, fitted.parent / "posterior.csv", REPO / "results" / "calibration")


def fitted_document(result: FitResult, paths: OutputPaths, episodes_file: Path, quick: bool) -> dict[str, Any]:
    rel = os.path.relpath(paths.posterior, paths.fitted.parent)
    s = result.settings
    return {
        "values": {k: float(f"{v:.6g}") for k, v in {**result.fixed, **result.medians()}.items()},
        "fixed": sorted(result.fixed),
        "posterior_draws": rel,
        "made_by": {
            "command": portable_command(),
            "method": f"{method_name(s.method)}, uniform priors (log10-uniform where marked), distance = sum of squared "
                      "range-scaled deviations (docs/calibration.md)",
            "quick": quick,
            "episodes": result.episodes,
            "episodes_file": {"path": portable_path(episodes_file), "sha256": file_sha256(episodes_file)},
            "budget": s.budget,
            "population": s.population,
            "max_generations": s.generations,
            "generations": len(result.generations),
            "simulations": result.simulations,
            "posterior_generation": result.posterior_generation,
            "final_epsilon": float(f"{result.final_epsilon:.6g}"),
            "final_effective_sample_size": round(result.ess, 1),
            "epsilons": [float(f"{g['epsilon']:.6g}") for g in result.generations],
            "replicates": s.replicates,
            "seed": s.seed,
            "workers": s.workers,
            "history": None if s.history is None else portable_path(s.history),
            "resumed": s.resume,
            "walltime_seconds": round(result.walltime_s, 1),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "git": git_commit(REPO),
            "software": {**package_versions(), "pyabc": _version("pyabc")},
        },
        "priors": {p.name: {"low": float(f"{p.low:.6g}"), "high": float(f"{p.high:.6g}"),
                            "scale": "log10-uniform" if p.log else "uniform", "reason": p.reason}
                   for p in result.parameters},
    }


def _version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def method_name(method: str) -> str:
    """How reports and ``fitted.yaml`` name a fit's ABC-SMC implementation (``--method``)."""
    return "batched ABC-SMC (sim/calibration/smc.py)" if method == "batched" else "ABC-SMC (pyabc)"


def write_fit(result: FitResult, paths: OutputPaths, episodes_file: Path, quick: bool) -> None:
    """posterior.csv then fitted.yaml, each via a temporary file and a rename."""
    paths.fitted.parent.mkdir(parents=True, exist_ok=True)
    paths.posterior.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(paths.posterior, result.draws.to_csv(index=False, float_format="%.6g"))
    doc = fitted_document(result, paths, episodes_file, quick)
    header = ("# Written by `bordersim calibrate` (sim/calibration/fit.py): posterior medians of the fitted parameters.\n"
              "# The named parameter set 'fitted': a scenario uses it with `parameters: {set: fitted}`; do not edit by hand.\n")
    write_text_atomic(paths.fitted, header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110))


# --- the command ----------------------------------------------------------------------------------------
