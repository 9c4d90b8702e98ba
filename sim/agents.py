"""The Mesa agents: villages, border posts, one government per side, and mediators.

Each agent is a named handle onto its row of the engine's state (``sim.core.state.BatchState``, run 0 of
the model's batch of one): reading an attribute reads the state, setting one writes it. The rules that move
them live in ``sim.rules`` and act on every agent of a kind at once, which is what lets the same rules run
thousands of runs in one batch; the agents are what a user, a DataCollector or a visualisation reads.
"""

from __future__ import annotations

import itertools
import math
import weakref
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.core.ladder import ARMED, CALM
from sim.rules import orders

if TYPE_CHECKING:
    from sim.model import BorderModel


class _CountersByModel(weakref.WeakKeyDictionary):
    """Each model's counter of agent ids, held weakly: a model is freed once its run is over.

    Why: Mesa 3.3 keeps these counters in a class-level ``defaultdict`` keyed by the model itself
    (``mesa.Agent._ids``), so every model that ever created an agent stays in memory with all its arrays
    (mesa#3179, fixed upstream by mesa#3180 after 3.3); a long calibration would grow without bound. Mesa
    versions that no longer read ``_ids`` ignore this attribute."""

    def __getitem__(self, model: object) -> "itertools.count[int]":
        if model not in self:
            self[model] = itertools.count(1)
        return super().__getitem__(model)


class BorderAgent(mesa.Agent):
    """The base of the model's agents: a Mesa agent whose id counter does not keep its model alive."""

    _ids = _CountersByModel()


class Village(BorderAgent):
    """A populated place. Its people are present, displaced or dead; the injured stay present."""

    def __init__(self, model: "BorderModel", place_id: str, index: int, side: str) -> None:
        super().__init__(model)
        self.place_id = place_id
        self.index = index
        self.side = side

    @property
    def population(self) -> int:
        return int(self.model.geography.village_population[self.index])

    @property
    def present(self) -> int:
        return int(self.model.state.present[self.index])

    @property
    def displaced(self) -> int:
        return int(self.model.state.displaced[self.index])

    @property
    def dead(self) -> int:
        return int(self.model.state.civilian_dead[self.index])

    @property
    def injured(self) -> int:
        return int(self.model.state.civilian_injured[self.index])


class BorderPost(BorderAgent):
    """A border-guard post or checkpoint; its level is the heaviest fire its side uses on its segments."""

    def __init__(self, model: "BorderModel", place_id: str, side: str, segments: list[int]) -> None:
        super().__init__(model)
        self.place_id = place_id
        self.side = side
        self.segments = segments

    @property
    def level(self) -> int:
        if not self.segments:
            return CALM
        side = 0 if self.side == "KG" else 1
        return int(self.model.state.posture[side, self.segments].max())


class Government(BorderAgent):
    """A side's government: what it authorises its forces to fire (``sim.rules.orders``)."""

    def __init__(self, model: "BorderModel", side: str) -> None:
        super().__init__(model)
        self.side = side
        self.side_index = 0 if side == "KG" else 1

    def _get(self, name: str) -> np.ndarray:
        return getattr(self.model.state, name)

    @property
    def authorised(self) -> int:
        return int(self._get("authorised")[self.side_index])

    @authorised.setter
    def authorised(self, rung: int) -> None:
        self._get("authorised")[self.side_index] = rung

    @property
    def episode_authorised(self) -> int:
        return int(self._get("episode_authorised")[self.side_index])

    @property
    def losses_since_agreement(self) -> float:
        return float(self._get("losses_since_agreement")[self.side_index])

    @losses_since_agreement.setter
    def losses_since_agreement(self, deaths: float) -> None:
        self._get("losses_since_agreement")[self.side_index] = deaths

    @property
    def first_armed_hour(self) -> float | None:
        hour = float(self._get("first_armed_hour")[self.side_index])
        return None if math.isnan(hour) else hour

    @first_armed_hour.setter
    def first_armed_hour(self, hour: float | None) -> None:
        self._get("first_armed_hour")[self.side_index] = np.nan if hour is None else hour

    @property
    def arsenal(self) -> int:
        return int(self.model.world.arsenal[self.side_index])

    @property
    def initial_authorised(self) -> int:
        return int(self.model.world.initial_authorised[self.side_index])

    @property
    def deployed_for_war(self) -> bool:
        """Its forces came into the episode with mortars or heavier authorised (September 2022), rather than
        with the small arms of border guards (April 2021)."""
        return self.initial_authorised > ARMED

    def _only_me(self) -> np.ndarray:
        mask = np.zeros((1, 2), dtype=bool)
        mask[0, self.side_index] = True
        return mask

    def order_ceasefire(self) -> None:
        """Order this side's forces down to L0 (what an agreed ceasefire does)."""
        orders.order_down(self.model.sim.state, self._only_me())

    def stand_down(self) -> None:
        """Peacetime orders again (what the end of an episode does)."""
        orders.restore_peacetime(self.model.sim.state, self.model.world, self._only_me())


class Mediator(BorderAgent):
    """An outside actor (CSTO, Russia, UN, OSCE, …) acting through the instruments its strategy lists
    (``sim.rules.mediation``). Mediators draw no random numbers."""

    def __init__(self, model: "BorderModel", mediator_id: str, name: str, actions: np.ndarray) -> None:
        super().__init__(model)
        self.mediator_id = mediator_id
        self.name = name
        self.actions = actions  # indices of its actions in the strategy

    @property
    def active(self) -> bool:
        """It has started at least one action."""
        return bool((~np.isnan(self.model.state.action_started[self.actions])).any())
