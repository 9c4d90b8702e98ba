"""The model runs unmodified inside Mesa's Solara visualisation."""

from __future__ import annotations

import pytest

solara = pytest.importorskip("solara")
pytest.importorskip("altair")


def test_solara_page_renders_and_steps_the_model():
    from sim.app import make_page
    from sim.model import BorderModel
    from tests.conftest import DATA

    model = BorderModel(DATA / "mini.yaml", seed=1)
    box, rc = solara.render(make_page(model), handle_error=False)
    assert box is not None
    for _ in range(5):
        model.step()
    assert model.steps == 5
