"""The browser app: ``solara run sim/app.py`` (needs the ``viz`` extra), then open http://localhost:8765.

A run of a scenario in Mesa's Solara visualisation: pick a scenario, a mediation strategy and a seed, scale
the main rates of the model, and watch the map (each segment's level now, each village emptying as its
people leave) and the escalation curves fill in. The model knows nothing of this file.

Speed: a frame is drawn every few simulated hours ("Render Interval", default :data:`HOURS_PER_FRAME`), so
a week of a war plays in about half a minute; the sidebar's sliders change that.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import solara
import yaml
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz, solara_viz
from mesa.visualization.utils import update_counter

from sim.core.ladder import LABELS, N_RUNGS, Rung
from sim.input.parameters import SPECS
from sim.model import DEFAULT_SCENARIO, BorderModel
from sim.output.maps import BorderMap, draw_panel, level_legend
from sim.output.plots import SIDE_COLOURS

SCENARIO_DIR = DEFAULT_SCENARIO.parent
AS_IN_SCENARIO = "as in the scenario"
HOURS_PER_FRAME = 6
"""Simulated hours between two frames: 28 frames for a week."""

RATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "escalation": ("Escalation: climbing the ladder", ("escalate_rate", "retaliate_rate")),
    "spread": ("Spread along the line", ("spread_rate",)),
    "ceasefire": ("Talks and agreement", ("talks_open_rate", "agree_rate")),
    "mediation": ("Mediators' instruments", ("call_strength", "broker_strength", "summit_strength",
                                             "monitor_strength", "commission_strength", "delimitation_strength")),
    "evacuation": ("Evacuation: how fast villages leave", ("evacuation_rate",)),
}
"""The controls scaling the model's main rates: each is a factor on the scenario's own values (1 = as
calibrated) of the parameters it names."""


def scenarios(folder: Path = SCENARIO_DIR) -> dict[str, Path]:
    """The scenario files of a folder (YAML files that name a geography), by file name."""
    found = {}
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "geography" in data:
            found[path.stem] = path
    return found


def strategies(scenario_files: dict[str, Path], folder: Path = SCENARIO_DIR / "strategies") -> list[str]:
    """The strategy names offered: the scenario's own first, then ``none`` and every shipped strategy that
    every offered scenario can run (a strategy written for the multi-year delimitation record acts after a
    week-long scenario has ended, which a scenario refuses)."""
    from sim.errors import UserError
    from sim.input.scenario import load_scenario

    def fits_all(name: str) -> bool:
        try:
            for path in scenario_files.values():
                load_scenario(path, name)
        except UserError:
            return False
        return True

    return [AS_IN_SCENARIO, *sorted(n for n in {"none", *(p.stem for p in folder.glob("*.yaml"))} if fits_all(n))]


SCENARIOS = scenarios()


class AppModel(BorderModel):
    """A :class:`BorderModel` built from the app's controls: a scenario by name, a strategy name or
    :data:`AS_IN_SCENARIO`, a seed as typed, and factors on the main rates (:data:`RATES`)."""

    def __init__(self, scenario: str = DEFAULT_SCENARIO.stem, strategy: str = AS_IN_SCENARIO,
                 seed: Any = 1, **kwargs: float) -> None:
        # the factors arrive as **kwargs: Mesa's parameter check accepts a catch-all only by that name
        from sim.input.scenario import load_scenario

        loaded = load_scenario(SCENARIOS.get(scenario, DEFAULT_SCENARIO),
                               None if strategy == AS_IN_SCENARIO else strategy)
        overrides = {name: _scaled(loaded.params[name], float(factor))
                     for key, factor in kwargs.items() if float(factor) != 1.0 for name in RATES[key][1]}
        super().__init__(loaded, seed=int(seed), **overrides)


def _scaled(value: Any, factor: float) -> Any:
    return tuple(v * factor for v in value) if isinstance(value, tuple) else value * factor


model_params: dict[str, Any] = {
    "scenario": {"type": "Select", "value": DEFAULT_SCENARIO.stem, "values": list(SCENARIOS), "label": "Scenario"},
    "strategy": {"type": "Select", "value": AS_IN_SCENARIO, "values": strategies(SCENARIOS), "label": "Mediation strategy"},
    "seed": {"type": "InputText", "value": 1, "label": "Seed"},
    **{key: {"type": "SliderFloat", "value": 1.0, "min": 0.25, "max": 4.0, "step": 0.25, "label": f"{label} (×)"}
       for key, (label, _) in RATES.items()},
}
assert all(name in SPECS for _, names in RATES.values() for name in names)

_maps: dict[Path, BorderMap] = {}


def border_map(model: BorderModel) -> BorderMap:
    """The projected map of a model's geography, made once per geography file."""
    path = model.geography.path
    if path not in _maps:
        _maps[path] = BorderMap(model.geography)
    return _maps[path]


def draw_state(model: BorderModel) -> Figure:
    """The map of a model's current state: segments by their level now; each village's marker shrinks as its
    people leave (and is outlined in black once a civilian has been killed there)."""
    bmap = border_map(model)
    geo = model.geography
    state = model.sim.state
    levels = dict(zip(geo.segment_ids, (int(r) for r in state.rung[0])))
    sizes = {}
    for i, vid in enumerate(geo.village_ids):
        pop = float(geo.village_population[i])
        present = max(pop - float(state.displaced[0, i]) - float(state.civilian_dead[0, i]), 0.0)
        sizes[vid] = 6 + 40 * (present / 10000) ** 0.5
    fig = Figure(figsize=(12, 5.6))
    FigureCanvasAgg(fig)  # the labels are placed by measuring their text, which needs a renderer
    ax_main = fig.add_axes((0.01, 0.02, 0.80, 0.90))
    ax_legend = fig.add_axes((0.82, 0.02, 0.17, 0.90))
    draw_panel(ax_main, bmap, bmap.main, levels, set(bmap.groups[0]), _labelled(bmap), numbers=False,
               sizes=sizes)
    ax_main.set_title(f"hour {model.hour:g} ({model.scenario.spec.start + timedelta(hours=model.hour):%d %b %H:%M}): "
                      f"{model.total_deaths()} dead, {sum(model.displaced_by_side()):,} displaced", fontsize=10)
    ax_legend.axis("off")
    level_legend(ax_legend, "level now")
    return fig


def _labelled(bmap: BorderMap) -> list[str]:
    return [p.id for p in bmap.geo.spec.places if p.kind in ("town", "exclave") or p.population >= 20000]


@solara.component
def MapView(model: BorderModel) -> None:
    """The map layer (a Solara component Mesa redraws every frame)."""
    update_counter.get()
    with solara.Column(classes=["bordersim-map"]):
        solara.FigureMatplotlib(draw_state(model), format="png", dpi=80)


def draw_curves(model: BorderModel) -> Figure:
    """The escalation curves of the run so far: level and segments under fire, deaths and displaced by side."""
    frame = model.datacollector.get_model_vars_dataframe()
    hours = frame["hour"] if len(frame) else []
    fig = Figure(figsize=(12, 3.0), layout="constrained")
    axes = fig.subplots(1, 3)
    axes[0].step(hours, frame["max_rung"], where="post", color="#7f0000", label="highest level")
    axes[0].set_yticks(range(N_RUNGS), [LABELS[Rung(r)] for r in range(N_RUNGS)], fontsize=7)
    axes[0].set_ylim(-0.2, N_RUNGS - 0.8)
    twin = axes[0].twinx()
    twin.plot(hours, frame["armed_segments"], color="#f98c0a", lw=1, label="segments under armed fire")
    twin.set_ylim(0, max(model.geography.n_segments, 1))
    twin.tick_params(labelsize=7)
    axes[0].set_title("level (left), segments under armed fire (right, orange)", fontsize=8)
    for side in ("kg", "tj"):
        colour = SIDE_COLOURS[side.upper()]
        axes[1].plot(hours, frame[f"deaths_{side}_military"] + frame[f"deaths_{side}_civilian"], color=colour,
                     label=f"{side.upper()} all")
        axes[1].plot(hours, frame[f"deaths_{side}_civilian"], color=colour, ls=":", label=f"{side.upper()} civilians")
        axes[2].plot(hours, frame[f"displaced_{side}"], color=colour, label=side.upper())
    axes[1].set_title("deaths", fontsize=8)
    axes[2].set_title("people displaced", fontsize=8)
    for ax in axes:
        ax.set_xlim(0, model.n_steps * model.dt)
        ax.set_xlabel("hours from the start", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes[1:]:
        ax.legend(fontsize=7, loc="upper left")
    return fig


@solara.component
def CurvesView(model: BorderModel) -> None:
    """The escalation curves (a Solara component Mesa redraws every frame)."""
    update_counter.get()
    with solara.Column(classes=["bordersim-curves"]):
        solara.FigureMatplotlib(draw_curves(model), format="png", dpi=80)


def _full_width_layout(num_components: int) -> list[dict[str, Any]]:
    """Each component across the page's width, one under the other, the map (first) taller.

    Why: Mesa's grid puts components two to a row at half the width, too narrow for a map of the border."""
    layout, y = [], 0
    for i in range(num_components):
        h = 12 if i == 0 else 9
        layout.append({"i": i, "w": 12, "h": h, "moved": False, "x": 0, "y": y})
        y += h
    return layout


solara_viz.make_initial_grid_layout = _full_width_layout


def make_page(model: BorderModel):
    """The page for a model (the test renders it with a small scenario)."""
    return SolaraViz(model, components=[(MapView, 0), (CurvesView, 0)], model_params=model_params,
                     name="bordersim: Kyrgyz–Tajik border", play_interval=20, render_interval=HOURS_PER_FRAME)


page = make_page(AppModel())
