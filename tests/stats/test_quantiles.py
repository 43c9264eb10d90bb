"""QuantileSketch: stated relative error, exact zeros, merging."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from qsim.stats import QuantileSketch

values = arrays(
    np.float64,
    st.integers(1, 400),
    elements=st.one_of(st.just(0.0), st.floats(1e-6, 1e6)),
)
PROBS = np.array([0.0, 0.1, 0.5, 0.9, 0.95, 0.99, 1.0])


@settings(max_examples=200)
@given(x=values)
def test_relative_error_bound(x: np.ndarray) -> None:
    """Every quantile is within alpha (relative) of the exact lower-rank sample quantile."""
    s = QuantileSketch(alpha=0.01)
    s.add(x)
    exact = np.quantile(x, PROBS, method="lower")
    got = s.quantile(PROBS)
    assert np.all(np.abs(got - exact) <= 0.01 * exact * (1 + 1e-12))


@given(a=values, b=values)
def test_merge_equals_adding_all(a: np.ndarray, b: np.ndarray) -> None:
    """Merging two sketches gives the same quantiles as one sketch fed both arrays."""
    s1, s2, both = QuantileSketch(), QuantileSketch(), QuantileSketch()
    s1.add(a)
    s2.add(b)
    both.add(np.concatenate([a, b]))
    s1.merge(s2)
    np.testing.assert_array_equal(s1.quantile(PROBS), both.quantile(PROBS))
    assert len(s1) == a.size + b.size


def test_zero_waits_are_exact_zeros() -> None:
    """When 70% of messages do not wait, the median wait is exactly 0."""
    s = QuantileSketch()
    s.add(np.r_[np.zeros(700), np.linspace(1, 2, 300)])
    assert s.quantile(0.5) == 0.0 and s.quantile(0.9) > 0


def test_memory_is_bounded() -> None:
    """A million values spanning 6 decades use a few thousand buckets at most."""
    s = QuantileSketch(alpha=0.005)
    s.add(np.random.default_rng(1).lognormal(0, 3, 1_000_000))
    assert s._counts.size < 5000
