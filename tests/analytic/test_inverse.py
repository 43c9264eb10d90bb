"""min_servers and max_arrival_rate: fewest servers / largest load meeting a target."""

from __future__ import annotations

import time

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsim.analytic import erlang_b, max_arrival_rate, min_servers, mmc
from qsim.errors import InvalidArgumentError
from tests.reference.gen_mmc_ref import erlang_b as ref_erlang_b

mp.mp.dps = 40


def ref_erlang_c(c: int, a: float) -> float:
    a_ = mp.mpf(a)
    b = ref_erlang_b(c, a_)
    return float(c * b / (c - a_ * (1 - b)))


@pytest.mark.parametrize(
    ("lam", "alpha"),
    [
        (100.0, 0.2),  # moderate, c ~ 110
        (2500.0, 0.05),  # thousands of servers
        (0.5, 0.5),  # one server is enough
    ],
)
def test_min_servers_wait_probability_vs_mpmath(lam: float, alpha: float) -> None:
    """c meets P(wait) <= alpha by the 40-digit Erlang C and c - 1 does not (or is unstable)."""
    c = min_servers(arrival_rate=lam, service_rate=1.0, max_wait_probability=alpha)
    assert ref_erlang_c(c, lam) <= alpha
    assert c - 1 <= lam or ref_erlang_c(c - 1, lam) > alpha


def test_min_servers_blocking_vs_mpmath() -> None:
    """Erlang B staffing: B(c) <= eps < B(c - 1) by the mpmath recursion."""
    for a, eps in [(5.0, 0.02), (1000.0, 0.001), (37.3, 0.1)]:
        c = min_servers(arrival_rate=a, service_rate=1.0, max_blocking=eps)
        assert ref_erlang_b(c, mp.mpf(a)) <= eps < ref_erlang_b(c - 1, mp.mpf(a))


@settings(max_examples=60, deadline=None)
@given(
    lam=st.floats(min_value=0.01, max_value=5000.0),
    mu=st.floats(min_value=0.1, max_value=10.0),
    kind=st.sampled_from(["mean_wait", "wait_prob", "wait_q", "response_q", "mean_resp"]),
    slack=st.floats(min_value=0.05, max_value=3.0),
)
def test_min_servers_is_minimal(lam: float, mu: float, kind: str, slack: float) -> None:
    """The answer meets the target and one server fewer does not (judged by mmc)."""
    target = {
        "mean_wait": dict(max_mean_wait=slack / mu),
        "wait_prob": dict(max_wait_probability=min(slack / 4, 0.9)),
        "wait_q": dict(max_wait_quantile=slack / mu, quantile=0.95),
        "response_q": dict(max_response_quantile=(np.log(100) + slack) / mu, quantile=0.99),
        "mean_resp": dict(max_mean_response=(1 + slack) / mu),
    }[kind]
    c = min_servers(arrival_rate=lam, service_rate=mu, **target)
    m = mmc(arrival_rate=lam, service_rate=mu, servers=[max(c - 1, 1), c])

    def ratio(i: int) -> float:
        """The metric over its target (<= 1: met), by mmc's own formulas."""
        if not m.stable[i]:
            return float("inf")
        if "max_mean_wait" in target:
            return float(m.Wq[i] / target["max_mean_wait"])
        if "max_wait_probability" in target:
            return float(m.p_wait[i] / target["max_wait_probability"])
        if "max_wait_quantile" in target:
            return float(m.wait_quantile(0.95)[i] / target["max_wait_quantile"])
        if "max_response_quantile" in target:
            return float(m.response_quantile(0.99)[i] / target["max_response_quantile"])
        return float(m.W[i] / target["max_mean_response"])

    assert ratio(1) <= 1 + 1e-9
    if c > 1:
        # one fewer misses, or (judged by another formula) sits on the boundary to rounding
        assert ratio(0) > 1 or abs(ratio(0) - 1) < 1e-9 or abs(m.Wq[0] - m.Wq[1]) < 1e-12


def test_a_target_met_exactly_costs_no_extra_server() -> None:
    """M/M/2 with lambda = mu = 1 has Wq = 1/3 s exactly (computed 0.3333333333333334):
    a 1/3 s target takes 2 servers, not 3; M/M/c/c blocking at its own value likewise."""
    assert min_servers(arrival_rate=1.0, service_rate=1.0, max_mean_wait=1 / 3) == 2
    b = float(erlang_b(servers=10, offered_load=5.0))
    assert min_servers(arrival_rate=5.0, service_rate=1.0, max_blocking=b) == 10


def test_min_servers_vectorised_and_fast() -> None:
    """10,000 staffing problems up to c ~ 10^5 are solved together in well under a second."""
    lam = np.geomspace(1.0, 1e5, 10_000)
    t0 = time.perf_counter()
    c = min_servers(arrival_rate=lam, service_rate=1.0, max_wait_probability=0.1)
    elapsed = time.perf_counter() - t0
    assert c.shape == lam.shape and (c > lam).all()
    assert np.all(np.diff(c) >= 0)  # more load never needs fewer servers
    assert elapsed < 5.0  # generous: a smoke bound, the benchmark measures


def test_max_arrival_rate_inverts_min_servers() -> None:
    """At the largest admissible load the target binds exactly; above it fails."""
    lam = max_arrival_rate(servers=20, service_rate=1.0, max_mean_wait=0.1)
    assert mmc(arrival_rate=lam, service_rate=1.0, servers=20).Wq == pytest.approx(0.1, rel=1e-9)
    assert min_servers(arrival_rate=lam * 0.999, service_rate=1.0, max_mean_wait=0.1) == 20
    assert min_servers(arrival_rate=lam * 1.001, service_rate=1.0, max_mean_wait=0.1) == 21


def test_max_arrival_rate_blocking_and_arrays() -> None:
    """Erlang B: the largest offered load with B <= eps; arrays broadcast."""
    lam = max_arrival_rate(servers=[10, 100], service_rate=2.0, max_blocking=0.01)
    b = erlang_b(servers=[10, 100], arrival_rate=lam, service_rate=2.0)
    np.testing.assert_allclose(b, 0.01, rtol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        # no target at all
        (dict(arrival_rate=1.0, service_rate=1.0), r"needs at least one target"),
        # below the mean service time: no staffing can reach it
        (
            dict(arrival_rate=1.0, service_rate=1.0, max_mean_response=0.5),
            r"'max_mean_response' argument of min_servers must be > 1 s",
        ),
        # p99 of the service alone is ln(100) = 4.6 s
        (
            dict(arrival_rate=1.0, service_rate=1.0, max_response_quantile=4.0),
            r"must be > 4\.60517 s",
        ),
        # probability out of range
        (
            dict(arrival_rate=1.0, service_rate=1.0, max_wait_probability=1.5),
            r"'max_wait_probability' .* probability in \(0, 1\)",
        ),
        # loss and delay targets together
        (
            dict(arrival_rate=1.0, service_rate=1.0, max_blocking=0.1, max_mean_wait=1.0),
            r"cannot combine",
        ),
    ],
)
def test_bad_targets(kwargs: dict, message: str) -> None:
    """Unreachable or malformed targets are named with the value and what is allowed."""
    with pytest.raises(InvalidArgumentError, match=message):
        min_servers(**kwargs)
