"""Shared fixtures: the small test border and the repository's scenarios."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim.input.scenario import Scenario, load_scenario
from sim.model import BorderModel

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"


@pytest.fixture(scope="session")
def mini() -> Scenario:
    return load_scenario(DATA / "mini.yaml")


def finished(scenario: Scenario | Path | str, seed: int, **kwargs) -> BorderModel:
    """A model run to the end of its scenario."""
    model = BorderModel(scenario, seed=seed, **kwargs)
    model.run_model()
    return model


def _changing_governments(scenario: Scenario, changes: dict[str, dict[str, Any]]) -> Scenario:
    """The scenario with the given fields of each named government (KG, TJ) changed."""
    govs = scenario.spec.governments
    update = {side: getattr(govs, side).model_copy(update=fields) for side, fields in changes.items()}
    spec = scenario.spec.model_copy(update={"governments": govs.model_copy(update=update)})
    return dataclasses.replace(scenario, spec=spec)


def with_governments(scenario: Scenario, kg: tuple[str, str], tj: tuple[str, str]) -> Scenario:
    """The scenario with other (authorised, arsenal) levels for the two governments."""
    return _changing_governments(scenario, {"KG": {"authorised": kg[0], "arsenal": kg[1]},
                                            "TJ": {"authorised": tj[0], "arsenal": tj[1]}})


def write_posterior(folder: Path, rows: dict[str, list[float]]) -> Path:
    """A calibration file in ``folder``: ``values`` = the draws' medians, ``posterior_draws`` = the draws CSV."""
    draws = pd.DataFrame(rows)
    (folder / "draws").mkdir()
    draws.to_csv(folder / "draws" / "posterior.csv", index=False)
    fitted = folder / "fitted.yaml"
    median = {k: float(np.median(v)) for k, v in draws.items()}
    fitted.write_text("values:\n" + "".join(f"  {k}: {v}\n" for k, v in median.items())
                      + "posterior_draws: draws/posterior.csv\n")
    return fitted


def on_the_offensive(scenario: Scenario, *sides: str) -> Scenario:
    """The scenario with the named governments on the offensive (sim/incursion.py)."""
    return _changing_governments(scenario, {side: {"offensive": True} for side in sides})


def assert_summaries_equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    """Two batches' summaries (``sim.engine.outcomes.summarise``) are identical, NaN where both never happened."""
    assert a.keys() == b.keys()
    for name in a:
        if a[name].dtype.kind == "f":
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)
        else:
            assert a[name].tolist() == b[name].tolist(), name


def three_mini_episodes(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A targets file of three episodes A, B, C on the mini border (0, 1 and 3 Kyrgyz dead, small arms at most),
    for protocols that need several episodes; returns its path and the episodes it holds."""
    import yaml

    spec = yaml.safe_load((DATA / "mini.yaml").read_text())
    spec.update(geography=str(DATA / "mini_geography.yaml"), mediators=str(DATA / "mediators.yaml"),
                strategy=str(DATA / "strategies" / "none.yaml"))
    scenario = tmp_path / "mini.yaml"
    scenario.write_text(yaml.safe_dump(spec, sort_keys=False))
    episodes = {}
    for eid, dead in (("A", 0), ("B", 1), ("C", 3)):
        episodes[eid] = {"title": eid, "scenario": str(scenario), "targets": {
            "deaths_kg": {"output": "deaths_kg", "point": dead, "range": [0, dead + 1], "sources": ["t"]},
            "max_rung": {"output": "max_rung", "point": 2, "range": [1, 3], "sources": ["t"]}}}
    path = tmp_path / "episodes.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "episodes": episodes}))
    return path, episodes
