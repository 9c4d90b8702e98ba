"""The ``bordersim`` command line: parses arguments and calls the library; prints user errors briefly."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from sim.errors import UserError, interrupt_outcome, signals_interrupt


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


def _output_options(parser: argparse.ArgumentParser, sizes: bool = True) -> None:
    """``--force`` (replace existing results) and, where the user sets sizes, ``--allow-large``."""
    parser.add_argument("--force", action="store_true",
                        help="replace existing results (by default an existing results folder is kept and the "
                             "command refused)")
    if sizes:
        _size_option(parser)


def _size_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-large", action="store_true",
                        help="lift the limits on duration (43,800 h), step (0.25 h), steps (35,040), places (2,000) "
                             "and runs (100,000); the check of memory and disk still applies")


EXAMPLES = """examples:
  bordersim run sept2022 --runs 20                 a shipped scenario by name, 20 runs into results/sept2022/
  bordersim run my/scenario.yaml --strategy my/s.yaml   files relative to where you are
  bordersim compare sept2022 --strategies none,csto_monitors --runs 100
  bordersim list segments                          ids, ends, status and resource of every border segment
  bordersim schema > scenario.schema.json          JSON Schema for editors (docs/scenarios.md)
"""

RUN_EXAMPLES = """examples:
  bordersim run sept2022                           the shipped September 2022 scenario, its 100 runs
  bordersim run april2021 --runs 200 --seed 7 --out results/apr
  bordersim run sept2022 --strategy csto_monitors --posterior
  bordersim run my/scenario.yaml --strategy my/strategy.yaml
"""

COMPARE_EXAMPLES = """examples:
  bordersim compare sept2022 --strategies none,documented_2022,csto_monitors --runs 200
  bordersim compare my/scenario.yaml --strategies none,my/strategy.yaml --baseline none
"""

LIST_EXAMPLES = """examples:
  bordersim list segments                          the shipped geography's border segments
  bordersim list places --csv > places.csv
  bordersim list strategies --scenario my/scenario.yaml   strategies beside a scenario and the shipped ones
"""


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("bordersim")
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown (not installed)"


def _parser(sub: argparse._SubParsersAction, name: str, help: str, examples: str | None = None,
            **kwargs) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".", epilog=examples,
                          formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)


SCENARIO_HELP = "scenario YAML file (relative to the working directory) or a shipped scenario's name (sept2022)"


def build_parser() -> argparse.ArgumentParser:
    from sim.input.catalogue import KINDS

    parser = argparse.ArgumentParser(prog="bordersim", description=(
        "Agent-based simulation of tension, clashes, ceasefires and mediation on the Kyrgyz-Tajik border."),
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = _parser(sub, "run", "run a scenario (an ensemble of seeded runs) and write results", RUN_EXAMPLES)
    run.add_argument("scenario", help=SCENARIO_HELP)
    run.add_argument("--seed", type=_seed, help="base seed (default: the scenario's)")
    run.add_argument("--runs", type=_positive_int, help="number of runs (default: the scenario's)")
    run.add_argument("--out", type=Path, help="results folder (default: results/<scenario name>)")
    run.add_argument("--strategy", help="mediation strategy, replacing the scenario's: a name (beside the "
                     "scenario, else shipped) or a file relative to the working directory")
    run.add_argument("--account", help="run under one party's account of a contested fact (the scenario's "
                     "'accounts'); default: the scenario as written, taking no side")
    run.add_argument("--workers", type=_positive_int, help="processes to use (default: all cores)")
    run.add_argument("--quiet", action="store_true", help="no progress output")
    run.add_argument("--posterior", action="store_true",
                     help="draw each run's parameters from the calibrated posterior (run i uses draw i mod n) "
                          "instead of the posterior medians: ranges then include calibration uncertainty")
    run.add_argument("--fitted", type=Path, help="calibration file for --posterior (default: the shipped "
                     "calibration/fitted.yaml)")
    _output_options(run)

    validate = _parser(sub, "validate", "check a scenario and everything it names, without running",
                       "examples:\n  bordersim validate my/scenario.yaml\n")
    validate.add_argument("scenario", help=SCENARIO_HELP)
    _size_option(validate)

    listing = _parser(sub, "list", "list the ids a scenario can name: places, segments, mediators, strategies "
                      "or the shipped scenarios", LIST_EXAMPLES)
    listing.add_argument("kind", choices=KINDS)
    listing.add_argument("--scenario", default="sept2022", help="whose geography, mediators and strategies "
                         "(default: sept2022, the shipped ones)")
    listing.add_argument("--csv", action="store_true", help="comma-separated values instead of aligned columns")

    schema = _parser(sub, "schema", "print the JSON Schema of scenario or strategy files (for editors)",
                     "examples:\n  bordersim schema > scenario.schema.json\n  bordersim schema strategy\n")
    schema.add_argument("kind", nargs="?", choices=("scenario", "strategy"), default="scenario")

    plot = sub.add_parser("plot", help="redraw the figures of a results folder from its saved tables")
    plot.add_argument("results", type=Path)

    compare = _parser(sub, "compare", "compare mediation strategies on paired seeds, with bootstrap CIs",
                      COMPARE_EXAMPLES)
    compare.add_argument("scenario", help=SCENARIO_HELP)
    compare.add_argument("--strategies", required=True,
                         help="comma-separated strategies: names (beside the scenario, else shipped) or files "
                              "relative to the working directory")
    compare.add_argument("--runs", type=_positive_int, help="runs per strategy (default: the scenario's)")
    compare.add_argument("--baseline", help="strategy to take differences against (default: none, else the first)")
    compare.add_argument("--seed", type=_seed, help="base seed (default: the scenario's)")
    compare.add_argument("--workers", type=_positive_int, help="worker processes (default: all cores)")
    compare.add_argument("--executor", choices=("local", "dask"), default="local",
                         help="local process pool, or Dask distributed (default: local)")
    compare.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786 "
                         "(default with --executor dask: start a local cluster)")
    compare.add_argument("--posterior", action="store_true",
                         help="draw each run's parameters from the calibrated posterior even if the scenario does "
                              "not run with the calibration's values (it is the default when it does)")
    compare.add_argument("--fixed-parameters", action="store_true",
                         help="keep the calibrated parameters at the scenario's values instead of drawing them "
                              "from the posterior")
    compare.add_argument("--fixed-effects", action="store_true",
                         help="keep the mediation effects and mediators' leverage at their shipped values "
                              "instead of drawing them from their priors")
    compare.add_argument("--fixed-chance", action="store_true",
                         help="give every run the same seed: only the drawn inputs vary")
    compare.add_argument("--delays", help="comma-separated hours (e.g. 0,6,12,24,48,72): run each strategy with its "
                         "first action moved to that many hours after it is first due, and report the cost of "
                         "waiting (when to act)")
    compare.add_argument("--fitted", type=Path, help="calibration file of the posterior "
                         "(default: calibration/fitted.yaml)")
    compare.add_argument("--out", type=Path, help="results folder (default: results/compare/<scenario name>)")
    compare.add_argument("--quiet", action="store_true", help="no progress output")
    compare.add_argument("--resume", action="store_true",
                         help="finish an interrupted comparison without redoing its finished runs")
    _output_options(compare)

    sens = sub.add_parser("sensitivity", help="global sensitivity analysis (SALib: Sobol or Morris) of the outcomes "
                          "and of strategy differences to every input with a prior")
    sens.add_argument("scenario", type=Path, help="scenario YAML file")
    sens.add_argument("--strategies", help="comma-separated strategies; differences are taken against none (if "
                      "given) or the first (default: the scenario's strategy alone)")
    sens.add_argument("--method", choices=("sobol", "morris"), default="sobol",
                      help="sobol: first-order and total indices (Saltelli sampling); morris: screening (default: sobol)")
    sens.add_argument("--samples", type=_positive_int, default=32,
                      help="Sobol: base samples N, a power of two (runs: N x (inputs + 2) per strategy); Morris: "
                           "trajectories (runs: N x (inputs + 1) per strategy) (default: 32)")
    sens.add_argument("--replicates", type=_positive_int, default=1,
                      help="seeds every parameter set is run with, outputs averaged over them (default: 1)")
    sens.add_argument("--seed", type=_seed, default=20240601, help="seed of the sample and the runs (default: 20240601)")
    sens.add_argument("--workers", type=_positive_int, help="processes (default: all cores)")
    sens.add_argument("--out", type=Path, help="results folder (default: results/sensitivity/<scenario name>)")
    sens.add_argument("--quiet", action="store_true", help="no progress output")
    sens.add_argument("--force", action="store_true", help="replace an existing results folder")

    hor = sub.add_parser("horizon", help="incidents and lethal incidents per year under strategies that act over "
                         "years (paired runs, as compare)")
    hor.add_argument("scenario", type=Path, help="scenario YAML file (e.g. scenarios/delimitation_2023_2025.yaml)")
    hor.add_argument("--strategies", required=True, help="comma-separated strategy names, e.g. none,delimitation_record")
    hor.add_argument("--runs", type=_positive_int, help="runs per strategy (default: the scenario's)")
    hor.add_argument("--baseline", help="strategy to take differences against (default: none, else the first)")
    hor.add_argument("--seed", type=_seed, help="base seed (default: the scenario's)")
    hor.add_argument("--workers", type=_positive_int, help="processes (default: all cores)")
    hor.add_argument("--fixed-parameters", action="store_true", help="keep the calibrated parameters at the "
                     "scenario's values instead of drawing them from the posterior")
    hor.add_argument("--fixed-effects", action="store_true", help="keep the mediation effects and leverage at "
                     "their shipped values instead of drawing them from their priors")
    hor.add_argument("--out", type=Path, help="results folder (default: results/horizon/<scenario name>)")
    hor.add_argument("--quiet", action="store_true", help="no progress output")
    hor.add_argument("--force", action="store_true", help="replace an existing results folder")

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
    cal.add_argument("--ablate", metavar="MECHANISMS",
                     help="with --cross-validate: run the protocol again with each of these mechanisms switched off "
                          "(comma-separated, or 'all'), beside the full model, and write what each buys out of "
                          "sample into results/validation/ablation/ (or --out)")
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
    _output_options(cal, sizes=False)
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
    _output_options(score)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage and the error (status 2) or the help (0)
        return int(exc.code or 0)
    with signals_interrupt():
        try:
            return _dispatch(args)
        except UserError as err:
            print(f"bordersim: error: {err}", file=sys.stderr)
            return err.exit_code
        except KeyboardInterrupt as exc:
            message, code = interrupt_outcome(exc)
            print(f"bordersim: {message}", file=sys.stderr)
            return code
        except Exception as exc:
            from sim.output.guard import disk_error_message

            if (message := disk_error_message(exc)) is None:
                raise
            print(f"bordersim: error: {message}", file=sys.stderr)
            return 2


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        from sim.experiments.simulate import RunOptions, run_scenario

        run_scenario(args.scenario, RunOptions(args.seed, args.runs, args.out, args.strategy,
                                               args.workers, args.quiet, args.posterior, args.fitted,
                                               args.account, args.force, args.allow_large))
    elif args.command == "validate":
        from sim.input.scenario import load_scenario

        from sim.input.limits import check_scenario

        sc = load_scenario(args.scenario)
        check_scenario(sc, args.allow_large)
        geo = sc.geography
        print(f"{args.scenario}: ok — {len(geo.spec.places)} places, {geo.n_segments} border segments, "
              f"{len(sc.triggers)} triggers, strategy '{sc.strategy.name}' with {len(sc.strategy.actions)} "
              f"actions, {sc.n_steps} steps of {sc.spec.step_hours:g} h")
    elif args.command == "list":
        from sim.input.catalogue import catalogue, format_table

        header, rows = catalogue(args.kind, args.scenario)
        if args.csv:
            import csv

            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
        else:
            print(format_table((header, rows)))
    elif args.command == "schema":
        import json

        from sim.input.scenario import scenario_schema, strategy_schema

        print(json.dumps(scenario_schema() if args.kind == "scenario" else strategy_schema(), indent=2))
    elif args.command == "plot":
        from sim.experiments.simulate import redraw

        for path in redraw(args.results):
            print(path)
    elif args.command == "compare":
        from sim.experiments.compare import compare_strategies, default_out

        if args.posterior and args.fixed_parameters:
            raise UserError("--posterior and --fixed-parameters contradict each other; give one")
        posterior = True if args.posterior else (False if args.fixed_parameters else None)
        options = dict(runs=args.runs, baseline=args.baseline, seed=args.seed, executor=args.executor,
                       workers=args.workers, scheduler=args.scheduler, posterior=posterior, fitted=args.fitted,
                       resume=args.resume, quiet=args.quiet, effects=not args.fixed_effects,
                       chance=not args.fixed_chance, force=args.force, allow_large=args.allow_large)
        if args.delays is not None:
            from sim.experiments.when import compare_delays, default_when_out, parse_delays

            compare_delays(args.scenario, args.strategies, parse_delays(args.delays),
                           out=args.out or default_when_out(args.scenario), **options)
        else:
            compare_strategies(args.scenario, args.strategies, out=args.out or default_out(args.scenario),
                               **options)
    elif args.command == "sensitivity":
        from sim.experiments.global_sensitivity import run_sensitivity

        run_sensitivity(args.scenario, args.strategies, args.method, args.samples, args.replicates, args.seed,
                        args.workers, args.out, args.quiet, force=args.force)
    elif args.command == "horizon":
        from sim.experiments.horizon import run_horizon

        run_horizon(args.scenario, args.strategies, runs=args.runs, baseline=args.baseline, seed=args.seed,
                    workers=args.workers, posterior=False if args.fixed_parameters else None,
                    effects=not args.fixed_effects, out=args.out, quiet=args.quiet, force=args.force)
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
            method=args.method, cross_validate=args.cross_validate, force=args.force,
            check_coverage=args.check_coverage, ablate=_list(args.ablate)))
    elif args.command == "score":
        from sim.calibration.record import DEFAULT_OUT, ScoreOptions, score_record
        from sim.calibration.targets import DEFAULT_EPISODES_FILE

        ids = tuple(x.strip() for x in args.episodes.split(",") if x.strip()) if args.episodes else None
        score_record(ScoreOptions(args.episodes_file or DEFAULT_EPISODES_FILE, ids, args.runs, args.seed,
                                  args.posterior, args.workers, args.out or DEFAULT_OUT, args.quiet, args.force,
                                  args.allow_large))
    return 0


if __name__ == "__main__":
    sys.exit(main())
