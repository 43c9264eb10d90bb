"""Multi-server FIFO queues (G/G/c, G/G/c/K) by the Kiefer-Wolfowitz recursion.

Each arrival takes the server that frees first: with the vector of server free times
``V``, message n starts at ``s_n = max(a_n, min V)``, departs at ``d_n = s_n + S_n``, and
``d_n`` replaces the minimum in ``V``. Which of several equal minima is replaced does not
matter: the multiset ``V`` evolves the same way, and so do all times.

With a capacity K (messages waiting plus in service), an arrival that finds K messages
in system is rejected and draws no service time (the event engine draws service times
at the start of service, so the n-th *accepted* message gets the n-th draw). The count
in system at ``a_n`` is ``c + (messages still waiting)`` when some accepted message
starts after ``a_n`` (FIFO is work-conserving: then every server is busy), otherwise
the number of servers whose free time is after ``a_n``. Starts are non-decreasing in
FIFO, so the messages still waiting are a suffix of the accepted ones: a ring buffer of
their start times, with a head that only moves forward, counts them in O(1) amortised.

The recursion does not vectorise across messages. The compiled loop (numba) runs each
group of lanes in one pass; the numpy twin runs many independent lanes (replications
and consumer instances) in lockstep, one message index per step, over a ``lanes x
servers`` state, with identical results.

Reference: J. Kiefer and J. Wolfowitz, "On the theory of queues with many servers",
Trans. Amer. Math. Soc. 78 (1955) 1-18.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qsim.fast._jit import compiled

__all__ = ["Chunk", "ServerState", "fifo_servers"]

#: Above this many servers per lane the compiled loop keeps free times in a heap.
HEAP = 24

F = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]


class ServerState:
    """What ``lanes`` FIFO lanes of ``servers`` servers carry between chunks.

    ``capacity`` is K (messages waiting plus in service per lane), 0 for unbounded.
    """

    __slots__ = ("capacity", "count", "free", "head", "ring")

    def __init__(self, servers: int, lanes: int = 1, capacity: int | None = None) -> None:
        self.free = np.zeros((lanes, servers))
        self.capacity = int(capacity or 0)
        size = max(self.capacity - servers, 1) if self.capacity else 1
        self.ring = np.zeros((lanes, size))  # starts of accepted messages still waiting
        self.head = np.zeros(lanes, dtype=np.int64)
        self.count = np.zeros(lanes, dtype=np.int64)


@dataclass
class Chunk:
    """One lane group's messages of a chunk: arrivals, services, lanes, and the state."""

    arrivals: F
    services: F  # one per message, taken in order by the accepted ones
    state: ServerState
    lane: I64 | None = None


def fifo_servers(chunks: list[Chunk]) -> list[tuple[F, F, B, int]]:
    """Start and departure times of every message of every chunk.

    Parameters
    ----------
    chunks : list of Chunk
        Independent lane groups (e.g. one per replication); each state is updated in
        place. A capacity needs a single lane (``lane`` None).

    Returns
    -------
    list of (starts, departures, accepted, used)
        Per chunk: start and departure times (seconds; NaN for rejected messages),
        which messages were accepted, and how many service times were used.

    Examples
    --------
    >>> import numpy as np
    >>> st = ServerState(servers=2)
    >>> s, d, ok, used = fifo_servers([Chunk(np.array([0.0, 0.5, 1.0]),
    ...                                      np.array([2.0, 2.0, 1.0]), st)])[0]
    >>> s, d
    (array([0. , 0.5, 2. ]), array([2. , 2.5, 3. ]))
    """
    jit = _compiled_loop()
    if jit is None:
        return _lockstep(chunks)
    out = []
    for ch in chunks:
        n = ch.arrivals.size
        s, d, ok = np.empty(n), np.empty(n), np.empty(n, dtype=np.bool_)
        lane = ch.lane if ch.lane is not None else _NO_LANE
        st = ch.state
        used = jit(
            ch.arrivals,
            ch.services,
            lane,
            st.free,
            st.ring,
            st.head,
            st.count,
            st.capacity,
            s,
            d,
            ok,
        )
        out.append((s, d, ok, int(used)))
    return out


_NO_LANE = np.zeros(0, dtype=np.int64)


def _compiled_loop() -> Any:
    """The compiled recursion (its heap helper compiled first), or None."""
    global _sift_down
    helper = compiled(_sift_down_py)
    if helper is None:
        return None
    _sift_down = helper  # the name the compiled loop calls
    return compiled(_kw_loop)


def _lockstep(chunks: list[Chunk]) -> list[tuple[F, F, B, int]]:
    """The numpy twin: every lane of every chunk advances one message per step."""
    lanes: list[tuple[int, int, I64]] = []  # (chunk, lane, message indices)
    for c, ch in enumerate(chunks):
        if ch.lane is None:
            lanes.append((c, 0, np.arange(ch.arrivals.size)))
            continue
        if ch.state.capacity:
            raise ValueError("a capacity needs a single lane")
        order = np.argsort(ch.lane, kind="stable")
        for idx in np.split(order, np.flatnonzero(np.diff(ch.lane[order])) + 1):
            if idx.size:
                lanes.append((c, int(ch.lane[idx[0]]), idx))
    results = [
        (np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, dtype=np.bool_), 0)
        for n in (ch.arrivals.size for ch in chunks)
    ]
    if not lanes:
        return results
    nl = len(lanes)
    width = max(idx.size for _, _, idx in lanes)
    length = np.array([idx.size for _, _, idx in lanes])
    # NOTE: padding with arrival -inf and service 0 makes a step of a finished lane a
    # no-op (it starts at its earliest free time and frees then), so unbounded lanes
    # need no masks.
    arr = np.full((nl, width), -np.inf)
    svc = np.zeros((nl, width))
    for j, (c, _, idx) in enumerate(lanes):
        arr[j, : idx.size] = chunks[c].arrivals[idx]
        svc[j, : idx.size] = chunks[c].services[idx]
    free = np.stack([chunks[c].state.free[k] for c, k, _ in lanes])
    ring = np.stack([chunks[c].state.ring[k] for c, k, _ in lanes])
    head = np.array([chunks[c].state.head[k] for c, k, _ in lanes])
    count = np.array([chunks[c].state.count[k] for c, k, _ in lanes])
    cap = np.array([chunks[c].state.capacity for c, _, _ in lanes])
    rows = np.arange(nl)
    starts, deps = np.empty((nl, width)), np.empty((nl, width))
    if cap.any():
        okm, used = _bounded_steps(arr, svc, length, free, ring, head, count, cap, starts, deps)
    else:
        for j in range(width):
            t = arr[:, j]
            m = free.argmin(axis=1)
            s = np.maximum(t, free[rows, m])
            d = s + svc[:, j]
            free[rows, m] = d
            starts[:, j] = s
            deps[:, j] = d
        okm = np.ones((nl, width), dtype=np.bool_)
        used = length
    for j, (c, k, idx) in enumerate(lanes):
        st = chunks[c].state
        st.free[k], st.ring[k], st.head[k], st.count[k] = free[j], ring[j], head[j], count[j]
        s_out, d_out, ok_out, n_used = results[c]
        s_out[idx] = starts[j, : idx.size]
        d_out[idx] = deps[j, : idx.size]
        ok_out[idx] = okm[j, : idx.size]
        results[c] = (s_out, d_out, ok_out, n_used + int(used[j]))
    return results


def _bounded_steps(
    arr: F,
    svc: F,
    length: I64,
    free: F,
    ring: F,
    head: I64,
    count: I64,
    cap: I64,
    starts: F,
    deps: F,
) -> tuple[B, I64]:
    """Lockstep steps when some lanes have a capacity (the twin of the loop's check)."""
    nl, width = arr.shape
    servers, size = free.shape[1], ring.shape[1]
    rows = np.arange(nl)
    bounded = cap > 0
    okm = np.zeros((nl, width), dtype=np.bool_)
    used = np.zeros(nl, dtype=np.int64)
    for j in range(width):
        live = length > j
        t = arr[:, j]
        pop = live & bounded & (count > 0) & (ring[rows, head] <= t)
        while pop.any():
            head[pop] = (head[pop] + 1) % size
            count[pop] -= 1
            pop = live & bounded & (count > 0) & (ring[rows, head] <= t)
        busy = (free > t[:, None]).sum(axis=1)
        inside = np.where(count > 0, count + servers, busy)
        ok = live & (~bounded | (inside < cap))
        m = free.argmin(axis=1)
        s = np.maximum(t, free[rows, m])
        d = s + svc[rows, np.minimum(used, width - 1)]
        free[rows[ok], m[ok]] = d[ok]
        starts[:, j] = np.where(ok, s, np.nan)
        deps[:, j] = np.where(ok, d, np.nan)
        okm[:, j] = ok
        push = ok & bounded & (s > t)
        ring[rows[push], (head[push] + count[push]) % size] = s[push]
        count[push] += 1
        used += ok
    return okm, used


def _kw_loop(a, svc, lane, free, ring, head, count, capacity, s_out, d_out, ok):  # pragma: no cover
    # lane.size == 0: every message in lane 0. More than HEAP servers: free[k] is a
    # binary min-heap (same multiset, hence the same times, as the linear scan).
    servers = free.shape[1]
    size = ring.shape[1]
    heap = servers > HEAP
    used = 0
    for i in range(a.size):
        k = lane[i] if lane.size else 0
        t = a[i]
        if capacity > 0:
            h = head[k]
            cnt = count[k]
            while cnt > 0 and ring[k, h] <= t:
                h += 1
                if h == size:
                    h = 0
                cnt -= 1
            head[k] = h
            count[k] = cnt
            if cnt > 0:
                inside = cnt + servers
            else:
                inside = 0
                for m in range(servers):
                    if free[k, m] > t:
                        inside += 1
            if inside >= capacity:
                s_out[i] = np.nan
                d_out[i] = np.nan
                ok[i] = False
                continue
        best = 0
        f = free[k, 0]
        if not heap:
            for m in range(1, servers):
                v = free[k, m]
                lower = v < f
                best = m if lower else best
                f = v if lower else f
        s = t if t >= f else f
        d = s + svc[used]
        if heap:
            _sift_down(free, k, d)
        else:
            free[k, best] = d
        s_out[i] = s
        d_out[i] = d
        ok[i] = True
        if capacity > 0 and s > t:
            ring[k, (head[k] + count[k]) % size] = s
            count[k] += 1
        used += 1
    return used


def _sift_down_py(heap, k, value):  # pragma: no cover
    """Replace the minimum of the min-heap ``heap[k]`` by ``value``."""
    n = heap.shape[1]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and heap[k, child + 1] < heap[k, child]:
            child += 1
        if heap[k, child] >= value:
            break
        heap[k, i] = heap[k, child]
        i = child
    heap[k, i] = value


_sift_down: Any = _sift_down_py
