"""The words of a strategy comparison: ``report.md`` and ``table.md``.

The report is written for a mediator, not a modeller: what each strategy changes against the baseline and
how sure that is (P(better), P(best), ranks), what the difference depends on, where the answer turns on an
assumption, how many runs stay a contained clash and how many become a war, and which of its inputs are
calibrated, which come from the literature and which are judgements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import pandas as pd

from sim.experiments.comparison_stats import DIFF_OUTCOMES, OUTCOMES, RELAPSE_WINDOW_HOURS, Driver
from sim.output.results import portable_path

if TYPE_CHECKING:
    from sim.experiments.compare import Plan

DRIVER_SHARE = 0.05
"""Smallest first-order share for an input to be named as a driver of a difference."""
DRIVERS_NAMED = 3


@dataclass(frozen=True)
class Analyses:
    """What the report says beyond the table and the mean differences."""

    distribution: pd.DataFrame  # comparison_stats.difference_distribution
    ranks: pd.DataFrame  # comparison_stats.ranks_table
    drivers: Sequence[Driver]
    mixtures: pd.DataFrame  # comparison_stats.mixtures


def _fmt(value: float, kind: str = "count") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if kind == "probability":
        return f"{value:.0%}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def _signed(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:+,.0f}" if abs(value) >= 100 else f"{value:+.1f}"


def _what_is_uncertain(plan: "Plan") -> list[str]:
    """What the comparison carries, in a practitioner's words: calibrated, literature, judgement."""
    lines = ["## What these numbers rest on", ""]
    if plan.posterior is not None:
        fitted_to = ", ".join(plan.posterior.episodes) or "the documented record"
        lines.append(f"- **Calibrated** (fitted to the documented episodes {fitted_to}; `calibration/episodes.yaml`"
                     f"): how fighting starts, spreads and stops, how many are hit, who flees. Each run uses "
                     f"one of {len(plan.posterior.draws)} parameter sets the calibration found consistent with "
                     f"the record (`{portable_path(plan.posterior.draws_file)}`), the same one for every "
                     "strategy.")
    else:
        lines.append("- **Calibrated parameters held fixed** at the scenario's values: the ranges leave out what "
                     "the calibration leaves uncertain.")
    if plan.effects is not None:
        lit = [i for i in plan.effects.inputs if i.basis == "literature" and not i.fixed]
        judged = [i for i in plan.effects.inputs if i.basis == "judgement" and not i.fixed]
        lines.append("- **Not calibrated, drawn per run from a prior** (the wars had one history of mediation "
                     "each, so the record cannot tell what an instrument does):")
        if lit:
            lines.append("  - *from the mediation literature* (international crises, civil wars; transferred to "
                         "this border by judgement): " + "; ".join(
                             f"{i.key} {i.low:g}–{i.high:g}" for i in lit) + ".")
        lines.append("  - *judgements*, stated with what they rest on (`sim/input/parameters.py`, "
                     "`scenarios/mediators.yaml`): " + "; ".join(
                         f"{i.key} {i.low:g}–{i.high:g}" for i in judged) + ".")
        lines.append("  Each is drawn anew for every run index (half the draws below the shipped value, half "
                     "above), the same draw for every strategy.")
    else:
        lines.append("- **Mediation effects and leverage held at the shipped values**: these are assumptions, "
                     "not measurements, and the ranges leave out that they are unknown.")
    lines.append("- **Chance**: " + ("each run has its own seed, shared by every strategy (paired runs)."
                                     if plan.chance else "switched off: every run repeats one seed."))
    return lines + [""]


def _notes(plan: "Plan") -> list[str]:
    spec = plan.scenario.spec
    horizon_days = spec.duration_hours / 24
    notes = [
        f"- Seeds are paired: run *i* of every strategy uses the same seed (base seed {plan.base_seed}).",
        "- Hours are counted from the onset (the first incident of the run). *Hours to a ceasefire that holds* "
        "is the time to stabilisation; the tables give it over the runs where it happened; the differences "
        "count a run that never stabilised as stabilising at the end of the scenario (censored), so they "
        "understate the gain of strategies that make stabilisation possible.",
        "- *Runs where it happened*: runs with deaths (or injured, displaced, violations) above zero, in which "
        "the moment was reached, or in which the event occurred.",
        f"- *P(relapse within 30 days)*: share of runs with renewed armed fire after stabilisation. It can only "
        f"be observed within the scenario's horizon of {spec.duration_hours:g} h ({horizon_days:.1f} days)"
        + (", so it is a lower bound of the 30-day probability." if spec.duration_hours < RELAPSE_WINDOW_HOURS
           else "."),
        "- *P(heavy weapons, L3+)*: share of runs in which armour, artillery, MLRS, drones or aircraft were used.",
        "- *P(a ceasefire collapses back into war)*: share of runs in which a government re-armed to mortars or "
        "heavier (L2+) during a breach of a ceasefire (or, with forces deployed for war, in the lull before it), as "
        "on 16 Sep 2022, rather than the breach being patched.",
        "- *Drivers*: the first-order share of each drawn input in the variance of a paired difference, estimated "
        "from the runs made (runs put into equal-count bins of the input; the variance of the bin means, "
        "corrected for noise, over the total). What no single input explains is chance and interactions.",
    ]
    return notes


def table_markdown(plan: "Plan", table: pd.DataFrame) -> str:
    lines = [f"# {plan.scenario.name}: outcomes by strategy ({plan.runs} runs each)", ""]
    for label in plan.labels:
        sub = table[table["strategy"] == label]
        lines += [f"## {label}" + (" (baseline)" if label == plan.baseline else ""), "",
                  "| outcome | mean | median | 5% | 95% | runs where it happened |", "|---|---|---|---|---|---|"]
        for _, row in sub.iterrows():
            kind = row["kind"]
            lines.append(f"| {row['label']} | {_fmt(row['mean'], kind)} | {_fmt(row['median'], kind)} | "
                         f"{_fmt(row['p5'], kind)} | {_fmt(row['p95'], kind)} | {row['happened']} |")
        lines.append("")
    lines += ["Notes:", "", *_notes(plan)]
    return "\n".join(lines) + "\n"


def _ranking_lines(plan: "Plan", ranks: pd.DataFrame, analyses: Analyses) -> list[str]:
    probs = analyses.ranks.set_index("strategy")
    lines = ["## Ranking (by mean difference in total deaths, ties by peak displaced)", "",
             "P(better) is the share of paired runs in which the strategy had fewer deaths than the baseline; "
             "P(best) the share in which it had the fewest of all the strategies compared (ties shared); the "
             "rank distribution gives the share of runs at each place (1 = fewest deaths).", "",
             "| rank | strategy | deaths vs baseline [95% CI of the mean] | P(better) | P(worse) | P(best) | "
             "share of runs at place 1 / 2 / … | verdict |", "|---|---|---|---|---|---|---|---|"]
    k = len(plan.labels)
    for _, r in ranks.iterrows():
        s = r["strategy"]
        places = " / ".join(f"{probs.loc[s, f'p_rank_{i + 1}']:.0%}" for i in range(k))
        if s == plan.baseline:
            pb = pw = "–"
        else:
            d = _deaths_better(plan, analyses, s)
            pb, pw = f"{d[0]:.0%}", f"{d[1]:.0%}"
        lines.append(f"| {r['rank']} | {s} | {r['deaths_diff']:+.2f} [{r['deaths_ci_lo']:+.2f}, "
                     f"{r['deaths_ci_hi']:+.2f}] | {pb} | {pw} | {probs.loc[s, 'p_best']:.0%} | {places} | "
                     f"{r['verdict']} |")
    return lines + [""]


def _deaths_better(plan: "Plan", analyses: Analyses, strategy: str) -> tuple[float, float]:
    row = analyses.distribution[(analyses.distribution["strategy"] == strategy)
                                & (analyses.distribution["outcome"] == "deaths_total")]
    return float(row["p_better"].iloc[0]), float(row["p_worse"].iloc[0])


def _distribution_lines(plan: "Plan", analyses: Analyses) -> list[str]:
    lines = ["## How the difference is spread over runs", "",
             "Strategy minus baseline in each paired run: the median run, the middle half and the 5–95% range, "
             "and the share of runs in which the strategy did better (lower) or worse.", "",
             "| strategy | outcome | median | middle half | 5–95% | P(better) | P(worse) |",
             "|---|---|---|---|---|---|---|"]
    for _, r in analyses.distribution.iterrows():
        lines.append(f"| {r['strategy']} | {OUTCOMES[r['outcome']].label} | {_signed(r['median'])} | "
                     f"{_signed(r['p25'])} to {_signed(r['p75'])} | {_signed(r['p5'])} to {_signed(r['p95'])} | "
                     f"{r['p_better']:.0%} | {r['p_worse']:.0%} |")
    return lines + [""]


def _driver_lines(plan: "Plan", analyses: Analyses) -> list[str]:
    if not analyses.drivers:
        return ["## What the differences depend on", "",
                "Nothing was drawn per run but chance (every input fixed), so there is nothing to apportion.", ""]
    lines = ["## What the differences depend on", "",
             f"For each strategy, the drawn inputs with the largest first-order share of the variance of its "
             f"paired difference, and the mean difference in the runs with the lowest and the highest third of "
             f"that input's draws. Only inputs the strategy or the baseline can depend on are considered (the "
             f"calibrated parameters, and the effects and leverage of the instruments and mediators they use); "
             f"an input is named when its share is at least {DRIVER_SHARE:.0%} and above the share an input "
             f"without any effect reaches by chance in 95% of cases with this many runs (`noise_floor` in "
             f"`drivers.csv`, which lists every share).", ""]
    flags: list[str] = []
    for strategy in [label for label in plan.labels if label != plan.baseline]:
        lines.append(f"**{strategy}**")
        lines.append("")
        for outcome in ("deaths_total", "civilian_deaths", "peak_displaced_total", "hours_to_stabilisation_censored"):
            found = sorted((d for d in analyses.drivers if d.strategy == strategy and d.outcome == outcome),
                           key=lambda d: -d.share)
            named = [d for d in found if d.share >= max(DRIVER_SHARE, d.noise)][:DRIVERS_NAMED]
            label = OUTCOMES[outcome].label
            if not named:
                floor = found[0].noise if found else 1.0
                lines.append(f"- {label}: no drawn input explains more than {max(DRIVER_SHARE, floor):.0%} "
                             "(what an input without effect reaches by chance with these runs); chance and "
                             "interactions dominate.")
                continue
            parts = [f"{d.label} [{d.basis}] {d.share:.0%} (low third {_signed(d.low_third_mean)}, high third "
                     f"{_signed(d.high_third_mean)})" for d in named]
            lines.append(f"- {label}: " + "; ".join(parts) + ".")
            for d in named:
                if d.flips:
                    better_when = "low" if d.low_third_mean < 0 else "high"
                    worse_when = "high" if better_when == "low" else "low"
                    flags.append(f"- **{strategy}**, {label}: the sign of the difference depends on {d.label}: "
                                 f"better than `{plan.baseline}` when it is {better_when}, worse when it is "
                                 f"{worse_when} (within the prior).")
        lines.append("")
    lines += ["### Where the answer turns on an assumption", ""]
    lines += flags or ["No difference changes sign between the lowest and the highest third of any input that "
                       f"explains {DRIVER_SHARE:.0%} or more of it."]
    return lines + [""]


def _mixture_lines(plan: "Plan", analyses: Analyses) -> list[str]:
    lines = ["## Contained clash or war", "",
             "A run *becomes a war* when armour or artillery (L3) or heavier is used; otherwise it *stays "
             "contained*. The two kinds of run differ by orders of magnitude, so each is described on its own.",
             "", "| strategy | part | share of runs | deaths (median [5–95%]) | civilian deaths | peak displaced | "
             "hours to holding ceasefire (runs) |", "|---|---|---|---|---|---|---|"]
    for _, r in analyses.mixtures.iterrows():
        if r["runs"] == 0:
            lines.append(f"| {r['strategy']} | {r['part']} | 0% | – | – | – | – |")
            continue

        def cell(c: str) -> str:
            return f"{_fmt(r[c + '_median'])} [{_fmt(r[c + '_p5'])}–{_fmt(r[c + '_p95'])}]"

        hours = (f"{cell('hours_to_stabilisation')} ({r['hours_to_stabilisation_runs']})"
                 if r["hours_to_stabilisation_runs"] else "never")
        lines.append(f"| {r['strategy']} | {r['part']} | {r['share']:.0%} | {cell('deaths_total')} | "
                     f"{cell('civilian_deaths')} | {cell('peak_displaced_total')} | {hours} |")
    return lines + [""]


def report_markdown(plan: "Plan", table: pd.DataFrame, diffs: pd.DataFrame, ranks: pd.DataFrame,
                    analyses: Analyses) -> str:
    spec = plan.scenario.spec
    lines = [f"# Strategy comparison: {plan.scenario.name}", "", spec.description.strip(), "",
             f"{len(plan.labels)} strategies x {plan.runs} paired runs; baseline `{plan.baseline}`; "
             "differences are strategy minus baseline. Read every figure as a statement about the model and the "
             "assumptions below, not as a forecast.", ""]
    lines += _what_is_uncertain(plan)
    lines += _ranking_lines(plan, ranks, analyses)
    lines += _distribution_lines(plan, analyses)
    lines += _driver_lines(plan, analyses)
    lines += _mixture_lines(plan, analyses)
    lines += ["## Mean paired differences against the baseline [bootstrap 95% CI of the mean]", ""]
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
              "peak displaced | hours to holding ceasefire (runs where it happened) | violations | P(L3+) | "
              "P(relapse) |", "|---|---|---|---|---|---|---|---|"]
    for label in plan.labels:
        sub = table[table["strategy"] == label].set_index("outcome")

        def cell(col: str) -> str:
            r = sub.loc[col]
            if r["kind"] == "probability":
                return _fmt(r["mean"], "probability")
            return f"{_fmt(r['median'])} [{_fmt(r['p5'])}–{_fmt(r['p95'])}]"

        hours = sub.loc["hours_to_stabilisation"]
        lines.append(f"| {label} | {cell('deaths_total')} | {cell('civilian_deaths')} | "
                     f"{cell('peak_displaced_total')} | {cell('hours_to_stabilisation')} ({hours['happened']}) | "
                     f"{cell('violations')} | {cell('heavy_weapons')} | {cell('relapse')} |")
    lines += ["", "Full tables: `table.md` / `table.csv`; every run with its drawn inputs: `runs.csv`; "
              "`difference_distribution.csv`, `ranks.csv`, `drivers.csv`, `mixtures.csv`; figures: `curves.png`, "
              "`forest.png`, `survival.png`.", "", "Notes:", "", *_notes(plan)]
    return "\n".join(lines) + "\n"

