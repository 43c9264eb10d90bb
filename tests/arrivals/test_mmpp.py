"""Markov-modulated Poisson arrivals (qsim.arrivals.mmpp)."""

from __future__ import annotations

import numpy as np
import pytest

from qsim.arrivals import MMPP
from qsim.errors import InvalidArgumentError
from tests.arrivals.checks import covers, mean_interval, variance_interval
from tests.reference import ref_mmpp

THREE_RATES = [2.0, 15.0, 60.0]
THREE_Q = [[-0.5, 0.3, 0.2], [1.0, -1.5, 0.5], [2.0, 2.0, -4.0]]


@pytest.mark.parametrize(
    ("l1", "l2", "r1", "r2"),
    [
        (10.0, 90.0, 2.0, 5.0),  # moderate burst
        (0.0, 50.0, 0.1, 1.0),  # on/off source (interrupted Poisson)
        (100.0, 101.0, 30.0, 40.0),  # nearly Poisson: scv just above 1
        (1e3, 1.0, 1e-3, 1e-2),  # long, rare bursts: scv in the thousands
        (1e-3, 1e4, 1e3, 1e3),  # very fast switching: nearly Poisson at the mean
    ],
)
def test_two_state_moments_match_closed_forms(l1: float, l2: float, r1: float, r2: float) -> None:
    """Two states: mean_rate, scv (asymptotic IDC) and Var N(t) equal the mpmath closed forms."""
    p = MMPP(rates=[l1, l2], generator=[[-r1, r1], [r2, -r2]])
    t = np.logspace(-6, 7, 27)  # from far below to far above the correlation time
    exact = np.array([ref_mmpp.two_state_moments(l1, l2, r1, r2, x) for x in t])
    assert p.mean_rate == pytest.approx(exact[0, 0], rel=1e-13)
    assert p.scv == pytest.approx(exact[0, 2], rel=1e-12)
    np.testing.assert_allclose(p.count_variance(t), exact[:, 1], rtol=1e-12)
    np.testing.assert_allclose(p.stationary, [r2 / (r1 + r2), r1 / (r1 + r2)], rtol=1e-12)


def test_three_state_stationary_matches_mpmath() -> None:
    """pi solves pi Q = 0 (mpmath, 40 digits) to 1e-12."""
    p = MMPP(rates=THREE_RATES, generator=THREE_Q)
    np.testing.assert_allclose(p.stationary, ref_mmpp.stationary(THREE_Q), rtol=1e-12)
    assert p.mean_rate == pytest.approx(
        np.dot(ref_mmpp.stationary(THREE_Q), THREE_RATES), rel=1e-12
    )


@pytest.mark.parametrize("t", [0.05, 1.0, 4.0])
def test_three_state_count_moments_match_the_counting_chain(t: float) -> None:
    """E N(t) and Var N(t) equal the moments of the truncated (state, count) chain."""
    p = MMPP(rates=THREE_RATES, generator=THREE_Q)
    mean, var, lost = ref_mmpp.count_moments_by_chain(THREE_RATES, THREE_Q, t, kmax=400)
    assert lost < 1e-15
    assert p.mean_rate * t == pytest.approx(mean, rel=1e-10)
    assert p.count_variance(t) == pytest.approx(var, rel=1e-12)
    np.testing.assert_allclose(
        p.count_variance([t, 2 * t]), [p.count_variance(t), p.count_variance(2 * t)], rtol=1e-14
    )


def test_three_state_scv_matches_quadrature() -> None:
    """scv = 1 + (2 / mean) * integral of the covariance density (adaptive quadrature)."""
    p = MMPP(rates=THREE_RATES, generator=THREE_Q)
    assert p.scv == pytest.approx(ref_mmpp.idc_by_quadrature(THREE_RATES, THREE_Q), rel=1e-12)


def test_count_variance_tends_to_scv_times_mean() -> None:
    """Var N(t) / E N(t) increases to scv as t grows (the index of dispersion)."""
    p = MMPP(rates=THREE_RATES, generator=THREE_Q)
    t = np.array([0.1, 1.0, 10.0, 100.0, 1e4, 1e6])
    idc = p.count_variance(t) / (p.mean_rate * t)
    assert np.all(np.diff(idc) > 0) and idc[0] > 1.0
    assert idc[-1] == pytest.approx(p.scv, rel=1e-5)


@pytest.mark.parametrize(
    ("process", "horizon"),
    [
        (MMPP(rates=THREE_RATES, generator=THREE_Q), 4.0),  # three states, general jumps
        (MMPP.from_sojourns(rates=[0.0, 40.0], mean_sojourns=[0.6, 0.3]), 3.0),  # on/off
        (
            MMPP.from_sojourns(
                rates=[5.0, 20.0, 80.0, 0.0],
                mean_sojourns=[0.4, 0.2, 0.1, 0.3],
                transitions=np.roll(np.eye(4), 1, axis=1),
            ),
            3.0,
        ),  # a cycle
    ],
)
def test_simulated_counts_have_the_exact_mean_and_variance(process: MMPP, horizon: float) -> None:
    """Over 1000 replications, CIs of the mean and variance of N[0, T) cover the exact values."""
    counts = np.array(
        [
            process.times(np.random.default_rng(s), horizon).size
            for s in np.random.SeedSequence(99).spawn(1000)
        ]
    )
    assert covers(mean_interval(counts), process.mean_rate * horizon)
    assert covers(variance_interval(counts), process.count_variance(horizon))


def test_long_run_rate_and_dispersion_in_one_path() -> None:
    """One long path: counts per 50 s window have mean and variance near the exact values."""
    p = MMPP.from_sojourns(rates=[20.0, 200.0], mean_sojourns=[2.0, 0.5])
    t = p.times(np.random.default_rng(31), 50.0 * 800)
    counts = np.bincount((t // 50.0).astype(int), minlength=800)
    # windows are nearly independent (50 s >> 0.4 s correlation time)
    assert covers(mean_interval(counts), p.mean_rate * 50.0)
    assert covers(variance_interval(counts), p.count_variance(50.0))


@pytest.mark.parametrize(
    ("kwargs", "generator"),
    [
        # two states alternate
        ({"rates": [1.0, 2.0], "mean_sojourns": [4.0, 0.5]}, [[-0.25, 0.25], [2.0, -2.0]]),
        # default with three states: every other state equally likely
        (
            {"rates": [1.0, 2.0, 3.0], "mean_sojourns": [1.0, 2.0, 4.0]},
            [[-1.0, 0.5, 0.5], [0.25, -0.5, 0.25], [0.125, 0.125, -0.25]],
        ),
        # explicit cycle 0 -> 1 -> 2 -> 0
        (
            {
                "rates": [1.0, 2.0, 3.0],
                "mean_sojourns": [1.0, 2.0, 4.0],
                "transitions": [[0, 1, 0], [0, 0, 1], [1, 0, 0]],
            },
            [[-1.0, 1.0, 0.0], [0.0, -0.5, 0.5], [0.25, 0.0, -0.25]],
        ),
    ],
)
def test_from_sojourns_builds_the_generator(kwargs: dict, generator: list) -> None:
    """Q[i, j] = P[i, j] / mean_sojourn[i], Q[i, i] = -1 / mean_sojourn[i]."""
    p = MMPP.from_sojourns(**kwargs)
    np.testing.assert_allclose(p.generator, generator, rtol=1e-15)
    np.testing.assert_array_equal(p.rates, kwargs["rates"])


def test_scale_multiplies_rates_and_keeps_the_chain() -> None:
    """scale(f): f times the rate in every state, same sojourns."""
    p = MMPP(rates=THREE_RATES, generator=THREE_Q)
    assert p.scale(3.0) == MMPP(rates=np.multiply(THREE_RATES, 3.0), generator=THREE_Q)


def test_values_are_read_only_and_compare_by_value() -> None:
    """Arrays are read-only copies; equal parameters give equal, equally hashed processes."""
    rates = np.array([1.0, 2.0])
    p = MMPP(rates=rates, generator=[[-1.0, 1.0], [1.0, -1.0]])
    rates[0] = 5.0
    assert p.rates[0] == 1.0 and not p.rates.flags.writeable
    q = MMPP(rates=[1.0, 2.0], generator=np.array([[-1.0, 1.0], [1.0, -1.0]]))
    assert p == q and hash(p) == hash(q) and p != p.scale(2.0)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: MMPP(rates=[1.0], generator=[[0.0]]),
            r"'rates' argument of MMPP must be a 1-d array of at least 2 rates >= 0. Got 'shape \(1,\)'",
        ),
        (
            lambda: MMPP(rates=[1.0, -2.0], generator=[[-1, 1], [1, -1]]),
            r"'rates' argument of MMPP must be a finite number >= 0. Got -2.0 at index 1",
        ),
        (
            lambda: MMPP(rates=[0.0, 0.0], generator=[[-1, 1], [1, -1]]),
            r"'rates' argument of MMPP must be rates >= 0, not all 0",
        ),
        (
            lambda: MMPP(rates=[1.0, 2.0], generator=[[-1, 1, 0]]),
            r"'generator' argument of MMPP must be a 2x2 matrix \(one row and column per rate\). Got 'shape \(1, 3\)'",
        ),
        (
            lambda: MMPP(rates=[1.0, 2.0], generator=[[1, -1], [1, -1]]),
            r"'generator' argument of MMPP must be a generator with off-diagonal entries >= 0. Got -1.0 at index \(0, 1\)",
        ),
        (
            lambda: MMPP(rates=[1.0, 2.0], generator=[[-1, 2], [1, -1]]),
            r"'generator' argument of MMPP must be a generator whose rows sum to 0. Got 'row sums \[1.0, 0.0\]'",
        ),
        (
            lambda: MMPP(rates=[1.0, 2.0], generator=[[-1, 1], [np.inf, -1]]),
            r"'generator' argument of MMPP must be a matrix of finite numbers",
        ),
        (
            lambda: MMPP(rates=[1.0, 2.0], generator=[[-1, 1], [0, 0]]),
            r"'generator' argument of MMPP must be a generator whose rows sum to 0",
        ),  # absorbing state
        (
            lambda: MMPP(rates=[1.0, 2.0, 3.0], generator=[[-1, 1, 0], [1, -1, 0], [0, 1, -1]]),
            r"'generator' argument of MMPP must be irreducible .* Got 'closed or transient groups of states",
        ),
        (
            lambda: MMPP.from_sojourns(rates=[1.0, 2.0], mean_sojourns=[1.0, 0.0]),
            r"'mean_sojourns' argument of MMPP.from_sojourns must be a number > 0 and finite. Got 0.0 at index 1",
        ),
        (
            lambda: MMPP.from_sojourns(
                rates=[1.0, 2.0, 3.0], mean_sojourns=[1.0, 1.0, 1.0], transitions=[[0, 1], [1, 0]]
            ),
            r"'transitions' argument of MMPP.from_sojourns must be a 3x3 matrix",
        ),
        (
            lambda: MMPP.from_sojourns(
                rates=[1.0, 2.0], mean_sojourns=[1.0, 1.0], transitions=[[0.5, 0.5], [1, 0]]
            ),
            r"'transitions' argument of MMPP.from_sojourns must be probabilities with a zero diagonal and rows summing to 1",
        ),
        (
            lambda: MMPP.from_sojourns(
                rates=[1.0, 2.0, 3.0],
                mean_sojourns=[1.0, 1.0, 1.0],
                transitions=[[0, 1, 0], [1, 0, 0], [0.5, 0.5, 0]],
            ),
            r"'transitions' argument of MMPP.from_sojourns must be irreducible",
        ),
        (
            lambda: MMPP(rates=THREE_RATES, generator=THREE_Q).count_variance(-1.0),
            r"'duration' argument of MMPP.count_variance must be a finite number >= 0. Got -1.0",
        ),
    ],
)
def test_validation(build: object, message: str) -> None:
    """Bad rates, generators and transitions raise with the template, naming the argument."""
    with pytest.raises(InvalidArgumentError, match=message):
        build()  # type: ignore[operator]
