"""BorderModel: one run of a scenario as a Mesa model.

The model advances the batched engine (``sim.engine``) with a batch of one, so a run through
``BorderModel``, ``mesa.batch_run`` or the Solara app gives exactly the outputs of the same seed in an
ensemble. Its agents (villages, border posts, governments, mediators) are handles onto the engine's state;
its DataCollector records the per-step series (``sim.engine.outcomes.METRICS``). The order of the rules
within a step is ``sim.engine.schedule``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from sim.agents import BorderPost, Government, Mediator, Village
from sim.core.state import BatchState
from sim.engine.batch import Simulation
from sim.engine.outcomes import METRICS, measure, phase_names, rows, summarise as summarise_batch
from sim.errors import warn_if_unguarded_main
from sim.input import builtin
from sim.input.geography import SIDES
from sim.input.scenario import Scenario, load_scenario
from sim.rules import ceasefire as ceasefire_rules
from sim.rules.ceasefire import NO_CHANGE, Phase

DEFAULT_SCENARIO = builtin.DEFAULT_SCENARIO


class RunState:
    """Run 0 of a batch's state: ``view.tension`` is ``batch.tension[0]`` (a view: writing it writes the
    batch); assigning an attribute writes into the batch's array."""

    def __init__(self, batch: Simulation) -> None:
        object.__setattr__(self, "_sim", batch)

    @property
    def _batch(self) -> BatchState:
        return self._sim.state

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._batch, name)
        return value[0] if isinstance(value, np.ndarray) else value

    def __setattr__(self, name: str, value: Any) -> None:
        getattr(self._batch, name)[0] = value

    def refresh_rung(self) -> None:
        self._batch.refresh_rung()


class CeasefireView:
    """The ceasefire machine of run 0 (``sim.rules.ceasefire``): its phase, counters and dated transitions,
    with the history of phases entered (hour, name)."""

    _COUNTS = ("agreements", "violations", "relapses", "collapses")
    _FLAGS = ("collapsed", "rearmed_in_lull")
    _DATES = ("first_talks_hour", "first_agreed_hour", "first_stabilised_hour", "first_withdrawal_hour",
              "last_violation_hour", "last_armed_hour", "last_agreed_hour")

    def __init__(self, batch: Simulation) -> None:
        object.__setattr__(self, "_sim", batch)
        object.__setattr__(self, "history", [])

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._sim.state, name)[0]
        if name == "phase":
            return Phase(int(value))
        if name in self._COUNTS:
            return int(value)
        if name in self._FLAGS:
            return bool(value)
        if name in self._DATES:
            return None if math.isnan(value) else float(value)
        return float(value)

    def __setattr__(self, name: str, value: Any) -> None:
        getattr(self._sim.state, name)[0] = np.nan if value is None else value

    @property
    def in_force(self) -> bool:
        return bool(ceasefire_rules.in_force(self._sim.state)[0])

    def note_heavy_rearmament(self) -> None:
        ceasefire_rules.note_heavy_rearmament(self._sim.state, np.ones(1, dtype=bool))


class BorderModel(mesa.Model):
    """Tension, clashes, ceasefires and mediation on the border of one scenario.

    Args:
        scenario: a loaded :class:`~sim.input.scenario.Scenario`, the path of a scenario YAML file or a shipped
            scenario's name (``"april2021"``); default: the shipped ``sept2022``.
        seed: the run's seed (Mesa convention); the same seed gives the same run in any ensemble.
        rng: a numpy ``Generator`` or seed, instead of ``seed``.
        strategy: a mediation strategy name or path replacing the scenario's own.
        record_series: collect the per-step series in the DataCollector (default).
        **kwargs: model parameters to replace (names from ``sim.input.parameters.SPECS``), which is how
            ``mesa.batch_run`` and sensitivity analyses sweep them.
    """

    def __init__(self, scenario: Scenario | str | Path = DEFAULT_SCENARIO, seed: int | None = None,
                 rng: Any = None, strategy: str | None = None, record_series: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(seed=seed, rng=rng)
        warn_if_unguarded_main()
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario, strategy)
        elif strategy is not None:
            scenario = scenario.with_strategy(strategy)
        if kwargs:
            scenario = scenario.with_params(kwargs)
        self.scenario = scenario
        self.geography = scenario.geography
        self.params = scenario.params
        self.dt = scenario.spec.step_hours
        self.n_steps = scenario.n_steps
        self.record_series = record_series
        self.run_seed = int(seed) if seed is not None else int(self.rng.integers(2**63))
        self.sim = Simulation(scenario, [self.run_seed])
        self.world = self.sim.world
        self.state = RunState(self.sim)
        self.ceasefire = CeasefireView(self.sim)
        self._create_agents()
        self.datacollector = mesa.DataCollector(model_reporters={name: _reporter(name) for name in METRICS})
        self._record()

    def _create_agents(self) -> None:
        geo = self.geography
        places = {p.id: p for p in geo.spec.places}
        for i, vid in enumerate(geo.village_ids):
            Village(self, vid, i, places[vid].side)
        for place in geo.spec.places:
            if place.kind in ("post", "checkpoint"):
                BorderPost(self, place.id, place.side, geo.segments_at(place.id))
        self.government_list = tuple(Government(self, side) for side in SIDES)
        actions = self.world.actions
        self.mediator_list = tuple(
            Mediator(self, mid, self.scenario.registry.get(mid).name,  # type: ignore[union-attr]
                     np.flatnonzero(actions.mediator == m))
            for m, mid in enumerate(actions.mediator_ids))
        self.governments = self.agents_by_type[Government]
        self.mediators = self.agents_by_type.get(Mediator, mesa.agent.AgentSet([], random=self.random))

    @property
    def hour(self) -> float:
        """Hours since the scenario's start at the beginning of the current step."""
        return max(self.steps - 1, 0) * self.dt

    @property
    def onset_hour(self) -> float | None:
        """End hour of the first step with any incident: what every ``hours_*`` outcome counts from."""
        hour = float(self.sim.state.first_hour_at_rung[0, 1])
        return None if math.isnan(hour) else hour

    @property
    def peak_displaced_district(self) -> np.ndarray:
        return self.sim.state.peak_displaced_district[0]

    def total_deaths(self) -> int:
        return int(self.sim.state.total_deaths()[0])

    def displaced_by_side(self) -> tuple[int, int]:
        """People displaced now from KG and from TJ villages."""
        kg, tj = self.sim.state.displaced_by_side(self.world)[0]
        return int(kg), int(tj)

    def step(self) -> None:
        entered = int(self.sim.advance()[0])
        if entered != NO_CHANGE:
            self.ceasefire.history.append((self.sim.state.step * self.dt, Phase(entered).name.lower()))
        if self.sim.done:
            self.running = False
        self._record()

    def summary(self) -> dict[str, Any]:
        """The run's scalar outcomes so far (``sim.engine.outcomes.OUTCOMES`` and the per-district peaks)."""
        return summarise(self)

    def _record(self) -> None:
        if self.record_series:
            metrics = measure(self.sim.state, self.world)
            self.metrics = {name: values[0].item() for name, values in metrics.items()}
            self.metrics["ceasefire_phase"] = str(phase_names(self.metrics["ceasefire_phase"]))
            self.datacollector.collect(self)


def _reporter(name: str):
    return lambda model: model.metrics[name]


def summarise(model: BorderModel) -> dict[str, Any]:
    """A model's scalar outcomes so far, as plain Python values."""
    return rows(summarise_batch(model.sim.state, model.world, model.geography.districts))[0]
