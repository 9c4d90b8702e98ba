"""``bordersim compare``: mediation strategies side by side, with paired seeds and honest uncertainty.

Every strategy is run on the same scenario with the same per-run seeds (run ``i`` of every strategy uses
``derive_seeds(base, runs)[i]``): common random numbers, so the difference between two strategies in run
``i`` is due to the strategies and not to luck, and differences are paired by run index. With
``posterior=True`` run ``i`` of every strategy also uses the same draw of the calibrated parameters
(draw ``i mod n_draws`` of ``calibration/fitted.yaml``'s ``posterior_draws``), so the ranking carries the
calibration's uncertainty.

Results (``results/compare/<scenario>/``, written completely or not at all):

* ``runs.csv``: one row per strategy and run (the run summary, totals, ceasefire survival time);
* ``districts.csv``: one row per strategy, run and district (peak displaced);
* ``table.csv`` / ``table.md``: per strategy, mean, median and 5–95% interval of each outcome, and the
  probabilities of heavy weapons (L3+), of a relapse and of a ceasefire collapsing back into war;
* ``differences.csv``: mean paired difference of each strategy against the baseline with a bootstrap 95%
  CI (resampling run indices), and the shares of runs where the strategy did better / worse;
* ``ranking.csv``; ``report.md`` (ranking, differences and tables together);
* ``curves.csv``, ``survival.csv`` and the figures ``curves.png`` (escalation, deaths, displaced: median
  and 5–95% band per strategy on shared axes), ``forest.png`` (differences with CIs) and ``survival.png``
  (Kaplan–Meier curves of the time from the first agreed ceasefire to its first violation);
* ``manifest.json`` as for ``bordersim run``, plus strategies, baseline, executor and posterior.

Finished runs are checkpointed in ``results/compare/.<scenario>.partial/`` (one small file per run,
written atomically) so that ``resume=True`` finishes an interrupted comparison without redoing them; the
folder is removed once the comparison is written.

This module plans, runs and writes a comparison; the statistics are in :mod:`sim.experiments.comparison_stats`, the
figures in :mod:`sim.experiments.comparison_plots` and the calibrated posterior in :mod:`sim.experiments.posterior`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import re
import shutil
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from sim.engine.outcomes import phase_names
from sim.errors import Interrupted, UserError
from sim.experiments.comparison_stats import (BOOTSTRAP_RESAMPLES, CURVES, DIFF_OUTCOMES, RELAPSE_WINDOW_HOURS,
                                  ceasefire_survival, paired_differences, ranking, strategy_table,
                                  survival_table)
from sim.experiments.comparison_stats import kaplan_meier  # noqa: F401 - re-exported: tests use sim.experiments.compare.kaplan_meier
from sim.experiments.budget import COMPARE, check_fits, estimate
from sim.experiments.ensemble import Executor, RunTask, batches, derive_seeds, run_task_batch
from sim.experiments.executors import ClusterLost, describe, make_executor
from sim.experiments.posterior import Posterior, load_posterior
from sim.experiments.sensitivity import scalar_outcomes
from sim.input.builtin import scenario_file
from sim.input.limits import check_runs, check_scenario
from sim.input.scenario import (Scenario, ScenarioSpec, available_strategies, load_scenario,
                                strategy_path)
from sim.output.tables import split_districts, with_happened
from sim.input.yamlio import load_model, suggest
from sim.output.guard import claim_output, disk_errors
from sim.output.results import atomic_dir, file_sha256, manifest, portable_path, read_json, write_json, write_text_atomic
from sim.progress import progress, say


# --- planning -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """A checked comparison: what to run, before anything runs or is written."""

    scenario: Scenario  # loaded with the baseline strategy
    labels: tuple[str, ...]
    strategy_files: dict[str, Path]
    strategy_hashes: dict[str, str]
    baseline: str
    base_seed: int
    runs: int
    seeds: tuple[int, ...]
    posterior: Posterior | None
    tasks: tuple[RunTask, ...]
    code_hash: str = ""

    def key(self, task: RunTask) -> str:
        """Identifies a run's inputs (scenario files, strategy, parameters, seed, posterior draw and the
        model's source code): a checkpoint is reused only for exactly the same run."""
        text = json.dumps([self.strategy_hashes[task.label], task.run, task.seed, list(task.overrides),
                           self.code_hash], default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def parse_strategies(text: str | Sequence[str]) -> list[str]:
    """``'a,b,c'`` (or a list) into names; UserError when empty."""
    items = text.split(",") if isinstance(text, str) else list(text)
    names = [str(n).strip() for n in items if str(n).strip()]
    if not names:
        raise UserError("--strategies: give at least one strategy name (comma-separated), e.g. none,csto_monitors")
    return names


def make_plan(scenario_path: str | Path, strategies: str | Sequence[str], runs: int | None = None,
              baseline: str | None = None, seed: int | None = None, posterior: bool = False,
              fitted: str | Path | None = None, allow_large: bool = False) -> Plan:
    """Check everything a comparison needs (names, files, sizes, posterior) and build its tasks."""
    path = scenario_file(scenario_path)
    names = parse_strategies(strategies)
    known = available_strategies(path)
    labels: list[str] = []
    for name in names:
        if not name.endswith((".yaml", ".yml")) and name not in known:
            hint = suggest(name, known)
            listing = f"; available: {', '.join(known)}" if "did you mean" in hint else ""
            raise UserError(f"--strategies: unknown strategy '{name}'{hint}{listing}")
        label = Path(name).stem if name.endswith((".yaml", ".yml")) else name
        if label in labels:
            raise UserError(f"--strategies: '{label}' is named twice")
        labels.append(label)
    if baseline is None:
        baseline = "none" if "none" in labels else labels[0]
    elif baseline not in labels:
        raise UserError(f"--baseline: '{baseline}' is not one of the compared strategies"
                        f"{suggest(baseline, labels)}")
    specs = dict(zip(labels, names))
    scenarios = {label: load_scenario(path, specs[label]) for label in labels}
    base_scenario = scenarios[baseline]
    base_seed = base_scenario.spec.seed if seed is None else int(seed)
    check_scenario(base_scenario, allow_large)
    given = runs is not None
    runs = base_scenario.spec.runs if runs is None else int(runs)
    if runs < 1:
        raise UserError(f"--runs: expected at least 1 run, got {runs}")
    check_runs(runs, "--runs" if given else f"{path}: runs", allow_large)
    post = load_posterior(fitted) if posterior else None
    seeds = derive_seeds(base_seed, runs)
    abs_path = str(path.resolve())
    files = {label: strategy_path(path, specs[label], given=True).resolve() for label in labels}
    tasks = tuple(RunTask(abs_path, s, i, str(files[label]), post.overrides(i) if post else (), label)
                  for label in labels for i, s in enumerate(seeds))
    hashes = {label: sc.hash() for label, sc in scenarios.items()}
    return Plan(base_scenario, tuple(labels), files, hashes, baseline, base_seed, runs, tuple(seeds), post,
                tasks, code_hash())


def code_hash() -> str:
    """SHA-256 over the package's source files: checkpoints made by other code are not reused."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for file in sorted(package.rglob("*.py")):
        digest.update(file.relative_to(package).as_posix().encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


# --- one run, reduced where it ran -----------------------------------------------------------------------
@dataclass
class RunRecord:
    """What a comparison keeps of one run: its summary, three curves and its ceasefire survival time."""

    strategy: str
    run: int
    seed: int
    summary: dict[str, Any]
    curves: dict[str, list[int]] = field(repr=False)
    survival_hours: float  # first agreement -> first violation (or -> end of run, censored); NaN: never agreed
    violated: bool

    def to_json(self, key: str) -> dict[str, Any]:
        return {"key": key, **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RunRecord":
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls)})


def compare_tasks(tasks: Sequence[RunTask]) -> list[RunRecord]:
    """Run a batch of tasks and reduce each run to a :class:`RunRecord` (in the worker, so little data travels
    back)."""
    result = run_task_batch(tasks)
    series = result.series
    assert series is not None
    deaths = (series["deaths_kg_military"] + series["deaths_tj_military"] + series["deaths_kg_civilian"]
              + series["deaths_tj_civilian"])
    displaced = series["displaced_kg"] + series["displaced_tj"]
    hours = series["hour"][:, 0].astype(float)
    phases = phase_names(series["ceasefire_phase"])
    records = []
    for i, (task, summary) in enumerate(zip(tasks, result.summary_rows())):
        curves = {"max_rung": series["max_rung"][:, i].tolist(), "deaths_total": deaths[:, i].tolist(),
                  "displaced_total": displaced[:, i].tolist()}
        survival, violated = ceasefire_survival(hours, phases[:, i])
        records.append(RunRecord(task.label, task.run, task.seed, summary, curves, survival, violated))
    return records


def compare_task(task: RunTask) -> RunRecord:
    """One task alone: the same record as in any batch."""
    return compare_tasks([task])[0]


# --- running, with checkpoints --------------------------------------------------------------------------
def partial_dir(out: Path) -> Path:
    """The hidden work folder of an unfinished comparison, next to its results folder."""
    out = Path(out)
    return out.parent / f".{out.name}.partial"


def _checkpoint_name(label: str, run: int) -> str:
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', label)}--{run:06d}.json"


def _load_checkpoints(folder: Path, plan: Plan) -> dict[tuple[str, int], RunRecord]:
    done: dict[tuple[str, int], RunRecord] = {}
    if not folder.is_dir():
        return done
    wanted = {_checkpoint_name(t.label, t.run): t for t in plan.tasks}
    for file in folder.glob("*.json"):
        task = wanted.get(file.name)
        if task is None:
            continue
        try:
            data = read_json(file)
        except (OSError, ValueError):
            continue  # a damaged checkpoint is simply redone
        if data.get("key") == plan.key(task):
            done[(task.label, task.run)] = RunRecord.from_json(data)
    return done


def execute(plan: Plan, executor: Executor, checkpoints: Path | None = None, resume: bool = False,
            quiet: bool = True, on_run: Callable[[RunRecord], None] | None = None
            ) -> tuple[list[RunRecord], int]:
    """Run the plan's tasks not already checkpointed; returns every record in task order and the number
    of records taken from checkpoints."""
    done: dict[tuple[str, int], RunRecord] = {}
    if checkpoints is not None:
        if resume:
            done = _load_checkpoints(checkpoints, plan)
            say(f"resuming: {len(done)} of {len(plan.tasks)} runs already done" if done
                else "resume: no finished runs to reuse; starting from the beginning", quiet)
        elif checkpoints.exists():
            say(f"discarding the checkpoints of an unfinished comparison in {checkpoints} "
                "(use --resume to continue it)", quiet)
            shutil.rmtree(checkpoints)
    resumed = len(done)
    todo = [t for t in plan.tasks if (t.label, t.run) not in done]
    description = f"{plan.scenario.name}: {len(plan.labels)} strategies x {plan.runs} runs"
    try:
        workers = getattr(executor, "workers", None) or 1
        groups = [[todo[i] for i in ix] for ix in batches(todo, workers)]
        with executor as ex, progress(len(todo), description, quiet) as advance:
            for records in ex.map(compare_tasks, groups) if todo else ():
                for record in records:
                    if checkpoints is not None:
                        with disk_errors(checkpoints):
                            checkpoints.mkdir(parents=True, exist_ok=True)
                            write_json(checkpoints / _checkpoint_name(record.strategy, record.run),
                                       record.to_json(plan.key(_task_of(plan, record))), compact=True)
                    done[(record.strategy, record.run)] = record
                    advance(1)
                    if on_run is not None:
                        on_run(record)
    except ClusterLost as exc:
        kept = (f"{len(done)} of {len(plan.tasks)} runs are checkpointed: once the cluster has workers again, "
                "run the same command with --resume") if checkpoints is not None else "no runs were kept"
        raise UserError(f"{exc}; {kept}") from None
    except KeyboardInterrupt as exc:
        if checkpoints is not None and done:
            signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
            raise Interrupted(signum, f"{len(done)} of {len(plan.tasks)} runs are checkpointed; finish with "
                              "--resume") from None
        raise
    return [done[(t.label, t.run)] for t in plan.tasks], resumed


def _task_of(plan: Plan, record: RunRecord) -> RunTask:
    return plan.tasks[plan.labels.index(record.strategy) * plan.runs + record.run]


def runs_frame(plan: Plan, records: Sequence[RunRecord]) -> pd.DataFrame:
    """One row per strategy and run: the summary, totals, censored stabilisation time, survival time."""
    horizon = float(plan.scenario.spec.duration_hours)
    rows = []
    for r in records:
        row: dict[str, Any] = {"strategy": r.strategy, "run": r.run, "seed": r.seed}
        if plan.posterior is not None:
            row["draw"] = plan.posterior.draw_number(r.run)
        row.update(r.summary)
        scalars = scalar_outcomes(r.summary)
        row.update({k: scalars[k] for k in ("deaths_total", "injured_total", "peak_displaced_total")})
        row["deaths_total"] = int(row["deaths_total"])
        row["injured_total"] = int(row["injured_total"])
        row["peak_displaced_total"] = int(row["peak_displaced_total"])
        row["relapse"] = bool(r.summary["relapses"] > 0)
        row["collapse"] = bool(r.summary["collapses"] > 0)
        stab, onset = scalars["hours_to_stabilisation"], scalars["onset_hour"]
        row["hours_to_stabilisation_censored"] = (
            stab if not math.isnan(stab) else (0.0 if math.isnan(onset) else horizon - onset))
        row["ceasefire_survival_hours"] = r.survival_hours
        row["ceasefire_violated"] = bool(r.violated)
        rows.append(row)
    return pd.DataFrame(rows)


def curves_table(plan: Plan, records: Sequence[RunRecord]) -> pd.DataFrame:
    """Per strategy, step and curve: median and 5–95% quantiles across runs."""
    dt = plan.scenario.spec.step_hours
    frames = []
    for label in plan.labels:
        recs = [r for r in records if r.strategy == label]
        for curve in CURVES:
            arr = np.array([r.curves[curve] for r in recs], dtype=float)
            q = np.quantile(arr, [0.5, 0.05, 0.95], axis=0)
            steps = np.arange(arr.shape[1])
            frames.append(pd.DataFrame({"strategy": label, "curve": curve, "step": steps, "hour": steps * dt,
                                        "median": q[0], "p5": q[1], "p95": q[2], "mean": arr.mean(axis=0)}))
    return pd.concat(frames, ignore_index=True)


# --- the library call -----------------------------------------------------------------------------------
def default_out(scenario_path: str | Path) -> Path:
    """``results/compare/<scenario name>``."""
    return Path("results") / "compare" / load_model(scenario_file(scenario_path), ScenarioSpec).name


def compare_strategies(scenario: str | Path, strategies: str | Sequence[str], runs: int | None = None,
                       baseline: str | None = None, seed: int | None = None,
                       executor: Executor | str = "local", workers: int | None = 1,
                       scheduler: str | None = None, posterior: bool = False,
                       fitted: str | Path | None = None, out: str | Path | None = None, resume: bool = False,
                       quiet: bool = True, on_run: Callable[[RunRecord], None] | None = None,
                       force: bool = False, allow_large: bool = False) -> pd.DataFrame:
    """Run every strategy on the same seeds and return the per-run outcomes (one row per strategy and run).

    Args:
        scenario: scenario YAML file; strategies are looked up in ``strategies/`` beside it.
        strategies: names (or ``.yaml`` paths relative to the scenario), a list or ``'a,b,c'``.
        runs: runs per strategy (default: the scenario's ``runs``); seed: base seed (default: the scenario's).
        baseline: the strategy differences are taken against (default ``none`` if compared, else the first).
        executor: an :class:`~sim.experiments.ensemble.Executor`, or ``'local'`` / ``'dask'`` with ``workers`` and
            ``scheduler``. Results are identical whatever executes them.
        posterior: draw each run's parameters from the calibrated posterior in ``fitted``
            (default ``calibration/fitted.yaml``).
        out: if given, write the results folder there (see module docstring) and checkpoint finished runs
            next to it; ``resume`` reuses the checkpoints of an interrupted comparison.
        on_run: called in this process after each finished (and checkpointed) run.
        force: replace an existing results folder ``out`` (otherwise it is kept and the comparison refused
            before it starts); allow_large: lift the bounds of ``sim.input.limits``.

    The analyses are :func:`~sim.experiments.comparison_stats.strategy_table`,
    :func:`~sim.experiments.comparison_stats.paired_differences` and :func:`~sim.experiments.comparison_stats.ranking` on the frame.
    """
    plan = make_plan(scenario, strategies, runs, baseline, seed, posterior, fitted, allow_large)
    if resume and out is None:
        raise UserError("--resume needs the results folder of the comparison to resume (out)")
    if isinstance(executor, str):
        executor = make_executor(executor, workers, scheduler)
    job = estimate(len(plan.tasks), plan.scenario.n_steps, len(plan.scenario.geography.spec.places),
                   getattr(executor, "workers", None) or 1, COMPARE)
    check_fits(job, f"{plan.scenario.name}: {len(plan.labels)} strategies x {plan.runs} runs", quiet)
    with claim_output(Path(out), force, needed=int(job.disk)) if out is not None else contextlib.nullcontext():
        return _compare(plan, executor, out, resume, quiet, on_run)


def _compare(plan: Plan, executor: Executor, out: str | Path | None, resume: bool, quiet: bool,
             on_run: Callable[[RunRecord], None] | None) -> pd.DataFrame:
    """:func:`compare_strategies` once everything is checked and the output claimed."""
    checkpoints = partial_dir(Path(out)) if out is not None else None
    info: dict[str, Any] = {}

    def record_executor(record: RunRecord) -> None:
        if not info:
            info.update(describe(executor))
        if on_run is not None:
            on_run(record)

    records, resumed = execute(plan, executor, checkpoints, resume, quiet, record_executor)
    if not info:
        info.update(describe(executor))
    frame = runs_frame(plan, records)
    if out is not None:
        write_comparison(Path(out), plan, records, frame, info, resumed)
        if checkpoints is not None and checkpoints.exists():
            shutil.rmtree(checkpoints, ignore_errors=True)
        say(f"wrote {out}/ ({len(plan.labels)} strategies x {plan.runs} runs, baseline '{plan.baseline}')", quiet)
    return frame


# --- writing --------------------------------------------------------------------------------------------
def write_comparison(out: Path, plan: Plan, records: Sequence[RunRecord], runs: pd.DataFrame,
                     executor_info: dict[str, Any], resumed: int = 0) -> None:
    # Imported here, not at the top: Dask workers import this module for compare_task and need no matplotlib.
    from sim.experiments.comparison_plots import plot_curves, plot_forest, plot_survival

    table = strategy_table(runs, plan.labels)
    diffs = paired_differences(runs, plan.baseline, seed=plan.base_seed)
    ranks = ranking(diffs)
    curves = curves_table(plan, records)
    survival = survival_table(runs)
    spec = plan.scenario.spec.model_copy(update={"seed": plan.base_seed, "runs": plan.runs})
    scenario = dataclasses.replace(plan.scenario, spec=spec)
    extra = {"comparison": {
        "strategies": {label: {"file": portable_path(plan.strategy_files[label]),
                               "sha256": file_sha256(plan.strategy_files[label])} for label in plan.labels},
        "baseline": plan.baseline,
        "runs_per_strategy": plan.runs,
        "common_random_numbers": "run i of every strategy uses seeds.per_run[i]",
        "executor": executor_info,
        "posterior": plan.posterior.info() if plan.posterior is not None else None,
        "bootstrap": {"resamples": BOOTSTRAP_RESAMPLES, "seed": plan.base_seed, "ci": 0.95,
                      "pairing": "by run index"},
        "resumed_runs": resumed,
    }}
    meta = manifest(scenario, list(plan.seeds), extra)
    with atomic_dir(out) as tmp:
        run_table, districts = split_districts(runs, plan.scenario.geography, keys=("strategy", "run"))
        with_happened(run_table).to_csv(tmp / "runs.csv", index=False)
        districts.to_csv(tmp / "districts.csv", index=False)
        table.to_csv(tmp / "table.csv", index=False)
        diffs.to_csv(tmp / "differences.csv", index=False)
        ranks.to_csv(tmp / "ranking.csv", index=False)
        curves.to_csv(tmp / "curves.csv", index=False)
        survival.to_csv(tmp / "survival.csv", index=False)
        write_text_atomic(tmp / "table.md", table_markdown(plan, table))
        write_text_atomic(tmp / "report.md", report_markdown(plan, table, diffs, ranks))
        plot_curves(curves, plan.scenario.spec.start, plan.scenario.name, plan.labels, tmp / "curves.png")
        plot_forest(diffs, plan.baseline, plan.labels, tmp / "forest.png")
        plot_survival(survival, runs, plan.labels, tmp / "survival.png")
        write_json(tmp / "manifest.json", meta)


def _fmt(value: float, kind: str = "count") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if kind == "probability":
        return f"{value:.0%}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def _notes(plan: Plan) -> list[str]:
    spec = plan.scenario.spec
    horizon_days = spec.duration_hours / 24
    notes = [
        f"- Seeds are paired: run *i* of every strategy uses the same seed (base seed {plan.base_seed}).",
        "- Hours are counted from the onset (the first incident of the run). *Hours to a ceasefire that holds* "
        "is the time to stabilisation; the table gives it over the runs where it happened (column *runs*); "
        "the differences count a run that never stabilised as stabilising at the end of the scenario "
        "(censored), so they understate the gain of strategies that make stabilisation possible.",
        f"- *P(relapse within 30 days)*: share of runs with renewed armed fire after stabilisation. It can only "
        f"be observed within the scenario's horizon of {spec.duration_hours:g} h ({horizon_days:.1f} days)"
        + (", so it is a lower bound of the 30-day probability." if spec.duration_hours < RELAPSE_WINDOW_HOURS
           else "."),
        "- *P(heavy weapons, L3+)*: share of runs in which armour, artillery, MLRS, drones or aircraft were used.",
        "- *P(a ceasefire collapses back into war)*: share of runs in which a government re-armed to mortars or "
        "heavier (L2+) during a breach of a ceasefire (or, with forces deployed for war, in the lull before it), as "
        "on 16 Sep 2022, rather than the breach being patched.",
    ]
    if plan.posterior is not None:
        notes.append(f"- Parameters drawn from the calibrated posterior ({len(plan.posterior.draws)} draws in "
                     f"`{portable_path(plan.posterior.draws_file)}`); run *i* of every strategy uses draw *i* mod "
                     f"{len(plan.posterior.draws)}, so the intervals include calibration uncertainty.")
    else:
        notes.append("- Parameters fixed at the scenario's values: intervals show the model's randomness only, "
                     "not calibration uncertainty (see `--posterior`).")
    return notes


def table_markdown(plan: Plan, table: pd.DataFrame) -> str:
    lines = [f"# {plan.scenario.name}: outcomes by strategy ({plan.runs} runs each)", ""]
    for label in plan.labels:
        sub = table[table["strategy"] == label]
        lines += [f"## {label}" + (" (baseline)" if label == plan.baseline else ""), "",
                  "| outcome | mean | median | 5% | 95% | runs |", "|---|---|---|---|---|---|"]
        for _, row in sub.iterrows():
            kind = row["kind"]
            lines.append(f"| {row['label']} | {_fmt(row['mean'], kind)} | {_fmt(row['median'], kind)} | "
                         f"{_fmt(row['p5'], kind)} | {_fmt(row['p95'], kind)} | {row['runs']} |")
        lines.append("")
    lines += ["Notes:", "", *_notes(plan)]
    return "\n".join(lines) + "\n"


def report_markdown(plan: Plan, table: pd.DataFrame, diffs: pd.DataFrame, ranks: pd.DataFrame) -> str:
    spec = plan.scenario.spec
    lines = [f"# Strategy comparison: {plan.scenario.name}", "", spec.description.strip(), "",
             f"{len(plan.labels)} strategies x {plan.runs} paired runs; baseline `{plan.baseline}`; "
             "differences are strategy minus baseline, mean over runs with a bootstrap 95% CI.", "",
             "## Ranking (by mean difference in total deaths, ties by peak displaced)", "",
             "| rank | strategy | deaths vs baseline [95% CI] | peak displaced vs baseline [95% CI] | verdict |",
             "|---|---|---|---|---|"]
    for _, r in ranks.iterrows():
        lines.append(f"| {r['rank']} | {r['strategy']} | {r['deaths_diff']:+.2f} [{r['deaths_ci_lo']:+.2f}, "
                     f"{r['deaths_ci_hi']:+.2f}] | {r['displaced_diff']:+,.0f} [{r['displaced_ci_lo']:+,.0f}, "
                     f"{r['displaced_ci_hi']:+,.0f}] | {r['verdict']} |")
    lines += ["", "## Paired differences against the baseline", ""]
    lines.append("| outcome | " + " | ".join(l for l in plan.labels if l != plan.baseline) + " |")
    lines.append("|---|" + "---|" * (len(plan.labels) - 1))
    for o in DIFF_OUTCOMES:
        cells = []
        for label in plan.labels:
            if label == plan.baseline:
                continue
            row = diffs[(diffs["strategy"] == label) & (diffs["outcome"] == o.column)].iloc[0]
            if o.kind == "probability":
                cells.append(f"{row['mean_diff'] * 100:+.1f} pp [{row['ci_lo'] * 100:+.1f}, {row['ci_hi'] * 100:+.1f}]")
            else:
                cells.append(f"{row['mean_diff']:+.2f} [{row['ci_lo']:+.2f}, {row['ci_hi']:+.2f}]")
        lines.append(f"| {o.label} | " + " | ".join(cells) + " |")
    lines += ["", "## Outcomes by strategy", "", "| strategy | deaths (median [5–95%]) | civilian deaths | "
              "peak displaced | hours to holding ceasefire | violations | P(L3+) | P(relapse) |",
              "|---|---|---|---|---|---|---|---|"]
    for label in plan.labels:
        sub = table[table["strategy"] == label].set_index("outcome")

        def cell(col: str) -> str:
            r = sub.loc[col]
            if r["kind"] == "probability":
                return _fmt(r["mean"], "probability")
            return f"{_fmt(r['median'])} [{_fmt(r['p5'])}–{_fmt(r['p95'])}]"

        lines.append(f"| {label} | {cell('deaths_total')} | {cell('civilian_deaths')} | "
                     f"{cell('peak_displaced_total')} | {cell('hours_to_stabilisation')} | {cell('violations')} | "
                     f"{cell('heavy_weapons')} | {cell('relapse')} |")
    lines += ["", "Full tables: `table.md` / `table.csv`; every run: `runs.csv`; figures: `curves.png`, "
              "`forest.png`, `survival.png`.", "", "Notes:", "", *_notes(plan)]
    return "\n".join(lines) + "\n"
