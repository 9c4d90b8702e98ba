"""Writing a scenario: names that resolve from anywhere, the ids a scenario can use, the exported schema, the
one-segment incident forms, and levels and times checked against each other."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.cli import main
from sim.errors import UserError
from sim.input.scenario import ScenarioSpec, load_scenario
from sim.model import BorderModel
from tests.conftest import DATA, REPO, SCENARIOS

MINI = DATA / "mini.yaml"


def write_scenario(folder: Path, name: str = "mine", **changes: Any) -> Path:
    """A copy of the mini scenario in ``folder`` (with the mini geography beside it), fields replaced."""
    data = yaml.safe_load(MINI.read_text())
    (folder / "mini_geography.yaml").write_bytes((DATA / "mini_geography.yaml").read_bytes())
    (folder / "mediators.yaml").write_bytes((DATA / "mediators.yaml").read_bytes())
    data.update(changes)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def error_of(capsys, *argv: str) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


# --- names that resolve from anywhere ---------------------------------------------------------------------
def test_a_shipped_scenario_is_found_by_name_from_any_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "april2021"]) == 0
    assert capsys.readouterr().out.startswith("april2021: ok")
    err = error_of(capsys, "validate", "april202")
    assert "no built-in scenario of that name (did you mean 'april2021'?)" in err


def test_a_scenario_written_anywhere_uses_the_shipped_geography_mediators_and_strategies(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = yaml.safe_load((SCENARIOS / "sept2022.yaml").read_text())
    del data["mediators"]  # the default, mediators.yaml, is not beside this file: the shipped one is used
    Path("mine.yaml").write_text(yaml.safe_dump({**data, "strategy": "csto_monitors"}, sort_keys=False))
    sc = load_scenario("mine.yaml")
    assert sc.geography.path == (SCENARIOS / "geography" / "batken_sughd.yaml").resolve()
    assert sc.strategy.name == "csto_monitors" and sc.registry.get("csto") is not None


def test_a_strategy_file_on_the_command_line_is_relative_to_the_working_directory(tmp_path, monkeypatch):
    """Not to the scenario's folder: ``--strategy my/x.yaml`` from anywhere names ./my/x.yaml."""
    (tmp_path / "my").mkdir()
    (tmp_path / "my" / "x.yaml").write_bytes((DATA / "strategies" / "strong_early.yaml").read_bytes())
    monkeypatch.chdir(tmp_path)
    assert load_scenario(MINI, strategy="my/x.yaml").strategy.name == "strong_early"
    assert BorderModel(MINI, seed=1, strategy="my/x.yaml").scenario.strategy.name == "strong_early"
    with pytest.raises(UserError, match=r"--strategy: file not found: my/y\.yaml"):
        load_scenario(MINI, strategy="my/y.yaml")


def test_a_strategy_name_is_looked_up_beside_the_scenario_then_among_the_shipped_ones(tmp_path):
    assert load_scenario(MINI, strategy="strong_early").strategy_file == DATA / "strategies" / "strong_early.yaml"
    shipped = load_scenario(MINI, strategy="none").strategy_file
    assert shipped == DATA / "strategies" / "none.yaml"  # the scenario's own folder first
    alone = write_scenario(tmp_path)  # no strategies/ folder beside it
    assert load_scenario(alone).strategy_file == SCENARIOS / "strategies" / "none.yaml"


# --- bordersim list -------------------------------------------------------------------------------------------
def _listed(capsys, *argv: str) -> list[dict[str, str]]:
    assert main(["list", *argv, "--csv"]) == 0
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def test_list_segments_gives_each_segment_s_ends_status_and_resource(capsys):
    rows = _listed(capsys, "segments")
    geo = yaml.safe_load((SCENARIOS / "geography" / "batken_sughd.yaml").read_text())
    borders = {e["id"]: e for e in geo["edges"] if e["kind"] == "border"}
    assert [r["id"] for r in rows] == list(borders)
    for row in rows:
        edge = borders[row["id"]]
        assert {row["kg_end"], row["tj_end"]} == {edge["a"], edge["b"]}
        assert (row["status"], row["resource"]) == (edge["status"], edge["resource"])


@pytest.mark.parametrize("kind, column, expected", [
    ("places", "id", "vorukh"), ("mediators", "id", "osce"), ("strategies", "name", "documented_2022"),
    ("scenarios", "name", "april2021")])
def test_list_names_what_a_scenario_can_use(capsys, kind, column, expected):
    assert expected in [r[column] for r in _listed(capsys, kind)]


def test_list_follows_the_scenario_it_is_given(capsys):
    rows = _listed(capsys, "segments", "--scenario", str(MINI))
    assert [r["id"] for r in rows] == ["seg_water", "seg_posts", "seg_east"]
    names = [r["name"] for r in _listed(capsys, "strategies", "--scenario", str(MINI))]
    assert "strong_early" in names and "csto_monitors" in names  # beside the scenario, and shipped


def test_list_prints_aligned_columns(capsys):
    assert main(["list", "mediators"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "name", "leverage_kg", "leverage_tj"]
    assert lines[1].index(lines[1].split()[-2]) == lines[0].index("leverage_kg")


# --- the schema -----------------------------------------------------------------------------------------------
def _as_json(value: Any) -> Any:
    """What an editor sees of a YAML file: dates as the strings they are written as."""
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _schema(capsys, kind: str) -> dict[str, Any]:
    assert main(["schema", kind]) == 0
    return json.loads(capsys.readouterr().out)


SHIPPED_SCENARIOS = sorted([*SCENARIOS.glob("*.yaml"), *(SCENARIOS / "record").glob("*.yaml"), MINI])
SHIPPED_STRATEGIES = sorted([*(SCENARIOS / "strategies").glob("*.yaml"), *(DATA / "strategies").glob("*.yaml")])


def test_every_shipped_scenario_and_strategy_validates_against_the_exported_schema(capsys):
    jsonschema = pytest.importorskip("jsonschema")
    for kind, files in (("scenario", [f for f in SHIPPED_SCENARIOS if f.name != "mediators.yaml"]),
                        ("strategy", SHIPPED_STRATEGIES)):
        validator = jsonschema.Draft202012Validator(_schema(capsys, kind))
        validator.check_schema(validator.schema)
        for file in files:
            errors = list(validator.iter_errors(_as_json(yaml.safe_load(file.read_text()))))
            assert not errors, f"{file}: {errors[0].message}"


def test_the_schema_rejects_what_the_loader_rejects(capsys):
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(_schema(capsys, "scenario"))
    good = _as_json(yaml.safe_load(MINI.read_text()))
    for bad in ({**good, "duration_houres": 5}, {**good, "duration_hours": -1},
                {**good, "governments": {"KG": {"authorised": "L7"}}},
                {**good, "triggers": [{"kind": "riot", "hour": 1, "segment": "seg_water"}]}):
        assert list(validator.iter_errors(bad)), bad


def test_every_shipped_scenario_runs_within_the_size_limits():
    """The limits guard against typos, not against the scenarios the tool ships."""
    from sim.input.limits import check_scenario
    from sim.input.scenario import load_scenario

    for file in SHIPPED_SCENARIOS:
        if file.name != "mediators.yaml":
            check_scenario(load_scenario(file))


def test_the_schema_states_the_size_limits_and_how_to_lift_them(capsys):
    from sim.input.limits import LIMITS

    properties = _schema(capsys, "scenario")["properties"]
    assert f"{LIMITS.duration_hours:,.0f} h" in properties["duration_hours"]["description"]
    assert f"{LIMITS.runs:,}" in properties["runs"]["description"]
    assert all("--allow-large" in properties[f]["description"] for f in ("duration_hours", "step_hours", "runs"))


def test_the_scenarios_page_documents_every_field_of_the_schema():
    """docs/scenarios.md is the readable form of the schema: a field added to the format must be documented."""
    page = (REPO / "docs" / "scenarios.md").read_text()
    from sim.input.scenario import scenario_schema, strategy_schema

    for schema in (scenario_schema(), strategy_schema()):
        fields = set(schema["properties"])
        for definition in schema.get("$defs", {}).values():
            fields |= set(definition.get("properties", {}))
        missing = sorted(f for f in fields if f"`{f}`" not in page)
        assert not missing, f"docs/scenarios.md does not mention {missing}"
    assert set(ScenarioSpec.model_fields) <= set(scenario_schema()["properties"])


# --- where an incident happens --------------------------------------------------------------------------------
def _segments_of(tmp_path: Path, **where: Any) -> list[str]:
    trigger = {"kind": "incident", "hour": 2, "level": "L1", **where}
    sc = load_scenario(write_scenario(tmp_path, triggers=[trigger]))
    return [sc.geography.segment_ids[i] for i in sc.triggers[0].segments]


def test_an_incident_names_one_segment_by_id_by_its_two_ends_or_as_the_nearest_to_a_place(tmp_path):
    assert _segments_of(tmp_path, segment="seg_posts") == ["seg_posts"]
    assert _segments_of(tmp_path, between=["kg_post", "tj_post"]) == ["seg_posts"]
    assert _segments_of(tmp_path, between=["tj_post", "kg_post"]) == ["seg_posts"]  # either order
    assert _segments_of(tmp_path, near="kg_b") == ["seg_east"]
    assert _segments_of(tmp_path, near="kg_post") == ["seg_posts"]


def test_an_incident_at_a_place_still_starts_on_every_segment_touching_it():
    sc = load_scenario(SCENARIOS / "sept2022.yaml")
    at_vorukh = sc.geography.segments_at("vorukh")
    assert len(at_vorukh) > 1
    assert sc.geography.nearest_segment("vorukh") in at_vorukh


@pytest.mark.parametrize("where, message", [
    ({"between": ["kg_a", "tj_b"]}, r"triggers\[0\]\.between: no border segment joins 'kg_a' and 'tj_b'; "
                                    r"segments at 'kg_a': seg_water"),
    ({"between": ["kg_a", "tj_x"]}, r"triggers\[0\]\.between\[1\]: unknown place 'tj_x'"),
    ({"near": "kg_c"}, r"triggers\[0\]\.near: unknown place 'kg_c'"),
    ({"segment": "seg_water", "near": "kg_a"}, r"needs exactly one of 'segment', 'between', 'near' or 'place' "
                                              r"\(got segment, near\)"),
    ({"between": ["kg_a"]}, r"triggers\[0\]\.between: .*at least 2"),
])
def test_a_trigger_s_place_mistakes_are_named(tmp_path, capsys, where, message):
    path = write_scenario(tmp_path, triggers=[{"kind": "incident", "hour": 2, "level": "L1", **where}])
    assert re.search(message, error_of(capsys, "validate", str(path)))


# --- levels and times checked against each other --------------------------------------------------------------
@pytest.mark.parametrize("triggers, governments, message", [
    ([{"kind": "incident", "hour": 2, "segment": "seg_water", "level": "L2"}], None,
     r"triggers\[0\]\.level: an incident at L2 on the KG side is above what KG's government authorises at that "
     r"hour \(L1"),
    ([{"kind": "incident", "hour": 2, "segment": "seg_water", "side": "TJ", "level": "L3"},
      {"kind": "mobilisation", "hour": 3, "side": "TJ", "level": "L3"}], None,
     r"triggers\[0\]\.level: an incident at L3 on the TJ side"),  # the order comes an hour too late
    ([], {"KG": {"authorised": "L3", "arsenal": "L2"}},
     r"governments\.KG\.authorised: L3 is above its arsenal \(L2\)"),
    ([{"kind": "incident", "hour": 2, "segment": "seg_water", "level": "L4"}],
     {"KG": {"authorised": "L3", "arsenal": "L3"}, "TJ": {"authorised": "L4"}},
     r"triggers\[0\]\.level: KG fires at L4, above its arsenal \(governments\.KG\.arsenal: L3\)"),
])
def test_levels_beyond_the_orders_or_the_arsenal_are_errors(tmp_path, capsys, triggers, governments, message):
    changes: dict[str, Any] = {"triggers": triggers}
    if governments:
        changes["governments"] = governments
    assert re.search(message, error_of(capsys, "validate", str(write_scenario(tmp_path, **changes))))


def test_a_mobilisation_at_or_before_the_incident_authorises_it(tmp_path):
    path = write_scenario(tmp_path, triggers=[{"kind": "mobilisation", "hour": 2, "side": "TJ", "level": "L3"},
                                              {"kind": "incident", "hour": 2, "segment": "seg_water", "side": "TJ",
                                               "level": "L3"}])
    assert load_scenario(path).triggers[1].rung == 4


def _strategy(folder: Path, *actions: dict[str, Any]) -> Path:
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "description": "test", "actions": list(actions)}))
    return path


@pytest.mark.parametrize("timing, message", [
    ({"at_hour": 100}, r"s\.yaml: actions\[0\]\.at_hour: 100 h from the start is after the end of the run: "
                       r"scenario 'mini' .* lasts 96 h"),
    ({"after_onset_hours": 96}, r"actions\[0\]\.after_onset_hours: 96 h after the condition it waits for is after "
                                r"the end of the run"),
    ({"after_onset_hours": 5, "at_hour": 3}, r"actions\[0\]: give after_onset_hours alone, without at_hour"),
    ({"after_onset_hours": 5, "delay_hours": 3}, r"without delay_hours"),
])
def test_action_times_are_checked_against_the_run(tmp_path, capsys, timing, message):
    strategy = _strategy(tmp_path, {"mediator": "trusted", "instrument": "call", **timing})
    err = error_of(capsys, "run", str(MINI), "--strategy", str(strategy), "--quiet", "--out", str(tmp_path / "res"))
    assert re.search(message, err)
    assert not (tmp_path / "res").exists()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_after_onset_hours_counts_from_the_first_incident(tmp_path, seed):
    """mini's first incident is its trigger at hour 2 (no background incidents here): an action 3 h after the
    onset starts at hour 5, and the run is the run of the same action at_hour 5."""
    onset = _strategy(tmp_path, {"mediator": "trusted", "instrument": "broker", "after_onset_hours": 3})
    model = BorderModel(MINI, seed=seed, strategy=str(onset), incident_rate=0.0)
    model.run_model()
    assert model.sim.state.action_started[0].tolist() == [5.0]
    fixed = tmp_path / "fixed"
    fixed.mkdir()
    same = BorderModel(MINI, seed=seed, incident_rate=0.0,
                       strategy=str(_strategy(fixed, {"mediator": "trusted", "instrument": "broker", "at_hour": 5})))
    same.run_model()
    assert _nan_equal(same.summary(), model.summary())


def _nan_equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(x == y or (x != x and y != y) for x, y in zip(a.values(), b.values()))


def test_the_examples_of_the_scenarios_page_are_valid(tmp_path, monkeypatch):
    blocks = re.findall(r"```yaml\n(.*?)```", (REPO / "docs" / "scenarios.md").read_text(), re.S)
    scenario, strategy = (b for b in blocks if b.startswith(("name:",)))
    monkeypatch.chdir(tmp_path)
    Path("scenario.yaml").write_text(scenario)
    Path("strategy.yaml").write_text(strategy)
    sc = load_scenario("scenario.yaml", strategy="strategy.yaml")
    assert [sc.geography.segment_ids[i] for i in sc.triggers[0].segments] == ["golovnoi_water"]
    assert [a.instrument for a in sc.strategy.actions] == ["call", "broker", "monitors"]
