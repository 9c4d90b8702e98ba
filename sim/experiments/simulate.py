"""``bordersim run`` and ``bordersim plot`` as library calls: run an ensemble, write and redraw results."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.experiments.comparison_stats import happened
from sim.experiments.ensemble import (LocalExecutor, RunResult, run_ensemble, series_frame, summaries_frame,
                          tasks_for)
from sim.experiments.budget import RUN, check_fits, estimate
from sim.experiments.posterior import Posterior, load_posterior
from sim.input.geography import load_geography
from sim.input.limits import check_runs, check_scenario
from sim.input.scenario import Scenario, load_scenario
from sim.output import html_map, maps, plots
from sim.output.guard import claim_output
from sim.output.tables import has_series, read_series, split_districts, with_happened, write_series
from sim.output.results import (atomic_dir, manifest, portable_path, read_json, recorded_path, write_json,
                         write_text_atomic)
from sim.progress import progress, say

KEY_OUTCOMES = ("deaths_kg", "deaths_tj", "civilian_deaths", "injured_kg", "injured_tj", "peak_displaced_kg",
                "peak_displaced_tj", "hours_to_first_ceasefire", "ceasefire_agreements", "violations",
                "hours_to_stabilisation", "max_rung", "segments_involved")


@dataclass(frozen=True)
class RunOptions:
    seed: int | None = None
    runs: int | None = None
    out: Path | None = None
    strategy: str | None = None
    workers: int | None = None
    quiet: bool = False
    posterior: bool = False
    """Draw each run's parameters from the calibrated posterior (run i uses draw i mod n) instead of running
    every seed at the scenario's values (the posterior medians). Why: the model's outcomes are far from linear
    in its parameters, so the runs at the median vector are not the runs of a typical posterior draw; only
    the draws show what the calibration leaves uncertain (calibration/README.md)."""
    fitted: Path | None = None
    """The calibration file whose ``posterior_draws`` ``posterior`` uses (default calibration/fitted.yaml)."""
    account: str | None = None
    """One of the scenario's contested accounts (``accounts``), or None: the scenario as written."""
    force: bool = False
    """Replace an existing results folder (otherwise it is kept and the run refused before it starts)."""
    allow_large: bool = False
    """Lift the bounds on duration, step, runs and places (``sim.input.limits``)."""


def run_scenario(path: str | Path, options: RunOptions = RunOptions()) -> Path:
    """Run a scenario's ensemble and write its results folder; returns the folder.

    Everything that can fail is checked before the first run: the inputs and their sizes, the estimate of
    time, memory and disk, and the output folder (writable, not in use, not replacing results unless
    ``force``)."""
    scenario = load_scenario(path, options.strategy, options.account)
    check_scenario(scenario, options.allow_large)
    seed = scenario.spec.seed if options.seed is None else options.seed
    runs = scenario.spec.runs if options.runs is None else options.runs
    if runs < 1:
        raise UserError(f"--runs: expected at least 1 run, got {runs}")
    check_runs(runs, "--runs" if options.runs is not None else f"{scenario.path}: runs", options.allow_large)
    out = Path(options.out or scenario.spec.output or Path("results") / scenario.name)
    strategy = str(scenario.strategy_file.resolve()) if options.strategy and scenario.strategy_file else None
    # a handful of runs is cheaper in this process than through a pool; never more workers than runs
    workers = min(options.workers or (1 if runs < 8 else os.cpu_count() or 1), runs)
    job = estimate(runs, scenario.n_steps, len(scenario.geography.spec.places), workers, RUN)
    check_fits(job, f"{scenario.name}: {runs} runs", options.quiet)
    post = load_posterior(options.fitted) if options.posterior else None
    with claim_output(out, options.force, needed=int(job.disk)):
        tasks = tasks_for(scenario.path, seed, runs, strategy, account=options.account)
        if post is not None:
            tasks = [dataclasses.replace(t, overrides=post.overrides(t.run)) for t in tasks]
        with LocalExecutor(workers) as executor, progress(runs, f"{scenario.name}: runs", options.quiet) as advance:
            results = run_ensemble(tasks, executor, on_result=lambda _: advance(1), workers=workers)
        write_results(out, scenario, seed, results, post)
    say(f"wrote {out}/ ({runs} runs)", options.quiet)
    return out


def write_results(out: Path, scenario: Scenario, base_seed: int, results: list[RunResult],
                  posterior: Posterior | None = None) -> None:
    summary, districts = split_districts(summaries_frame(results), scenario.geography)
    summary = with_happened(summary)
    if posterior is not None:
        summary.insert(2, "draw", [posterior.draw_number(r.task.run) for r in results])
    series = series_frame(results)
    series.insert(2, "time", [t.isoformat() for t in _times(scenario, series["hour"])])
    segments = pd.DataFrame([{"run": r.task.run, "segment": seg, "peak_rung": int(peak)}
                             for r in results for seg, peak in zip(scenario.geography.segment_ids,
                                                                  r.segment_peaks)])
    spec = scenario.spec.model_copy(update={"seed": base_seed, "runs": len(results)})
    meta = manifest(dataclasses.replace(scenario, spec=spec), [r.task.seed for r in results],
                    {"posterior": posterior.info() if posterior is not None else None})
    with atomic_dir(out) as tmp:
        write_series(series, tmp)
        summary.to_csv(tmp / "summary.csv", index=False)
        segments.to_csv(tmp / "segments.csv", index=False)
        districts.to_csv(tmp / "districts.csv", index=False)
        write_text_atomic(tmp / "report.md", report_markdown(scenario, summary, posterior))
        write_json(tmp / "manifest.json", meta)
        draw_figures(tmp, series, summary, segments, scenario.spec.start, scenario.name,
                     load_geography(scenario.geography.path), meta)


def redraw(results_dir: str | Path) -> list[Path]:
    """Redraw the figures of a results folder from its saved tables (``bordersim plot``)."""
    folder = Path(results_dir)
    needed = ["manifest.json", "summary.csv", "segments.csv"]
    missing = [n for n in needed if not (folder / n).is_file()]
    if not has_series(folder):
        missing.insert(1, "series.parquet")
    if missing:
        raise UserError(f"{folder}: not a complete results folder (missing {', '.join(missing)})")
    meta = read_json(folder / "manifest.json")
    geo_path = recorded_path(meta["scenario"]["geography"])
    if not geo_path.is_file():
        raise UserError(f"{folder}/manifest.json: scenario.geography: file not found: {geo_path}")
    start = datetime.fromisoformat(meta["scenario"]["start"])
    return draw_figures(folder, read_series(folder), pd.read_csv(folder / "summary.csv"),
                        pd.read_csv(folder / "segments.csv"), start, meta["scenario"]["name"],
                        load_geography(geo_path), meta)


def draw_figures(folder: Path, series: pd.DataFrame, summary: pd.DataFrame, segments: pd.DataFrame,
                 start: datetime, name: str, geo: Any, meta: dict[str, Any] | None = None) -> list[Path]:
    """The figures of a results folder: escalation curves, the map, and the interactive map (which replays
    one run from the seed in ``meta``, the folder's manifest)."""
    return [plots.plot_escalation(series, summary, start, name, folder / "escalation.png"),
            maps.plot_map(geo, segments, name, folder / "map.png"),
            html_map.write_html_map(folder / "map.html", geo, series, summary, segments, start, name, meta)]


def report_markdown(scenario: Scenario, summary: pd.DataFrame, posterior: Posterior | None = None) -> str:
    """A short human-readable table: median and 5–95% range of the key outcomes."""
    if posterior is None:
        params = ("Every run uses the scenario's parameters; the ranges are run-to-run chance only, not "
                  "calibration uncertainty (`--posterior` draws the parameters too).")
    else:
        params = (f"Run *i* draws its parameters from the calibrated posterior (draw *i* mod "
                  f"{len(posterior.draws)} of `{portable_path(posterior.draws_file)}`), so the ranges include calibration "
                  f"uncertainty.")
    lines = [f"# {scenario.name}: {len(summary)} runs", "", scenario.spec.description.strip(), "",
             f"Strategy: `{scenario.strategy.name}`. Hours are counted from the first incident. {params} "
             "*Runs where it happened*: runs with a count above zero, or in which the moment was reached; "
             "the median and range of an hour are over those runs only.", "",
             *account_lines(scenario),
             "| outcome | median | 5% | 95% | runs where it happened |", "|---|---|---|---|---|"]
    for col in KEY_OUTCOMES:
        values = summary[col].astype(float)
        ok = values.dropna()
        if ok.empty:
            lines.append(f"| {col} | never happened | | | 0 of {len(values)} |")
            continue
        q = np.quantile(ok, [0.5, 0.05, 0.95])
        lines.append(f"| {col} | {q[0]:.0f} | {q[1]:.0f} | {q[2]:.0f} | "
                     f"{happened(values, 'hours' if col.startswith('hours_') else 'count')} |")
    levels = summary["max_level"].value_counts()
    shares = ", ".join(f"{lvl} {n / len(summary):.0%}" for lvl, n in sorted(levels.items()))
    heavy = summary["heavy_weapons"].astype(bool).mean()
    lines += ["", f"Highest level reached (facts-sheet coding): {shares}. "
              f"Share of runs reaching heavy weapons (L3+): {heavy:.0%}.",
              "", "`max_rung` counts rungs: 0 is calm and rung n is the facts sheet's level L(n-1). Hours are taken "
              "over the runs where the event happened; in `summary.csv` an empty `hours_to_*` cell means it never "
              "happened in that run (`happened_*` is 0)."]
    return "\n".join(lines) + "\n"


def account_lines(scenario: Scenario) -> list[str]:
    """What a report says about the record's contested readings: which one the runs used and which others the
    scenario offers (each a paragraph), or nothing when the scenario has none."""
    accounts = scenario.spec.accounts
    if not accounts:
        return []
    if scenario.account is None:
        used = "These runs take no side: the scenario as written, with no contested claim applied."
    else:
        says = " ".join(accounts[scenario.account].says.split()).rstrip(".")
        used = f"These runs follow one party's account, `{scenario.account}`: {says}."
    others = [f"`{name}`" for name in accounts if name != scenario.account]
    offer = ("Other readings of the contested record: " + ", ".join(others + ([] if scenario.account is None else
             ["none (as written)"])) + " (`--account NAME`).")
    return [f"**Contested record.** {used} {offer}", ""]


def _times(scenario: Scenario, hours: pd.Series) -> list[datetime]:
    return [scenario.spec.start + timedelta(hours=float(h)) for h in hours]
