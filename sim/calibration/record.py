"""``bordersim score``: how well the model forecasts every documented episode, against naive baselines.

Each episode of the targets file (``calibration/episodes.yaml``) is run from its documented starting
conditions; each documented figure of :data:`sim.calibration.scoring.SCORED_OUTPUTS` is scored (CRPS, 90%
interval score, PIT, 50% and 90% coverage) against the model's runs, against the same figure in the other
episodes (the reference class) and against zero. Episodes the shipped parameters were fitted to
(``made_by.episodes`` of the parameter file) are marked in-sample; the skill and coverage the report leads with
are those of the others, which the fit never saw. Writes ``results/validation/`` whole or not at all.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.calibration.scoring import SCORED_OUTPUTS, Scored, score, skill, worse_than_zero
from sim.calibration.targets import DEFAULT_EPISODES_FILE, Episode, TargetSet, load_targets
from sim.errors import UserError
from sim.experiments.ensemble import LocalExecutor, run_ensemble, tasks_for
from sim.experiments.posterior import load_posterior
from sim.input.limits import check_runs
from sim.input.scenario import parameter_file
from sim.input.yamlio import read_yaml_mapping
from sim.output.guard import claim_output, nested_outputs_locked
from sim.output.results import (atomic_dir, git_commit, package_versions, portable_path, write_json,
                               write_text_atomic)
from sim.progress import progress, say

DEFAULT_OUT = Path("results") / "validation"
NESTED = ("leave_one_out", "coverage", "ablation")
"""The other checks that write inside the validation folder by default; score keeps them and may not replace
the folder while one of them is being written."""


@dataclass(frozen=True)
class ScoreOptions:
    episodes_file: Path = DEFAULT_EPISODES_FILE
    episodes: tuple[str, ...] | None = None
    runs: int = 200
    seed: int = 20260101
    posterior: bool = False
    workers: int | None = None
    out: Path = DEFAULT_OUT
    quiet: bool = False
    force: bool = False
    """Replace an existing results folder (otherwise it is kept and the command refused before any run)."""
    allow_large: bool = False
    """Lift the bound on ``runs`` (``sim.input.limits``)."""


def fitted_episodes(parameter_file: Path | None) -> set[str]:
    """The episodes a parameter file's values were fitted to (``made_by.episodes``); none for defaults."""
    if parameter_file is None or not parameter_file.is_file():
        return set()
    made_by = read_yaml_mapping(parameter_file).get("made_by") or {}
    return set(made_by.get("episodes") or ())


def _selected(targets: TargetSet, ids: tuple[str, ...] | None) -> list[Episode]:
    episodes = [e for e in targets.episodes.values() if e.kind == "episode"]
    if ids is None:
        return episodes
    known = {e.id: e for e in episodes}
    missing = [i for i in ids if i not in known]
    if missing:
        raise UserError(f"--episodes: unknown episode(s) {', '.join(missing)}; known: {', '.join(sorted(known))}")
    return [known[i] for i in ids]


def _documented(episode: Episode) -> dict[str, float]:
    """The episode's documented point for each scored output (untimed targets only)."""
    return {t.output: t.point for t in episode.targets if t.output in SCORED_OUTPUTS and t.hour is None}


def score_record(options: ScoreOptions) -> Path:
    """Run every selected episode, score it, and write the validation folder; returns the folder."""
    targets = load_targets(options.episodes_file)
    episodes = _selected(targets, options.episodes)
    check_runs(options.runs, "--runs", options.allow_large)
    with claim_output(Path(options.out), options.force), nested_outputs_locked(Path(options.out), NESTED):
        return _score(options, targets, episodes)


def _score(options: ScoreOptions, targets: TargetSet, episodes: list[Episode]) -> Path:
    """:func:`score_record` once the inputs are checked and the output claimed."""
    every = {e.id: _documented(e) for e in targets.episodes.values() if e.kind == "episode"}
    post = load_posterior() if options.posterior else None
    rows: list[Scored] = []
    levels: list[dict[str, Any]] = []
    in_sample: set[str] = set()
    workers = options.workers or 1
    accounts: list[dict[str, Any]] = []
    for episode in episodes:
        summary = _simulate(episode, options, post, workers)
        scenario_path = str(episode.scenario)
        in_sample |= {episode.id} & fitted_episodes(_parameter_file(scenario_path))
        for output, documented in _documented(episode).items():
            others = [v[output] for other, v in every.items() if other != episode.id and output in v]
            rows.append(score(episode.id, output, summary[output].to_numpy(float), documented, others))
        documented_rung = next((t.point for t in episode.targets if t.output == "max_rung"), math.nan)
        levels.append({"episode": episode.id, "documented_max_rung": documented_rung, **_escalation(summary)})
        named = _scenario(scenario_path, None).spec.accounts
        for account in (None, *named) if named else ():
            reading = summary if account is None else _simulate(episode, options, post, workers, account)
            accounts.append(_account_row(episode, account, reading, every))
    background = [e for e in targets.episodes.values() if e.kind == "background"] if options.episodes is None else []
    years = [_calm_year(e, _simulate(e, options, post, workers)) for e in background]
    frame = pd.DataFrame([dataclasses.asdict(r) for r in rows])
    frame.insert(2, "in_sample", frame["episode"].isin(in_sample))
    level_frame = pd.DataFrame(levels)
    level_frame.insert(1, "in_sample", level_frame["episode"].isin(in_sample))
    out = Path(options.out)
    meta = {"command": "bordersim score", "episodes_file": portable_path(options.episodes_file),
            "episodes": [e.id for e in episodes], "runs": options.runs, "seed": options.seed,
            "posterior": post.info() if post is not None else None, "in_sample": sorted(in_sample)}
    account_frame = pd.DataFrame(accounts)
    with atomic_dir(out) as tmp:
        for sub in sorted(out.iterdir()) if out.is_dir() else ():
            if sub.is_dir() and not sub.name.startswith("."):   # other checks' folders (leave_one_out/, coverage/)
                shutil.copytree(sub, tmp / sub.name)
        frame.to_csv(tmp / "scores.csv", index=False)
        level_frame.to_csv(tmp / "levels.csv", index=False)
        if len(account_frame):
            account_frame.to_csv(tmp / "accounts.csv", index=False)
        year_frame = pd.DataFrame(years)
        if len(year_frame):
            year_frame.to_csv(tmp / "calm_years.csv", index=False)
        write_text_atomic(tmp / "report.md", report_markdown(frame, level_frame, options, account_frame, year_frame))
        held = frame[~frame["in_sample"]]
        plot_pit(held if len(held) else frame, tmp / "pit.png")
        write_json(tmp / "manifest.json", {**manifest_basics(), "score": meta})
    say(f"wrote {out}/ ({len(episodes)} episodes x {options.runs} runs)", options.quiet)
    return out


def _simulate(episode: Episode, options: ScoreOptions, post: Any, workers: int,
              account: str | None = None) -> pd.DataFrame:
    """The run summaries of one episode from its documented starting conditions (under ``account``, one of its
    scenario's contested readings, if given); the same seeds whatever the reading."""
    tasks = tasks_for(episode.scenario, options.seed, options.runs, label=episode.id, account=account)
    if post is not None:
        tasks = [dataclasses.replace(t, overrides=post.overrides(t.run)) for t in tasks]
    what = episode.id if account is None else f"{episode.id} ({account})"
    with progress(len(tasks), f"{what}: runs", options.quiet) as advance:
        with LocalExecutor(min(workers, len(tasks))) as ex:
            results = run_ensemble(tasks, ex, on_result=lambda _: advance(1), workers=workers)
    return pd.DataFrame([r.summary for r in results])


def _escalation(summary: pd.DataFrame) -> dict[str, float]:
    deaths = summary["deaths_kg"] + summary["deaths_tj"]
    return {"share_L3_or_heavier": float((summary["max_rung"] >= 4).mean()),
            "share_L2_or_heavier": float((summary["max_rung"] >= 3).mean()),
            "median_deaths": float(deaths.median()),
            "median_displaced": float((summary["peak_displaced_kg"] + summary["peak_displaced_tj"]).median())}


def _calm_year(episode: Episode, summary: pd.DataFrame) -> dict[str, Any]:
    """A background episode (a simulated ordinary year) against the record's distribution of years: how often
    a year holds a war, and its incidents and lethal incidents beside the documented counts."""
    row: dict[str, Any] = {"episode": episode.id, "runs": len(summary),
                           "share_L3_or_heavier": float((summary["max_rung"] >= 4).mean()),
                           "share_L2_or_heavier": float((summary["max_rung"] >= 3).mean())}
    for output in ("incidents", "lethal_incidents"):
        values = summary[output].to_numpy(float)
        target = next((t for t in episode.targets if t.output == output), None)
        row |= {f"{output}_median": float(np.median(values)), f"{output}_q05": float(np.quantile(values, 0.05)),
                f"{output}_q95": float(np.quantile(values, 0.95)),
                f"{output}_documented_low": target.low if target else math.nan,
                f"{output}_documented_high": target.high if target else math.nan}
    return row


SMALL_ARMS_RUNG = 2
"""The model rung of the facts sheet's L1 (small arms): the highest level of a shoot-out."""


def shoot_out_escalation(levels: pd.DataFrame, runs: int) -> tuple[float, float, list[str]]:
    """P(L3+) pooled over the episodes whose documented highest level is small arms (shoot-outs under
    peacetime orders), its binomial standard error, and which episodes those are."""
    shootouts = levels[levels["documented_max_rung"] == SMALL_ARMS_RUNG]
    if shootouts.empty:
        return math.nan, math.nan, []
    share = float(shootouts["share_L3_or_heavier"].mean())
    n = runs * len(shootouts)
    return share, math.sqrt(max(share * (1 - share), 1.0 / n) / n), shootouts["episode"].tolist()


def _account_row(episode: Episode, account: str | None, summary: pd.DataFrame,
                 every: dict[str, dict[str, float]]) -> dict[str, Any]:
    """How one reading of a contested record forecasts an episode's deaths by side."""
    row: dict[str, Any] = {"episode": episode.id, "account": account or "as written (no side)",
                           **_escalation(summary)}
    for output, documented in _documented(episode).items():
        if output in ("deaths_kg", "deaths_tj"):
            values = summary[output].to_numpy(float)
            others = [v[output] for other, v in every.items() if other != episode.id and output in v]
            scored = score(episode.id, output, values, documented, others)
            row |= {f"{output}_documented": documented, f"{output}_median": float(np.median(values)),
                    f"{output}_q05": float(np.quantile(values, 0.05)),
                    f"{output}_q95": float(np.quantile(values, 0.95)), f"{output}_crps": scored.crps}
    return row


def _scenario(scenario_path: str, strategy: str | None):
    from sim.experiments.ensemble import _scenario as load

    return load(scenario_path, strategy)


def _parameter_file(scenario_path: str) -> Path | None:
    return parameter_file(Path(scenario_path), _scenario(scenario_path, None).spec)


def manifest_basics() -> dict[str, Any]:
    """The software and code versions (the part of a run's manifest that does not depend on a scenario)."""
    return {"software": package_versions(), "git": git_commit(Path(__file__).resolve().parents[2])}


def summary_table(frame: pd.DataFrame, in_sample: bool = False) -> pd.DataFrame:
    """Per scored output, over the out-of-sample figures (or the in-sample ones): mean scores, skill against
    both baselines, coverage."""
    out = []
    for output, part in frame[frame["in_sample"] == in_sample].groupby("output", sort=False):
        out.append({
            "output": output, "figures": len(part),
            "crps": part["crps"].mean(), "crps_reference": part["crps_reference"].mean(),
            "crps_zero": part["crps_zero"].mean(),
            "skill_vs_reference": skill(part["crps"].to_numpy(), part["crps_reference"].to_numpy()),
            "skill_vs_zero": skill(part["crps"].to_numpy(), part["crps_zero"].to_numpy()),
            "interval_skill_vs_reference": skill(part["interval"].to_numpy(), part["interval_reference"].to_numpy()),
            "coverage_50": part["in50"].mean(), "coverage_90": part["in90"].mean(),
        })
    return pd.DataFrame(out)


def _fmt(x: float, digits: int = 2) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def report_markdown(frame: pd.DataFrame, levels: pd.DataFrame, options: ScoreOptions,
                    accounts: pd.DataFrame | None = None, years: pd.DataFrame | None = None) -> str:
    scope = "out of sample" if (~frame["in_sample"]).any() else "in sample"
    held = frame[frame["in_sample"] == (scope == "in sample")]
    params = ("parameters drawn from the calibrated posterior (run i uses draw i mod n)" if options.posterior
              else "the scenarios' parameters (the calibrated posterior medians)")
    lines = [
        "# How well the model forecasts the documented episodes", "",
        f"{len(levels)} episodes x {options.runs} runs from their documented starting conditions, with {params}. "
        "Each documented figure is scored on log(1 + x) by the CRPS and the 90% interval score, against the model's "
        "runs, against the same figure in the other episodes (reference class) and against zero. Skill is "
        "1 - score / baseline score: above 0 the model beats the baseline.", "",
        f"In sample (the parameters were fitted to them): {', '.join(sorted(set(frame.loc[frame['in_sample'], 'episode']))) or 'none'}. "
        + ("The skill and coverage below count only the other episodes, which the fit never saw." if scope == "out of sample"
         else "Every scored episode was fitted, so the skill and coverage below are in sample: what the fit achieved, "
              "not a forecast (out of sample: `bordersim calibrate --cross-validate`)."), "",
        f"## Skill {scope}", "",
        "| figure | figures | CRPS | CRPS reference | CRPS zero | skill vs reference | skill vs zero | interval skill vs reference | 50% coverage | 90% coverage |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    table = summary_table(frame, in_sample=scope == "in sample")
    if table.empty:
        lines.append("| (no scored figures) | | | | | | | | | |")
    for r in table.itertuples():
        lines.append(f"| {r.output} | {r.figures} | {_fmt(r.crps)} | {_fmt(r.crps_reference)} | {_fmt(r.crps_zero)} | "
                     f"{_fmt(r.skill_vs_reference)} | {_fmt(r.skill_vs_zero)} | {_fmt(r.interval_skill_vs_reference)} | "
                     f"{r.coverage_50:.0%} | {r.coverage_90:.0%} |")
    if len(held):
        deaths = held[held["output"].isin(["deaths_kg", "deaths_tj"])]
        lines += ["", f"Deaths, both sides together: skill {_fmt(skill(deaths['crps'].to_numpy(), deaths['crps_reference'].to_numpy()))} "
                  f"against the reference class and {_fmt(skill(deaths['crps'].to_numpy(), deaths['crps_zero'].to_numpy()))} "
                  f"against zero; episodes whose deaths the model forecasts worse than zero would: "
                  f"{', '.join(worse_than_zero(deaths['episode'].to_numpy(), deaths['crps'].to_numpy(), deaths['crps_zero'].to_numpy())) or 'none'}. "
                  f"Coverage of all {len(held)} {scope} figures: {held['in50'].mean():.0%} inside the 50% "
                  f"interval (calibrated: 50%), {held['in90'].mean():.0%} inside the 90% interval (90%). "
                  "PIT histogram: `pit.png`."]
    lines += ["", "## How far each episode escalates", "",
              "| episode | in sample | documented highest level | runs reaching L2+ | runs reaching L3+ | median deaths | median displaced |",
              "|---|---|---|---|---|---|---|"]
    for r in levels.itertuples():
        level = "–" if math.isnan(r.documented_max_rung) else f"L{int(r.documented_max_rung) - 1}"
        lines.append(f"| {r.episode} | {'yes' if r.in_sample else 'no'} | {level} | {r.share_L2_or_heavier:.0%} | "
                     f"{r.share_L3_or_heavier:.0%} | {r.median_deaths:g} | {r.median_displaced:,.0f} |")
    lines += _record_as_distribution(levels, years, options.runs)
    lines += _accounts_markdown(accounts)
    lines += ["", "## Every scored figure", "",
              "| episode | figure | documented | simulated median [90%] | CRPS | reference | zero | PIT |",
              "|---|---|---|---|---|---|---|---|"]
    for r in frame.itertuples():
        lines.append(f"| {r.episode}{' (in sample)' if r.in_sample else ''} | {r.output} | {r.documented:g} | "
                     f"{r.sim_median:g} [{r.sim_q05:g}–{r.sim_q95:g}] | {_fmt(r.crps)} | {_fmt(r.crps_reference)} | "
                     f"{_fmt(r.crps_zero)} | {r.pit:.2f} |")
    lines += ["", "Documented figures and their sources: `calibration/episodes.yaml`. Counts of small episodes are "
              "partisan and often one side's claim; the scores treat the documented point as the observation."]
    return "\n".join(lines) + "\n"


def _record_as_distribution(levels: pd.DataFrame, years: pd.DataFrame | None, runs: int) -> list[str]:
    """The record's shape beside the model's: most shoot-outs stay small, wars are rare, a year is quiet."""
    share, se, which = shoot_out_escalation(levels, runs)
    lines = ["", "## The record as a distribution", "",
             "| what | the record | the model |", "|---|---|---|"]
    if which:
        lines.append(f"| a shoot-out under peacetime orders reaches armour or heavier (L3+), pooled over "
                     f"{', '.join(which)} | two wars in about a dozen documented episodes: 5–25% | "
                     f"{share:.1%} (± {se:.1%}) |")
    for r in (years.itertuples() if years is not None and len(years) else ()):
        lines.append(f"| {r.episode}: years with a war (L3+) | two in about twelve years: 5–20% | "
                     f"{r.share_L3_or_heavier:.0%} of {r.runs} years |")
        lines.append(f"| {r.episode}: lethal incidents a year, median [90%] | about one "
                     f"({r.lethal_incidents_documented_low:g}–{r.lethal_incidents_documented_high:g}) | "
                     f"{r.lethal_incidents_median:g} [{r.lethal_incidents_q05:g}–{r.lethal_incidents_q95:g}] |")
        lines.append(f"| {r.episode}: incidents a year, median [90%] | "
                     f"{r.incidents_documented_low:g}–{r.incidents_documented_high:g} | "
                     f"{r.incidents_median:g} [{r.incidents_q05:g}–{r.incidents_q95:g}] |")
    return lines if len(lines) > 5 else []


def _accounts_markdown(accounts: pd.DataFrame | None) -> list[str]:
    """The contested readings of the record side by side: the same runs under each party's account."""
    if accounts is None or not len(accounts):
        return []
    lines = ["", "## Under each reading of the contested record", "",
             "Who entered whose villages is contested (`accounts` in the scenarios). The skill above uses the "
             "scenarios as written, taking no side; here the same seeds run under each party's account.", "",
             "| episode | reading | KG deaths: documented, median [90%] | TJ deaths: documented, median [90%] | "
             "CRPS KG / TJ | runs reaching L3+ |", "|---|---|---|---|---|---|"]

    def cell(r: Any, side: str) -> str:
        doc = getattr(r, f"deaths_{side}_documented", math.nan)
        if doc is None or (isinstance(doc, float) and math.isnan(doc)):
            return "–"
        return (f"{doc:g}, {getattr(r, f'deaths_{side}_median'):g} [{getattr(r, f'deaths_{side}_q05'):g}–"
                f"{getattr(r, f'deaths_{side}_q95'):g}]")

    for r in accounts.itertuples():
        lines.append(f"| {r.episode} | {r.account} | {cell(r, 'kg')} | {cell(r, 'tj')} | "
                     f"{_fmt(getattr(r, 'deaths_kg_crps', math.nan))} / {_fmt(getattr(r, 'deaths_tj_crps', math.nan))} | "
                     f"{r.share_L3_or_heavier:.0%} |")
    return lines


def plot_pit(frame: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.hist(frame["pit"], bins=np.linspace(0, 1, 11), color="#4c72b0", edgecolor="white")
    if len(frame):
        ax.axhline(len(frame) / 10, color="black", lw=1, ls="--", label="calibrated")
        ax.legend(frameon=False)
    ax.set_xlabel("PIT of the documented figure among the runs")
    ax.set_ylabel("figures")
    ax.set_title("Out-of-sample PIT (uniform if calibrated)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
