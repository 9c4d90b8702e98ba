"""The model as pyabc's ABC-SMC sees it, giving up on particles that can no longer be accepted.

Imported only by :func:`sim.calibration.fit.fit`, because pyabc is an optional dependency.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import pyabc
from pyabc.model import ModelResult

from sim.calibration.simulator import Simulator


class EarlyRejectingModel(pyabc.Model):
    """A pyabc model that stops simulating a particle once its distance must exceed the current epsilon.

    Why: with a calm year among the targets, one simulation costs 10-20 episode runs, yet in later generations
    most particles are already rejected on the short episodes. The distance is a sum of non-negative terms
    and the cumulative outputs' terms only grow once past their point (:func:`sim.calibration.targets.distance_lower_bound`),
    so :meth:`Simulator.simulate` can stop as soon as the lower bound passes epsilon. Accepted particles are
    always simulated in full, so the posterior is the one the plain model would give; only the time differs.
    pyabc's prior sample (for the first epsilon) uses :meth:`sample`, the full simulation.
    """

    def __init__(self, simulator: Simulator) -> None:
        super().__init__(name="bordersim")
        self.simulator = simulator

    def sample(self, pars: Any) -> dict[str, float]:
        return self.simulator(pars)

    def accept(self, t: int, pars: Any, sum_stat_calculator: Callable, distance_calculator: Any,
               eps_calculator: Any, acceptor: Any, x_0: dict) -> ModelResult:
        sum_stat, complete = self.simulator.simulate(pars, float(eps_calculator(t)))
        if not complete:
            return ModelResult(sum_stat=sum_stat, distance=math.inf, accepted=False)  # only known to exceed eps
        verdict = acceptor(distance_function=distance_calculator, eps=eps_calculator, x=sum_stat, x_0=x_0, t=t,
                           par=pars)
        return ModelResult(sum_stat=sum_stat, distance=verdict.distance, accepted=verdict.accept,
                           weight=verdict.weight)
