"""Scenario files: what to simulate, read from YAML, checked, and resolved into one object.

Paths inside a scenario (geography, parameter file, strategy, mediator registry) are relative to the
scenario file. A strategy may also be given by name: ``documented_2022`` means
``strategies/documented_2022.yaml`` beside the scenario.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Literal, TypeVar

import pydantic

from sim.core.ladder import Rung, parse_level
from sim.errors import UserError
from sim.input import parameters
from sim.input.geography import SIDES, Geography, load_geography
from sim.input.strategy import MediatorRegistry, StrategySpec, load_registry, load_strategy
from sim.input.yamlio import AwareDatetime, StrictModel, load_model, read_yaml_mapping, suggest


T = TypeVar("T")


def _level(value: str) -> str:
    parse_level(value)
    return value


class ParametersRef(StrictModel):
    """Where a scenario's parameter values come from: a named set (``set: fitted``, the calibration's
    published values), or a file of the same format relative to the scenario; overrides on top."""

    set: str | None = None
    file: str | None = None
    overrides: dict[str, Any] = pydantic.Field(default_factory=dict)

    @pydantic.model_validator(mode="after")
    def _one_source(self) -> "ParametersRef":
        if self.set is not None and self.file is not None:
            raise ValueError("give either 'set' (a named parameter set) or 'file', not both")
        return self


class InitialTension(StrictModel):
    default: float = pydantic.Field(default=0.4, ge=0.0, le=1.0)
    segments: dict[str, float] = pydantic.Field(default_factory=dict)

    @pydantic.field_validator("segments")
    @classmethod
    def _range(cls, value: dict[str, float]) -> dict[str, float]:
        for key, tension in value.items():
            if not 0.0 <= tension <= 1.0:
                raise ValueError(f"tension of '{key}' must lie in [0, 1], got {tension}")
        return value


class GovernmentSpec(StrictModel):
    authorised: str = "L1"
    arsenal: str = "L4"
    offensive: bool = False
    """Its forces enter the other side's border villages once they fire armour (sim/incursion.py)."""

    @pydantic.field_validator("authorised", "arsenal")
    @classmethod
    def _lvl(cls, value: str) -> str:
        return _level(value)


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


class TriggerSpec(StrictModel):
    """Something that happens at a set time: an incident, a tension spike, or a mobilisation order."""

    kind: Literal["incident", "tension", "mobilisation"]
    at: AwareDatetime | None = None
    hour: float | None = pydantic.Field(default=None, ge=0)
    segment: str | None = None
    place: str | None = None
    side: Literal["KG", "TJ", "both"] = "both"
    level: str | None = None
    tension: float | None = pydantic.Field(default=None, ge=0.0, le=1.0)
    source: str | None = None

    @pydantic.field_validator("level")
    @classmethod
    def _lvl(cls, value: str | None) -> str | None:
        return None if value is None else _level(value)

    @pydantic.model_validator(mode="after")
    def _complete(self) -> "TriggerSpec":
        if (self.at is None) == (self.hour is None):
            raise ValueError("give exactly one of 'at' (date-time) or 'hour' (hours from start)")
        if self.kind in ("incident", "tension") and self.segment is None and self.place is None:
            raise ValueError(f"a {self.kind} trigger needs a 'segment' or a 'place'")
        if self.kind == "tension" and self.tension is None:
            raise ValueError("a tension trigger needs 'tension' (0-1)")
        if self.kind == "mobilisation" and self.level is None:
            raise ValueError("a mobilisation trigger needs 'level' (the rung now authorised)")
        return self


class ScenarioSpec(StrictModel):
    name: str = pydantic.Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str
    start: AwareDatetime
    duration_hours: float = pydantic.Field(gt=0)
    step_hours: float = pydantic.Field(default=1.0, gt=0, le=24)
    geography: str
    mediators: str = "mediators.yaml"
    parameters: ParametersRef = ParametersRef()
    initial_tension: InitialTension = InitialTension()
    governments: Governments = Governments()
    triggers: list[TriggerSpec] = pydantic.Field(default_factory=list)
    accounts: dict[str, AccountSpec] = pydantic.Field(default_factory=dict)
    """Contested readings of the record, by name; none is applied unless asked for."""
    strategy: str = "none"
    seed: int = pydantic.Field(default=0, ge=0)
    runs: int = pydantic.Field(default=1, ge=1)
    output: str | None = None


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
        """The same scenario under another mediation strategy (a name or a path, as in the YAML)."""
        file = strategy_path(self.path, name_or_path, given=True)
        strategy = load_strategy(file, self.registry, self.geography.segment_ids)
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
    """Read and check a scenario and everything it names, under one of its contested accounts if ``account``
    names one; raise :class:`UserError` on any mistake."""
    path = Path(path)
    data = read_yaml_mapping(path)
    spec = load_model(path, ScenarioSpec, data)
    base = path.parent
    geo_path = _existing(path, "geography", base / spec.geography)
    geography = _named(path, "geography", lambda: load_geography(geo_path))
    reg_path = _existing(path, "mediators", base / spec.mediators)
    registry = _named(path, "mediators", lambda: load_registry(reg_path))
    strat_path = strategy_path(path, strategy or spec.strategy, given=strategy is not None)
    strat = _named(path, "--strategy" if strategy is not None else "strategy",
                   lambda: load_strategy(strat_path, registry, geography.segment_ids))
    param_file = parameter_file(path, spec)
    params = _named(path, "parameters", lambda: parameters.resolve(param_file))
    params.update(parameters.checked(spec.parameters.overrides, f"{path}: parameters.overrides"))
    _check_tension(path, spec, geography)
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
        return _existing(path, "parameters.file", path.parent / ref.file)
    return None


def strategy_path(scenario_path: Path, name_or_path: str, given: bool = False) -> Path:
    """Resolve a strategy given by name (``strategies/<name>.yaml``) or by a path relative to the scenario.

    ``given`` says the name came from the caller (``--strategy``) rather than the scenario file, so an
    error points there.
    """
    field_name = "--strategy" if given else "strategy"
    base = scenario_path.parent
    candidate = base / name_or_path
    if name_or_path.endswith((".yaml", ".yml")):
        return _existing(scenario_path, field_name, candidate)
    named = base / "strategies" / f"{name_or_path}.yaml"
    if named.is_file():
        return named
    known = sorted(p.stem for p in (base / "strategies").glob("*.yaml"))
    raise UserError(f"{scenario_path}: {field_name}: unknown strategy '{name_or_path}'"
                    f"{suggest(name_or_path, known)}")


def _named(scenario: Path, field_name: str, load: Callable[[], T]) -> T:
    """Load a file the scenario names; an error in it also says which scenario field named it (the file may
    be anywhere the field points, and only the field tells the user what to change)."""
    try:
        return load()
    except UserError as err:
        raise UserError(f"{scenario}: {field_name}: {err}") from None


def _existing(scenario: Path, field_name: str, target: Path) -> Path:
    if not target.is_file():
        raise UserError(f"{scenario}: {field_name}: file not found: {target}")
    return target


def _check_tension(path: Path, spec: ScenarioSpec, geo: Geography) -> None:
    for seg in spec.initial_tension.segments:
        if seg not in geo.segment_ids:
            raise UserError(f"{path}: initial_tension.segments.{seg}: unknown segment"
                            f"{suggest(seg, geo.segment_ids)}")


def _resolve_trigger(path: Path, i: int, t: TriggerSpec, spec: ScenarioSpec, geo: Geography) -> ResolvedTrigger:
    where = f"{path}: triggers[{i}]"
    hours = t.hour if t.hour is not None else (t.at - spec.start).total_seconds() / 3600  # type: ignore[operator]
    if hours < 0 or hours >= spec.duration_hours:
        end = spec.start + timedelta(hours=spec.duration_hours)
        raise UserError(f"{where}.{'at' if t.at else 'hour'}: the trigger falls outside the scenario's time "
                        f"span ({spec.start.isoformat()} to {end.isoformat()})")
    segments: tuple[int, ...] = ()
    if t.segment is not None:
        if t.segment not in geo.segment_ids:
            raise UserError(f"{where}.segment: unknown segment '{t.segment}'{suggest(t.segment, geo.segment_ids)}")
        segments = (geo.segment_index(t.segment),)
    elif t.place is not None:
        if t.place not in geo.place_ids:
            raise UserError(f"{where}.place: unknown place '{t.place}'{suggest(t.place, geo.place_ids)}")
        segments = tuple(geo.segments_at(t.place))
        if not segments:
            raise UserError(f"{where}.place: '{t.place}' touches no border segment")
    sides = (0, 1) if t.side == "both" else (SIDES.index(t.side),)
    rung = parse_level(t.level) if t.level else Rung.CIVIL
    return ResolvedTrigger(int(hours // spec.step_hours), t.kind, segments, sides, int(rung), t.tension or 0.0)
