"""Invariants that hold for any seed and any parameters within their prior ranges (hypothesis).

The model runs are truncated to ``STEPS`` steps of the mini scenario to keep this cheap; the scenario's
trigger (an L1 incident at hour 2) makes sure the escalation, casualty and displacement rules all run.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.core.ladder import N_RUNGS, Rung, level_name, parse_level
from sim.core.state import pooled_share
from sim.engine.batch import Simulation
from sim.experiments.ensemble import derive_seeds
from sim.input.parameters import SPECS
from sim.input.scenario import load_scenario
from sim.rules import ceasefire, displacement
from sim.rules.ceasefire import Phase
from tests.conftest import DATA, on_the_offensive, with_governments

STEPS = 48
FITTED = {name: spec for name, spec in SPECS.items() if spec.prior is not None}
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _value(name: str) -> st.SearchStrategy[float]:
    """A value of a fitted parameter drawn within its prior (log-uniform for log priors)."""
    spec = FITTED[name]
    lo, hi = spec.prior  # type: ignore[misc]
    if spec.log_prior and lo > 0:
        return st.floats(math.log(lo), math.log(hi)).map(lambda x: min(max(math.exp(x), lo), hi))
    return st.floats(lo, hi)


PARAMS = st.fixed_dictionaries({name: _value(name) for name in FITTED})
RUN_PARAMS = st.lists(PARAMS, min_size=1, max_size=3)
"""Each run of a batch its own parameters: the invariants hold in every run whatever the others do."""
SEEDS = st.integers(0, 2**32 - 1)
LEVELS = st.sampled_from(["L0", "L1", "L2", "L3", "L4"])
# A scripted incident is capped by each side's arsenal like any other fire, so an arsenal of stones (L0) is
# drawn too: the mini scenario's L1 incident then stays a civil confrontation on that side.
ARSENALS = st.sampled_from(["L0", "L1", "L2", "L3", "L4"])


@pytest.fixture(scope="module")
def mini():
    return load_scenario(DATA / "mini.yaml")


@pytest.fixture(scope="module")
def stones_then_shots():
    return load_scenario(DATA / "mini_crowd.yaml")


def _village_totals(crowd: np.ndarray, home: np.ndarray, villages: int) -> np.ndarray:
    """int[R, V]: the people of each village standing at the line."""
    drawn = np.zeros((crowd.shape[0], villages), dtype=np.int64)
    for side in (0, 1):
        for seg, village in enumerate(home[side]):
            drawn[:, village] += crowd[:, side, seg]
    return drawn


def _check_invariants(sim: Simulation, previous: dict[str, np.ndarray]) -> None:
    s, world = sim.state, sim.world
    population = world.village_population[None, :]
    for name in ("present", "displaced", "civilian_dead", "civilian_injured", "military_dead",
                 "military_injured", "episode_deaths", "crowd"):
        assert (getattr(s, name) >= 0).all(), f"negative {name} at step {s.step}"
    assert (s.incidents >= 0).all() and (s.lethal_incidents >= 0).all()
    assert (s.present + s.displaced + s.civilian_dead == population).all(), "people not conserved"
    assert (s.civilian_dead + s.displaced <= population).all()
    assert (_village_totals(s.crowd, world.nearest_village, world.n_villages) <= s.present).all(), \
        "a crowd outnumbers the people present"
    assert ((s.posture >= Rung.CALM) & (s.posture <= Rung.AIR_MLRS)).all()
    assert ((s.tension >= 0.0) & (s.tension <= 1.0)).all()
    assert (s.rung == s.posture.max(axis=1)).all()
    assert (s.peak_rung >= s.rung).all()
    assert (s.relapses <= s.violations).all() and (s.collapses <= s.violations).all(), \
        "a relapse or collapse without a breach"
    for side, name in enumerate(("KG", "TJ")):
        assert (s.posture[:, side].max(axis=1) <= world.arsenal[side]).all(), f"{name} fires above its arsenal"
        assert (s.authorised[:, side] <= world.arsenal[side]).all()
    for name in ("military_dead", "civilian_dead"):
        now = getattr(s, name).copy()
        assert (now >= previous[name]).all(), f"cumulative {name} decreased at step {s.step}"
        previous[name] = now
    by_district = world.district_of_village
    peak = s.peak_displaced_district
    assert (s.displaced @ by_district <= peak).all()
    assert (peak <= population @ by_district).all()
    assert (peak >= previous.get("peak_displaced_district", 0)).all(), "a district's peak displaced decreased"
    previous["peak_displaced_district"] = peak.copy()


def _run_checking_invariants(scenario, seed: int, params: list[dict]) -> Simulation:
    """A batch of ``STEPS`` steps, one run per parameter set, checking the invariants before and after each."""
    sim = Simulation(scenario, [seed + i for i in range(len(params))], params)
    previous = {"military_dead": sim.state.military_dead.copy(), "civilian_dead": sim.state.civilian_dead.copy()}
    _check_invariants(sim, previous)
    for _ in range(STEPS):
        sim.advance()
        _check_invariants(sim, previous)
    return sim


@SETTINGS
@given(seed=SEEDS, params=RUN_PARAMS)
def test_invariants_hold_after_every_step(mini, seed, params):
    _run_checking_invariants(mini, seed, params)


@SETTINGS
@given(seed=SEEDS, params=RUN_PARAMS, size=st.integers(0, 20_000), hit=st.floats(0.0, 2.0),
       leave=st.floats(0.0, 2.0))
def test_invariants_hold_with_crowds_at_the_line(stones_then_shots, seed, params, size, hit, leave):
    """Crowds of any size, however hard hit, never break the head count (sim/rules/crowds.py)."""
    crowds = {"crowd_size": size, "crowd_hit_rate": hit, "crowd_disperse_rate": leave}
    _run_checking_invariants(stones_then_shots, seed, [{**p, **crowds} for p in params])


@SETTINGS
@given(seed=SEEDS, params=RUN_PARAMS, sides=st.sampled_from([("KG",), ("TJ",), ("KG", "TJ")]),
       hit=st.floats(0.0, 5.0))
def test_invariants_hold_with_incursions_into_villages(mini, seed, params, sides, hit):
    """An offensive's armour in the villages, however hard it hits, never breaks the head count
    (sim/rules/incursion.py)."""
    scenario = on_the_offensive(with_governments(mini, ("L3", "L4"), ("L3", "L4")), *sides)
    _run_checking_invariants(scenario, seed, [{**p, "incursion_hit_rate": hit} for p in params])


@SETTINGS
@given(seed=SEEDS, params=RUN_PARAMS, kg=st.tuples(LEVELS, ARSENALS), tj=st.tuples(LEVELS, ARSENALS))
def test_no_side_fires_above_its_arsenal(mini, seed, params, kg, tj):
    _run_checking_invariants(with_governments(mini, kg, tj), seed, params)


@given(st.integers(0, N_RUNGS - 1))
def test_level_name_and_parse_level_round_trip(rung):
    name = level_name(rung)
    assert parse_level(name) == rung
    assert parse_level(f"  {name.upper()} ") == rung
    assert parse_level(name.lower()) == rung


@given(st.text(max_size=6))
def test_parse_level_accepts_only_facts_sheet_codes(text):
    valid = {"calm", "l0", "l1", "l2", "l3", "l4"}
    if text.strip().lower() in valid:
        assert level_name(parse_level(text)) == text.strip().upper().replace("CALM", "calm")
    else:
        with pytest.raises(ValueError):
            parse_level(text)


@given(base=st.integers(0, 2**64 - 1), n=st.integers(1, 40), m=st.integers(0, 40))
def test_derive_seeds_is_prefix_stable_and_distinct(base, n, m):
    seeds = derive_seeds(base, n)
    assert len(seeds) == n
    assert len(set(seeds)) == n
    assert all(isinstance(s, int) and 0 <= s < 2**63 for s in seeds)
    assert derive_seeds(base, m) == derive_seeds(base, max(n, m))[:m]
    assert derive_seeds(base, n) == seeds


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_different_base_seeds_give_different_seeds(a, b):
    if a != b:
        assert set(derive_seeds(a, 5)).isdisjoint(derive_seeds(b, 5))


@SETTINGS
@given(rungs=st.lists(st.lists(st.integers(0, 5), min_size=1, max_size=8), min_size=1, max_size=4),
       hours=st.integers(1, 60), dead=st.integers(0, 500))
def test_evacuation_and_return_lose_or_create_nobody(mini, rungs, hours, dead):
    """Whatever the fire and however many have died, evacuation and return move people between present and
    displaced only: their sum stays what it was, and neither is ever negative."""
    sim = Simulation(mini, [0] * len(rungs))
    state = sim.state
    for r, fire in enumerate(rungs):
        state.posture[r, 0] = np.resize(np.array(fire), sim.world.n_segments)
    state.refresh_rung()
    killed = np.minimum(state.present, dead)
    state.present = state.present - killed
    state.civilian_dead = state.civilian_dead + killed
    before = state.present.copy()
    for hour in range(hours):
        returns = np.full(state.runs, hour % 2 == 1)
        displacement.move_people(state, sim.params, sim.world, returns)
    assert (state.present + state.displaced == before).all()
    assert (state.present >= 0).all() and (state.displaced >= 0).all()


@SETTINGS
@given(fires=st.lists(st.lists(st.integers(0, 5), min_size=1, max_size=8), min_size=1, max_size=3),
       low=st.floats(0.0, 1.0), high=st.floats(0.0, 1.0))
def test_a_village_threat_lies_between_its_strongest_segment_and_the_sum(mini, fires, low, high):
    """Whatever the fire, a village's threat is at least its strongest segment's and at most the sum of all
    segments'; it is exactly those at pooling 0 and 1, and never falls as pooling rises."""
    low, high = sorted((low, high))
    poolings = (0.0, low, high, 1.0)
    runs = [(fire, pooling) for fire in fires for pooling in poolings]  # each fire, at each pooling
    sim = Simulation(mini, [0] * len(runs), [{"threat_pooling": pooling} for _, pooling in runs])
    state, world = sim.state, sim.world
    segments = np.arange(world.n_segments)
    for r, (fire, _) in enumerate(runs):
        state.posture[r, 0] = np.resize(np.array(fire), world.n_segments)
    state.refresh_rung()
    threat = displacement.threat(state.rung, sim.params.col("threat_pooling"), world).reshape(len(fires), len(poolings), -1)
    for f in range(len(fires)):
        rung = state.rung[f * len(poolings)]
        per_segment = (rung / 5.0)[:, None] * world.threat_kernel[rung, segments]
        strongest, total = per_segment.max(axis=0), per_segment.sum(axis=0)
        at_zero, at_low, at_high, at_one = threat[f]
        np.testing.assert_allclose(at_zero, strongest, atol=1e-12)
        np.testing.assert_allclose(at_one, total, atol=1e-12)
        assert (at_low >= strongest - 1e-12).all() and (at_high <= total + 1e-12).all()
        assert (at_high >= at_low - 1e-12).all()


class _GivenDraws:
    """Stands in for a step's ``StepDraws``: the same given uniform number for every run and slot."""

    def __init__(self, u: float, runs: int) -> None:
        self.u, self.runs = u, runs

    def uniform(self, stream: int, shape: tuple[int, ...]) -> np.ndarray:
        return np.full((self.runs, *shape), self.u)


def _hours_to_agreement(runs: list[tuple[float, int]], draws: list[float]) -> list[float | None]:
    """Hours from open talks to an agreement for each (``pain_weight``, deaths so far) of a batch, with this
    step-by-step sequence of draws."""
    sim = Simulation(load_scenario(DATA / "mini.yaml"), [0] * len(runs),
                     [{"pain_weight": weight} for weight, _ in runs])
    state = sim.state
    state.phase[:] = Phase.TALKS
    state.military_dead[:, 0] = [deaths for _, deaths in runs]
    agreed: list[float | None] = [None] * len(runs)
    armed = np.ones(len(runs), dtype=bool)
    for hour, u in enumerate(draws, start=1):
        entered = ceasefire.update(state, sim.params, sim.world, _GivenDraws(u, len(runs)), float(hour), armed,
                                   armed)
        for r in np.flatnonzero(entered == Phase.AGREED):
            agreed[r] = agreed[r] if agreed[r] is not None else float(hour)
    return agreed


@given(low=st.floats(0.0, 4.0), extra=st.floats(0.0, 4.0), deaths=st.integers(0, 500),
       draws=st.lists(st.floats(0.0, 1.0, exclude_max=True), min_size=1, max_size=60))
def test_a_heavier_toll_never_delays_an_agreement(low, extra, deaths, draws):
    """The pain rule: with the same draws, a larger ``pain_weight`` (or, at a positive weight, a larger toll)
    agrees no later, and with no deaths the weight changes nothing."""
    slow, fast, bloodier = _hours_to_agreement([(low, deaths), (low + extra, deaths), (low, deaths + 50)], draws)
    if slow is not None:
        assert fast is not None and fast <= slow
    if deaths == 0:
        assert fast == slow
    if low > 0 and slow is not None:
        assert bloodier is not None and bloodier <= slow


@SETTINGS
@given(weights=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=12), low=st.floats(0.0, 1.0),
       high=st.floats(0.0, 1.0))
def test_a_pooled_force_lies_between_its_most_intense_segment_and_the_sum(weights, low, high):
    """A side's pooled weight is at least its largest segment's and at most the sum; exactly those at pooling 0
    and 1, never falling as pooling rises, and never more than the sum (losses only shrink)."""
    w = np.array(weights)
    total = w.sum()
    low, high = sorted((low, high))
    # one row per pooling, as the engine pools each run's weights with its own parameter
    share = pooled_share(np.tile(w, (4, 1)), np.array([0.0, low, high, 1.0]))
    at_zero, at_low, at_high, at_one = share * total
    assert share[3] == pytest.approx(1.0)
    assert at_zero == pytest.approx(w.max())
    assert w.max() - 1e-9 <= at_low <= at_high + 1e-9 <= total + 2e-9


def test_the_cached_threat_is_the_threat_of_the_current_rungs(mini):
    """Displacement recomputes a village's threat only for runs whose rungs changed; whatever the sequence of
    changes, what it reads is the threat of the rungs as they are now."""
    sim = Simulation(mini, [0] * 4, [{"threat_pooling": x} for x in (0.0, 0.3, 0.7, 1.0)])
    state, world = sim.state, sim.world
    rng = np.random.default_rng(5)
    for _ in range(12):
        changing = rng.random(state.runs) < 0.5
        state.posture[changing] = rng.integers(0, 6, size=state.posture[changing].shape)
        state.refresh_rung()
        cached = displacement.current_threat(state, sim.params, world)
        fresh = displacement.threat(state.rung, sim.params.col("threat_pooling"), world)
        assert (cached == fresh).all()
