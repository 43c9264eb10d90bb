"""Per-queue statistics from arrival/start/departure arrays, against event-by-event counts."""

from __future__ import annotations

import numpy as np
import pytest

from qsim.fast._jit import use_backend
from qsim.fast.record import QueueStats, ready_peak


def event_levels(
    a: np.ndarray, s: np.ndarray, d: np.ndarray, w0: float, end: float
) -> dict[str, float]:
    """Time averages over [w0, end] and the peak of the waiting count, by sorting the +1/-1
    events and integrating step by step (the naive way)."""
    ev = sorted(
        [(t, +1, "q") for t in a]
        + [(t, -1, "q") for t in s]
        + [(t, +1, "b") for t in s]
        + [(t, -1, "b") for t in d]
    )
    level = {"q": 0, "b": 0}
    area = {"q": 0.0, "b": 0.0}
    last = w0
    peak = None
    for t, step, kind in ev:
        if t >= end:
            break
        if t > last:
            for k in area:
                area[k] += level[k] * (t - max(last, w0))
            last = t
        if peak is None and t >= w0:
            peak = level["q"]
        level[kind] += step
        if t >= w0 and kind == "q":
            peak = max(peak or 0, level["q"])
    for k in area:
        area[k] += level[k] * (end - last)
    return {"ready": area["q"] / (end - w0), "busy": area["b"] / (end - w0), "peak": peak or 0}


def test_levels_and_peak_match_event_integration() -> None:
    """Clipped-interval sums = integrals of the waiting and busy counts over [warm-up, end];
    the peak of the waiting count equals the event-by-event maximum."""
    rng = np.random.default_rng(2)
    n = 3000
    a = np.cumsum(rng.exponential(1 / 0.95, n))
    svc = rng.exponential(1.0, n)
    s, d = np.empty(n), np.empty(n)
    free = 0.0
    for i in range(n):
        s[i] = max(a[i], free)
        d[i] = free = s[i] + svc[i]
    w0, end = a[300], a[-1] * 0.9
    st = QueueStats(w0, end, 1, "shared")
    for lo in range(0, n, 700):
        hi = lo + 700
        st.arrivals(a[lo:hi], int(np.count_nonzero(a[lo:hi] >= w0)))
        st.served(a[lo:hi], s[lo:hi], d[lo:hi], a[min(hi, n - 1)])
    ref = event_levels(a, s, d, w0, end)
    span = end - w0
    assert st.ready_area / span == pytest.approx(ref["ready"], rel=1e-9)
    assert st.busy_area / span == pytest.approx(ref["busy"], rel=1e-9)
    assert st.ready_max == ref["peak"]
    late = a >= w0
    assert st.wait.n == np.count_nonzero(late & (s < end))
    assert st.response.n == np.count_nonzero(late & (d < end))
    assert st.completed == np.count_nonzero((d >= w0) & (d < end))


@pytest.mark.parametrize("warm", [0.0, 0.5])
def test_ready_peak_twins_and_naive(warm: float) -> None:
    """The compiled peak search (with skipping) = the searchsorted twin = a naive count."""
    rng = np.random.default_rng(7)
    n = 2000
    a = np.cumsum(rng.exponential(1.0, n))
    s = np.maximum.accumulate(a + rng.exponential(3.0, n))
    tail = np.sort(rng.uniform(a[0], a[0] + 20, 15))
    w0 = a[int(warm * n)]
    naive = max(
        int(np.sum(s[: i + 1] > a[i]) + np.sum(tail > a[i])) for i in range(n) if a[i] >= w0
    )
    for b in ("numba", "numpy"):
        with use_backend(b):
            assert ready_peak(a, s, tail, w0) == naive
