"""Golden summary: the mini scenario, seed 7, 4 runs, must reproduce ``tests/data/golden_mini.json`` exactly.

Any change to the model's rules, parameters or random streams changes these numbers. When the change is
deliberate, regenerate the file with one command from the repository root and commit it with the change:

    .venv/bin/python -m tests.test_golden --update
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from sim.ensemble import LocalExecutor, run_ensemble, summaries_frame, tasks_for

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "data" / "mini.yaml"
GOLDEN = HERE / "data" / "golden_mini.json"
SEED, RUNS = 7, 4
UPDATE = "python -m tests.test_golden --update"


def _plain(value: Any) -> Any:
    """A JSON-comparable Python value: numpy scalars unwrapped, NaN as None."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def current() -> dict[str, Any]:
    """The summary table of the golden ensemble, computed now, as JSON-ready data."""
    tasks = tasks_for(SCENARIO, SEED, RUNS)
    with LocalExecutor(1) as executor:
        frame = summaries_frame(run_ensemble(tasks, executor))
    return {
        "scenario": "tests/data/mini.yaml",
        "seed": SEED,
        "runs": RUNS,
        "regenerate": UPDATE,
        "columns": list(frame.columns),
        "rows": [{col: _plain(v) for col, v in row.items()} for row in frame.to_dict(orient="records")],
    }


def test_golden_summary_is_unchanged():
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    actual = current()
    hint = f"if this change of behaviour is deliberate, regenerate the golden file: {UPDATE}"
    assert actual["columns"] == expected["columns"], f"summary columns changed; {hint}"
    assert len(actual["rows"]) == len(expected["rows"]) == RUNS
    diffs = [f"run {i} {col}: expected {want!r}, got {got!r}"
             for i, (a, e) in enumerate(zip(actual["rows"], expected["rows"]))
             for col in expected["columns"]
             if (got := a[col]) != (want := e[col]) or type(got) is not type(want)]
    assert not diffs, "golden summary differs:\n  " + "\n  ".join(diffs[:20]) + f"\n{hint}"


def update() -> None:
    GOLDEN.write_text(json.dumps(current(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit(f"usage: {UPDATE}")
    update()
