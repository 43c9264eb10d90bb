"""Trends of sampled levels: is a backlog growing without bound?"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["backlog_growth"]


def backlog_growth(points: Sequence[int] | None, duration: float) -> float | None:
    """Trend of a sampled backlog: its least-squares slope over the second half of the run.

    Parameters
    ----------
    points : sequence of int, optional
        Messages in the backlog at ``n`` equally spaced times ``i * duration / n``,
        ``i = 0 .. n-1`` (the replication's series sampler).
    duration : float
        Simulated seconds of the run.

    Returns
    -------
    float or None
        Messages per second, negative when the backlog drains; None with fewer than 8
        samples.

    Notes
    -----
    Fitting only the second half leaves out the fill-up from an empty start. A backlog
    that grows without bound has slope ``arrival_rate - completion rate`` (in expectation),
    a stable one a slope near 0; :func:`qsim.engines.run` judges instability from it.
    """
    values = np.asarray(points if points is not None else [], dtype=float)
    n = values.size
    if n < 8:
        return None
    first = n // 2
    t = np.arange(first, n) * (duration / n)
    return float(np.polyfit(t, values[first:], 1)[0])
