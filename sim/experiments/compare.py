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
from sim.experiments.comparison_report import Analyses, report_markdown, table_markdown
from sim.experiments.comparison_stats import (BOOTSTRAP_RESAMPLES, CURVES,
                                  ceasefire_survival, difference_distribution, drivers, drivers_table,
                                  mixtures, paired_differences, ranking, ranks_table, strategy_table,
                                  survival_table)
from sim.experiments.comparison_stats import kaplan_meier  # noqa: F401 - re-exported: tests use sim.experiments.compare.kaplan_meier
from sim.experiments.budget import COMPARE, check_fits, estimate
from sim.experiments.ensemble import Executor, RunTask, batches, derive_seeds, run_task_batch
from sim.experiments.executors import ClusterLost, describe, make_executor
from sim.experiments.posterior import Posterior, load_posterior
from sim.experiments.sensitivity import scalar_outcomes
from sim.experiments.uncertainty import EffectPriors, UncertainInput, posterior_inputs, relevant
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
    effects: EffectPriors | None = None
    """The mediation effects' and leverage priors drawn per run; None: the shipped values, fixed."""
    chance: bool = True
    """Each run its own seed; False: every run repeats the first seed (chance switched off)."""

    def key(self, task: RunTask) -> str:
        """Identifies a run's inputs (scenario files, strategy, parameters, leverage, seed, posterior draw and
        the model's source code): a checkpoint is reused only for exactly the same run."""
        text = json.dumps([self.strategy_hashes[task.label], task.run, task.seed, list(task.overrides),
                           list(task.leverage), self.code_hash], default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def inputs(self) -> list[UncertainInput]:
        """Every input drawn per run (calibrated parameters, effects, leverage), for the driver analysis."""
        out = posterior_inputs(self.posterior.draws) if self.posterior is not None else []
        if self.effects is not None:
            out += [i for i in self.effects.inputs if not i.fixed]
        return out

    def relevant_inputs(self) -> dict[str, list[UncertainInput]]:
        """Per strategy, the inputs its difference from the baseline can depend on: the calibrated
        parameters, and the effects and leverage of the instruments and mediators it or the baseline use."""
        base = load_scenario(self.scenario.path, str(self.strategy_files[self.baseline])).strategy.actions
        return {label: relevant(self.inputs(), [*base, *load_scenario(
                    self.scenario.path, str(self.strategy_files[label])).strategy.actions])
                for label in self.labels if label != self.baseline}

    def input_values(self, run: int) -> dict[str, float]:
        """Run ``run``'s value of every input of :meth:`inputs`."""
        values: dict[str, float] = {}
        if self.posterior is not None:
            values.update(dict(self.posterior.overrides(run)))
        if self.effects is not None:
            values.update(self.effects.values(run))
        return values


def parse_strategies(text: str | Sequence[str]) -> list[str]:
    """``'a,b,c'`` (or a list) into names; UserError when empty."""
    items = text.split(",") if isinstance(text, str) else list(text)
    names = [str(n).strip() for n in items if str(n).strip()]
    if not names:
        raise UserError("--strategies: give at least one strategy name (comma-separated), e.g. none,csto_monitors")
    return names


def make_plan(scenario_path: str | Path, strategies: str | Sequence[str], runs: int | None = None,
              baseline: str | None = None, seed: int | None = None, posterior: bool | None = None,
              fitted: str | Path | None = None, effects: bool | EffectPriors = True, chance: bool = True,
              allow_large: bool = False) -> Plan:
    """Check everything a comparison needs (names, files, sizes, posterior) and build its tasks.

    ``posterior``: draw the calibrated parameters per run; None (the default) does so when the scenario runs
    with the calibration's values (``parameters: {set: fitted}``). ``effects``: draw the mediation effects and
    the mediators' leverage from their priors (True: those of ``SPECS`` and the registry; or the given
    priors). ``chance``: False repeats one seed in every run."""
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
    if posterior is None:
        posterior = base_scenario.spec.parameters.set == "fitted"
    post = load_posterior(fitted) if posterior else None
    if isinstance(effects, EffectPriors):
        priors: EffectPriors | None = effects
    else:
        priors = EffectPriors.for_registry(base_scenario.registry, base_seed) if effects else None
    seeds = derive_seeds(base_seed, runs)
    if not chance:
        seeds = [seeds[0]] * runs
    abs_path = str(path.resolve())
    files = {label: strategy_path(path, specs[label], given=True).resolve() for label in labels}
    drawn = [_run_inputs(post, priors, i) for i in range(runs)]
    tasks = tuple(RunTask(abs_path, s, i, str(files[label]), drawn[i][0], label, leverage=drawn[i][1])
                  for label in labels for i, s in enumerate(seeds))
    hashes = {label: sc.hash() for label, sc in scenarios.items()}
    return Plan(base_scenario, tuple(labels), files, hashes, baseline, base_seed, runs, tuple(seeds), post,
                tasks, code_hash(), priors, chance)


def _run_inputs(post: Posterior | None, priors: EffectPriors | None, run: int
                ) -> tuple[tuple[tuple[str, float], ...], tuple[tuple[str, float, float], ...]]:
    """Run ``run``'s parameter overrides (posterior draw, then effect draws) and leverage draw."""
    overrides = dict(post.overrides(run)) if post is not None else {}
    leverage: tuple[tuple[str, float, float], ...] = ()
    if priors is not None:
        effect_overrides, leverage = priors.task_fields(run)
        overrides.update(effect_overrides)
    return tuple(sorted(overrides.items())), leverage


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
    keys = [i.key for i in plan.inputs()]
    inputs = {run: {k: values[k] for k in keys if k in values}
              for run, values in ((run, plan.input_values(run)) for run in range(plan.runs))}
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
        row.update({f"input:{k}": v for k, v in inputs[r.run].items()})
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
                       scheduler: str | None = None, posterior: bool | None = None,
                       fitted: str | Path | None = None, out: str | Path | None = None, resume: bool = False,
                       quiet: bool = True, on_run: Callable[[RunRecord], None] | None = None,
                       effects: bool | EffectPriors = True, chance: bool = True,
                       force: bool = False, allow_large: bool = False) -> pd.DataFrame:
    """Run every strategy on the same seeds and return the per-run outcomes (one row per strategy and run).

    Args:
        scenario: scenario YAML file; strategies are looked up in ``strategies/`` beside it.
        strategies: names (or ``.yaml`` paths relative to the scenario), a list or ``'a,b,c'``.
        runs: runs per strategy (default: the scenario's ``runs``); seed: base seed (default: the scenario's).
        baseline: the strategy differences are taken against (default ``none`` if compared, else the first).
        executor: an :class:`~sim.experiments.ensemble.Executor`, or ``'local'`` / ``'dask'`` with ``workers`` and
            ``scheduler``. Results are identical whatever executes them.
        posterior: draw each run's calibrated parameters from the posterior in ``fitted`` (default
            ``calibration/fitted.yaml``); None: when the scenario runs with the calibration's values.
        effects: draw each run's mediation effects and mediators' leverage from their priors
            (:mod:`sim.experiments.uncertainty`; or from the given :class:`EffectPriors`); False: the shipped
            values.
        chance: False gives every run the same seed, leaving only the drawn inputs to vary.
        out: if given, write the results folder there (see module docstring) and checkpoint finished runs
            next to it; ``resume`` reuses the checkpoints of an interrupted comparison.
        on_run: called in this process after each finished (and checkpointed) run.
        force: replace an existing results folder ``out`` (otherwise it is kept and the comparison refused
            before it starts); allow_large: lift the bounds of ``sim.input.limits``.

    The analyses are :func:`~sim.experiments.comparison_stats.strategy_table`,
    :func:`~sim.experiments.comparison_stats.paired_differences` and :func:`~sim.experiments.comparison_stats.ranking` on the frame.
    """
    plan = make_plan(scenario, strategies, runs, baseline, seed, posterior, fitted, effects, chance, allow_large)
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
    distribution = difference_distribution(runs, plan.baseline)
    rank_dist = ranks_table(runs, plan.labels)
    found = drivers(runs, plan.baseline, plan.relevant_inputs())
    parts = mixtures(runs, plan.labels)
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
        "effect_priors": plan.effects.info() if plan.effects is not None else None,
        "chance": "each run its own seed" if plan.chance else "every run repeats seeds.per_run[0]",
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
        distribution.to_csv(tmp / "difference_distribution.csv", index=False)
        rank_dist.to_csv(tmp / "ranks.csv", index=False)
        drivers_table(found).to_csv(tmp / "drivers.csv", index=False)
        parts.to_csv(tmp / "mixtures.csv", index=False)
        write_text_atomic(tmp / "table.md", table_markdown(plan, table))
        write_text_atomic(tmp / "report.md", report_markdown(plan, table, diffs, ranks,
                                                             Analyses(distribution, rank_dist, found, parts)))
        plot_curves(curves, plan.scenario.spec.start, plan.scenario.name, plan.labels, tmp / "curves.png")
        plot_forest(diffs, plan.baseline, plan.labels, tmp / "forest.png")
        plot_survival(survival, runs, plan.labels, tmp / "survival.png")
        write_json(tmp / "manifest.json", meta)
