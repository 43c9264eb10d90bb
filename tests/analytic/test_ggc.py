"""Kingman, Allen-Cunneen and M/G/c approximations: exact cases, accuracy, contract."""

from __future__ import annotations

import json
import math
from pathlib import Path

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate

from qsim.analytic.ggc import gg1_kingman, ggc_allen_cunneen, mgc
from qsim.errors import InvalidArgumentError
from tests.reference.ref_mdc import erlang_c, mdc_chain, mdc_roots
from tests.reference.ref_mphc import erlang_phases, mphc

REF = json.loads((Path(__file__).parents[1] / "reference" / "mgc_exact_ref.json").read_text())
MDC = [c for c in REF["cases"] if c["model"] == "M/D/c"]
E2 = [c for c in REF["cases"] if c["model"] == "M/E2/c"]
H2 = [c for c in REF["cases"] if c["model"] == "M/H2/c"]
REL = 1e-10


def _id(case: dict) -> str:
    return f"{case['model']}-c={case['servers']}-rho={case['rho']}"


def _mgc(case: dict, method: str):  # type: ignore[no-untyped-def]
    return mgc(
        arrival_rate=float(case["arrival_rate"]),
        servers=case["servers"],
        service_scv=case["service_scv"],
        service_mean=1.0,
        method=method,
    )


# ---- the references themselves ------------------------------------------------------


@pytest.mark.parametrize(
    ("c", "rho"),
    [
        (2, 0.8),  # two servers, moderate load
        (5, 0.5),  # light traffic, where Allen-Cunneen is worst
        (1, 0.9),  # M/D/1: no roots, Pollaczek-Khinchine
    ],
)
def test_mdc_roots_match_embedded_chain(c: int, rho: float) -> None:
    """Crommelin's root formula and the numerically solved chain give the same Wq, P(wait)."""
    r = mdc_roots(rho * c, 1.0, c)
    q = mdc_chain(rho * c, 1.0, c)
    assert float(r["Wq"]) == pytest.approx(q["Wq"], rel=1e-8)
    assert float(r["p_wait"]) == pytest.approx(q["p_wait"], rel=1e-8)


def test_mdc_roots_give_pollaczek_khinchine_for_one_server() -> None:
    """M/D/1 from the roots equals rho D / (2 (1 - rho)) to 30 digits."""
    with mp.workdps(40):
        r = mdc_roots(0.7, 1.0, 1)
        assert abs(r["Wq"] - mp.mpf(0.7) / (2 * (1 - mp.mpf(0.7)))) < mp.mpf(10) ** -30


def test_mphc_reference_reduces_to_mmc() -> None:
    """The M/PH/c chain with one exponential phase reproduces Erlang C's Wq."""
    r = mphc(3.2, *erlang_phases(1, 1.0), 4, 400)
    assert r["Wq"] == pytest.approx(float(erlang_c(4, 3.2)) / (4 - 3.2), rel=1e-9)


# ---- exact special cases -------------------------------------------------------------


@pytest.mark.parametrize(
    ("lam", "mu", "ca", "cs"),
    [
        (0.5, 1.0, 1.0, 1.0),  # M/M/1 at rho = 0.5
        (9.9, 10.0, 1.0, 1.0),  # M/M/1 at rho = 0.99
        (0.8, 1.0, 1.0, 0.0),  # M/D/1
        (3.0, 4.0, 1.0, 2.5),  # M/G/1, high-variance service
        (1e-3, 2.0, 1.0, 0.3),  # M/G/1, near-empty queue
    ],
)
def test_kingman_with_poisson_arrivals_is_pollaczek_khinchine(
    lam: float, mu: float, ca: float, cs: float
) -> None:
    """With ca^2 = 1 Kingman is the exact M/G/1 mean lambda E[S^2] / (2 (1 - rho))."""
    with mp.workdps(40):
        ES = 1 / mp.mpf(mu)
        rho = mp.mpf(lam) * ES
        Wq = mp.mpf(lam) * ES**2 * (1 + mp.mpf(cs)) / (2 * (1 - rho))
    m = gg1_kingman(arrival_rate=lam, arrival_scv=ca, service_rate=mu, service_scv=cs)
    assert m.Wq == pytest.approx(float(Wq), rel=REL)
    assert m.p_wait == pytest.approx(float(rho), rel=REL)
    assert m.W == pytest.approx(float(Wq + ES), rel=REL)
    assert m.method == "approx: Kingman"


@pytest.mark.parametrize(
    ("lam", "mu", "ca", "cs"),
    [
        (0.5, 1.0, 0.0, 1.0),  # D/M/1-like input
        (0.9, 1.0, 2.0, 0.5),  # bursty arrivals
        (0.99, 1.0, 0.25, 0.25),  # Erlang-4 both ways, heavy traffic
    ],
)
def test_kingman_formula(lam: float, mu: float, ca: float, cs: float) -> None:
    """Wq = rho / (1 - rho) (ca^2 + cs^2) / 2 E[S], evaluated in mpmath."""
    with mp.workdps(40):
        rho = mp.mpf(lam) / mu
        Wq = rho / (1 - rho) * (mp.mpf(ca) + mp.mpf(cs)) / 2 / mu
    m = gg1_kingman(arrival_rate=lam, arrival_scv=ca, service_mean=1 / mu, service_scv=cs)
    assert m.Wq == pytest.approx(float(Wq), rel=REL)


@pytest.mark.parametrize(
    ("lam", "c"),
    [
        (0.5, 1),  # M/M/1
        (8.0, 10),  # the Erlang C textbook case
        (95.0, 100),  # many servers, rho = 0.95
        (1.0, 50),  # light traffic, tiny C
    ],
)
def test_allen_cunneen_is_exact_for_mmc(lam: float, c: int) -> None:
    """With ca^2 = cs^2 = 1 Allen-Cunneen is M/M/c: Wq = C / (c mu - lambda), P(wait) = C."""
    C = erlang_c(c, lam)
    m = ggc_allen_cunneen(
        arrival_rate=lam, servers=c, arrival_scv=1, service_scv=1, service_rate=1.0
    )
    assert m.p_wait == pytest.approx(float(C), rel=REL)
    assert m.Wq == pytest.approx(float(C / (c - mp.mpf(lam))), rel=REL)
    for method in ("allen-cunneen", "cosmetatos"):
        g = mgc(arrival_rate=lam, servers=c, service_scv=1.0, service_rate=1.0, method=method)
        assert g.Wq == pytest.approx(float(C / (c - mp.mpf(lam))), rel=REL)


@pytest.mark.parametrize(
    ("lam", "c", "ca", "cs"),
    [
        (8.0, 10, 0.5, 2.0),  # smooth arrivals, variable service
        (3.0, 4, 3.0, 0.0),  # bursty arrivals, fixed service
    ],
)
def test_allen_cunneen_formula(lam: float, c: int, ca: float, cs: float) -> None:
    """Wq = C(c, a) / (c mu - lambda) (ca^2 + cs^2) / 2 with a 40-digit Erlang C."""
    C = erlang_c(c, lam / 2.0)
    Wq = C / (c * 2 - mp.mpf(lam)) * (ca + cs) / 2
    m = ggc_allen_cunneen(
        arrival_rate=lam, servers=c, arrival_scv=ca, service_scv=cs, service_mean=0.5
    )
    assert m.Wq == pytest.approx(float(Wq), rel=REL)
    assert m.p_wait == pytest.approx(float(C), rel=REL)
    assert m.method == "approx: Allen-Cunneen"


@pytest.mark.parametrize("case", [c for c in MDC if c["servers"] == 1], ids=_id)
@pytest.mark.parametrize("method", ["allen-cunneen", "cosmetatos"])
def test_mgc_is_exact_for_md1(case: dict, method: str) -> None:
    """With one server both M/G/c methods give the exact M/D/1 mean (Pollaczek-Khinchine)."""
    assert _mgc(case, method).Wq == pytest.approx(float(case["Wq"]), rel=REL)


# ---- accuracy against exact M/D/c, M/E2/c, M/H2/c ------------------------------------


def _err(got: float, case: dict) -> float:
    return got / float(case["Wq"]) - 1.0


@pytest.mark.parametrize("case", [c for c in MDC if c["servers"] > 1], ids=_id)
def test_cosmetatos_beats_allen_cunneen_on_mdc(case: dict) -> None:
    """On exact M/D/c, Cosmetatos is closer than Allen-Cunneen, which always underestimates."""
    ac = _err(_mgc(case, "allen-cunneen").Wq, case)
    co = _err(_mgc(case, "cosmetatos").Wq, case)
    assert ac < 0
    if float(case["rho"]) >= 0.5:
        assert abs(co) < abs(ac)


@pytest.mark.parametrize(
    "case",
    [c for c in MDC if c["servers"] in (2, 5, 10) and float(c["rho"]) >= 0.5],
    ids=_id,
)
def test_cosmetatos_within_one_percent_on_mdc(case: dict) -> None:
    """Cosmetatos is within 1 % of the exact M/D/c wait for c <= 10, rho >= 0.5."""
    assert abs(_err(_mgc(case, "cosmetatos").Wq, case)) < 0.01


@pytest.mark.parametrize("case", E2, ids=_id)
def test_cosmetatos_interpolation_on_erlang2_service(case: dict) -> None:
    """For cs^2 = 0.5 (M/E2/c) Cosmetatos is within 1 % and beats Allen-Cunneen."""
    ac = _err(_mgc(case, "allen-cunneen").Wq, case)
    co = _err(_mgc(case, "cosmetatos").Wq, case)
    assert abs(co) < 0.01
    assert abs(co) < abs(ac) < 0.10


@pytest.mark.parametrize("case", H2, ids=_id)
def test_allen_cunneen_overestimates_hyperexponential(case: dict) -> None:
    """For cs^2 = 2 (M/H2/c) both methods are Allen-Cunneen, high by less than 30 %."""
    ac = _mgc(case, "allen-cunneen")
    co = _mgc(case, "cosmetatos")
    assert co.Wq == ac.Wq
    assert 0 < _err(ac.Wq, case) < 0.30
    assert co.method == "approx: Cosmetatos (Allen-Cunneen where service_scv > 1)"


# ---- the approximate wait law ---------------------------------------------------------


def test_wait_law_mean_is_wq() -> None:
    """The approximate wait law integrates to the approximated mean wait."""
    m = mgc(arrival_rate=8.0, servers=10, service_scv=0.3, service_mean=1.0, method="cosmetatos")
    mean, _ = integrate.quad(lambda t: m.wait_tail(t), 0, np.inf)
    assert mean == pytest.approx(m.Wq, rel=1e-8)
    assert "approx" in m.quantile_method


@pytest.mark.parametrize(
    ("func", "kwargs"),
    [
        (gg1_kingman, {"arrival_scv": 2.0, "service_scv": 0.5}),  # G/G/1
        (ggc_allen_cunneen, {"servers": 4, "arrival_scv": 0.5, "service_scv": 1.5}),  # G/G/4
        (mgc, {"servers": 3, "service_scv": 0.0, "method": "cosmetatos"}),  # M/D/3
    ],
)
def test_wait_quantile_inverts_wait_tail(func, kwargs) -> None:  # type: ignore[no-untyped-def]
    """P(Wq > q_p) = 1 - p above the atom at 0, and q_p = 0 inside it."""
    m = func(arrival_rate=0.7 * kwargs.get("servers", 1), service_mean=1.0, **kwargs)
    p = np.array([0.5, 0.9, 0.99, 0.999])
    q = m.wait_quantile(p)
    inside = p <= 1 - m.p_wait
    assert np.all(q[inside] == 0)
    np.testing.assert_allclose(m.wait_tail(q[~inside]), 1 - p[~inside], rtol=1e-12)
    assert m.wait_cdf(0.0) == pytest.approx(1 - m.p_wait, rel=1e-12)


def test_response_law_is_not_guessed() -> None:
    """Response quantiles and tails raise: they need the whole service distribution."""
    m = ggc_allen_cunneen(
        arrival_rate=1.0, servers=2, arrival_scv=1.0, service_scv=0.5, service_rate=1.0
    )
    with pytest.raises(NotImplementedError, match="needs the whole service-time distribution"):
        m.response_quantile(0.99)
    with pytest.raises(NotImplementedError, match="response_tail"):
        m.response_tail(1.0)


def test_no_variability_means_no_wait() -> None:
    """D/D/1 and D/D/c (both scv 0) never wait: Wq = 0, P(wait) = 0, quantiles 0."""
    m = gg1_kingman(arrival_rate=0.9, arrival_scv=0, service_rate=1.0, service_scv=0)
    assert (m.Wq, m.p_wait, m.wait_quantile(0.999), m.wait_tail(0.0)) == (0.0, 0.0, 0.0, 0.0)
    g = ggc_allen_cunneen(
        arrival_rate=1.8, servers=2, arrival_scv=0, service_scv=0, service_rate=1.0
    )
    assert (g.Wq, g.p_wait) == (0.0, 0.0)


# ---- contract: stability, broadcasting, invariants, bad input -------------------------


@pytest.mark.parametrize(
    ("func", "kwargs"),
    [
        (gg1_kingman, {"arrival_scv": 1.0, "service_scv": 1.0}),  # rho = 1 exactly
        (ggc_allen_cunneen, {"servers": 1, "arrival_scv": 0.5, "service_scv": 0.5}),
        (mgc, {"servers": 1, "service_scv": 0.0, "method": "cosmetatos"}),
    ],
)
def test_unstable_is_infinite(func, kwargs) -> None:  # type: ignore[no-untyped-def]
    """rho >= 1 gives stable=False and inf means and quantiles, scalar and array."""
    m = func(arrival_rate=1.0, service_rate=1.0, **kwargs)
    assert m.stable is False
    assert math.isinf(m.Wq) and math.isinf(m.L) and math.isinf(m.wait_quantile(0.5))
    a = func(arrival_rate=[0.5, 1.0, 2.0], service_rate=1.0, **kwargs)
    np.testing.assert_array_equal(a.stable, [True, False, False])
    assert np.isfinite(a.Wq[0]) and np.all(np.isinf(a.Wq[1:])) and np.all(np.isinf(a.Lq[1:]))
    assert np.all(np.isinf(a.wait_quantile(0.9)[1:]))


def test_broadcasts_over_grids() -> None:
    """A column of loads against a row of scvs gives a grid equal to scalar calls."""
    lam = np.array([[1.0], [2.0], [3.5]])
    cs = np.array([0.0, 0.5, 1.0, 4.0])
    m = mgc(arrival_rate=lam, servers=4, service_scv=cs, service_rate=1.0, method="cosmetatos")
    assert m.Wq.shape == (3, 4)
    one = mgc(arrival_rate=2.0, servers=4, service_scv=4.0, service_rate=1.0, method="cosmetatos")
    assert m.Wq[1, 3] == one.Wq


loads = st.floats(0.01, 0.98)
scvs = st.floats(0.0, 5.0)
servers = st.integers(1, 60)


@given(rho=loads, c=servers, ca=scvs, cs=scvs)
def test_littles_law(rho: float, c: int, ca: float, cs: float) -> None:
    """L = lambda W and Lq = lambda Wq for every approximation."""
    lam = rho * c * 2.0
    for m in (
        ggc_allen_cunneen(
            arrival_rate=lam, servers=c, arrival_scv=ca, service_scv=cs, service_rate=2.0
        ),
        mgc(arrival_rate=lam, servers=c, service_scv=cs, service_rate=2.0, method="cosmetatos"),
    ):
        assert m.L == pytest.approx(lam * m.W, rel=1e-12)
        assert m.Lq == pytest.approx(lam * m.Wq, rel=1e-12, abs=1e-300)


@given(rho=loads, c=servers, ca=scvs, cs=scvs)
def test_allen_cunneen_monotone_in_load_and_servers(
    rho: float, c: int, ca: float, cs: float
) -> None:
    """Allen-Cunneen's wait grows with the load and shrinks with another server."""

    def wq(lam: float, k: int) -> float:
        return ggc_allen_cunneen(
            arrival_rate=lam, servers=k, arrival_scv=ca, service_scv=cs, service_rate=1.0
        ).Wq

    lam = rho * c
    assert wq(lam * 1.01, c) >= wq(lam, c)
    assert wq(lam, c + 1) <= wq(lam, c)


@given(rho=loads, c=servers, cs=st.floats(0.0, 1.0))
def test_cosmetatos_never_below_allen_cunneen(rho: float, c: int, cs: float) -> None:
    """For cs^2 <= 1 the Cosmetatos correction only adds wait (gamma >= 0).

    At c = 1 (or cs^2 = 1) the correction is exactly zero and the two methods are the
    same number computed in a different order: equal up to rounding (a few ulp).
    """
    kw = {"arrival_rate": rho * c, "servers": c, "service_scv": cs, "service_rate": 1.0}
    cos, ac = mgc(**kw, method="cosmetatos").Wq, mgc(**kw, method="allen-cunneen").Wq
    assert cos >= ac * (1 - 4 * np.finfo(float).eps)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"service_scv": -0.5},
            r"The 'service_scv' argument of mgc must be a finite number "
            r">= 0\. Got -0\.5 instead\.",
        ),
        ({"service_scv": float("nan")}, "'service_scv' argument of mgc"),
        ({"servers": 0}, r"The 'servers' argument of mgc must be an integer >= 1\. Got 0"),
        ({"servers": 2.5}, r"'servers' argument of mgc must be an integer >= 1\. Got 2\.5"),
        ({"arrival_rate": -1.0}, "'arrival_rate' argument of mgc"),
        (
            {"method": "whitt"},
            r"The 'method' argument of mgc must be one of 'allen-cunneen', "
            r"'cosmetatos'\. Got 'whitt' instead\.",
        ),
        ({"service_mean": 1.0}, "exactly one of 'service_rate'"),  # both given
        ({"arrival_rate": [1.0, 2.0], "servers": [1, 2, 3]}, "must broadcast to one shape"),
    ],
)
def test_mgc_rejects_bad_input(kwargs: dict, match: str) -> None:
    """Bad arguments raise InvalidArgumentError with the one message template."""
    base = {"arrival_rate": 1.0, "servers": 2, "service_scv": 0.5, "service_rate": 1.0}
    with pytest.raises(InvalidArgumentError, match=match):
        mgc(**{**base, **kwargs})


@pytest.mark.parametrize(
    ("func", "kwargs", "match"),
    [
        (gg1_kingman, {"arrival_scv": float("inf")}, "'arrival_scv' argument of gg1_kingman"),
        (gg1_kingman, {"service_rate": 0.0}, "'service_rate' argument of gg1_kingman"),
        (ggc_allen_cunneen, {"servers": -3}, "'servers' argument of ggc_allen_cunneen"),
        (ggc_allen_cunneen, {"arrival_scv": -1}, "'arrival_scv' argument of ggc_allen_cunneen"),
    ],
)
def test_gg_rejects_bad_input(func, kwargs: dict, match: str) -> None:  # type: ignore[no-untyped-def]
    """G/G solvers validate every argument with the template."""
    base = {"arrival_rate": 1.0, "arrival_scv": 1.0, "service_scv": 1.0, "service_rate": 2.0}
    if func is ggc_allen_cunneen:
        base["servers"] = 2
    with pytest.raises(InvalidArgumentError, match=match):
        func(**{**base, **kwargs})
