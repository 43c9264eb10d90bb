"""Single-server FIFO queues by the Lindley recursion, in closed form, chunk by chunk.

For one server, the wait of message n is ``W_n = max(0, W_{n-1} + S_{n-1} - T_n)``
(S service, T inter-arrival time). With ``X_n = S_{n-1} - T_n`` and ``C`` its cumulative
sum, the recursion unrolls to

    W_n = C_n - min(-W_0, min_{k<=n} C_k)

where ``W_0`` is the wait carried in from the previous chunk (``np.cumsum`` and
``np.minimum.accumulate``; no Python loop per message). A run of any length is fed in
chunks: the state carried between chunks is, per lane, the last message's arrival time,
service time and wait, so memory stays bounded by the chunk.

A *lane* is one independent server (one consumer instance behind a static balancer):
``lane[i]`` says which lane message i joins; each lane keeps its own state.

Reference: D. V. Lindley, "The theory of queues with a single server", Proc. Cambridge
Philos. Soc. 48 (1952) 277-289; the closed form as in Asmussen, Applied Probability and
Queues (2003), sec. III.6.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from qsim.fast._jit import compiled

__all__ = ["LindleyState", "lindley", "lindley_times"]

F = NDArray[np.float64]
I64 = NDArray[np.int64]


class LindleyState:
    """What ``lanes`` single-server lanes carry from one chunk to the next."""

    __slots__ = ("last_arrival", "last_service", "last_wait", "seen")

    def __init__(self, lanes: int = 1) -> None:
        self.last_arrival = np.zeros(lanes)
        self.last_service = np.zeros(lanes)
        self.last_wait = np.zeros(lanes)
        self.seen = np.zeros(lanes, dtype=np.bool_)  # lane had a message before


def lindley(arrivals: F, services: F, state: LindleyState, lane: I64 | None = None) -> F:
    """Waits (seconds) of a chunk of messages at single-server FIFO lanes.

    Parameters
    ----------
    arrivals : float64 array
        Arrival times (seconds), non-decreasing, all after the previous chunk's.
    services : float64 array
        Service time of each message (seconds), same length.
    state : LindleyState
        Carried state, updated in place.
    lane : int64 array, optional
        Lane of each message (default: all in lane 0).

    Returns
    -------
    float64 array
        Wait of each message from arrival to start of service; start = arrival + wait,
        departure = start + service.

    Examples
    --------
    >>> import numpy as np
    >>> st = LindleyState()
    >>> lindley(np.array([0.0, 1.0, 1.5]), np.array([2.0, 1.0, 1.0]), st)
    array([0. , 1. , 1.5])
    >>> lindley(np.array([5.0]), np.array([1.0]), st)  # the server emptied meanwhile
    array([0.])
    """
    out = np.empty(arrivals.size)
    _run(arrivals, services, state, lane, out, _NONE, _NONE)
    return out


def lindley_times(
    arrivals: F, services: F, state: LindleyState, lane: I64 | None = None
) -> tuple[F, F]:
    """Start and departure times (seconds) of a chunk, as :func:`lindley` computes them:
    start = arrival + wait, departure = start + service."""
    n = arrivals.size
    start, dep = np.empty(n), np.empty(n)
    if n and _run(arrivals, services, state, lane, _NONE, start, dep):
        return start, dep
    np.add(arrivals, start, out=start)  # start held the waits (numpy twin)
    np.add(start, services, out=dep)
    return start, dep


_NONE = np.zeros(0)


def _run(a: F, svc: F, state: LindleyState, lane: I64 | None, wait: F, start: F, dep: F) -> bool:
    """Waits into ``wait``, or times into ``start`` and ``dep``; True when the compiled
    loop wrote the times, False when ``start`` (or ``wait``) holds the waits."""
    if a.size == 0:
        return True
    jit_single, jit_lanes = compiled(_single_loop), compiled(_lanes_loop)
    st = state
    if lane is None and jit_single is not None:
        jit_single(
            a, svc, st.last_arrival, st.last_service, st.last_wait, st.seen, wait, start, dep
        )
        return True
    if lane is not None and jit_lanes is not None:
        lanes = st.seen.size
        low, cum, fresh = -st.last_wait, np.zeros(lanes), np.ones(lanes, dtype=np.bool_)
        jit_lanes(
            a,
            svc,
            lane,
            st.last_arrival,
            st.last_service,
            st.last_wait,
            st.seen,
            low,
            cum,
            fresh,
            wait,
            start,
            dep,
        )
        return True
    out = wait if wait.size else start
    if lane is None:
        _single_numpy(a, svc, st, 0, out)
        return False
    order = np.argsort(lane, kind="stable")
    for idx in np.split(order, np.flatnonzero(np.diff(lane[order])) + 1):
        sub = np.empty(idx.size)
        _single_numpy(a[idx], svc[idx], st, int(lane[idx[0]]), sub)
        out[idx] = sub
    return False


def _single_numpy(a: F, s: F, state: LindleyState, lane: int, out: F) -> None:
    """The closed form on one lane's messages (the twin of the loops below)."""
    x = out
    x[0] = state.last_service[lane] - (a[0] - state.last_arrival[lane]) if state.seen[lane] else 0.0
    np.subtract(s[:-1], a[1:] - a[:-1], out=x[1:])
    np.cumsum(x, out=x)
    low = np.minimum.accumulate(x)
    np.minimum(low, -state.last_wait[lane], out=low)
    np.subtract(x, low, out=x)
    state.last_arrival[lane] = a[-1]
    state.last_service[lane] = s[-1]
    state.last_wait[lane] = x[-1]
    state.seen[lane] = True


def _single_loop(a, s, last_a, last_s, last_w, seen, out, start, dep):  # pragma: no cover
    # Waits into out, or (start.size > 0) start = a + w and departure = start + s.
    times = start.size > 0
    c = last_s[0] - (a[0] - last_a[0]) if seen[0] else 0.0
    low = c if c < -last_w[0] else -last_w[0]
    w = c - low
    for i in range(a.size):
        if i > 0:
            c += s[i - 1] - (a[i] - a[i - 1])
            if c < low:
                low = c
            w = c - low
        if times:
            start[i] = a[i] + w
            dep[i] = start[i] + s[i]
        else:
            out[i] = w
    last_a[0] = a[a.size - 1]
    last_s[0] = s[a.size - 1]
    last_w[0] = w
    seen[0] = True


def _lanes_loop(
    a, s, lane, last_a, last_s, last_w, seen, low, c, fresh, out, start, dep
):  # pragma: no cover
    # Per lane: c is the cumulative sum of this chunk (its first term as is, like
    # np.cumsum), low the running min(-W_0, min C_k).
    for i in range(a.size):
        k = lane[i]
        x = last_s[k] - (a[i] - last_a[k]) if seen[k] else 0.0
        seen[k] = True
        if fresh[k]:
            c[k] = x
            fresh[k] = False
        else:
            c[k] += x
        if c[k] < low[k]:
            low[k] = c[k]
        w = c[k] - low[k]
        if start.size:
            start[i] = a[i] + w
            dep[i] = start[i] + s[i]
        else:
            out[i] = w
        last_a[k] = a[i]
        last_s[k] = s[i]
        last_w[k] = w
