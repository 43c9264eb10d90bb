"""M/M/c/K, M/M/1/K, M/M/c/c and M/M/inf against independent mpmath references."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsim.analytic import mmc
from qsim.analytic.mmck import mm1k, mmcc, mmck, mminf
from qsim.errors import InvalidArgumentError
from tests.reference import ref_birth_death as ref

REL = 1e-10
MU = 2.0
FIELDS = ("L", "Lq", "W", "Wq", "p_block", "throughput", "p_wait", "busy_fraction")

# Offered loads: light, heavy, exactly critical (x = log rho = 0), overloaded, flooded.
RHOS = [0.3, 0.9, 1.0, 1.5, 20.0]
SERVERS = [1, 3, 50]


def _capacities(c: int) -> list[int]:
    # no waiting room, one waiting place, as many places as servers, a long queue
    return sorted({c, c + 1, 2 * c, 200})


TABLE = [(rho, c, K) for rho in RHOS for c in SERVERS for K in _capacities(c)]


def _id(case: tuple[float, int, int]) -> str:
    return "rho={}-c={}-K={}".format(*case)


def _rel(got: float, want: mp.mpf) -> float:
    """Relative error of a double against an mpmath value (absolute where want = 0)."""
    if want == 0:
        return abs(got)
    with mp.workdps(40):
        return float(abs(mp.mpf(got) - want) / abs(want))


def _queue(rho: float, c: int, K: float) -> tuple[float, object]:
    lam = rho * c * MU
    return lam, mmck(arrival_rate=lam, service_rate=MU, servers=c, capacity=K)


# ---- the table against the explicit chain -----------------------------------------


@pytest.mark.parametrize("case", TABLE, ids=_id)
def test_mmck_matches_the_birth_death_chain(case: tuple[float, int, int]) -> None:
    """Every figure is within 1e-10 relative of the normalised 40-digit chain."""
    rho, c, K = case
    lam, m = _queue(rho, c, K)
    want = ref.mmck_metrics(lam, MU, c, K)
    assert m.stable is True and m.method == "exact"
    for name in FIELDS:
        assert _rel(getattr(m, name), want[name]) <= REL, name
    assert _rel(m.throughput, want["mu_busy"]) <= REL  # flow balance, a second route
    assert m.utilization == pytest.approx(rho, rel=1e-15)
    assert m.capacity == K and m.servers == c


@pytest.mark.parametrize("case", TABLE, ids=_id)
def test_wait_tail_matches_the_erlang_mixture(case: tuple[float, int, int]) -> None:
    """P(Wq > t) = sum_j P(found c + j | accepted) P(Poisson(c mu t) <= j), 1e-10 relative."""
    rho, c, K = case
    lam, m = _queue(rho, c, K)
    ts = np.array([0.0, 0.2, 1.0, 4.0]) * m.W
    got = m.wait_tail(ts)
    for t, g in zip(ts, got, strict=True):
        assert _rel(g, ref.wait_tail(lam, MU, c, K, t)) <= REL, t
    assert m.wait_tail(0.0) == pytest.approx(m.p_wait, rel=1e-14)


@pytest.mark.parametrize("case", TABLE, ids=_id)
def test_wait_quantile_round_trip(case: tuple[float, int, int]) -> None:
    """The reference tail at wait_quantile(0.99) is 0.01; the quantile is 0 below the atom."""
    rho, c, K = case
    lam, m = _queue(rho, c, K)
    t = m.wait_quantile(0.99)
    if m.p_wait <= 0.01:
        assert t == 0.0
    else:
        assert _rel(0.01, ref.wait_tail(lam, MU, c, K, t)) <= REL
    if 0.0 < m.p_wait < 1.0:
        assert m.wait_quantile((1.0 - m.p_wait) * (1.0 - 1e-9)) == 0.0


# a spread of the table: one row per regime, the response law has its own reference
RESPONSE_CASES = [
    (0.3, 1, 200),  # light M/M/1/K: geometric positions
    (1.0, 1, 200),  # critical, uniform positions
    (20.0, 1, 200),  # flooded single server, the queue is always full
    (0.3, 3, 3),  # loss system: no wait, response = service
    (0.9, 3, 4),  # one waiting place
    (1.5, 3, 200),  # overloaded, long queue
    (0.9, 50, 100),  # many servers, c mu >> mu
    (1.0, 50, 200),  # many servers at rho = 1
    (20.0, 50, 51),  # flooded, one waiting place
]


@pytest.mark.parametrize("case", RESPONSE_CASES, ids=_id)
def test_response_tail_and_quantile_match_the_hypoexponential_mixture(
    case: tuple[float, int, int],
) -> None:
    """P(W > t) matches the mixture of Erlang + Exp(mu) tails; response_quantile(0.99)
    lands where the reference tail is 0.01 (both to 1e-10 relative)."""
    rho, c, K = case
    lam, m = _queue(rho, c, K)
    for t in np.array([0.25, 1.0, 3.0]) * m.W:
        assert _rel(m.response_tail(t), ref.response_tail(lam, MU, c, K, t)) <= REL, t
    t99 = m.response_quantile(0.99)
    assert _rel(0.01, ref.response_tail(lam, MU, c, K, t99)) <= REL
    assert m.response_tail(0.0) == 1.0


# ---- limits and special cases -------------------------------------------------------


@pytest.mark.parametrize("rho", [0.3, 0.9, 0.99])
@pytest.mark.parametrize("c", [1, 3, 50])
def test_large_capacity_is_mmc(rho: float, c: int) -> None:
    """K = 10^6 (and K = inf) agree with M/M/c to 1e-10, tails and quantiles included."""
    lam = rho * c * MU
    base = mmc(arrival_rate=lam, service_rate=MU, servers=c)
    for K in (1e6, math.inf):
        m = mmck(arrival_rate=lam, service_rate=MU, servers=c, capacity=K)
        for name in ("L", "Lq", "W", "Wq", "p_wait", "throughput", "busy_fraction"):
            assert getattr(m, name) == pytest.approx(getattr(base, name), rel=REL), name
        assert m.p_block == pytest.approx(0.0, abs=1e-300)
        for p in (0.5, 0.99, 0.9999):
            assert m.response_quantile(p) == pytest.approx(base.response_quantile(p), rel=REL)
            assert m.wait_quantile(p) == pytest.approx(base.wait_quantile(p), rel=REL)
        t = np.array([0.5, 2.0]) * base.W
        np.testing.assert_allclose(m.wait_tail(t), base.wait_tail(t), rtol=REL)
        np.testing.assert_allclose(m.response_tail(t), base.response_tail(t), rtol=REL)


def test_unbounded_capacity_at_or_above_saturation_is_unstable() -> None:
    """K = inf with rho >= 1 is unstable: inf means and quantiles, never a finite number."""
    m = mmck(arrival_rate=[2.0, 6.0, 9.0], service_rate=1.0, servers=6, capacity=np.inf)
    assert m.stable.tolist() == [True, False, False]
    for name in ("L", "Lq", "W", "Wq"):
        v = getattr(m, name)
        assert np.isfinite(v[0]) and np.isinf(v[1:]).all(), name
    assert np.isinf(m.wait_quantile(0.5)[1:]).all()
    assert np.isinf(m.response_quantile(0.99)[1:]).all()
    assert (m.wait_tail(1e6)[1:] == 1.0).all()
    s = mm1k(arrival_rate=1.0, service_rate=1.0, capacity=np.inf)
    assert s.stable is False and s.L == math.inf and s.response_quantile(0.5) == math.inf


def test_finite_capacity_is_stable_at_any_load() -> None:
    """rho = 1 exactly and rho = 1000 give finite figures with stable = True."""
    m = mmck(arrival_rate=[3.0, 3000.0], service_rate=1.0, servers=3, capacity=10)
    assert m.stable.tolist() == [True, True]
    for name in FIELDS:
        assert np.isfinite(getattr(m, name)).all(), name
    assert np.isfinite(m.response_quantile(0.99)).all()
    assert m.busy_fraction[1] == pytest.approx(1.0, rel=1e-3)


@pytest.mark.parametrize("rho", ["0.5", "1", "2", "0.999"])
@pytest.mark.parametrize("K", [1, 5, 50])
def test_mm1k_matches_the_textbook_closed_form(rho: str, K: int) -> None:
    """p_n = (1 - rho) rho^n / (1 - rho^(K+1)) (1/(K+1) at rho = 1), in mpmath."""
    with mp.workdps(40):
        r = mp.mpf(rho)
        if r == 1:
            p = [mp.mpf(1) / (K + 1)] * (K + 1)
        else:
            p = [(1 - r) * r**n / (1 - r ** (K + 1)) for n in range(K + 1)]
        L = mp.fsum(n * pn for n, pn in enumerate(p))
        Lq = mp.fsum((n - 1) * pn for n, pn in enumerate(p) if n > 1)
        W = L / (mp.mpf(float(rho) * MU) * (1 - p[K]))
        p_wait = mp.fsum(p[1:K]) / (1 - p[K])
    m = mm1k(arrival_rate=float(rho) * MU, service_rate=MU, capacity=K)
    assert _rel(m.p_block, p[K]) <= REL
    assert _rel(m.L, L) <= REL
    assert _rel(m.Lq, Lq) <= REL
    assert _rel(m.W, W) <= REL
    assert _rel(m.p_wait, p_wait) <= REL


@pytest.mark.parametrize(
    ("servers", "load", "expected", "tol"),
    [
        (10, 5.0, 0.018385, 5e-7),  # Erlang B table: 10 trunks at 5 E
        (20, 15.0, 0.045593, 5e-7),  # Erlang B table: 20 trunks at 15 E
        (5, 2.0, 0.036697, 5e-7),  # 5 trunks at 2 E
        (1, 1.0, 0.5, 1e-15),  # B(1, a) = a / (1 + a)
        (5, 1.361, 0.01, 1e-5),  # 1 % grade-of-service row of the Erlang B table
        (10, 4.461, 0.01, 1e-5),  # (traffic printed to 3 decimals)
        (20, 12.031, 0.01, 1e-5),
        (50, 37.901, 0.01, 1e-5),
        (100, 84.064, 0.01, 1e-5),
    ],
)
def test_mmcc_blocking_is_the_erlang_b_table(
    servers: int, load: float, expected: float, tol: float
) -> None:
    """Published Erlang B values (checked with the mpmath recursion before use)."""
    m = mmcc(arrival_rate=load * 3.0, service_rate=3.0, servers=servers)
    assert m.p_block == pytest.approx(expected, abs=tol)
    assert m.throughput == pytest.approx(load * 3.0 * (1 - m.p_block), rel=1e-14)
    assert m.L == pytest.approx(load * (1 - m.p_block), rel=1e-14)


def test_mmcc_nobody_waits() -> None:
    """M/M/c/c: Wq = Lq = p_wait = 0, wait quantiles 0, response = Exp(mu) service."""
    m = mmcc(arrival_rate=[1.0, 40.0], service_mean=0.5, servers=4)
    assert m.Wq.tolist() == [0.0, 0.0] and m.Lq.tolist() == [0.0, 0.0]
    assert m.p_wait.tolist() == [0.0, 0.0]
    assert m.wait_quantile(0.999).tolist() == [0.0, 0.0]
    assert m.wait_tail(0.0).tolist() == [0.0, 0.0]
    np.testing.assert_allclose(m.W, 0.5, rtol=1e-15)
    np.testing.assert_allclose(m.response_quantile(0.99), -0.5 * np.log(0.01), rtol=1e-13)
    np.testing.assert_allclose(m.response_tail(1.0), np.exp(-2.0), rtol=1e-14)


def test_mminf_is_poisson_with_exponential_response() -> None:
    """M/M/inf: L = lambda/mu, W = 1/mu, no wait, response quantile -ln(1-p)/mu."""
    m = mminf(arrival_rate=[0.0, 3.0, 1e6], service_rate=4.0)
    np.testing.assert_allclose(m.L, [0.0, 0.75, 2.5e5], rtol=1e-15)
    assert m.W.tolist() == [0.25] * 3 and m.Wq.tolist() == [0.0] * 3
    assert m.Lq.tolist() == [0.0] * 3 and m.p_block.tolist() == [0.0] * 3
    assert m.servers.tolist() == [math.inf] * 3 and m.capacity.tolist() == [math.inf] * 3
    assert m.utilization.tolist() == [0.0] * 3 and m.stable.all()
    np.testing.assert_allclose(m.throughput, [0.0, 3.0, 1e6], rtol=1e-15)
    p = np.array([[0.5], [0.99]])
    np.testing.assert_allclose(m.response_quantile(p), -np.log1p(-p) / 4.0 * np.ones(3))
    assert m.wait_quantile(0.99).tolist() == [0.0] * 3
    s = mminf(arrival_rate=2.0, service_mean=0.1)
    assert isinstance(s.L, float) and s.L == pytest.approx(0.2, rel=1e-15)


def test_no_traffic() -> None:
    """lambda = 0: nothing blocks, waits or queues; an accepted message would take 1/mu."""
    m = mmck(arrival_rate=0.0, service_rate=2.0, servers=3, capacity=[3, 5, np.inf])
    assert m.p_block.tolist() == [0.0] * 3 and m.L.tolist() == [0.0] * 3
    assert m.throughput.tolist() == [0.0] * 3 and m.p_wait.tolist() == [0.0] * 3
    assert m.W.tolist() == [0.5] * 3 and m.Wq.tolist() == [0.0] * 3
    assert m.wait_quantile(0.99).tolist() == [0.0] * 3
    np.testing.assert_allclose(m.response_quantile(0.5), np.log(2) / 2.0, rtol=1e-13)


# ---- very large systems ----------------------------------------------------------------


@pytest.mark.parametrize("rho", [0.999, 1.001])
def test_ten_thousand_servers_match_the_chain(rho: float) -> None:
    """c = 10,000, K = 20,000 near saturation: all figures and a wait tail to 1e-10."""
    c, K = 10_000, 20_000
    lam, m = _queue(rho, c, K)
    want = ref.mmck_metrics(lam, MU, c, K)
    for name in FIELDS:
        assert _rel(getattr(m, name), want[name]) <= REL, name
    for t in (0.9 * m.Wq, m.Wq):  # the wait is nearly deterministic here
        assert _rel(m.wait_tail(t), ref.wait_tail(lam, MU, c, K, t)) <= REL
    t99 = m.wait_quantile(0.99)
    assert _rel(0.01, ref.wait_tail(lam, MU, c, K, t99)) <= REL


@pytest.mark.parametrize(
    ("c", "K", "rho"),
    [
        (100_000, 1_000_000, 0.9),  # the queue part is negligible
        (100_000, 1_000_000, 1.0),  # critical with a million places
        (100_000, 1_000_000, 1.1),  # overloaded: the queue is nearly full
        (100_000, 100_000, 1.0),  # a hundred thousand trunks, no waiting room
        (1, 1_000_000, 20.0),  # flooded single server
        (1, 1_000_000, 0.999999),  # M/M/1/K at the edge of M/M/1
    ],
)
def test_huge_systems_do_not_overflow(c: int, K: int, rho: float) -> None:
    """Up to c = 1e5 and K = 1e6 the figures are finite and match the closed-form sums."""
    lam, m = _queue(rho, c, K)
    want = ref.mmck_closed_form(lam, MU, c, K)
    for name, value in want.items():
        got = getattr(m, name)
        assert np.isfinite(got), name
        if value > 1e-300:  # else it underflows, as it should
            assert _rel(got, value) <= REL, name
    assert np.isfinite(m.response_quantile(0.99)) and np.isfinite(m.wait_quantile(0.99))


# ---- arrays ---------------------------------------------------------------------------


def test_mixed_shapes_broadcast_and_match_the_chain() -> None:
    """(3, 1) loads x (4,) capacities x scalar servers broadcast to (3, 4), each entry
    equal to its own reference; quantiles broadcast p against the queues."""
    c = 3
    rho = np.array([[0.3], [1.0], [20.0]])
    K = np.array([3, 4, 6, 40])
    m = mmck(arrival_rate=rho * c * MU, service_rate=MU, servers=c, capacity=K)
    assert m.L.shape == (3, 4) and m.stable.shape == (3, 4)
    q = m.wait_quantile(np.array([[0.5], [0.9], [0.99]]))
    tail = m.wait_tail(0.3)
    assert q.shape == (3, 4) and tail.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            lam, k = float(rho[i, 0] * c * MU), int(K[j])
            want = ref.mmck_metrics(lam, MU, c, k)
            for name in ("L", "p_block", "p_wait"):
                assert _rel(getattr(m, name)[i, j], want[name]) <= REL
            assert _rel(tail[i, j], ref.wait_tail(lam, MU, c, k, 0.3)) <= REL
    assert q[0, 0] == 0.0  # p = 0.5 below the atom of a light queue
    assert m.response_quantile([0.5, 0.9, 0.99, 0.999]).shape == (3, 4)
    assert len(m.to_frame()) == 12
    s = mm1k(arrival_rate=1.0, service_rate=2.0, capacity=4)
    assert isinstance(s.L, float) and isinstance(s.stable, bool)
    assert isinstance(s.wait_quantile(0.99), float)


def test_service_mean_equals_service_rate() -> None:
    """service_mean = 1/service_rate gives the same queue."""
    a = mmck(arrival_rate=100.0, service_mean=0.02, servers=3, capacity=7)
    b = mmck(arrival_rate=100.0, service_rate=50.0, servers=3, capacity=7)
    assert a.W == pytest.approx(b.W, rel=1e-15) and a.p_block == pytest.approx(b.p_block)


# ---- bad input --------------------------------------------------------------------------

GOOD = dict(arrival_rate=1.0, service_rate=1.0, servers=2, capacity=5)


@pytest.mark.parametrize(
    ("func", "kwargs", "message"),
    [
        # one row per kind of bad input
        (
            mmck,
            dict(GOOD, arrival_rate=-1.0),
            r"'arrival_rate' argument of mmck must be a finite number >= 0\. Got -1\.0 instead",
        ),
        (mmck, dict(GOOD, arrival_rate=np.nan), r"'arrival_rate' argument of mmck .* Got nan"),
        (mmck, dict(GOOD, arrival_rate=np.inf), r"'arrival_rate' argument of mmck .* Got inf"),
        (
            mmck,
            dict(GOOD, service_rate=0.0),
            r"'service_rate' argument of mmck must be a number > 0 and finite\. Got 0\.0",
        ),
        (
            mmck,
            dict(GOOD, servers=0),
            r"'servers' argument of mmck must be an integer >= 1\. Got 0 instead",
        ),
        (
            mmck,
            dict(GOOD, servers=1.5),
            r"'servers' argument of mmck must be an integer >= 1\. Got 1\.5",
        ),
        (
            mmck,
            dict(GOOD, servers=np.inf),
            r"'servers' argument of mmck must be an integer >= 1\. Got inf",
        ),
        (
            mmck,
            dict(GOOD, capacity=0),
            r"'capacity' argument of mmck must be an integer >= 1 or inf\. Got 0 instead",
        ),
        (
            mmck,
            dict(GOOD, capacity=4.5),
            r"'capacity' argument of mmck must be an integer >= 1 or inf\. Got 4\.5",
        ),
        (mmck, dict(GOOD, capacity=np.nan), r"'capacity' argument of mmck .* Got nan"),
        (
            mmck,
            dict(GOOD, capacity=1),
            r"'capacity' argument of mmck must be an integer >= servers \(the 'servers' argument, 2\)\. Got 1 instead",
        ),
        (
            mmck,
            dict(GOOD, servers=[1, 4], capacity=3),
            r"'capacity' .* >= servers \(the 'servers' argument, 4\)\. Got 3 at index 1 instead",
        ),
        (
            mmck,
            dict(GOOD, capacity=[5, 6, 7], servers=[1, 2]),
            r"must broadcast .*servers\(2,\).*capacity\(3,\)",
        ),
        (
            mmck,
            dict(arrival_rate=1.0, servers=1, capacity=2),
            r"mmck takes exactly one of 'service_rate'.*Got neither",
        ),
        (mmck, dict(GOOD, service_mean=1.0), r"mmck takes exactly one of .*Got both"),
        (mmck, dict(GOOD, capacity="big"), r"'capacity' argument of mmck must be a real number"),
        (
            mm1k,
            dict(arrival_rate=1.0, service_rate=1.0, capacity=0),
            r"'capacity' argument of mm1k must be an integer >= 1 or inf\. Got 0",
        ),
        (
            mm1k,
            dict(arrival_rate=-2.0, service_rate=1.0, capacity=3),
            r"'arrival_rate' argument of mm1k",
        ),
        (
            mmcc,
            dict(arrival_rate=1.0, service_rate=1.0, servers=-3),
            r"'servers' argument of mmcc must be an integer >= 1\. Got -3",
        ),
        (
            mmcc,
            dict(arrival_rate=1.0, service_mean=-1.0, servers=3),
            r"'service_mean' argument of mmcc must be a number > 0",
        ),
        (
            mminf,
            dict(arrival_rate=1.0, service_rate=np.nan),
            r"'service_rate' argument of mminf .* Got nan",
        ),
        (
            mminf,
            dict(arrival_rate=[1.0, -1.0], service_rate=1.0),
            r"'arrival_rate' argument of mminf .* Got -1\.0 at index 1",
        ),
        (
            mminf,
            dict(arrival_rate=[1.0, 2.0], service_rate=[1.0, 2.0, 3.0]),
            r"The arguments of mminf must broadcast",
        ),
    ],
)
def test_bad_input_names_function_parameter_value(func: object, kwargs: dict, message: str) -> None:
    """Bad input raises InvalidArgumentError (a ValueError) with the one template."""
    with pytest.raises(InvalidArgumentError, match=message):
        func(**kwargs)  # type: ignore[operator]
    with pytest.raises(ValueError):
        func(**kwargs)  # type: ignore[operator]


def test_quantile_and_time_arguments_checked() -> None:
    """p outside (0, 1) and negative times are rejected with the template."""
    m = mmck(**GOOD)
    for p in (0.0, 1.0, -0.5, 2.0, np.nan):
        with pytest.raises(InvalidArgumentError, match=r"'p' argument of wait_quantile"):
            m.wait_quantile(p)
        with pytest.raises(InvalidArgumentError, match=r"'p' argument of response_quantile"):
            m.response_quantile(p)
    with pytest.raises(
        InvalidArgumentError, match=r"'t' argument of response_tail must be a time >= 0"
    ):
        m.response_tail([1.0, -1.0])


# ---- invariants -------------------------------------------------------------------------

servers_st = st.integers(min_value=1, max_value=300)
extra_st = st.integers(min_value=0, max_value=400)
rho_st = st.floats(min_value=1e-3, max_value=50.0, allow_nan=False)
mu_st = st.floats(min_value=1e-3, max_value=1e4, allow_nan=False)


@settings(deadline=None, max_examples=60)
@given(c=servers_st, extra=extra_st, rho=rho_st, mu=mu_st)
def test_littles_law_and_bounds(c: int, extra: int, rho: float, mu: float) -> None:
    """L = throughput W, Lq = throughput Wq, W = Wq + 1/mu; throughput <= min(lambda, c mu);
    probabilities in [0, 1]; L <= K."""
    lam = rho * c * mu
    m = mmck(arrival_rate=lam, service_rate=mu, servers=c, capacity=c + extra)
    assert m.L == pytest.approx(m.throughput * m.W, rel=1e-12)
    assert m.Lq == pytest.approx(m.throughput * m.Wq, rel=1e-12, abs=1e-300)
    assert m.W == pytest.approx(m.Wq + 1 / mu, rel=1e-12)
    assert m.throughput <= min(lam, c * mu) * (1 + 1e-12)
    assert m.throughput == pytest.approx(lam * (1 - m.p_block), rel=1e-9)
    assert 0.0 <= m.p_block <= 1.0 and 0.0 <= m.p_wait <= 1.0 and m.busy_fraction <= 1.0
    assert 0.0 <= m.Lq <= m.L <= c + extra


@settings(deadline=None, max_examples=60)
@given(c=servers_st, extra=extra_st, rho=rho_st)
def test_blocking_is_monotone(c: int, extra: int, rho: float) -> None:
    """p_block grows with the arrival rate and shrinks with capacity and with servers."""
    K = c + extra
    base = mmck(arrival_rate=rho * c, service_rate=1.0, servers=c, capacity=K)
    busier = mmck(arrival_rate=rho * c * 1.01, service_rate=1.0, servers=c, capacity=K)
    bigger = mmck(arrival_rate=rho * c, service_rate=1.0, servers=c, capacity=K + 1)
    wider = mmck(arrival_rate=rho * c, service_rate=1.0, servers=c + 1, capacity=K + 1)
    more = mmck(arrival_rate=rho * c, service_rate=1.0, servers=min(c + 1, K), capacity=K)
    tol = 1 + 1e-12
    assert busier.p_block * tol >= base.p_block
    assert bigger.p_block <= base.p_block * tol
    assert wider.p_block <= bigger.p_block * tol
    assert more.p_block <= base.p_block * tol


@settings(deadline=None, max_examples=25)
@given(c=st.integers(1, 60), extra=st.integers(0, 200), rho=rho_st, p=st.floats(0.05, 0.9999))
def test_quantiles_invert_the_tails(c: int, extra: int, rho: float, p: float) -> None:
    """tail(quantile(p)) = 1 - p for the response, and for the wait above its atom."""
    m = mmck(arrival_rate=rho * c, service_rate=1.0, servers=c, capacity=c + extra)
    assert m.response_tail(m.response_quantile(p)) == pytest.approx(1 - p, rel=1e-9)
    if p > 1 - m.p_wait:
        assert m.wait_tail(m.wait_quantile(p)) == pytest.approx(1 - p, rel=1e-9)
    else:
        assert m.wait_quantile(p) == 0.0
