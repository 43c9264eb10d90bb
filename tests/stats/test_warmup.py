"""MSER-5 finds an initial transient and leaves a stationary series alone."""

from __future__ import annotations

import numpy as np

from qsim.stats import mser5


def test_detects_transient() -> None:
    """A ramp of 200 points before a noisy plateau is cut at about 200."""
    rng = np.random.default_rng(0)
    x = np.r_[np.linspace(0, 10, 200), 10 + rng.normal(0, 1, 4000)]
    assert 150 <= mser5(x) <= 400


def test_stationary_series_keeps_most_data() -> None:
    """On i.i.d. noise MSER-5 deletes little."""
    x = np.random.default_rng(1).normal(0, 1, 5000)
    assert mser5(x) < 2500
