"""User mistakes give one short message naming the file, the field path and what was expected.

Each case copies the mini scenario (scenario, geography, mediators, strategies) into ``tmp_path``, breaks
one thing and drives the real command line in-process (``sim.cli.main``). The CLI must exit with status 2,
print no traceback, and ``bordersim run`` must not create its results folder (nor leave a temporary one).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from sim.cli import main
from tests.conftest import DATA, REPO

SCENARIO, GEOGRAPHY, STRATEGY = "mini.yaml", "mini_geography.yaml", "strategies/strong_early.yaml"


def copy_mini(folder: Path) -> Path:
    """A private copy of the mini scenario and everything it names; returns the scenario path."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("mini.yaml", "mini_geography.yaml", "mediators.yaml"):
        shutil.copy(DATA / name, folder / name)
    shutil.copytree(DATA / "strategies", folder / "strategies")
    return folder / SCENARIO


def text(fn: Callable[[str], str]) -> Callable[[str], str]:
    """A mutation of the file's raw text."""
    return fn


def data(fn: Callable[[dict], Any]) -> Callable[[str], str]:
    """A mutation of the parsed YAML mapping, written back as YAML."""
    def mutate(raw: str) -> str:
        doc = yaml.safe_load(raw)
        fn(doc)
        return yaml.safe_dump(doc, sort_keys=False)
    return mutate


def trigger(**changes: Any) -> Callable[[str], str]:
    return data(lambda d: d["triggers"][0].update(changes))


def place(i: int, **changes: Any) -> Callable[[str], str]:
    return data(lambda d: d["places"][i].update(changes))


def edge(i: int, **changes: Any) -> Callable[[str], str]:
    return data(lambda d: d["edges"][i].update(changes))


def scenario(**changes: Any) -> Callable[[str], str]:
    return data(lambda d: d.update(changes))


def rename(old: str, new: str) -> Callable[[str], str]:
    def fn(d: dict) -> None:
        d[new] = d.pop(old)
    return data(fn)


# (id, file to break, mutation, extra CLI args, fragments the message must contain: regexes)
CASES = [
    ("malformed-yaml", SCENARIO,
     text(lambda t: t.replace("initial_tension: {default: 0.6}", "initial_tension: {default: 0.6")), [],
     [r"mini\.yaml:7:12: malformed YAML"]),
    ("empty-file", SCENARIO, text(lambda t: ""), [], [r"mini\.yaml: the file is empty; expected a mapping"]),
    ("top-level-list", SCENARIO, text(lambda t: "- name: mini\n- duration_hours: 96\n"), [],
     [r"mini\.yaml: the top level is a list; expected a mapping"]),
    ("missing-start", SCENARIO, data(lambda d: d.pop("start")), [],
     [r"mini\.yaml: start: required field is missing"]),
    ("wrong-type", SCENARIO, scenario(duration_hours="ten"), [],
     [r"mini\.yaml: duration_hours: .*valid number.*'ten'"]),
    ("unknown-key", SCENARIO, rename("duration_hours", "duraton_hours"), [],
     [r"mini\.yaml: duraton_hours: unknown field \(did you mean 'duration_hours'\?\)"]),
    ("unknown-nested-key", SCENARIO, trigger(segmnt="seg_water"), [],
     [r"mini\.yaml: triggers\[0\]\.segmnt: unknown field \(did you mean 'segment'\?\)"]),
    ("unknown-place-in-trigger", SCENARIO, trigger(segment=None, place="kg_c"), [],
     [r"mini\.yaml: triggers\[0\]\.place: unknown place 'kg_c'"]),
    ("unknown-segment-in-trigger", SCENARIO, trigger(segment="seg_watr"), [],
     [r"mini\.yaml: triggers\[0\]\.segment: unknown segment 'seg_watr' \(did you mean 'seg_water'\?\)"]),
    ("unknown-segment-in-tension", SCENARIO, scenario(initial_tension={"segments": {"seg_nowhere": 0.5}}), [],
     [r"mini\.yaml: initial_tension\.segments\.seg_nowhere: unknown segment"]),
    ("unknown-mediator", STRATEGY, data(lambda d: d["actions"][1].update(mediator="trustd")),
     ["--strategy", "strong_early"],
     [r"strong_early\.yaml: actions\[1\]\.mediator: unknown mediator 'trustd' \(did you mean 'trusted'\?\)"]),
    ("unknown-segment-in-strategy", STRATEGY, data(lambda d: d["actions"][0].update(segments=["seg_est"])),
     ["--strategy", "strong_early"],
     [r"strong_early\.yaml: actions\[0\]\.segments\[0\]: unknown segment 'seg_est' \(did you mean 'seg_east'\?\)"]),
    ("unknown-strategy-in-scenario", SCENARIO, scenario(strategy="strong_erly"), [],
     [r"mini\.yaml: strategy: unknown strategy 'strong_erly' \(did you mean 'strong_early'\?\)"]),
    ("unknown-strategy-on-command-line", SCENARIO, text(lambda t: t), ["--strategy", "escalate_everything"],
     [r"mini\.yaml: --strategy: unknown strategy 'escalate_everything'; expected one of: .*\bnone\b.*\bstrong_early\b"]),
    ("negative-population", GEOGRAPHY, place(1, population=-5), [],
     [r"mini_geography\.yaml: places\[1\]\.population: .*greater than or equal to 0 \(got -5\)"]),
    ("zero-population-village", GEOGRAPHY, place(0, population=0), [],
     [r"mini_geography\.yaml: places\[0\]\.population: a village needs a population > 0"]),
    ("border-edge-same-side", GEOGRAPHY, edge(0, b="kg_b"), [],
     [r"mini_geography\.yaml: edges\[0\]: border segment 'seg_water' joins two KG places"]),
    ("edge-to-unknown-place", GEOGRAPHY, edge(4, b="kg_x"), [],
     [r"mini_geography\.yaml: edges\[4\]\.b: unknown place 'kg_x' \(did you mean 'kg_b'\?\)"]),
    ("duplicate-place-id", GEOGRAPHY, place(1, id="kg_a"), [],
     [r"mini_geography\.yaml: places\[1\]\.id: duplicate place id 'kg_a'"]),
    ("zero-duration", SCENARIO, scenario(duration_hours=0), [],
     [r"mini\.yaml: duration_hours: .*greater than 0 \(got 0\)"]),
    ("negative-duration", SCENARIO, scenario(duration_hours=-5), [],
     [r"mini\.yaml: duration_hours: .*greater than 0 \(got -5\)"]),
    ("trigger-after-end", SCENARIO, trigger(hour=200), [],
     [r"mini\.yaml: triggers\[0\]\.hour: the trigger falls outside the scenario's time span"]),
    ("trigger-before-start", SCENARIO, trigger(hour=None, at="2022-09-13T00:00:00+06:00"), [],
     [r"mini\.yaml: triggers\[0\]\.at: the trigger falls outside the scenario's time span"]),
    ("naive-start", SCENARIO,
     text(lambda t: t.replace("2022-09-14T00:00:00+06:00", "2022-09-14T00:00:00")), [],
     [r"mini\.yaml: start: .*needs a UTC offset"]),
    ("naive-trigger-time", SCENARIO, trigger(hour=None, at="2022-09-14T03:00:00"), [],
     [r"mini\.yaml: triggers\[0\]\.at: needs a UTC offset"]),
    ("unknown-parameter", SCENARIO, scenario(parameters={"overrides": {"escalate_rte": 0.1}}), [],
     [r"mini\.yaml: parameters\.overrides\.escalate_rte: unknown parameter \(did you mean 'escalate_rate'\?\)"]),
    ("negative-parameter", SCENARIO, scenario(parameters={"overrides": {"escalate_rate": -1}}), [],
     [r"mini\.yaml: parameters\.overrides\.escalate_rate: expected a non-negative number"]),
    ("bad-level", SCENARIO, data(lambda d: d["governments"]["KG"].update(arsenal="L7")), [],
     [r"mini\.yaml: governments\.KG\.arsenal: expected a level 'calm' or 'L0'\.\.'L4'.*'L7'"]),
    ("bad-offensive", SCENARIO, data(lambda d: d["governments"]["TJ"].update(offensive="maybe")), [],
     [r"mini\.yaml: governments\.TJ\.offensive: .*valid boolean.*'maybe'"]),
    ("bad-trigger-level", SCENARIO, trigger(level="L7"), [],
     [r"mini\.yaml: triggers\[0\]\.level: expected a level .*'L7'"]),
    ("missing-geography-file", SCENARIO, scenario(geography="nowhere.yaml"), [],
     [r"mini\.yaml: geography: file not found: .*nowhere\.yaml"]),
]


def _break(tmp_path: Path, file: str, mutate: Callable[[str], str]) -> Path:
    path = copy_mini(tmp_path / "in")
    target = path.parent / file
    target.write_text(mutate(target.read_text(encoding="utf-8")), encoding="utf-8")
    return path


def _check_message(err: str, patterns: list[str]) -> None:
    assert err.startswith("bordersim: error: "), err
    assert "Traceback" not in err
    assert len(err.splitlines()) <= 6, f"message too long:\n{err}"
    for pattern in patterns:
        assert re.search(pattern, err), f"{pattern!r} not in:\n{err}"


# every case through `bordersim run --out ...`, and through `bordersim validate` unless it needs run's options
PARAMS = [pytest.param(command, *case[1:], id=f"{case[0]}-{command}")
          for case in CASES for command in ("validate", "run") if command == "run" or not case[3]]


@pytest.mark.parametrize("command, file, mutate, args, patterns", PARAMS)
def test_mistake_gives_a_short_message_and_status_2(tmp_path, capsys, command, file, mutate, args, patterns):
    path = _break(tmp_path, file, mutate)
    out = tmp_path / "results" / "out"
    if command == "validate":
        argv = ["validate", str(path)]
    else:
        argv = ["run", str(path), "--runs", "1", "--quiet", "--out", str(out), *args]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    _check_message(captured.err, patterns)
    # the message names the broken file by its full path
    assert str(path.parent / file) in captured.err or str(path.parent) in captured.err
    assert not out.exists()
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())


def test_plot_on_a_folder_that_is_not_a_results_folder(tmp_path, capsys):
    folder = tmp_path / "not_results"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    assert main(["plot", str(folder)]) == 2
    err = capsys.readouterr().err
    _check_message(err, [re.escape(str(folder)) + r": not a complete results folder \(missing manifest\.json, "
                         r"series\.parquet, summary\.csv, segments\.csv\)"])
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_plot_on_a_missing_folder(tmp_path, capsys):
    assert main(["plot", str(tmp_path / "nowhere")]) == 2
    _check_message(capsys.readouterr().err, [r"nowhere: not a complete results folder"])
    assert not (tmp_path / "nowhere").exists()


def test_missing_scenario_file(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    _check_message(capsys.readouterr().err, [r"nope\.yaml: file not found"])


@pytest.mark.parametrize("args", [["--runs", "0"], ["--runs", "many"], ["--seed", "-1"]])
def test_bad_command_line_options_exit_2(tmp_path, capsys, args):
    path = copy_mini(tmp_path / "in")
    out = tmp_path / "out"
    assert main(["run", str(path), "--quiet", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "expected" in err
    assert not out.exists()


BORDERSIM = Path(sys.executable).parent / "bordersim"


@pytest.mark.skipif(not BORDERSIM.exists(), reason="the bordersim script is not installed in this venv")
@pytest.mark.parametrize("file, mutate, pattern", [
    (SCENARIO, rename("duration_hours", "duraton_hours"), r"duraton_hours: unknown field \(did you mean"),
    (GEOGRAPHY, edge(0, b="kg_b"), r"mini_geography\.yaml: edges\[0\]: border segment"),
], ids=["unknown-key", "same-side-edge"])
def test_installed_command_prints_no_traceback(tmp_path, file, mutate, pattern):
    path = _break(tmp_path, file, mutate)
    out = tmp_path / "out"
    proc = subprocess.run([str(BORDERSIM), "run", str(path), "--runs", "1", "--out", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert re.search(pattern, proc.stderr), proc.stderr
    assert not out.exists()


def test_a_scenario_names_a_parameter_set_or_a_file_not_both_and_only_a_known_set(tmp_path):
    """``parameters: {set: fitted}`` is the calibration's published values; an unknown set, or a set and a file
    together, is a clear error naming the field."""
    import yaml

    from sim.errors import UserError
    from sim.input.parameters import PARAMETER_SETS
    from sim.input.scenario import load_scenario

    spec = yaml.safe_load((DATA / "mini.yaml").read_text())
    spec.update(geography=str(DATA / "mini_geography.yaml"), mediators=str(DATA / "mediators.yaml"),
                strategy=str(DATA / "strategies" / "none.yaml"))
    path = tmp_path / "s.yaml"
    for parameters, message in (({"set": "fited"}, "parameters.set: unknown parameter set 'fited'"),
                                ({"set": "fitted", "file": "x.yaml"}, "either 'set'")):
        path.write_text(yaml.safe_dump({**spec, "parameters": parameters}))
        with pytest.raises(UserError, match=message):
            load_scenario(path)
    path.write_text(yaml.safe_dump({**spec, "parameters": {"set": "fitted"}}))
    scenario = load_scenario(path)
    assert PARAMETER_SETS["fitted"] in scenario.input_files
    assert scenario.params["escalate_rate"] != 0.1  # the fitted value, not the default
