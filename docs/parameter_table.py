"""Write (or check) the parameter table of docs/ODD.md §7.13 from ``sim.parameters.SPECS``.

Why a script: the table lists every parameter's meaning, unit, default, source and prior, and a hand-kept copy
drifts from the code. ``python docs/parameter_table.py`` rewrites the table in place; ``--check`` exits 1 if
the table differs from SPECS (``tests/test_docs.py`` runs it).
"""

from __future__ import annotations

import sys
from pathlib import Path

from sim.calibration import EXTRA_PRIORS
from sim.parameters import FIRST_FIT, HAND_SET, SECOND_FIT, SPECS

ODD = Path(__file__).resolve().parent / "ODD.md"
HEADER = "| Parameter | Meaning | Unit | Default | Source of default | Prior (fit range) |"
END = "\n---\n\n## 8. Observation"
SHORT_SOURCES = {HAND_SET: "hand-set", FIRST_FIT: "first fit (fixed)", SECOND_FIT: "session-2 fit (fixed)"}


def _number(value: float | tuple[float, ...]) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(f"{x:g}" for x in value) + ")"
    return f"{value:g}"


def _prior(name: str) -> str:
    spec = SPECS[name]
    if spec.prior:
        return f"[{spec.prior[0]:g}, {spec.prior[1]:g}]" + (" log" if spec.log_prior else "")
    if name in EXTRA_PRIORS:
        low, high, log, _ = EXTRA_PRIORS[name]
        return f"[{low:g}, {high:g}]" + (" log" if log else "") + " (EXTRA_PRIORS)"
    return "—"


def table() -> str:
    rows = [HEADER, "|---|---|---|---|---|---|"]
    for name, spec in SPECS.items():
        source = spec.source
        for long, short in SHORT_SOURCES.items():
            source = source.replace(long, short)
        rows.append(f"| `{name}` | {spec.meaning} | {spec.unit} | {_number(spec.default)} | {source} | {_prior(name)} |")
    return "\n".join(rows) + "\n"


def with_table(text: str) -> str:
    start, end = text.index(HEADER), text.index(END)
    return text[:start] + table() + text[end:]


def main(argv: list[str]) -> int:
    text = ODD.read_text(encoding="utf-8")
    updated = with_table(text)
    if "--check" in argv:
        if updated != text:
            print(f"{ODD}: the §7.13 parameter table differs from sim.parameters.SPECS; "
                  f"run python docs/parameter_table.py", file=sys.stderr)
            return 1
        return 0
    ODD.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
