"""The M/M/c/K wait machinery: queue-position laws, windowed Poisson mixtures, inversion."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest

from qsim.analytic import mmc
from qsim.analytic._finite_waits import QueuePosition, invert_log_tail, poisson_mixture_cdf
from qsim.analytic.mmck import mm1k, mmck
from tests.reference import ref_birth_death as ref


def _rel(got: float, want: mp.mpf) -> float:
    if want == 0:
        return abs(got)
    with mp.workdps(40):
        return float(abs(mp.mpf(got) - want) / abs(want))


@pytest.mark.parametrize("rho", [0.3, 1.0, 1.5, 20.0])  # x < 0, x = 0, x > 0, x >> 0
@pytest.mark.parametrize("n", [0, 1, 7, 60])
def test_position_survival_matches_the_written_out_sums(rho: float, n: int) -> None:
    """P(J >= k) for P(J = j) ~ rho^j on 0..n, k = 0..n+2 (0 above n), to 1e-13."""
    pos = QueuePosition(np.array([math.log(rho)]), np.array([float(n)]), np.array([-np.inf]))
    k = np.arange(n + 3, dtype=float)
    got = np.exp(pos.log_survival(k, np.zeros(k.size, np.intp)))
    for kk, g in zip(k, got, strict=True):
        want = ref.position_survival(rho, n, int(kk)) if kk <= n else mp.mpf(0)
        assert _rel(g, want) <= 1e-13, kk


@pytest.mark.parametrize("rho", [0.3, 0.98, 1.0, 1.5, 20.0])  # around q as well as 1
@pytest.mark.parametrize("q", [0.0, 0.5, 0.98])  # one server (G = 1), two, fifty
@pytest.mark.parametrize("n", [0, 5, 40])
def test_position_plus_geometric_survival_matches_the_convolution(
    rho: float, q: float, n: int
) -> None:
    """P(J + G >= k) against the direct sum over j of P(J = j) P(G >= k - j), to 1e-12."""
    lq = np.array([math.log(q) if q else -np.inf])
    pos = QueuePosition(np.array([math.log(rho)]), np.array([float(n)]), lq)
    k = np.arange(0, n + 60, dtype=float)
    got = np.exp(pos.log_survival_plus_geometric(k, np.zeros(k.size, np.intp)))
    for kk, g in zip(k, got, strict=True):
        assert _rel(g, ref.position_survival(rho, n, int(kk), q=q)) <= 1e-12, kk


@pytest.mark.parametrize(
    ("s", "rho"),
    [
        (0.0, 0.2),  # t = 0: the sum is 1
        (0.3, 0.2),  # a handful of terms
        (25.0, 0.2),  # mode at s rho = 5
        (1e4, 0.999),  # e^-10
        (1e5, 0.999),  # e^-100, window of ~6000 terms
        (1e6, 0.9999),  # e^-100, window of ~20,000 terms
        (1e6, 0.999999),  # e^-1
    ],
)
def test_mixture_with_geometric_survival_is_exponential(s: float, rho: float) -> None:
    """sum_k Poisson(k; s) rho^k = exp(-s (1 - rho)): windows up to s = 1e6 add up."""
    x = np.array([math.log(rho)])

    def log_surv(k: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return k * x[rows]

    got = poisson_mixture_cdf(np.array([s]), log_surv, np.array([np.inf]))[0]
    with mp.workdps(40):
        want = mp.exp(-mp.mpf(s) * (1 - mp.mpf(rho)))
    assert _rel(got, want) <= 1e-11


@pytest.mark.parametrize(
    ("s", "d"),
    [
        (5.0, 0),  # P(N = 0)
        (5.0, 12),  # upper part
        (1e6, 1e6 - 3000),  # three sd below the mean
        (1e6, 1e6 + 5000),  # five sd above
        (1e6, 1e6 - 9000),  # deep lower tail, about e^-40
    ],
)
def test_mixture_with_a_point_mass_is_the_poisson_cdf(s: float, d: float) -> None:
    """D = d: the mixture is P(Poisson(s) <= d) = Q(d + 1, s), vectorised over two queues."""

    def log_surv(k: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return np.where(k <= d, 0.0, -np.inf)

    got = poisson_mixture_cdf(np.array([s, s]), log_surv, np.array([d, d]))
    with mp.workdps(40):
        want = mp.gammainc(d + 1, s, mp.inf, regularized=True)
    assert _rel(got[0], want) <= 1e-10 and got[1] == got[0]


def test_inversion_of_an_exponential_tail() -> None:
    """invert_log_tail returns log(p / q) / theta to 1e-13, from any starting scale."""
    p = np.array([1.0, 0.5, 1.0, 1.0])
    theta = np.array([1.0, 3.0, 1e-6, 1e8])

    def tail(t: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return p[idx] * np.exp(-theta[idx] * t)

    q = np.array([0.01, 0.001, 1e-12, 0.3])
    active = np.array([True, True, True, False])
    t = invert_log_tail(tail, q, np.array([1.0, 1e-9, 1.0, 1.0]), active)
    np.testing.assert_allclose(t[:3], np.log(p / q)[:3] / theta[:3], rtol=1e-13)
    assert np.isnan(t[3])


def test_huge_single_server_queue_below_saturation_is_mm1() -> None:
    """M/M/1/K with K = 1e6 and rho = 0.999: wait and response laws are M/M/1's to 1e-10."""
    m = mm1k(arrival_rate=0.999, service_rate=1.0, capacity=1_000_000)
    ts = np.array([1.0, 100.0, 1000.0, 10000.0])
    got_w, got_r = m.wait_tail(ts), m.response_tail(ts)
    with mp.workdps(40):
        rho = mp.mpf(0.999)
        for t, gw, gr in zip(ts, got_w, got_r, strict=True):
            assert _rel(gw, rho * mp.exp(-(1 - rho) * t)) <= 1e-10
            assert _rel(gr, mp.exp(-(1 - rho) * t)) <= 1e-10
        want_q = mp.log(100) / (1 - rho)
    assert _rel(m.response_quantile(0.99), want_q) <= 1e-10


def test_long_overloaded_queue_waits_almost_deterministically() -> None:
    """M/M/1/K with K = 20,000 and rho = 1.5: the wait is an Erlang of ~20,000 phases;
    its tail near the mean matches the chain to 1e-10."""
    lam, K = 1.5, 20_000
    m = mm1k(arrival_rate=lam, service_rate=1.0, capacity=K)
    for t in (0.995 * m.Wq, m.Wq, 1.005 * m.Wq):
        assert _rel(m.wait_tail(t), ref.wait_tail(lam, 1.0, 1, K, t)) <= 1e-10
    t99 = m.wait_quantile(0.99)
    assert _rel(0.01, ref.wait_tail(lam, 1.0, 1, K, t99)) <= 1e-10


def test_tails_at_zero_and_infinity() -> None:
    """P(Wq > 0) = p_wait, P(W > 0) = 1, and both are 0 at t = inf."""
    m = mmck(arrival_rate=[1.0, 5.0, 50.0], service_rate=1.0, servers=4, capacity=[4, 9, np.inf])
    np.testing.assert_allclose(m.wait_tail(0.0)[:2], m.p_wait[:2], rtol=1e-14)
    assert m.wait_tail(0.0)[2] == 1.0  # unstable: waits forever
    assert m.response_tail(0.0)[:2].tolist() == [1.0, 1.0]
    assert m.wait_tail(np.inf)[:2].tolist() == [0.0, 0.0]
    assert m.response_tail(np.inf)[:2].tolist() == [0.0, 0.0]


def test_one_law_for_queues_with_different_capacities() -> None:
    """One array mixes K = c, finite K, K = inf stable and unstable; each entry matches its
    own reference (chain or M/M/c)."""
    c, lam = 3, np.array([4.0, 4.0, 4.0, 4.0, 9.0])
    K = np.array([3, 4, 30, np.inf, np.inf])
    m = mmck(arrival_rate=lam, service_rate=2.0, servers=c, capacity=K)
    base = mmc(arrival_rate=4.0, service_rate=2.0, servers=c)
    t = 0.4
    w, r = m.wait_tail(t), m.response_tail(t)
    for i in range(3):
        assert _rel(w[i], ref.wait_tail(4.0, 2.0, c, int(K[i]), t)) <= 1e-10
        assert _rel(r[i], ref.response_tail(4.0, 2.0, c, int(K[i]), t)) <= 1e-10
    assert w[3] == pytest.approx(base.wait_tail(t), rel=1e-12)
    assert r[3] == pytest.approx(base.response_tail(t), rel=1e-12)
    assert w[4] == 1.0 and r[4] == 1.0
    q = m.response_quantile(0.99)
    assert q[3] == pytest.approx(base.response_quantile(0.99), rel=1e-10) and q[4] == np.inf
    for i in range(3):
        assert _rel(0.01, ref.response_tail(4.0, 2.0, c, int(K[i]), q[i])) <= 1e-10
