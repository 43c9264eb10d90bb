"""M/M/1, M/M/c, Erlang B and Erlang C against independent mpmath values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qsim.analytic import erlang_b, erlang_c, mm1, mmc
from qsim.errors import InvalidArgumentError

REF = json.loads((Path(__file__).parents[1] / "reference" / "mmc_mpmath_ref.json").read_text())
MU = float(REF["mu"])
STABLE = [c for c in REF["cases"] if "erlang_c" in c]
LOSS = [c for c in REF["cases"] if "erlang_c" not in c]
REL = 1e-10


def _id(case: dict) -> str:
    return f"c={case['servers']}-rho={case['rho']}"


@pytest.mark.parametrize("case", STABLE + LOSS, ids=_id)
def test_erlang_b_matches_mpmath_recursion(case: dict) -> None:
    """Erlang B is within 1e-10 relative of the 50-digit recursion, up to c = 100,000."""
    got = erlang_b(servers=case["servers"], offered_load=float(case["arrival_rate"]) / MU)
    assert got == pytest.approx(float(case["erlang_b"]), rel=REL)


@pytest.mark.parametrize("case", STABLE, ids=_id)
def test_mmc_means_match_mpmath(case: dict) -> None:
    """Erlang C, Wq, Lq, W and L are within 1e-10 relative of mpmath, rho up to 0.9999."""
    m = mmc(arrival_rate=float(case["arrival_rate"]), service_rate=MU, servers=case["servers"])
    assert m.stable is True
    assert m.p_wait == pytest.approx(float(case["erlang_c"]), rel=REL)
    for name in ("Wq", "Lq", "W", "L"):
        assert getattr(m, name) == pytest.approx(float(case[name]), rel=REL), name


@pytest.mark.parametrize("case", STABLE, ids=_id)
def test_mmc_wait_and_response_laws_match_mpmath(case: dict) -> None:
    """Wait quantile, response tail and response quantile match the exact mpmath laws."""
    m = mmc(arrival_rate=float(case["arrival_rate"]), service_rate=MU, servers=case["servers"])
    assert m.wait_quantile(0.99) == pytest.approx(float(case["wait_q99"]), rel=REL, abs=1e-12)
    assert m.response_tail(float(case["t"])) == pytest.approx(
        float(case["response_tail_t"]), rel=REL
    )
    assert m.response_quantile(0.99) == pytest.approx(float(case["response_q99"]), rel=1e-9)


@pytest.mark.parametrize("case", [c for c in STABLE if c["servers"] == 1], ids=_id)
def test_mm1_is_mmc_with_one_server(case: dict) -> None:
    """mm1 equals the closed forms rho/(1-rho), 1/(mu-lambda) held in the reference."""
    m = mm1(arrival_rate=float(case["arrival_rate"]), service_rate=MU)
    assert m.L == pytest.approx(float(case["L"]), rel=REL)
    assert m.W == pytest.approx(float(case["W"]), rel=REL)
    assert m.p_wait == pytest.approx(float(case["rho"]), rel=REL)


def test_mm1_response_time_is_exponential() -> None:
    """M/M/1 response time is Exp(mu - lambda): its quantiles are -ln(1-p)/(mu-lambda)."""
    m = mm1(arrival_rate=3.0, service_rate=4.0)
    p = np.array([0.5, 0.9, 0.99, 0.999999])
    np.testing.assert_allclose(m.response_quantile(p), -np.log1p(-p) / 1.0, rtol=1e-12)
    np.testing.assert_allclose(m.response_tail([0.0, 1.0]), np.exp(-np.array([0.0, 1.0])))


@pytest.mark.parametrize(
    ("servers", "load", "expected"),
    [
        (10, 5.0, 0.018385),  # classic Erlang B table entry
        (20, 15.0, 0.045593),  # Erlang B table, 20 trunks at 15 E
        (1, 1.0, 0.5),  # B(1, a) = a / (1 + a)
    ],
)
def test_erlang_b_table_values(servers: int, load: float, expected: float) -> None:
    """Published Erlang B table entries (6 decimals)."""
    assert erlang_b(servers=servers, offered_load=load) == pytest.approx(expected, abs=5e-7)


def test_unstable_queue_is_never_finite() -> None:
    """rho >= 1 is unstable: stable False, inf means and quantiles, for scalars and arrays."""
    m = mmc(arrival_rate=[5.0, 10.0, 12.0], service_rate=1.0, servers=10)
    assert m.stable.tolist() == [True, False, False]
    for name in ("L", "Lq", "W", "Wq"):
        v = getattr(m, name)
        assert np.isfinite(v[0]) and np.isinf(v[1:]).all(), name
    assert np.isinf(m.wait_quantile(0.5)[1:]).all()
    assert np.isinf(m.response_quantile(0.5)[1:]).all()
    assert m.utilization.tolist() == [0.5, 1.0, 1.2]
    s = mm1(arrival_rate=2.0, service_rate=1.0)
    assert s.stable is False and s.L == np.inf and s.response_quantile(0.99) == np.inf
    assert s.wait_tail(100.0) == 1.0
    assert erlang_c(servers=10, offered_load=12.0) == 1.0


def test_wait_quantile_is_zero_below_the_atom() -> None:
    """Where p <= 1 - P(wait) the wait quantile is exactly 0."""
    m = mmc(arrival_rate=5.0, service_rate=1.0, servers=10)
    assert m.p_wait < 0.1
    assert m.wait_quantile(0.9) == 0.0
    assert m.wait_quantile(0.99) > 0.0


def test_broadcasting_and_shapes() -> None:
    """Inputs broadcast like ufuncs; scalars give Python scalars."""
    lam = np.array([[1.0], [2.0], [3.0]])
    m = mmc(arrival_rate=lam, service_rate=1.0, servers=np.array([4, 5]))
    assert m.L.shape == (3, 2)
    assert isinstance(mmc(arrival_rate=1.0, service_rate=2.0, servers=1).L, float)
    assert m.wait_quantile(0.99).shape == (3, 2)
    assert len(m.to_frame()) == 6


def test_service_mean_equals_service_rate() -> None:
    """service_mean = 1/service_rate gives the same queue."""
    a = mmc(arrival_rate=100.0, service_mean=0.02, servers=3)
    b = mmc(arrival_rate=100.0, service_rate=50.0, servers=3)
    assert a.W == pytest.approx(b.W, rel=1e-15)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        # one row per kind of bad input
        (
            dict(arrival_rate=-1.0, service_rate=1.0, servers=1),
            r"'arrival_rate' argument of mmc must be a finite number >= 0\. Got -1\.0",
        ),
        (dict(arrival_rate=np.nan, service_rate=1.0, servers=1), r"'arrival_rate' .* Got nan"),
        (
            dict(arrival_rate=1.0, service_rate=0.0, servers=1),
            r"'service_rate' argument of mmc must be a number > 0 and finite\. Got 0\.0",
        ),
        (dict(arrival_rate=1.0, service_rate=np.inf, servers=1), r"'service_rate' .* Got inf"),
        (
            dict(arrival_rate=1.0, service_rate=1.0, servers=0),
            r"'servers' argument of mmc must be an integer >= 1\. Got 0",
        ),
        (
            dict(arrival_rate=1.0, service_rate=1.0, servers=2.5),
            r"'servers' .* integer >= 1\. Got 2\.5",
        ),
        (dict(arrival_rate=1.0, service_rate=1.0, servers=[1, 0, 3]), r"Got 0 at index 1"),
        (
            dict(arrival_rate=[1.0, 2.0], service_rate=1.0, servers=[1, 2, 3]),
            r"must broadcast .*arrival_rate\(2,\).*servers\(3,\)",
        ),
        (dict(arrival_rate=1.0, servers=1), r"exactly one of 'service_rate'.*Got neither"),
        (dict(arrival_rate=1.0, servers=1, service_rate=1.0, service_mean=1.0), r"Got both"),
        (
            dict(arrival_rate="fast", service_rate=1.0, servers=1),
            r"'arrival_rate' argument of mmc must be a real number",
        ),
    ],
)
def test_bad_input_names_function_parameter_value(kwargs: dict, message: str) -> None:
    """Bad input raises InvalidArgumentError (a ValueError) with the one template."""
    with pytest.raises(InvalidArgumentError, match=message):
        mmc(**kwargs)
    with pytest.raises(ValueError):
        mmc(**kwargs)


def test_quantile_argument_checked() -> None:
    """p outside (0, 1) and negative t are rejected with the template."""
    m = mm1(arrival_rate=1.0, service_rate=2.0)
    for p in (0.0, 1.0, -0.1, 1.5, np.nan):
        with pytest.raises(InvalidArgumentError, match=r"'p' argument of wait_quantile"):
            m.wait_quantile(p)
    with pytest.raises(InvalidArgumentError, match=r"'t' argument of wait_tail"):
        m.wait_tail(-1.0)


# ---- properties ---------------------------------------------------------------------

servers_st = st.integers(min_value=1, max_value=2000)
rho_st = st.floats(min_value=1e-4, max_value=0.999, allow_nan=False)
mu_st = st.floats(min_value=1e-3, max_value=1e4, allow_nan=False)


@given(c=servers_st, rho=rho_st, mu=mu_st)
def test_littles_law(c: int, rho: float, mu: float) -> None:
    """L = lambda W and Lq = lambda Wq, W = Wq + 1/mu."""
    m = mmc(arrival_rate=rho * c * mu, service_rate=mu, servers=c)
    lam = rho * c * mu
    assert m.L == pytest.approx(lam * m.W, rel=1e-12)
    assert m.Lq == pytest.approx(lam * m.Wq, rel=1e-12)
    assert m.W == pytest.approx(m.Wq + 1 / mu, rel=1e-12)


@given(c=servers_st, rho=rho_st)
def test_monotone_in_load_and_servers(c: int, rho: float) -> None:
    """Wq and P(wait) grow with the load and shrink with servers."""
    base = mmc(arrival_rate=rho * c, service_rate=1.0, servers=c)
    more_load = mmc(arrival_rate=min(rho * 1.001, 0.9999) * c, service_rate=1.0, servers=c)
    more_servers = mmc(arrival_rate=rho * c, service_rate=1.0, servers=c + 1)
    assert more_load.Wq >= base.Wq and more_load.p_wait >= base.p_wait
    assert more_servers.Wq <= base.Wq and more_servers.p_wait <= base.p_wait


@given(c=servers_st, a=st.floats(min_value=1e-3, max_value=5000.0))
def test_erlang_c_at_least_erlang_b(c: int, a: float) -> None:
    """C(c, a) >= B(c, a): waiting is at least as likely as blocking would be."""
    b = erlang_b(servers=c, offered_load=a)
    assert erlang_c(servers=c, offered_load=a) >= b * (1 - 1e-12)
    assert 0.0 <= b <= 1.0


@given(c=servers_st, rho=rho_st, p=st.floats(min_value=0.01, max_value=0.9999))
def test_quantile_inverts_tail(c: int, rho: float, p: float) -> None:
    """tail(quantile(p)) = 1 - p for the response, and for the wait above the atom."""
    m = mmc(arrival_rate=rho * c, service_rate=1.0, servers=c)
    assert m.response_tail(m.response_quantile(p)) == pytest.approx(1 - p, rel=1e-9)
    if p > 1 - m.p_wait:
        assert m.wait_tail(m.wait_quantile(p)) == pytest.approx(1 - p, rel=1e-9)
