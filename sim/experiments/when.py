"""When to act: what waiting costs, from a comparison of each strategy started at several delays.

``bordersim compare SCENARIO --strategies none,russia_early_call --delays 0,6,12,24,48,72`` runs the baseline
and, for each other strategy and each delay, a copy of the strategy moved in time so that its first action
comes that many hours after it is first due. All of them run on the same paired runs as any comparison
(same seed, same posterior draw, same draw of the mediation effects for run *i*), so the cost of waiting is a
paired difference too.

How a strategy is moved: an action waiting for something observed (``when:``) keeps its trigger, and the
strategy's triggered actions are shifted together so that the first of them starts ``delay`` hours after its
trigger; a timed action (``at_hour``) becomes one triggered by the onset (the first incident, L0), and the
timed actions are shifted together so that the first starts ``delay`` hours after the onset. The order and
spacing of the actions are kept.

Writes ``results/when/<scenario>/``: ``when.csv`` and ``when.md`` (per strategy and delay: the mean paired
difference against the baseline with its bootstrap 95% CI, P(better), and the cost of waiting against acting
at once), ``when.png`` (the differences against the delay, with their bands), ``runs.csv``, the moved
strategies in ``strategies/`` and ``manifest.json``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
import yaml

from sim.errors import UserError
from sim.experiments.compare import compare_strategies, parse_strategies
from sim.experiments.comparison_stats import OUTCOMES, paired_differences
from sim.input.builtin import scenario_file
from sim.input.scenario import ScenarioSpec, load_scenario
from sim.input.strategy import StrategySpec
from sim.input.yamlio import load_model
from sim.output.results import atomic_dir, manifest, write_json, write_text_atomic
from sim.progress import say

WHEN_OUTCOMES = ("deaths_total", "civilian_deaths", "peak_displaced_total", "hours_to_stabilisation_censored")
MAX_DELAY_HOURS = 24.0 * 365


def parse_delays(text: str) -> list[float]:
    """``'0,6,12'`` into hours; UserError unless they are distinct numbers from 0 to a year."""
    out: list[float] = []
    for item in (x.strip() for x in text.split(",")):
        if not item:
            continue
        try:
            value = float(item)
        except ValueError:
            raise UserError(f"--delays: expected comma-separated hours, e.g. 0,6,12,24; got {item!r}") from None
        if not 0.0 <= value <= MAX_DELAY_HOURS or math.isnan(value):
            raise UserError(f"--delays: expected hours from 0 to {MAX_DELAY_HOURS:g}, got {item}")
        if value in out:
            raise UserError(f"--delays: {item} h is given twice")
        out.append(value)
    if not out:
        raise UserError("--delays: give at least one delay in hours, e.g. 0,6,12,24,48,72")
    return sorted(out)


def delayed(strategy: StrategySpec, delay: float) -> StrategySpec:
    """The strategy moved so that its first action comes ``delay`` hours after it is first due (module
    docstring)."""
    actions = strategy.actions
    timed = [a.at_hour for a in actions if a.at_hour is not None]
    triggered = [a.delay_hours for a in actions if a.at_hour is None]
    moved = []
    for a in actions:
        fields = a.model_dump(exclude_none=True)
        if a.at_hour is not None:
            del fields["at_hour"]
            fields["when"] = {"level_at_least": "L0"}
            fields["delay_hours"] = a.at_hour - min(timed) + delay
        else:
            fields["delay_hours"] = a.delay_hours - min(triggered) + delay
        moved.append(fields)
    return StrategySpec.model_validate({
        "name": f"{strategy.name}@{delay:g}h", "actions": moved,
        "description": f"{strategy.description.strip()} Moved: the first action {delay:g} h after it is due."})


def _label(name: str, delay: float) -> str:
    return f"{Path(name).stem}@{delay:g}h"


def default_when_out(scenario_path: str | Path) -> Path:
    """``results/when/<scenario name>``."""
    return Path("results") / "when" / load_model(scenario_file(scenario_path), ScenarioSpec).name


def compare_delays(scenario: str | Path, strategies: str | Sequence[str], delays: Sequence[float],
                   out: str | Path, baseline: str | None = None, quiet: bool = True, resume: bool = False,
                   **options: Any) -> pd.DataFrame:
    """Run the baseline and every other strategy at every delay on paired runs; write the when-to-act
    results into ``out`` and return its table (one row per strategy, delay and outcome)."""
    if resume:
        raise UserError("--resume is not available with --delays; run the sweep again")
    path = scenario_file(scenario)
    names = parse_strategies(strategies)
    base_name = baseline or ("none" if "none" in names else names[0])
    if base_name not in names:
        raise UserError(f"--baseline: '{base_name}' is not one of the compared strategies")
    moved_names = [n for n in names if n != base_name]
    if not moved_names:
        raise UserError("--delays: give at least one strategy besides the baseline to move in time")
    out = Path(out)
    with atomic_dir(out) as tmp:
        folder = tmp / "strategies"
        folder.mkdir()
        files = []
        for name in moved_names:
            spec = load_scenario(path, name).strategy
            for d in delays:
                file = folder / f"{_label(name, d)}.yaml"
                file.write_text(yaml.safe_dump(delayed(spec, d).model_dump(exclude_none=True), sort_keys=False,
                                               allow_unicode=True), encoding="utf-8")
                files.append(str(file.resolve()))
        runs = compare_strategies(path, [base_name, *files], baseline=base_name, quiet=quiet, **options)
        table = when_table(runs, base_name, moved_names, delays, options.get("seed") or 0)
        runs.to_csv(tmp / "runs.csv", index=False)
        table.to_csv(tmp / "when.csv", index=False)
        write_text_atomic(tmp / "when.md", when_markdown(path, table, base_name, int(runs["run"].nunique())))
        from sim.experiments.comparison_plots import plot_when

        plot_when(table, base_name, tmp / "when.png")
        sc = load_scenario(path)
        write_json(tmp / "manifest.json", manifest(sc, sorted(set(runs["seed"].tolist())), {"when": {
            "baseline": base_name, "strategies": moved_names, "delays_hours": list(delays),
            "runs_per_variant": int(runs["run"].nunique()),
            "moved_strategies": sorted(Path(f).name for f in files),
            "inputs_drawn_per_run": sorted(c[len("input:"):] for c in runs.columns if c.startswith("input:"))}}))
    say(f"wrote {out}/ ({len(moved_names)} strategies x {len(delays)} delays, baseline '{base_name}')", quiet)
    return table


def when_table(runs: pd.DataFrame, baseline: str, names: Sequence[str], delays: Sequence[float],
               seed: int = 0) -> pd.DataFrame:
    """Per strategy, delay and outcome: the mean paired difference against the baseline [bootstrap 95% CI],
    P(better), and the cost of waiting: the mean paired difference against the same strategy at the first
    delay [95% CI]."""
    against_base = paired_differences(runs, baseline, seed=seed).set_index(["strategy", "outcome"])
    rows = []
    for name in names:
        first = _label(name, delays[0])
        own = runs[runs["strategy"].isin([_label(name, d) for d in delays])]
        against_first = paired_differences(own, first, seed=seed).set_index(["strategy", "outcome"])
        for d in delays:
            label = _label(name, d)
            for outcome in WHEN_OUTCOMES:
                b = against_base.loc[(label, outcome)]
                w = against_first.loc[(label, outcome)]
                rows.append({"strategy": Path(name).stem, "delay_hours": d, "outcome": outcome,
                             "mean_diff": b["mean_diff"], "ci_lo": b["ci_lo"], "ci_hi": b["ci_hi"],
                             "p_better": b["share_lower"], "cost_of_waiting": w["mean_diff"],
                             "cost_ci_lo": w["ci_lo"], "cost_ci_hi": w["ci_hi"]})
    return pd.DataFrame(rows)


def when_markdown(path: Path, table: pd.DataFrame, baseline: str, runs: int) -> str:
    first = table["delay_hours"].min()
    lines = [f"# When to act: {load_model(path, ScenarioSpec).name}", "",
             f"Each strategy started with its first action at several delays after it is first due, {runs} paired "
             f"runs per variant, against `{baseline}`. *Difference*: strategy minus baseline, mean over runs "
             f"[bootstrap 95% CI]. *Cost of waiting*: the same strategy at that delay minus at {first:g} h "
             "(positive: waiting costs). The runs carry chance, the calibrated posterior and the mediation-effect "
             "priors unless switched off (see the comparison report's notes).", ""]
    for outcome in WHEN_OUTCOMES:
        sub = table[table["outcome"] == outcome]
        lines += [f"## {OUTCOMES[outcome].label}", "",
                  "| strategy | delay (h) | difference vs baseline | P(better) | cost of waiting |",
                  "|---|---|---|---|---|"]
        for _, r in sub.iterrows():
            lines.append(f"| {r['strategy']} | {r['delay_hours']:g} | {r['mean_diff']:+.1f} [{r['ci_lo']:+.1f}, "
                         f"{r['ci_hi']:+.1f}] | {r['p_better']:.0%} | {r['cost_of_waiting']:+.1f} "
                         f"[{r['cost_ci_lo']:+.1f}, {r['cost_ci_hi']:+.1f}] |")
        lines.append("")
    lines += ["Figure: `when.png`; every run: `runs.csv`; the moved strategies: `strategies/`."]
    return "\n".join(lines) + "\n"
