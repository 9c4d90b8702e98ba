"""Outcome tables as analysts read them: one value a column, clean column names, events that never happened
marked as such, and the bulky hourly series in Parquet.

The engine names a district's peak displacement ``peak_displaced[<district>]`` (the name a calibration target
uses); a table has instead one row per run and district (``districts.csv``), so that no column name carries
data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from sim.engine.outcomes import EVENT_TIMES, happened_output, output_district
from sim.input.geography import SIDES, Geography

SERIES_FILE = "series.parquet"
"""The hourly series of a results folder (one row per run and hour): Parquet, several MB as CSV."""
LEGACY_SERIES_FILE = "series.csv"
"""Where results folders written before the Parquet series keep it; still read."""


def with_happened(summary: pd.DataFrame) -> pd.DataFrame:
    """The run table with a 0/1 ``happened_<event>`` column for every timed outcome it has (an empty hours
    cell then reads as 'never happened', not 'missing')."""
    out = summary.copy()
    for timing in EVENT_TIMES:
        if timing in out.columns:
            out[happened_output(timing)] = out[timing].notna().astype(int)
    return out


def split_districts(summary: pd.DataFrame, geography: Geography,
                    keys: Sequence[str] = ("run",)) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The run table without its per-district columns, and those columns in long form: one row per run and
    district with ``keys``, ``district``, ``side`` and ``peak_displaced``."""
    columns = {c: output_district(c) for c in summary.columns}
    district_columns = [c for c, d in columns.items() if d is not None]
    side_of = _district_sides(geography)
    long = summary.melt(id_vars=list(keys), value_vars=district_columns, var_name="district",
                        value_name="peak_displaced")
    long["district"] = long["district"].map(columns)
    long.insert(len(keys) + 1, "side", long["district"].map(side_of))
    long = long.sort_values([*keys, "district"], kind="stable").reset_index(drop=True)
    return summary.drop(columns=district_columns), long


def _district_sides(geography: Geography) -> dict[str, str]:
    """The side of each district's villages ('both' for a district named on both sides)."""
    sides: dict[str, set[str]] = {}
    for district, side in zip(geography.village_district, geography.village_side):
        sides.setdefault(district, set()).add(SIDES[int(side)])
    return {d: s.pop() if len(s) == 1 else "both" for d, s in sides.items()}


def write_series(series: pd.DataFrame, folder: Path) -> Path:
    path = Path(folder) / SERIES_FILE
    series.to_parquet(path, index=False)
    return path


def read_series(folder: Path) -> pd.DataFrame:
    """A results folder's hourly series: Parquet, or the CSV of a folder written before it."""
    folder = Path(folder)
    if (folder / SERIES_FILE).is_file():
        return pd.read_parquet(folder / SERIES_FILE)
    return pd.read_csv(folder / LEGACY_SERIES_FILE)


def has_series(folder: Path) -> bool:
    return any((Path(folder) / name).is_file() for name in (SERIES_FILE, LEGACY_SERIES_FILE))
