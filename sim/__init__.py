"""bordersim: an agent-based simulation of the Kyrgyz–Tajik border (Batken / Sughd).

Library entry points::

    from sim import BorderModel, load_scenario
    model = BorderModel("scenarios/sept2022.yaml", seed=1)
    model.run_model()

Both are imported on first use, so that the command line starts (and installs its interrupt handling) before
the heavy libraries load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.input.scenario import load_scenario
    from sim.model import BorderModel

__all__ = ["BorderModel", "load_scenario"]


def __getattr__(name: str) -> Any:
    if name == "BorderModel":
        from sim.model import BorderModel

        return BorderModel
    if name == "load_scenario":
        from sim.input.scenario import load_scenario

        return load_scenario
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
