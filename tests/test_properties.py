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

from sim import displacement
from sim.casualties import pooled_share
from sim.ceasefire import Ceasefire, Phase
from sim.ensemble import derive_seeds
from sim.ladder import N_RUNGS, Rung, level_name, parse_level
from sim.model import BorderModel
from sim.parameters import SPECS, resolve
from sim.scenario import load_scenario
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
SEEDS = st.integers(0, 2**32 - 1)
LEVELS = st.sampled_from(["L0", "L1", "L2", "L3", "L4"])
# The mini scenario's scripted incident puts both sides at L1 whatever their arsenal (a scripted trigger
# is not capped), so the arsenals drawn here start at L1.
ARSENALS = st.sampled_from(["L1", "L2", "L3", "L4"])


@pytest.fixture(scope="module")
def mini():
    return load_scenario(DATA / "mini.yaml")


@pytest.fixture(scope="module")
def stones_then_shots():
    return load_scenario(DATA / "mini_crowd.yaml")


def _check_invariants(model: BorderModel, population: np.ndarray, previous: dict[str, np.ndarray]) -> None:
    s = model.state
    for name in ("present", "displaced", "civilian_dead", "civilian_injured", "military_dead",
                 "military_injured", "episode_deaths"):
        assert (getattr(s, name) >= 0).all(), f"negative {name} at step {model.steps}"
    assert s.incidents >= 0 and s.lethal_incidents >= 0
    assert (s.present + s.displaced + s.civilian_dead == population).all(), "people not conserved"
    assert (s.civilian_dead + s.displaced <= population).all()
    assert ((s.posture >= Rung.CALM) & (s.posture <= Rung.AIR_MLRS)).all()
    assert ((s.tension >= 0.0) & (s.tension <= 1.0)).all()
    assert (s.peak_rung >= s.rung).all()
    cf = model.ceasefire
    assert cf.relapses <= cf.violations and cf.collapses <= cf.violations, "a relapse or collapse without a breach"
    for gov in model.governments:
        assert s.posture[gov.side_index].max() <= gov.arsenal, f"{gov.side} fires above its arsenal"
        assert gov.authorised <= gov.arsenal
    for name in ("military_dead", "civilian_dead"):
        now = getattr(s, name).copy()
        assert (now >= previous[name]).all(), f"cumulative {name} decreased at step {model.steps}"
        previous[name] = now
    geo = model.geography
    district = np.array([geo.districts.index(d) for d in geo.village_district])
    peak = model.peak_displaced_district
    assert (np.bincount(district, weights=s.displaced, minlength=len(peak)) <= peak).all()
    assert (peak <= np.bincount(district, weights=population, minlength=len(peak))).all()
    assert (peak >= previous.get("peak_displaced_district", 0)).all(), "a district's peak displaced decreased"
    previous["peak_displaced_district"] = peak.copy()


@SETTINGS
@given(seed=SEEDS, params=PARAMS)
def test_invariants_hold_after_every_step(mini, seed, params):
    model = BorderModel(mini, seed=seed, **params)
    population = model.geography.village_population.copy()
    previous = {"military_dead": model.state.military_dead.copy(), "civilian_dead": model.state.civilian_dead.copy()}
    _check_invariants(model, population, previous)
    for _ in range(STEPS):
        model.step()
        _check_invariants(model, population, previous)


@SETTINGS
@given(seed=SEEDS, params=PARAMS, size=st.integers(0, 20_000), hit=st.floats(0.0, 2.0), leave=st.floats(0.0, 2.0))
def test_invariants_hold_with_crowds_at_the_line(stones_then_shots, seed, params, size, hit, leave):
    """Crowds of any size, however hard hit, never break the head count (sim/crowds.py)."""
    crowds = {"crowd_size": size, "crowd_hit_rate": hit, "crowd_disperse_rate": leave}
    model = BorderModel(stones_then_shots, seed=seed, **{**params, **crowds})
    population = model.geography.village_population.copy()
    previous = {"military_dead": model.state.military_dead.copy(), "civilian_dead": model.state.civilian_dead.copy()}
    for _ in range(STEPS):
        model.step()
        _check_invariants(model, population, previous)
        assert (model.state.crowd >= 0).all()


@SETTINGS
@given(seed=SEEDS, params=PARAMS, sides=st.sampled_from([("KG",), ("TJ",), ("KG", "TJ")]), hit=st.floats(0.0, 5.0))
def test_invariants_hold_with_incursions_into_villages(mini, seed, params, sides, hit):
    """An offensive's armour in the villages, however hard it hits, never breaks the head count (sim/incursion.py)."""
    scenario = on_the_offensive(with_governments(mini, ("L3", "L4"), ("L3", "L4")), *sides)
    model = BorderModel(scenario, seed=seed, **{**params, "incursion_hit_rate": hit})
    population = model.geography.village_population.copy()
    previous = {"military_dead": model.state.military_dead.copy(), "civilian_dead": model.state.civilian_dead.copy()}
    for _ in range(STEPS):
        model.step()
        _check_invariants(model, population, previous)


@SETTINGS
@given(seed=SEEDS, params=PARAMS, kg=st.tuples(LEVELS, ARSENALS), tj=st.tuples(LEVELS, ARSENALS))
def test_no_side_fires_above_its_arsenal(mini, seed, params, kg, tj):
    scenario = with_governments(mini, kg, tj)
    model = BorderModel(scenario, seed=seed, **params)
    population = model.geography.village_population.copy()
    previous = {"military_dead": model.state.military_dead.copy(), "civilian_dead": model.state.civilian_dead.copy()}
    for _ in range(STEPS):
        model.step()
        _check_invariants(model, population, previous)


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
@given(share=st.floats(0.0, 1.0), rungs=st.lists(st.integers(0, 5), min_size=1, max_size=8),
       hours=st.integers(1, 60), dead=st.integers(0, 500))
def test_no_evacuation_takes_more_than_its_share_of_the_living(mini, share, rungs, hours, dead):
    """Whatever the fire and however many have died, a village never has more than ``evacuating_share`` of its
    living residents displaced (when nobody was displaced before), and nobody is lost or created."""
    model = BorderModel(mini, seed=0)
    state = model.state
    n = state.rung.size
    state.posture[0] = np.resize(np.array(rungs), n)
    state.refresh_rung()
    killed = np.minimum(state.present, dead)
    state.present -= killed
    state.civilian_dead += killed
    before = state.present.copy()
    params = dict(model.params, evacuating_share=share)
    for _ in range(hours):
        displacement.move_people(state, params, 1.0, model._threat, returns_allowed=False)
    assert (state.displaced <= np.floor(share * before)).all()
    assert (state.present + state.displaced == before).all() and (state.present >= 0).all()


@SETTINGS
@given(rungs=st.lists(st.integers(0, 5), min_size=1, max_size=8), low=st.floats(0.0, 1.0),
       high=st.floats(0.0, 1.0))
def test_a_village_threat_lies_between_its_strongest_segment_and_the_sum(mini, rungs, low, high):
    """Whatever the fire, a village's threat is at least its strongest segment's and at most the sum of all
    segments'; it is exactly those at pooling 0 and 1, and never falls as pooling rises."""
    model = BorderModel(mini, seed=0)
    state = model.state
    state.posture[0] = np.resize(np.array(rungs), state.rung.size)
    state.refresh_rung()
    per_segment = (state.rung / 5.0)[:, None] * model._threat[state.rung, np.arange(state.rung.size)]
    strongest, total = per_segment.max(axis=0), per_segment.sum(axis=0)
    low, high = sorted((low, high))
    at_low = displacement.threat(state, model._threat, low)
    at_high = displacement.threat(state, model._threat, high)
    np.testing.assert_allclose(displacement.threat(state, model._threat, 0.0), strongest, atol=1e-12)
    np.testing.assert_allclose(displacement.threat(state, model._threat, 1.0), total, atol=1e-12)
    assert (at_low >= strongest - 1e-12).all() and (at_high <= total + 1e-12).all()
    assert (at_high >= at_low - 1e-12).all()


def _hours_to_agreement(pain_weight: float, deaths: int, draws: list[float]) -> float | None:
    """Hours from open talks to an agreement, with the given toll and this step-by-step sequence of draws."""
    params = {**resolve(), "pain_weight": pain_weight}
    machine = Ceasefire(phase=Phase.TALKS)
    for hour, u in enumerate(draws, start=1):
        if machine.update(float(hour), 1.0, True, deaths, params, 0.0, 0.0, u) == Phase.AGREED:
            return float(hour)
    return None


@given(low=st.floats(0.0, 4.0), extra=st.floats(0.0, 4.0), deaths=st.integers(0, 500),
       draws=st.lists(st.floats(0.0, 1.0, exclude_max=True), min_size=1, max_size=60))
def test_a_heavier_toll_never_delays_an_agreement(low, extra, deaths, draws):
    """The pain rule: with the same draws, a larger ``pain_weight`` (or, at a positive weight, a larger toll)
    agrees no later, and with no deaths the weight changes nothing."""
    slow = _hours_to_agreement(low, deaths, draws)
    fast = _hours_to_agreement(low + extra, deaths, draws)
    if slow is not None:
        assert fast is not None and fast <= slow
    if deaths == 0:
        assert fast == slow
    if low > 0:
        bloodier = _hours_to_agreement(low, deaths + 50, draws)
        if slow is not None:
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
    at_low, at_high = pooled_share(w, low) * total, pooled_share(w, high) * total
    assert pooled_share(w, 1.0) == pytest.approx(1.0)
    assert pooled_share(w, 0.0) * total == pytest.approx(w.max())
    assert w.max() - 1e-9 <= at_low <= at_high + 1e-9 <= total + 2e-9
