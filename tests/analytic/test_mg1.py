"""M/G/1 and M/D/1 against mpmath: P-K means, Erlang's M/D/1 formula, M/PH/1 matrix
exponentials and Stehfest inversion (lognormal), plus the M/M/1 special case."""

from __future__ import annotations

import json
import re
from pathlib import Path

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from qsim.analytic._mg1_law import NumericalMG1WaitLaw
from qsim.analytic.mg1 import GAMMA_APPROX, md1, mg1
from qsim.analytic.mmc import mm1
from qsim.distributions import (
    Deterministic,
    Empirical,
    Erlang,
    Exponential,
    Gamma,
    HyperExponential,
    Lognormal,
    Uniform,
)
from qsim.errors import InvalidArgumentError
from tests.reference import ref_mg1 as ref

REL = 1e-12
PROBS = np.array([0.5, 0.9, 0.99, 0.999])

MEANS = [
    # (arrival rate 1/s, mean service s, scv)
    (16.0, 0.05, 1.5),  # DESIGN.md's lognormal consumer at 80 % load
    (0.3, 1.0, 0.0),  # deterministic, light load
    (0.95, 1.0, 0.25),  # Erlang-4-like, heavy load
    (999.0, 1e-3, 9.0),  # bursty service at 99.9 %
    (0.0, 2.0, 3.0),  # no traffic
]


@pytest.mark.parametrize(("lam", "mean", "scv"), MEANS)
def test_means_match_pollaczek_khinchine(lam: float, mean: float, scv: float) -> None:
    """Wq, W, Lq, L equal the P-K formulas computed at 30 digits; p_wait = rho."""
    m = mg1(arrival_rate=lam, service_mean=mean, service_scv=scv)
    exact = ref.pk_means(lam, mean, scv)
    for name in ("Wq", "W", "Lq", "L"):
        assert getattr(m, name) == pytest.approx(float(exact[name]), rel=REL, abs=1e-300)
    assert m.p_wait == pytest.approx(lam * mean, rel=REL) and m.method == "exact"
    assert isinstance(m.Wq, float) and m.stable is True


def test_distribution_object_gives_the_same_means() -> None:
    """service=Lognormal(mean, scv) and service_mean/service_scv give identical means."""
    a = mg1(arrival_rate=[1.0, 12.0], service=Lognormal(mean=0.05, scv=1.5))
    b = mg1(arrival_rate=[1.0, 12.0], service_mean=0.05, service_scv=1.5)
    np.testing.assert_allclose(a.Wq, b.Wq, rtol=1e-15)
    np.testing.assert_allclose(a.L, b.L, rtol=1e-15)


def test_broadcasting_and_instability() -> None:
    """Inputs broadcast; utilization >= 1 gives stable=False and inf, never a finite number."""
    m = mg1(arrival_rate=[[0.5], [1.0], [2.0]], service_mean=[1.0, 0.4], service_scv=2.0)
    assert m.Wq.shape == (3, 2)
    np.testing.assert_array_equal(m.stable, [[True, True], [False, True], [False, True]])
    for name in ("L", "Lq", "W", "Wq"):
        value = getattr(m, name)
        assert np.all(np.isinf(value[~m.stable])) and np.all(np.isfinite(value[m.stable]))
    assert np.all(m.p_wait[~m.stable] == 1.0)
    d = mg1(arrival_rate=[[0.5], [1.0], [2.0]], service_mean=[1.0, 0.4], service_scv=0.0)
    q = d.wait_quantile(0.9)
    assert np.all(np.isinf(q[~d.stable])) and np.all(np.isfinite(q[d.stable]))
    one = mg1(arrival_rate=1.0, service_mean=1.0, service_scv=0.5)
    assert one.stable is False and one.Wq == np.inf and one.wait_quantile(0.5) == np.inf
    assert one.throughput == 1.0 and one.busy_fraction == 1.0


@settings(max_examples=50, deadline=None)
@given(lam=st.floats(0.0, 50.0), mean=st.floats(1e-3, 1.0), scv=st.floats(0.0, 20.0))
def test_littles_law_and_monotonicity(lam: float, mean: float, scv: float) -> None:
    """L = lambda W and Lq = lambda Wq; the wait grows with the load and with the scv."""
    m = mg1(arrival_rate=lam, service_mean=mean, service_scv=scv)
    if not m.stable:
        assert m.L == np.inf
        return
    assert m.L == pytest.approx(lam * m.W, rel=1e-12) and m.Lq == pytest.approx(lam * m.Wq)
    assert mg1(arrival_rate=lam * 1.01, service_mean=mean, service_scv=scv).Wq >= m.Wq
    assert mg1(arrival_rate=lam, service_mean=mean, service_scv=scv + 0.1).Wq >= m.Wq


def test_exponential_service_equals_mm1() -> None:
    """mg1 with exponential service is M/M/1: means, tails and quantiles are identical."""
    lam = np.array([0.1, 0.5, 0.9, 0.99, 1.0, 1.3])
    a = mg1(arrival_rate=lam, service=Exponential(mean=0.5))
    b = mm1(arrival_rate=lam, service_mean=0.5)
    c = mg1(arrival_rate=lam, service_mean=0.5, service_scv=1.0)
    for other in (b, c):
        for name in ("L", "Lq", "W", "Wq", "p_wait", "utilization", "throughput"):
            np.testing.assert_allclose(getattr(a, name), getattr(other, name), rtol=0)
        np.testing.assert_array_equal(a.stable, other.stable)
        t = np.array([[0.0], [0.3], [5.0]])
        np.testing.assert_allclose(a.wait_tail(t), other.wait_tail(t), rtol=0)
        np.testing.assert_allclose(a.response_tail(t), other.response_tail(t), rtol=0)
        q = PROBS[:, None]
        np.testing.assert_allclose(a.wait_quantile(q), other.wait_quantile(q), rtol=0)
        np.testing.assert_allclose(a.response_quantile(q), other.response_quantile(q), rtol=0)
    assert a.quantile_method == "exact" and c.quantile_method == GAMMA_APPROX


@pytest.mark.parametrize("rho", [0.3, 0.9])
def test_numerical_law_reproduces_mm1(rho: float) -> None:
    """The lattice law (Gamma with scv = 1) matches M/M/1's exact tails and quantiles."""
    m = mg1(arrival_rate=rho, service=Gamma(mean=1.0, scv=1.0))
    assert m.quantile_method.startswith("numerical")
    t = np.linspace(0.0, np.log(rho / 1e-9) / (1 - rho), 25)
    np.testing.assert_allclose(m.wait_tail(t), rho * np.exp(-(1 - rho) * t), rtol=2e-11)
    np.testing.assert_allclose(m.response_tail(t), np.exp(-(1 - rho) * t), rtol=2e-11)
    exact = mm1(arrival_rate=rho, service_rate=1.0)
    np.testing.assert_allclose(m.wait_quantile(PROBS), exact.wait_quantile(PROBS), rtol=1e-11)
    np.testing.assert_allclose(
        m.response_quantile(PROBS), exact.response_quantile(PROBS), rtol=1e-11
    )


MD1_CASES = [
    # (arrival rate, D, times): light, heavy and very heavy load; t on and off multiples of D
    (0.1, 2.0, [0.0, 0.5, 1.999, 2.0, 2.001, 7.0, 30.0]),
    (0.9, 1.0, [0.0, 0.25, 1.0, 3.5, 10.0, 40.0, 120.0]),
    (0.99, 1.0, [0.1, 1.0, 17.5, 100.0, 400.0, 700.0]),
]


@pytest.mark.parametrize(("lam", "D", "times"), MD1_CASES)
def test_md1_matches_erlangs_formula(lam: float, D: float, times: list[float]) -> None:
    """md1's tail equals Erlang's alternating sum (at enough digits) to 1e-12 relative."""
    m = md1(arrival_rate=lam, service_mean=D)
    t = np.array(times)
    exact = np.array([float(ref.md1_wait_tail(lam, D, x)) for x in t])
    np.testing.assert_allclose(m.wait_tail(t), exact, rtol=1e-12)
    np.testing.assert_allclose(m.response_tail(t + D), exact, rtol=1e-12)
    assert m.quantile_method == "exact" and m.Wq == pytest.approx(lam * D * D / (2 * (1 - lam * D)))


def test_md1_far_tail_decays_at_the_cramer_rate() -> None:
    """Beyond the computed levels the tail is geometric: P(Wq > t + D) / P(Wq > t) equals
    e^{-gamma D}, gamma the root of lambda (e^{gamma D} - 1) = gamma (found by mpmath)."""
    lam, D = 0.99, 1.0
    gamma = mp.findroot(lambda g: lam * (mp.exp(g * D) - 1) - g, 0.02)
    m = md1(arrival_rate=lam, service_mean=D)
    t = np.array([3000.25, 3001.25, 5000.5, 5001.5])
    tail = m.wait_tail(t)
    ratio = float(mp.exp(-gamma * D))
    assert tail[1] / tail[0] == pytest.approx(ratio, rel=1e-10)
    assert tail[3] / tail[2] == pytest.approx(ratio, rel=1e-10)


def test_md1_quantiles_invert_the_exact_cdf() -> None:
    """P(Wq <= quantile(p)) = p with Erlang's cdf evaluated at the returned quantile."""
    m = md1(arrival_rate=0.8, service_rate=1.0)
    for p, t in zip(PROBS, m.wait_quantile(PROBS), strict=True):
        assert float(ref.md1_wait_cdf(0.8, 1.0, t)) == pytest.approx(p, rel=1e-12)
    assert m.wait_quantile(0.1) == 0.0  # 20 % of messages never wait


def test_deterministic_routes_to_md1() -> None:
    """mg1 with Deterministic service, or with scv = 0, is md1 (exact law)."""
    lam = np.array([0.2, 0.7, 1.0])
    a = md1(arrival_rate=lam, service_mean=1.0)
    for b in (
        mg1(arrival_rate=lam, service=Deterministic(value=1.0)),
        mg1(arrival_rate=lam, service_mean=1.0, service_scv=0.0),
    ):
        assert b.quantile_method == "exact"
        np.testing.assert_array_equal(a.wait_quantile(0.95), b.wait_quantile(0.95))
        np.testing.assert_array_equal(a.Wq, b.Wq)


@pytest.mark.parametrize("rho", [0.5, 0.9])
def test_numerical_law_against_md1_closed_form(rho: float) -> None:
    """The lattice law on Deterministic service brackets Erlang's M/D/1 tail and matches it:
    1e-8 away from the kink at t = D, 3e-3 within a lattice step of it."""
    law = NumericalMG1WaitLaw(dist=Deterministic(value=1.0), lam=rho)
    t = np.array([0.3, 0.99, 1.0, 1.01, 2.5, 7.3, 15.0])
    exact = np.array([float(ref.md1_wait_tail(rho, 1.0, x)) for x in t])
    got = law._wait_tail(t)
    near = np.abs(t - 1.0) < 0.05
    np.testing.assert_allclose(got[~near], exact[~near], rtol=1e-8)
    np.testing.assert_allclose(got[near], exact[near], rtol=3e-3)
    lo, up = law.wait_tail_bounds(t)
    assert np.all(lo <= exact) and np.all(exact <= up)


PH_CASES = [
    # (service distribution, its phase-type representation, arrival rate)
    (Erlang(mean=1.0, k=3), ref.erlang_ph(3, 1.0), 0.7),
    (Erlang(mean=2.0, k=5), ref.erlang_ph(5, 2.0), 0.45),  # rho = 0.9
    (HyperExponential(mean=1.0, scv=4.0), ref.h2_ph(1.0, 4.0), 0.7),
    (HyperExponential(mean=0.1, scv=10.0), ref.h2_ph(0.1, 10.0), 5.0),  # rho = 0.5
]


@pytest.mark.parametrize(("dist", "ph", "lam"), PH_CASES, ids=lambda x: repr(x)[:40])
def test_numerical_law_against_phase_type_exact(dist, ph, lam: float) -> None:
    """Erlang and hyperexponential services: tails equal the M/PH/1 matrix exponentials
    (wait 2e-8, response 1e-7 relative) and lie between the rigorous lattice bounds."""
    m = mg1(arrival_rate=lam, service=dist)
    alpha, T = ph
    scale = m.W
    t = scale * np.array([0.01, 0.1, 0.5, 1.0, 3.0, 8.0])
    wait = np.array([float(ref.mph1_wait_tail(lam, alpha, T, x)) for x in t])
    resp = np.array([float(ref.mph1_response_tail(lam, alpha, T, x)) for x in t])
    np.testing.assert_allclose(m.wait_tail(t), wait, rtol=2e-8)
    np.testing.assert_allclose(m.response_tail(t), resp, rtol=1e-7)
    lo, up = m._law.laws[0].wait_tail_bounds(t)
    assert np.all(lo <= wait * (1 + 1e-12)) and np.all(wait <= up * (1 + 1e-12))
    q = m.wait_quantile(PROBS)
    exact_at_q = np.array([float(ref.mph1_wait_tail(lam, alpha, T, x)) for x in q])
    np.testing.assert_allclose(exact_at_q, 1 - PROBS, rtol=2e-8)


def test_gamma_approximation_is_the_erlang_law_for_scv_one_over_k() -> None:
    """Given only mean and scv = 1/3, quantiles are those of M/E_3/1, labelled approximate."""
    m = mg1(arrival_rate=0.7, service_mean=1.0, service_scv=1 / 3)
    assert m.quantile_method == GAMMA_APPROX
    alpha, T = ref.erlang_ph(3, 1.0)
    for p, t in zip(PROBS, m.wait_quantile(PROBS), strict=True):
        assert float(ref.mph1_wait_tail(0.7, alpha, T, t)) == pytest.approx(1 - p, rel=2e-8)


LOGNORMAL = json.loads(Path(ref.__file__).with_name("mg1_mpmath_ref.json").read_text())["rows"]


@pytest.mark.parametrize(
    "key", sorted({(r["arrival_rate"], r["service_mean"], r["service_scv"]) for r in LOGNORMAL})
)
def test_numerical_law_against_lognormal_stehfest(key: tuple[float, float, float]) -> None:
    """Lognormal service: tails equal the Stehfest inversion of the P-K transform (stored
    by tests/reference/gen_mg1_ref.py) to 5e-8 relative."""
    lam, mean, scv = key
    rows = [r for r in LOGNORMAL if (r["arrival_rate"], r["service_mean"], r["service_scv"]) == key]
    m = mg1(arrival_rate=lam, service=Lognormal(mean=mean, scv=scv))
    t = np.array([r["t"] for r in rows])
    exact = np.array([float(r["wait_tail"]) for r in rows])
    assert max(r["err"] for r in rows) < 1e-9  # the reference's own convergence
    np.testing.assert_allclose(m.wait_tail(t), exact, rtol=5e-8)


def test_law_integrates_to_the_mean_wait() -> None:
    """The integral of P(Wq > t) and of P(W > t) over t equals the P-K means Wq and W."""
    m = mg1(arrival_rate=12.0, service=Lognormal(mean=0.05, scv=1.5))
    wq, _ = integrate.quad(lambda x: m.wait_tail(x), 0, np.inf, limit=400, epsrel=1e-10)
    w, _ = integrate.quad(lambda x: m.response_tail(x), 0, np.inf, limit=400, epsrel=1e-10)
    assert wq == pytest.approx(m.Wq, rel=1e-7) and w == pytest.approx(m.W, rel=1e-7)


def test_quantiles_are_consistent_with_tails_and_vectorised() -> None:
    """wait_tail(wait_quantile(p)) = 1 - p; an array of queues equals scalar queues, and the
    law is computed once per distinct queue."""
    dist = Uniform(low=0.02, high=0.08)
    m = mg1(arrival_rate=[5.0, 12.0, 5.0], service=dist)
    assert len(m._law.laws) == 2
    q = m.wait_quantile(0.99)
    np.testing.assert_allclose(m.wait_tail(q), 0.01, rtol=1e-10)
    for lam, qi in zip([5.0, 12.0, 5.0], q, strict=True):
        assert mg1(arrival_rate=lam, service=dist).wait_quantile(0.99) == pytest.approx(
            qi, rel=1e-14
        )
    r = m.response_quantile(PROBS[:, None])
    assert r.shape == (4, 3) and np.all(np.diff(r, axis=0) > 0)
    assert np.all(m.wait_quantile(0.1) == 0.0)  # p <= 1 - rho: no wait


def test_empirical_service_matches_md1() -> None:
    """Empirical samples that are all D give the M/D/1 law (atoms summed exactly)."""
    m = mg1(arrival_rate=0.6, service=Empirical(samples=[0.5] * 4))
    exact = md1(arrival_rate=0.6, service_mean=0.5)
    t = np.array([0.05, 0.2, 1.3, 3.1, 6.0])  # away from multiples of D
    np.testing.assert_allclose(m.wait_tail(t), exact.wait_tail(t), rtol=1e-6)
    np.testing.assert_allclose(m.response_tail(t + 0.5), exact.response_tail(t + 0.5), rtol=1e-6)
    np.testing.assert_allclose(m.wait_quantile(PROBS), exact.wait_quantile(PROBS), rtol=3e-3)


def test_zero_load_waits_nothing() -> None:
    """With no arrivals nobody waits and the response time is the service time."""
    dist = Lognormal(mean=1.0, scv=2.0)
    m = mg1(arrival_rate=0.0, service=dist)
    assert m.Wq == 0.0 and m.wait_quantile(0.999) == 0.0 and m.wait_tail(0.0) == 0.0
    assert m.response_quantile(0.9) == pytest.approx(dist.ppf(0.9), rel=1e-12)


BAD = [
    (
        lambda: mg1(arrival_rate=1.0, service_mean=1.0),
        "mg1 needs 'service' (a distribution), or 'service_mean' and 'service_scv'. "
        "Got no 'service_scv' instead.",
    ),
    (lambda: mg1(arrival_rate=1.0), "Got no 'service_mean' or 'service_scv' instead."),
    (
        lambda: mg1(arrival_rate=1.0, service=Exponential(mean=1.0), service_mean=1.0),
        "mg1 takes either 'service' (a distribution) or 'service_mean' with 'service_scv'. "
        "Got both instead.",
    ),
    (
        lambda: mg1(arrival_rate=1.0, service="exponential"),
        "The 'service' argument of mg1 must be a qsim.distributions distribution. "
        "Got 'exponential' instead.",
    ),
    (
        lambda: mg1(arrival_rate=-1.0, service_mean=1.0, service_scv=1.0),
        "The 'arrival_rate' argument of mg1 must be a finite number >= 0. Got -1.0 instead.",
    ),
    (
        lambda: mg1(arrival_rate=1.0, service_mean=0.0, service_scv=1.0),
        "The 'service_mean' argument of mg1 must be a number > 0 and finite. Got 0.0 instead.",
    ),
    (
        lambda: mg1(arrival_rate=1.0, service_mean=1.0, service_scv=[1.0, -2.0]),
        "The 'service_scv' argument of mg1 must be a finite number >= 0. Got -2.0 at index 1",
    ),
    (
        lambda: mg1(arrival_rate=[1.0, 2.0], service_mean=[1.0, 2.0, 3.0], service_scv=1.0),
        "The arguments of mg1 must broadcast to one shape. Got shapes arrival_rate(2,), "
        "service_mean(3,), service_scv() instead.",
    ),
    (
        lambda: md1(arrival_rate=1.0),
        "md1 takes exactly one of 'service_rate' (messages per second) or 'service_mean' "
        "(seconds). Got neither instead.",
    ),
    (
        lambda: md1(arrival_rate=float("nan"), service_rate=1.0),
        "The 'arrival_rate' argument of md1 must be a finite number >= 0. Got nan instead.",
    ),
]


@pytest.mark.parametrize(("call", "message"), BAD)
def test_bad_input_raises_with_the_template(call, message: str) -> None:
    """Bad input raises InvalidArgumentError with the one message template."""
    with pytest.raises(InvalidArgumentError, match=re.escape(message)):
        call()
