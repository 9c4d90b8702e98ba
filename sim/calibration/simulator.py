"""The model as the fit sees it: free parameters and their priors, one simulation of a parameter vector
(one run of each episode), and the distance between simulated and documented figures.

One *simulation* of a parameter vector is one run of each selected episode's scenario with those parameters.
Its seeds come from ``SeedSequence([--seed, bits of the parameter values])``, so the same vector always
gives the same runs for a given ``--seed`` whichever process evaluates it. The distance
(:func:`sim.calibration.targets.distance`) scales each documented figure by its documented range.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import numpy as np

from sim.calibration.targets import Episode, Target, TargetSet, distance, distance_lower_bound, sim_value
from sim.errors import UserError
from sim.input.parameters import SPECS


@dataclass(frozen=True)
class FitParameter:
    """One free parameter: its prior is uniform on [low, high], on a log10 scale when ``log``."""

    name: str
    low: float
    high: float
    log: bool
    reason: str

    @property
    def key(self) -> str:
        """The name pyabc samples: ``log10_<name>`` for log-scale priors."""
        return f"log10_{self.name}" if self.log else self.name

    @property
    def sampled_bounds(self) -> tuple[float, float]:
        """The prior's bounds in the space pyabc samples (log10 of the unit for log-scale priors)."""
        return (math.log10(self.low), math.log10(self.high)) if self.log else (self.low, self.high)

    def to_value(self, sampled: float) -> float:
        return float(10.0 ** sampled) if self.log else float(sampled)


PRIOR_REASONS: dict[str, str] = {
    "incident_rate": "background only (calm segments); spans ~3-100 incidents a year over the mapped border",
    "escalate_rate": "per-hour climb; 0.005/h (weeks per rung) to 0.3/h (a rung in ~3 h: E07 went L0 -> L2 in ~26 h, "
                     "E13 L2 -> L4 in ~2 days)",
    "authorise_rate": "orders for the next rung within 2 h to 8 days (E07 mortars ~10 h after the first shots)",
    "arms_tension": "from stones turning into shots at any moderately tense segment (0.45) to only at the most "
                    "contested spot (0.95; Golovnoi in April 2021 after the cameras)",
    "rearm_rate": "restoring the war's authorisation within an hour of a breach (1/h) to after ~8 days (0.005/h); "
                  "E13's local ceasefire of 14 Sep gave way to the main war on 16 Sep (~35 h later)",
    "front_rate": "from a front opening over weeks to ~a third of the line per hour; E13 fire along the whole "
                  "Batken perimeter within a day (KG border service via TRT/TASS)",
    "agree_rate": "an agreement within ~3 h to ~2 weeks of open talks (E13 agreed within the day, E07 in ~1.5 days)",
    "ceasefire_discipline": "a ceasefire removes half to 99% of the escalation hazard",
    "violation_rate": "breaches every ~20 h to ~3 months per unit tension (both ceasefires were broken within a day)",
    "military_casualty_rate": "0.02-2 military hit per hour per segment at mortar level: spans the 2021 and 2022 tolls",
    "civilian_casualty_rate": "one person in 1,000 next to a segment under mortar fire hit every ~2 weeks (0.003/h) "
                              "to every ~3 h (0.3/h); free because who died is a target: E13's "
                              "civilian dead were 37-51 of ~100 (HRW 2023-05-02), E07's Tajik 10-13 of 19 (AFP; "
                              "Asia-Plus 2021-05-04)",
    "orders_loss_gain": "0 (a death changes no orders) to 2 (one death in the last day triples the hazard of new "
                        "orders); E07 went from the first shots to mortars in ~10 h and to armour in ~13 h as the "
                        "toll mounted (24.kg 192001, 192151; utrk.kg 56978)",
    "air_lead_hours": "L4 at hand at once (0) to five days after the first shots (120 h); E07's armed fire ran ~16 h "
                      "to its ceasefire with armour and no MLRS, drones or aircraft (facts E07); E13's forces came "
                      "deployed for war, which the rule leaves alone",
    "deployed_authorise_factor": "0 (forces deployed for war keep the orders they came with until a ceasefire has "
                                 "failed) to 1 (their orders climb as anyone's); E13's heavy weapons came on 16 Sep, "
                                 "after the ceasefire of 14 Sep (TJ GKNB via RIA; HRW)",
    "incursion_hit_rate": "a person still in an entered village hit every ~4 days (1e-4/h) to every ~1.4 days "
                          "(0.03/h); 418 KG houses destroyed in 2022 against ~20 TJ (CABAR.asia 2023; TJ MFA), KG / TJ "
                          "deaths 36 / 19 and 62 / 41 (calibration/episodes.yaml)",
    "front_decay_per_km": "a local war's front reaching ~330 km (0.003/km: the whole mapped line, ~200 km end to end) "
                          "down to ~3 km (0.3/km: the next village); E07 stayed in the Batken and Leilek sectors, "
                          "19 named sites (17-30) of 43 segments, ~70 km apart (calibration/episodes.yaml)",
    "road_advance_rate": "an offensive's armour reaching a road ~8 days after its orders (0.005/h) to within the "
                         "hour (1/h); E07's tanks entered Internatsional on the Leilek road ~70 km from the fire at "
                         "about the hour armour is dated, 3 h after the mortars at Golovnoi (utrk.kg 56978; "
                         "24.kg 192151)",
    "first_use_pooling": "0 (each segment brings a new weapon into the fight on its own) to 1 (one decision per "
                         "side, however wide the front); E07 saw no MLRS, drones or aircraft (facts E07), E13 saw "
                         "them only after the ceasefire of 14 Sep (TJ GKNB via RIA; HRW)",
    "threat_pooling": "from a village fearing only its most dangerous segment (0) to the sum of all segments' "
                      "threats (1); E07's armour on some 13 segments 27-31 km from Batken town did not empty it "
                      "(24.kg 192886), E13's MLRS fire on the town did (facts E13)",
    "force_pooling": "from one force per side however wide the front (0) to a full force on every segment and in "
                     "every entered village (1); E07 was fought for about a day on ~19 segments, E13 on 31, yet "
                     "the tolls differ by about two (36 / 19 and 62 / 41; calibration/episodes.yaml)",
    "evacuating_share": "from under half of a village leaving (0.4) to everyone (1); E07 evacuees were 'mainly women "
                        "and children' (RFE/RL 2021-04-30), 40,649 of the ~68,000 Kyrgyz who live nearest a segment "
                        "(24.kg 192886; docs/calibration.md)",
    "pain_weight": "0 (the toll does not move talks) to 4 (ten dead make agreement ~10x likelier per hour); E13 with "
                   ">100 dead agreed in ~13 h, E07 in ~31 h",
    "crowd_hit_rate": "a person in a crowd under small-arms fire hit every ~3 h (0.3/h) to every ~2 weeks (0.003/h); "
                      "at Golovnoi ~300 a side faced six hours of fire and 31 Kyrgyz had sought help by that night "
                      "(24.kg 192968, 192194): ~0.02/h if all were from the crowd",
}
"""Why each prior in ``sim.input.parameters.SPECS`` spans what it does (the table in docs/calibration.md)."""

EXTRA_PRIORS: dict[str, tuple[float, float, bool, str]] = {
    "reagree_factor": (
        1.0, 10.0, False,
        "not given a prior in SPECS; E13 saw >= 5 agreements within two days (facts §4), E07 two to four, so how fast "
        "talks re-agree after a breach is what sets the agreement and violation counts"),
}
"""Priors defined here for parameters SPECS does not mark for fitting: (low, high, log, reason)."""

BACKGROUND_ONLY = ("incident_rate",)
"""Parameters that act only on background incidents on calm segments (``escalation.ignite``): the episode
targets say nothing about them, so they are fitted only when a background target set (BASELINE) is selected."""


def free_parameters(targets: TargetSet, names: list[str] | None = None) -> list[FitParameter]:
    """The parameters to fit: those with a prior (SPECS or EXTRA_PRIORS), or just ``names``."""
    background = any(e.kind == "background" for e in targets.episodes.values())
    out: list[FitParameter] = []
    for name, spec in SPECS.items():
        if spec.prior is not None:
            if not background and name in BACKGROUND_ONLY and names is None:
                continue
            low, high = spec.prior
            out.append(FitParameter(name, low, high, spec.log_prior, PRIOR_REASONS.get(name, "see SPECS")))
    for name, (low, high, log, reason) in EXTRA_PRIORS.items():
        out.append(FitParameter(name, low, high, log, reason))
    if names is not None:
        known = {p.name: p for p in out}
        for n in names:
            if n not in known:
                from sim.input.yamlio import suggest
                raise UserError(f"--params: '{n}' has no prior to fit{suggest(n, list(known))}")
        out = [known[n] for n in names]
    return out


# --- one simulation -------------------------------------------------------------------------------------

@lru_cache(maxsize=16)
def _scenario(path: str):
    from sim.input.scenario import load_scenario

    return load_scenario(path)


def run_summary(scenario_path: str, seed: int, values: dict[str, float],
                stop_above: tuple[tuple[str, float], ...] = (),
                stop_if: Callable[[dict[str, Any]], bool] | None = None,
                read_at_hours: tuple[float, ...] = ()) -> dict[str, Any]:
    """One run of a scenario with some parameters replaced; its scalar outcomes, and the cumulative ones at
    ``read_at_hours`` (``sim.engine.outcomes.timed_output``).

    The run ends early, checked once a day (``sim.engine.batch.STOP_CHECK_STEPS``), as soon as one
    ``stop_above`` (cumulative output, cap) pair is exceeded or ``stop_if`` says so from the outputs so far;
    they are then lower bounds of the full run's. Why: in a fit, a calm year that has turned into a war costs
    many times a calm one to simulate to its end, and its lower-bound values already put it far outside any
    accepted distance."""
    from sim.engine.batch import run_batch
    from sim.engine.outcomes import rows

    def stop(summary: dict[str, np.ndarray]) -> np.ndarray:
        run = rows(summary)[0]
        return np.array([any(run[name] > cap for name, cap in stop_above)
                         or (stop_if is not None and stop_if(run))])

    checking = bool(stop_above) or stop_if is not None
    result = run_batch(_scenario(scenario_path), [seed], values, read_at_hours=read_at_hours,
                       stop=stop if checking else None)
    return result.summary_rows()[0]


def seeds_for(values: dict[str, float], base_seed: int, n: int) -> list[int]:
    """Per-episode seeds from the base seed and the parameter values' bits (reproducible anywhere)."""
    words = np.asarray([values[k] for k in sorted(values)], dtype=np.float64).view(np.uint32).tolist()
    children = np.random.SeedSequence([int(base_seed), *words]).spawn(n)
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


def replicate_key(key: str, replicate: int) -> str:
    """The summary-statistic name of target ``key`` in run ``replicate`` of a particle. Replicate 0 keeps the
    plain key, so a fit with one replicate stores the targets' keys unchanged."""
    return key if replicate == 0 else f"{key}#{replicate}"


class DeadlinePassed(Exception):
    """Raised by a simulation begun after the fit's wall-time limit, when the fit runs on a Dask cluster.

    Why not a rejection, as on one machine: pyabc's Dask sampler ends a generation only once enough particles
    are accepted and ignores the limit on simulations per generation (its stopping criteria other than that
    limit are checked between generations, pyABC#235), so a generation past the deadline would reject forever.
    The exception ends it; :func:`fit` then keeps the last complete generation, as pyabc does on one machine."""


@dataclass(frozen=True)
class Simulator:
    """The model as pyabc sees it: parameters in, the targets' simulated values out. Picklable."""

    episodes: tuple[Episode, ...]
    parameters: tuple[FitParameter, ...]
    base_seed: int
    censor: bool = True
    deadline: float = math.inf
    """Wall-clock time (``time.time()``) after which every simulation is rejected at once (or, with
    ``raise_past_deadline``, raises), so a generation that cannot finish in time ends quickly (the last complete
    generation is kept)."""
    replicates: int = 1
    """Runs of each episode per particle; the particle's distance is their mean (:class:`ScaledDistance`)."""
    raise_past_deadline: bool = False
    """Past the deadline, raise :class:`DeadlinePassed` instead of rejecting (for pyabc's Dask sampler)."""

    def values(self, pars: Any) -> dict[str, float]:
        return {p.name: p.to_value(float(pars[p.key])) for p in self.parameters}

    def __call__(self, pars: Any) -> dict[str, float]:
        return self.simulate(pars)[0]

    def simulate(self, pars: Any, eps: float = math.inf) -> tuple[dict[str, float], bool]:
        """The targets' simulated values (:func:`replicate_key` per replicate), and False if the particle was
        given up as certain to be rejected.

        Episodes run shortest first, each ``replicates`` times. A run stops, and the runs after it are skipped,
        once the distance's lower bound (the finished runs' distances plus
        :func:`~sim.calibration.targets.distance_lower_bound` of the run in progress, over ``replicates``) exceeds ``eps``:
        such a particle could not be accepted, so giving it up changes nothing but the time spent (a calm year
        costs 10-20 runs of an episode). Seeds stay tied to the episodes' order in the targets file, replicate
        ``r`` of episode ``i`` taking seed ``r * len(episodes) + i``, so replicate 0 has the seeds of a
        one-replicate fit."""
        if time.time() > self.deadline:
            if self.raise_past_deadline:
                raise DeadlinePassed
            return {}, False
        values = self.values(pars)
        seeds = seeds_for(values, self.base_seed, len(self.episodes) * self.replicates)
        position = {e.id: i for i, e in enumerate(self.episodes)}
        limit = eps * self.replicates            # the mean over replicates exceeds eps once the sum exceeds this
        out: dict[str, float] = {}
        spent = 0.0
        for episode in sorted(self.episodes, key=lambda e: e.duration_hours):
            fitted = episode.fitted_targets()
            stop_if = (None if math.isinf(eps)
                       else (lambda summary: spent + distance_lower_bound(summary, fitted) > limit))
            for r in range(self.replicates):
                seed = seeds[r * len(self.episodes) + position[episode.id]]
                summary = run_summary(str(episode.scenario), seed, values, episode.stop_above, stop_if,
                                      episode.read_at_hours)
                run = {t.key: sim_value(summary, t.reads, episode, self.censor) for t in episode.targets}
                out.update({replicate_key(k, r): v for k, v in run.items()})
                spent += distance(run, fitted)
                if spent > limit:
                    return out, False
        return out, True


@dataclass(frozen=True)
class ScaledDistance:
    """pyabc distance: sum of squared range-scaled deviations over the fitted targets, averaged over a
    particle's replicate runs. Picklable.

    Why a mean over replicates: one run's distance is mostly the run's luck (at one fit's posterior medians the
    expected distance of a run was 2,610 and 2,963 at two seeds, while the last generation of a comparable fit
    accepted only runs below 291), so a particle is accepted for a lucky run more than for its parameters. The
    mean of ``replicates`` runs estimates a parameter vector's expected distance with less of that luck."""

    targets: tuple[Target, ...]
    replicates: int = 1

    def __call__(self, x: dict, x_0: dict) -> float:
        targets = list(self.targets)
        runs = [{t.key: x.get(replicate_key(t.key, r), math.nan) for t in targets} for r in range(self.replicates)]
        return sum(distance(run, targets) for run in runs) / self.replicates


# --- the fit --------------------------------------------------------------------------------------------
