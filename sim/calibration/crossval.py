"""``bordersim calibrate --cross-validate``: leave one documented episode out, fit on the rest, predict it.

For each episode of kind ``episode`` in the targets file: a batched ABC-SMC fit (``sim.calibration.smc``) on
every other episode (and the background targets, if any are selected), posterior predictive runs of the
held-out episode from its documented starting conditions, and the scores of ``sim.calibration.scoring``
against the reference class (the same figure in the other episodes) and zero. Every fit has the same budget
and seed, so the protocol is one command, repeatable, with no hand-chosen points. Writes
``results/validation/leave_one_out/`` whole or not at all.

Parameters that are not free in these fits keep the scenarios' values (the shipped fit's), which were fitted
with the two wars among the targets: for those two the hold-out covers the free parameters only, and the
report says so.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.calibration.fit import FitSettings, predictive, resample
from sim.calibration.record import manifest_basics, plot_pit, summary_table
from sim.calibration.scoring import SCORED_OUTPUTS, score, skill, worse_than_zero
from sim.calibration.smc import fit_batched
from sim.calibration.targets import TargetSet
from sim.errors import UserError
from sim.output.results import atomic_dir, portable_path, write_json, write_text_atomic
from sim.progress import say

DEFAULT_OUT = Path("results") / "validation" / "leave_one_out"


@dataclass(frozen=True)
class CrossValidation:
    settings: FitSettings
    draws: int = 200
    out: Path = DEFAULT_OUT


def documented(targets: TargetSet) -> dict[str, dict[str, float]]:
    """Each episode's documented point of each scored output (untimed targets)."""
    return {e.id: {t.output: t.point for t in e.targets if t.output in SCORED_OUTPUTS and t.hour is None}
            for e in targets.episodes.values() if e.kind == "episode"}


def cross_validate(targets: TargetSet, plan: CrossValidation) -> Path:
    """Fit without each episode, predict it, score it; write the folder and return it."""
    episodes = [e for e in targets.episodes.values() if e.kind == "episode"]
    background = [e.id for e in targets.episodes.values() if e.kind == "background"]
    if len(episodes) < 3:
        raise UserError(f"{targets.path}: --cross-validate needs at least three episodes of kind 'episode'")
    record = documented(targets)
    settings = plan.settings
    rows, fits = [], []
    started = time.time()
    for i, held in enumerate(episodes):
        train = targets.select([e.id for e in episodes if e.id != held.id] + background)
        say(f"cross-validate: {i + 1}/{len(episodes)}: fitting without {held.id}", settings.quiet)
        result = fit_batched(train, settings)
        draws = resample(result, plan.draws, settings.seed + 1)
        runs = predictive(held, draws, settings.seed + 100 + i, settings.workers, settings.quiet,
                          base_params=dict(settings.held))
        summary = pd.DataFrame([r.summary for r in runs])
        for output, point in record[held.id].items():
            others = [v[output] for other, v in record.items() if other != held.id and output in v]
            rows.append(score(held.id, output, summary[output].to_numpy(float), point, others))
        fits.append({"held_out": held.id, "generations": len(result.generations),
                     "posterior_generation": result.posterior_generation, "epsilon": result.final_epsilon,
                     "effective_sample_size": round(result.ess, 1), "simulations": result.simulations,
                     "seconds": round(result.walltime_s, 1),
                     "share_L3_or_heavier": float((summary["max_rung"] >= 4).mean())})
    frame = pd.DataFrame([dataclasses.asdict(r) for r in rows])
    frame.insert(2, "in_sample", False)
    fit_frame = pd.DataFrame(fits)
    meta = {"command": "bordersim calibrate --cross-validate", "episodes_file": portable_path(targets.path),
            "held_out": [e.id for e in episodes], "background": background, "draws": plan.draws,
            "settings": {"population": settings.population, "generations": settings.generations,
                         "budget": settings.budget, "minutes": settings.walltime_minutes, "seed": settings.seed,
                         "replicates": settings.replicates, "params": list(settings.params or ()),
                         "held": dict(settings.held)},
            "seconds": round(time.time() - started, 1)}
    with atomic_dir(plan.out) as tmp:
        frame.to_csv(tmp / "scores.csv", index=False)
        fit_frame.to_csv(tmp / "fits.csv", index=False)
        write_text_atomic(tmp / "report.md", report_markdown(frame, fit_frame, plan))
        plot_pit(frame, tmp / "pit.png")
        write_json(tmp / "manifest.json", {**manifest_basics(), "cross_validation": meta})
    say(f"wrote {plan.out}/ ({len(episodes)} fits, {time.time() - started:.0f} s)", settings.quiet)
    return plan.out


def report_markdown(frame: pd.DataFrame, fits: pd.DataFrame, plan: CrossValidation) -> str:
    s = plan.settings
    deaths = frame[frame["output"].isin(["deaths_kg", "deaths_tj"])]
    lines = [
        "# Leave one episode out", "",
        f"Each documented episode fitted without it (batched ABC-SMC: population {s.population}, at most "
        f"{s.generations} generations, {s.budget} simulations, {s.walltime_minutes:g} min, {s.replicates} "
        f"replicate(s), seed {s.seed}) and predicted from its documented starting conditions with {plan.draws} "
        "posterior draws. Scores on log(1 + x); skill = 1 - score / baseline score. Parameters that were not "
        "free keep the scenarios' values, which were fitted with the two wars among the targets.", "",
        "## Skill", "",
        "| figure | figures | CRPS | reference | zero | skill vs reference | skill vs zero | interval skill vs reference | 50% coverage | 90% coverage |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary_table(frame).itertuples():
        lines.append(f"| {r.output} | {r.figures} | {r.crps:.2f} | {r.crps_reference:.2f} | {r.crps_zero:.2f} | "
                     f"{r.skill_vs_reference:.2f} | {r.skill_vs_zero:.2f} | {r.interval_skill_vs_reference:.2f} | "
                     f"{r.coverage_50:.0%} | {r.coverage_90:.0%} |")
    worse = worse_than_zero(deaths["episode"].to_numpy(), deaths["crps"].to_numpy(), deaths["crps_zero"].to_numpy())
    lines += ["", f"Deaths, both sides: skill {skill(deaths['crps'].to_numpy(), deaths['crps_reference'].to_numpy()):.2f} "
              f"against the reference class, {skill(deaths['crps'].to_numpy(), deaths['crps_zero'].to_numpy()):.2f} "
              f"against zero; held-out episodes forecast worse than zero would: {', '.join(worse) or 'none'}. "
              f"Coverage of all {len(frame)} figures: {frame['in50'].mean():.0%} in the 50% interval, "
              f"{frame['in90'].mean():.0%} in the 90% interval. PIT histogram: `pit.png`.", "",
              "## The fits", "",
              "| held out | generations | posterior generation | epsilon | effective sample size | simulations | seconds | held-out runs reaching L3+ |",
              "|---|---|---|---|---|---|---|---|"]
    for r in fits.itertuples():
        lines.append(f"| {r.held_out} | {r.generations} | {r.posterior_generation} | {r.epsilon:.4g} | "
                     f"{r.effective_sample_size} | {r.simulations} | {r.seconds} | {r.share_L3_or_heavier:.0%} |")
    lines += ["", "Every scored figure: `scores.csv`. Documented figures and sources: `calibration/episodes.yaml`."]
    return "\n".join(lines) + "\n"
