"""Scenario files: what to simulate, read from YAML, checked, and resolved into one object.

A scenario is named by its file or, for a shipped one, by its name (``sept2022``). The files a scenario names
(geography, mediator registry, parameter file, strategy file) are looked for relative to the scenario file
first, then among the shipped scenario files (``sim.input.builtin``), so a scenario written anywhere can use
the shipped geography and mediators. A strategy may be given by name: ``documented_2022`` is
``strategies/documented_2022.yaml`` beside the scenario, else the shipped strategy of that name. A strategy
given on the command line as a path is relative to the working directory.

:class:`ScenarioSpec` is the one definition of the format: ``bordersim schema`` exports it as JSON Schema and
``docs/scenarios.md`` documents it. What a schema cannot say (names that must exist in the geography, levels
against the governments' orders, times against the run's span) is checked by :func:`load_scenario`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Literal, TypeVar

import pydantic

from sim.core.ladder import Rung, level_name, parse_level
from sim.errors import UserError
from sim.input import builtin, parameters
from sim.input.geography import SIDES, Geography, load_geography
from sim.input.limits import LIMITS
from sim.input.strategy import MediatorRegistry, StrategySpec, load_registry, load_strategy
from sim.input.yamlio import AwareDatetime, Level, StrictModel, load_model, read_yaml_mapping, suggest


T = TypeVar("T")


class ParametersRef(StrictModel):
    """Where a scenario's parameter values come from: a named set (``set: fitted``, the calibration's
    published values), or a file of the same format relative to the scenario; overrides on top."""

    set: str | None = pydantic.Field(default=None, description="a named parameter set: 'fitted' is the "
                                     "calibration's published values")
    file: str | None = pydantic.Field(default=None, description="a parameter file, relative to the scenario")
    overrides: dict[str, Any] = pydantic.Field(default_factory=dict, description="parameter values replacing "
                                               "the set's or file's (names: docs/ODD.md, parameter table)")

    @pydantic.model_validator(mode="after")
    def _one_source(self) -> "ParametersRef":
        if self.set is not None and self.file is not None:
            raise ValueError("give either 'set' (a named parameter set) or 'file', not both")
        return self


class InitialTension(StrictModel):
    default: float = pydantic.Field(default=0.4, ge=0.0, le=1.0, description="every segment's tension at the "
                                    "start (0 calm, 1 at breaking point)")
    segments: dict[str, float] = pydantic.Field(default_factory=dict, description="tension of named "
                                                "segments at the start, replacing the default")

    @pydantic.field_validator("segments")
    @classmethod
    def _range(cls, value: dict[str, float]) -> dict[str, float]:
        for key, tension in value.items():
            if not 0.0 <= tension <= 1.0:
                raise ValueError(f"tension of '{key}' must lie in [0, 1], got {tension}")
        return value


class GovernmentSpec(StrictModel):
    authorised: Level = pydantic.Field(default="L1", description="the highest level its forces may fire at "
                                       "the start")
    arsenal: Level = pydantic.Field(default="L4", description="the highest level it has at the border")
    offensive: bool = pydantic.Field(default=False, description="its forces enter the other side's border "
                                     "villages once they fire armour")


class Governments(StrictModel):
    KG: GovernmentSpec = GovernmentSpec()
    TJ: GovernmentSpec = GovernmentSpec()


class AccountChange(StrictModel):
    """What one account says differently about a government: whether its forces entered the other side's
    villages."""

    offensive: bool | None = None


class AccountSpec(StrictModel):
    """One reading of a contested fact (each party's account, or neither), as changes to the governments.

    The scenario's own ``governments`` are the reading that takes no side; an account is chosen explicitly
    (``bordersim run --account NAME``) and every report names the account it ran under."""

    says: str = pydantic.Field(min_length=1)
    """Whose account it is and what it claims, with its source."""
    governments: dict[Literal["KG", "TJ"], AccountChange] = pydantic.Field(default_factory=dict)


WHERE_FIELDS = ("segment", "between", "near", "place")
"""The ways a trigger names where it happens; exactly one is given for an incident or a tension spike."""


class TriggerSpec(StrictModel):
    """Something that happens at a set time: an incident, a tension spike, or a mobilisation order.

    Where: ``segment`` (one segment by id), ``between`` (the one segment joining two places), ``near`` (the
    one segment nearest a place) or ``place`` (every segment touching a place)."""

    kind: Literal["incident", "tension", "mobilisation"]
    at: AwareDatetime | None = pydantic.Field(default=None, description="when, as a date-time with its UTC "
                                              "offset")
    hour: float | None = pydantic.Field(default=None, ge=0, description="when, in hours from the start")
    segment: str | None = pydantic.Field(default=None, description="one border segment, by id")
    between: list[str] | None = pydantic.Field(default=None, min_length=2, max_length=2,
                                               description="one border segment, by the ids of its two places")
    near: str | None = pydantic.Field(default=None, description="the one border segment nearest this place")
    place: str | None = pydantic.Field(default=None, description="every border segment touching this place")
    side: Literal["KG", "TJ", "both"] = pydantic.Field(default="both", description="who fires (incident) or "
                                                       "whose government mobilises")
    level: Level | None = pydantic.Field(default=None, description="the incident's weapon level, or the level "
                                         "a mobilisation authorises")
    tension: float | None = pydantic.Field(default=None, ge=0.0, le=1.0, description="a tension spike's "
                                           "level (0-1)")
    source: str | None = pydantic.Field(default=None, description="where the event is documented")

    @pydantic.model_validator(mode="after")
    def _complete(self) -> "TriggerSpec":
        if (self.at is None) == (self.hour is None):
            raise ValueError("give exactly one of 'at' (date-time) or 'hour' (hours from start)")
        given = [name for name in WHERE_FIELDS if getattr(self, name) is not None]
        if self.kind in ("incident", "tension") and len(given) != 1:
            raise ValueError(f"a {self.kind} trigger needs exactly one of 'segment', 'between', 'near' or "
                             f"'place'" + (f" (got {', '.join(given)})" if given else ""))
        if self.kind == "mobilisation" and given:
            raise ValueError("a mobilisation order applies to a whole side: it takes no "
                             f"{', '.join(repr(g) for g in given)}")
        if self.kind == "tension" and self.tension is None:
            raise ValueError("a tension trigger needs 'tension' (0-1)")
        if self.kind == "mobilisation" and self.level is None:
            raise ValueError("a mobilisation trigger needs 'level' (the rung now authorised)")
        return self


class ScenarioSpec(StrictModel):
    """A scenario file (``docs/scenarios.md``)."""

    name: str = pydantic.Field(pattern=r"^[A-Za-z0-9_.-]+$", description="short name: the results folder's")
    description: str
    start: AwareDatetime = pydantic.Field(description="when the run starts, with its UTC offset")
    duration_hours: float = pydantic.Field(
        gt=0, description=f"how long the run lasts; at most {LIMITS.duration_hours:,.0f} h (five years) and "
        f"{LIMITS.steps:,} steps unless --allow-large")
    step_hours: float = pydantic.Field(
        default=1.0, gt=0, le=24,
        description=f"hours per model step; at least {LIMITS.step_hours:g} h unless --allow-large")
    geography: str = pydantic.Field(description="the geography file, relative to the scenario (else to the "
                                    "shipped scenarios folder), e.g. geography/batken_sughd.yaml")
    mediators: str = pydantic.Field(default="mediators.yaml", description="the mediator registry, found like "
                                    "the geography")
    parameters: ParametersRef = ParametersRef()
    initial_tension: InitialTension = InitialTension()
    governments: Governments = Governments()
    triggers: list[TriggerSpec] = pydantic.Field(default_factory=list)
    accounts: dict[str, AccountSpec] = pydantic.Field(
        default_factory=dict, description="contested readings of the record by name (each party's account); "
        "none is applied unless asked for with --account")
    strategy: str = pydantic.Field(default="none", description="a strategy name (strategies/<name>.yaml beside "
                                   "the scenario, else a shipped one) or a file relative to the scenario")
    seed: int = pydantic.Field(default=0, ge=0, description="base seed of the runs")
    runs: int = pydantic.Field(default=1, ge=1,
                               description=f"number of runs; at most {LIMITS.runs:,} unless --allow-large")
    output: str | None = pydantic.Field(default=None, description="results folder (default: "
                                        "results/<name>)")


def scenario_schema() -> dict[str, Any]:
    """The scenario format as JSON Schema (draft 2020-12), derived from :class:`ScenarioSpec`."""
    return _json_schema(ScenarioSpec, "bordersim scenario")


def strategy_schema() -> dict[str, Any]:
    """The strategy format as JSON Schema, derived from :class:`~sim.input.strategy.StrategySpec`."""
    return _json_schema(StrategySpec, "bordersim mediation strategy")


def _json_schema(model: type[pydantic.BaseModel], title: str) -> dict[str, Any]:
    """Pydantic's schema of the model that validates the files: one definition, never a second to drift.
    It says what is structurally valid; :func:`load_scenario` checks the rest (names, levels, times)."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **model.model_json_schema(),
            "title": title}


@dataclass(frozen=True)
class ResolvedTrigger:
    step: int
    kind: str
    segments: tuple[int, ...]
    sides: tuple[int, ...]
    rung: int
    tension: float


@dataclass(frozen=True)
class Scenario:
    """A checked scenario with everything it refers to loaded: what a model is built from."""

    path: Path
    spec: ScenarioSpec
    geography: Geography
    registry: MediatorRegistry
    strategy: StrategySpec
    params: dict[str, Any]
    triggers: tuple[ResolvedTrigger, ...]
    input_files: tuple[Path, ...] = field(default=())
    strategy_file: Path | None = None
    account: str | None = None
    """The contested account applied to the governments (``spec.accounts``), or None: the scenario as written,
    which takes no side."""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def n_steps(self) -> int:
        return int(round(self.spec.duration_hours / self.spec.step_hours))

    def time_of_step(self, step: int) -> datetime:
        return self.spec.start + timedelta(hours=step * self.spec.step_hours)

    def hash(self) -> str:
        """SHA-256 over every input file's bytes and the resolved parameters: what makes a run repeatable."""
        digest = hashlib.sha256()
        for f in self.input_files:
            digest.update(f.name.encode())
            digest.update(f.read_bytes())
        digest.update(repr(sorted(self.params.items())).encode())
        if self.account is not None:
            digest.update(f"account={self.account}".encode())
        return digest.hexdigest()

    def with_params(self, overrides: dict[str, Any]) -> "Scenario":
        """The same scenario with some parameters replaced (checked like a scenario's overrides)."""
        params = dict(self.params)
        params.update(parameters.checked(overrides, "parameters"))
        return dataclasses.replace(self, params=params)

    def with_strategy(self, name_or_path: str) -> "Scenario":
        """The same scenario under another mediation strategy (a name, or a file relative to the working
        directory)."""
        file = strategy_path(self.path, name_or_path, given=True)
        strategy = _checked_strategy(self.path, self.spec, file, self.registry, self.geography)
        files = tuple(f for f in self.input_files if f != self.strategy_file) + (file,)
        return dataclasses.replace(self, strategy=strategy, input_files=files, strategy_file=file)

    def with_account(self, name: str | None) -> "Scenario":
        """The same scenario under one of its contested accounts (None: as written, taking no side)."""
        if name is None:
            return self
        if name not in self.spec.accounts:
            known = ", ".join(sorted(self.spec.accounts)) or "none (the scenario defines no accounts)"
            raise UserError(f"{self.path}: accounts: no account {name!r}; expected one of: {known}")
        governments = self.spec.governments
        changes = {side: getattr(governments, side).model_copy(update=change.model_dump(exclude_none=True))
                   for side, change in self.spec.accounts[name].governments.items()}
        spec = self.spec.model_copy(update={"governments": governments.model_copy(update=changes)})
        return dataclasses.replace(self, spec=spec, account=name)


def load_scenario(path: str | Path, strategy: str | None = None, account: str | None = None) -> Scenario:
    """Read and check a scenario (a file, or a shipped scenario's name) and everything it names, under one of
    its contested accounts if ``account`` names one.

    ``strategy`` replaces the scenario's own: a name, or a file relative to the working directory.
    Raises :class:`UserError` on any mistake."""
    path = builtin.scenario_file(path)
    data = read_yaml_mapping(path)
    spec = load_model(path, ScenarioSpec, data)
    geo_path = referenced_file(path, "geography", spec.geography)
    geography = _named(path, "geography", lambda: load_geography(geo_path))
    reg_path = referenced_file(path, "mediators", spec.mediators)
    registry = _named(path, "mediators", lambda: load_registry(reg_path))
    strat_path = strategy_path(path, strategy or spec.strategy, given=strategy is not None)
    strat = _named(path, "--strategy" if strategy is not None else "strategy",
                   lambda: _checked_strategy(path, spec, strat_path, registry, geography))
    param_file = parameter_file(path, spec)
    params = _named(path, "parameters", lambda: parameters.resolve(param_file))
    params.update(parameters.checked(spec.parameters.overrides, f"{path}: parameters.overrides"))
    _check_tension(path, spec, geography)
    _check_orders(path, spec)
    triggers = tuple(_resolve_trigger(path, i, t, spec, geography) for i, t in enumerate(spec.triggers))
    files = tuple(f for f in (path, geo_path, reg_path, strat_path, param_file) if f is not None)
    return Scenario(path, spec, geography, registry, strat, params, triggers, files, strat_path).with_account(account)


def parameter_file(path: Path, spec: ScenarioSpec) -> Path | None:
    """The file a scenario's parameters come from: its named set's (``parameters.set``), its own file
    (``parameters.file``, relative to the scenario), or none (the defaults)."""
    ref = spec.parameters
    if ref.set is not None:
        if ref.set not in parameters.PARAMETER_SETS:
            raise UserError(f"{path}: parameters.set: unknown parameter set '{ref.set}'"
                            f"{suggest(ref.set, parameters.PARAMETER_SETS)}")
        named = parameters.PARAMETER_SETS[ref.set]
        if not named.is_file():
            raise UserError(f"{path}: parameters.set: the '{ref.set}' set has not been made yet "
                            f"({named.name} missing); `bordersim calibrate` writes it")
        return named
    if ref.file is not None:
        return referenced_file(path, "parameters.file", ref.file)
    return None


def referenced_file(scenario: Path, field_name: str, relative: str) -> Path:
    """A file a scenario names: relative to the scenario file, else the shipped file of that relative name."""
    local = scenario.parent / relative
    if local.is_file():
        return local
    shipped = builtin.shipped(relative)
    if shipped is not None:
        return shipped
    raise UserError(f"{scenario}: {field_name}: file not found: {local} (nor among the shipped scenario files)")


def available_strategies(scenario_path: str | Path) -> list[str]:
    """Strategy names a scenario can use: those in ``strategies/`` beside it and the shipped ones."""
    local = builtin.strategy_names(Path(scenario_path).parent / "strategies")
    return sorted(set(local) | set(builtin.strategy_names()))


def strategy_path(scenario_path: Path, name_or_path: str, given: bool = False) -> Path:
    """Resolve a strategy given by name or by file.

    A name is ``strategies/<name>.yaml`` beside the scenario, else the shipped strategy of that name. A file
    named in the scenario is relative to the scenario (else a shipped file of that relative name); a file
    given by the caller (``given``: ``--strategy``, ``--strategies``) is relative to the working directory,
    and an error points there."""
    field_name = "--strategy" if given else "strategy"
    if not builtin.is_name(name_or_path):
        if given:
            target = Path(name_or_path)
            if not target.is_file():
                raise UserError(f"{field_name}: file not found: {target}")
            return target
        return referenced_file(scenario_path, field_name, name_or_path)
    for folder in (Path(scenario_path).parent / "strategies", builtin.STRATEGIES):
        named = folder / f"{name_or_path}.yaml"
        if named.is_file():
            return named
    raise UserError(f"{scenario_path}: {field_name}: unknown strategy '{name_or_path}'"
                    f"{suggest(name_or_path, available_strategies(scenario_path))}")


def _named(scenario: Path, field_name: str, load: Callable[[], T]) -> T:
    """Load a file the scenario names; an error in it also says which scenario field named it (the file may
    be anywhere the field points, and only the field tells the user what to change)."""
    try:
        return load()
    except UserError as err:
        raise UserError(f"{scenario}: {field_name}: {err}") from None


def _checked_strategy(path: Path, spec: ScenarioSpec, file: Path, registry: MediatorRegistry,
                      geography: Geography) -> StrategySpec:
    """Load a strategy and check its action times against the run's span: an action that could only start
    after the end of the run is a mistake, not a no-op."""
    strategy = load_strategy(file, registry, geography.segment_ids)
    end = spec.duration_hours
    for i, action in enumerate(strategy.actions):
        for name in ("at_hour", "after_onset_hours", "delay_hours"):
            value = getattr(action, name)
            if value is not None and value >= end:
                counted = "from the start" if name == "at_hour" else "after the condition it waits for"
                raise UserError(f"{file}: actions[{i}].{name}: {value:g} h {counted} is after the end of the "
                                f"run: scenario '{spec.name}' ({path}) lasts {end:g} h")
    return strategy


def _check_tension(path: Path, spec: ScenarioSpec, geo: Geography) -> None:
    for seg in spec.initial_tension.segments:
        if seg not in geo.segment_ids:
            raise UserError(f"{path}: initial_tension.segments.{seg}: unknown segment"
                            f"{suggest(seg, geo.segment_ids)}")


def _trigger_hours(t: TriggerSpec, spec: ScenarioSpec) -> float:
    return t.hour if t.hour is not None else (t.at - spec.start).total_seconds() / 3600  # type: ignore[operator]


def _check_orders(path: Path, spec: ScenarioSpec) -> None:
    """Levels against each government's orders and arsenal: nothing authorised beyond what a side has, and no
    incident fired above what its government authorises at that hour (its ``authorised`` level, raised by any
    mobilisation at or before the incident). Both would otherwise be capped or overridden silently."""
    for side in SIDES:
        gov = getattr(spec.governments, side)
        if parse_level(gov.authorised) > parse_level(gov.arsenal):
            raise UserError(f"{path}: governments.{side}.authorised: {gov.authorised} is above its arsenal "
                            f"({gov.arsenal}); a government cannot authorise weapons it does not have")
    timed = sorted(enumerate(spec.triggers), key=lambda it: (_trigger_hours(it[1], spec), it[0]))
    authorised = {side: parse_level(getattr(spec.governments, side).authorised) for side in SIDES}
    for i, t in timed:
        sides = SIDES if t.side == "both" else (t.side,)
        if t.level is None or t.kind == "tension":
            continue
        rung = parse_level(t.level)
        for side in sides:
            arsenal = getattr(spec.governments, side).arsenal
            if rung > parse_level(arsenal):
                what = "mobilises" if t.kind == "mobilisation" else "fires"
                raise UserError(f"{path}: triggers[{i}].level: {side} {what} at {t.level}, above its arsenal "
                                f"(governments.{side}.arsenal: {arsenal})")
            if t.kind == "mobilisation":
                authorised[side] = max(authorised[side], rung)
            elif rung > authorised[side]:
                raise UserError(
                    f"{path}: triggers[{i}].level: an incident at {t.level} on the {side} side is above what "
                    f"{side}'s government authorises at that hour ({level_name(authorised[side])}: "
                    f"governments.{side}.authorised and earlier mobilisations); raise governments.{side}."
                    f"authorised or add a mobilisation trigger at or before it")


def _resolve_trigger(path: Path, i: int, t: TriggerSpec, spec: ScenarioSpec, geo: Geography) -> ResolvedTrigger:
    where = f"{path}: triggers[{i}]"
    hours = _trigger_hours(t, spec)
    if hours < 0 or hours >= spec.duration_hours:
        end = spec.start + timedelta(hours=spec.duration_hours)
        raise UserError(f"{where}.{'at' if t.at else 'hour'}: the trigger falls outside the scenario's time "
                        f"span ({spec.start.isoformat()} to {end.isoformat()})")
    sides = (0, 1) if t.side == "both" else (SIDES.index(t.side),)
    rung = parse_level(t.level) if t.level else Rung.CIVIL
    return ResolvedTrigger(int(hours // spec.step_hours), t.kind, _trigger_segments(where, t, geo), sides,
                           int(rung), t.tension or 0.0)


def _trigger_segments(where: str, t: TriggerSpec, geo: Geography) -> tuple[int, ...]:
    """The segments a trigger names (none for a mobilisation order)."""
    def known_place(name: str, field_name: str) -> None:
        if name not in geo.place_ids:
            raise UserError(f"{where}.{field_name}: unknown place '{name}'{suggest(name, geo.place_ids)}")

    if t.segment is not None:
        if t.segment not in geo.segment_ids:
            raise UserError(f"{where}.segment: unknown segment '{t.segment}'{suggest(t.segment, geo.segment_ids)}")
        return (geo.segment_index(t.segment),)
    if t.between is not None:
        a, b = t.between
        for j, name in enumerate((a, b)):
            known_place(name, f"between[{j}]")
        index = geo.segment_between(a, b)
        if index is None:
            touching = [geo.segment_ids[s] for s in geo.segments_at(a)]
            hint = f"; segments at '{a}': {', '.join(touching)}" if touching else f"; '{a}' touches no segment"
            raise UserError(f"{where}.between: no border segment joins '{a}' and '{b}'{hint}")
        return (index,)
    if t.near is not None:
        known_place(t.near, "near")
        return (geo.nearest_segment(t.near),)
    if t.place is not None:
        known_place(t.place, "place")
        segments = tuple(geo.segments_at(t.place))
        if not segments:
            raise UserError(f"{where}.place: '{t.place}' touches no border segment (`near:` takes the nearest one)")
        return segments
    return ()
