"""Every model parameter in one place: meaning, unit, default, where the default comes from.

Defaults are hand-set, plausible values chosen so the documented episodes are reachable (see
``docs/ODD.md`` §7). ``bordersim calibrate`` fits parameters within their ``prior`` ranges (the set it fits
and any priors it adds are listed in ``docs/calibration.md``) and writes ``calibration/fitted.yaml``; a
scenario that names that file as its parameter file uses the fitted values.

Rates are hazards per hour: the model turns a rate ``r`` into a per-step probability ``1 - exp(-r*dt)``,
so the step length can change without changing the meaning of a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from sim.errors import UserError
from sim.input.builtin import CALIBRATION
from sim.input.yamlio import read_yaml_mapping, suggest

PARAMETER_SETS: dict[str, Path] = {
    "fitted": CALIBRATION / "fitted.yaml",
}
"""Named parameter sets a scenario can refer to (``parameters: {set: fitted}``): ``fitted`` is the values the
calibration publishes (its posterior medians; ``bordersim calibrate`` writes them)."""

HAND_SET = "hand-set (plausible value, not calibrated)"
FIRST_FIT = ("fixed at the posterior median of a 17-parameter ABC-SMC fit to E07+E13, not refitted: fixing it "
             "keeps the fit to fewer dimensions (docs/calibration.md)")
SECOND_FIT = ("fixed at the posterior median of an ABC-SMC fit to E07+E13, not refitted: with the calm year among "
              "the targets, 16 free parameters collapsed the importance weights (docs/calibration.md)")


@dataclass(frozen=True)
class ParameterSpec:
    """What a parameter means and where its default comes from.

    ``prior`` is the (low, high) range a calibration may search, and ``log_prior`` says whether to search
    it on a log scale (for rates spanning orders of magnitude). List-valued parameters are per-rung
    profiles (index = rung 0..5) and are not fitted directly: their scale parameters are.
    """

    default: float | tuple[float, ...]
    unit: str
    meaning: str
    source: str = HAND_SET
    prior: tuple[float, float] | None = None
    log_prior: bool = False
    prior_reason: str = ""
    """Why the prior spans what it does: the range's ends in the terms of the record."""
    kind: str = "rule"
    """``rule``: a parameter of the model's rules, fitted when it has a prior. ``effect``: what a mediation
    instrument does; the two wars had one history of mediation each, so the calibration cannot identify it and
    its prior (from the mediation literature or a stated judgement, median = the default) is carried into
    comparisons instead of being fitted (``sim.experiments.uncertainty``)."""

    @property
    def fit(self) -> bool:
        """The calibration searches this parameter's prior."""
        return self.prior is not None and self.kind != "effect"


P = ParameterSpec

SPECS: dict[str, ParameterSpec] = {
    # --- tension and background incidents -------------------------------------------------------------
    "incident_rate": P(
        6e-5, "per hour per disputed segment",
        "Hazard that a calm disputed segment at reference tension (0.5) sees a civil incident.",
        "hand-set so a calm year gives ~10–30 incidents over the mapped segments: facts §1.3 "
        "(32 incidents in 2014, steppeandthelaw.com 2015-01-21; ~230 in two decades, Economist 2022-09-22)",
        prior=(1e-5, 4e-4), log_prior=True,
        prior_reason='background only (calm segments); spans ~3-100 incidents a year over the mapped border'),
    "agreed_incident_factor": P(
        0.25, "ratio", "Dispute weight of an agreed (described) segment relative to a disputed one: scales its incident "
        "hazard and its structural tension.",
        "hand-set; the 'good fences' effect (Lim, Metzler & Bar-Yam, Science 2007) in relative form"),
    "resource_water_factor": P(
        2.0, "ratio", "Incident-hazard multiplier for segments where water is at stake.",
        "hand-set; water was the trigger in E07 (Golovnoi, 24.kg 192234) and the 2015 Samarkandyk dispute"),
    "resource_road_factor": P(1.5, "ratio", "Incident-hazard multiplier for contested roads.",
                              "hand-set; Tort-Kocho road blockades (utrk.kg 56978)"),
    "resource_pasture_factor": P(1.2, "ratio", "Incident-hazard multiplier for pastures."),
    "season_amplitude": P(
        0.4, "fraction", "Seasonal swing of tension on water segments, peaking mid-July (irrigation).",
        "hand-set; irrigation demand peaks in spring and summer (shared/DESIGN.md)"),
    "tension_gain": P(
        1.27, "per unit tension", "How steeply the incident and escalation hazards grow with tension: x exp(gain*(T-0.5)).",
        FIRST_FIT),
    "tension_relax_rate": P(0.01, "per hour", "Rate at which tension relaxes toward its structural level."),
    "tension_structural": P(
        0.4, "tension (0-1)", "Structural tension of a disputed segment (agreed segments: x agreed_incident_factor; water "
        "segments: x the season); also the reference above which tension fuels ceasefire violations."),
    "tension_from_violence": P(
        0.08, "per hour at the top rung", "Rise of a segment's tension while it is violent (x rung/5)."),
    # --- escalation ladder --------------------------------------------------------------------------
    "escalate_rate": P(
        0.1, "per hour", "Hazard that a side raises its own rung when not out-gunned (scaled by profile).",
        prior=(0.005, 0.3), log_prior=True,
        prior_reason=('per-hour climb; 0.005/h (weeks per rung) to 0.3/h (a rung in ~3 h: E07 went L0 -> L2 in '
                      '~26 h, E13 L2 -> L4 in ~2 days)')),
    "escalate_profile": P(
        (0.0, 1.0, 0.8, 0.5, 0.3, 0.0), "ratio by current rung",
        "Relative ease of the next step up the ladder from each rung (the top rung cannot rise).",
        "hand-set; facts §4: 'escalation runs L0 -> L2 within hours', heavy weapons only in 2021 and 2022"),
    "retaliate_rate": P(
        1.28, "per hour", "Hazard that a side out-gunned on a segment matches the opponent's rung.", FIRST_FIT),
    "loss_escalation_gain": P(
        0.3, "per death in the last 24 h",
        "Escalation hazard multiplier (and de-escalation divisor) per recent own death nearby."),
    "deescalate_rate": P(
        0.053, "per hour", "Hazard that a side at parity with its opponent steps one rung down (divided by "
        "the same loss multiplier that drives escalation: losses keep fighting going).", FIRST_FIT),
    "contain_rate": P(
        0.5, "per hour",
        "Hazard that a side at parity steps one rung down while the episode's fire stays within the border "
        "guards' own weapons (no government has authorised mortars or heavier): commanders on the spot contain "
        "a shoot-out. Replaces deescalate_rate in that regime.",
        "small episodes of 2014-2022 ended within hours, usually by talks between border commanders or governors "
        "(facts small episodes, stylised facts); E10: L0 -> L1 in ~20 min, an on-site meeting the same night "
        "(Kabar via today.az 2022-03-12); E06: over the same morning (Asia-Plus 2020-08-06)",
        prior=(0.05, 3.0), log_prior=True,
        prior_reason=("from a shoot-out lasting most of a day (0.05/h: ~20 h per rung) to one stopped within "
                      "minutes (3/h); the documented small episodes ended within hours")),
    "reciprocate_rate": P(
        1.0, "per hour", "Hazard that a side facing a lower opponent steps down too (tit-for-tat downwards).",
        "hand-set; most border shoot-outs end within hours (facts §1.3: ~32 incidents in 2014, few lethal)"),
    "calm_rate": P(0.15, "per hour", "Hazard that a civil confrontation (L0) with no armed fire ends, below "
                   "arms_tension; above it, scaled down by the same gate that lets stones turn into shots."),
    "arms_tension": P(
        0.7, "tension (0-1)", "Tension below which a civil confrontation (L0) does not turn into armed fire on its own: "
        "the climb from L0 to L1 is scaled by (T - arms_tension) / (1 - arms_tension), clipped to 0-1.",
        "hand-set; ~32 incidents in 2014 (steppeandthelaw.com 2015-01-21) but >10 serious conflicts since 2014 "
        "(TASS 2025-03-13): most incidents stay stones and blockades",
        prior=(0.45, 0.95),
        prior_reason=('from stones turning into shots at any moderately tense segment (0.45) to only at the '
                      'most contested spot (0.95; Golovnoi in April 2021 after the cameras)')),
    "spread_rate": P(
        0.042, "per hour", "Hazard that armed fire on a segment ignites a neighbouring segment.", FIRST_FIT),
    # --- orders (governments) ------------------------------------------------------------------------
    "authorise_rate": P(
        0.15, "per hour", "Hazard that a government under pressure authorises the next rung.",
        "fitted (docs/calibration.md); E07 mortars 10 h after the first shots (24.kg 192001, 192151)",
        prior=(0.005, 0.5), log_prior=True,
        prior_reason='orders for the next rung within 2 h to 8 days (E07 mortars ~10 h after the first shots)'),
    "rearm_rate": P(
        0.2, "per hour", "Hazard that a government whose ceasefire has been violated restores the highest "
        "authorisation of the episode (the collapse of a ceasefire is a decision, not a climb from L0); back to "
        "mortars or heavier, the breach is a collapse and is re-agreed at the first-talks rate. A government "
        "that came into the episode with mortars or heavier authorised may do so in the agreed lull too, once "
        "per episode.",
        "hand-set; E13: local ceasefire on 14 Sep evening, main fighting with heavy weapons from 16 Sep 06:00 "
        "(Sputnik via mehrnews 2022-09-16; HRW; TASS 1508411)",
        prior=(0.005, 1.0), log_prior=True,
        prior_reason=("restoring the war's authorisation within an hour of a breach (1/h) to after ~8 days "
                      "(0.005/h); E13's local ceasefire of 14 Sep gave way to the main war on 16 Sep (~35 h "
                      'later)')),
    "front_rate": P(
        0.03, "per hour per rung authorised above L1",
        "Hazard that a side opens armed fire on a calm or L0 disputed segment anywhere on the front, once armed fire "
        "has begun somewhere and its government authorises mortars or heavier: war by order, not by contagion.",
        "hand-set; E13 fire along 'the entire perimeter' of Batken within a day (KG border service via TRT/TASS); "
        "E07 17-30 segments in two days (calibration/episodes.yaml)",
        prior=(0.002, 0.3), log_prior=True,
        prior_reason=('from a front opening over weeks to ~a third of the line per hour; E13 fire along the '
                      'whole Batken perimeter within a day (KG border service via TRT/TASS)')),
    "front_decay_per_km": P(
        0.0, "per km",
        "How the front of a war that grew out of a local incident fades with distance: for a government that came "
        "into the episode with small arms or less authorised, the front hazard on a segment is x exp(-decay x km "
        "from the nearest segment under armed fire). A government deployed for war (mortars or heavier authorised "
        "from the start) opens fire anywhere. 0 = anywhere for both (the default without calibration/fitted.yaml).",
        "fitted (docs/calibration.md); "
        "E07 fire in the Batken and Leilek sectors, 19 named sites (17-30) of the 43 mapped segments "
        "(calibration/episodes.yaml); E13 'along the entire perimeter' (KG border service via TRT/TASS)",
        prior=(0.003, 0.3), log_prior=True,
        prior_reason=("a local war's front reaching ~330 km (0.003/km: the whole mapped line, ~200 km end to "
                      'end) down to ~3 km (0.3/km: the next village); E07 stayed in the Batken and Leilek '
                      'sectors, 19 named sites (17-30) of 43 segments, ~70 km apart (calibration/episodes.yaml)')),
    "orders_loss_gain": P(
        0.0, "per own death in the last 24 h",
        "Urgency of orders: a pressed government's authorisation hazard is multiplied by 1 + gain x its own deaths "
        "since the last agreement (24 h memory). 0 = off (the default without calibration/fitted.yaml).",
        "fitted; E07 first shots ~04:00, mortars ~14:00, armour ~17:00 as the toll mounted "
        "(24.kg 192001, 192151; utrk.kg 56978)",
        prior=(0.0, 2.0),
        prior_reason=('0 (a death changes no orders) to 2 (one death in the last day triples the hazard of new '
                      'orders); E07 went from the first shots to mortars in ~10 h and to armour in ~13 h as the'
                      ' toll mounted (24.kg 192001, 192151; utrk.kg 56978)')),
    "air_lead_hours": P(
        0.0, "hours",
        "Hours from the episode's first armed shot before a government whose forces came into it without mortars "
        "authorised (a local incident, not a deployment for war) may authorise L4 (MLRS, armed drones, "
        "aircraft): those weapons have to be brought up. Forces deployed for war have them at hand; fire may "
        "always be answered in kind. 0 = at hand for all (the default without calibration/fitted.yaml).",
        "E07: armed fire from ~04:00 on 29 Apr to the ceasefire at 20:00, armour within ~13 h, 31 KG dead by "
        "that evening, and no confirmed MLRS, drones or aircraft (facts E07; 24.kg 192001, 192194); E13's forces "
        "came deployed, with MLRS and drones ~57 h after the onset (TJ GKNB via RIA; Oryx 2022-10-03)",
        prior=(0.0, 120.0),
        prior_reason=("L4 at hand at once (0) to five days after the first shots (120 h); E07's armed fire ran "
                      "~16 h to its ceasefire with armour and no MLRS, drones or aircraft (facts E07); E13's "
                      'forces came deployed for war, which the rule leaves alone')),
    "deployed_authorise_factor": P(
        1.0, "factor",
        "Multiplier on a pressed government's authorisation hazard while it came into the episode with mortars or "
        "heavier authorised and no ceasefire of the episode has yet been violated (out-gunned, it answers at the "
        "full rate). 1 = no difference (the default without calibration/fitted.yaml); 0 = forces deployed for war "
        "fight the first clash with the weapons they brought.",
        "E13: 14 Sep was fought with mortars (Kabar via Trend 3644033); tanks, MLRS, drones and helicopters came "
        "with the return to war on 16 Sep after the ceasefire of 14 Sep (TJ GKNB via RIA; HRW; TASS 1508411)",
        prior=(0.0, 1.0),
        prior_reason=('0 (forces deployed for war keep the orders they came with until a ceasefire has failed) '
                      "to 1 (their orders climb as anyone's); E13's heavy weapons came on 16 Sep, after the "
                      'ceasefire of 14 Sep (TJ GKNB via RIA; HRW)')),
    "authorise_loss_threshold": P(
        2.0, "deaths in 24 h", "Own deaths in the last 24 h that put a government under pressure."),
    # --- ceasefire ----------------------------------------------------------------------------------
    "talks_open_rate": P(
        0.25, "per hour", "Hazard that bilateral talks open once armed fire is seen.",
        "hand-set; facts §4: ceasefires are agreed fast by FMs, GKNB heads or governors"),
    "agree_rate": P(
        0.03, "per hour", "Base hazard that open talks produce an agreed ceasefire.",
        "hand-set; E07: first shots 04:00, agreed 19:30 (24.kg 192001; mfa.gov.kg riyadh/news/11983)",
        prior=(0.003, 0.3), log_prior=True,
        prior_reason=('an agreement within ~3 h to ~2 weeks of open talks (E13 agreed within the day, E07 in '
                      '~1.5 days)')),
    "pain_weight": P(
        0.5, "per log(1+deaths)",
        "How much the toll so far raises the agreement hazard (x (1 + weight log(1 + deaths))).",
        "fitted; E13 (>100 dead) agreed within ~13 h, E07 (a smaller toll at first) in ~31 h (calibration/episodes.yaml)",
        prior=(0.0, 4.0),
        prior_reason=('0 (the toll does not move talks) to 4 (ten dead make agreement ~10x likelier per hour); '
                      'E13 with >100 dead agreed in ~13 h, E07 in ~31 h')),
    "reagree_factor": P(
        3.0, "ratio", "Agreement hazard after a breach relative to first talks (channels already open); not after a "
        "collapse, when a government has re-armed to mortars or heavier (sim/rules/ceasefire.py).",
        "hand-set; E13: >=5 ceasefires on 16–17 Sep 2022 (Khovar 2022-09-17; facts §5.7)",
        prior=(1.0, 10.0), log_prior=False,
        prior_reason=('E13 saw >= 5 agreements within two days (facts §4), E07 two to four, so how fast talks '
                      're-agree after a breach is what sets the agreement and violation counts')),
    "ceasefire_discipline": P(
        0.9, "fraction", "Share of the escalation, incident and spread hazards suppressed while a ceasefire is in force "
        "(agreed, holding, stabilised, withdrawal).",
        prior=(0.5, 0.99),
        prior_reason='a ceasefire removes half to 99% of the escalation hazard'),
    "reagreement_resolve": P(
        1.0, "per earlier agreement", "How much firmer each re-agreed ceasefire is enforced: the hazard "
        "left unsuppressed is divided by 1 + resolve x (agreements - 1).",
        FIRST_FIT + "; E13: >=5 ceasefires on 16-17 Sep, then stable from 18 Sep (Khovar 2022-09-17; TASS 1513059)"),
    "ceasefire_deescalate_rate": P(
        0.35, "per hour", "Hazard that forces firing above what their government authorises drop to it (orders to cease "
        "fire after an agreement; also a retaliation beyond peacetime orders)."),
    "violation_rate": P(
        0.01, "per hour per unit excess tension",
        "Hazard that a side breaks a ceasefire on a segment, per unit of tension above its structural level.",
        "hand-set; facts §4: ceasefires violated for 1-2 days before holding",
        prior=(0.0005, 0.05), log_prior=True,
        prior_reason=('breaches every ~20 h to ~3 months per unit tension (both ceasefires were broken within a'
                      ' day)')),
    "hold_hours": P(12.0, "hours", "Hours without armed fire after which an agreed ceasefire counts as holding."),
    "stabilise_hours": P(
        36.0, "hours", "Hours of holding without violation after which the situation counts as stabilised.",
        "hand-set; E13: stable from 18 Sep after the last violations on the 17th (TASS 1513059)"),
    "protocol_rate": P(
        0.03, "per hour", "Hazard that a stabilised ceasefire becomes a signed withdrawal protocol.",
        "hand-set; E07 protocol 1 May, withdrawal done 3 May; E13 protocols 19 and 25 Sep"),
    "withdrawal_relief": P(
        2.0, "ratio", "Extra tension relaxation once forces are withdrawn under a protocol."),
    # --- casualties ---------------------------------------------------------------------------------
    "military_casualty_rate": P(
        0.5, "casualties per hour per segment at L2", "Military killed+injured per hour on a segment "
        "under fire, at mortar level; other rungs scale by the lethality profile.",
        prior=(0.02, 2.0), log_prior=True,
        prior_reason='0.02-2 military hit per hour per segment at mortar level: spans the 2021 and 2022 tolls'),
    "civilian_casualty_rate": P(
        0.0326808, "casualties per hour per 1000 exposed at L2",
        "Civilians hit per hour per 1000 people still present next to a segment under mortar fire.", SECOND_FIT,
        prior=(0.003, 0.3), log_prior=True,
        prior_reason=('one person in 1,000 next to a segment under mortar fire hit every ~2 weeks (0.003/h) to '
                      "every ~3 h (0.3/h); free because who died is a target: E13's civilian dead were 37-51 of"
                      " ~100 (HRW 2023-05-02), E07's Tajik 10-13 of 19 (AFP; Asia-Plus 2021-05-04)")),
    "lethality_profile": P(
        (0.0, 0.01, 0.15, 1.0, 2.0, 3.5), "ratio by rung",
        "Casualty rate at each rung relative to mortars (L2). The small-arms (L1) entry is not read: "
        "small_arms_lethality sets it.",
        "hand-set; heavier weapons hit more per hour of fire (facts §2 E13: MLRS, drones, a bomb on a square); "
        "stones and fists injure but rarely kill (~1 lethal incident a year among ~12-32, facts §1.3)"),
    "small_arms_lethality": P(
        0.15, "ratio to mortars",
        "Casualty rate of small-arms fire (L1) relative to mortars (L2): the lethality profile's L1 entry.",
        "fitted where the small episodes identify it: they were fought with small arms alone (facts small "
        "episodes E02, E03, E06: one dead and up to 11 injured in hours of fire); the other entries of the "
        "profile stay hand-set",
        prior=(0.01, 1.0), log_prior=True,
        prior_reason=("from a few hours of small-arms fire that almost never hurts anyone (0.01 of mortars' rate) "
                      "to small arms as lethal per hour of fire as mortars (1.0)")),
    "weapon_reach_km": P(
        (0.1, 0.5, 2.0, 6.0, 12.0, 25.0), "km by rung",
        "Distance over which fire at each rung endangers a village (exposure decays as exp(-d/reach))."),
    "military_kill_fraction": P(
        0.209676, "fraction", "Share of military casualties who die.",
        SECOND_FIT + "; E13 KG: 59 dead / 144 wounded (MoH 2022-09-18), 40 of the dead troops (RT 2022-09-19)"),
    "civilian_kill_fraction": P(
        0.3, "fraction", "Share of civilian casualties who die.",
        "between E07 KG, 31 civilian dead and 121 civilian injured (ria24.today 2021-04-30): 0.2, and E13, "
        "37 civilian dead and 36 injured (HRW 2023-05-02): 0.5"),
    "crowd_size": P(
        300.0, "people per side", "Residents of each side who stand at the line during a civil confrontation "
        "(sim/rules/crowds.py); 0 switches crowds off.",
        "~300 a side at Golovnoi when the shooting began on 29 Apr 2021 (24.kg 192968); ~200 per the TJ "
        "border service (AFP via fr24news 2021-05-03)"),
    "crowd_hit_rate": P(
        0.05, "per hour per person at L1", "Hazard that a person in a crowd is hit while the other side fires "
        "small arms on the segment; heavier fire scales by the lethality profile.",
        prior=(0.003, 0.3), log_prior=True,
        prior_reason=('a person in a crowd under small-arms fire hit every ~3 h (0.3/h) to every ~2 weeks '
                      '(0.003/h); at Golovnoi ~300 a side faced six hours of fire and 31 Kyrgyz had sought help'
                      ' by that night (24.kg 192968, 192194): ~0.02/h if all were from the crowd')),
    "incursion_hit_rate": P(
        0.002, "per hour per person present", "Hazard that a person still present in a village entered by the "
        "other side's offensive (its armour firing on the village's segment) is hit (sim/rules/incursion.py). It "
        "acts only under an account that has a side on the offensive (a scenario's `accounts`); as written, the "
        "shipped scenarios take no side and it does nothing.",
        "hand-set: no neutral reading of the record identifies it. 0.002/h (a person still in an "
        "entered village hit every ~3 weeks) is the order that reproduced the Kyrgyz tolls when the Kyrgyz "
        "account was assumed for both wars (E07 tanks entered Internatsional, utrk.kg 56978; E13 >180 houses "
        "burned in Ak-Sai, maralfm.kg; 418 KG houses destroyed against ~20 TJ, CABAR.asia 2023; TJ MFA)"),
    "crowd_disperse_rate": P(
        0.25, "per hour", "Share of a crowd under armed fire that leaves each hour.",
        "hand-set: fire at Golovnoi lasted from ~14:00 to ~20:00 on 29 Apr 2021 (24.kg 192968)"),
    # --- displacement -------------------------------------------------------------------------------
    "threat_reach_km": P(
        10.0, "km", "Distance at which violence on a segment frightens a village (exp(-d/reach))."),
    "threat_pooling": P(
        1.0, "share (0-1)",
        "How a village's threats from several segments combine: its strongest segment's threat plus this share of "
        "the others'. 1 = they add up (the default); 0 = the strongest alone, whatever the number of segments.",
        "E07: Batken town, 27-31 km from the fighting at Kok-Tash, Golovnoi and Vorukh, is not among the "
        "evacuated (14,361 from Batken district + 26,288 from Leilek district, 24.kg 192886); E13: Batken town "
        "and its airport came under MLRS fire (facts E13)",
        prior=(0.0, 1.0),
        prior_reason=("from a village fearing only its most dangerous segment (0) to the sum of all segments' "
                      "threats (1); E07's armour on some 13 segments 27-31 km from Batken town did not empty it"
                      " (24.kg 192886), E13's MLRS fire on the town did (facts E13)")),
    "force_pooling": P(
        1.0, "share (0-1)",
        "How a side's forces multiply with the width of its war: its soldiers' losses and an offensive's harm in the "
        "villages it enters are those of its most intense segment (and of one village) plus this share of the rest. "
        "1 = every segment and every entered village has a full force of its own (the default); 0 = one force, "
        "spread over the whole front.",
        "E07 was fought for about a day on ~19 segments, E13 on 31 (14-43), yet the tolls differ by about two "
        "(KG / TJ 36 / 19 and 62 / 41): rates that give April its toll per segment give September seven times its "
        "own (docs/calibration.md)",
        prior=(0.0, 1.0),
        prior_reason=('from one force per side however wide the front (0) to a full force on every segment and '
                      'in every entered village (1); E07 was fought for about a day on ~19 segments, E13 on 31,'
                      ' yet the tolls differ by about two (36 / 19 and 62 / 41; calibration/episodes.yaml)')),
    "evacuation_threshold": P(
        0.326194, "threat units", "Threat above which a village starts to evacuate.", SECOND_FIT),
    "evacuation_rate": P(
        0.12, "per hour", "Share of the people present who leave each hour while the threat lasts.",
        "hand-set, not fitted (the threshold, evacuation_threshold, carries the fitted value); "
        "E07: >800 -> 20,000 -> 33,388 -> 40,649 evacuated over "
        "29 Apr-4 May (facts §2)"),
    "return_rate": P(
        0.01, "per hour", "Share of the displaced who return each hour once the ceasefire holds.",
        "hand-set; E07 majority back by 12 May (IFRC MDRKG013)"),
    # --- mediation ----------------------------------------------------------------------------------
    "call_strength": P(
        0.5, "ratio per unit leverage", "Agreement-hazard boost from a leader's call.",
        prior=(0.0, 1.0), kind="effect",
        prior_reason=("judgement: no quantitative estimate exists for leaders' calls or appeals, and a mediator "
                      "that only relays the parties' own information adds nothing (mediation_evidence §3, §9: "
                      "Fey & Ramsay); the upper end lets a call from Russia (leverage 0.6) raise the agreement "
                      "hazard by up to 1.6x")),
    "call_effect_hours": P(
        24.0, "hours", "How long a call keeps raising the agreement hazard.",
        prior=(12.0, 72.0), kind="effect",
        prior_reason="judgement: the evidence sheet's suggested window for a call's effect is 24-72 h (§13)"),
    "broker_strength": P(
        1.0, "ratio per unit leverage", "Agreement-hazard boost while a mediator brokers.",
        prior=(0.5, 2.5), kind="effect",
        prior_reason=("literature, shrunk: mediated international crises end in agreement 62% of the time "
                      "against 27% unmediated (ICB via a secondary page; risk ratio ~2.3), shrunk for selection "
                      "to 1.5-2.5 (mediation_evidence §2, §13); at Russia's leverage 0.6 the range gives "
                      "1.3-2.5x")),
    "summit_strength": P(
        3.0, "ratio per unit leverage", "Agreement-hazard boost on the day of a summit.",
        prior=(0.0, 4.0), kind="effect",
        prior_reason=("judgement: summits are not found to help manage the conflicts that prompt them "
                      "(Druckman & Wallensteen 2016) and their effect on rivals is short-lived (Park & Song), so "
                      "the range reaches zero; the presidents' meeting at the SCO summit of 16 Sep 2022 was "
                      "followed by about two more days of fighting (mediation_evidence §9)")),
    "summit_effect_hours": P(
        12.0, "hours", "How long a summit's push lasts.",
        prior=(6.0, 48.0), kind="effect",
        prior_reason=("judgement: the order given at the summit of 16 Sep 2022 was broken within two days "
                      "(mediation_evidence §9)")),
    "monitor_strength": P(
        0.7, "fraction per unit leverage", "Share of the escalation, incident, spread and violation hazards removed "
        "by monitors on a segment.",
        prior=(0.3, 0.9), kind="effect",
        prior_reason=("judgement anchored on the literature: a small observer team cuts the hazard of "
                      "breakdown to 0.50-0.85 of its level (judgement), a full peacekeeping force to 0.15-0.50 "
                      "(Fortna; Gilligan & Sergenti, civil wars) (mediation_evidence §8, §13); at leverage ~0.55 "
                      "this range removes 15-50%, the observer-team range")),
    "monitor_deploy_hours": P(
        48.0, "hours", "Time from the decision to deploy monitors to their arrival.",
        prior=(24.0, 120.0), kind="effect",
        prior_reason=("judgement: the border has never had third-party monitors (mediation_evidence §8), so "
                      "one to five days to arrive")),
    "commission_strength": P(
        1.0, "ratio per unit leverage", "Boost of the protocol hazard and tension relaxation by a joint commission.",
        prior=(0.0, 2.0), kind="effect",
        prior_reason=("judgement: joint commissions help agreements last (Fortna 2003, direction only), but the "
                      "Kyrgyz-Tajik commissions at work since 2002 did not prevent 2021 or 2022, so the range "
                      "reaches zero (mediation_evidence §8, §13)")),
    "delimitation_strength": P(
        0.8, "fraction per unit leverage", "Share of a segment's dispute removed when it is agreed beforehand.",
        prior=(0.0, 0.9), kind="effect",
        prior_reason=("literature for the ends, judgement for the mix: a binding treaty line cuts incidents to "
                      "0.10-0.50 of their rate (Kocs; Schultz; Owsiak; Hensel), while provisional lines and "
                      "piecemeal settlements bring no immediate drop (Schultz; Mattes), so the range reaches "
                      "zero (mediation_evidence §10, §13)")),
}


def resolve(file: Path | None = None, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then the values in a parameter file, then overrides: the parameters a run uses.

    A parameter file is a YAML mapping with a ``values:`` mapping of parameter names (the format
    ``calibration/fitted.yaml`` is written in); other top-level keys document how it was made.
    """
    params: dict[str, Any] = {name: spec.default for name, spec in SPECS.items()}
    if file is not None:
        params.update(read_parameter_file(file))
    if overrides:
        params.update(checked(dict(overrides), "parameters.overrides"))
    return params


def read_parameter_file(file: Path) -> dict[str, Any]:
    """The checked ``values:`` of a parameter file (the format of ``calibration/fitted.yaml``); UserError if
    the file, the mapping or a name or value in it is wrong."""
    values = read_yaml_mapping(file).get("values")
    if not isinstance(values, dict):
        raise UserError(f"{file}: values: required mapping of parameter names to values is missing")
    return checked(values, f"{file}: values")


def checked(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Check parameter names and value types; ``where`` prefixes the field path in error messages."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        spec = SPECS.get(name)
        if spec is None:
            raise UserError(f"{where}.{name}: unknown parameter{suggest(str(name), SPECS)}")
        out[name] = _coerce(value, spec, f"{where}.{name}")
    return out


def _coerce(value: Any, spec: ParameterSpec, where: str) -> float | tuple[float, ...]:
    if isinstance(spec.default, tuple):
        n = len(spec.default)
        if not isinstance(value, (list, tuple)) or len(value) != n or not all(_is_number(v) for v in value):
            raise UserError(f"{where}: expected a list of {n} non-negative numbers (one per rung), got {value!r}")
        if any(v < 0 for v in value):
            raise UserError(f"{where}: expected non-negative numbers, got {value!r}")
        return tuple(float(v) for v in value)
    if not _is_number(value) or value < 0:
        raise UserError(f"{where}: expected a non-negative number ({spec.unit}), got {value!r}")
    return float(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
