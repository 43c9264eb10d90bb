"""Feed-forward networks of FIFO stations, computed window by window.

Simulated time is cut into windows holding about ``block`` arrivals per replication.
In each window the producers' arrivals are routed to their queues (a copy per bound
queue: fanout), then every station, upstream first, takes the messages that reached
it in the window (merged by time), computes their starts and departures with the
Lindley or Kiefer-Wolfowitz kernel (state carried from the previous window), records
its statistics, and publishes its departures onward. A departure at or after the end
of the window is held back and released in the window it falls in, merged in time
order with the others (multi-server stations reorder messages), so the next station
always sees its arrivals sorted. Memory is bounded by the window and the backlog.

Split queues assign each message to an instance with an index array: round-robin
(message j to instance j mod n), random and weighted (a uniform draw per message from
the balancer's stream), key-hash (key mod n; keyless messages rotate). Service times
are drawn in the order messages reach the queue.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from qsim._rng import replication_sequence, stream_generators
from qsim.fast._jit import backend, use_backend, worth_compiling
from qsim.fast.graph import Network, StationPlan
from qsim.fast.lindley import LindleyState
from qsim.fast.multiserver import Chunk, ServerState, fifo_servers
from qsim.fast.record import QueueStats
from qsim.fast.sampling import ArrivalWindows, Draws, key_draws
from qsim.fast.values import EXACT_CAP, Values

__all__ = ["Batch", "ReplicationState", "simulate"]

F = NDArray[np.float64]
I64 = NDArray[np.int64]
T = TypeVar("T")

#: Expected arrivals per replication and window: arrays stay cache-sized.
BLOCK = 1 << 16
#: Replications run in lockstep by the numpy twin of the multi-server kernel.
LOCKSTEP = 16


class Batch:
    """Messages in time order: times here, publish times, producer, key (-1: none).

    ``born`` None means born at ``t``; ``path`` an int means all from that producer.
    """

    __slots__ = ("born", "key", "path", "t")

    def __init__(self, t: F, born: F | None, path: I64 | int, key: I64 | None) -> None:
        self.t, self.born, self.path, self.key = t, born, path, key

    def births(self) -> F:
        return self.t if self.born is None else self.born

    def take(self, idx: Any) -> Batch:
        path = self.path if isinstance(self.path, int) else self.path[idx]
        born = None if self.born is None else self.born[idx]
        key = None if self.key is None else self.key[idx]
        return Batch(self.t[idx], born, path, key)

    @staticmethod
    def merge(parts: list[Batch]) -> Batch | None:
        parts = [p for p in parts if p.t.size]
        if len(parts) <= 1:
            return parts[0] if parts else None
        t = np.concatenate([p.t for p in parts])
        if all(a.t[-1] <= b.t[0] for a, b in itertools.pairwise(parts)):
            order = slice(None)  # consecutive runs already in time order: no sort
        else:
            order = np.argsort(t, kind="stable")
        born = None  # born at t in every part: still so
        if any(p.born is not None for p in parts):
            born = np.concatenate([p.births() for p in parts])[order]
        first = parts[0].path
        path: I64 | int = first
        if not (isinstance(first, int) and all(p.path == first for p in parts)):
            path = np.concatenate(
                [np.full(p.t.size, p.path) if isinstance(p.path, int) else p.path for p in parts]
            )[order]
        key = None
        if any(p.key is not None for p in parts):
            key = np.concatenate(
                [np.full(p.t.size, -1) if p.key is None else p.key for p in parts]
            )[order]
        return Batch(t[order], born, path, key)


class Station:
    """One queue of one replication: plan, streams, kernel state, statistics."""

    def __init__(
        self,
        plan: StationPlan,
        gens: list[np.random.Generator],
        warmup: float,
        duration: float,
        block: int,
    ) -> None:
        self.plan = plan
        self.stats = QueueStats(warmup, duration, plan.util_servers, plan.mode)
        self.inbox: list[Batch] = []
        self.pending: Batch | None = None  # departures not yet released downstream
        self.turn = 0  # round-robin position (split) / keyless rotation (key-hash)
        self.held = 0  # messages in a sink
        self.service = (
            None
            if plan.service is None
            else Draws.service(plan.service, gens[plan.service_stream], block)
        )
        self.coins = None
        if plan.balancer in ("random", "weighted") and plan.lanes > 1:
            self.coins = Draws.uniform(gens[plan.balancer_stream], block)
        lanes = plan.lanes if plan.mode == "split" else 1
        self.lindley = plan.servers == 1 and plan.capacity is None
        self.state: Any = (
            LindleyState(lanes) if self.lindley else ServerState(plan.servers, lanes, plan.capacity)
        )

    def lanes_of(self, batch: Batch) -> I64 | None:
        """The instance each message goes to (None: a single lane)."""
        plan, n = self.plan, batch.t.size
        if plan.mode != "split" or plan.lanes == 1:
            return None
        lanes = plan.lanes
        if plan.balancer == "round-robin":
            out = (self.turn + np.arange(n)) % lanes
            self.turn = (self.turn + n) % lanes
            return out
        if plan.balancer == "random":
            return (self.coins.take(n) * lanes).astype(np.int64)  # type: ignore[union-attr]
        if plan.balancer == "weighted":
            w = np.asarray(plan.weights, dtype=float)
            x = self.coins.take(n) * float(sum(plan.weights or ()))  # type: ignore[union-attr]
            return np.minimum(np.searchsorted(np.cumsum(w), x, side="right"), lanes - 1)
        key = batch.key if batch.key is not None else np.full(n, -1)
        out = key % lanes
        none = np.flatnonzero(key < 0)
        out[none] = (self.turn + np.arange(none.size)) % lanes
        self.turn = (self.turn + none.size) % lanes
        return out


class ReplicationState:
    """Everything one replication carries from window to window."""

    def __init__(
        self, net: Network, seed: int, index: int, warmup: float, duration: float, block: int
    ) -> None:
        seq = replication_sequence(seed, index)
        gens = stream_generators(seq, net.streams.total)
        self.net = net
        self.warmup, self.duration = warmup, duration
        self.arrivals = [
            ArrivalWindows(p.process, gens[net.streams.arrival[i]], duration, block)
            for i, p in enumerate(net.producers)
        ]
        self.keys = [
            key_draws(p.keys, gens[net.streams.keys[i]], block) for i, p in enumerate(net.producers)
        ]
        self.stations = {s.name: Station(s, gens, warmup, duration, block) for s in net.stations}
        self.paths: dict[tuple[int, str], Values] = {}
        for p, consumer in net.paths:
            st = next(s for s in self.stations.values() if s.plan.consumer == consumer)
            alias = st.plan.alias_path == p
            self.paths[(p, consumer)] = st.stats.response if alias else Values()

    def publish(self, t1: float) -> None:
        """Route the producers' arrivals in the window ending at ``t1``."""
        for i, p in enumerate(self.net.producers):
            t = self.arrivals[i].take(t1)
            if not t.size:
                continue
            keys = self.keys[i]
            batch = Batch(t, None, i, None if keys is None else keys.take(t.size))
            for q in p.entry:
                self.stations[q].inbox.append(batch)

    def finish(self, st: Station, out: Batch) -> None:
        """Completions at a final consumer: end-to-end response per path."""
        if st.plan.alias_path is not None:
            return  # the queue's response stream is the path's
        born = out.births()
        keep = (born >= self.warmup) & (out.t < self.duration)
        if isinstance(out.path, int):
            self.paths[(out.path, str(st.plan.consumer))].add((out.t - born)[keep])
            return
        for p in np.unique(out.path[keep]).tolist():
            sel = keep & (out.path == p)
            self.paths[(p, str(st.plan.consumer))].add((out.t - born)[sel])


def simulate(
    net: Network,
    seed: int,
    replications: int,
    warmup: float,
    duration: float,
    finish: Callable[[ReplicationState], T],
    *,
    block: int = BLOCK,
    progress: Callable[[int, int], None] | None = None,
) -> list[T]:
    """Run ``replications`` replications of the network; returns ``finish(state)`` of
    each, called as soon as it is done (so its memory can be released)."""
    multi = any(
        s.mode != "sink" and not (s.servers == 1 and s.capacity is None) for s in net.stations
    )
    visits = net.rate * duration * replications * max(len(net.stations), 1)
    if backend() == "numba" and not worth_compiling(visits * (2e-6 if multi else 2e-7)):
        with use_backend("numpy"):  # same numbers; numba's start-up would cost more
            return simulate(
                net, seed, replications, warmup, duration, finish, block=block, progress=progress
            )
    lockstep = backend() == "numpy" and multi
    size = min(replications, LOCKSTEP) if lockstep else 1
    if size > 1:  # the group's exact values must fit in about 256 MB
        kept = min(net.rate * duration, EXACT_CAP) * 8.0 * 2 * len(net.stations)
        size = max(1, min(size, int(256e6 // max(kept, 1.0))))
    # NOTE: windows depend on the network only, never on the backend or the group, so
    # the closed-form recursions see the same chunks (and round alike) either way.
    span = block / net.rate if net.rate > 0 else duration
    done: list[T] = []
    for first in range(0, replications, size):
        group = [
            ReplicationState(net, seed, r, warmup, duration, block)
            for r in range(first, min(first + size, replications))
        ]
        t0 = 0.0
        while t0 < duration:
            t1 = min(t0 + span, duration)
            _window(group, t1)
            t0 = t1
        for rep in group:
            done.append(finish(rep))
            if progress is not None:
                progress(len(done), replications)
    return done


def _window(group: list[ReplicationState], t1: float) -> None:
    for rep in group:
        rep.publish(t1)
    for plan in group[0].net.stations:
        stations = [rep.stations[plan.name] for rep in group]
        batches = [Batch.merge(st.inbox) for st in stations]
        for st in stations:
            st.inbox = []
        if plan.mode == "sink":
            for st, b in zip(stations, batches, strict=True):
                if b is not None:
                    _sink(st, b)
            continue
        outs = _serve(stations, batches, t1)
        for rep, st, out in zip(group, stations, outs, strict=True):
            if out is None:
                continue
            if plan.final:
                rep.finish(st, out)
            else:
                _release(rep, st, out, t1)


def _sink(st: Station, b: Batch) -> None:
    cap = st.plan.capacity
    take = b.t.size if cap is None else max(0, min(b.t.size, cap - st.held))
    st.held += take
    acc = b.t[:take]
    st.stats.arrivals(b.t, acc.size - int(np.searchsorted(acc, st.stats.warmup, side="left")))
    st.stats.held(acc)


def _serve(stations: list[Station], batches: list[Batch | None], t1: float) -> list[Batch | None]:
    """Starts and departures of every station's batch, recorded; returns the departures."""
    lanes = [None if b is None else st.lanes_of(b) for st, b in zip(stations, batches, strict=True)]
    if stations[0].lindley:  # the recursion and the statistics in one pass
        outs: list[Batch | None] = []
        for st, b, lane in zip(stations, batches, lanes, strict=True):
            if b is None:
                outs.append(None)
                continue
            _count_arrivals(st, b.t, b.t)
            svc = st.service.take(b.t.size)  # type: ignore[union-attr]
            # A final queue whose responses are its path's needs no departure times.
            wanted = not (st.plan.final and st.plan.alias_path is not None)
            _, d = st.stats.served_lindley(b.t, svc, st.state, lane, t1, wanted)
            outs.append(None if d is None else Batch(d, b.births(), b.path, b.key))
        return outs
    live = [i for i, b in enumerate(batches) if b is not None]
    chunks = [
        Chunk(
            batches[i].t,  # type: ignore[union-attr]
            stations[i].service.peek(batches[i].t.size),  # type: ignore[union-attr]
            stations[i].state,
            lanes[i],
        )
        for i in live
    ]
    outs = [None] * len(stations)
    for i, (s, d, ok, used) in zip(live, fifo_servers(chunks), strict=True):
        st, b = stations[i], batches[i]
        assert b is not None
        st.service.advance(used)  # type: ignore[union-attr]
        if ok.all():
            _count_arrivals(st, b.t, b.t)
            st.stats.served(b.t, s, d, t1)
            outs[i] = Batch(d, b.births(), b.path, b.key)
        else:
            a = b.t[ok]
            _count_arrivals(st, b.t, a)
            st.stats.served(a, s[ok], d[ok], t1)
            kept = b.take(ok)
            outs[i] = Batch(d[ok], kept.births(), kept.path, kept.key)
    return outs


def _count_arrivals(st: Station, arrived: F, accepted: F) -> None:
    warmup = st.stats.warmup
    st.stats.arrivals(arrived, accepted.size - int(np.searchsorted(accepted, warmup, side="left")))


def _release(rep: ReplicationState, st: Station, out: Batch, t1: float) -> None:
    """Publish the departures before ``t1`` downstream; hold the later ones."""
    if out.t.size > 1 and np.any(out.t[1:] < out.t[:-1]):  # several servers reorder
        out = out.take(np.argsort(out.t, kind="stable"))
    merged = Batch.merge([out] if st.pending is None else [st.pending, out])
    if merged is None:
        return
    cut = int(np.searchsorted(merged.t, t1, side="left"))
    now = merged.take(slice(0, cut))
    st.pending = merged.take(slice(cut, None)) if cut < merged.t.size else None
    if st.pending is not None and t1 >= rep.duration:
        st.pending = None  # departures after the end never arrive anywhere
    if now.t.size:
        for q in st.plan.targets:
            rep.stations[q].inbox.append(now)
