"""``bordersim sensitivity``: which parameters the outcomes, and the differences between strategies, depend on.

A global sensitivity analysis with SALib over every input that has a prior: the calibrated parameters over
their prior ranges (log-uniform where the calibration searches on a log scale), the mediation effects and
the leverage of the mediators the strategies use over their priors (``sim.experiments.uncertainty``).
``sobol`` (the default) samples with Saltelli's scheme (SALib's Sobol' sampler) and gives first-order and
total indices with bootstrap 95% confidence intervals; ``morris`` screens with elementary effects (mu*,
sigma) at a fraction of the cost.

Every sample row is run for every strategy with the same seeds (common random numbers): the baseline's
outcomes and each strategy's paired difference from it are the outputs. Chance is held to the same
``replicates`` seeds in every row and the outputs are averaged over them, so the indices describe the model's
response to its inputs at those seeds, not run-to-run chance.

Outcomes that can be undefined are never passed to SALib as NaN: the time to a ceasefire that holds is
analysed as an indicator (did the run reach one?) and as a time censored at the end of the scenario.

Writes ``results/sensitivity/<scenario>/``: ``indices.csv`` (per output and input: S1, ST and their
confidence intervals, or mu*, sigma and mu*'s interval), ``report.md`` (the leading inputs per output, how
long it took), ``sensitivity.png`` and ``manifest.json``.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.experiments.compare import parse_strategies
from sim.experiments.ensemble import LocalExecutor, RunTask, batches, derive_seeds, run_task_batch
from sim.experiments.sensitivity import scalar_outcomes
from sim.experiments.uncertainty import leverage_inputs, relevant, short_meaning, split_uniform, task_fields
from sim.input.builtin import scenario_file
from sim.input.parameters import SPECS
from sim.input.scenario import ScenarioSpec, load_scenario, strategy_path
from sim.input.yamlio import load_model
from sim.output.guard import claim_output
from sim.output.results import atomic_dir, manifest, write_json, write_text_atomic
from sim.progress import progress, say

METHODS = ("sobol", "morris")
BASE_OUTPUTS = ("deaths_total", "civilian_deaths", "peak_displaced_total", "heavy_weapons", "stabilised",
                "hours_to_stabilisation_censored")
"""Outputs of the baseline: ``stabilised`` is 1 if a ceasefire came to hold within the scenario and
``hours_to_stabilisation_censored`` the hours to it, the end of the scenario when it never did."""
DIFF_OUTPUTS = ("deaths_total", "civilian_deaths", "peak_displaced_total", "hours_to_stabilisation_censored")
"""Outputs that are also analysed as each strategy's paired difference from the baseline."""
LOG_SCALE = ("deaths_total", "civilian_deaths", "peak_displaced_total")
"""Counts analysed on a signed log scale, sign(y) log(1 + |y|): over the prior ranges they span orders of
magnitude, and on a linear scale a handful of extreme parameter sets would own the variance."""


def signed_log(y: np.ndarray) -> np.ndarray:
    return np.sign(y) * np.log1p(np.abs(y))


@dataclass(frozen=True)
class Factor:
    """One input of the analysis: sampled on [0, 1] by SALib and mapped onto the input's prior."""

    key: str
    label: str
    basis: str
    low: float
    median: float
    high: float
    log: bool = False
    split: bool = False
    """Split-uniform (an effect or a leverage prior: median in the middle of the unit interval)."""

    def value(self, u: np.ndarray) -> np.ndarray:
        if self.split:
            return split_uniform(u, self.low, self.median, self.high)
        if self.log:
            return 10.0 ** (math.log10(self.low) + u * (math.log10(self.high) - math.log10(self.low)))
        return self.low + u * (self.high - self.low)


def factors(scenario_path: Path, strategies: Sequence[str]) -> list[Factor]:
    """Every parameter with a prior, and the leverage of the mediators the strategies use."""
    out = []
    for name, spec in SPECS.items():
        if spec.prior is None:
            continue
        low, high = spec.prior
        effect = spec.kind == "effect"
        basis = ("literature" if spec.prior_reason.lower().startswith("literature") else "judgement") if effect \
            else "calibrated"
        out.append(Factor(name, short_meaning(name), basis, low, float(spec.default) if effect else math.nan,  # type: ignore[arg-type]
                          high, spec.log_prior and low > 0, effect))
    scenario = load_scenario(scenario_path)
    actions = [a for s in strategies for a in load_scenario(scenario_path, s).strategy.actions]
    for i in relevant(leverage_inputs(scenario.registry), actions):
        out.append(Factor(i.key, i.label, i.basis, i.low, i.median, i.high, False, True))
    return out


def summaries(tasks: Sequence[RunTask]) -> list[dict[str, float]]:
    """Run a batch of tasks without recording series; each run's scalar outcomes (a worker's unit)."""
    result = run_task_batch(tasks, record_series=False)
    return [scalar_outcomes(row) for row in result.summary_rows()]


def _outputs(rows: list[dict[str, float]], horizon: float) -> dict[str, float]:
    """One sample's outputs, averaged over its replicates; never NaN."""
    out: dict[str, list[float]] = {k: [] for k in BASE_OUTPUTS}
    for r in rows:
        stab, onset = r["hours_to_stabilisation"], r["onset_hour"]
        out["deaths_total"].append(r["deaths_total"])
        out["civilian_deaths"].append(r["civilian_deaths"])
        out["peak_displaced_total"].append(r["peak_displaced_total"])
        out["heavy_weapons"].append(r["heavy_weapons"])
        out["stabilised"].append(0.0 if math.isnan(stab) else 1.0)
        out["hours_to_stabilisation_censored"].append(
            stab if not math.isnan(stab) else (0.0 if math.isnan(onset) else horizon - onset))
    return {k: float(np.mean(v)) for k, v in out.items()}


def run_sensitivity(scenario: str | Path, strategies: str | Sequence[str] | None = None, method: str = "sobol",
                    samples: int = 32, replicates: int = 1, seed: int = 20240601, workers: int | None = None,
                    out: str | Path | None = None, quiet: bool = True, force: bool = False) -> pd.DataFrame:
    """Run the analysis and write its folder; returns the indices table. The output folder is claimed before
    any run: locked, and kept unless ``force``."""
    try:
        from SALib.analyze import morris as morris_analyze
        from SALib.analyze import sobol as sobol_analyze
        from SALib.sample import morris as morris_sample
        from SALib.sample import sobol as sobol_sample
    except ImportError:
        raise UserError("bordersim sensitivity needs SALib: pip install 'bordersim[sensitivity]'") from None
    if method not in METHODS:
        raise UserError(f"--method: unknown method '{method}'; expected one of: {', '.join(METHODS)}")
    if samples < 2:
        raise UserError(f"--samples: expected at least 2, got {samples}")
    path = scenario_file(scenario)
    spec = load_model(path, ScenarioSpec)
    names = parse_strategies(strategies) if strategies else [spec.strategy]
    for n in names:
        strategy_path(path, n, given=True)
    baseline = "none" if "none" in names else names[0]
    fs = factors(path, names)
    problem = {"num_vars": len(fs), "names": [f.key for f in fs], "bounds": [[0.0, 1.0]] * len(fs)}
    if method == "sobol":
        if samples & (samples - 1):
            raise UserError(f"--samples: Sobol' sampling needs a power of two (e.g. 32, 64, 128), got {samples}")
        unit = sobol_sample.sample(problem, samples, calc_second_order=False, seed=seed)
    else:
        unit = morris_sample.sample(problem, samples, num_levels=4, seed=seed)
    values = np.column_stack([f.value(unit[:, j]) for j, f in enumerate(fs)])
    seeds = derive_seeds(seed, replicates)
    abs_path = str(path.resolve())
    tasks = []
    for i, row in enumerate(values):
        overrides, leverage = task_fields(dict(zip(problem["names"], row.tolist())))
        for label in names:
            file = str(strategy_path(path, label).resolve())
            for r, s in enumerate(seeds):
                tasks.append(RunTask(abs_path, s, i * replicates + r, file, overrides, label, leverage=leverage))
    target = Path(out) if out is not None else Path("results") / "sensitivity" / spec.name
    with claim_output(target, force):  # locked, and kept unless force, before the first run
        workers = workers or os.cpu_count() or 1
        started = time.perf_counter()
        results: list[Any] = [None] * len(tasks)
        plan = batches(tasks, workers)
        with progress(len(tasks), f"{spec.name}: sensitivity ({method}, {len(values)} samples)", quiet) as advance, \
                LocalExecutor(workers) as ex:
            for ix, rows in zip(plan, ex.map(summaries, [[tasks[i] for i in ix] for ix in plan])):
                for i, row in zip(ix, rows):
                    results[i] = row
                advance(len(ix))
        seconds = time.perf_counter() - started
        horizon = float(spec.duration_hours)
        per = len(names) * replicates
        outputs: dict[str, np.ndarray] = {}
        raw: dict[str, dict[str, list[float]]] = {}
        for k, label in enumerate(names):
            sample_out = [_outputs(results[i * per + k * replicates:i * per + (k + 1) * replicates], horizon)
                          for i in range(len(values))]
            raw[label] = {o: [s[o] for s in sample_out] for o in BASE_OUTPUTS}
            if label == baseline:
                for o in BASE_OUTPUTS:
                    column = np.array(raw[label][o])
                    outputs[f"{o} ({label})"] = signed_log(column) if o in LOG_SCALE else column
        for label in names:
            if label == baseline:
                continue
            for o in DIFF_OUTPUTS:
                diff = np.array(raw[label][o]) - np.array(raw[baseline][o])
                outputs[f"{o}: {label} - {baseline}"] = signed_log(diff) if o in LOG_SCALE else diff
        rows = []
        for name, y in outputs.items():
            assert not np.isnan(y).any(), name  # the outputs above are never undefined
            constant = bool(np.ptp(y) == 0)
            if method == "sobol":
                res = None if constant else sobol_analyze.analyze(problem, y, calc_second_order=False, seed=seed)
                for j, f in enumerate(fs):
                    rows.append({"output": name, "input": f.key, "label": f.label, "basis": f.basis,
                                 "S1": 0.0 if res is None else float(res["S1"][j]),
                                 "S1_conf": 0.0 if res is None else float(res["S1_conf"][j]),
                                 "ST": 0.0 if res is None else float(res["ST"][j]),
                                 "ST_conf": 0.0 if res is None else float(res["ST_conf"][j]), "constant": constant})
            else:
                res = None if constant else morris_analyze.analyze(problem, unit, y, num_levels=4, seed=seed)
                for j, f in enumerate(fs):
                    rows.append({"output": name, "input": f.key, "label": f.label, "basis": f.basis,
                                 "mu_star": 0.0 if res is None else float(res["mu_star"][j]),
                                 "mu_star_conf": 0.0 if res is None else float(res["mu_star_conf"][j]),
                                 "sigma": 0.0 if res is None else float(res["sigma"][j]), "constant": constant})
        table = pd.DataFrame(rows)
        scenario_obj = load_scenario(path)
        info = {"method": method, "samples": samples, "rows": int(len(values)), "replicates": replicates,
                "strategies": names, "baseline": baseline, "runs": len(tasks), "seconds": round(seconds, 1),
                "workers": workers, "inputs": [{"key": f.key, "basis": f.basis, "low": f.low, "high": f.high,
                                                "log": f.log, "split_uniform_median": f.median if f.split else None}
                                               for f in fs]}
        with atomic_dir(target) as tmp:
            table.to_csv(tmp / "indices.csv", index=False)
            write_text_atomic(tmp / "report.md", report_markdown(spec.name, table, info))
            from sim.experiments.comparison_plots import plot_sensitivity

            plot_sensitivity(table, method, tmp / "sensitivity.png")
            write_json(tmp / "manifest.json", manifest(scenario_obj, seeds, {"sensitivity": info}))
        say(f"wrote {target}/ ({len(tasks)} runs in {seconds:.0f} s)", quiet)
        return table


TOP = 6


def report_markdown(name: str, table: pd.DataFrame, info: dict[str, Any]) -> str:
    method = info["method"]
    lines = [f"# Global sensitivity analysis: {name}", "",
             f"{'Sobol indices from Saltelli sampling' if method == 'sobol' else 'Morris screening'} over "
             f"{len(info['inputs'])} inputs ({info['rows']} parameter sets x {len(info['strategies'])} strategies x "
             f"{info['replicates']} seed(s) = {info['runs']} runs, {info['seconds']:g} s on {info['workers']} "
             f"worker(s)); baseline `{info['baseline']}`.", "",
             "Inputs: the calibrated parameters over their prior ranges (log-uniform where the calibration "
             "searches on a log scale), the mediation effects and the leverage of the mediators used over their "
             "priors (split uniform around the shipped value). Every parameter set is run with the same seeds, "
             "so the indices describe the response to the inputs, not run-to-run chance. A ceasefire that never "
             "comes to hold enters as 0 in *stabilised* and as the end of the scenario in the censored hours. "
             "Deaths, civilian deaths and displaced (and their differences) are analysed on a signed log scale, "
             "sign(y) log(1 + |y|): over the prior ranges they span orders of magnitude.", ""]
    if method == "sobol":
        lines += ["S1: the share of the output's variance due to the input alone; ST: its share including its "
                  "interactions; ± the bootstrap 95% interval. With few samples the intervals are wide and "
                  "small indices can come out negative: read them as zero.", ""]
    else:
        lines += ["mu*: the mean absolute elementary effect of moving the input across its range (in the "
                  "output's units); sigma: how much that effect varies (interactions, non-linearity).", ""]
    key = "ST" if method == "sobol" else "mu_star"
    for output, sub in table.groupby("output", sort=False):
        lines += [f"## {output}", ""]
        if sub["constant"].iloc[0]:
            lines += ["The output did not vary over the samples: nothing to apportion.", ""]
            continue
        top = sub.sort_values(key, ascending=False).head(TOP)
        if method == "sobol":
            lines += ["| input | basis | S1 | ST |", "|---|---|---|---|"]
            lines += [f"| {r['input']}: {r['label']} | {r['basis']} | {r['S1']:.2f} ± {r['S1_conf']:.2f} | "
                      f"{r['ST']:.2f} ± {r['ST_conf']:.2f} |" for _, r in top.iterrows()]
        else:
            lines += ["| input | basis | mu* | sigma |", "|---|---|---|---|"]
            lines += [f"| {r['input']}: {r['label']} | {r['basis']} | {r['mu_star']:.3g} ± {r['mu_star_conf']:.2g} | "
                      f"{r['sigma']:.3g} |" for _, r in top.iterrows()]
        lines.append("")
    lines += ["Every index: `indices.csv`; figure: `sensitivity.png`."]
    return "\n".join(lines) + "\n"
