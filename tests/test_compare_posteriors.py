"""calibration/compare_posteriors.py: the same posterior at the same seeds gives the same figures, a YAML point
is the same as a posterior whose every draw is that point, and a missing or wrong input is a one-line error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

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
    past = header.index("E07 % past documented level")
    assert 0.0 <= float(a[past]) <= 100.0
    calm_header, ca, cb = table_rows(calm)
    assert calm_header[:2] == ["posterior", "years"] and ca[1] == "1" and ca[1:] == cb[1:]


def test_a_missing_or_empty_posterior_is_named_without_a_traceback(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    for path in (tmp_path / "nowhere.csv", empty):
        done = run_script(str(path))
        assert done.returncode != 0
        assert str(path) in done.stderr and "Traceback" not in done.stderr


def test_a_yaml_point_runs_as_a_posterior_of_that_point_repeated(tmp_path):
    fitted = REPO / "calibration" / "fitted.yaml"
    values = yaml.safe_load(fitted.read_text())["values"]
    repeated = tmp_path / "repeated.csv"
    pd.DataFrame([values] * 3).to_csv(repeated, index=False)
    done = run_script(f"{fitted}=point", f"{repeated}=csv", "--draws", "3", "--seeds", "5", "--calm-draws", "0")
    assert done.returncode == 0, done.stderr
    _, point, csv = table_rows(done.stdout)
    assert (point[0], csv[0]) == ("point", "csv") and point[1:] == csv[1:]


def test_a_point_naming_no_model_parameter_is_named_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("values: {front_rate: 0.02, frnt_decay: 0.1}\n")
    no_values = tmp_path / "flat.yaml"
    no_values.write_text("front_rate: 0.02\n")
    for path, expected in ((bad, "frnt_decay"), (no_values, "values:")):
        done = run_script(str(path))
        assert done.returncode != 0
        assert str(path) in done.stderr and expected in done.stderr and "Traceback" not in done.stderr
