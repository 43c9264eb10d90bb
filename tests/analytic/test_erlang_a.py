"""Erlang A (M/M/c+M) against a 40-digit birth-death chain, limits and invariants."""

from __future__ import annotations

import json
import math
from pathlib import Path

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsim.analytic.erlang_a import ErlangAMetrics, erlang_a
from qsim.analytic.metrics import QueueMetrics
from qsim.errors import InvalidArgumentError
from tests.reference.ref_erlang_a import erlang_a_chain, poisson_tail
from tests.reference.ref_mdc import erlang_c

REF = json.loads((Path(__file__).parents[1] / "reference" / "erlang_a_mpmath_ref.json").read_text())
FIELDS = ("p_wait", "Lq", "L", "Wq", "throughput", "p_abandon", "Wq_served")
REL = 1e-10


def _id(case: dict) -> str:
    load = case["arrival_rate"] / (case["servers"] * case["service_rate"])
    return f"c={case['servers']}-load={load:.4g}-theta={case['abandonment_rate']:.3g}"


def _solve(case: dict) -> ErlangAMetrics:
    return erlang_a(
        arrival_rate=case["arrival_rate"],
        servers=case["servers"],
        service_rate=case["service_rate"],
        abandonment_rate=case["abandonment_rate"],
    )


@pytest.mark.parametrize("case", REF["cases"], ids=_id)
def test_matches_mpmath_chain(case: dict) -> None:
    """Every figure is within 1e-10 relative of the chain, c up to 10^4, load up to 3c."""
    m = _solve(case)
    for name in FIELDS:
        assert getattr(m, name) == pytest.approx(float(case[name]), rel=REL), name


def test_array_call_matches_scalar_calls() -> None:
    """One vectorised call over all reference rows gives the same numbers as the rows."""
    cols = {
        k: np.array([c[k] for c in REF["cases"]])
        for k in ("arrival_rate", "servers", "service_rate", "abandonment_rate")
    }
    m = erlang_a(**cols)
    for name in FIELDS:
        np.testing.assert_allclose(
            getattr(m, name), [float(c[name]) for c in REF["cases"]], rtol=REL
        )


@settings(max_examples=25, deadline=None)
@given(
    c=st.integers(1, 30),
    load=st.floats(0.05, 3.0),
    th=st.floats(0.02, 50.0),
)
def test_random_small_queues_match_chain(c: int, load: float, th: float) -> None:
    """Random small queues agree with the chain to 1e-10 (P(wait), Lq, P(abandon), served wait)."""
    lam, theta = load * c, th
    ref = erlang_a_chain(lam, 1.0, c, theta)
    m = erlang_a(arrival_rate=lam, servers=c, service_rate=1.0, abandonment_rate=theta)
    for name in ("p_wait", "Lq", "p_abandon", "Wq_served", "throughput"):
        assert getattr(m, name) == pytest.approx(float(ref[name]), rel=REL), name


@pytest.mark.parametrize(
    ("a", "c"),
    [
        (0.5, 1),  # one server
        (8.0, 10),  # moderate
        (120.0, 100),  # overloaded: Poisson tail above c
    ],
)
def test_theta_equal_mu_is_m_m_infinity(a: float, c: int) -> None:
    """With theta = mu every message leaves at rate mu: N ~ Poisson(a), P(wait) = P(N >= c)."""
    m = erlang_a(arrival_rate=a * 3.0, servers=c, service_rate=3.0, abandonment_rate=3.0)
    assert m.p_wait == pytest.approx(float(poisson_tail(a, c)), rel=REL)
    assert m.L == pytest.approx(a, rel=REL)


@pytest.mark.parametrize(
    ("lam", "c"),
    [
        (5.0, 10),  # light
        (9.0, 10),  # rho = 0.9
        (0.99, 1),  # M/M/1 at rho = 0.99
    ],
)
def test_small_theta_tends_to_mmc(lam: float, c: int) -> None:
    """As theta -> 0 (rho < 1) Erlang A becomes M/M/c: P(wait) -> C, Wq -> C / (c mu - lambda)."""
    C = erlang_c(c, lam)
    m = erlang_a(arrival_rate=lam, servers=c, service_rate=1.0, abandonment_rate=1e-12)
    assert m.p_wait == pytest.approx(float(C), rel=1e-6)
    assert m.Wq == pytest.approx(float(C / (c - mp.mpf(lam))), rel=1e-6)
    assert m.p_abandon < 1e-9


@pytest.mark.parametrize(("a", "c"), [(5.0, 10), (30.0, 10), (0.5, 1)])
def test_large_theta_tends_to_erlang_b(a: float, c: int) -> None:
    """As theta -> inf waiting messages leave at once: P(abandon) -> Erlang B, Lq -> 0."""
    with mp.workdps(40):
        b = mp.mpf(1)
        for k in range(1, c + 1):
            b = a * b / (k + a * b)
    m = erlang_a(arrival_rate=a, servers=c, service_rate=1.0, abandonment_rate=1e9)
    assert m.p_abandon == pytest.approx(float(b), rel=1e-6)
    assert m.Lq < 1e-7  # about P(wait) lambda / theta


loads = st.floats(0.01, 3.0)
servers = st.integers(1, 200)
thetas = st.floats(1e-3, 1e3)


@given(load=loads, c=servers, th=thetas)
def test_littles_law_and_flow_balance(load: float, c: int, th: float) -> None:
    """L = lambda W, Lq = lambda Wq, and served + abandoned = arrivals (two formulas)."""
    lam = load * c * 2.0
    m = erlang_a(arrival_rate=lam, servers=c, service_mean=0.5, abandonment_rate=th)
    assert m.L == pytest.approx(lam * m.W, rel=1e-12)
    assert m.Lq == pytest.approx(lam * m.Wq, rel=1e-12, abs=1e-300)
    assert m.throughput == pytest.approx(lam * (1 - m.p_abandon), rel=1e-9)
    assert 0 <= m.p_abandon <= m.p_wait <= 1
    assert m.busy_fraction <= 1 and m.stable is True


@given(load=loads, c=servers, th=thetas)
def test_abandonment_monotone(load: float, c: int, th: float) -> None:
    """P(abandon) grows with load and impatience and shrinks with one more server."""

    def pa(lam: float, k: int, theta: float) -> float:
        return erlang_a(
            arrival_rate=lam, servers=k, service_rate=1.0, abandonment_rate=theta
        ).p_abandon

    lam = load * c
    base = pa(lam, c, th)
    assert pa(lam * 1.05, c, th) >= base * (1 - 1e-12)
    assert pa(lam, c + 1, th) <= base * (1 + 1e-12)
    assert pa(lam, c, th * 1.5) >= base * (1 - 1e-12)


def test_is_queue_metrics_with_abandonment() -> None:
    """The result is a QueueMetrics with the extra fields in its table; never unstable."""
    m = erlang_a(arrival_rate=[5.0, 50.0], servers=10, service_rate=1.0, patience_mean=2.0)
    assert isinstance(m, QueueMetrics)
    np.testing.assert_array_equal(m.stable, [True, True])
    assert np.all(np.isfinite(m.Wq)) and m.utilization[1] == 5.0
    frame = m.to_frame()
    assert {"p_abandon", "Wq_served", "abandonment_rate"} <= set(frame.columns)
    assert (frame["method"] == "exact").all()


def test_scalars_and_zero_arrivals() -> None:
    """Scalar input gives Python scalars; lambda = 0 gives an empty queue."""
    m = erlang_a(arrival_rate=0.0, servers=3, service_rate=1.0, abandonment_rate=0.5)
    assert isinstance(m.p_wait, float)
    assert (m.p_wait, m.Lq, m.p_abandon, m.throughput, m.L) == (0.0, 0.0, 0.0, 0.0, 0.0)
    assert m.W == 1.0


def test_patience_mean_equals_abandonment_rate() -> None:
    """patience_mean = 1 / abandonment_rate, and service_mean = 1 / service_rate."""
    a = erlang_a(arrival_rate=4.0, servers=3, service_rate=2.0, abandonment_rate=0.25)
    b = erlang_a(arrival_rate=4.0, servers=3, service_mean=0.5, patience_mean=4.0)
    assert a.p_abandon == b.p_abandon and a.abandonment_rate == 0.25


def test_broadcasting_grid() -> None:
    """A column of loads against a row of patience means gives the grid of scalar calls."""
    m = erlang_a(
        arrival_rate=[[5.0], [15.0]], servers=10, service_rate=1.0, patience_mean=[0.5, 5.0, 50.0]
    )
    assert m.p_abandon.shape == (2, 3)
    one = erlang_a(arrival_rate=15.0, servers=10, service_rate=1.0, patience_mean=5.0)
    assert m.p_abandon[1, 1] == pytest.approx(one.p_abandon, rel=1e-14)


def test_quantiles_are_not_offered() -> None:
    """Wait quantiles raise NotImplementedError naming Erlang A."""
    m = erlang_a(arrival_rate=5.0, servers=3, service_rate=1.0, abandonment_rate=1.0)
    with pytest.raises(NotImplementedError, match="Erlang A"):
        m.wait_quantile(0.99)
    assert m.quantile_method is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"abandonment_rate": 0.0},
            r"The 'abandonment_rate' argument of erlang_a must be a "
            r"number > 0 and finite\. Got 0\.0 instead\.",
        ),
        ({"abandonment_rate": -1.0}, "'abandonment_rate' argument of erlang_a"),
        (
            {"abandonment_rate": None, "patience_mean": math.inf},
            "'patience_mean' argument of erlang_a must be a number > 0 and finite",
        ),
        ({"abandonment_rate": None}, "exactly one of 'abandonment_rate'.*Got neither"),
        ({"patience_mean": 3.0}, "exactly one of 'abandonment_rate'.*Got both"),
        ({"servers": 0}, r"The 'servers' argument of erlang_a must be an integer >= 1\. Got 0"),
        ({"servers": 1.5}, "'servers' argument of erlang_a must be an integer"),
        ({"arrival_rate": float("nan")}, "'arrival_rate' argument of erlang_a"),
        ({"service_rate": None}, "exactly one of 'service_rate'"),
        ({"arrival_rate": [1.0, 2.0], "servers": [1, 2, 3]}, "must broadcast to one shape"),
    ],
)
def test_rejects_bad_input(kwargs: dict, match: str) -> None:
    """Bad arguments raise InvalidArgumentError with the one message template."""
    base = {"arrival_rate": 1.0, "servers": 2, "service_rate": 1.0, "abandonment_rate": 0.5}
    with pytest.raises(InvalidArgumentError, match=match):
        erlang_a(**{**base, **kwargs})
