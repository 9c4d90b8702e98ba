"""Write (or check) the parameter tables of docs/ODD.md from ``sim.input.parameters.SPECS`` and the parameter file
the shipped scenarios use (``calibration/fitted.yaml``).

Why a script: each submodel of ODD §7 ends with a table of its parameters (meaning, unit, the value the shipped
scenarios run with, what kind of value it is, and the evidence behind it), and a hand-kept copy drifts from
the code. A table sits between the lines ``<!-- parameters: KEY -->`` and ``<!-- end parameters -->``, where
``KEY`` names a group of :data:`GROUPS`. ``python docs/parameter_table.py`` rewrites every table in place;
``--check`` exits 1 if a table differs from what SPECS and the parameter file give (``tests/test_docs.py``
runs it).

The kind of a value:

* *fitted*: a posterior median in the parameter file, fitted by the calibration (docs/calibration.md);
* *calibrated, held fixed*: a value estimated by the calibration and kept fixed while others are fitted;
* *judgement*: a plausible value set by hand (``HAND_SET`` in SPECS, or a source that starts "hand-set");
* *from sources*: a value read from documented figures;
* *switch, off*: an optional mechanism whose shipped value leaves it out (:data:`SWITCHES`).

The Kind column says how a value was set, so the Evidence column keeps only what a SPECS source rests on: the
labels ``HAND_SET``, ``FIRST_FIT`` and ``SECOND_FIT`` and the fragments that only say "fitted", "not fitted" or
"hand-set" are left out (:func:`evidence`).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from sim.input.parameters import FIRST_FIT, HAND_SET, SECOND_FIT, SPECS, read_parameter_file
from sim.input.yamlio import read_yaml_mapping

REPO = Path(__file__).resolve().parents[1]
ODD = REPO / "docs" / "ODD.md"
PARAMETER_FILE = REPO / "calibration" / "fitted.yaml"
START = "<!-- parameters: {} -->"
END = "<!-- end parameters -->"
HEADER = "| Parameter | Meaning | Unit | Value | Kind | Evidence |\n|---|---|---|---|---|---|"

GROUPS: dict[str, tuple[str, ...]] = {
    "mediation": ("call_strength", "call_effect_hours", "broker_strength", "summit_strength",
                  "summit_effect_hours", "monitor_strength", "monitor_deploy_hours", "commission_strength",
                  "delimitation_strength"),
    "orders": ("authorise_rate", "authorise_loss_threshold", "orders_loss_gain",
               "deployed_authorise_factor", "air_lead_hours", "rearm_rate"),
    "discipline": ("ceasefire_discipline", "reagreement_resolve"),
    "tension": ("tension_structural", "agreed_incident_factor", "season_amplitude", "tension_relax_rate",
                "tension_from_violence", "withdrawal_relief"),
    "incidents": ("incident_rate", "tension_gain", "resource_water_factor", "resource_road_factor",
                  "resource_pasture_factor"),
    "postures": ("escalate_rate", "escalate_profile", "retaliate_rate", "loss_escalation_gain", "arms_tension",
                 "deescalate_rate", "contain_rate", "reciprocate_rate", "calm_rate", "ceasefire_deescalate_rate"),
    "spread": ("spread_rate",),
    "front": ("front_rate", "front_decay_per_km"),
    "violations": ("violation_rate",),
    "casualties": ("military_casualty_rate", "military_kill_fraction", "civilian_casualty_rate",
                   "civilian_kill_fraction", "lethality_profile", "small_arms_lethality", "weapon_reach_km",
                   "force_pooling"),
    "crowds": ("crowd_size", "crowd_hit_rate", "crowd_disperse_rate"),
    "incursions": ("incursion_hit_rate",),
    "displacement": ("threat_reach_km", "threat_pooling", "evacuation_threshold", "evacuation_rate",
                     "return_rate"),
    "ceasefire": ("talks_open_rate", "agree_rate", "pain_weight", "reagree_factor", "hold_hours",
                  "stabilise_hours", "protocol_rate"),
}
"""The parameters of each submodel's table, in the order the table lists them."""

SWITCHES: dict[str, float] = {
    "orders_loss_gain": 0.0, "air_lead_hours": 0.0, "deployed_authorise_factor": 1.0, "front_decay_per_km": 0.0,
    "incursion_hit_rate": 0.0, "crowd_size": 0.0, "threat_pooling": 1.0, "force_pooling": 1.0,
}
"""Optional mechanisms and the value at which each one is left out of the model."""

KIND_ONLY = ("fitted", "not fitted", "hand-set")
"""Starts of source fragments that only say what kind of value it is (the Kind column says that)."""


def _number(value: float | tuple[float, ...]) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(f"{x:.3g}" for x in value) + ")"
    return f"{value:.3g}"


def _prior(name: str) -> str:
    spec = SPECS[name]
    if not spec.prior:
        return ""
    low, high = spec.prior
    return f"prior {low:g}–{high:g}" + (", log" if spec.log_prior else "")


def shipped() -> tuple[dict[str, Any], set[str]]:
    """The values the shipped scenarios run with (SPECS defaults, then the parameter file), and the names
    the file lists as held fixed rather than fitted."""
    values: dict[str, Any] = {name: spec.default for name, spec in SPECS.items()}
    from_file = read_parameter_file(PARAMETER_FILE)
    values.update(from_file)
    held = set(read_yaml_mapping(PARAMETER_FILE).get("fixed") or ())
    fitted = set(from_file) - held
    return values, fitted


def kind(name: str, value: Any, fitted: set[str]) -> str:
    """What kind of value the shipped scenarios run ``name`` at (see the module docstring)."""
    spec = SPECS[name]
    if name in SWITCHES and value == SWITCHES[name]:
        return "switch, off"
    if name in fitted:
        return f"fitted ({_prior(name)})" if _prior(name) else "fitted"
    if value != spec.default or spec.source.startswith((FIRST_FIT, SECOND_FIT)):
        return "calibrated, held fixed"
    if spec.source.startswith("hand-set"):
        return "judgement"
    return "from sources"


def evidence(name: str) -> str:
    """The citations of a SPECS source without its account of how the value was set."""
    text = SPECS[name].source
    for label in (FIRST_FIT, SECOND_FIT, HAND_SET):
        text = text.replace(label, "")
    text = re.sub(r"^hand-set so\b", "set so", text.strip())
    text = re.sub(r"^hand-set[,:]\s*", "", text)
    kept = [part for part in _top_level_parts(text) if not part.lower().startswith(KIND_ONLY)]
    out = "; ".join(kept)
    if not out:
        return "—"
    return out[0].upper() + out[1:] if out[0].islower() and "." not in out.split()[0] else out


def _top_level_parts(text: str) -> list[str]:
    """``text`` split at the semicolons that stand outside parentheses, each part stripped."""
    parts, depth, current = [], 0, []
    for char in text:
        depth += (char == "(") - (char == ")")
        if char == ";" and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def table(group: str, values: dict[str, Any], fitted: set[str]) -> str:
    """The Markdown table of one group's parameters."""
    rows = [HEADER]
    for name in GROUPS[group]:
        spec = SPECS[name]
        value = values[name]
        shown = _number(value) if value == spec.default else f"{_number(value)} (default {_number(spec.default)})"
        cells = [f"`{name}`", spec.meaning, spec.unit, shown, kind(name, value, fitted), evidence(name)]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)


def _check_groups() -> None:
    listed = [name for names in GROUPS.values() for name in names]
    unknown = sorted(set(listed) - set(SPECS))
    twice = sorted({n for n in listed if listed.count(n) > 1})
    missing = [n for n in SPECS if n not in listed]
    if unknown or twice or missing:
        raise ValueError(f"docs/parameter_table.py GROUPS: unknown {unknown}, listed twice {twice}, "
                         f"in no table {missing}")


def with_tables(text: str) -> str:
    """``text`` with every group's table rewritten between its markers."""
    _check_groups()
    values, fitted = shipped()
    for group in GROUPS:
        start = START.format(group)
        if text.count(start) != 1:
            raise ValueError(f"{ODD}: expected the line '{start}' once, found it {text.count(start)} times")
        begin = text.index(start) + len(start)
        end = text.find(END, begin)
        if end < 0:
            raise ValueError(f"{ODD}: no '{END}' after '{start}'")
        text = text[:begin] + "\n" + table(group, values, fitted) + "\n" + text[end:]
    return text


def main(argv: list[str]) -> int:
    text = ODD.read_text(encoding="utf-8")
    try:
        updated = with_tables(text)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    if "--check" in argv:
        if updated != text:
            print(f"{ODD}: a parameter table differs from sim.input.parameters.SPECS and {PARAMETER_FILE.name}; "
                  f"run python docs/parameter_table.py", file=sys.stderr)
            return 1
        return 0
    ODD.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
