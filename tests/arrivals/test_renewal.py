"""Poisson, Deterministic and Renewal arrivals (qsim.arrivals.renewal)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from qsim.arrivals import Deterministic, Poisson, Renewal
from qsim.distributions import (
    Deterministic as Constant,
)
from qsim.distributions import (
    Empirical,
    Erlang,
    Exponential,
    Gamma,
    HyperExponential,
    Lognormal,
    Uniform,
)
from qsim.errors import InvalidArgumentError
from tests.arrivals.checks import ALPHA, covers, mean_interval, poisson_pvalue, scv_interval


@pytest.mark.parametrize(
    ("rate", "horizon"),
    [
        (3.0, 100.0),  # a few hundred arrivals: one internal window
        (2e5, 2.0),  # 400k arrivals: several windows of 65536 expected
        (1e-3, 5000.0),  # a handful of arrivals
    ],
)
def test_poisson_count_is_poisson(rate: float, horizon: float) -> None:
    """N[0, T) passes the exact two-sided Poisson test with mean rate * T."""
    n = Poisson(rate=rate).times(np.random.default_rng(17), horizon).size
    assert poisson_pvalue(n, rate * horizon) > ALPHA


def test_poisson_gaps_are_exponential() -> None:
    """Gaps have mean 1/rate and scv 1 within CIs, and pass a KS test (seed fixed, alpha 1e-3)."""
    rate = 250.0
    t = Poisson(rate=rate).times(np.random.default_rng(5), 800.0)
    gaps = np.diff(t)
    assert covers(mean_interval(gaps), 1.0 / rate)
    assert covers(scv_interval(gaps), 1.0)
    assert stats.kstest(gaps, stats.expon(scale=1.0 / rate).cdf).pvalue > ALPHA


def test_poisson_counts_on_disjoint_windows_are_independent_poisson() -> None:
    """Counts in 400 unit windows: mean and variance both equal the rate (dispersion test)."""
    t = Poisson(rate=30.0).times(np.random.default_rng(8), 400.0)
    counts = np.bincount(t.astype(int), minlength=400)
    dispersion = counts.var(ddof=1) * (counts.size - 1) / counts.mean()
    p = stats.chi2.sf(dispersion, counts.size - 1)
    assert ALPHA / 2 < p < 1 - ALPHA / 2
    assert poisson_pvalue(int(counts.sum()), 30.0 * 400) > ALPHA


def test_poisson_rate_zero_has_no_arrivals() -> None:
    """rate = 0 is allowed and produces nothing, even on an endless stream."""
    p = Poisson(rate=0.0)
    assert p.times(np.random.default_rng(0), 1e9).size == 0
    assert list(p.blocks(np.random.default_rng(0), np.inf)) == []


def test_deterministic_fixed_phase_is_exact() -> None:
    """With phase given, arrival k is at phase + k / rate exactly."""
    t = Deterministic(rate=8.0, phase=0.05).times(np.random.default_rng(0), 100.0)
    np.testing.assert_allclose(t, 0.05 + np.arange(800) / 8.0, rtol=0, atol=1e-12)


def test_deterministic_random_phase_is_uniform() -> None:
    """phase=None: the first arrival is uniform on [0, 1/rate) across seeds (KS, alpha 1e-3)."""
    p = Deterministic(rate=4.0)
    first = [p.times(np.random.default_rng(s), 1.0)[0] for s in range(1500)]
    assert stats.kstest(first, stats.uniform(scale=0.25).cdf).pvalue > ALPHA
    t = p.times(np.random.default_rng(3), 10.0)
    np.testing.assert_allclose(np.diff(t), 0.25, rtol=1e-12)


def test_deterministic_count_is_floor_or_ceil() -> None:
    """N[0, T) is floor(rate T) or ceil(rate T), with mean rate T across random phases."""
    p = Deterministic(rate=3.0)
    counts = np.array([p.times(np.random.default_rng(s), 10.3).size for s in range(400)])
    assert set(counts) <= {30, 31}
    assert covers(mean_interval(counts), 30.9)


# (id, inter-arrival law): families with different shapes of the stationary excess
LAWS = [
    ("exponential", Exponential(mean=0.2)),  # excess = the law itself
    ("erlang-3", Erlang(mean=0.2, k=3)),  # smooth, scv 1/3
    ("hyperexp", HyperExponential(mean=0.2, scv=6.0)),  # bursty
    ("lognormal", Lognormal(mean=0.2, scv=2.0)),  # heavy-ish tail
    ("uniform", Uniform(low=0.1, high=0.3)),  # bounded support
    ("constant", Constant(value=0.2)),  # excess uniform on [0, 0.2)
]


@pytest.mark.parametrize("law", [law for _, law in LAWS], ids=[i for i, _ in LAWS])
def test_renewal_gaps_follow_the_law(law: object) -> None:
    """Gaps after the first arrival have the law's mean and scv (CIs) and cdf (KS)."""
    t = Renewal(interarrival=law).times(np.random.default_rng(21), 4000.0)  # type: ignore[arg-type]
    gaps = np.diff(t)
    if law.scv == 0:  # type: ignore[attr-defined]
        np.testing.assert_allclose(gaps, law.mean, rtol=1e-9)  # type: ignore[attr-defined]
        return
    assert covers(mean_interval(gaps), law.mean)  # type: ignore[attr-defined]
    assert covers(scv_interval(gaps), law.scv)  # type: ignore[attr-defined]
    assert stats.kstest(gaps, law.cdf).pvalue > ALPHA  # type: ignore[attr-defined]


def _excess_cdf(law: object, upto: float) -> object:
    """x -> (1 / mean) * integral_0^x P(S > u) du, by the trapezoid rule on a fine grid."""
    grid = np.linspace(0.0, upto, 200_001)
    sf = np.asarray(law.sf(grid))  # type: ignore[attr-defined]
    cdf = np.concatenate(([0.0], np.cumsum((sf[1:] + sf[:-1]) / 2 * np.diff(grid)))) / law.mean  # type: ignore[attr-defined]
    return lambda x: np.interp(x, grid, cdf)


@pytest.mark.parametrize("law", [law for _, law in LAWS], ids=[i for i, _ in LAWS])
def test_stationary_first_arrival_follows_the_excess_law(law: object) -> None:
    """stationary=True: the first arrival has the excess cdf (numerical integral), KS over 500 seeds."""
    p = Renewal(interarrival=law)  # type: ignore[arg-type]
    first = np.array([p.times(np.random.default_rng(s), 60.0)[0] for s in range(500)])
    assert stats.kstest(first, _excess_cdf(law, first.max())).pvalue > ALPHA


def test_ordinary_renewal_first_arrival_is_a_full_gap() -> None:
    """stationary=False: the first arrival is a full inter-arrival draw (KS)."""
    law = Gamma(mean=0.5, scv=0.5)
    p = Renewal(interarrival=law, stationary=False)
    first = [p.times(np.random.default_rng(s), 50.0)[0] for s in range(600)]
    assert stats.kstest(first, stats.gamma(2.0, scale=0.25).cdf).pvalue > ALPHA


def test_stationary_renewal_mean_count_is_exact_on_short_windows() -> None:
    """Stationary start: E N[0, T) = T / mean even for T of one or two gaps (t-interval)."""
    p = Renewal(interarrival=Erlang(mean=1.0, k=4))
    counts = [p.times(np.random.default_rng(s), 1.5).size for s in range(800)]
    assert covers(mean_interval(np.array(counts)), 1.5)


def test_renewal_moments() -> None:
    """mean_rate = 1 / E[S] and scv = the law's scv."""
    p = Renewal(interarrival=HyperExponential(mean=0.004, scv=3.0))
    assert p.mean_rate == pytest.approx(250.0, rel=1e-14) and p.scv == 3.0
    assert Poisson(rate=7.0).scv == 1.0 and Deterministic(rate=7.0).scv == 0.0


@pytest.mark.parametrize(
    ("law", "scaled"),
    [
        (Exponential(mean=1.0), Exponential(mean=0.25)),  # mean divided
        (Erlang(mean=1.0, k=3), Erlang(mean=0.25, k=3)),  # shape kept
        (Uniform(low=0.2, high=1.0), Uniform(low=0.05, high=0.25)),  # both ends
        (Constant(value=2.0), Constant(value=0.5)),  # the constant itself
        (Empirical(samples=[1.0, 2.0, 4.0]), Empirical(samples=[0.25, 0.5, 1.0])),  # every sample
    ],
)
def test_renewal_scale_compresses_time(law: object, scaled: object) -> None:
    """Renewal.scale(4) divides every inter-arrival time by 4."""
    assert Renewal(interarrival=law).scale(4.0) == Renewal(interarrival=scaled)  # type: ignore[arg-type]


def test_deterministic_scale_keeps_a_fixed_phase_in_range() -> None:
    """Deterministic.scale multiplies the rate and divides a fixed phase."""
    assert Deterministic(rate=2.0, phase=0.4).scale(4.0) == Deterministic(rate=8.0, phase=0.1)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: Poisson(rate=-1.0),
            r"^The 'rate' argument of Poisson must be a finite number >= 0. Got -1.0 instead.$",
        ),
        (
            lambda: Poisson(rate=np.nan),
            r"'rate' argument of Poisson must be a finite number >= 0. Got nan",
        ),
        (lambda: Poisson(rate=[1.0, 2.0]), r"'rate' argument of Poisson .* Got \[1.0, 2.0\]"),
        (lambda: Poisson(rate="fast"), r"'rate' argument of Poisson must be a real number"),
        (
            lambda: Deterministic(rate=0.0),
            r"'rate' argument of Deterministic must be a number > 0 and finite. Got 0.0",
        ),
        (
            lambda: Deterministic(rate=4.0, phase=0.25),
            r"'phase' argument of Deterministic must be None or a number in \[0, 1/rate = 0.25\). Got 0.25",
        ),
        (
            lambda: Deterministic(rate=4.0, phase=-0.1),
            r"'phase' argument of Deterministic must be a finite number >= 0. Got -0.1",
        ),
        (
            lambda: Renewal(interarrival=0.2),
            r"'interarrival' argument of Renewal must be a qsim.distributions.Distribution. Got 'float'",
        ),
        (
            lambda: Renewal(interarrival=Exponential(mean=1.0), stationary="yes"),
            r"'stationary' argument of Renewal must be True or False. Got 'yes'",
        ),
    ],
)
def test_constructor_validation(build: object, message: str) -> None:
    """Bad parameters raise InvalidArgumentError with the one template."""
    with pytest.raises(InvalidArgumentError, match=message):
        build()  # type: ignore[operator]
