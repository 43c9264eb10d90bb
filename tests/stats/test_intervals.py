"""Replication confidence intervals: exact formula, coverage, degenerate cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from qsim.stats import batch_means, replication_estimate


def test_matches_scipy_t_interval() -> None:
    """The interval equals scipy.stats.t.interval on the same sample."""
    x = np.array([3.1, 2.7, 3.9, 3.3, 2.8, 3.6])
    e = replication_estimate(x, level=0.9)
    lo, hi = sps.t.interval(0.9, len(x) - 1, loc=x.mean(), scale=sps.sem(x))
    assert (e.ci_low, e.ci_high) == pytest.approx((lo, hi), rel=1e-12)
    assert e.n == 6 and e.level == 0.9 and e.covers(x.mean())


def test_coverage_within_binomial_bounds() -> None:
    """Over 4000 normal samples of size 10 the 95% interval covers the mean 95% +- 4 sd."""
    rng = np.random.default_rng(7)
    n_sets = 4000
    hits = sum(replication_estimate(rng.normal(5.0, 2.0, 10)).covers(5.0) for _ in range(n_sets))
    sd = math.sqrt(n_sets * 0.95 * 0.05)
    assert abs(hits - 0.95 * n_sets) < 4 * sd


def test_degenerate_inputs() -> None:
    """One replication: no interval (nan); an inf value: inf estimate; nan dropped."""
    one = replication_estimate([2.0])
    assert one.mean == 2.0 and math.isnan(one.ci_low) and one.n == 1
    inf = replication_estimate([1.0, math.inf])
    assert inf.mean == math.inf and inf.ci_high == math.inf
    assert replication_estimate([1.0, math.nan, 3.0]).n == 2
    assert replication_estimate([]).n == 0


def test_batch_means_of_iid_series_covers() -> None:
    """Batch means of an i.i.d. exponential series cover its mean."""
    x = np.random.default_rng(3).exponential(2.0, 200_000)
    e = batch_means(x, batches=20)
    assert e.n == 20 and e.covers(2.0)
