"""One battery for every single-queue solver: the rules any queue must obey.

Each solver is wrapped to take (arrival_rate, service_rate, servers); the same checks
run on all of them (scikit-learn's check_estimator idea): Little's law, probabilities
and utilizations in range, monotonicity in load and in servers, honest instability,
and the limits that tie models together.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsim.analytic import (
    erlang_a,
    gg1_kingman,
    ggc_allen_cunneen,
    md1,
    mg1,
    mgc,
    mm1,
    mm1k,
    mmc,
    mmcc,
    mmck,
    mminf,
)

Solver = Callable[[float, float, int], object]

SOLVERS: dict[str, tuple[Solver, bool, bool]] = {
    # name: (solver, unbounded (instability possible), uses servers)
    "mm1": (lambda l, m, c: mm1(arrival_rate=l, service_rate=m), True, False),
    "mmc": (lambda l, m, c: mmc(arrival_rate=l, service_rate=m, servers=c), True, True),
    "mmck": (
        lambda l, m, c: mmck(arrival_rate=l, service_rate=m, servers=c, capacity=c + 15),
        False,
        True,
    ),
    "mm1k": (lambda l, m, c: mm1k(arrival_rate=l, service_rate=m, capacity=12), False, False),
    "mmcc": (lambda l, m, c: mmcc(arrival_rate=l, service_rate=m, servers=c), False, True),
    "mminf": (lambda l, m, c: mminf(arrival_rate=l, service_rate=m), False, False),
    "mg1": (lambda l, m, c: mg1(arrival_rate=l, service_mean=1 / m, service_scv=2.5), True, False),
    "md1": (lambda l, m, c: md1(arrival_rate=l, service_rate=m), True, False),
    "gg1": (
        lambda l, m, c: gg1_kingman(
            arrival_rate=l, arrival_scv=1.7, service_rate=m, service_scv=0.6
        ),
        True,
        False,
    ),
    "ggc": (
        lambda l, m, c: ggc_allen_cunneen(
            arrival_rate=l, servers=c, arrival_scv=0.8, service_scv=1.9, service_rate=m
        ),
        True,
        True,
    ),
    "mgc": (
        lambda l, m, c: mgc(arrival_rate=l, servers=c, service_scv=0.4, service_rate=m),
        True,
        True,
    ),
    "erlang_a": (
        lambda l, m, c: erlang_a(arrival_rate=l, servers=c, service_rate=m, patience_mean=5 / m),
        False,
        True,
    ),
}
NAMES = sorted(SOLVERS)

load = st.floats(min_value=0.05, max_value=0.95)
servers = st.integers(min_value=1, max_value=40)
rate = st.floats(min_value=0.01, max_value=100.0)


def _solve(name: str, rho: float, mu: float, c: int) -> object:
    fn, _, uses_c = SOLVERS[name]
    c_eff = c if uses_c else 1
    return fn(rho * c_eff * mu, mu, c)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, deadline=None)
@given(rho=load, mu=rate, c=servers)
def test_littles_law_and_ranges(name: str, rho: float, mu: float, c: int) -> None:
    """L = X W, Lq = X Wq, W = Wq + 1/mu; probabilities and busy fraction in [0, 1]."""
    m = _solve(name, rho, mu, c)
    # W describes accepted messages (rate = throughput); Erlang A's W and Wq are over all
    # arrivals, abandoning ones included (rate = arrival rate).
    x = m.arrival_rate if name == "erlang_a" else m.throughput
    assert m.L == pytest.approx(x * m.W, rel=1e-9, abs=1e-12)
    assert m.Lq == pytest.approx(x * m.Wq, rel=1e-9, abs=1e-12)
    if name != "erlang_a":  # abandoning callers leave before service: W is over all arrivals
        assert m.W == pytest.approx(m.Wq + 1 / mu, rel=1e-9)
    for p in (m.p_wait, m.p_block, m.busy_fraction):
        assert -1e-12 <= p <= 1 + 1e-12
    assert m.throughput <= m.arrival_rate * (1 + 1e-12)
    assert m.Lq <= m.L + 1e-12


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=30, deadline=None)
@given(rho=st.floats(min_value=0.05, max_value=0.9), mu=rate, c=servers)
def test_monotone_in_load(name: str, rho: float, mu: float, c: int) -> None:
    """More load never shortens the mean wait or the mean number waiting."""
    a, b = _solve(name, rho, mu, c), _solve(name, rho * 1.05, mu, c)
    assert b.Wq >= a.Wq * (1 - 1e-9) - 1e-15
    assert b.Lq >= a.Lq * (1 - 1e-9) - 1e-15


@pytest.mark.parametrize("name", [n for n in NAMES if SOLVERS[n][2]])
@settings(max_examples=30, deadline=None)
@given(lam=st.floats(min_value=0.1, max_value=30.0), c=servers)
def test_monotone_in_servers(name: str, lam: float, c: int) -> None:
    """One more server never lengthens the mean wait (at a fixed arrival rate)."""
    fn = SOLVERS[name][0]
    a, b = fn(lam, 1.0, c), fn(lam, 1.0, c + 1)
    assert b.Wq <= a.Wq * (1 + 1e-9) + 1e-15


@pytest.mark.parametrize("name", [n for n in NAMES if SOLVERS[n][1]])
def test_unstable_is_inf_never_finite(name: str) -> None:
    """Utilization >= 1 on an unbounded queue: stable False and inf means, arrays too."""
    fn, _, uses_c = SOLVERS[name]
    c = 3 if uses_c else 1
    m = fn(np.array([0.5 * c, 1.0 * c, 2.0 * c]), 1.0, c)
    assert m.stable.tolist() == [True, False, False]
    for field in ("L", "Lq", "W", "Wq"):
        v = getattr(m, field)
        assert np.isfinite(v[0]) and np.isinf(v[1:]).all(), field


@pytest.mark.parametrize("name", [n for n in NAMES if not SOLVERS[n][1]])
def test_bounded_models_solve_any_load(name: str) -> None:
    """Finite-capacity and abandonment models stay finite at rho = 1 and above."""
    fn, _, uses_c = SOLVERS[name]
    c = 3 if uses_c else 1
    for rho in (1.0, 1.5, 10.0):
        m = fn(rho * c, 1.0, c)
        assert all(np.isfinite(getattr(m, f)) for f in ("L", "Lq", "W", "Wq")), rho


@settings(max_examples=40, deadline=None)
@given(rho=load, mu=rate, c=servers)
def test_limits_tie_the_models_together(rho: float, mu: float, c: int) -> None:
    """c = 1 -> M/M/1; K -> inf -> M/M/c; scv 1 -> M/M/1; ca = cs = 1 -> M/M/c."""
    lam = rho * c * mu
    ref = mmc(arrival_rate=lam, service_rate=mu, servers=c)
    assert mmc(arrival_rate=rho * mu, service_rate=mu, servers=1).Wq == pytest.approx(
        mm1(arrival_rate=rho * mu, service_rate=mu).Wq, rel=1e-12
    )
    big = mmck(arrival_rate=lam, service_rate=mu, servers=c, capacity=c + 20_000)
    assert big.Wq == pytest.approx(ref.Wq, rel=1e-9, abs=1e-300)
    assert mg1(arrival_rate=rho * mu, service_mean=1 / mu, service_scv=1.0).Wq == pytest.approx(
        mm1(arrival_rate=rho * mu, service_rate=mu).Wq, rel=1e-12
    )
    ac = ggc_allen_cunneen(
        arrival_rate=lam, servers=c, arrival_scv=1.0, service_scv=1.0, service_rate=mu
    )
    assert ac.Wq == pytest.approx(ref.Wq, rel=1e-12, abs=1e-300)
