"""``bordersim calibrate``: fit the free parameters to the documented episodes with ABC-SMC (pyabc).

One *simulation* of a parameter vector is one run of each selected episode's scenario with those parameters.
Its seeds come from ``SeedSequence([--seed, bits of the parameter values])``, so the same vector always
gives the same runs for a given ``--seed`` whichever process evaluates it. The distance
(:func:`sim.targets.distance`) scales each documented figure by its documented range. The posterior of the
last generation gives ``fitted.yaml`` (weighted medians) and ``posterior.csv`` (weighted resample), then
posterior predictive runs give the report (:mod:`sim.calibration_report`). Priors and their reasons:
:data:`PRIOR_REASONS`, :data:`EXTRA_PRIORS` and ``calibration/README.md``.
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
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import yaml

# imported here, not lazily: forked workers must inherit the code as it was when the fit started
import sim.model  # noqa: F401
from sim.ensemble import LocalExecutor, RunResult, RunTask, derive_seeds, run_ensemble
from sim.errors import UserError
from sim.parameters import SPECS
from sim.progress import progress, say
from sim.results import file_sha256, git_commit, package_versions, write_text_atomic
from sim.targets import (DEFAULT_EPISODES_FILE, Episode, Target, TargetSet, distance, distance_lower_bound,
                         load_targets, sim_value)

REPO = Path(__file__).resolve().parents[1]


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


PRIOR_REASONS: dict[str, str] = {
    "incident_rate": "background only (calm segments); spans ~3-100 incidents a year over the mapped border",
    "escalate_rate": "per-hour climb; 0.005/h (weeks per rung) to 0.3/h (a rung in ~3 h: E07 went L0 -> L2 in ~26 h, "
                     "E13 L2 -> L4 in ~2 days)",
    "authorise_rate": "orders for the next rung within 2 h to 8 days (E07 mortars ~10 h after the first shots)",
    "arms_tension": "from stones turning into shots at any moderately tense segment (0.45) to only at the most "
                    "contested spot (0.95; Golovnoi in April 2021 after the cameras)",
    "rearm_rate": "restoring the war's authorisation within an hour of a breach (1/h) to after ~8 days (0.005/h); "
                  "E13's local ceasefire of 14 Sep gave way to the main war on 16 Sep (~35 h later)",
    "front_rate": "from a front opening over weeks to ~a third of the line per hour; E13 fire along the whole "
                  "Batken perimeter within a day (KG border service via TRT/TASS)",
    "agree_rate": "an agreement within ~3 h to ~2 weeks of open talks (E13 agreed within the day, E07 in ~1.5 days)",
    "ceasefire_discipline": "a ceasefire removes half to 99% of the escalation hazard",
    "violation_rate": "breaches every ~20 h to ~3 months per unit tension (both ceasefires were broken within a day)",
    "military_casualty_rate": "0.02-2 military hit per hour per segment at mortar level: spans the 2021 and 2022 tolls",
    "civilian_casualty_rate": "one person in 1,000 next to a segment under mortar fire hit every ~2 weeks (0.003/h) "
                              "to every ~3 h (0.3/h); free since session 23, when who died became a target: E13's "
                              "civilian dead were 37-51 of ~100 (HRW 2023-05-02), E07's Tajik 10-13 of 19 (AFP; "
                              "Asia-Plus 2021-05-04)",
    "orders_loss_gain": "0 (a death changes no orders) to 2 (one death in the last day triples the hazard of new "
                        "orders); E07 went from the first shots to mortars in ~10 h and to armour in ~13 h as the "
                        "toll mounted (24.kg 192001, 192151; utrk.kg 56978)",
    "air_lead_hours": "L4 at hand at once (0) to five days after the first shots (120 h); E07's armed fire ran ~16 h "
                      "to its ceasefire with armour and no MLRS, drones or aircraft (facts E07); E13's forces came "
                      "deployed for war, which the rule leaves alone",
    "deployed_authorise_factor": "0 (forces deployed for war keep the orders they came with until a ceasefire has "
                                 "failed) to 1 (their orders climb as anyone's); E13's heavy weapons came on 16 Sep, "
                                 "after the ceasefire of 14 Sep (TJ GKNB via RIA; HRW)",
    "incursion_hit_rate": "a person still in an entered village hit every ~4 days (1e-4/h) to every ~1.4 days "
                          "(0.03/h); 418 KG houses destroyed in 2022 against ~20 TJ (CABAR.asia 2023; TJ MFA), KG / TJ "
                          "deaths 36 / 19 and 62 / 41 (calibration/episodes.yaml)",
    "front_decay_per_km": "a local war's front reaching ~330 km (0.003/km: the whole mapped line, ~200 km end to end) "
                          "down to ~3 km (0.3/km: the next village); E07 stayed in the Batken and Leilek sectors, "
                          "19 named sites (17-30) of 43 segments, ~70 km apart (calibration/episodes.yaml)",
    "road_advance_rate": "an offensive's armour reaching a road ~8 days after its orders (0.005/h) to within the "
                         "hour (1/h); E07's tanks entered Internatsional on the Leilek road ~70 km from the fire at "
                         "about the hour armour is dated, 3 h after the mortars at Golovnoi (utrk.kg 56978; "
                         "24.kg 192151)",
    "first_use_pooling": "0 (each segment brings a new weapon into the fight on its own) to 1 (one decision per "
                         "side, however wide the front); E07 saw no MLRS, drones or aircraft (facts E07), E13 saw "
                         "them only after the ceasefire of 14 Sep (TJ GKNB via RIA; HRW)",
    "threat_pooling": "from a village fearing only its most dangerous segment (0) to the sum of all segments' "
                      "threats (1); E07's armour on some 13 segments 27-31 km from Batken town did not empty it "
                      "(24.kg 192886), E13's MLRS fire on the town did (facts E13)",
    "force_pooling": "from one force per side however wide the front (0) to a full force on every segment and in "
                     "every entered village (1); E07 was fought for about a day on ~19 segments, E13 on 31, yet "
                     "the tolls differ by about two (36 / 19 and 62 / 41; calibration/episodes.yaml)",
    "evacuating_share": "from under half of a village leaving (0.4) to everyone (1); E07 evacuees were 'mainly women "
                        "and children' (RFE/RL 2021-04-30), 40,649 of the ~68,000 Kyrgyz who live nearest a segment "
                        "(24.kg 192886; calibration/README.md)",
    "pain_weight": "0 (the toll does not move talks) to 4 (ten dead make agreement ~10x likelier per hour); E13 with "
                   ">100 dead agreed in ~13 h, E07 in ~31 h",
    "crowd_hit_rate": "a person in a crowd under small-arms fire hit every ~3 h (0.3/h) to every ~2 weeks (0.003/h); "
                      "at Golovnoi ~300 a side faced six hours of fire and 31 Kyrgyz had sought help by that night "
                      "(24.kg 192968, 192194): ~0.02/h if all were from the crowd",
}
"""Why each prior in ``sim.parameters.SPECS`` spans what it does (the table in calibration/README.md)."""

EXTRA_PRIORS: dict[str, tuple[float, float, bool, str]] = {
    "reagree_factor": (
        1.0, 10.0, False,
        "not given a prior in SPECS; E13 saw >= 5 agreements within two days (facts §4), E07 two to four, so how fast "
        "talks re-agree after a breach is what sets the agreement and violation counts"),
}
"""Priors defined here for parameters SPECS does not mark for fitting: (low, high, log, reason)."""

BACKGROUND_ONLY = ("incident_rate",)
"""Parameters that act only on background incidents on calm segments (``escalation.ignite``): the episode
targets say nothing about them, so they are fitted only when a background target set (BASELINE) is selected."""


def free_parameters(targets: TargetSet, names: list[str] | None = None) -> list[FitParameter]:
    """The parameters to fit: those with a prior (SPECS or EXTRA_PRIORS), or just ``names``."""
    background = any(e.kind == "background" for e in targets.episodes.values())
    out: list[FitParameter] = []
    for name, spec in SPECS.items():
        if spec.prior is not None:
            if not background and name in BACKGROUND_ONLY and names is None:
                continue
            low, high = spec.prior
            out.append(FitParameter(name, low, high, spec.log_prior, PRIOR_REASONS.get(name, "see SPECS")))
    for name, (low, high, log, reason) in EXTRA_PRIORS.items():
        out.append(FitParameter(name, low, high, log, reason))
    if names is not None:
        known = {p.name: p for p in out}
        for n in names:
            if n not in known:
                from sim.yamlio import suggest
                raise UserError(f"--params: '{n}' has no prior to fit{suggest(n, list(known))}")
        out = [known[n] for n in names]
    return out


# --- one simulation -------------------------------------------------------------------------------------

@lru_cache(maxsize=16)
def _scenario(path: str):
    from sim.scenario import load_scenario

    return load_scenario(path)


STOP_CHECK_STEPS = 24
"""How often (in steps) a run with ``stop_above`` caps looks at its outputs."""


def run_summary(scenario_path: str, seed: int, values: dict[str, float],
                stop_above: tuple[tuple[str, float], ...] = (),
                stop_if: Callable[[dict[str, Any]], bool] | None = None,
                read_at_hours: tuple[float, ...] = ()) -> dict[str, Any]:
    """One run of a scenario with some parameters replaced; its scalar outcomes, and the cumulative ones at
    ``read_at_hours`` (``outcomes.TimedReadings``).

    The run ends early, checked once a day, as soon as one ``stop_above`` (cumulative output, cap) pair is
    exceeded or ``stop_if`` says so from the outputs so far; they are then lower bounds of the full run's. Why:
    in a fit, a calm year that has turned into a war costs many times a calm one to simulate to its end, and
    its lower-bound values already put it far outside any accepted distance."""
    from sim.model import BorderModel
    from sim.outcomes import TimedReadings, summarise

    scenario = _scenario(scenario_path).with_params(values)
    model = BorderModel(scenario, seed=seed, record_series=False)
    readings = TimedReadings(read_at_hours)
    checking = bool(stop_above) or stop_if is not None
    while model.running:
        model.step()
        readings.after_step(model)
        if checking and model.steps % STOP_CHECK_STEPS == 0:
            summary = {**summarise(model), **readings.read}
            if any(summary[name] > cap for name, cap in stop_above) or (stop_if is not None and stop_if(summary)):
                break
    return {**summarise(model), **readings.values(model)}


def seeds_for(values: dict[str, float], base_seed: int, n: int) -> list[int]:
    """Per-episode seeds from the base seed and the parameter values' bits (reproducible anywhere)."""
    words = np.asarray([values[k] for k in sorted(values)], dtype=np.float64).view(np.uint32).tolist()
    children = np.random.SeedSequence([int(base_seed), *words]).spawn(n)
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


def replicate_key(key: str, replicate: int) -> str:
    """The summary-statistic name of target ``key`` in run ``replicate`` of a particle. Replicate 0 keeps the
    plain key, so a fit with one replicate stores exactly what fits stored before replicates existed."""
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

        Episodes run shortest first, each ``replicates`` times. A run stops, and the runs after it are skipped,
        once the distance's lower bound (the finished runs' distances plus
        :func:`~sim.targets.distance_lower_bound` of the run in progress, over ``replicates``) exceeds ``eps``:
        such a particle could not be accepted, so giving it up changes nothing but the time spent (a calm year
        costs 10-20 runs of an episode). Seeds stay tied to the episodes' order in the targets file, replicate
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
            stop_if = (None if math.isinf(eps)
                       else (lambda summary: spent + distance_lower_bound(summary, fitted) > limit))
            for r in range(self.replicates):
                seed = seeds[r * len(self.episodes) + position[episode.id]]
                summary = run_summary(str(episode.scenario), seed, values, episode.stop_above, stop_if,
                                      episode.read_at_hours)
                run = {t.key: sim_value(summary, t.reads, episode, self.censor) for t in episode.targets}
                out.update({replicate_key(k, r): v for k, v in run.items()})
                spent += distance(run, fitted)
                if spent > limit:
                    return out, False
        return out, True


@dataclass(frozen=True)
class ScaledDistance:
    """pyabc distance: sum of squared range-scaled deviations over the fitted targets, averaged over a
    particle's replicate runs. Picklable.

    Why a mean over replicates: one run's distance is mostly the run's luck (session 18: at the shipped medians
    the expected distance of a run is 2,610 and 2,963 at two seeds, while refit C's last generation accepted
    only runs below 291), so a particle is accepted for a lucky run more than for its parameters. The mean of
    ``replicates`` runs estimates the expected distance that ``calibration/compare_posteriors.py`` ranks fits
    by, with less of that luck."""

    targets: tuple[Target, ...]
    replicates: int = 1

    def __call__(self, x: dict, x_0: dict) -> float:
        targets = list(self.targets)
        runs = [{t.key: x.get(replicate_key(t.key, r), math.nan) for t in targets} for r in range(self.replicates)]
        return sum(distance(run, targets) for run in runs) / self.replicates


# --- the fit --------------------------------------------------------------------------------------------

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
    ``--min-acceptance`` lowers it for a fit that is meant to run that long (session 26)."""
    history: Path | None = None
    """Where pyabc's database is kept, so that ``resume`` can continue the fit; None: a temporary file."""
    resume: bool = False
    """Continue the fit stored in ``history`` for up to ``generations`` more generations. Why: a fit on two
    cores stops at its time cap while the posterior is still broad (session 18: 90% intervals up to two decades
    wide after 7 generations), and each further generation costs about twice the last."""
    replicates: int = 1
    """Runs of each episode per particle (``--replicates``); the distance is their mean. A simulation in
    ``budget`` is one particle, so it costs ``replicates`` runs of each episode."""
    min_ess_fraction: float = 0.1
    """The posterior is the last generation whose effective sample size is at least this share of the
    population. Why: a late generation can put nearly all its weight on one or two particles (session 6: ESS 1.2
    of 150 after five good generations); its median is then one particle's, and an earlier, slightly wider
    generation is the better posterior."""


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

    from sim.abc_model import EarlyRejectingModel

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
            return run_ensemble(tasks, ex, on_result=lambda _: advance(1))


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
        return cls(REPO / "calibration" / "fitted.yaml", REPO / "calibration" / "posterior.csv",
                   REPO / "results" / "calibration")


def fitted_document(result: FitResult, paths: OutputPaths, episodes_file: Path, quick: bool) -> dict[str, Any]:
    rel = os.path.relpath(paths.posterior, paths.fitted.parent)
    s = result.settings
    return {
        "values": {k: float(f"{v:.6g}") for k, v in {**result.fixed, **result.medians()}.items()},
        "fixed": sorted(result.fixed),
        "posterior_draws": rel,
        "made_by": {
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "method": "ABC-SMC (pyabc), uniform priors (log10-uniform where marked), distance = sum of squared "
                      "range-scaled deviations (calibration/README.md)",
            "quick": quick,
            "episodes": result.episodes,
            "episodes_file": {"path": str(episodes_file), "sha256": file_sha256(episodes_file)},
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
            "history": None if s.history is None else str(s.history),
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


def write_fit(result: FitResult, paths: OutputPaths, episodes_file: Path, quick: bool) -> None:
    """posterior.csv then fitted.yaml, each via a temporary file and a rename."""
    paths.fitted.parent.mkdir(parents=True, exist_ok=True)
    paths.posterior.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(paths.posterior, result.draws.to_csv(index=False, float_format="%.6g"))
    doc = fitted_document(result, paths, episodes_file, quick)
    header = ("# Written by `bordersim calibrate` (sim/calibration.py): posterior medians of the fitted parameters.\n"
              "# A scenario uses them with `parameters: {file: ../calibration/fitted.yaml}`; do not edit by hand.\n")
    write_text_atomic(paths.fitted, header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110))


# --- the command ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CalibrateOptions:
    episodes_file: Path = DEFAULT_EPISODES_FILE
    episodes: tuple[str, ...] | None = None
    budget: int | None = None
    population: int | None = None
    generations: int | None = None
    minutes: float | None = None
    workers: int | None = None
    quick: bool = False
    out: Path | None = None
    quiet: bool = False
    seed: int = 20240501
    scheduler: str | None = None
    params: tuple[str, ...] | None = None
    out_of_sample: bool = False
    history: Path | None = None
    resume: bool = False
    replicates: int = 1
    min_acceptance: float | None = None
    draws: int = 200
    predictive_runs: int = 100


def settings_for(options: CalibrateOptions) -> FitSettings:
    base = FitSettings(**QUICK) if options.quick else FitSettings()
    changes: dict[str, Any] = {"seed": options.seed, "quiet": options.quiet, "scheduler": options.scheduler,
                               "workers": options.workers or os.cpu_count() or 1, "params": options.params,
                               "history": options.history, "resume": options.resume,
                               "replicates": options.replicates}
    if options.budget is not None:
        changes["budget"] = options.budget
        # a budget well above the default lets the fit run longer too (about 0.2 s per simulation per core)
        changes["walltime_minutes"] = max(base.walltime_minutes, options.budget * options.replicates * 0.25 / 60.0
                                          / changes["workers"])
    if options.minutes is not None:
        changes["walltime_minutes"] = float(options.minutes)
    if options.population is not None:
        changes["population"] = options.population
    if options.generations is not None:
        changes["generations"] = options.generations
    if options.min_acceptance is not None:
        changes["min_acceptance"] = options.min_acceptance
    import dataclasses

    return dataclasses.replace(base, **changes)


def check_history(options: CalibrateOptions) -> None:
    """``--history`` / ``--resume`` / ``--generations 0`` make sense together, before anything is run: a new fit
    never writes into an existing database (pyabc would add a second run to it), and a resume needs one."""
    if options.resume and options.history is None:
        raise UserError("--resume needs --history FILE: the database of the fit to continue")
    if options.generations == 0 and not options.resume:
        raise UserError("--generations 0 runs no generation: it needs --resume --history FILE, whose stored posterior "
                        "then gives fitted.yaml and the report anew")
    if options.history is None:
        return
    if options.out_of_sample:
        raise UserError("--history keeps one fit's database; --out-of-sample makes two fits")
    if options.resume and not Path(options.history).is_file():
        raise UserError(f"--resume: {options.history} does not exist (a fit run with --history FILE writes it)")
    if not options.resume and Path(options.history).exists():
        raise UserError(f"--history: {options.history} exists; add --resume to continue that fit, or choose "
                        "another file")


def calibrate(options: CalibrateOptions) -> OutputPaths:
    """The whole command: check the targets, fit, resample, predict, write fitted.yaml and the report."""
    from sim import calibration_report as report

    all_targets = load_targets(options.episodes_file)          # checked before anything is run or written
    chosen = all_targets.select(list(options.episodes) if options.episodes else None)
    settings = settings_for(options)
    check_history(options)
    paths = OutputPaths.choose(options.out, options.quick)
    n_draws = 40 if options.quick else options.draws
    n_pred = 12 if options.quick else options.predictive_runs

    if options.out_of_sample:
        report.out_of_sample(all_targets, settings, paths, n_draws, n_pred, options.quick)
        return paths

    result = fit(chosen, settings)
    result.draws = resample(result, n_draws, settings.seed + 1)
    predictions = report.predict_all(all_targets, result, settings, n_pred, options.quick)
    report.write_report(paths.report, all_targets, chosen, result, predictions, paths, options.quick)
    write_fit(result, paths, all_targets.path, options.quick)
    say(f"wrote {paths.fitted}, {paths.posterior} and {paths.report}/", options.quiet)
    return paths
