"""Random draws that belong to one run, whatever batch it is simulated in.

Every uniform number of a run is a pure function of four things: the run's key (from its seed), the step,
the rule's stream and the slot (which segment, side or village the draw is for). It is computed by a
counter-based generator: the SplitMix64 output function over a per-(run, step, stream) starting point.
Because nothing is carried from one draw to the next, run *i* gets the same numbers alone, inside a batch
of a thousand, in another process or on a Dask worker, and a rule that skips the slots it does not need
(calm segments, empty villages) changes no other draw. Two strategies run with the same seed see the same
numbers in every slot: common random numbers come for free.

Poisson and binomial numbers are drawn by inverting their distribution function at one uniform each
(exactly, by summing the probability mass); where the mean is large (over ``NORMAL_ABOVE``) the normal
approximation with continuity correction is used instead, which is indistinguishable at those means.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

MASK64 = (1 << 64) - 1
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)
TO_UNIT = 2.0 ** -53
NORMAL_ABOVE = 60.0
"""Mean above which Poisson and binomial draws use the normal approximation instead of exact inversion."""


class Stream:
    """The random stream of each rule: a fixed number, so adding a rule never shifts another's draws."""

    INCIDENTS = 0
    ESCALATION = 1
    SPREAD = 2
    FRONT = 3
    # 4: unused (a retired rule's); the numbers of the others stay as they were, and so do their draws
    VIOLATIONS = 5
    MILITARY = 6
    CIVILIANS = 7
    CROWDS = 8
    INCURSIONS = 9
    CEASEFIRE = 10
    ORDERS = 11
    COUNT = 12


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function, in place on a uint64 array (wrapping arithmetic)."""
    z ^= z >> np.uint64(30)
    z *= MIX1
    z ^= z >> np.uint64(27)
    z *= MIX2
    z ^= z >> np.uint64(31)
    return z


def run_keys(seeds: np.ndarray | list[int]) -> np.ndarray:
    """Each run's 64-bit key (uint64[R]) from its seed, through ``numpy.random.SeedSequence``."""
    return np.array([np.random.SeedSequence(int(s)).generate_state(1, dtype=np.uint64)[0] for s in seeds],
                    dtype=np.uint64)


class StepDraws:
    """The uniform numbers of one step for a batch of runs.

    ``uniform(stream, shape)`` gives float[R, *shape] (every slot); ``uniform_at(stream, runs, slots)`` gives
    the numbers of the listed (run, flat slot) pairs only, equal to the same entries of the dense call."""

    def __init__(self, keys: np.ndarray, step: int) -> None:
        self.keys = keys
        self.step = step
        self.runs = keys.size
        self._base: dict[int, np.ndarray] = {}

    def base(self, stream: int) -> np.ndarray:
        """uint64[R]: a pseudo-random starting point per run for this step and stream (made when first used)."""
        start = self._base.get(stream)
        if start is None:
            start = self._base[stream] = _mix(self.keys ^ _step_counter(self.step, stream))
        return start

    def uniform(self, stream: int, shape: tuple[int, ...]) -> np.ndarray:
        n = math.prod(shape)
        z = self.base(stream)[:, None] + _offsets(n)[None, :]
        return _to_unit(_mix(z)).reshape((self.runs, *shape))

    def uniform_at(self, stream: int, runs: np.ndarray, slots: np.ndarray) -> np.ndarray:
        z = self.base(stream)[runs] + (slots.astype(np.uint64) + np.uint64(1)) * GOLDEN
        return _to_unit(_mix(z))


_COUNTERS: list[np.ndarray] = []


def _step_counter(step: int, stream: int) -> np.uint64:
    """The mixed counter of a (step, stream) pair, shared by every run (tabulated as steps are reached)."""
    while len(_COUNTERS) <= step:
        k = len(_COUNTERS)
        counters = (np.uint64(k) * np.uint64(Stream.COUNT) + np.arange(Stream.COUNT, dtype=np.uint64)) * GOLDEN
        _COUNTERS.append(_mix(counters))
    return _COUNTERS[step][stream]


_OFFSETS: dict[int, np.ndarray] = {}


def _offsets(n: int) -> np.ndarray:
    """uint64[n]: each slot's offset from the (run, step, stream) starting point (cached by length)."""
    table = _OFFSETS.get(n)
    if table is None:
        table = _OFFSETS[n] = np.arange(1, n + 1, dtype=np.uint64) * GOLDEN
    return table


def _to_unit(z: np.ndarray) -> np.ndarray:
    return (z >> np.uint64(11)).astype(np.float64) * TO_UNIT


def normal_quantile(u: np.ndarray) -> np.ndarray:
    """The standard normal quantile at ``u`` in (0, 1) (Acklam's rational approximation, |error| < 1.2e-9)."""
    a = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
         -3.066479806614716e+01, 2.506628277459239e+00)
    b = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
         -1.328068155288572e+01)
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
         4.374664141464968e+00, 2.938163982698783e+00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00)
    u = np.clip(u, 1e-300, 1.0 - 1e-16)
    out = np.empty_like(u)
    low, high = u < 0.02425, u > 1 - 0.02425
    mid = ~(low | high)
    q = u[mid] - 0.5
    r = q * q
    out[mid] = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1))
    for mask, sign, p in ((low, 1.0, u[low]), (high, -1.0, 1.0 - u[high])):
        q = np.sqrt(-2 * np.log(p))
        out[mask] = sign * ((((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                            / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1))
    return out


def _invert(u: np.ndarray, pmf0: np.ndarray, next_pmf: Callable[[np.ndarray, np.ndarray, int], np.ndarray],
            args: np.ndarray, limit: int, trials: np.ndarray | None = None) -> np.ndarray:
    """Inverse of a discrete distribution function at ``u``: the least k whose cumulative mass reaches u.

    ``pmf0`` is the mass at 0 and ``next_pmf(pmf, args, k)`` the mass at k from the mass at k - 1; ``args``
    holds each element's parameters along its last axis. Elements drop out as they are decided, so the work
    follows the draws (most are 0 or 1), and each element's sums are exactly those of a plain loop.
    ``trials`` caps k (a binomial's n)."""
    k = np.zeros(u.shape, dtype=np.int64)
    pos = np.flatnonzero(u > pmf0)
    pmf, cdf, v, a = pmf0[pos], pmf0[pos], u[pos], args[..., pos]
    cap = None if trials is None else trials[pos]
    for i in range(1, limit):
        if cap is not None:
            keep = np.flatnonzero(cap >= i)
            pos, pmf, cdf, v, a, cap = pos[keep], pmf[keep], cdf[keep], v[keep], a[..., keep], cap[keep]
        if pos.size == 0:
            break
        k[pos] += 1
        pmf = next_pmf(pmf, a, i)
        cdf = cdf + pmf
        keep = np.flatnonzero(v > cdf)
        pos, pmf, cdf, v, a = pos[keep], pmf[keep], cdf[keep], v[keep], a[..., keep]
        if cap is not None:
            cap = cap[keep]
    return k


def poisson(mean: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Poisson numbers (int64) with the given means, one uniform each (same shapes)."""
    mean = np.asarray(mean, dtype=np.float64)
    out = np.zeros(mean.shape, dtype=np.int64)
    small = (mean > 0) & (mean <= NORMAL_ABOVE)
    if small.any():
        lam = mean[small]
        out[small] = _invert(u[small], np.exp(-lam), lambda pmf, lam_, i: pmf * lam_ / i, lam,
                             int(lam.max() + 12 * np.sqrt(lam.max()) + 30))
    big = mean > NORMAL_ABOVE
    if big.any():
        lam = mean[big]
        out[big] = np.maximum(np.floor(lam + np.sqrt(lam) * normal_quantile(u[big]) + 0.5), 0).astype(np.int64)
    return out


def binomial(n: np.ndarray, p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Binomial numbers (int64) of ``n`` trials at probability ``p``, one uniform each (broadcast to ``u``)."""
    n = np.broadcast_to(np.asarray(n, dtype=np.int64), u.shape)
    p = np.broadcast_to(np.asarray(p, dtype=np.float64), u.shape)
    out = np.zeros(u.shape, dtype=np.int64)
    live = (n > 0) & (p > 0)
    if not live.any():
        return out
    nn, pp, v = n[live], np.minimum(p[live], 1.0), u[live]
    flip = pp > 0.5  # draw the failures instead (at 1 - u, so the draw still grows with u): a shorter tail
    q = np.where(flip, 1.0 - pp, pp)
    v = np.where(flip, 1.0 - v, v)
    k = np.zeros(nn.shape, dtype=np.int64)
    mean = nn * q
    exact = mean <= NORMAL_ABOVE
    if exact.any():
        ne, qe = nn[exact].astype(np.float64), q[exact]
        odds = qe / np.maximum(1.0 - qe, 1e-300)
        pmf = np.where(qe < 1.0, np.exp(ne * np.log1p(-np.minimum(qe, 1 - 1e-16))), 0.0)
        top = mean[exact].max()
        k[exact] = _invert(v[exact], pmf,
                           lambda pmf_, a, i: pmf_ * (a[0] - i + 1) / i * a[1], np.stack([ne, odds]),
                           int(top + 12 * np.sqrt(top) + 30), trials=ne)
    if (~exact).any():
        m, nb, qb = mean[~exact], nn[~exact], q[~exact]
        draw = np.floor(m + np.sqrt(m * (1.0 - qb)) * normal_quantile(v[~exact]) + 0.5)
        k[~exact] = np.clip(draw, 0, nb).astype(np.int64)
    out[live] = np.where(flip, nn - k, k)
    return out
