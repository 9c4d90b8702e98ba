"""Shared fixtures: the small test border and the repository's scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.model import BorderModel
from sim.scenario import Scenario, load_scenario

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
