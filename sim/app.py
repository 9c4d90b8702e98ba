"""Mesa's browser visualisation of a run: ``solara run sim/app.py`` (needs the ``viz`` extra).

UI only: the model knows nothing of this file. The page steps a :class:`BorderModel` and plots its
DataCollector series live: the escalation level and armed segments, deaths by side, people displaced.
"""

from __future__ import annotations

from mesa.visualization import SolaraViz, make_plot_component

from sim.model import DEFAULT_SCENARIO, BorderModel

STRATEGIES = ["documented_2022", "none", "russia_early_call", "csto_monitors", "un_osce_joint_commission",
              "combined_early", "delimitation_push"]

model_params = {
    "scenario": str(DEFAULT_SCENARIO),
    "seed": {"type": "InputText", "value": 1, "label": "Seed"},
    "strategy": {"type": "Select", "value": STRATEGIES[0], "values": STRATEGIES, "label": "Mediation strategy"},
}

escalation = make_plot_component({"max_rung": "#7f0000", "armed_segments": "#e34a33"})
deaths = make_plot_component({"deaths_kg_military": "#d62728", "deaths_kg_civilian": "#ff9896",
                              "deaths_tj_military": "#2ca02c", "deaths_tj_civilian": "#98df8a"})
displaced = make_plot_component({"displaced_kg": "#d62728", "displaced_tj": "#2ca02c"})


def make_page(model: BorderModel):
    return SolaraViz(model, components=[escalation, deaths, displaced], model_params=model_params,
                     name="bordersim: Kyrgyz–Tajik border")


page = make_page(BorderModel(DEFAULT_SCENARIO, seed=1, strategy=STRATEGIES[0]))
