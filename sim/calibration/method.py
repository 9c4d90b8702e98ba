"""Which ABC-SMC implementation a fit runs: pyabc's (``sim.calibration.fit``) or the batched one
(``sim.calibration.smc``), chosen by ``FitSettings.method``."""

from __future__ import annotations

from sim.calibration.fit import FitResult, FitSettings, fit
from sim.calibration.smc import fit_batched
from sim.calibration.targets import TargetSet
from sim.errors import UserError

METHODS = ("pyabc", "batched")


def run_fit(targets: TargetSet, settings: FitSettings) -> FitResult:
    if settings.method == "batched":
        return fit_batched(targets, settings)
    if settings.method == "pyabc":
        return fit(targets, settings)
    raise UserError(f"--method: expected one of {', '.join(METHODS)}, got {settings.method!r}")
