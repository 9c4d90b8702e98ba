"""The ``bordersim`` command line: parses arguments and calls the library; prints user errors briefly."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from sim.errors import UserError


def _whole_number(minimum: int, what: str):
    """An argparse type for whole numbers of at least ``minimum`` (``what`` names them in errors)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what} >= {minimum}, got {value}")
        return value
    return parse


def _share(text: str) -> float:
    """An argparse type for a share in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a share above 0 and at most 1, got {text}")
    return value


_positive_int = _whole_number(1, "a number")
_count = _whole_number(0, "a number")
_seed = _whole_number(0, "a seed")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bordersim", description=(
        "Agent-based simulation of tension, clashes, ceasefires and mediation on the Kyrgyz-Tajik border."))
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario (an ensemble of seeded runs) and write results")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--seed", type=_seed, help="base seed (default: the scenario's)")
    run.add_argument("--runs", type=_positive_int, help="number of runs (default: the scenario's)")
    run.add_argument("--out", type=Path, help="results folder (default: results/<scenario name>)")
    run.add_argument("--strategy", help="mediation strategy name or file, replacing the scenario's")
    run.add_argument("--workers", type=_positive_int, help="processes to use (default: all cores)")
    run.add_argument("--quiet", action="store_true", help="no progress output")
    run.add_argument("--posterior", action="store_true",
                     help="draw each run's parameters from the calibrated posterior (run i uses draw i mod n) "
                          "instead of the posterior medians: ranges then include calibration uncertainty")
    run.add_argument("--fitted", type=Path, help="calibration file for --posterior (default: calibration/fitted.yaml)")

    validate = sub.add_parser("validate", help="check a scenario and everything it names, without running")
    validate.add_argument("scenario", type=Path)

    plot = sub.add_parser("plot", help="redraw the figures of a results folder from its saved tables")
    plot.add_argument("results", type=Path)

    compare = sub.add_parser("compare", help="compare mediation strategies on paired seeds, with bootstrap CIs")
    compare.add_argument("scenario", type=Path, help="scenario YAML file")
    compare.add_argument("--strategies", required=True,
                         help="comma-separated strategy names (strategies/<name>.yaml beside the scenario)")
    compare.add_argument("--runs", type=_positive_int, help="runs per strategy (default: the scenario's)")
    compare.add_argument("--baseline", help="strategy to take differences against (default: none, else the first)")
    compare.add_argument("--seed", type=_seed, help="base seed (default: the scenario's)")
    compare.add_argument("--workers", type=_positive_int, help="worker processes (default: all cores)")
    compare.add_argument("--executor", choices=("local", "dask"), default="local",
                         help="local process pool, or Dask distributed (default: local)")
    compare.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786 "
                         "(default with --executor dask: start a local cluster)")
    compare.add_argument("--posterior", action="store_true",
                         help="draw each run's parameters from the calibrated posterior (same draw for run i "
                              "of every strategy)")
    compare.add_argument("--fitted", type=Path, help="calibration file for --posterior "
                         "(default: calibration/fitted.yaml)")
    compare.add_argument("--out", type=Path, help="results folder (default: results/compare/<scenario name>)")
    compare.add_argument("--quiet", action="store_true", help="no progress output")
    compare.add_argument("--resume", action="store_true",
                         help="finish an interrupted comparison without redoing its finished runs")

    cal = sub.add_parser("calibrate", help="fit the free parameters to the documented episodes (ABC-SMC, pyabc)")
    cal.add_argument("--episodes", help="comma-separated episode ids from the episodes file (default: E07,E13)")
    cal.add_argument("--episodes-file", type=Path, help="targets file (default: calibration/episodes.yaml)")
    cal.add_argument("--budget", type=_positive_int, help="most simulations in total (default: 12000 within 20 min; --quick: 160)")
    cal.add_argument("--population", type=_positive_int, help="particles per generation (default: 150; --quick: 16)")
    cal.add_argument("--generations", type=_count, help="most generations (default: 10); 0 with --resume: none, "
                     "only fitted.yaml and the report anew from the stored posterior")
    cal.add_argument("--minutes", type=_positive_int, help="wall-time limit of each fit in minutes (default: 20)")
    cal.add_argument("--workers", type=_positive_int, help="processes (default: all cores)")
    cal.add_argument("--scheduler", help="Dask scheduler address (tcp://host:8786): pyabc's Dask sampler")
    cal.add_argument("--params", help="comma-separated subset of parameters to fit (default: all with a prior)")
    cal.add_argument("--quick", action="store_true",
                     help="tiny population, 2 generations (~1 min); writes to results/calibration_quick/")
    cal.add_argument("--out-of-sample", action="store_true",
                     help="fit on each episode alone and predict the other (tables in <report>/out_of_sample/)")
    cal.add_argument("--out", type=Path, help="folder for fitted.yaml, posterior.csv and report/ (default: "
                     "calibration/ and results/calibration/)")
    cal.add_argument("--history", type=Path, help="keep pyabc's database in this file (SQLite) so that the fit "
                     "can be continued with --resume (default: a temporary file)")
    cal.add_argument("--resume", action="store_true", help="continue the fit stored in --history FILE for up to "
                     "--generations more generations, within --minutes and a --budget counted over the whole fit")
    cal.add_argument("--replicates", type=_positive_int, default=1,
                     help="runs of each episode per particle, the distance being their mean: less of one run's luck "
                     "in the fit, at that many times the cost per simulation (default: 1)")
    cal.add_argument("--min-acceptance", type=_share, help="give a generation up once it needs more than "
                     "population / this many simulations; lower it to let a long fit go on to a smaller epsilon "
                     "(default: 0.02)")
    cal.add_argument("--cross-validate", action="store_true",
                     help="leave each episode out: fit on the others (batched), predict it, score it against "
                          "baselines into results/validation/leave_one_out/ (or --out)")
    cal.add_argument("--check-coverage", type=_whole_number(2, "datasets"), metavar="N",
                     help="check the method: fits to N datasets simulated at parameters drawn from the priors "
                          "(batched; default episodes E06,E08a,E10,E07, four parameters, population 40, "
                          "2 generations) and write the posteriors' coverage of the truth and rank histograms "
                          "into results/validation/coverage/ (or --out)")
    cal.add_argument("--method", choices=("pyabc", "batched"), default="pyabc",
                     help="pyabc: one candidate at a time (a database, --resume, --scheduler); batched: each "
                          "generation's candidates simulated together in batches of the engine, split over "
                          "--workers processes (default: pyabc)")
    cal.add_argument("--seed", type=_seed, default=20240501, help="base seed (default: 20240501)")
    cal.add_argument("--quiet", action="store_true", help="no progress output")
    score = sub.add_parser("score", help="score the model's forecasts of every documented episode against "
                           "naive baselines (CRPS, interval score, coverage) into results/validation/")
    score.add_argument("--episodes", help="comma-separated episode ids (default: every episode of the targets file)")
    score.add_argument("--episodes-file", type=Path, help="targets file (default: calibration/episodes.yaml)")
    score.add_argument("--runs", type=_positive_int, default=200, help="runs per episode (default: 200)")
    score.add_argument("--seed", type=_seed, default=20260101, help="base seed (default: 20260101)")
    score.add_argument("--posterior", action="store_true",
                       help="draw each run's parameters from the calibrated posterior instead of its medians")
    score.add_argument("--workers", type=_positive_int, help="processes (default: 1)")
    score.add_argument("--out", type=Path, help="results folder (default: results/validation)")
    score.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage and the error (status 2) or the help (0)
        return int(exc.code or 0)
    try:
        return _dispatch(args)
    except UserError as err:
        print(f"bordersim: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("bordersim: interrupted; no results were written", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        from sim.experiments.simulate import RunOptions, run_scenario

        run_scenario(args.scenario, RunOptions(args.seed, args.runs, args.out, args.strategy,
                                               args.workers, args.quiet, args.posterior, args.fitted))
    elif args.command == "validate":
        from sim.input.scenario import load_scenario

        sc = load_scenario(args.scenario)
        geo = sc.geography
        print(f"{args.scenario}: ok — {len(geo.spec.places)} places, {geo.n_segments} border segments, "
              f"{len(sc.triggers)} triggers, strategy '{sc.strategy.name}' with {len(sc.strategy.actions)} "
              f"actions, {sc.n_steps} steps of {sc.spec.step_hours:g} h")
    elif args.command == "plot":
        from sim.experiments.simulate import redraw

        for path in redraw(args.results):
            print(path)
    elif args.command == "compare":
        from sim.experiments.compare import compare_strategies, default_out

        compare_strategies(args.scenario, args.strategies, runs=args.runs, baseline=args.baseline,
                           seed=args.seed, executor=args.executor, workers=args.workers,
                           scheduler=args.scheduler, posterior=args.posterior, fitted=args.fitted,
                           out=args.out or default_out(args.scenario), resume=args.resume, quiet=args.quiet)
    elif args.command == "calibrate":
        from sim.calibration.command import CalibrateOptions, calibrate
        from sim.calibration.targets import DEFAULT_EPISODES_FILE

        def _list(text: str | None) -> tuple[str, ...] | None:
            return tuple(x.strip() for x in text.split(",") if x.strip()) if text else None

        calibrate(CalibrateOptions(
            episodes_file=args.episodes_file or DEFAULT_EPISODES_FILE, episodes=_list(args.episodes),
            budget=args.budget, population=args.population, generations=args.generations, minutes=args.minutes,
            workers=args.workers,
            quick=args.quick, out=args.out, quiet=args.quiet, seed=args.seed, scheduler=args.scheduler,
            params=_list(args.params), out_of_sample=args.out_of_sample, history=args.history,
            resume=args.resume, replicates=args.replicates, min_acceptance=args.min_acceptance,
            method=args.method, cross_validate=args.cross_validate, check_coverage=args.check_coverage))
    elif args.command == "score":
        from sim.calibration.record import DEFAULT_OUT, ScoreOptions, score_record
        from sim.calibration.targets import DEFAULT_EPISODES_FILE

        ids = tuple(x.strip() for x in args.episodes.split(",") if x.strip()) if args.episodes else None
        score_record(ScoreOptions(args.episodes_file or DEFAULT_EPISODES_FILE, ids, args.runs, args.seed,
                                  args.posterior, args.workers, args.out or DEFAULT_OUT, args.quiet))
    return 0


if __name__ == "__main__":
    sys.exit(main())
