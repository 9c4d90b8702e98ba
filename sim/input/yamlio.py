"""Reading YAML input files into validated pydantic objects, with errors a user can act on.

Every input file of the tool (scenario, geography, strategy, mediators, parameters, calibration targets)
goes through :func:`load_model`, so all of them report mistakes the same way:
``<file>: <field.path>: <what was expected> (got <value>)``.
"""

from __future__ import annotations

import difflib
import types
import typing
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pydantic
import yaml

from sim.core.ladder import parse_level
from sim.errors import UserError

M = TypeVar("M", bound=pydantic.BaseModel)

MAX_INPUT_BYTES = 50_000_000
"""Largest input file read: far above any scenario, geography or calibration file, and a guard against a path
that names something else (a disk image, a log)."""


def _require_offset(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("needs a UTC offset, e.g. 2022-09-14T06:00:00+06:00")
    return value


AwareDatetime = Annotated[datetime, pydantic.AfterValidator(_require_offset)]
"""A date-time that must carry its UTC offset: clock times in the sources are local to each side."""


def _check_level(value: str) -> str:
    parse_level(value)
    return value


LEVEL_PATTERN = r"^\s*([Cc][Aa][Ll][Mm]|[Ll][0-4])\s*$"
"""What :func:`sim.core.ladder.parse_level` accepts, as a JSON Schema pattern for editors."""

Level = Annotated[str, pydantic.AfterValidator(_check_level),
                  pydantic.WithJsonSchema({"type": "string", "pattern": LEVEL_PATTERN,
                                           "description": "a weapon level: calm, or L0 (stones) to L4 "
                                                          "(aircraft, drones, MLRS), facts-sheet coding"})]
"""A weapon level as input files write it (``L2``), checked by the ladder's own parser."""


class StrictModel(pydantic.BaseModel):
    """Base for every input schema: unknown keys are errors, values are not silently coerced."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping at its top level (safe loader only)."""
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    size = path.stat().st_size
    if size > MAX_INPUT_BYTES:
        raise UserError(f"{path}: {size:,} bytes is too large for an input file (at most {MAX_INPUT_BYTES:,}); "
                        "expected a YAML file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a UTF-8 text file; expected a YAML file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{path}{where}: malformed YAML: {problem}") from None
    if data is None:
        raise UserError(f"{path}: the file is empty; expected a mapping of fields")
    if not isinstance(data, dict):
        raise UserError(
            f"{path}: the top level is a {type(data).__name__}; expected a mapping of fields"
        )
    return data


def load_model(path: Path, schema: type[M], data: dict[str, Any] | None = None) -> M:
    """Validate ``data`` (read from ``path`` when not given) against ``schema``."""
    if data is None:
        data = read_yaml_mapping(path)
    try:
        return schema.model_validate(data)
    except pydantic.ValidationError as exc:
        raise UserError(format_validation_error(path, schema, exc)) from None


def field_path(loc: tuple[Any, ...]) -> str:
    """Render a pydantic location as ``triggers[2].at``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def format_validation_error(path: Path, schema: type[pydantic.BaseModel], exc: pydantic.ValidationError) -> str:
    """One line per problem (at most five), each naming the field path and what was expected."""
    lines = []
    errors = exc.errors(include_url=False)
    for err in errors[:5]:
        loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
        where = field_path(loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            allowed = _allowed_keys(schema, loc[:-1])
            hint = _suggest(str(loc[-1]), allowed)
            lines.append(f"{path}: {where}: unknown field{hint}")
        elif kind == "missing":
            lines.append(f"{path}: {where}: required field is missing")
        else:
            got = err.get("input")
            msg = err["msg"].removeprefix("Value error, ")
            shown = "" if isinstance(got, dict) else f" (got {_short(got)})"  # a whole mapping says nothing
            lines.append(f"{path}: {where}: {msg}{shown}")
    if len(errors) > 5:
        lines.append(f"{path}: … and {len(errors) - 5} more problems")
    return "\n".join(lines)


def suggest(name: str, allowed: typing.Iterable[str]) -> str:
    """A ``(did you mean 'x'?)`` hint, or the list of valid names when nothing is close."""
    return _suggest(name, list(allowed))


def _suggest(name: str, allowed: list[str]) -> str:
    if not allowed:
        return ""
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.5)
    if close:
        return f" (did you mean '{close[0]}'?)"
    shown = ", ".join(sorted(allowed)[:12])
    more = ", …" if len(allowed) > 12 else ""
    return f"; expected one of: {shown}{more}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_union_tag(part: Any) -> bool:
    """Pydantic adds the member type name to locations inside unions; it means nothing to a user."""
    return isinstance(part, str) and (part.startswith(("function-", "union[", "tagged-union[")) or "[" in part)


def _allowed_keys(schema: type[pydantic.BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names valid at ``loc`` inside ``schema``, found by walking the type annotations."""
    current: Any = schema
    for part in loc:
        current = _step_into(current, part)
        if current is None:
            return []
    model = _as_model(current)
    return list(model.model_fields) if model is not None else []


def _step_into(annotation: Any, part: Any) -> Any:
    model = _as_model(annotation)
    if model is not None and isinstance(part, str) and part in model.model_fields:
        return model.model_fields[part].annotation
    for arg in _unwrap(annotation):
        origin = typing.get_origin(arg)
        args = typing.get_args(arg)
        if origin in (list, tuple) and args and isinstance(part, int):
            return args[0]
        if origin is dict and len(args) == 2:
            return args[1]
    return None


def _unwrap(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return [a for arg in typing.get_args(annotation) for a in _unwrap(arg)]
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    return [annotation]


def _as_model(annotation: Any) -> type[pydantic.BaseModel] | None:
    for arg in _unwrap(annotation):
        if isinstance(arg, type) and issubclass(arg, pydantic.BaseModel):
            return arg
    return None
