"""Non-homogeneous Poisson arrivals: a piecewise-constant rate, and a daily cosine."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from qsim._validate import nonnegative
from qsim._validate import scalar_or_array as _out
from qsim.arrivals._base import (
    CHUNK,
    ArrayFields,
    ArrivalProcess,
    F,
    fail,
    poisson_points,
    rate_arg,
    readonly,
)

__all__ = ["Diurnal", "PiecewiseRate"]


@dataclass(frozen=True, kw_only=True, eq=False)
class PiecewiseRate(ArrayFields, ArrivalProcess):
    """Poisson arrivals at ``rates[i]`` from time ``starts[i]`` until the next start.

    Parameters
    ----------
    starts : array_like, shape (n,)
        Start of each step, seconds; increasing, the first is 0.
    rates : array_like, shape (n,)
        Messages per second during each step (>= 0, not all 0).
    period : float, optional
        Repeat the steps every ``period`` seconds (> the last start). None (default):
        the last rate holds for ever.

    Notes
    -----
    Exact, without thinning: each step is a constant-rate Poisson segment (Poisson
    count, then uniform order statistics), and counts on disjoint steps are
    independent. ``mean_rate`` is the period average sum(rates * lengths) / period, or
    the last rate without a period; scv = 1 (every count is Poisson: Var N = E N).
    ``scale(f)`` multiplies the rates.

    Examples
    --------
    >>> p = PiecewiseRate(starts=[0.0, 8 * 3600.0], rates=[10.0, 50.0], period=86400.0)
    >>> round(p.mean_rate, 6), float(p.rate(9 * 3600.0))
    (36.666667, 50.0)
    """

    starts: F
    rates: F
    period: float | None = None

    def __post_init__(self) -> None:
        func = "PiecewiseRate"
        starts = nonnegative(self.starts, name="starts", func=func)
        if starts.ndim != 1 or starts.size == 0 or starts[0] != 0 or np.any(np.diff(starts) <= 0):
            fail(
                "starts",
                func,
                "a 1-d array of increasing times (seconds) starting at 0",
                starts.tolist(),
            )
        rates = nonnegative(self.rates, name="rates", func=func)
        if rates.shape != starts.shape:
            fail(
                "rates",
                func,
                f"a 1-d array of {starts.size} rates (one per start)",
                f"shape {rates.shape}",
            )
        if not np.any(rates > 0):
            fail("rates", func, "rates >= 0, not all 0", rates.tolist())
        if self.period is not None:
            period = rate_arg(self.period, "period", func, strict=True)
            last = float(starts[-1])
            if not period > last:
                fail("period", func, f"None or a finite number > the last start ({last!r})", period)
            object.__setattr__(self, "period", period)
        object.__setattr__(self, "starts", readonly(starts))
        object.__setattr__(self, "rates", readonly(rates))

    @property
    def mean_rate(self) -> float:  # type: ignore[override]
        """Long-run messages per second."""
        if self.period is None:
            return float(self.rates[-1])
        lengths = np.diff(np.append(self.starts, self.period))
        return float(lengths @ self.rates / self.period)

    scv = property(lambda self: 1.0, doc="Index of dispersion of counts (1: Poisson counts).")

    def rate(self, t: ArrayLike) -> Any:
        """Instantaneous rate (messages per second) at times ``t`` >= 0 (seconds)."""
        x = nonnegative(t, name="t", func="PiecewiseRate.rate")
        if self.period is not None:
            x = np.mod(x, self.period)
        return _out(self.rates[np.searchsorted(self.starts, x, side="right") - 1])

    def scale(self, factor: float) -> PiecewiseRate:
        """The same steps with every rate multiplied by ``factor``."""
        return replace(self, rates=self.rates * self._factor(factor))

    def _stream(self, rng: np.random.Generator, until: float) -> Iterator[F]:
        return poisson_points(rng, self._segments(until))

    def _segments(self, until: float) -> Iterator[tuple[F, F, F]]:
        """The steps as consecutive segments (start, end, rate), clipped at ``until``."""
        if self.period is None:
            ends = np.append(self.starts[1:], np.inf)
            keep = self.starts < until
            yield self.starts[keep], np.minimum(ends[keep], until), self.rates[keep]
            return
        n = self.starts.size
        k = 0
        while k * self.period < until:
            cycles = max(1, CHUNK // n)
            if until < np.inf:
                cycles = int(min(cycles, (until - k * self.period) // self.period + 1))
            offsets = np.arange(k, k + cycles + 1, dtype=np.float64)[:, None] * self.period
            edges = (offsets + self.starts).ravel()[: cycles * n + 1]
            # ends are the next starts, computed identically: the segments tile exactly
            starts, ends = edges[:-1], edges[1:]
            keep = starts < until
            rates = np.tile(self.rates, cycles)
            yield starts[keep], np.minimum(ends[keep], until), rates[keep]
            k += cycles


@dataclass(frozen=True, kw_only=True)
class Diurnal(ArrivalProcess):
    """Poisson arrivals with rate(t) = mean_rate (1 + amplitude cos(2 pi (t - peak) / period)).

    Parameters
    ----------
    mean_rate : float
        Average messages per second over a period (>= 0).
    amplitude : float
        Relative swing, in [0, 1]: the rate runs from mean_rate (1 - amplitude) at the
        trough to mean_rate (1 + amplitude) at the peak.
    peak : float
        Time of the busiest moment within the period, seconds, in [0, period).
    period : float
        Length of a cycle, seconds (default 86400: a day).

    Notes
    -----
    Exact, by thinning (P. A. W. Lewis and G. S. Shedler, "Simulation of nonhomogeneous
    Poisson processes by thinning", Naval Res. Logistics Quart. 26 (1979) 403-413):
    Poisson points at the maximum rate mean_rate (1 + amplitude), each kept with
    probability rate(t) / max rate, in vectorised blocks. The expected count on
    [0, T) is the integral of rate(t); over whole periods it is mean_rate * T.
    scv = 1 (Poisson counts). ``scale(f)`` multiplies ``mean_rate``.

    Examples
    --------
    >>> d = Diurnal(mean_rate=100.0, amplitude=0.5, peak=14 * 3600.0)
    >>> float(d.rate(14 * 3600.0)), float(d.rate(2 * 3600.0))
    (150.0, 50.0)
    """

    mean_rate: float
    amplitude: float
    peak: float
    period: float = 86400.0

    def __post_init__(self) -> None:
        func = "Diurnal"
        object.__setattr__(self, "mean_rate", rate_arg(self.mean_rate, "mean_rate", func))
        amplitude = rate_arg(self.amplitude, "amplitude", func)
        if amplitude > 1:
            fail("amplitude", func, "a number in [0, 1]", amplitude)
        period = rate_arg(self.period, "period", func, strict=True)
        peak = rate_arg(self.peak, "peak", func)
        if not peak < period:
            fail("peak", func, f"a number in [0, period={period!r})", peak)
        object.__setattr__(self, "amplitude", amplitude)
        object.__setattr__(self, "period", period)
        object.__setattr__(self, "peak", peak)

    scv = property(lambda self: 1.0, doc="Index of dispersion of counts (1: Poisson counts).")

    def rate(self, t: ArrayLike) -> Any:
        """Instantaneous rate (messages per second) at times ``t`` (seconds)."""
        x = nonnegative(t, name="t", func="Diurnal.rate")
        return _out(self._rate(x))

    def _rate(self, t: F) -> F:
        wave = np.cos(2.0 * np.pi * (t - self.peak) / self.period)
        return self.mean_rate * np.maximum(1.0 + self.amplitude * wave, 0.0)  # type: ignore[no-any-return]

    def scale(self, factor: float) -> Diurnal:
        """The same cycle with ``mean_rate`` multiplied by ``factor``."""
        return replace(self, mean_rate=self.mean_rate * self._factor(factor))

    def _stream(self, rng: np.random.Generator, until: float) -> Iterator[F]:
        top = self.mean_rate * (1.0 + self.amplitude)
        one = np.ones(1)
        for x in poisson_points(rng, [(0.0 * one, until * one, top * one)]):
            kept = x[rng.random(x.size) * top < self._rate(x)]
            if kept.size:
                yield kept
