"""bordersim: an agent-based simulation of the Kyrgyz–Tajik border (Batken / Sughd).

Library entry points::

    from sim import BorderModel, load_scenario
    model = BorderModel("scenarios/sept2022.yaml", seed=1)
    model.run_model()
"""

from sim.input.scenario import load_scenario
from sim.model import BorderModel

__all__ = ["BorderModel", "load_scenario"]
