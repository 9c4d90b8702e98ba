"""The calibration report (``results/calibration/``): documented vs simulated tables, posterior plots,
posterior predictive escalation curves with the documented timeline, and the out-of-sample check."""

from __future__ import annotations

import dataclasses
import math
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import yaml

from sim.calibration.targets import Episode, Target, TargetSet, distance_deviation
from sim.core.ladder import LABELS, Rung
from sim.experiments.ensemble import RunResult
from sim.output.results import atomic_dir, portable_path, write_json, write_text_atomic
from sim.progress import say

if TYPE_CHECKING:
    from sim.calibration.fit import FitResult, FitSettings, OutputPaths

RELATIVE_GOAL = ("deaths_kg", "deaths_tj", "peak_displaced_kg")   # medians within ±30%
HOURS_GOAL = ("hours_to_first_ceasefire",)                          # medians within ±12 h
LEVEL_OUTCOMES = RELATIVE_GOAL + HOURS_GOAL + ("segments_involved",)    # shown by highest weapon level
BASELINE_RUNS = 20
EVENT_STYLE = {
    "onset": ("black", "-"), "first_shots": ("tab:orange", "--"), "heavy_weapons": ("tab:red", "--"),
    "ceasefire_agreed": ("tab:green", "-"), "violation": ("tab:purple", ":"), "stabilised": ("tab:blue", "-"),
    "protocol_signed": ("tab:brown", "-."), "withdrawal": ("tab:gray", "-."),
}


@dataclasses.dataclass
class Prediction:
    episode: Episode
    results: list[RunResult]
    values: pd.DataFrame


def predict_all(targets: TargetSet, result: "FitResult", settings: "FitSettings", n_pred: int,
                quick: bool) -> dict[str, Prediction]:
    """Posterior predictive runs of every episode in the file (fitted or not)."""
    from sim.calibration.fit import predictive, predictive_values

    out = {}
    for i, ep in enumerate(targets.episodes.values()):
        if ep.kind == "background" and quick and ep.id not in result.episodes:
            continue  # a year-long run per draw: not part of a machinery test
        n = n_pred if ep.kind == "episode" else BASELINE_RUNS
        draws = result.draws.iloc[:n]
        runs = predictive(ep, draws, settings.seed + 100 + i, settings.workers, settings.quiet)
        out[ep.id] = Prediction(ep, runs, predictive_values(ep, runs, targets.censor_at_end))
    return out


# --- tables ---------------------------------------------------------------------------------------------

EDGE_PERCENTILE = 10.0
"""A documented value with fewer than this share of the predictive runs on one side of it sits at the edge of
what the model predicts (:func:`edge_verdict`)."""


def documented_percentile(simulated: np.ndarray, documented: float) -> float:
    """Where the documented value falls among the simulated ones: the percentage of runs below it, ties counted
    half (the probability integral transform of a posterior predictive check).

    Why: "inside the 90% interval" says nothing about where inside. A value at the 50th percentile is what the
    model expects; one at the 6th is barely reached, and when the documented figures of an episode sit mostly
    on one side of the predictive medians, the model is biased there even if every figure is inside."""
    x = np.asarray(simulated, dtype=float)
    x = x[~np.isnan(x)]
    if not len(x):
        return math.nan
    return float(100.0 * (np.sum(x < documented) + 0.5 * np.sum(x == documented)) / len(x))


def comparison_table(pred: Prediction, fitted_on: list[str]) -> pd.DataFrame:
    rows = []
    for t in pred.episode.targets:
        column = pred.values[t.name].astype(float)
        z = np.array([distance_deviation(t, x) for x in column])
        v = column.dropna()
        med, q5, q95 = (np.quantile(v, [0.5, 0.05, 0.95]) if len(v) else (math.nan,) * 3)
        inside = bool(q5 <= t.point <= q95) if len(v) else False
        overlap = bool(q5 <= t.high and t.low <= q95) if len(v) else False
        goal = ""
        if t.reads in RELATIVE_GOAL and t.point:
            goal = "ok" if abs(med - t.point) <= 0.3 * abs(t.point) else "miss"
        elif t.reads in HOURS_GOAL:
            goal = "ok" if abs(med - t.point) <= 12.0 else "miss"
        rows.append({
            "episode": t.episode, "target": t.name, "output": t.reads, "documented": t.point,
            "doc_low": t.low, "doc_high": t.high, "sim_median": med, "sim_q05": q5, "sim_q95": q95,
            "documented_inside_90pct": inside, "range_overlaps_90pct": overlap,
            "documented_percentile": documented_percentile(column.to_numpy(), t.point),
            "median_goal": goal, "in_distance": t.fit and t.episode in fitted_on,
            "under_reported": t.under_reported, "scale": t.scale,
            "median_deviation": float(np.median(z)) if len(z) else math.nan,
            "mean_sq_deviation": float(np.mean(z * z)) if len(z) else math.nan,
            "sources": "; ".join(t.sources),
        })
    return pd.DataFrame(rows)


def misfit_breakdown(tables: dict[str, pd.DataFrame], fitted_on: list[str]) -> pd.DataFrame:
    """The fitted targets ranked by what they add to the distance of a posterior predictive run.

    The distance is a sum of squared deviations, so a run's expected distance is the sum of each target's mean
    squared deviation and ``share`` is exact. Why: it names the documented figures the model cannot reach,
    which is where a rule needs work, rather than leaving the reader to compare two dozen intervals."""
    rows = pd.concat([df for eid, df in tables.items() if eid in fitted_on], ignore_index=True)
    rows = rows[rows["in_distance"]].sort_values("mean_sq_deviation", ascending=False, kind="stable")
    rows = rows.assign(share=rows["mean_sq_deviation"] / rows["mean_sq_deviation"].sum())
    return rows[["episode", "target", "documented", "sim_median", "median_deviation", "mean_sq_deviation",
                 "share"]].reset_index(drop=True)


def misfit_markdown(df: pd.DataFrame, top: int = 8) -> str:
    total = df["mean_sq_deviation"].sum()
    lines = [f"A posterior predictive run lies at an expected distance of {total:,.0f} from the documented "
             f"figures. The {min(top, len(df))} targets that contribute most to that distance (all: `misfit.csv`):", "",
             "| episode | target | documented | simulated median | median deviation (scale units) | "
             "mean squared deviation | share of the distance |", "|---|---|---|---|---|---|---|"]
    for r in df.head(top).itertuples():
        direction = "too high" if r.median_deviation > 0 else "too low" if r.median_deviation < 0 else "on target"
        lines.append(f"| {r.episode} | {r.target} | {_fmt(r.documented)} | {_fmt(r.sim_median)} | "
                     f"{r.median_deviation:+.1f} ({direction}) | {r.mean_sq_deviation:,.1f} | {r.share:.0%} |")
    return "\n".join(lines)


def _rung_target(episode: Episode) -> Target | None:
    return next((t for t in episode.targets if t.reads == "max_rung"), None)


def documented_rung(episode: Episode) -> int | None:
    """The highest weapon level documented for an episode (its ``max_rung`` target), if it has one."""
    target = _rung_target(episode)
    return None if target is None else int(target.point)


def by_weapon_level(pred: Prediction) -> pd.DataFrame:
    """The posterior predictive runs grouped by the highest weapon level they reached: how many, and the median
    of each goal target in each group (empty if the episode has no ``max_rung`` target).

    Why: most of an episode's toll follows from how far up the ladder it went (evacuation from the reach of the
    heaviest weapon, deaths from its lethality). A median that misses is either a miss of the escalation rules
    (many runs go past the documented level) or of the rules at that level (the runs that stopped where the
    episode did miss too); this table tells which, and so which rule needs work."""
    rung_target = _rung_target(pred.episode)
    if rung_target is None or pred.values.empty:
        return pd.DataFrame()
    documented = int(rung_target.point)
    shown = [t for t in pred.episode.targets if t.reads in LEVEL_OUTCOMES]
    reached = pred.values[rung_target.name].dropna().astype(int)
    rows = []
    for rung, group in pred.values.loc[reached.index].groupby(reached):
        row = {"rung": int(rung), "level": LABELS[Rung(int(rung))], "runs": len(group),
               "share": len(group) / len(reached), "documented_level": int(rung) == documented}
        row.update({t.name: float(group[t.name].median()) for t in shown})
        rows.append(row)
    return pd.DataFrame(rows)


def by_level_markdown(df: pd.DataFrame, episode: Episode) -> str:
    targets = {t.name: t for t in episode.targets}
    names = [c for c in df.columns if c in targets]
    past = float(df.loc[df["rung"] > documented_rung(episode), "share"].sum())
    lead = ("How far up the ladder the predictive runs went, and the median outcome of the runs that stopped at "
            "each level: a goal missed only by the runs past the documented level is a miss of the escalation "
            f"rules, one missed at the documented level too is a miss of the rules at that level. {past:.0%} of "
            "the runs went past the documented level.")
    lines = [lead, "", "| highest level reached | runs | " + " | ".join(names) + " |",
             "|---|---|" + "---|" * len(names),
             "| documented | – | " + " | ".join(_fmt(targets[n].point) for n in names) + " |"]
    for r in df.itertuples():
        level = f"**{r.level}** (documented)" if r.documented_level else r.level
        lines.append(f"| {level} | {r.runs} ({r.share:.0%}) | "
                     + " | ".join(_fmt(getattr(r, n)) for n in names) + " |")
    return "\n".join(lines)


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}"


def table_markdown(df: pd.DataFrame) -> str:
    lines = ["| target | model output | documented | documented range | simulated median | 90% predictive "
             "interval | documented inside? | median goal |", "|---|---|---|---|---|---|---|---|"]
    for r in df.itertuples():
        rng = f"{_fmt(r.doc_low)}–{_fmt(r.doc_high)}" if r.doc_low != r.doc_high else "–"
        mark = "yes" if r.documented_inside_90pct else ("**NO** (range overlaps)" if r.range_overlaps_90pct
                                                        else "**NO**")
        if not math.isnan(r.documented_percentile):
            mark += f" (p{r.documented_percentile:.0f})"
        name = r.target + ("" if r.in_distance else " (not in distance)") + (" †" if r.under_reported else "")
        lines.append(f"| {name} | `{r.output}` | {_fmt(r.documented)} | {rng} | {_fmt(r.sim_median)} | "
                     f"{_fmt(r.sim_q05)}–{_fmt(r.sim_q95)} | {mark} | {r.median_goal or '–'} |")
    lines.append("")
    lines.append("† flagged as under-reported by the facts sheet (§4). Hours are counted from the onset (first "
                 "incident); a run that never reached the event counts as reaching it at the end of the run. "
                 "pNN: the percentage of predictive runs below the documented value (ties counted half); near 50 "
                 "the model centres on the record, near 5 or 95 the record is at the edge of what it predicts.")
    return "\n".join(lines)


# --- figures --------------------------------------------------------------------------------------------

def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_marginals(result: "FitResult", path: Path) -> Path:
    plt = _plt()
    params = result.parameters
    n = len(params)
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.6 * rows), squeeze=False)
    for ax, p in zip(axes.flat, params):
        x = result.particles[p.name].to_numpy()
        lo, hi = p.low, p.high
        if p.log:
            bins = np.logspace(math.log10(lo), math.log10(hi), 25)
            ax.set_xscale("log")
        else:
            bins = np.linspace(lo, hi, 25)
        ax.hist(x, bins=bins, weights=result.weights, density=True, color="tab:blue", alpha=0.7)
        med = result.medians()[p.name]
        ax.axvline(med, color="black", lw=1)
        ax.set_xlim(lo, hi)
        ax.set_title(f"{p.name}\nmedian {med:.3g}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle("Posterior marginals (last ABC-SMC generation, weighted); x-range = prior", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_pairs(result: "FitResult", path: Path) -> Path:
    """Lower triangle: pairwise scatter of the posterior draws; diagonal: histograms. Log-prior parameters
    are shown as log10 on linear axes; every axis spans the prior."""
    plt = _plt()
    params = result.parameters
    n = len(params)

    def col(p):
        x = result.draws[p.name].to_numpy(dtype=float)
        return (np.log10(x), p.sampled_bounds) if p.log else (x, (p.low, p.high))

    cols = [col(p) for p in params]
    labels = [f"log10 {p.name}" if p.log else p.name for p in params]
    fig, axes = plt.subplots(n, n, figsize=(1.3 * n + 1, 1.3 * n + 1), squeeze=False)
    for i in range(n):
        for j in range(n):
            ax = axes[i, j]
            if j > i:
                ax.axis("off")
                continue
            xj, (lo_j, hi_j) = cols[j]
            if i == j:
                ax.hist(xj, bins=np.linspace(lo_j, hi_j, 20), color="tab:blue", alpha=0.7)
            else:
                yi, (lo_i, hi_i) = cols[i]
                ax.scatter(xj, yi, s=2, alpha=0.4, color="tab:blue")
                ax.set_ylim(lo_i, hi_i)
            ax.set_xlim(lo_j, hi_j)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == n - 1:
                ax.set_xlabel(labels[j], fontsize=6, rotation=35, ha="right")
            if j == 0:
                ax.set_ylabel(labels[i], fontsize=6, rotation=0, ha="right")
    fig.suptitle("Posterior draws, pairwise (each axis spans the prior)", fontsize=10)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return path


DATED_DEATHS = {"deaths_kg": ("KG", "tab:red"), "deaths_tj": ("TJ", "tab:green")}
"""Tolls that a dated target (``by:``) can mark on the deaths panel, with the side's label and colour."""


def plot_escalation(pred: Prediction, path: Path) -> Path:
    """max_rung and cumulative deaths over time: median and 5–95% band, documented timeline as lines. A toll
    dated by a source as it mounted (a target with ``by:``) is marked with its range at its hour, beside that
    side's median curve: where the model's dead come too early or too late shows at a glance."""
    plt = _plt()
    ep = pred.episode
    frames = []
    for r in pred.results:
        s = r.series
        frames.append(pd.DataFrame({
            "run": r.task.run, "hour": s["hour"].to_numpy(), "max_rung": s["max_rung"].to_numpy(),
            "deaths_kg": (s["deaths_kg_military"] + s["deaths_kg_civilian"]).to_numpy(),
            "deaths_tj": (s["deaths_tj_military"] + s["deaths_tj_civilian"]).to_numpy()}))
    series = pd.concat(frames, ignore_index=True)
    series["deaths"] = series["deaths_kg"] + series["deaths_tj"]
    fig, axes = plt.subplots(2, 1, figsize=(11, 7), sharex=True)
    for ax, col, label in ((axes[0], "max_rung", "highest rung (model) / level"),
                           (axes[1], "deaths", "cumulative deaths")):
        q = series.groupby("hour")[col].quantile([0.05, 0.5, 0.95]).unstack()
        ax.fill_between(q.index, q[0.05], q[0.95], color="tab:blue", alpha=0.25, label="5–95% (posterior predictive)")
        ax.plot(q.index, q[0.5], color="tab:blue", lw=1.5, label="median" if col == "max_rung" else "median, both sides")
        ax.set_ylabel(label)
    axes[0].set_ylim(-0.2, 5.2)
    axes[0].set_yticks(range(6))
    axes[0].set_yticklabels(["calm", "L0", "L1", "L2", "L3", "L4"])
    deaths_doc = sum(t.point for t in ep.targets if t.reads in ("deaths_kg", "deaths_tj"))
    if deaths_doc:
        axes[1].axhline(deaths_doc, color="black", lw=0.8, ls="--", label=f"documented total {deaths_doc:.0f}")
    dated = [t for t in ep.targets if t.hour is not None and t.output in DATED_DEATHS]
    for output in dict.fromkeys(t.output for t in dated):
        side, color = DATED_DEATHS[output]
        axes[1].plot(series.groupby("hour")[output].median(), color=color, lw=1.0, label=f"median, {side} dead")
        points = [t for t in dated if t.output == output]
        axes[1].errorbar([t.hour for t in points], [t.point for t in points],
                         yerr=[[t.point - t.low for t in points], [t.high - t.point for t in points]],
                         fmt="o", color=color, mec="black", ms=5, capsize=3, label=f"documented {side} dead by then")
    rung_doc = [t.point for t in ep.targets if t.reads == "max_rung"]
    if rung_doc:
        axes[0].axhline(rung_doc[0], color="black", lw=0.8, ls="--", label="documented highest level")
    seen = set()
    for ev in ep.timeline:
        hour = (ev.at - ep.start).total_seconds() / 3600.0
        color, ls = EVENT_STYLE.get(ev.event, ("gray", ":"))
        for ax in axes:
            ax.axvline(hour, color=color, ls=ls, lw=1.0, label=None if ev.event in seen else ev.event.replace("_", " "))
            seen.add(ev.event)
        axes[0].annotate(ev.label, (hour, 5.1), rotation=90, fontsize=6, va="top", ha="right", color=color)
    axes[1].set_xlabel(f"hours since {ep.start.isoformat()} (scenario start)")
    for ax in axes:
        ax.legend(fontsize=7, loc="lower right" if ax is axes[1] else "center right")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{ep.id}: {ep.title}\n{len(pred.results)} posterior predictive runs; vertical lines = documented "
                 f"timeline", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# --- the report folder ----------------------------------------------------------------------------------

def write_report(folder: Path, targets: TargetSet, chosen: TargetSet, result: "FitResult",
                 predictions: dict[str, Prediction], paths: "OutputPaths", quick: bool) -> None:
    fitted_on = list(chosen.episodes)
    tables = {eid: comparison_table(p, fitted_on) for eid, p in predictions.items()}
    old_oos = folder / "out_of_sample"
    with atomic_dir(folder) as tmp:
        if old_oos.is_dir():   # the out-of-sample fits are made by their own command; keep them
            shutil.copytree(old_oos, tmp / "out_of_sample")
        for eid, df in tables.items():
            df.to_csv(tmp / f"table_{eid}.csv", index=False)
            levels = by_weapon_level(predictions[eid])
            if not levels.empty:
                levels.to_csv(tmp / f"by_level_{eid}.csv", index=False)
            pv = predictions[eid].values.copy()
            pv.insert(0, "episode", eid)
            pv.to_csv(tmp / f"predictive_{eid}.csv", index=False)
        misfit_breakdown(tables, fitted_on).to_csv(tmp / "misfit.csv", index=False)
        pd.DataFrame(result.generations).to_csv(tmp / "generations.csv", index=False)
        result.draws.to_csv(tmp / "posterior_draws.csv", index=False, float_format="%.6g")
        plot_marginals(result, tmp / "posterior_marginals.png")
        plot_pairs(result, tmp / "posterior_pairs.png")
        for eid, pred in predictions.items():
            if pred.episode.timeline:
                plot_escalation(pred, tmp / f"escalation_{eid}.png")
        write_text_atomic(tmp / "report.md", report_markdown(targets, result, tables, fitted_on, paths, quick,
                                                             predictions))
        write_json(tmp / "manifest.json", {
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "fitted_on": fitted_on, "quick": quick, "fitted_yaml": portable_path(paths.fitted),
            "settings": settings_record(result.settings), "generations": result.generations,
            "simulations": result.simulations, "walltime_seconds": round(result.walltime_s, 1),
            "predictive_runs": {eid: len(p.results) for eid, p in predictions.items()},
            "posterior_median": result.medians(),
        })


def settings_record(settings: "FitSettings") -> dict:
    """The fit's settings for the manifest, with the history database's path made portable."""
    record = dataclasses.asdict(settings)
    if record.get("history") is not None:
        record["history"] = portable_path(record["history"])
    return record


def goal_verdict(tables: dict[str, pd.DataFrame], episodes: list[str]) -> list[str]:
    lines = []
    for eid in episodes:
        df = tables[eid]
        used = df[df["in_distance"] | ~df["target"].isin([])]
        outside = used[~used["documented_inside_90pct"]]["target"].tolist()
        misses = used[used["median_goal"] == "miss"]["target"].tolist()
        lines.append(f"* **{eid}**: documented value outside the 90% predictive interval: "
                     f"{', '.join(outside) if outside else 'none'}; median goal missed: "
                     f"{', '.join(misses) if misses else 'none'}.")
    return lines


def edge_verdict(tables: dict[str, pd.DataFrame], episodes: list[str]) -> list[str]:
    """Where the documented values of the fitted targets sit in the predictive distributions: how many lie below
    the simulated median, and which are at the edge (below :data:`EDGE_PERCENTILE` or above its complement).
    Why: every figure can be inside wide intervals while the model sits systematically above or below the
    record; this says which way, and where."""
    lines = []
    for eid in episodes:
        used = tables[eid][tables[eid]["in_distance"]].dropna(subset=["documented_percentile"])
        pct = used.set_index("target")["documented_percentile"]
        edge = [f"{name} (p{p:.0f})" for name, p in pct.items()
                if p < EDGE_PERCENTILE or p > 100.0 - EDGE_PERCENTILE]
        lines.append(f"* **{eid}**: of {len(pct)} fitted figures, {int((pct > 50).sum())} lie above the simulated "
                     f"median and {int((pct < 50).sum())} below it; at the edge of the predictive distribution: "
                     f"{', '.join(edge) if edge else 'none'}.")
    return lines


def fixed_note(result: "FitResult") -> str:
    """The parameters a subset fit left at the scenario's values, for the report's first paragraph."""
    if not result.fixed:
        return ""
    kept = ", ".join(f"{k} = {v:.3g}" for k, v in result.fixed.items())
    return f"; not fitted, kept at the scenario's values: {kept}"


def report_markdown(targets: TargetSet, result: "FitResult", tables: dict[str, pd.DataFrame], fitted_on: list[str],
                    paths: "OutputPaths", quick: bool, predictions: dict[str, Prediction]) -> str:
    from sim.calibration.fit import method_name

    s = result.settings
    sampling = f"{len(result.generations)} generation(s), {result.simulations} simulations"
    if s.generations == 0:   # --resume --generations 0: a report of a stored fit, no sampling
        when = (f"report written anew from the fit stored in `{portable_path(s.history)}` "
                   "(`--resume --generations 0`)")
    else:
        sampling += f" (at most {s.generations} generations, {s.budget} simulations)"
        when = f"{result.walltime_s:.0f} s on {s.workers} worker(s)"
    lines = [f"# Calibration report{' (--quick: machinery test, not a fit)' if quick else ''}", "",
             f"Fitted on **{', '.join(fitted_on)}** with {method_name(s.method)}: population {s.population}, {sampling}; "
             f"the posterior is generation {result.posterior_generation} "
             f"(the last with an effective sample size of at least {s.min_ess_fraction:.0%} of the population): "
             f"epsilon {result.final_epsilon:.3g}, effective sample size {result.ess:.1f} of {len(result.weights)}"
             f"{fixed_note(result)}; {when}, seed {s.seed}. Parameters written to `{portable_path(paths.fitted)}`; "
             f"targets from `{portable_path(targets.path)}`. How the fit works: `docs/calibration.md`.", "",
             "## Goal check", "",
             "Every documented target inside the 90% posterior predictive interval; medians of deaths and evacuated "
             "within ±30%; hours to the first ceasefire within ±12 h.", ""]
    episodes = [e for e in tables if targets.episodes[e].kind == "episode"]
    lines += goal_verdict(tables, episodes)
    lines += ["", "Where each documented figure falls among the predictive runs (pNN in the tables below: the "
              "percentage of runs below it):", ""]
    lines += edge_verdict(tables, [e for e in episodes if e in fitted_on])
    lines += ["", "## Where the misfit comes from", "", misfit_markdown(misfit_breakdown(tables, fitted_on))]
    lines += ["", "## Posterior (median and 90% interval of the weighted posterior generation)", "",
              "| parameter | prior | median | 5% | 95% |", "|---|---|---|---|---|"]
    from sim.calibration.fit import weighted_quantile

    for p in result.parameters:
        x = result.particles[p.name].to_numpy()
        qs = [weighted_quantile(x, result.weights, q) for q in (0.5, 0.05, 0.95)]
        scale = "log-uniform" if p.log else "uniform"
        lines.append(f"| {p.name} | {scale} {p.low:.3g}–{p.high:.3g} | {qs[0]:.3g} | {qs[1]:.3g} | {qs[2]:.3g} |")
    lines += ["", "| generation | epsilon | simulations | acceptance | effective sample size |",
              "|---|---|---|---|---|"]
    for g in result.generations:
        lines.append(f"| {g['generation']} | {g['epsilon']:.4g} | {g['samples']} | {g['acceptance']:.3f} | "
                     f"{g['effective_sample_size']:.1f} |")
    for eid, df in tables.items():
        ep = targets.episodes[eid]
        role = "fitted" if eid in fitted_on else "not fitted: predicted"
        lines += ["", f"## {eid}: {ep.title} ({role})", "",
                  f"{len(tables[eid]) and len(df)} targets; table also in `table_{eid}.csv`; "
                  + (f"escalation curves in `escalation_{eid}.png`." if ep.timeline else ""), "",
                  table_markdown(df)]
        levels = by_weapon_level(predictions[eid])
        if not levels.empty:
            lines += ["", f"### {eid} by the highest weapon level reached (`by_level_{eid}.csv`)", "",
                      by_level_markdown(levels, ep)]
    lines += ["", "## Files", "",
              "* `table_<episode>.csv`: documented vs simulated per target (with sources)",
              "* `predictive_<episode>.csv`: each posterior predictive run's value of each target",
              "* `misfit.csv`: each fitted target's mean squared deviation and its share of the distance",
              "* `by_level_<episode>.csv`: the predictive runs grouped by the highest weapon level they reached, "
              "with the median of each goal target per group",
              "* `posterior_marginals.png`, `posterior_pairs.png`, `posterior_draws.csv`, `generations.csv`",
              "* `escalation_<episode>.png`: posterior predictive max rung and cumulative deaths with the documented "
              "timeline",
              "* `out_of_sample/` (from `bordersim calibrate --out-of-sample`): fit on one episode, predict the other"]
    return "\n".join(lines) + "\n"


# --- out of sample --------------------------------------------------------------------------------------

def out_of_sample(targets: TargetSet, settings: "FitSettings", paths: "OutputPaths", n_draws: int, n_pred: int,
                  quick: bool) -> Path:
    """Fit on E07 alone and predict E13, and the reverse; tables in ``<report>/out_of_sample/``."""
    from sim.calibration.fit import predictive, predictive_values, resample
    from sim.calibration.method import run_fit

    episodes = [e for e in targets.episodes.values() if e.kind == "episode"]
    if len(episodes) < 2:
        from sim.errors import UserError

        raise UserError(f"{targets.path}: --out-of-sample needs two episodes of kind 'episode'")
    folder = paths.report / "out_of_sample"
    sections, tables, fits = [], {}, {}
    for train in episodes:
        res = run_fit(targets.select([train.id]), settings)
        res.draws = resample(res, n_draws, settings.seed + 1)
        fits[train.id] = res
        for i, ep in enumerate(episodes):
            runs = predictive(ep, res.draws.iloc[:n_pred], settings.seed + 200 + i, settings.workers, settings.quiet)
            pred = Prediction(ep, runs, predictive_values(ep, runs, targets.censor_at_end))
            df = comparison_table(pred, [train.id])
            tables[(train.id, ep.id)] = df
            role = "in sample" if ep.id == train.id else "OUT OF SAMPLE"
            inside = int(df["documented_inside_90pct"].sum())
            sections += ["", f"## Fitted on {train.id}, predicting {ep.id} ({role}): {inside} of {len(df)} documented "
                         f"figures inside the 90% predictive interval", "",
                         f"Fit: {len(res.generations)} generations, {res.simulations} simulations, final epsilon "
                         f"{res.final_epsilon:.3g}, effective sample size {res.ess:.1f}.", "", table_markdown(df)]
    paths.report.mkdir(parents=True, exist_ok=True)
    with atomic_dir(folder) as tmp:
        for (train, test), df in tables.items():
            df.to_csv(tmp / f"fit_{train}_predict_{test}.csv", index=False)
        for train, res in fits.items():
            med = {k: float(f"{v:.6g}") for k, v in res.medians().items()}
            write_text_atomic(tmp / f"posterior_median_{train}.yaml",
                              yaml.safe_dump({"fitted_on": [train], "values": med,
                                              "generations": len(res.generations), "simulations": res.simulations,
                                              "final_epsilon": float(f"{res.final_epsilon:.6g}"),
                                              "seed": settings.seed}, sort_keys=False))
        summary = ["", "## Summary: is the documented figure inside the 90% predictive interval?", "",
                   "| episode | target | documented | " + " | ".join(f"fitted on {t.id}" for t in episodes) + " |",
                   "|---|---|---|" + "---|" * len(episodes)]
        for ep in episodes:
            for k, t in enumerate(ep.targets):
                cells = []
                for train in episodes:
                    r = tables[(train.id, ep.id)].iloc[k]
                    tag = "in sample" if train.id == ep.id else "out of sample"
                    cells.append(f"{'yes' if r['documented_inside_90pct'] else '**NO**'} ({tag}; median "
                                 f"{_fmt(r['sim_median'])})")
                summary.append(f"| {ep.id} | {t.name} | {_fmt(t.point)} | " + " | ".join(cells) + " |")
        head = ["# Out of sample: fit on one episode, predict the other"
                + (" (--quick: machinery test)" if quick else ""), "",
                f"Each fit: population {settings.population}, at most {settings.generations} generations / "
                f"{settings.budget} simulations; {n_pred} posterior predictive runs per episode. A model that only "
                "fits what it was tuned on is not yet calibrated."]
        write_text_atomic(tmp / "report.md", "\n".join(head + summary + sections) + "\n")
    say(f"wrote {folder}/", settings.quiet)
    return folder
