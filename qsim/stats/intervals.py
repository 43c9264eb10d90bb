"""Confidence intervals: across independent replications, and by batch means.

Every simulated figure qsim reports is an :class:`Estimate`: a point value with a
Student-t confidence interval across independent replications (the replications are
i.i.d., so the interval is exact for normal data and asymptotically valid otherwise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from qsim._validate import integer, probability

__all__ = ["Estimate", "batch_means", "replication_estimate"]


@dataclass(frozen=True)
class Estimate:
    """A simulated figure with its confidence interval.

    Attributes
    ----------
    mean : float
        Point estimate (mean of the per-replication values).
    ci_low, ci_high : float
        Bounds of the ``level`` confidence interval; ``nan`` with fewer than two
        replications (no interval can be formed from one).
    level : float
        Confidence level, e.g. 0.95.
    n : int
        Number of independent replications (or batches) behind the estimate.
    """

    mean: float
    ci_low: float
    ci_high: float
    level: float
    n: int

    @property
    def half_width(self) -> float:
        return 0.5 * (self.ci_high - self.ci_low)

    def covers(self, value: float) -> bool:
        """True if ``value`` lies inside the interval (bounds included)."""
        return bool(self.ci_low <= value <= self.ci_high)

    def as_dict(self) -> dict[str, float]:
        """``{"value": v, "ci_low": lo, "ci_high": hi}`` (the JSON shape of a metric)."""
        return {"value": self.mean, "ci_low": self.ci_low, "ci_high": self.ci_high}


def replication_estimate(values: ArrayLike, level: float = 0.95) -> Estimate:
    """Mean and Student-t interval of per-replication values.

    Parameters
    ----------
    values : array_like
        One value per independent replication. ``nan`` entries (a replication that
        produced no observation) are dropped; any ``inf`` makes the estimate ``inf``
        with an infinite interval.
    level : float
        Confidence level in (0, 1).

    Notes
    -----
    mean +- t_{n-1, (1+level)/2} s / sqrt(n). Ref: Law, Simulation Modeling and
    Analysis, 5th ed., sect. 9.4.1.

    Examples
    --------
    >>> e = replication_estimate([1.0, 2.0, 3.0])
    >>> e.mean, round(e.ci_low, 4), round(e.ci_high, 4)
    (2.0, -0.4841, 4.4841)
    """
    level = float(probability(level, name="level", func="replication_estimate"))
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[~np.isnan(x)]
    n = int(x.size)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, level, 0)
    if np.isinf(x).any():
        m = float(np.sum(x))  # +inf (or nan if mixed signs, which no metric has)
        return Estimate(m, -math.inf if m < 0 else m, math.inf, level, n)
    mean = float(x.mean())
    if n == 1:
        return Estimate(mean, math.nan, math.nan, level, 1)
    sd = float(x.std(ddof=1))
    # NOTE: stdtrit is what scipy.stats.t.ppf evaluates (same bits), without importing
    # scipy.stats (~50 MB, ~1 s).
    half = float(special.stdtrit(n - 1, 0.5 + level / 2)) * sd / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, level, n)


def batch_means(series: ArrayLike, batches: int = 20, level: float = 0.95) -> Estimate:
    """Batch-means interval for the mean of one long, stationary, correlated series.

    The series is cut into ``batches`` equal consecutive batches (a remainder at the
    start is dropped) whose means are treated as i.i.d. Ref: Law (2015), sect. 9.5.3.
    """
    k = int(integer(batches, name="batches", func="batch_means", minimum=2))
    x = np.asarray(series, dtype=np.float64).ravel()
    size = x.size // k
    if size == 0:
        return replication_estimate(x, level)
    means = x[x.size - size * k :].reshape(k, size).mean(axis=1)
    return replication_estimate(means, level)
