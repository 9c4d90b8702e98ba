"""What a job will cost before it starts: time, memory and disk, stated for large jobs and refused when they
cannot fit on this machine.

The figures are rough, from measurements of ``sept2022`` (289 steps, 66 places) on one core: about 50 µs of
compute per run and step, about 900 bytes of memory per run and step held by ``bordersim run`` until its
tables are written (the hourly series, its copies and its text times), about 111 bytes per run and step of
``series.csv``, and for ``compare`` three curves per run kept in memory (about 110 bytes per step) and
checkpointed (about 20 bytes per step). Cost grows with the number of places; the estimate scales it
linearly, which overstates it for large geographies rather than understating it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sim.errors import UserError
from sim.input.limits import ALLOW_LARGE
from sim.output.guard import human_bytes
from sim.progress import say

SECONDS_PER_RUN_STEP = 50e-6
REFERENCE_PLACES = 66
BASE_MEMORY = 250e6
"""The command itself: the interpreter, numpy, pandas, matplotlib, the scenario."""


@dataclass(frozen=True)
class Cost:
    """Per run and step: bytes kept in memory and bytes written."""

    memory: float
    disk: float


RUN = Cost(memory=900.0, disk=111.0)
COMPARE = Cost(memory=110.0, disk=20.0)

ANNOUNCE_SECONDS = 120.0
ANNOUNCE_BYTES = 1e9
"""Jobs above either figure get their estimate printed before they start."""


@dataclass(frozen=True)
class Estimate:
    seconds: float
    memory: float
    disk: float
    workers: int

    def text(self) -> str:
        return (f"about {_duration(self.seconds)} on {self.workers} process(es), {human_bytes(self.memory)} of "
                f"memory and {human_bytes(self.disk)} on disk")

    @property
    def large(self) -> bool:
        return self.seconds > ANNOUNCE_SECONDS or max(self.memory, self.disk) > ANNOUNCE_BYTES


def estimate(runs: int, steps: int, places: int, workers: int, cost: Cost) -> Estimate:
    """The cost of ``runs`` runs of ``steps`` steps on a geography of ``places`` places."""
    run_steps = float(runs) * float(steps)
    scale = max(1.0, places / REFERENCE_PLACES)
    return Estimate(seconds=run_steps * SECONDS_PER_RUN_STEP * scale / max(1, workers),
                    memory=BASE_MEMORY + run_steps * cost.memory, disk=run_steps * cost.disk, workers=max(1, workers))


def available_memory() -> float | None:
    """Bytes of memory the system can give without swapping (``MemAvailable``), if it says."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(job: Estimate, what: str, quiet: bool = False) -> None:
    """State a large job's estimate, and refuse one whose memory cannot fit on this machine (disk space is
    checked against the output folder's file system when it is claimed, :mod:`sim.output.guard`)."""
    if job.large:
        say(f"{what}: {job.text()}", quiet)
    free = available_memory()
    if free is not None and job.memory > free:
        raise UserError(f"{what}: needs about {human_bytes(job.memory)} of memory and this machine has "
                        f"{human_bytes(free)} available ({job.text()}); ask for fewer runs or a shorter "
                        f"duration (limits are lifted with {ALLOW_LARGE}, memory is not)")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
