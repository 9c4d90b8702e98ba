"""The ceasefire as a state machine: none → talks → agreed → violated / holding → stabilised → withdrawal.

* **none → talks**: once armed fire (L1+) is seen, bilateral channels (foreign ministers, heads of the
  security services, governors) open at ``talks_open_rate``.
* **talks → agreed**, **violated → agreed** (re-agreed): at ``agree_rate``, raised by the toll so far
  (``pain_weight``) and by mediation; re-agreement after a *breach* is ``reagree_factor`` times faster. A
  violated ceasefire has *collapsed* once a government has re-armed to mortars or heavier
  (``agents.Government``), during the breach or, for forces deployed for war, in the lull before it: it is
  then re-agreed at the first-talks rate, not faster. Why: on 17 Sep 2022 local breaches were
  re-agreed within hours (14:30 ceasefire, Grad at 17:20 and 18:10, a further ceasefire at 19:00; Khovar
  2022-09-17), while the collapse of 16 Sep into war by order (from ~05:00) took until the 16:00 ceasefire
  agreed by the presidents in Samarkand (KG border service via RIA; KG presidency via TRT World). Without
  the distinction every collapse was patched within 1–5 h, and three quarters of the model's September 2022
  dead fell before the first ceasefire, where in 2022 most fell after it (calibration/README.md, session 9).
* **agreed**: governments order their forces down to L0 (see ``agents.Government``); after a grace of
  ``GRACE_HOURS`` (a constant), any armed fire is a *violation* (→ violated). ``hold_hours`` without
  armed fire → holding.
* **holding → stabilised** after ``stabilise_hours`` more without armed fire. The stabilisation is *dated*
  from the end of the last armed fire before it (or from the agreement, if fire had stopped earlier), as the
  sources date it ("no incidents from 18 Sep"): the machine can only know a quiet period was the end once
  it has lasted. **stabilised →
  withdrawal** when a protocol is signed (``protocol_rate``, raised by a joint commission).
* Armed fire in holding, stabilised or withdrawal is a violation; after stabilisation it is also a
  *relapse*. After ``EPISODE_RESET_HOURS`` (a constant) of withdrawal the border returns to 'none' (a new
  episode).

The machine records when each transition first happened; the run summary reads those hours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum

from sim.state import hazard_to_prob


class Phase(IntEnum):
    NONE = 0
    TALKS = 1
    AGREED = 2
    VIOLATED = 3
    HOLDING = 4
    STABILISED = 5
    WITHDRAWAL = 6


IN_FORCE = (Phase.AGREED, Phase.HOLDING, Phase.STABILISED, Phase.WITHDRAWAL)
"""Phases in which a ceasefire is in force: forces are ordered down and escalation is suppressed."""

GRACE_HOURS = 3.0
"""Hours after an agreement for orders to reach every position before armed fire counts as a violation."""

EPISODE_RESET_HOURS = 720.0
"""Hours of withdrawal after which a later clash is treated as a new episode (30 days)."""


@dataclass
class Ceasefire:
    phase: Phase = Phase.NONE
    since_hour: float = 0.0  # when the current phase began
    quiet_hours: float = 0.0  # hours without armed fire in the current phase
    agreements: int = 0
    violations: int = 0
    relapses: int = 0
    collapses: int = 0  # violated ceasefires that a re-armed government turned back into war
    collapsed: bool = False  # the current violation has become a collapse
    rearmed_in_lull: bool = False  # a government re-armed to L2+ while the agreement stood: the next breach collapses
    hours_violated: float = 0.0
    first_talks_hour: float | None = None
    first_agreed_hour: float | None = None
    first_stabilised_hour: float | None = None
    first_withdrawal_hour: float | None = None
    last_violation_hour: float | None = None
    last_armed_hour: float | None = None  # end of the last step with armed fire
    last_agreed_hour: float | None = None
    history: list[tuple[float, str]] = field(default_factory=list)

    @property
    def in_force(self) -> bool:
        return self.phase in IN_FORCE

    def update(self, hour: float, dt: float, armed_fire: bool, deaths: int, params: dict,
               agree_boost: float, protocol_boost: float, u: float) -> Phase | None:
        """Advance one step; ``u`` is this step's uniform draw. Returns the new phase if it changed."""
        self.quiet_hours = 0.0 if armed_fire else self.quiet_hours + dt
        if armed_fire:
            self.last_armed_hour = hour
        in_phase = hour - self.since_hour
        agree = (params["agree_rate"] * (1.0 + params["pain_weight"] * math.log1p(deaths))
                 * (1.0 + agree_boost))
        p = self.phase
        if p == Phase.NONE:
            if armed_fire and u < hazard_to_prob(params["talks_open_rate"], dt):
                return self._enter(Phase.TALKS, hour)
        elif p in (Phase.TALKS, Phase.VIOLATED):
            if p == Phase.VIOLATED:
                self.hours_violated += dt
                if not self.collapsed:
                    agree *= params["reagree_factor"]
            if u < hazard_to_prob(agree, dt):
                return self._enter(Phase.AGREED, hour)
        elif armed_fire and (p != Phase.AGREED or in_phase >= GRACE_HOURS):
            return self._violate(hour)
        elif p == Phase.AGREED and self.quiet_hours >= params["hold_hours"]:
            return self._enter(Phase.HOLDING, hour)
        elif p == Phase.HOLDING and in_phase >= params["stabilise_hours"]:
            return self._enter(Phase.STABILISED, hour)
        elif p == Phase.STABILISED:
            rate = params["protocol_rate"] * (1.0 + protocol_boost)
            if u < hazard_to_prob(rate, dt):
                return self._enter(Phase.WITHDRAWAL, hour)
        elif p == Phase.WITHDRAWAL and in_phase >= EPISODE_RESET_HOURS:
            return self._enter(Phase.NONE, hour)
        return None

    def note_heavy_rearmament(self) -> None:
        """A government has re-armed to mortars or heavier. During a violation the breach is now a collapse
        (counted once; the next agreement clears it). While an agreement still stands (a lull re-arm, see
        ``agents.Government``) nothing has been breached yet: the next breach is a collapse from its start."""
        if self.phase == Phase.VIOLATED:
            self._collapse()
        else:
            self.rearmed_in_lull = True

    def _collapse(self) -> None:
        """The current violation becomes a collapse, counted once until the next agreement clears it."""
        if not self.collapsed:
            self.collapsed = True
            self.collapses += 1

    def _violate(self, hour: float) -> Phase:
        self.violations += 1
        self.last_violation_hour = hour
        if self.rearmed_in_lull:
            self._collapse()
        if self.phase in (Phase.STABILISED, Phase.WITHDRAWAL):
            self.relapses += 1
        return self._enter(Phase.VIOLATED, hour)

    def _enter(self, phase: Phase, hour: float) -> Phase:
        self.phase = phase
        self.since_hour = hour
        self.quiet_hours = 0.0
        self.history.append((hour, phase.name.lower()))
        if phase == Phase.TALKS and self.first_talks_hour is None:
            self.first_talks_hour = hour
        elif phase == Phase.AGREED:
            self.agreements += 1
            self.collapsed = self.rearmed_in_lull = False
            self.last_agreed_hour = hour
            if self.first_agreed_hour is None:
                self.first_agreed_hour = hour
        elif phase == Phase.STABILISED and self.first_stabilised_hour is None:
            quiet_from = max(self.last_armed_hour or 0.0, self.last_agreed_hour or 0.0)
            self.first_stabilised_hour = min(quiet_from, hour)
        elif phase == Phase.WITHDRAWAL and self.first_withdrawal_hour is None:
            self.first_withdrawal_hour = hour
        return phase
