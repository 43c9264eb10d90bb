"""Streaming statistics of one replication: per-message values, levels, counters.

Values (waits, response times) are appended to a Python list and flushed to numpy in
chunks; up to ``EXACT_CAP`` values per stream are kept exactly (quantiles from the
array), beyond that the stream switches to a mergeable relative-error sketch, so memory
is bounded however long the run. Levels (queue lengths, busy consumers) are integrated
over time from the warm-up on.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from qsim.stats import QuantileSketch

__all__ = ["COUNTERS", "EXACT_CAP", "Counters", "Level", "QueueRecord", "ValueStream"]

EXACT_CAP = 2_000_000
_CHUNK = 65_536


class ValueStream:
    """Non-negative values observed one at a time (e.g. waits, seconds)."""

    __slots__ = ("_buf", "_chunks", "_kept", "max", "n", "sketch", "total")

    def __init__(self) -> None:
        self._buf: list[float] = []
        self._chunks: list[NDArray[np.float64]] = []
        self._kept = 0
        self.sketch: QuantileSketch | None = None
        self.n = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, value: float) -> None:
        buf = self._buf
        buf.append(value)
        if len(buf) >= _CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self._buf:
            return
        arr = np.asarray(self._buf, dtype=np.float64)
        self._buf = []
        self.n += arr.size
        self.total += float(arr.sum())
        self.max = max(self.max, float(arr.max()))
        if self.sketch is None and self._kept + arr.size <= EXACT_CAP:
            self._chunks.append(arr)
            self._kept += arr.size
            return
        if self.sketch is None:
            self.sketch = QuantileSketch()
            for c in self._chunks:
                self.sketch.add(c)
            self._chunks = []
        self.sketch.add(arr)

    @property
    def exact(self) -> bool:
        return self.sketch is None

    def values(self) -> NDArray[np.float64]:
        """All values, when kept exactly."""
        self.flush()
        if not self._chunks:
            return np.zeros(0)
        return np.concatenate(self._chunks)

    def mean(self) -> float:
        self.flush()
        return self.total / self.n if self.n else float("nan")

    def quantiles(self, probs: list[float]) -> NDArray[np.float64]:
        self.flush()
        if self.n == 0:
            return np.full(len(probs), np.nan)
        if self.sketch is None:
            return np.quantile(self.values(), probs)
        return np.asarray(self.sketch.quantile(probs), dtype=np.float64)


class Level:
    """A piecewise-constant count (messages waiting, consumers busy) and its time average."""

    __slots__ = ("area", "last", "max", "start", "value")

    def __init__(self, start: float) -> None:
        self.start = start  # integration starts here (the warm-up)
        self.value = 0
        self.area = 0.0
        self.last = start  # integrated up to here; before the warm-up nothing counts
        self.max = 0

    def change(self, delta: int, now: float) -> None:
        last = self.last
        if now > last:
            self.area += self.value * (now - last)
            self.last = now
        v = self.value + delta
        self.value = v
        if v > self.max:
            self.max = v

    def mean(self, now: float) -> float:
        """Time average over [start, now]."""
        span = now - self.start
        if span <= 0:
            return float("nan")
        area = self.area + self.value * max(now - self.last, 0.0)
        return area / span

    def reset_max(self) -> None:
        self.max = self.value


COUNTERS = (
    "arrived",  # copies offered to the queue (publishes routed here, retries excluded)
    "accepted",  # copies the queue took in
    "rejected",  # refused on arrival: queue full (reject) or queue unavailable
    "dropped",  # removed from the head to make room (drop-head)
    "expired",  # ttl or retention ran out before delivery
    "dead_lettered",  # routed to a dead-letter destination (from any cause)
    "lost",  # destroyed by a failure (transient queue on a failed node, deleted queue)
    "completed",  # processed and acked
    "failed_final",  # failed on the last retry
    "retried",  # nacked and sent for another attempt
    "redelivered",  # delivered again after a consumer failure
    "duplicated",  # redeliveries of messages whose processing had started
    "blocked",  # publishes that had to wait for room (overflow: block)
)


class Counters:
    """Event counts of one queue over a replication (whole run) and at the warm-up."""

    __slots__ = (*COUNTERS, "_at_warmup")

    def __init__(self) -> None:
        for name in COUNTERS:
            setattr(self, name, 0)
        self._at_warmup: dict[str, int] = dict.fromkeys(COUNTERS, 0)

    def mark_warmup(self) -> None:
        self._at_warmup = {n: getattr(self, n) for n in COUNTERS}

    def after_warmup(self) -> dict[str, int]:
        return {n: getattr(self, n) - self._at_warmup[n] for n in COUNTERS}

    def whole_run(self) -> dict[str, int]:
        return {n: getattr(self, n) for n in COUNTERS}


class QueueRecord:
    """Everything recorded about one queue (or partition group) in one replication."""

    __slots__ = (
        "batch_extra",
        "buffered",
        "busy",
        "counts",
        "ready",
        "response",
        "servers",
        "wait",
    )

    def __init__(self, warmup: float, servers: int) -> None:
        self.wait = ValueStream()  # arrival at the queue -> start of service, seconds
        self.response = ValueStream()  # arrival at the queue -> ack, seconds
        self.ready = Level(warmup)  # messages waiting for delivery
        self.busy = Level(warmup)  # consumer slots working (in service)
        self.buffered = Level(warmup)  # prefetched by an instance, not started yet
        # Messages in service beyond one per busy slot (batch consumers; 0 otherwise).
        self.batch_extra = Level(warmup)
        self.counts = Counters()
        self.servers = servers  # consumer slots serving this queue
