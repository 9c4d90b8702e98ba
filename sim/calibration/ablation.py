"""``bordersim calibrate --cross-validate --ablate ARMS``: what each mechanism buys out of sample.

Each *arm* switches one mechanism off (its parameters held at the values that remove it, and dropped from the
free parameters) and runs the whole leave-one-episode-out protocol (:mod:`sim.calibration.crossval`) with the
same budget and seed; the arm ``full`` keeps every mechanism. The table compares each arm's held-out scores with
the full model's, figure by figure: a mechanism earns its place if the model without it forecasts the held-out
deaths worse. Writes ``results/validation/ablation/`` (a folder per arm, the table, the report) whole or not at
all.

A mechanism is a rule that the record forced into the model beyond the ladder itself; which values switch it off
is part of its definition here, next to a sentence on what it does.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from sim.calibration.crossval import CrossValidation, cross_validate
from sim.calibration.record import manifest_basics
from sim.calibration.scoring import skill
from sim.calibration.targets import TargetSet
from sim.errors import UserError
from sim.input.parameters import SPECS
from sim.output.results import atomic_dir, portable_path, write_json, write_text_atomic
from sim.progress import say

DEFAULT_OUT = Path("results") / "validation" / "ablation"
FULL = "full"
DEATHS = ("deaths_kg", "deaths_tj")


@dataclass(frozen=True)
class Mechanism:
    name: str
    does: str
    """What the mechanism does, in a sentence."""
    off: Callable[[Mapping[str, float]], dict[str, float]]
    """The parameter values that switch it off, given the scenarios' values."""
    moot: tuple[str, ...] = ()
    """Parameters that do nothing once it is off: no longer fitted either, so the arm does not spend its budget
    on a dimension with no effect."""


MECHANISMS: dict[str, Mechanism] = {m.name: m for m in (
    Mechanism("containment", "under peacetime orders the commanders on the spot contain a shoot-out "
              "(contain_rate); off: a side at parity steps down at the war-time deescalate_rate",
              lambda p: {"contain_rate": float(p["deescalate_rate"])}),
    Mechanism("crowds", "residents gather at the line in a civil confrontation and can be hit (crowd_size 0; "
              "crowd_hit_rate no longer fitted)", lambda p: {"crowd_size": 0.0}, moot=("crowd_hit_rate",)),
    Mechanism("local_fronts", "a war that grew out of a local incident opens fire less far from it "
              "(front_decay_per_km 0)", lambda p: {"front_decay_per_km": 0.0}),
    Mechanism("orders_urgency", "a government's own dead hurry its orders (orders_loss_gain 0)",
              lambda p: {"orders_loss_gain": 0.0}),
    Mechanism("small_arms_lethality", "the lethality of small arms fitted on the small episodes; off: the "
              "hand-set ratio to mortars", lambda p: {"small_arms_lethality": float(SPECS["small_arms_lethality"]
                                                                                   .default)}),
    Mechanism("pooling", "a side's forces and a village's threats do not multiply with the width of a war "
              "(force_pooling and threat_pooling 1)", lambda p: {"force_pooling": 1.0, "threat_pooling": 1.0}),
    Mechanism("air_lead", "heavy weapons have to be brought up before a government that came with small arms "
              "may use them (air_lead_hours 0)", lambda p: {"air_lead_hours": 0.0}),
)}


@dataclass(frozen=True)
class Ablation:
    plan: CrossValidation
    arms: tuple[str, ...]
    out: Path = DEFAULT_OUT


def check_arms(names: tuple[str, ...]) -> tuple[str, ...]:
    """The arms to run, ``full`` first and once; unknown names are a user error listing the known ones."""
    unknown = [n for n in names if n not in MECHANISMS and n != FULL]
    if not names:
        raise UserError("--ablate: name at least one mechanism")
    if unknown:
        raise UserError(f"--ablate: unknown mechanism {', '.join(unknown)}; expected some of "
                        f"{', '.join(MECHANISMS)} (or 'all')")
    return (FULL, *dict.fromkeys(n for n in names if n != FULL))


def arm_settings(plan: CrossValidation, arm: str, scenario_params: Mapping[str, float]) -> CrossValidation:
    """The protocol of one arm: the mechanism's parameters held at its off values and no longer free."""
    if arm == FULL:
        return plan
    mechanism = MECHANISMS[arm]
    off = mechanism.off(scenario_params)
    settings = plan.settings
    free = tuple(p for p in (settings.params or ()) if p not in off and p not in mechanism.moot)
    held = tuple(sorted({**dict(settings.held), **off}.items()))
    return dataclasses.replace(plan, settings=dataclasses.replace(settings, params=free or None, held=held))


def ablate(targets: TargetSet, ablation: Ablation, scenario_params: Mapping[str, float]) -> Path:
    """Run every arm's leave-one-out and write the comparison; returns the folder."""
    started = time.time()
    scores: dict[str, pd.DataFrame] = {}
    fits: dict[str, pd.DataFrame] = {}
    plans: dict[str, CrossValidation] = {}
    with atomic_dir(ablation.out) as tmp:
        for i, arm in enumerate(ablation.arms):
            say(f"ablation: arm {i + 1}/{len(ablation.arms)}: {arm}", ablation.plan.settings.quiet)
            plan = dataclasses.replace(arm_settings(ablation.plan, arm, scenario_params), out=tmp / arm)
            cross_validate(targets, plan)
            scores[arm] = pd.read_csv(tmp / arm / "scores.csv")
            fits[arm] = pd.read_csv(tmp / arm / "fits.csv")
            plans[arm] = plan
        table = comparison(scores, fits, plans)
        table.to_csv(tmp / "table.csv", index=False)
        write_text_atomic(tmp / "report.md", report_markdown(table, ablation, time.time() - started))
        write_json(tmp / "manifest.json", {
            **manifest_basics(),
            "ablation": {"command": "bordersim calibrate --cross-validate --ablate " + ",".join(ablation.arms[1:]),
                         "episodes_file": portable_path(targets.path), "arms": list(ablation.arms),
                         "held": {arm: dict(p.settings.held) for arm, p in plans.items()},
                         "seconds": round(time.time() - started, 1)}})
    say(f"wrote {ablation.out}/ ({len(ablation.arms)} arms, {time.time() - started:.0f} s)",
        ablation.plan.settings.quiet)
    return ablation.out


def paired_difference(arm: pd.DataFrame, full: pd.DataFrame) -> tuple[float, float, int]:
    """Mean and standard error of the arm's CRPS minus the full model's over the held-out death figures both
    scored, and how many. Positive: the model without the mechanism forecasts worse."""
    key = ["episode", "output"]
    a = arm[arm["output"].isin(DEATHS)].set_index(key)["crps"]
    f = full[full["output"].isin(DEATHS)].set_index(key)["crps"]
    both = a.index.intersection(f.index)
    d = (a.loc[both] - f.loc[both]).to_numpy(float)
    if d.size == 0:
        return math.nan, math.nan, 0
    se = float(d.std(ddof=1) / math.sqrt(d.size)) if d.size > 1 else math.nan
    return float(d.mean()), se, int(d.size)


def comparison(scores: dict[str, pd.DataFrame], fits: dict[str, pd.DataFrame],
               plans: dict[str, CrossValidation]) -> pd.DataFrame:
    rows = []
    full = scores[FULL]
    for arm, frame in scores.items():
        deaths = frame[frame["output"].isin(DEATHS)]
        diff, se, n = paired_difference(frame, full)
        rows.append({
            "arm": arm, "free_parameters": len(plans[arm].settings.params or ()),
            "deaths_crps": float(deaths["crps"].mean()),
            "deaths_skill_vs_reference": skill(deaths["crps"].to_numpy(), deaths["crps_reference"].to_numpy()),
            "deaths_skill_vs_zero": skill(deaths["crps"].to_numpy(), deaths["crps_zero"].to_numpy()),
            "crps_change_vs_full": diff, "crps_change_se": se, "figures": n,
            "coverage_50": float(frame["in50"].mean()), "coverage_90": float(frame["in90"].mean()),
            "median_effective_sample_size": float(np.median(fits[arm]["effective_sample_size"])),
        })
    return pd.DataFrame(rows)


def verdict(row: pd.Series) -> str:
    if row["arm"] == FULL:
        return "the reference"
    diff, se = row["crps_change_vs_full"], row["crps_change_se"]
    if math.isnan(diff) or math.isnan(se):
        return "not measured"
    if diff > 2 * se:
        return "earns its place (held-out deaths worse without it)"
    if diff < -2 * se:
        return "costs skill (held-out deaths better without it)"
    return "no measurable difference at this budget"


def report_markdown(table: pd.DataFrame, ablation: Ablation, seconds: float) -> str:
    s = ablation.plan.settings
    lines = [
        "# Ablation: what each mechanism buys out of sample", "",
        "Each arm switches one mechanism off (its parameters held at the values below and no longer fitted) and "
        "runs the whole leave-one-episode-out protocol with the same budget and seed as the full model "
        f"(batched ABC-SMC: population {s.population}, at most {s.generations} generations, {s.budget} "
        f"simulations, {s.walltime_minutes:g} min per fit; {ablation.plan.draws} posterior draws per held-out "
        f"episode). CRPS on log(1 + deaths), per side, over the held-out episodes. Change: the arm's CRPS minus "
        "the full model's, figure by figure (mean ± standard error); positive means the model forecasts the "
        f"held-out deaths worse without the mechanism. All arms: {seconds / 60:.1f} min.", "",
        "| arm | free parameters | deaths CRPS | skill vs reference | skill vs zero | change vs full | "
        "50% / 90% coverage | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        change = ("–" if r["arm"] == FULL else
                  f"{r['crps_change_vs_full']:+.3f} ± {r['crps_change_se']:.3f} ({r['figures']} figures)")
        lines.append(f"| {r['arm']} | {r['free_parameters']} | {r['deaths_crps']:.3f} | "
                     f"{r['deaths_skill_vs_reference']:.2f} | {r['deaths_skill_vs_zero']:.2f} | {change} | "
                     f"{r['coverage_50']:.0%} / {r['coverage_90']:.0%} | {verdict(r)} |")
    lines += ["", "## The mechanisms", ""]
    for arm in ablation.arms[1:]:
        lines.append(f"- **{arm}**: {MECHANISMS[arm].does}.")
    lines += ["", "Each arm's held-out scores and fits: `<arm>/scores.csv`, `<arm>/fits.csv`, `<arm>/report.md`. "
              "At a small budget the fits are far from converged, so a difference within two standard errors "
              "says the budget cannot tell, not that the mechanism does nothing."]
    return "\n".join(lines) + "\n"
