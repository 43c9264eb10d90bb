"""Time-varying Poisson arrivals: PiecewiseRate and Diurnal (qsim.arrivals.timevarying)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from qsim.arrivals import Diurnal, PiecewiseRate, Poisson
from qsim.errors import InvalidArgumentError
from tests.arrivals.checks import ALPHA, poisson_pvalue

DAY = 86400.0


def test_piecewise_counts_per_step_are_poisson() -> None:
    """Counts in each step (over 50 periods) pass exact Poisson tests (Bonferroni over steps)."""
    starts, rates, period = [0.0, 2.0, 2.5, 7.0], [30.0, 400.0, 0.0, 5.0], 10.0
    p = PiecewiseRate(starts=starts, rates=rates, period=period)
    t = p.times(np.random.default_rng(41), 50 * period)
    step = np.searchsorted(starts, np.mod(t, period), side="right") - 1
    counts = np.bincount(step, minlength=4)
    lengths = np.diff([*starts, period])
    for k in range(4):
        expected = rates[k] * lengths[k] * 50
        if expected == 0:
            assert counts[k] == 0  # a zero-rate step has no arrivals
        else:
            assert poisson_pvalue(int(counts[k]), expected) > ALPHA / 4


def test_piecewise_points_are_uniform_within_a_step() -> None:
    """Given the count, positions inside a step are uniform (KS over 50 periods, alpha 1e-3)."""
    p = PiecewiseRate(starts=[0.0, 2.0, 2.5], rates=[30.0, 400.0, 5.0], period=10.0)
    phase = np.mod(p.times(np.random.default_rng(43), 500.0), 10.0)
    inside = phase[(phase >= 2.0) & (phase < 2.5)]
    assert stats.kstest(inside, stats.uniform(loc=2.0, scale=0.5).cdf).pvalue > ALPHA


def test_piecewise_without_period_holds_the_last_rate() -> None:
    """No period: after the last start the last rate holds for ever; mean_rate is that rate."""
    p = PiecewiseRate(starts=[0.0, 5.0], rates=[100.0, 2.0])
    assert p.mean_rate == 2.0
    t = p.times(np.random.default_rng(47), 2005.0)
    assert poisson_pvalue(int(np.sum(t < 5.0)), 500.0) > ALPHA
    assert poisson_pvalue(int(np.sum(t >= 5.0)), 4000.0) > ALPHA


def test_piecewise_long_step_is_cut_into_windows() -> None:
    """A step expecting 300k arrivals (several internal windows): Poisson count, uniform points."""
    p = PiecewiseRate(starts=[0.0, 1.0, 4.0], rates=[1.0, 1e5, 1.0])
    t = p.times(np.random.default_rng(53), 4.0)
    busy = t[(t >= 1.0) & (t < 4.0)]
    assert poisson_pvalue(busy.size, 3e5) > ALPHA
    assert stats.kstest(busy, stats.uniform(loc=1.0, scale=3.0).cdf).pvalue > ALPHA


@pytest.mark.parametrize(
    ("starts", "rates", "period", "mean_rate"),
    [
        (
            [0.0, 8 * 3600.0, 20 * 3600.0],
            [10.0, 50.0, 20.0],
            DAY,
            (8 * 10 + 12 * 50 + 4 * 20) / 24,
        ),  # office day
        ([0.0], [7.0], None, 7.0),  # one step: homogeneous Poisson
        ([0.0, 1.0], [0.0, 3.0], 4.0, 9.0 / 4.0),  # quiet first second of each 4 s
    ],
)
def test_piecewise_mean_rate_and_rate(
    starts: list, rates: list, period: float | None, mean_rate: float
) -> None:
    """mean_rate is the period average; rate(t) is the step rate, repeating with the period."""
    p = PiecewiseRate(starts=starts, rates=rates, period=period)
    assert p.mean_rate == pytest.approx(mean_rate, rel=1e-14)
    probe = np.array(starts) + 0.5
    np.testing.assert_array_equal(p.rate(probe), rates)
    if period is not None:
        np.testing.assert_array_equal(p.rate(probe + 3 * period), rates)


def _rate(mean: float, amplitude: float, peak: float, period: float, t: float) -> float:
    return mean * (1.0 + amplitude * math.cos(2 * math.pi * (t - peak) / period))


def test_diurnal_rate_formula() -> None:
    """rate(t) = mean (1 + a cos(2 pi (t - peak) / period)): peak, trough and mean points."""
    d = Diurnal(mean_rate=100.0, amplitude=0.6, peak=15 * 3600.0)
    t = np.array([15, 3, 9, 21]) * 3600.0
    np.testing.assert_allclose(d.rate(t), [160.0, 40.0, 100.0, 100.0], rtol=1e-12)
    assert d.period == DAY and d.mean_rate == 100.0 and d.scv == 1.0


def test_diurnal_day_count_and_peak_hour() -> None:
    """A day's count passes the Poisson test at mean_rate * period; the peak hour beats the trough."""
    d = Diurnal(mean_rate=2.0, amplitude=0.8, peak=14 * 3600.0)
    t = d.times(np.random.default_rng(59), DAY)
    assert poisson_pvalue(t.size, 2.0 * DAY) > ALPHA
    hours = np.bincount((t // 3600).astype(int), minlength=24)
    assert hours[14] > hours[2]


def test_diurnal_thinning_follows_the_rate_hour_by_hour() -> None:
    """Hourly counts over 5 days fit the integral of rate(t) (chi-square, alpha 1e-3)."""
    mean, amplitude, peak = 1.5, 0.9, 10 * 3600.0
    d = Diurnal(mean_rate=mean, amplitude=amplitude, peak=peak)
    t = d.times(np.random.default_rng(61), 5 * DAY)
    observed = np.bincount((np.mod(t, DAY) // 3600).astype(int), minlength=24)
    expected = np.array(
        [
            5
            * integrate.quad(
                lambda x: _rate(mean, amplitude, peak, DAY, x), h * 3600, (h + 1) * 3600
            )[0]
            for h in range(24)
        ]
    )
    assert expected.sum() == pytest.approx(5 * mean * DAY, rel=1e-10)
    # independent Poisson counts (the total is random too): sum (O - E)^2 / E ~ chi2(24)
    assert stats.chi2.sf(np.sum((observed - expected) ** 2 / expected), 24) > ALPHA


def test_diurnal_partial_period_count_matches_the_integral() -> None:
    """On [0, T) with T not a whole period, E N = integral of rate (Poisson test)."""
    d = Diurnal(mean_rate=50.0, amplitude=1.0, peak=20.0, period=60.0)
    horizon = 100.0
    expected = integrate.quad(lambda x: _rate(50.0, 1.0, 20.0, 60.0, x), 0.0, horizon)[0]
    assert poisson_pvalue(d.times(np.random.default_rng(67), horizon).size, expected) > ALPHA


def test_diurnal_without_amplitude_is_poisson() -> None:
    """amplitude 0: gaps are exponential at the mean rate (KS, alpha 1e-3)."""
    t = Diurnal(mean_rate=20.0, amplitude=0.0, peak=0.0, period=10.0).times(
        np.random.default_rng(71), 500.0
    )
    assert stats.kstest(np.diff(t), stats.expon(scale=1 / 20.0).cdf).pvalue > ALPHA


def test_scale() -> None:
    """scale(f) multiplies the rates and keeps the shape in time."""
    p = PiecewiseRate(starts=[0.0, 1.0], rates=[2.0, 3.0], period=2.0)
    assert p.scale(3.0) == PiecewiseRate(starts=[0.0, 1.0], rates=[6.0, 9.0], period=2.0)
    d = Diurnal(mean_rate=10.0, amplitude=0.5, peak=3.0, period=7.0)
    assert d.scale(3.0) == Diurnal(mean_rate=30.0, amplitude=0.5, peak=3.0, period=7.0)
    assert (
        Diurnal(mean_rate=0.0, amplitude=0.5, peak=0.0).times(np.random.default_rng(0), DAY).size
        == 0
    )
    assert Poisson(rate=1.0).scale(2.0) == Poisson(rate=2.0)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: PiecewiseRate(starts=[1.0, 2.0], rates=[1.0, 2.0]),
            r"'starts' argument of PiecewiseRate must be a 1-d array of increasing times \(seconds\) starting at 0. Got \[1.0, 2.0\]",
        ),
        (
            lambda: PiecewiseRate(starts=[0.0, 2.0, 2.0], rates=[1.0, 2.0, 3.0]),
            r"'starts' argument of PiecewiseRate must be a 1-d array of increasing times",
        ),
        (
            lambda: PiecewiseRate(starts=[0.0, -2.0], rates=[1.0, 2.0]),
            r"'starts' argument of PiecewiseRate must be a finite number >= 0. Got -2.0 at index 1",
        ),
        (
            lambda: PiecewiseRate(starts=[0.0, 2.0], rates=[1.0]),
            r"'rates' argument of PiecewiseRate must be a 1-d array of 2 rates \(one per start\). Got 'shape \(1,\)'",
        ),
        (
            lambda: PiecewiseRate(starts=[0.0, 2.0], rates=[1.0, -1.0]),
            r"'rates' argument of PiecewiseRate must be a finite number >= 0. Got -1.0 at index 1",
        ),
        (
            lambda: PiecewiseRate(starts=[0.0, 2.0], rates=[0.0, 0.0]),
            r"'rates' argument of PiecewiseRate must be rates >= 0, not all 0",
        ),
        (
            lambda: PiecewiseRate(starts=[0.0, 2.0], rates=[1.0, 1.0], period=2.0),
            r"'period' argument of PiecewiseRate must be None or a finite number > the last start \(2.0\). Got 2.0",
        ),
        (
            lambda: Diurnal(mean_rate=-1.0, amplitude=0.5, peak=0.0),
            r"'mean_rate' argument of Diurnal must be a finite number >= 0. Got -1.0",
        ),
        (
            lambda: Diurnal(mean_rate=1.0, amplitude=1.5, peak=0.0),
            r"'amplitude' argument of Diurnal must be a number in \[0, 1\]. Got 1.5",
        ),
        (
            lambda: Diurnal(mean_rate=1.0, amplitude=0.5, peak=DAY),
            r"'peak' argument of Diurnal must be a number in \[0, period=86400.0\). Got 86400.0",
        ),
        (
            lambda: Diurnal(mean_rate=1.0, amplitude=0.5, peak=0.0, period=0.0),
            r"'period' argument of Diurnal must be a number > 0 and finite. Got 0.0",
        ),
        (
            lambda: Diurnal(mean_rate=1.0, amplitude=0.5, peak=0.0).rate(-1.0),
            r"'t' argument of Diurnal.rate must be a finite number >= 0. Got -1.0",
        ),
    ],
)
def test_validation(build: object, message: str) -> None:
    """Bad steps, rates, amplitudes and periods raise with the template."""
    with pytest.raises(InvalidArgumentError, match=message):
        build()  # type: ignore[operator]
