"""The ``bordersim`` command line: parses arguments and calls the library; prints user errors briefly."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from sim.errors import UserError


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a seed >= 0, got {value}")
    return value


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

    validate = sub.add_parser("validate", help="check a scenario and everything it names, without running")
    validate.add_argument("scenario", type=Path)

    plot = sub.add_parser("plot", help="redraw the figures of a results folder from its saved tables")
    plot.add_argument("results", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
        from sim.simulate import RunOptions, run_scenario

        run_scenario(args.scenario, RunOptions(args.seed, args.runs, args.out, args.strategy,
                                               args.workers, args.quiet))
    elif args.command == "validate":
        from sim.scenario import load_scenario

        sc = load_scenario(args.scenario)
        geo = sc.geography
        print(f"{args.scenario}: ok — {len(geo.spec.places)} places, {geo.n_segments} border segments, "
              f"{len(sc.triggers)} triggers, strategy '{sc.strategy.name}' with {len(sc.strategy.actions)} "
              f"actions, {sc.n_steps} steps of {sc.spec.step_hours:g} h")
    elif args.command == "plot":
        from sim.simulate import redraw

        for path in redraw(args.results):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
