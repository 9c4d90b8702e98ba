"""The calibrated posterior, as parameter draws for ``bordersim compare --posterior``.

Reading ``calibration/fitted.yaml`` and its draws CSV is kept apart from the comparison itself: it is the
one place that knows the calibration's output format (which columns are parameters, how a draw is
checked), so a change there touches this module only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.input import parameters
from sim.input.yamlio import read_yaml_mapping
from sim.output.results import file_sha256, portable_path

DEFAULT_FITTED = parameters.PARAMETER_SETS["fitted"]
NON_PARAMETER_COLUMNS = frozenset({"draw", "chain", "iteration", "sample", "weight", "log_weight"})


@dataclass(frozen=True)
class Posterior:
    """Parameter draws from a calibration: run ``i`` uses row ``i mod len(draws)``."""

    fitted: Path
    draws_file: Path
    draws: tuple[tuple[tuple[str, float], ...], ...]
    episodes: tuple[str, ...] = ()
    """The documented episodes the calibration was fitted to (``made_by.episodes``), for reports."""

    def draw_number(self, run: int) -> int:
        """The draw run ``run`` uses: runs cycle through the draws."""
        return run % len(self.draws)

    def overrides(self, run: int) -> tuple[tuple[str, float], ...]:
        return self.draws[self.draw_number(run)]

    def info(self) -> dict[str, Any]:
        return {"fitted": portable_path(self.fitted), "fitted_sha256": file_sha256(self.fitted),
                "draws_file": portable_path(self.draws_file), "draws_sha256": file_sha256(self.draws_file),
                "n_draws": len(self.draws), "parameters": [name for name, _ in self.draws[0]],
                "assignment": "run i of every strategy uses draw (i mod n_draws)"}


def load_posterior(fitted: str | Path | None = None) -> Posterior:
    """Read ``fitted.yaml``'s ``posterior_draws`` and the draws CSV it names; UserError if missing."""
    fitted = Path(fitted) if fitted is not None else DEFAULT_FITTED
    hint = "run `bordersim calibrate` first"
    if not fitted.is_file():
        raise UserError(f"--posterior: no calibrated posterior: {fitted} not found; {hint}")
    data = read_yaml_mapping(fitted)
    rel = data.get("posterior_draws")
    if not isinstance(rel, str) or not rel:
        raise UserError(f"{fitted}: posterior_draws: expected the path of the posterior draws CSV "
                        f"(relative to {fitted.name}); {hint}")
    draws_file = fitted.parent / rel
    if not draws_file.is_file():
        raise UserError(f"{fitted}: posterior_draws: file not found: {draws_file}; {hint}")
    try:
        frame = pd.read_csv(draws_file)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UserError(f"{draws_file}: not a readable CSV of posterior draws ({exc})") from None
    columns = [c for c in frame.columns if c not in NON_PARAMETER_COLUMNS]
    if frame.empty or not columns:
        raise UserError(f"{draws_file}: no posterior draws (expected one column per parameter, one row per draw)")
    rows = []
    for i, row in enumerate(frame[columns].itertuples(index=False)):
        values = {c: _number(v, draws_file, i, c) for c, v in zip(columns, row)}
        checked = parameters.checked(values, f"{draws_file}: row {i + 2}")
        rows.append(tuple(sorted(checked.items())))
    episodes = tuple(str(e) for e in ((data.get("made_by") or {}).get("episodes") or ()))
    return Posterior(fitted, draws_file, tuple(rows), episodes)


def _number(value: Any, path: Path, i: int, column: str) -> Any:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if math.isnan(float(value)):
            raise UserError(f"{path}: row {i + 2}, column {column}: missing value")
        return float(value)
    return value  # parameters.checked reports the wrong type
