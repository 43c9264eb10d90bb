"""Producers: arrival processes turned into published messages, with keys and priorities.

Arrival times come from :mod:`qsim.arrivals` in blocks (bounded memory however long
the run); keys and priorities are drawn in blocks too. A publish to a full queue with
``overflow: block`` makes the producer wait, and that delay is recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from simpy.events import Timeout

from qsim.sim.message import Message
from qsim.sim.recorder import ValueStream

__all__ = ["Producer", "key_sampler", "priority_sampler"]


def _block_iter(draw: Callable[[int], np.ndarray]) -> Callable[[], int]:
    buf: list[int] = []
    pos = [0]

    def nxt() -> int:
        i = pos[0]
        if i >= len(buf):
            buf[:] = draw(4096).tolist()
            i = 0
        pos[0] = i + 1
        return buf[i]

    return nxt


def key_sampler(spec: Any, rng: np.random.Generator) -> Callable[[], int] | None:
    """Keys 0..n-1, uniform or Zipf(s) (P(k) ~ 1 / (k + 1)^s); None without keys."""
    if spec is None:
        return None
    n = spec.n
    if spec.dist == "uniform":
        return _block_iter(lambda size: rng.integers(0, n, size))
    weights = 1.0 / np.arange(1, n + 1, dtype=float) ** spec.s
    cdf = np.cumsum(weights / weights.sum())
    cdf[-1] = 1.0
    return _block_iter(lambda size: np.searchsorted(cdf, rng.random(size), side="right"))


def priority_sampler(
    spec: dict[int, float] | None, rng: np.random.Generator
) -> Callable[[], int] | None:
    """Priorities drawn from the producer's {priority: weight} mapping."""
    if not spec:
        return None
    levels = np.array(sorted(spec), dtype=np.int64)
    if len(levels) == 1:
        only = int(levels[0])
        return lambda: only
    w = np.array([spec[int(k)] for k in levels], dtype=float)
    cdf = np.cumsum(w / w.sum())
    cdf[-1] = 1.0
    return _block_iter(lambda size: levels[np.searchsorted(cdf, rng.random(size), side="right")])


class Producer:
    """One producer of a replication: publishes at each arrival time.

    Driven by callbacks on SimPy timeouts rather than a generator process (a third
    less overhead per message). ``targets`` are the queues (or topics) a publish lands
    in: one for a queue, several for a fanout; each gets its own copy. A full queue
    with ``overflow: block`` holds the producer until it admits the copy; later
    arrivals are then published late, and the delay is recorded.
    """

    def __init__(
        self,
        env: Any,
        blocks: Iterator[np.ndarray],
        targets: Sequence[Any],
        path: int,
        keys: Callable[[], int] | None,
        priorities: Callable[[], int] | None,
        size: int,
        publish_delay: ValueStream,
        warmup: float,
    ) -> None:
        self.env = env
        self._blocks = blocks
        self._times: list[float] = []
        self._i = 0
        self.targets = list(targets)
        self.path = path
        self.keys = keys
        self.priorities = priorities
        self.size = size
        self.publish_delay = publish_delay
        self.warmup = warmup
        self._blocked_at = 0.0

    def start(self) -> None:
        self._schedule()

    def _schedule(self) -> None:
        i = self._i
        if i >= len(self._times):
            block = next(self._blocks, None)
            if block is None:
                return
            self._times = block.tolist()
            i = 0
            if not self._times:
                self._i = 0
                self._schedule()
                return
        self._i = i + 1
        env = self.env
        ev = Timeout(env, max(self._times[i] - env.now, 0.0))
        ev.callbacks.append(self._arrive)

    def _arrive(self, _ev: Any) -> None:
        msg = Message(
            self.env.now,
            self.path,
            self.keys() if self.keys is not None else -1,
            self.priorities() if self.priorities is not None else 0,
            self.size,
        )
        self._offer(msg, 0)

    def _offer(self, msg: Message, start: int) -> None:
        targets = self.targets
        for i in range(start, len(targets)):
            wait = targets[i].offer(msg if i == 0 else msg.copy())
            if wait is not None:
                self._blocked_at = self.env.now
                wait.callbacks.append(lambda _e, i=i: self._unblocked(msg, i + 1))
                return
        self._schedule()

    def _unblocked(self, msg: Message, nxt: int) -> None:
        if self._blocked_at >= self.warmup:
            self.publish_delay.add(self.env.now - self._blocked_at)
        self._offer(msg, nxt)
