"""Where the shipped input files are: scenarios, strategies, mediators, the geography and the calibration.

In a checkout they are the repository's ``scenarios/`` and ``calibration/`` folders. An installed package
(a wheel) carries the same two folders as package data under ``sim/_data/`` (``setup.py`` maps them there),
so the same relative names work in both: ``scenarios/sept2022.yaml``, ``calibration/fitted.yaml``.

A built-in file can be named from anywhere: ``bordersim run sept2022`` is ``scenarios/sept2022.yaml`` of the
data root, and a scenario outside the data root still finds the shipped geography and mediators by their
relative names (``sim.input.scenario``).
"""

from __future__ import annotations

from pathlib import Path

from sim.errors import UserError
from sim.input.yamlio import suggest

_PACKAGE = Path(__file__).resolve().parents[1]
PACKAGED = _PACKAGE / "_data"
"""Where a wheel puts the data (absent in a checkout)."""
CHECKOUT = _PACKAGE.parent
"""The repository root when the code runs from a checkout (or an editable install of one)."""


def _data_root() -> Path:
    return PACKAGED if (PACKAGED / "scenarios").is_dir() else CHECKOUT


ROOT = _data_root()
"""The folder holding ``scenarios/`` and ``calibration/``: the installed package data, else the checkout."""
SCENARIOS = ROOT / "scenarios"
STRATEGIES = SCENARIOS / "strategies"
CALIBRATION = ROOT / "calibration"
DEFAULT_SCENARIO = SCENARIOS / "sept2022.yaml"
"""The scenario ``BorderModel()`` runs when given none."""


def scenario_names() -> list[str]:
    """The built-in scenarios, by the names ``bordersim run NAME`` accepts."""
    return sorted(p.stem for p in SCENARIOS.glob("*.yaml") if p.stem != "mediators")


def strategy_names(folder: Path = STRATEGIES) -> list[str]:
    """The strategies of a ``strategies/`` folder (default: the built-in ones), by name."""
    return sorted(p.stem for p in Path(folder).glob("*.yaml"))


def is_name(text: str) -> bool:
    """A bare name (``sept2022``) rather than a path (``my/x.yaml``, ``x.yaml``)."""
    return "/" not in text and "\\" not in text and not text.endswith((".yaml", ".yml")) and text not in ("", ".", "..")


def scenario_file(text: str | Path) -> Path:
    """The scenario a command-line argument names: a file (relative to the working directory) if one exists,
    else a built-in scenario of that name; :class:`UserError` if neither."""
    path = Path(text)
    if path.is_file():
        return path
    name = str(text)
    if is_name(name):
        builtin = SCENARIOS / f"{name}.yaml"
        if builtin.is_file():
            return builtin
        raise UserError(f"{name}: no such file, and no built-in scenario of that name"
                        f"{suggest(name, scenario_names())} (`bordersim list scenarios` lists them)")
    raise UserError(f"{path}: file not found")


def shipped(relative: str) -> Path | None:
    """The shipped file a scenario names by a path relative to the shipped scenarios folder, if it exists."""
    if Path(relative).is_absolute():
        return None
    candidate = SCENARIOS / relative
    return candidate if candidate.is_file() else None
