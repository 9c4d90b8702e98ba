"""calibration/compare_posteriors.py: the same posterior at the same seeds gives the same figures, and a
missing posterior file is a one-line error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "calibration" / "compare_posteriors.py"


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args, "--quiet", "--workers", "1"],
                          cwd=REPO, capture_output=True, text=True)


def table_rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith("|") and not line.startswith("|---")]


def test_one_posterior_under_two_labels_gives_identical_figures():
    shipped = str(REPO / "calibration" / "posterior.csv")
    done = run_script(f"{shipped}=a", f"{shipped}=b", "--draws", "4", "--seeds", "5",
                      "--calm-draws", "1", "--calm-seeds", "9")
    assert done.returncode == 0, done.stderr
    episodes, calm = done.stdout.split("\n\n")
    header, a, b = table_rows(episodes)
    assert header[:6] == ["posterior", "seed", "distance", "goals_met", "inside_90pct", "targets"]
    assert (a[0], b[0]) == ("a", "b") and a[1:] == b[1:]
    assert float(a[2].replace(",", "")) > 0 and 0 <= int(a[3]) <= 8 and 0 <= int(a[4]) <= int(a[5])
    calm_header, ca, cb = table_rows(calm)
    assert calm_header[:2] == ["posterior", "years"] and ca[1] == "1" and ca[1:] == cb[1:]


def test_a_missing_or_empty_posterior_is_named_without_a_traceback(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    for path in (tmp_path / "nowhere.csv", empty):
        done = run_script(str(path))
        assert done.returncode != 0
        assert str(path) in done.stderr and "Traceback" not in done.stderr
