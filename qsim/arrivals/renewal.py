"""Stationary renewal arrivals: Poisson, evenly spaced, and any i.i.d. inter-arrival law."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from qsim.arrivals._base import CHUNK, ArrivalProcess, F, fail, poisson_points, rate_arg
from qsim.distributions import Distribution

__all__ = ["Deterministic", "Poisson", "Renewal"]


@dataclass(frozen=True, kw_only=True)
class Poisson(ArrivalProcess):
    """Poisson arrivals at ``rate`` messages per second (exponential gaps): scv = 1.

    Parameters
    ----------
    rate : float
        Messages per second (>= 0; 0 gives no arrivals).

    Notes
    -----
    Exact: the count on each window is Poisson and, given the count, the times are
    uniform order statistics. ``scale(f)`` multiplies the rate.

    Examples
    --------
    >>> import numpy as np
    >>> t = Poisson(rate=200.0).times(np.random.default_rng(1), until=60.0)
    >>> bool(np.all(np.diff(t) >= 0) and t[-1] < 60.0)
    True
    """

    rate: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate", rate_arg(self.rate, "rate", "Poisson"))

    mean_rate = property(lambda self: self.rate, doc="Messages per second.")
    scv = property(lambda self: 1.0, doc="Arrival scv (1).")

    def scale(self, factor: float) -> Poisson:
        """Poisson at ``factor`` times the rate."""
        return Poisson(rate=self.rate * self._factor(factor))

    def _stream(self, rng: np.random.Generator, until: float) -> Iterator[F]:
        one = np.ones(1)
        return poisson_points(rng, [(0.0 * one, until * one, self.rate * one)])


@dataclass(frozen=True, kw_only=True)
class Deterministic(ArrivalProcess):
    """Evenly spaced arrivals, one every 1 / ``rate`` seconds: scv = 0.

    Parameters
    ----------
    rate : float
        Messages per second (> 0).
    phase : float or None
        Time of the first arrival, in [0, 1 / rate) seconds. None (default): drawn
        uniformly from the generator on each run, which makes the process stationary
        (the expected count on [0, T) is exactly rate * T, and independent producers do
        not fire in lockstep). Give 0.0 for a first arrival at time 0.

    Notes
    -----
    Arrival k is at phase + k / rate. ``scale(f)`` multiplies the rate (and divides a
    fixed phase by f).

    Examples
    --------
    >>> import numpy as np
    >>> Deterministic(rate=4.0, phase=0.0).times(np.random.default_rng(0), until=1.0)
    array([0.  , 0.25, 0.5 , 0.75])
    """

    rate: float
    phase: float | None = None

    def __post_init__(self) -> None:
        rate = rate_arg(self.rate, "rate", "Deterministic", strict=True)
        object.__setattr__(self, "rate", rate)
        if self.phase is not None:
            phase = rate_arg(self.phase, "phase", "Deterministic")
            if not phase < 1.0 / rate:
                fail(
                    "phase",
                    "Deterministic",
                    f"None or a number in [0, 1/rate = {1 / rate!r})",
                    phase,
                )
            object.__setattr__(self, "phase", phase)

    mean_rate = property(lambda self: self.rate, doc="Messages per second.")
    scv = property(lambda self: 0.0, doc="Arrival scv (0).")

    def scale(self, factor: float) -> Deterministic:
        """Evenly spaced at ``factor`` times the rate."""
        f = self._factor(factor)
        phase = None if self.phase is None else self.phase / f
        return Deterministic(rate=self.rate * f, phase=phase)

    def _stream(self, rng: np.random.Generator, until: float) -> Iterator[F]:
        phase = rng.random() / self.rate if self.phase is None else self.phase
        k = 0
        while phase + k / self.rate < until:
            yield phase + np.arange(k, k + CHUNK, dtype=np.float64) / self.rate
            k += CHUNK


@dataclass(frozen=True, kw_only=True)
class Renewal(ArrivalProcess):
    """Renewal (G/) arrivals: i.i.d. gaps drawn from ``interarrival``.

    Parameters
    ----------
    interarrival : qsim.distributions.Distribution
        Law of the time between consecutive arrivals (seconds).
    stationary : bool
        True (default): the first arrival comes after a draw from the stationary excess
        (residual) law, density P(S > x) / E[S], so the process is stationary and the
        expected count on [0, T) is exactly T / E[S]. False: after a full gap (the
        ordinary renewal process, as if an arrival had just happened at time 0).

    Notes
    -----
    mean_rate = 1 / E[S]; scv = Var S / E[S]^2, which is also the limit of
    Var N(t) / E N(t) (the asymptotic index of dispersion). The excess is sampled by
    inverting its cdf E[min(S, x)] / E[S] with Brent's method, once per run. Ref: Cox,
    Renewal Theory (1962), sec. 5.2. ``scale(f)`` divides every time by f (the law keeps
    its shape and scv).

    Examples
    --------
    >>> from qsim.distributions import Gamma
    >>> Renewal(interarrival=Gamma(mean=0.01, scv=2.0)).mean_rate
    100.0
    """

    interarrival: Distribution
    stationary: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.interarrival, Distribution):
            fail(
                "interarrival",
                "Renewal",
                "a qsim.distributions.Distribution",
                type(self.interarrival).__name__,
            )
        if not isinstance(self.stationary, bool | np.bool_):
            fail("stationary", "Renewal", "True or False", self.stationary)
        object.__setattr__(self, "stationary", bool(self.stationary))

    mean_rate = property(lambda self: 1.0 / self.interarrival.mean, doc="Messages per second.")
    scv = property(lambda self: float(self.interarrival.scv), doc="Inter-arrival scv.")

    def scale(self, factor: float) -> Renewal:
        """The same law with every gap divided by ``factor``."""
        dist = scaled_distribution(self.interarrival, 1.0 / self._factor(factor))
        return Renewal(interarrival=dist, stationary=self.stationary)

    def _first(self, rng: np.random.Generator) -> float:
        if not self.stationary:
            return float(self.interarrival.sample((), rng))
        dist, u = self.interarrival, rng.random()
        if u == 0.0:
            return 0.0

        def excess_cdf_gap(x: float) -> float:  # increasing from -u to 1 - u
            return float((1.0 - u) * dist.mean - dist.excess_mean(x)) / dist.mean

        high = dist.mean
        while excess_cdf_gap(high) < 0.0:
            high *= 2.0
        from scipy import optimize

        return float(optimize.brentq(excess_cdf_gap, 0.0, high, xtol=1e-15 * high))

    def _stream(self, rng: np.random.Generator, until: float) -> Iterator[F]:
        last = self._first(rng)
        if last >= until:
            yield np.array([last])
            return
        head = np.array([last])
        while last < until:
            # NOTE: size each draw to the expected remainder so short runs stay cheap.
            left = (until - last) * self.mean_rate
            size = CHUNK if not left < CHUNK else int(max(64.0, 1.1 * left + 4 * np.sqrt(left)))
            times = last + np.cumsum(self.interarrival.sample(size, rng))
            yield np.concatenate((head, times)) if head.size else times
            head = head[:0]
            last = float(times[-1])


_DIMENSIONLESS = {"scv", "k"}
_TIMES = {"mean", "value", "low", "high", "samples"}


def scaled_distribution(dist: Distribution, c: float) -> Distribution:
    """The law of c S: every time-valued field multiplied by c, shape fields kept."""
    names = {f.name for f in dataclasses.fields(dist)} if dataclasses.is_dataclass(dist) else set()
    if not names or not names <= _DIMENSIONLESS | _TIMES:
        raise NotImplementedError(
            f"cannot rescale a {type(dist).__name__} distribution: its fields are not known "
            f"to be times ({sorted(_TIMES)}) or shape parameters ({sorted(_DIMENSIONLESS)})"
        )
    return dataclasses.replace(dist, **{n: getattr(dist, n) * c for n in names & _TIMES})
