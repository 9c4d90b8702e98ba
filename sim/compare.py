"""``bordersim compare``: mediation strategies side by side, with paired seeds and honest uncertainty.

Every strategy is run on the same scenario with the same per-run seeds (run ``i`` of every strategy uses
``derive_seeds(base, runs)[i]``): common random numbers, so the difference between two strategies in run
``i`` is due to the strategies and not to luck, and differences are paired by run index. With
``posterior=True`` run ``i`` of every strategy also uses the same draw of the calibrated parameters
(draw ``i mod n_draws`` of ``calibration/fitted.yaml``'s ``posterior_draws``), so the ranking carries the
calibration's uncertainty.

Results (``results/compare/<scenario>/``, written completely or not at all):

* ``runs.csv``: one row per strategy and run (the run summary, totals, ceasefire survival time);
* ``table.csv`` / ``table.md``: per strategy, mean, median and 5–95% interval of each outcome, and the
  probabilities of heavy weapons (L3+) and of a relapse;
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
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from sim import parameters
from sim.ensemble import Executor, RunTask, derive_seeds, run_task
from sim.errors import UserError
from sim.progress import progress, say
from sim.results import atomic_dir, file_sha256, manifest, read_json, write_json, write_text_atomic
from sim.scenario import Scenario, load_scenario, strategy_path
from sim.sensitivity import scalar_outcomes
from sim.yamlio import read_yaml_mapping, suggest

DEFAULT_FITTED = Path("calibration") / "fitted.yaml"
BOOTSTRAP_RESAMPLES = 2000
RELAPSE_WINDOW_HOURS = 720.0
CURVES = ("max_rung", "deaths_total", "displaced_total")
NON_PARAMETER_COLUMNS = frozenset({"draw", "chain", "iteration", "sample", "weight", "log_weight"})


@dataclass(frozen=True)
class Outcome:
    column: str
    label: str
    kind: str  # "count", "hours" or "probability"


TABLE_OUTCOMES = (
    Outcome("deaths_kg", "deaths, Kyrgyzstan", "count"),
    Outcome("deaths_tj", "deaths, Tajikistan", "count"),
    Outcome("deaths_total", "deaths, both sides", "count"),
    Outcome("civilian_deaths", "civilian deaths", "count"),
    Outcome("injured_kg", "injured, Kyrgyzstan", "count"),
    Outcome("injured_tj", "injured, Tajikistan", "count"),
    Outcome("peak_displaced_kg", "peak displaced, Kyrgyzstan", "count"),
    Outcome("peak_displaced_tj", "peak displaced, Tajikistan", "count"),
    Outcome("peak_displaced_total", "peak displaced, both sides", "count"),
    Outcome("hours_to_stabilisation", "hours from onset to a ceasefire that holds", "hours"),
    Outcome("violations", "ceasefire violations", "count"),
    Outcome("heavy_weapons", "P(heavy weapons, L3+)", "probability"),
    Outcome("relapse", "P(relapse within 30 days)", "probability"),
)

DIFF_OUTCOMES = (
    Outcome("deaths_total", "deaths, both sides", "count"),
    Outcome("deaths_kg", "deaths, Kyrgyzstan", "count"),
    Outcome("deaths_tj", "deaths, Tajikistan", "count"),
    Outcome("civilian_deaths", "civilian deaths", "count"),
    Outcome("injured_total", "injured, both sides", "count"),
    Outcome("peak_displaced_total", "peak displaced, both sides", "count"),
    Outcome("hours_to_stabilisation_censored", "hours to a ceasefire that holds (censored)", "hours"),
    Outcome("violations", "ceasefire violations", "count"),
    Outcome("heavy_weapons", "P(heavy weapons, L3+)", "probability"),
    Outcome("relapse", "P(relapse within 30 days)", "probability"),
)

FOREST_OUTCOMES = ("deaths_total", "civilian_deaths", "peak_displaced_total", "hours_to_stabilisation_censored")


# --- planning -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Posterior:
    """Parameter draws from a calibration: run ``i`` uses row ``i mod len(draws)``."""

    fitted: Path
    draws_file: Path
    draws: tuple[tuple[tuple[str, float], ...], ...]
    median: dict[str, Any]

    def overrides(self, run: int) -> tuple[tuple[str, float], ...]:
        return self.draws[run % len(self.draws)]

    def info(self) -> dict[str, Any]:
        return {"fitted": str(self.fitted), "fitted_sha256": file_sha256(self.fitted),
                "draws_file": str(self.draws_file), "draws_sha256": file_sha256(self.draws_file),
                "n_draws": len(self.draws), "parameters": [name for name, _ in self.draws[0]],
                "assignment": "run i of every strategy uses draw (i mod n_draws)"}


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


def load_posterior(fitted: str | Path | None = None) -> Posterior:
    """Read ``fitted.yaml`` (``values`` and ``posterior_draws``) and its draws CSV; UserError if missing."""
    fitted = Path(fitted) if fitted is not None else DEFAULT_FITTED
    hint = "run `bordersim calibrate` first"
    if not fitted.is_file():
        raise UserError(f"--posterior: no calibrated posterior: {fitted} not found; {hint}")
    data = read_yaml_mapping(fitted)
    rel = data.get("posterior_draws")
    if not isinstance(rel, str) or not rel:
        raise UserError(f"{fitted}: posterior_draws: expected the path of the posterior draws CSV "
                        f"(relative to {fitted.name}); {hint}")
    draws_file = fitted.parent / rel
    if not draws_file.is_file():
        raise UserError(f"{fitted}: posterior_draws: file not found: {draws_file}; {hint}")
    try:
        frame = pd.read_csv(draws_file)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UserError(f"{draws_file}: not a readable CSV of posterior draws ({exc})") from None
    columns = [c for c in frame.columns if c not in NON_PARAMETER_COLUMNS]
    if frame.empty or not columns:
        raise UserError(f"{draws_file}: no posterior draws (expected one column per parameter, one row per draw)")
    rows = []
    for i, row in enumerate(frame[columns].itertuples(index=False)):
        values = {c: _number(v, draws_file, i, c) for c, v in zip(columns, row)}
        checked = parameters.checked(values, f"{draws_file}: row {i + 2}")
        rows.append(tuple(sorted(checked.items())))
    median = data.get("values") if isinstance(data.get("values"), dict) else {}
    return Posterior(fitted, draws_file, tuple(rows), dict(median))


def _number(value: Any, path: Path, i: int, column: str) -> Any:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if math.isnan(float(value)):
            raise UserError(f"{path}: row {i + 2}, column {column}: missing value")
        return float(value)
    return value  # parameters.checked reports the wrong type


def parse_strategies(text: str | Sequence[str]) -> list[str]:
    """``'a,b,c'`` (or a list) into names; UserError when empty."""
    items = text.split(",") if isinstance(text, str) else list(text)
    names = [str(n).strip() for n in items if str(n).strip()]
    if not names:
        raise UserError("--strategies: give at least one strategy name (comma-separated), e.g. none,csto_monitors")
    return names


def available_strategies(scenario_path: str | Path) -> list[str]:
    return sorted(p.stem for p in (Path(scenario_path).parent / "strategies").glob("*.yaml"))


def make_plan(scenario_path: str | Path, strategies: str | Sequence[str], runs: int | None = None,
              baseline: str | None = None, seed: int | None = None, posterior: bool = False,
              fitted: str | Path | None = None) -> Plan:
    """Check everything a comparison needs (names, files, posterior) and build its tasks."""
    path = Path(scenario_path)
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
    runs = base_scenario.spec.runs if runs is None else int(runs)
    if runs < 1:
        raise UserError(f"--runs: expected at least 1 run, got {runs}")
    post = load_posterior(fitted) if posterior else None
    seeds = derive_seeds(base_seed, runs)
    abs_path = str(path.resolve())
    files = {label: strategy_path(path, specs[label]).resolve() for label in labels}
    tasks = tuple(RunTask(abs_path, s, i, str(files[label]), post.overrides(i) if post else (), label)
                  for label in labels for i, s in enumerate(seeds))
    hashes = {label: sc.hash() for label, sc in scenarios.items()}
    return Plan(base_scenario, tuple(labels), files, hashes, baseline, base_seed, runs, tuple(seeds), post,
                tasks, code_hash())


def code_hash() -> str:
    """SHA-256 over the package's source files: checkpoints made by other code are not reused."""
    digest = hashlib.sha256()
    for file in sorted(Path(__file__).resolve().parent.glob("*.py")):
        digest.update(file.name.encode())
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
        return {"key": key, **dataclasses.asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RunRecord":
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls)})


def compare_task(task: RunTask) -> RunRecord:
    """Run one task and reduce it to a :class:`RunRecord` (in the worker, so little data travels back)."""
    result = run_task(task)
    s = result.series
    deaths = (s["deaths_kg_military"] + s["deaths_tj_military"] + s["deaths_kg_civilian"]
              + s["deaths_tj_civilian"])
    curves = {"max_rung": s["max_rung"].astype(int).tolist(), "deaths_total": deaths.astype(int).tolist(),
              "displaced_total": (s["displaced_kg"] + s["displaced_tj"]).astype(int).tolist()}
    survival, violated = ceasefire_survival(s["hour"].to_numpy(float), s["ceasefire_phase"].to_numpy())
    summary = {k: (v.item() if hasattr(v, "item") else v) for k, v in result.summary.items()}
    return RunRecord(task.label, task.run, task.seed, summary, curves, survival, violated)


def ceasefire_survival(hours: np.ndarray, phases: np.ndarray) -> tuple[float, bool]:
    """Hours from the first agreed ceasefire to its first violation; censored at the end of the run.

    Returns ``(hours, True)`` if a violation came, ``(hours to the end, False)`` if none did, and
    ``(nan, False)`` if no ceasefire was ever agreed.
    """
    agreed = np.flatnonzero(phases == "agreed")
    if agreed.size == 0:
        return math.nan, False
    start = agreed[0]
    broken = np.flatnonzero(phases[start:] == "violated")
    if broken.size:
        return float(hours[start + broken[0]] - hours[start]), True
    return float(hours[-1] - hours[start]), False


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
        with progress(len(todo), description, quiet) as advance, executor as ex:
            for record in ex.map(compare_task, todo) if todo else ():
                if checkpoints is not None:
                    checkpoints.mkdir(parents=True, exist_ok=True)
                    write_json(checkpoints / _checkpoint_name(record.strategy, record.run),
                               record.to_json(plan.key(_task_of(plan, record))))
                done[(record.strategy, record.run)] = record
                advance(1)
                if on_run is not None:
                    on_run(record)
    except KeyboardInterrupt:
        if checkpoints is not None and done:
            say(f"interrupted after {len(done)} of {len(plan.tasks)} runs; finish with --resume", False)
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
            row["draw"] = r.run % len(plan.posterior.draws)
        row.update(r.summary)
        scalars = scalar_outcomes(r.summary)
        row.update({k: scalars[k] for k in ("deaths_total", "injured_total", "peak_displaced_total")})
        row["deaths_total"] = int(row["deaths_total"])
        row["injured_total"] = int(row["injured_total"])
        row["peak_displaced_total"] = int(row["peak_displaced_total"])
        row["relapse"] = bool(r.summary["relapses"] > 0)
        stab, onset = scalars["hours_to_stabilisation"], scalars["onset_hour"]
        row["hours_to_stabilisation_censored"] = (
            stab if not math.isnan(stab) else (0.0 if math.isnan(onset) else horizon - onset))
        row["ceasefire_survival_hours"] = r.survival_hours
        row["ceasefire_violated"] = bool(r.violated)
        rows.append(row)
    return pd.DataFrame(rows)


# --- statistics -----------------------------------------------------------------------------------------
def strategy_table(runs: pd.DataFrame, order: Sequence[str] | None = None) -> pd.DataFrame:
    """Per strategy and outcome: runs where it is defined, mean, median, 5% and 95% quantiles."""
    rows = []
    for strategy in order or list(dict.fromkeys(runs["strategy"])):
        sub = runs[runs["strategy"] == strategy]
        for o in TABLE_OUTCOMES:
            values = sub[o.column].astype(float).dropna().to_numpy()
            row = {"strategy": strategy, "outcome": o.column, "label": o.label, "kind": o.kind,
                   "runs": len(values), "mean": math.nan, "median": math.nan, "p5": math.nan,
                   "p95": math.nan}
            if len(values):
                row["mean"] = float(values.mean())
                if o.kind != "probability":
                    row["median"], row["p5"], row["p95"] = (float(q) for q in np.quantile(values, [0.5, 0.05, 0.95]))
            rows.append(row)
    return pd.DataFrame(rows)


def paired_differences(runs: pd.DataFrame, baseline: str, seed: int = 0,
                       resamples: int = BOOTSTRAP_RESAMPLES) -> pd.DataFrame:
    """Mean of (strategy - baseline) over runs paired by run index, with a percentile bootstrap 95% CI.

    The bootstrap resamples run indices with replacement (the same resamples for every strategy and
    outcome, from ``numpy.random.default_rng(seed)``). ``share_lower``/``share_higher`` are the shares of
    runs in which the strategy's value was below / above the baseline's.
    """
    columns = [o.column for o in DIFF_OUTCOMES]
    wide = runs.pivot(index="run", columns="strategy", values=columns)
    base = wide.xs(baseline, axis=1, level="strategy")[columns].to_numpy(float)
    n = base.shape[0]
    rows = []
    for strategy in dict.fromkeys(runs["strategy"]):
        values = wide.xs(strategy, axis=1, level="strategy")[columns].to_numpy(float)
        d = values - base
        means = _bootstrap_means(d, seed, resamples)
        lo, hi = np.percentile(means, [2.5, 97.5], axis=0)
        for j, o in enumerate(DIFF_OUTCOMES):
            rows.append({"strategy": strategy, "baseline": baseline, "outcome": o.column, "label": o.label,
                         "runs": n, "mean_baseline": float(base[:, j].mean()),
                         "mean_strategy": float(values[:, j].mean()), "mean_diff": float(d[:, j].mean()),
                         "ci_lo": float(lo[j]), "ci_hi": float(hi[j]),
                         "share_lower": float((d[:, j] < 0).mean()), "share_higher": float((d[:, j] > 0).mean())})
    return pd.DataFrame(rows)


def _bootstrap_means(d: np.ndarray, seed: int, resamples: int) -> np.ndarray:
    """Means of ``resamples`` bootstrap resamples of the rows of ``d`` (runs x outcomes)."""
    rng = np.random.default_rng(seed)
    n, k = d.shape
    chunk = max(1, min(resamples, 4_000_000 // max(1, n * k)))
    out = np.empty((resamples, k))
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = d[idx].mean(axis=1)
    return out


def ranking(differences: pd.DataFrame) -> pd.DataFrame:
    """Strategies ranked by mean paired difference in total deaths, ties by peak displaced."""
    deaths = differences[differences["outcome"] == "deaths_total"].set_index("strategy")
    displaced = differences[differences["outcome"] == "peak_displaced_total"].set_index("strategy")
    table = pd.DataFrame({
        "strategy": deaths.index,
        "deaths_diff": deaths["mean_diff"].to_numpy(), "deaths_ci_lo": deaths["ci_lo"].to_numpy(),
        "deaths_ci_hi": deaths["ci_hi"].to_numpy(),
        "displaced_diff": displaced.loc[deaths.index, "mean_diff"].to_numpy(),
        "displaced_ci_lo": displaced.loc[deaths.index, "ci_lo"].to_numpy(),
        "displaced_ci_hi": displaced.loc[deaths.index, "ci_hi"].to_numpy(),
    })
    table["verdict"] = [_verdict(lo, hi, s == differences["baseline"].iloc[0])
                        for s, lo, hi in zip(table["strategy"], table["deaths_ci_lo"], table["deaths_ci_hi"])]
    table = table.sort_values(["deaths_diff", "displaced_diff", "strategy"], kind="mergesort")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True)


def _verdict(lo: float, hi: float, is_baseline: bool) -> str:
    if is_baseline:
        return "baseline"
    if hi < 0:
        return "fewer deaths (95% CI below 0)"
    if lo > 0:
        return "more deaths (95% CI above 0)"
    return "not distinguishable from baseline"


def kaplan_meier(times: np.ndarray, events: np.ndarray) -> pd.DataFrame:
    """Kaplan–Meier survival estimate: the step function's value after each distinct time."""
    ok = ~np.isnan(times)
    times, events = times[ok], events[ok].astype(bool)
    rows = [{"hours": 0.0, "survival": 1.0, "at_risk": len(times), "events": 0, "censored": 0}]
    surv = 1.0
    for t in np.unique(times):
        at_risk = int((times >= t).sum())
        d = int(((times == t) & events).sum())
        c = int(((times == t) & ~events).sum())
        if d:
            surv *= 1.0 - d / at_risk
        rows.append({"hours": float(t), "survival": surv, "at_risk": at_risk, "events": d, "censored": c})
    return pd.DataFrame(rows)


def survival_table(runs: pd.DataFrame) -> pd.DataFrame:
    frames = []
    for strategy in dict.fromkeys(runs["strategy"]):
        sub = runs[runs["strategy"] == strategy]
        km = kaplan_meier(sub["ceasefire_survival_hours"].to_numpy(float), sub["ceasefire_violated"].to_numpy())
        km.insert(0, "strategy", strategy)
        frames.append(km)
    return pd.concat(frames, ignore_index=True)


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
    from sim.yamlio import load_model
    from sim.scenario import ScenarioSpec

    return Path("results") / "compare" / load_model(Path(scenario_path), ScenarioSpec).name


def compare_strategies(scenario: str | Path, strategies: str | Sequence[str], runs: int | None = None,
                       baseline: str | None = None, seed: int | None = None,
                       executor: Executor | str = "local", workers: int | None = 1,
                       scheduler: str | None = None, posterior: bool = False,
                       fitted: str | Path | None = None, out: str | Path | None = None, resume: bool = False,
                       quiet: bool = True, on_run: Callable[[RunRecord], None] | None = None) -> pd.DataFrame:
    """Run every strategy on the same seeds and return the per-run outcomes (one row per strategy and run).

    Args:
        scenario: scenario YAML file; strategies are looked up in ``strategies/`` beside it.
        strategies: names (or ``.yaml`` paths relative to the scenario), a list or ``'a,b,c'``.
        runs: runs per strategy (default: the scenario's ``runs``); seed: base seed (default: the scenario's).
        baseline: the strategy differences are taken against (default ``none`` if compared, else the first).
        executor: an :class:`~sim.ensemble.Executor`, or ``'local'`` / ``'dask'`` with ``workers`` and
            ``scheduler``. Results are identical whatever executes them.
        posterior: draw each run's parameters from the calibrated posterior in ``fitted``
            (default ``calibration/fitted.yaml``).
        out: if given, write the results folder there (see module docstring) and checkpoint finished runs
            next to it; ``resume`` reuses the checkpoints of an interrupted comparison.
        on_run: called in this process after each finished (and checkpointed) run.

    The analyses are :func:`strategy_table`, :func:`paired_differences` and :func:`ranking` on the frame.
    """
    plan = make_plan(scenario, strategies, runs, baseline, seed, posterior, fitted)
    if resume and out is None:
        raise UserError("--resume needs the results folder of the comparison to resume (out)")
    if isinstance(executor, str):
        from sim.executors import make_executor

        executor = make_executor(executor, workers, scheduler)
    checkpoints = partial_dir(Path(out)) if out is not None else None
    info: dict[str, Any] = {}

    def record_executor(record: RunRecord) -> None:
        if not info:
            from sim.executors import describe

            info.update(describe(executor))
        if on_run is not None:
            on_run(record)

    records, resumed = execute(plan, executor, checkpoints, resume, quiet, record_executor)
    if not info:
        from sim.executors import describe

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
    table = strategy_table(runs, plan.labels)
    diffs = paired_differences(runs, plan.baseline, seed=plan.base_seed)
    ranks = ranking(diffs)
    curves = curves_table(plan, records)
    survival = survival_table(runs)
    spec = plan.scenario.spec.model_copy(update={"seed": plan.base_seed, "runs": plan.runs})
    scenario = dataclasses.replace(plan.scenario, spec=spec)
    extra = {"comparison": {
        "strategies": {label: {"file": str(plan.strategy_files[label]),
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
        runs.to_csv(tmp / "runs.csv", index=False)
        table.to_csv(tmp / "table.csv", index=False)
        diffs.to_csv(tmp / "differences.csv", index=False)
        ranks.to_csv(tmp / "ranking.csv", index=False)
        curves.to_csv(tmp / "curves.csv", index=False)
        survival.to_csv(tmp / "survival.csv", index=False)
        write_text_atomic(tmp / "table.md", table_markdown(plan, table))
        write_text_atomic(tmp / "report.md", report_markdown(plan, table, diffs, ranks))
        plot_curves(curves, plan.scenario.spec.start, plan.scenario.name, plan.labels,
                                  tmp / "curves.png")
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
    ]
    if plan.posterior is not None:
        notes.append(f"- Parameters drawn from the calibrated posterior ({len(plan.posterior.draws)} draws in "
                     f"{plan.posterior.draws_file}); run *i* of every strategy uses draw *i* mod "
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
    shown = [o for o in DIFF_OUTCOMES]
    lines.append("| outcome | " + " | ".join(l for l in plan.labels if l != plan.baseline) + " |")
    lines.append("|---|" + "---|" * (len(plan.labels) - 1))
    for o in shown:
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


# --- figures --------------------------------------------------------------------------------------------
def _colours(labels: Sequence[str]) -> dict[str, Any]:
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("tab10")
    return {label: cmap(i % 10) for i, label in enumerate(labels)}


def _styles(labels: Sequence[str]) -> dict[str, str]:
    """Line styles that keep identical curves (a strategy that changes nothing) visible."""
    return {label: ("-", "--", ":", "-.")[i % 4] for i, label in enumerate(labels)}


def plot_curves(curves: pd.DataFrame, start: Any, name: str, labels: Sequence[str], out: Path) -> Path:
    """Escalation level, cumulative deaths and people displaced over time: median and 5–95% band per
    strategy, on shared axes."""
    from datetime import timedelta

    import matplotlib.dates as mdates

    from sim.ladder import LABELS, N_RUNGS, Rung
    from sim.plots import _save, plt

    colours, styles = _colours(labels), _styles(labels)
    titles = {"max_rung": "escalation (highest level)", "deaths_total": "cumulative deaths, both sides",
              "displaced_total": "people displaced, both sides"}
    fig, axes = plt.subplots(3, 1, figsize=(11, 10), sharex=True)
    for ax, curve in zip(axes, CURVES):
        for label in labels:
            c = curves[(curves["strategy"] == label) & (curves["curve"] == curve)]
            t = [start + timedelta(hours=float(h)) for h in c["hour"]]
            ax.plot(t, c["median"], color=colours[label], ls=styles[label], lw=1.6, label=label)
            ax.fill_between(t, c["p5"], c["p95"], color=colours[label], alpha=0.12, lw=0)
        ax.set_ylabel(titles[curve])
        ax.grid(alpha=0.3)
    axes[0].set_yticks(range(N_RUNGS), [LABELS[Rung(r)] for r in range(N_RUNGS)])
    axes[0].set_ylim(-0.2, N_RUNGS - 0.8)
    axes[0].legend(loc="upper right", fontsize=8, ncol=2)
    axes[-1].xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%H:%M"))
    fig.suptitle(f"{name}: median and 5–95% band across paired runs, by strategy")
    fig.tight_layout()
    return _save(fig, out)


def plot_forest(diffs: pd.DataFrame, baseline: str, labels: Sequence[str], out: Path) -> Path:
    """Mean paired difference against the baseline with its bootstrap 95% CI, one panel per outcome."""
    from sim.plots import _save, plt

    others = [label for label in labels if label != baseline] or list(labels)
    colours = _colours(labels)
    titles = {o.column: o.label for o in DIFF_OUTCOMES}
    fig, axes = plt.subplots(1, len(FOREST_OUTCOMES), figsize=(4 * len(FOREST_OUTCOMES), 0.6 * len(others) + 2),
                             sharey=True)
    y = np.arange(len(others))[::-1]
    for ax, outcome in zip(axes, FOREST_OUTCOMES):
        sub = diffs[diffs["outcome"] == outcome].set_index("strategy").loc[others]
        for yi, label in zip(y, others):
            row = sub.loc[label]
            ax.errorbar(row["mean_diff"], yi, xerr=[[row["mean_diff"] - row["ci_lo"]], [row["ci_hi"] - row["mean_diff"]]],
                        fmt="o", color=colours[label], capsize=3)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_title(titles[outcome], fontsize=9)
        ax.grid(alpha=0.3, axis="x")
    axes[0].set_yticks(y, others)
    fig.suptitle(f"Difference from '{baseline}' (mean over paired runs, bootstrap 95% CI; left is fewer)")
    fig.tight_layout()
    return _save(fig, out)


def plot_survival(survival: pd.DataFrame, runs: pd.DataFrame, labels: Sequence[str], out: Path) -> Path:
    """Kaplan–Meier curves: share of first ceasefires not yet violated, by hours since agreement."""
    from sim.plots import _save, plt

    colours, styles = _colours(labels), _styles(labels)
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for label in labels:
        km = survival[survival["strategy"] == label]
        agreed = int(runs.loc[runs["strategy"] == label, "ceasefire_survival_hours"].notna().sum())
        total = int((runs["strategy"] == label).sum())
        ax.step(km["hours"], km["survival"], where="post", color=colours[label], ls=styles[label], lw=1.6,
                label=f"{label} (agreed in {agreed}/{total} runs)")
        cens = km[km["censored"] > 0]
        ax.plot(cens["hours"], cens["survival"], "|", color=colours[label], ms=6)
    ax.set_xlabel("hours since the first agreed ceasefire")
    ax.set_ylabel("share of ceasefires not yet violated")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Ceasefire survival (Kaplan–Meier; | = censored at the end of the run)")
    fig.tight_layout()
    return _save(fig, out)
