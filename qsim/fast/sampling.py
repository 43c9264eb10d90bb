"""Random inputs of the fast engine as whole arrays, drawn in cache-sized blocks.

Every replication has its own ``SeedSequence`` (:func:`qsim._rng.replication_sequence`)
and every component its own child stream, numbered in the order the event engine
hands them out (:func:`stream_layout`): the same seed gives both engines the same
service times, routing coins, keys and non-Poisson arrival times, so a FIFO station
can be compared message by message. Poisson arrivals are the exception: the fast
engine draws them as cumulative sums of exponential gaps (the same process in law,
about three times cheaper than the event engine's count-then-sort generator).

Draws come in blocks (service times in multiples of the event engine's 4096) and are
handed out as arrays; nothing is drawn per message.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qsim import arrivals
from qsim.distributions import Deterministic, Erlang, Exponential, Gamma, Lognormal, Uniform
from qsim.fast._jit import compiled

__all__ = [
    "ArrivalWindows",
    "Draws",
    "Streams",
    "key_draws",
    "stream_layout",
]

F = NDArray[np.float64]

#: The event engine's block: draws are made in multiples of it so both see one stream.
SIM_BLOCK = 4096
#: Exponential gaps drawn at a time by the Poisson generator.
POISSON_BLOCK = 1 << 16
#: Families whose ``sample(n)`` equals any split into consecutive smaller samples.
_PREFIX_SAFE = (Exponential, Deterministic, Erlang, Gamma, Lognormal, Uniform)


@dataclass(frozen=True)
class Streams:
    """Child-stream numbers of one replication's components (the event engine's order).

    Per consumer (scenario order): service, failure coin, retry jitter, then a balancer
    stream for the first consumer of each queue; then per producer: arrivals, keys,
    priorities.
    """

    service: dict[str, int] = field(default_factory=dict)
    balancer: dict[str, int] = field(default_factory=dict)
    arrival: dict[int, int] = field(default_factory=dict)
    keys: dict[int, int] = field(default_factory=dict)
    total: int = 0


def stream_layout(scenario: Any) -> Streams:
    """Which child stream each component draws from (see :class:`Streams`)."""
    out = Streams()
    k = 0
    for con in scenario.consumers:
        out.service[con.name] = k
        k += 3  # service, failure coin, retry jitter
        if con.queue is not None and con.queue not in out.balancer:
            out.balancer[con.queue] = k
            k += 1
    for i, _ in enumerate(scenario.producers):
        out.arrival[i], out.keys[i] = k, k + 1
        k += 3  # arrivals, keys, priorities
    return Streams(out.service, out.balancer, out.arrival, out.keys, k)


class ArrivalWindows:
    """One producer's arrival times, handed out window by window: ``take(t1)`` returns
    the times in [end of the previous window, t1), sorted (seconds)."""

    def __init__(
        self,
        process: arrivals.ArrivalProcess,
        rng: np.random.Generator,
        until: float,
        block: int,
    ) -> None:
        if isinstance(process, arrivals.Poisson):
            self._blocks: Iterator[F] = _poisson_blocks(process.rate, rng, until)
        else:
            self._blocks = process.blocks(rng, until, block)
        self._buf: F = np.zeros(0)
        self._pos = 0
        self._done = False

    def take(self, t1: float) -> F:
        parts = []
        while True:
            buf = self._buf
            if self._pos < buf.size and buf[-1] >= t1:
                cut = int(np.searchsorted(buf, t1, side="left"))
                parts.append(buf[self._pos : cut])
                self._pos = cut
                break
            parts.append(buf[self._pos :])
            nxt = None if self._done else next(self._blocks, None)
            if nxt is None:
                self._done = True
                self._buf, self._pos = np.zeros(0), 0
                break
            self._buf, self._pos = nxt, 0
        parts = [p for p in parts if p.size]
        if not parts:
            return np.zeros(0)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _poisson_blocks(rate: float, rng: np.random.Generator, until: float) -> Iterator[F]:
    """Poisson arrivals on [0, until) as cumulative sums of exponential gaps, drawn in
    blocks of a fixed size (the times depend on the seed only, not on any window)."""
    block = POISSON_BLOCK
    last = 0.0
    if not rate > 0:
        return
    scale = 1.0 / rate
    jit = compiled(_times_loop)
    while last < until:
        gaps = rng.standard_exponential(block)
        if jit is not None:
            times = gaps  # in place: the loop reads each gap before writing its time
            jit(gaps, scale, last, times)
        else:  # the twin: the same left-to-right sums, last + g0, + g1, ...
            acc = np.empty(block + 1)
            acc[0] = last
            np.multiply(gaps, scale, out=acc[1:])
            times = np.cumsum(acc, out=acc)[1:]
        last = float(times[-1])
        if last >= until:
            times = times[: int(np.searchsorted(times, until, side="left"))]
        yield times


def _times_loop(gaps, scale, last, out):  # pragma: no cover
    for i in range(gaps.size):
        last += gaps[i] * scale
        out[i] = last


class Draws:
    """Consecutive variates of one stream: ``peek(n)`` shows the next n, ``advance(k)``
    consumes k (a rejected message draws no service time)."""

    def __init__(
        self, draw: Any, rng: np.random.Generator, block: int, split: bool, fill: Any = None
    ) -> None:
        self._draw = draw  # draw(size, rng) -> array
        self._fill = fill  # fill(out, rng): the same draws, into a float64 buffer
        self._rng = rng
        self._block = max(SIM_BLOCK, block - block % SIM_BLOCK)
        self._split = split  # draw in SIM_BLOCK pieces (families that are not prefix-safe)
        self._buf: F = np.zeros(0)
        self._pos = 0

    @classmethod
    def service(cls, dist: Any, rng: np.random.Generator, block: int) -> Draws:
        split = not isinstance(dist, _PREFIX_SAFE)
        return cls(dist.sample, rng, block, split, None if split else dist.sample_into)

    @classmethod
    def uniform(cls, rng: np.random.Generator, block: int) -> Draws:
        return cls(lambda n, g: g.random(n), rng, block, False, lambda out, g: g.random(out=out))

    def peek(self, n: int) -> F:
        have = self._buf.size - self._pos
        if have < n:
            need = n - have
            size = max(self._block, need + (-need) % SIM_BLOCK)
            if self._fill is not None:
                # draw straight into the new buffer, after what is left of the old one
                new = np.empty(have + size)
                new[:have] = self._buf[self._pos :]
                self._fill(new[have:], self._rng)
                self._buf, self._pos = new, 0
                return new[:n]
            if self._split:
                new = np.concatenate(
                    [self._draw(SIM_BLOCK, self._rng) for _ in range(size // SIM_BLOCK)]
                )
            else:
                new = self._draw(size, self._rng)
            self._buf = np.concatenate((self._buf[self._pos :], new)) if have else new
            self._pos = 0
        return self._buf[self._pos : self._pos + n]

    def advance(self, k: int) -> None:
        self._pos += k

    def take(self, n: int) -> F:
        out = self.peek(n)
        self.advance(n)
        return out


def key_draws(spec: Any, rng: np.random.Generator, block: int) -> Draws | None:
    """Message keys 0..n-1 (int64), uniform or Zipf(s) (P(k) ~ 1/(k+1)^s); None when the
    producer sets no keys. The event engine's key sampler, in blocks."""
    if spec is None:
        return None
    n = spec.n
    if spec.dist == "uniform":
        return Draws(lambda size, g: g.integers(0, n, size), rng, block, True)
    weights = 1.0 / np.arange(1, n + 1, dtype=float) ** spec.s
    cdf = np.cumsum(weights / weights.sum())
    cdf[-1] = 1.0
    return Draws(
        lambda size, g: np.searchsorted(cdf, g.random(size), side="right"), rng, block, False
    )
