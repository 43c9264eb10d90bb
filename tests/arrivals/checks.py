"""Statistical checks shared by the arrival tests: exact Poisson tests and CIs.

Every check is judged at a stated false-rejection rate ``ALPHA``; with the fixed seeds
of the tests the outcome is reproducible, and a correct generator fails a check with
probability ALPHA on any other seed.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

ALPHA = 1e-3


def poisson_pvalue(count: int, mean: float) -> float:
    """Two-sided exact p-value of observing ``count`` from Poisson(``mean``)."""
    return float(
        min(1.0, 2.0 * min(stats.poisson.cdf(count, mean), stats.poisson.sf(count - 1, mean)))
    )


def mean_interval(x: np.ndarray, alpha: float = ALPHA) -> tuple[float, float]:
    """Student-t interval for the mean of replications ``x``."""
    x = np.asarray(x, dtype=float)
    half = stats.t.ppf(1 - alpha / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return float(x.mean() - half), float(x.mean() + half)


def variance_interval(x: np.ndarray, alpha: float = ALPHA) -> tuple[float, float]:
    """Large-sample interval for the variance: Var(s^2) ~ (m4 - s^4) / n."""
    x = np.asarray(x, dtype=float)
    s2 = x.var(ddof=1)
    m4 = np.mean((x - x.mean()) ** 4)
    half = stats.norm.ppf(1 - alpha / 2) * np.sqrt(max(m4 - s2**2, 0.0) / x.size)
    return float(s2 - half), float(s2 + half)


def scv_interval(gaps: np.ndarray, alpha: float = ALPHA, batches: int = 50) -> tuple[float, float]:
    """Batch-means t interval for the scv of (weakly dependent) gaps."""
    parts = np.array_split(np.asarray(gaps, dtype=float), batches)
    return mean_interval(np.array([p.var() / p.mean() ** 2 for p in parts]), alpha)


def covers(interval: tuple[float, float], value: float) -> bool:
    return interval[0] <= value <= interval[1]
