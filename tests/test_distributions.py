"""Service-time distributions against mpmath quadrature, scipy, and large samples."""

from __future__ import annotations

import dataclasses
import re

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy import stats as sps

from qsim.distributions import (
    Deterministic,
    Distribution,
    Empirical,
    Erlang,
    Exponential,
    Gamma,
    HyperExponential,
    Lognormal,
    Uniform,
    from_mean_scv,
)
from qsim.errors import InvalidArgumentError
from tests.reference import ref_distributions as ref

# (family name in the reference, reference parameters, the object under test)
CONTINUOUS = [
    ("exponential", {"mean": 0.05}, Exponential(mean=0.05)),  # 50 ms, scv 1
    ("erlang", {"mean": 2.0, "k": 4}, Erlang(mean=2.0, k=4)),  # scv 1/4
    ("gamma", {"mean": 1.0, "scv": 0.3}, Gamma(mean=1.0, scv=0.3)),  # shape 3.33
    ("gamma", {"mean": 3.0, "scv": 2.5}, Gamma(mean=3.0, scv=2.5)),  # shape < 1: pole at 0
    ("lognormal", {"mean": 0.05, "scv": 1.5}, Lognormal(mean=0.05, scv=1.5)),  # DESIGN.md's
    ("lognormal", {"mean": 1.0, "scv": 0.04}, Lognormal(mean=1.0, scv=0.04)),  # near-normal
    ("hyperexponential", {"mean": 1.0, "scv": 4.0}, HyperExponential(mean=1.0, scv=4.0)),
    ("hyperexponential", {"mean": 0.2, "scv": 1.0}, HyperExponential(mean=0.2, scv=1.0)),  # = exp
    ("uniform", {"low": 0.01, "high": 0.09}, Uniform(low=0.01, high=0.09)),
]
IDS = [f"{d!r}" for _, _, d in CONTINUOUS]
DISCRETE = [
    Deterministic(value=0.02),
    Empirical(samples=[0.1, 0.4, 0.4, 0.25, 1.3]),
]
ALL = [d for _, _, d in CONTINUOUS] + DISCRETE
REL = 1e-10


def _points(d: Distribution) -> np.ndarray:
    """Evaluation points from the far left tail to the far right tail of ``d``."""
    return np.asarray(d.ppf([1e-6, 0.01, 0.3, 0.5, 0.7, 0.99, 1 - 1e-6]), dtype=float)


@pytest.mark.parametrize(("family", "params", "dist"), CONTINUOUS, ids=IDS)
def test_moments_match_mpmath_quadrature(family: str, params: dict, dist: Distribution) -> None:
    """mean, var, scv and std equal the integrals of the textbook density."""
    mean, var = ref.moments(family, **params)
    assert dist.mean == pytest.approx(float(mean), rel=REL)
    assert dist.var == pytest.approx(float(var), rel=REL)
    assert dist.scv == pytest.approx(float(var / mean**2), rel=REL)
    assert dist.std == pytest.approx(float(mp.sqrt(var)), rel=REL)


@pytest.mark.parametrize("dist", ALL, ids=repr)
def test_moments_match_scipy(dist: Distribution) -> None:
    """The scipy equivalent has the same mean and variance (the law is the same)."""
    frozen = dist.to_scipy()
    assert dist.mean == pytest.approx(frozen.mean(), rel=1e-12)
    assert dist.var == pytest.approx(frozen.var(), rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(("family", "params", "dist"), CONTINUOUS, ids=IDS)
def test_cdf_sf_match_mpmath(family: str, params: dict, dist: Distribution) -> None:
    """cdf and sf equal the integrals of the density, each to 1e-10 of itself."""
    for x in _points(dist):
        assert dist.cdf(x) == pytest.approx(float(ref.cdf(family, x, **params)), rel=REL)
        assert dist.sf(x) == pytest.approx(float(ref.sf(family, x, **params)), rel=REL)


@pytest.mark.parametrize("dist", ALL, ids=repr)
def test_cdf_sf_ppf_match_scipy(dist: Distribution) -> None:
    """cdf, sf and ppf agree with the scipy equivalent everywhere, atoms included."""
    frozen = dist.to_scipy()
    x = np.concatenate([[-1.0, 0.0], _points(dist), dist.ppf([0.2, 0.6]) * 1.5])
    np.testing.assert_allclose(dist.cdf(x), frozen.cdf(x), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(dist.sf(x), frozen.sf(x), rtol=1e-10, atol=1e-300)
    q = np.array([1e-9, 0.01, 0.2, 0.5, 0.6, 0.95, 1 - 1e-9])
    # scipy inverts the hyperexponential cdf numerically, to about 1e-8 only
    rtol = 1e-7 if isinstance(dist, HyperExponential) else 1e-9
    np.testing.assert_allclose(dist.ppf(q), frozen.ppf(q), rtol=rtol)


@pytest.mark.parametrize(("family", "params", "dist"), CONTINUOUS, ids=IDS)
def test_ppf_inverts_cdf(family: str, params: dict, dist: Distribution) -> None:
    """cdf(ppf(q)) = q, and ppf(0) / ppf(1) are the ends of the support."""
    q = np.array([1e-12, 1e-6, 0.1, 0.5, 0.9, 1 - 1e-6])
    np.testing.assert_allclose(dist.cdf(dist.ppf(q)), q, rtol=1e-9, atol=1e-15)
    lo, hi = params.get("low", 0.0), params.get("high", np.inf)
    assert dist.ppf(0.0) == pytest.approx(lo) and dist.ppf(1.0) == hi


@pytest.mark.parametrize("dist", ALL, ids=repr)
def test_partial_mean_is_integral_of_sf(dist: Distribution) -> None:
    """partial_mean(x) = integral_0^x sf(u) du (scipy quad), to 1e-9 relative."""
    for x in [*_points(dist), 3 * dist.mean]:
        kinks = [v for v in np.unique(dist.ppf(np.linspace(0, 1, 11))) if 0 < v < x]
        exact, _ = integrate.quad(
            dist.sf, 0.0, x, points=kinks or None, epsabs=0, epsrel=1e-12, limit=200
        )
        assert dist.partial_mean(x) == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize(("family", "params", "dist"), CONTINUOUS, ids=IDS)
def test_partial_and_excess_mean_match_mpmath(
    family: str, params: dict, dist: Distribution
) -> None:
    """E[min(S, x)] and E[(S - x)^+] equal the mpmath integrals, the tail one relatively."""
    mean, _ = ref.moments(family, **params)
    for x in _points(dist):
        pm = ref.partial_mean(family, x, **params)
        assert dist.partial_mean(x) == pytest.approx(float(pm), rel=REL)
        assert dist.excess_mean(x) == pytest.approx(float(mean - pm), rel=1e-8)


@pytest.mark.parametrize("dist", ALL, ids=repr)
def test_partial_mean_limits(dist: Distribution) -> None:
    """partial_mean is x below 0, mean at +inf; excess_mean is mean - x below 0, 0 at +inf."""
    assert dist.partial_mean(-2.0) == -2.0 and dist.partial_mean(np.inf) == dist.mean
    assert dist.excess_mean(-2.0) == dist.mean + 2.0 and dist.excess_mean(np.inf) == 0.0
    assert dist.partial_mean(0.0) == 0.0


@pytest.mark.parametrize("dist", ALL, ids=repr)
def test_sample_moments_within_confidence_intervals(dist: Distribution) -> None:
    """The sample mean and mean squared deviation cover mean and var at 5 sigma (200k draws)."""
    x = dist.sample(200_000, np.random.default_rng(20240611))
    n = x.size
    assert abs(x.mean() - dist.mean) <= 5 * x.std() / np.sqrt(n) + 1e-15
    dev2 = (x - dist.mean) ** 2
    assert abs(dev2.mean() - dist.var) <= 5 * dev2.std() / np.sqrt(n) + 1e-15


@pytest.mark.parametrize(("family", "params", "dist"), CONTINUOUS, ids=IDS)
def test_samples_follow_the_cdf(family: str, params: dict, dist: Distribution) -> None:
    """A Kolmogorov-Smirnov test against the cdf does not reject (p > 1e-3, 50k draws)."""
    x = dist.sample(50_000, np.random.default_rng(7))
    assert sps.kstest(x, dist.cdf).pvalue > 1e-3


@pytest.mark.parametrize("dist", ALL, ids=repr)
def test_same_seed_same_samples(dist: Distribution) -> None:
    """Samples depend only on the generator: same seed, same array; shape and dtype kept."""
    a = dist.sample((3, 4), np.random.default_rng(11))
    b = dist.sample((3, 4), np.random.default_rng(11))
    assert a.shape == (3, 4) and a.dtype == np.float64
    np.testing.assert_array_equal(a, b)
    assert dist.sample((), np.random.default_rng(1)).shape == ()
    assert dist.sample(0, np.random.default_rng(1)).shape == (0,)
    assert np.all(dist.sample(1000, np.random.default_rng(3)) >= 0)


@pytest.mark.parametrize("dist", ALL, ids=repr)
def test_sample_into_equals_sample(dist: Distribution) -> None:
    """sample_into fills a buffer with exactly the draws sample returns, and leaves the
    generator where sample leaves it (engines mix the two on one stream)."""
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    out = np.full(4097, np.nan)
    assert dist.sample_into(out, g1) is out
    np.testing.assert_array_equal(out, dist.sample(4097, g2))
    np.testing.assert_array_equal(dist.sample(7, g1), dist.sample(7, g2))


def test_different_seeds_differ() -> None:
    """Two seeds give different draws (the generator is really used)."""
    d = Lognormal(mean=1.0, scv=1.0)
    assert not np.array_equal(
        d.sample(10, np.random.default_rng(1)), d.sample(10, np.random.default_rng(2))
    )


def test_hyperexponential_is_balanced() -> None:
    """Both phases carry half the mean: p_i / r_i = mean / 2 (Whitt's balanced means)."""
    d = HyperExponential(mean=3.0, scv=5.0)
    p1, p2, r1, r2 = d._phases
    assert p1 / r1 == pytest.approx(1.5) and p2 / r2 == pytest.approx(1.5)
    assert p1 + p2 == pytest.approx(1.0)


def test_empirical_is_read_only_and_compares_by_value() -> None:
    """Empirical stores a sorted read-only copy; equal samples give equal, hashable objects."""
    raw = np.array([0.3, 0.1, 0.2])
    d = Empirical(samples=raw)
    raw[0] = 99.0
    np.testing.assert_array_equal(d.samples, [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="read-only"):
        d.samples[0] = 1.0
    assert d == Empirical(samples=[0.2, 0.3, 0.1]) and hash(d) == hash(
        Empirical(samples=[0.1, 0.2, 0.3])
    )
    assert d.var == pytest.approx(np.var([0.1, 0.2, 0.3]))  # divisor n: the resampled law


@pytest.mark.parametrize("dist", ALL, ids=repr)
def test_frozen_and_keyword_only(dist: Distribution) -> None:
    """Distributions are immutable value objects built from keywords only."""
    name = dataclasses.fields(dist)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(dist, name, 1.0)
    with pytest.raises(TypeError):
        type(dist)(1.0)


BAD = [
    # the template: name, function, allowed, offending value
    (
        lambda: Lognormal(mean=1.0, scv=-1.5),
        "The 'scv' argument of Lognormal must be a number > 0 and finite. Got -1.5 instead.",
    ),
    (
        lambda: Exponential(mean=0.0),
        "The 'mean' argument of Exponential must be a number > 0 and finite. Got 0.0 instead.",
    ),
    (
        lambda: Gamma(mean=float("nan"), scv=1.0),
        "The 'mean' argument of Gamma must be a number > 0 and finite. Got nan instead.",
    ),
    (
        lambda: Deterministic(value=float("inf")),
        "The 'value' argument of Deterministic must be a number > 0 and finite. Got inf instead.",
    ),
    (
        lambda: Erlang(mean=1.0, k=2.5),
        "The 'k' argument of Erlang must be an integer >= 1. Got 2.5 instead.",
    ),
    (
        lambda: Erlang(mean=1.0, k=0),
        "The 'k' argument of Erlang must be an integer >= 1. Got 0 instead.",
    ),
    (
        lambda: HyperExponential(mean=1.0, scv=0.5),
        "The 'scv' argument of HyperExponential must be a number >= 1 and finite. Got 0.5 instead.",
    ),
    (
        lambda: Uniform(low=0.5, high=0.5),
        "The 'high' argument of Uniform must be a finite number > low (0.5). Got 0.5 instead.",
    ),
    (
        lambda: Uniform(low=-1.0, high=0.5),
        "The 'low' argument of Uniform must be a finite number >= 0. Got -1.0 instead.",
    ),
    (
        lambda: Empirical(samples=[0.1, -0.2]),
        "The 'samples' argument of Empirical must be a finite number >= 0. Got -0.2 at index 1",
    ),
    (
        lambda: Empirical(samples=[]),
        "The 'samples' argument of Empirical must be a non-empty 1-d array",
    ),
    (lambda: Empirical(samples=[0.0, 0.0]), "not all 0. Got 'all zeros' instead."),
    (
        lambda: Lognormal(mean=[1.0, 2.0], scv=1.0),
        "The 'mean' argument of Lognormal must be a number > 0 and finite. Got [1.0, 2.0] instead.",
    ),
    (
        lambda: Exponential(mean=1.0).sample(3, np.random.RandomState(0)),
        "The 'rng' argument of Exponential.sample must be a numpy.random.Generator. "
        "Got 'RandomState' instead.",
    ),
    (
        lambda: Exponential(mean=1.0).sample(-1, np.random.default_rng(0)),
        "The 'shape' argument of Exponential.sample must be an integer >= 0 or a tuple of them.",
    ),
    (
        lambda: Exponential(mean=1.0).sample(2.5, np.random.default_rng(0)),
        "The 'shape' argument of Exponential.sample must be an integer >= 0",
    ),
    (
        lambda: Gamma(mean=1.0, scv=1.0).ppf([0.5, 1.5]),
        "The 'q' argument of Gamma.ppf must be a probability in [0, 1]. Got 1.5 instead.",
    ),
    (
        lambda: Gamma(mean=1.0, scv=1.0).cdf(float("nan")),
        "The 'x' argument of Gamma.cdf must be a real number (not NaN). Got 'nan' instead.",
    ),
]


@pytest.mark.parametrize(("make", "message"), BAD)
def test_bad_parameters_raise_with_the_template(make, message: str) -> None:
    """Bad parameters raise InvalidArgumentError naming function, parameter, value, range."""
    with pytest.raises(InvalidArgumentError, match=re.escape(message)):
        make()


ROUND_TRIPS = [
    ("exponential", 1.0, Exponential),
    ("deterministic", 0.0, Deterministic),
    ("erlang", 0.25, Erlang),  # k = 4
    ("erlang", 1 / 3, Erlang),  # 1/scv = 3 up to rounding
    ("gamma", 0.7, Gamma),
    ("lognormal", 3.0, Lognormal),
    ("hyperexponential", 1.0, HyperExponential),
    ("hyperexponential", 9.0, HyperExponential),
]


@pytest.mark.parametrize(("family", "scv", "cls"), ROUND_TRIPS)
def test_from_mean_scv_round_trip(family: str, scv: float, cls: type) -> None:
    """from_mean_scv builds the family with exactly the requested mean and scv."""
    d = from_mean_scv(family, 0.05, scv)
    assert type(d) is cls
    assert d.mean == pytest.approx(0.05, rel=1e-15)
    assert d.scv == pytest.approx(scv, rel=1e-12, abs=0)


FACTORY_ERRORS = [
    ("erlang", 0.3, "from_mean_scv(family='erlang') must be 1/k for an integer k >= 1"),
    ("erlang", 2.0, "(0 < scv <= 1). Got 2.0 instead."),
    (
        "exponential",
        1.5,
        "The 'scv' argument of from_mean_scv(family='exponential') must be "
        "exactly 1. Got 1.5 instead.",
    ),
    ("deterministic", 0.1, "family='deterministic') must be exactly 0. Got 0.1"),
    ("hyperexponential", 0.5, "family='hyperexponential') must be a number >= 1 and finite"),
    ("gamma", 0.0, "family='gamma') must be a number > 0 and finite. Got 0.0"),
    ("lognormal", -1.0, "family='lognormal') must be a number > 0 and finite. Got -1.0"),
    (
        "weibull",
        1.0,
        "The 'family' argument of from_mean_scv must be one of 'exponential', "
        "'deterministic', 'erlang', 'gamma', 'lognormal', 'hyperexponential'. "
        "Got 'weibull' instead.",
    ),
]


@pytest.mark.parametrize(("family", "scv", "message"), FACTORY_ERRORS)
def test_from_mean_scv_rejects_out_of_range_scv(family: str, scv: float, message: str) -> None:
    """An scv outside the family's range is an error naming the family and the range."""
    with pytest.raises(InvalidArgumentError, match=re.escape(message)):
        from_mean_scv(family, 1.0, scv)


FAMILIES = st.sampled_from(["gamma", "lognormal", "hyperexponential"])


@settings(max_examples=60, deadline=None)
@given(
    family=FAMILIES, mean=st.floats(1e-3, 1e3), scv=st.floats(1.0, 50.0), frac=st.floats(0.0, 30.0)
)
def test_stationary_excess_identities(family: str, mean: float, scv: float, frac: float) -> None:
    """partial + excess = mean, partial_mean <= min(x, mean), and it grows with x."""
    d = from_mean_scv(family, mean, scv)
    x = frac * mean
    pm, em = d.partial_mean(x), d.excess_mean(x)
    assert pm + em == pytest.approx(mean, rel=1e-12)
    assert 0 <= pm <= min(x, mean) * (1 + 1e-14) and em >= 0
    assert d.partial_mean(x * 1.01 + 1e-9) >= pm
