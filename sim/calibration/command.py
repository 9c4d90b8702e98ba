"""``bordersim calibrate``: check the options, run the fit (:mod:`sim.calibration.fit`) and write its report
(:mod:`sim.calibration.report`)."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.calibration.fit import QUICK, FitSettings, OutputPaths, resample, write_fit
from sim.calibration.crossval import CrossValidation
from sim.calibration.method import run_fit
from sim.calibration.targets import DEFAULT_EPISODES_FILE, TargetSet, load_targets
from sim.errors import UserError
from sim.output.guard import claim_output, claim_outputs
from sim.progress import say


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
    method: str = "pyabc"
    cross_validate: bool = False
    force: bool = False
    """Replace existing outputs (fitted.yaml, posterior.csv, the report folder); otherwise they are kept and
    the command refused before the fit starts."""
    check_coverage: int | None = None
    ablate: tuple[str, ...] | None = None
    """With ``cross_validate``: the mechanisms to switch off one at a time (``sim.calibration.ablation``)."""


def settings_for(options: CalibrateOptions) -> FitSettings:
    base = FitSettings(**QUICK) if options.quick else FitSettings()
    changes: dict[str, Any] = {"seed": options.seed, "quiet": options.quiet, "scheduler": options.scheduler,
                               "workers": options.workers or os.cpu_count() or 1, "params": options.params,
                               "history": options.history, "resume": options.resume,
                               "replicates": options.replicates, "method": options.method}
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


def check_coverage(all_targets: TargetSet, options: CalibrateOptions) -> Path:
    """``--check-coverage N``: batched fits to N datasets simulated at parameters drawn from the priors
    (:mod:`sim.calibration.coverage`), by default on its cheap episodes and few parameters, at a small budget
    and with no wall-time limit, so that the numbers depend on ``--seed`` alone."""
    from sim.calibration import coverage

    for flag, given in (("--cross-validate", options.cross_validate), ("--out-of-sample", options.out_of_sample),
                        ("--history", options.history is not None), ("--resume", options.resume),
                        ("--scheduler", options.scheduler is not None)):
        if given:
            raise UserError(f"--check-coverage runs its own batched fits on this machine: drop {flag}")
    if options.generations == 0:
        raise UserError("--check-coverage: --generations 0 fits nothing; give at least 1")
    missing = [e for e in coverage.DEFAULT_EPISODES if e not in all_targets.episodes]
    if options.episodes is None and missing:
        raise UserError(f"--check-coverage: {all_targets.path} has no episode {', '.join(missing)} (the default "
                        "episodes); name the episodes to simulate with --episodes")
    targets = all_targets.select(list(options.episodes or coverage.DEFAULT_EPISODES))
    settings = dataclasses.replace(
        settings_for(options), method="batched", params=options.params or coverage.DEFAULT_PARAMS,
        population=options.population or (QUICK["population"] if options.quick else coverage.DEFAULT_POPULATION),
        generations=options.generations or (QUICK["generations"] if options.quick else coverage.DEFAULT_GENERATIONS),
        walltime_minutes=float(options.minutes) if options.minutes is not None else math.inf)
    out = Path(options.out) if options.out is not None else coverage.DEFAULT_OUT
    return coverage.check_coverage(coverage.CoverageCheck(targets, settings, options.check_coverage, out))


def ablate(targets: TargetSet, plan: CrossValidation, options: CalibrateOptions) -> Path:
    """``--cross-validate --ablate``: the leave-one-out protocol once per arm (:mod:`sim.calibration.ablation`)."""
    from sim.calibration import ablation
    from sim.calibration.simulator import _scenario

    names = tuple(ablation.MECHANISMS) if options.ablate == ("all",) else options.ablate
    arms = ablation.check_arms(names)
    if not options.params:
        raise UserError("--ablate needs --params: the free parameters of the full model, so that each arm "
                        "frees the same ones less its mechanism's")
    out = Path(options.out) if options.out is not None else ablation.DEFAULT_OUT
    first = next(iter(targets.episodes.values()))
    with claim_output(out, options.force):
        return ablation.ablate(targets, ablation.Ablation(plan, arms, out), _scenario(str(first.scenario)).params)


def calibrate(options: CalibrateOptions) -> OutputPaths:
    """The whole command: check the targets, fit, resample, predict, write fitted.yaml and the report."""
    from sim.calibration import report

    all_targets = load_targets(options.episodes_file)          # checked before anything is run or written
    if options.ablate and not options.cross_validate:
        raise UserError("--ablate runs the leave-one-out protocol once per mechanism: add --cross-validate")
    if options.check_coverage is not None:
        check_coverage(all_targets, options)
        return OutputPaths.choose(options.out, options.quick)
    if options.cross_validate:
        from sim.calibration.crossval import DEFAULT_OUT, cross_validate

        targets = all_targets.select(list(options.episodes) if options.episodes else list(all_targets.episodes))
        settings = dataclasses.replace(settings_for(options), method="batched")
        plan = CrossValidation(settings, 40 if options.quick else options.draws, DEFAULT_OUT)
        if options.ablate:
            ablate(targets, plan, options)
            return OutputPaths.choose(options.out, options.quick)
        out = Path(options.out) if options.out is not None else DEFAULT_OUT
        with claim_output(out, options.force):
            cross_validate(targets, dataclasses.replace(plan, out=out))
        return OutputPaths.choose(options.out, options.quick)
    chosen = all_targets.select(list(options.episodes) if options.episodes else None)
    settings = settings_for(options)
    check_history(options)
    paths = OutputPaths.choose(options.out, options.quick)
    n_draws = 40 if options.quick else options.draws
    n_pred = 12 if options.quick else options.predictive_runs

    if options.out_of_sample:
        with claim_output(paths.report / "out_of_sample", options.force):
            report.out_of_sample(all_targets, settings, paths, n_draws, n_pred, options.quick)
        return paths
    with claim_outputs([paths.fitted, paths.posterior, paths.report], options.force):
        return _fit_and_report(options, all_targets, chosen, settings, paths, n_draws, n_pred)


def _fit_and_report(options: CalibrateOptions, all_targets: Any, chosen: Any, settings: FitSettings,
                    paths: OutputPaths, n_draws: int, n_pred: int) -> OutputPaths:
    """The fit, its resampled draws, the predictive runs, the report and fitted.yaml (outputs claimed)."""
    from sim.calibration import report

    result = run_fit(chosen, settings)
    result.draws = resample(result, n_draws, settings.seed + 1)
    predictions = report.predict_all(all_targets, result, settings, n_pred, options.quick)
    report.write_report(paths.report, all_targets, chosen, result, predictions, paths, options.quick)
    write_fit(result, paths, all_targets.path, options.quick)
    say(f"wrote {paths.fitted}, {paths.posterior} and {paths.report}/", options.quiet)
    return paths
