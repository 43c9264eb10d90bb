"""One station's window of messages in one pass: what it records, and for single
servers the Lindley recursion fused with it.

For every served message of a window (arrival ``a``, start ``s``, departure ``d``,
seconds) the station records, over the measurement interval [warm-up, end):

- its wait ``s - a`` if it arrived at or after the warm-up and started before the end,
  and its response ``d - a`` if it also finished before the end (both written into the
  streams' buffers, with their count, sum and maximum);
- completions ``warm-up <= d < end``;
- the waiting and busy areas: the lengths of [a, s) and [s, d) clipped to the interval,
  summed (the integrals of the counts waiting and in service, without sorting events).

Sums are taken left to right, message by message, in both implementations (the
compiled loops below, and their numpy twins with ``np.add.accumulate``), so the two
give identical numbers. For single-server lanes the compiled loop also runs the
Lindley recursion (:mod:`qsim.fast.lindley`) in the same pass: the recording then
costs almost nothing next to the recursion's chain of dependent additions, where two
passes would read and write every array twice.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from qsim.fast._jit import compiled
from qsim.fast.lindley import LindleyState, lindley_times

__all__ = ["TOTALS", "lindley_window", "record_window"]

F = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Names of the entries of the totals array the functions return.
TOTALS = (
    "waits",
    "responses",
    "wait_sum",
    "response_sum",
    "wait_max",
    "response_max",
    "completions",
    "wait_area",
    "busy_area",
)
_EMPTY = np.zeros(0, dtype=np.int64)
_NO_TIMES = np.zeros(0)


def record_window(a: F, s: F, d: F, warmup: float, end: float, w: F, r: F) -> F:
    """What a window of served messages adds to the statistics (see the module docs).

    Writes the kept waits into ``w`` and responses into ``r`` (each at least as long as
    ``a``) and returns the totals (float64 array, entries named by :data:`TOTALS`; the
    first two are the counts written).
    """
    out = np.zeros(len(TOTALS))
    if a.size == 0:
        return out
    jit = compiled(_record_loop)
    if jit is not None:
        jit(a, s, d, warmup, end, w, r, out)
    else:
        _record_numpy(a, s, d, warmup, end, w, r, out)
    return out


def lindley_window(
    a: F,
    svc: F,
    state: LindleyState,
    lane: I64 | None,
    warmup: float,
    end: float,
    w: F,
    r: F,
    departures: bool = True,
) -> tuple[F, F | None, F]:
    """Start and departure times of a window at single-server FIFO lanes, and what the
    window adds to the statistics: ``(start, departure, totals)``.

    The times are those of :func:`qsim.fast.lindley.lindley_times` and the totals and
    written values those of :func:`record_window` on them, bit for bit. With
    ``departures`` False nobody needs the departure times (None is returned in their
    place): the compiled loop then does not store them.
    """
    n = a.size
    out = np.zeros(len(TOTALS))
    jit = compiled(_fused_loop)
    if n == 0 or jit is None:
        start, dep = lindley_times(a, svc, state, lane)
        if n:
            _record_numpy(a, start, dep, warmup, end, w, r, out)
        return start, dep if departures else None, out
    st = state
    start = np.empty(n)
    dep = np.empty(n) if departures else _NO_TIMES
    low = -st.last_wait  # per lane: running min(-W_0, min C_k)
    cum = np.zeros(st.seen.size)  # per lane: this window's cumulative sum
    inside = jit(
        a,
        svc,
        _EMPTY if lane is None else lane,
        st.last_arrival,
        st.last_service,
        st.last_wait,
        st.seen,
        low,
        cum,
        warmup,
        end,
        start,
        dep,
        w,
        r,
        out,
    )
    if not inside:  # the window holds the warm-up or the end: clip and filter
        times = dep if departures else start + svc  # the loop's own sums: same numbers
        compiled(_record_loop)(a, start, times, warmup, end, w, r, out)
    return start, dep if departures else None, out


def _seq_sum(x: F) -> float:
    """Left-to-right sum (as the loops add), 0 for no values."""
    return float(np.add.accumulate(x)[-1]) if x.size else 0.0


def _record_numpy(a: F, s: F, d: F, warmup: float, end: float, w: F, r: F, out: F) -> None:
    late = a >= warmup
    wk = (s - a)[late & (s < end)]
    rk = (d - a)[late & (d < end)]
    w[: wk.size], r[: rk.size] = wk, rk
    waiting = np.minimum(s, end) - np.maximum(a, warmup)
    busy = np.minimum(d, end) - np.maximum(s, warmup)
    out[:] = (
        wk.size,
        rk.size,
        _seq_sum(wk),
        _seq_sum(rk),
        wk.max() if wk.size else 0.0,
        rk.max() if rk.size else 0.0,
        np.count_nonzero((d >= warmup) & (d < end)),
        _seq_sum(waiting[waiting > 0]),
        _seq_sum(busy[busy > 0]),
    )


def _record_loop(a, s, d, warmup, end, w, r, out):  # pragma: no cover
    nw = nr = 0
    sw = sr = mw = mr = comp = wa = ba = 0.0
    for i in range(a.size):
        ai, si, di = a[i], s[i], d[i]
        if ai >= warmup:
            if si < end:
                x = si - ai
                w[nw] = x
                nw += 1
                sw += x
                if x > mw:
                    mw = x
            if di < end:
                y = di - ai
                r[nr] = y
                nr += 1
                sr += y
                if y > mr:
                    mr = y
        if di >= warmup and di < end:
            comp += 1.0
        x = min(si, end) - max(ai, warmup)
        if x > 0:
            wa += x
        y = min(di, end) - max(si, warmup)
        if y > 0:
            ba += y
    out[0], out[1], out[2], out[3], out[4] = nw, nr, sw, sr, mw
    out[5], out[6], out[7], out[8] = mr, comp, wa, ba


def _fused_loop(
    a, svc, lane, last_a, last_s, last_w, seen, low, c, warmup, end, start, dep, w, r, out
):  # pragma: no cover
    # The Lindley recursion of lindley._lanes_loop (lane.size == 0: every message in
    # lane 0, its state held in locals: through the arrays, every step would wait for
    # the store of the step before; c starts at 0 in each window, and 0 + x == x is the
    # first term of lindley's cumsum), with the bookkeeping of a window inside the
    # measurement interval (every message kept, no clipping: the waiting area is the sum
    # of the waits). Returns whether the window was inside; if not, the caller records
    # it with _record_loop.
    sw = sr = mw = mr = ba = top = 0.0
    lanes = lane.size > 0
    keep = dep.size > 0  # departures wanted (else only used here)
    c0, low0, seen0 = c[0], low[0], seen[0]
    la0, ls0, wait = last_a[0], last_s[0], last_w[0]
    for i in range(a.size):
        ai = a[i]
        if lanes:
            k = lane[i]
            x = last_s[k] - (ai - last_a[k]) if seen[k] else 0.0
            seen[k] = True
            ck = c[k] + x
            c[k] = ck
            lk = min(low[k], ck)
            low[k] = lk
            wait = ck - lk
            last_a[k] = ai
            last_s[k] = svc[i]
            last_w[k] = wait
        else:
            x = ls0 - (ai - la0) if seen0 else 0.0
            seen0 = True
            c0 += x
            low0 = min(low0, c0)
            wait = c0 - low0
            la0 = ai
            ls0 = svc[i]
        si = ai + wait
        di = si + svc[i]
        start[i] = si
        if keep:
            dep[i] = di
        x = si - ai
        y = di - ai
        w[i] = x
        r[i] = y
        sw += x
        sr += y
        ba += di - si
        mw = max(mw, x)
        mr = max(mr, y)
        top = max(top, di)
    if not lanes:
        c[0], low[0], seen[0] = c0, low0, seen0
        last_a[0], last_s[0], last_w[0] = la0, ls0, wait
    n = a.size
    out[0], out[1], out[2], out[3], out[4] = n, n, sw, sr, mw
    out[5], out[6], out[7], out[8] = mr, n, sw, ba
    return a[0] >= warmup and top < end
