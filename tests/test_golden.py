"""Golden summaries: seeded ensembles that must reproduce their committed summary tables exactly.

Two configurations are pinned: the shipped scenarios as users run them (the fitted parameters and the
mechanisms they switch on: crowds in April 2021, an offensive's incursions in September 2022), and the
small test border at the parameters' defaults. Any change to the model's rules, parameters or random
draws changes these numbers. When the change is deliberate, regenerate the files with one command from the
repository root and commit them with the change:

    .venv/bin/python -m tests.test_golden --update
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

from sim.experiments.ensemble import LocalExecutor, run_ensemble, summaries_frame, tasks_for

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GOLDENS = {
    # name: (scenario, seed, runs)
    "mini": ("tests/data/mini.yaml", 7, 4),
    "april2021": ("scenarios/april2021.yaml", 7, 4),
    "sept2022": ("scenarios/sept2022.yaml", 7, 4),
}
UPDATE = "python -m tests.test_golden --update"


def golden_file(name: str) -> Path:
    return HERE / "data" / f"golden_{name}.json"


def _plain(value: Any) -> Any:
    """A JSON-comparable Python value: numpy scalars unwrapped, NaN as None."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def current(name: str) -> dict[str, Any]:
    """The summary table of a golden ensemble, computed now, as JSON-ready data."""
    scenario, seed, runs = GOLDENS[name]
    tasks = tasks_for(REPO / scenario, seed, runs)
    with LocalExecutor(1) as executor:
        frame = summaries_frame(run_ensemble(tasks, executor))
    return {
        "scenario": scenario,
        "seed": seed,
        "runs": runs,
        "regenerate": UPDATE,
        "columns": list(frame.columns),
        "rows": [{col: _plain(v) for col, v in row.items()} for row in frame.to_dict(orient="records")],
    }


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_golden_summary_is_unchanged(name):
    expected = json.loads(golden_file(name).read_text(encoding="utf-8"))
    actual = current(name)
    hint = f"if this change of behaviour is deliberate, regenerate the golden files: {UPDATE}"
    assert actual["columns"] == expected["columns"], f"summary columns changed; {hint}"
    assert len(actual["rows"]) == len(expected["rows"]) == GOLDENS[name][2]
    diffs = [f"run {i} {col}: expected {want!r}, got {got!r}"
             for i, (a, e) in enumerate(zip(actual["rows"], expected["rows"]))
             for col in expected["columns"]
             if (got := a[col]) != (want := e[col]) or type(got) is not type(want)]
    assert not diffs, "golden summary differs:\n  " + "\n  ".join(diffs[:20]) + f"\n{hint}"


def update() -> None:
    for name in GOLDENS:
        golden_file(name).write_text(json.dumps(current(name), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {golden_file(name).relative_to(REPO)}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit(f"usage: {UPDATE}")
    update()
