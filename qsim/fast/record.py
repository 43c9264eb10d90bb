"""What the fast engine records about one queue in one replication.

The same quantities as the event engine's recorders, computed from whole arrays of
arrival, start and departure times instead of event by event:

- counters from the warm-up on (arrived, accepted, rejected, completed);
- waits (arrival -> start) of messages that arrived after the warm-up and started
  before the end; responses (arrival -> departure) of those that also finished;
- time averages over [warm-up, end] of the messages waiting, in service and held by
  instances, as the sum over messages of the length of their interval clipped to the
  window (the integral of the count, without sorting events);
- the largest count waiting (at arrivals: ``i + 1`` minus the starts up to ``a_i``,
  FIFO starts being sorted) and the count waiting at 400 sample times.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from qsim.fast._jit import compiled
from qsim.fast.lindley import LindleyState
from qsim.fast.values import Values
from qsim.fast.window import lindley_window, record_window

__all__ = ["SERIES_POINTS", "QueueStats"]

F = NDArray[np.float64]
I64 = NDArray[np.int64]
SERIES_POINTS = 400


class QueueStats:
    """One queue of one replication.

    ``mode`` says where waiting messages are: ``"shared"`` (in the queue: they are
    *ready*), ``"split"`` (delivered to an instance's buffer: *buffered*) or ``"sink"``
    (a queue nobody consumes: they stay ready for ever). ``servers`` is the consumer
    slot count utilization is measured against.
    """

    def __init__(self, warmup: float, duration: float, servers: int, mode: str) -> None:
        self.warmup = warmup
        self.duration = duration
        self.servers = servers
        self.mode = mode
        self.arrived = self.accepted = self.completed = 0
        self.wait = Values()
        self.response = Values()
        self.ready_area = self.busy_area = self.buffered_area = 0.0
        self.ready_peak = 0
        # messages ready at the series' sample times, and at the warm-up instant (the
        # max starts there)
        self._times = np.arange(SERIES_POINTS) * (duration / SERIES_POINTS)
        self._ready = np.zeros(SERIES_POINTS, dtype=np.int64)
        self._ready_warmup = 0
        self._tail: F = np.zeros(0)  # starts still ahead of the current window (shared)

    # ---- per chunk ------------------------------------------------------------------
    def arrivals(self, t: F, accepted: int) -> None:
        """Count the arrivals ``t`` (sorted) of a chunk, of which ``accepted`` after the
        warm-up were taken in."""
        self.arrived += t.size - int(np.searchsorted(t, self.warmup, side="left"))
        self.accepted += accepted

    def served(self, a: F, s: F, d: F, window_end: float) -> None:
        """Accepted messages of a chunk: arrival, start and departure times (seconds)."""
        if a.size == 0:
            return
        w, r, rooms = self._rooms(a.size)
        self._take(record_window(a, s, d, self.warmup, self.duration, w, r), w, r, rooms)
        if self.mode == "shared":
            self._count_ready(a, s, window_end)

    def served_lindley(
        self,
        a: F,
        svc: F,
        state: LindleyState,
        lane: I64 | None,
        window_end: float,
        departures: bool = True,
    ) -> tuple[F, F | None]:
        """Accepted messages of a chunk at single-server FIFO lanes, given arrival and
        service times (seconds): runs the Lindley recursion and records, in one pass;
        returns the start and departure times (None without ``departures``)."""
        w, r, rooms = self._rooms(a.size)
        s, d, tot = lindley_window(
            a, svc, state, lane, self.warmup, self.duration, w, r, departures
        )
        if a.size:
            self._take(tot, w, r, rooms)
            if self.mode == "shared":
                self._count_ready(a, s, window_end)
        return s, d

    def _rooms(self, n: int) -> tuple[F, F, tuple[F | None, F | None]]:
        # Waits and responses are written straight into the streams' buffers when they fit.
        w_room, r_room = self.wait.reserve(n), self.response.reserve(n)
        w = np.empty(n) if w_room is None else w_room
        r = np.empty(n) if r_room is None else r_room
        return w, r, (w_room, r_room)

    def _take(self, tot: F, w: F, r: F, rooms: tuple[F | None, F | None]) -> None:
        nw, nr = int(tot[0]), int(tot[1])
        for stream, room, x, k, total, top in (
            (self.wait, rooms[0], w, nw, tot[2], tot[4]),
            (self.response, rooms[1], r, nr, tot[3], tot[5]),
        ):
            if room is None:
                stream.add(x[:k], float(total), float(top))
            else:
                stream.commit(k, float(total), float(top))
        self.completed += int(tot[6])
        if self.mode == "shared":
            self.ready_area += float(tot[7])
        else:
            self.buffered_area += float(tot[7])
        self.busy_area += float(tot[8])

    def held(self, a: F) -> None:
        """Accepted arrivals of a queue without consumers: they stay ready."""
        if a.size == 0:
            return
        self.ready_area += float((self.duration - np.maximum(a, self.warmup)).sum())
        self._add_ready(a, 1)
        self.ready_peak += a.size  # the count only grows: its max is the last value

    def _add_ready(self, x: F, sign: int) -> None:
        """Add ``sign`` times the count of the sorted times ``x`` at or before each sample
        time. Only the few sample times inside [x[0], x[-1]] need a search (binary
        searches of a window-sized array miss the cache at every step)."""
        if x.size == 0:
            return
        t = self._times
        k0 = int(np.searchsorted(t, x[0], side="left"))  # before: none of x
        k1 = int(np.searchsorted(t, x[-1], side="right"))  # from here: all of x
        if k1 > k0:
            self._ready[k0:k1] += sign * np.searchsorted(x, t[k0:k1], side="right")
        self._ready[k1:] += sign * x.size
        self._ready_warmup += sign * int(np.searchsorted(x, self.warmup, side="right"))

    def _count_ready(self, a: F, s: F, window_end: float) -> None:
        self._add_ready(a, 1)
        self._add_ready(s, -1)
        self.ready_peak = max(self.ready_peak, ready_peak(a, s, self._tail, self.warmup))
        # FIFO starts are sorted and the tail's come first: cut each, then join the rests.
        late = s[np.searchsorted(s, window_end, side="right") :]
        old = self._tail[np.searchsorted(self._tail, window_end, side="right") :]
        self._tail = np.concatenate((old, late)) if old.size else late

    # ---- results --------------------------------------------------------------------
    @property
    def series(self) -> list[int]:
        """Messages ready at each of the ``SERIES_POINTS`` sample times."""
        return [int(v) for v in self._ready]

    @property
    def ready_max(self) -> int:
        return max(self.ready_peak, self._ready_warmup)


def ready_peak(a: F, s: F, tail: F, warmup: float) -> int:
    """The most messages waiting just after an arrival at or after ``warmup``.

    ``a``, ``s``: sorted arrival and start times of a chunk's accepted messages (FIFO);
    ``tail``: sorted starts of earlier messages that may still be waiting.
    """
    global _gallop
    helper = compiled(_gallop_py)
    if helper is not None:
        _gallop = helper  # the name the compiled loop calls
        return int(compiled(_peak_loop)(a, s, tail, warmup))
    first = int(np.searchsorted(a, warmup, side="left"))
    if first == a.size:
        return 0
    at = a[first:]
    waiting = (
        np.arange(first + 1, a.size + 1)
        - np.searchsorted(s, at, side="right")
        + (tail.size - np.searchsorted(tail, at, side="right"))
    )
    return int(waiting.max())


def _peak_loop(a, s, tail, warmup):  # pragma: no cover
    # NOTE: the count rises by at most 1 per arrival, so after seeing r below the best
    # so far the next best - r arrivals cannot beat it: skip them. Positions in the
    # sorted starts are then found by galloping search, so a queue far below its peak
    # costs a few operations per skipped stretch instead of one per message.
    best = 0
    p = 0  # starts of this chunk at or before a[i]
    q = 0  # starts of the tail at or before a[i]
    i = np.searchsorted(a, warmup, side="left")
    while i < a.size:
        t = a[i]
        p = _gallop(s, t, p)
        q = _gallop(tail, t, q)
        n = i + 1 - p + tail.size - q
        if n > best:
            best = n
        i += best - n + 1
    return best


def _gallop_py(x, t, lo):  # pragma: no cover
    """The number of x[k] <= t, knowing it is at least lo (x sorted)."""
    if lo >= x.size or x[lo] > t:
        return lo
    step = 1
    hi = lo + 1
    while hi < x.size and x[hi] <= t:
        lo = hi
        step *= 2
        hi = lo + step
    if hi > x.size:
        hi = x.size
    # x[lo] <= t, and hi == size or x[hi] > t
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if x[mid] <= t:
            lo = mid
        else:
            hi = mid
    return hi


_gallop: Any = _gallop_py
