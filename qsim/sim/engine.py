"""The event-driven engine: one SimPy environment per replication, wired from a scenario.

:class:`SimEngine` builds each replication from the resolved scenario graph (queues,
consumer pools, producers, dead-letter routes, failures), runs it, and turns what the
recorders saw into per-replication metric rows; :mod:`qsim.results` aggregates those
into estimates with confidence intervals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import simpy

from qsim._rng import generator, replication_sequence
from qsim.scenario.build import arrival_process
from qsim.scenario.resolve import Graph, resolve
from qsim.sim._sampler import BlockSampler, UniformSampler
from qsim.sim.balancer import make_balancer
from qsim.sim.brokercost import install_ingress, stages
from qsim.sim.consumer import Instance, Pool
from qsim.sim.failures import install_failures
from qsim.sim.message import Message
from qsim.sim.producer import Producer, key_sampler, priority_sampler
from qsim.sim.queue import SimQueue
from qsim.sim.recorder import Level, QueueRecord, ValueStream
from qsim.sim.retry import RetryPolicy
from qsim.sim.topic import build_topic

__all__ = ["PROBS", "SYSTEM_PROBS", "Replication", "SimEngine"]

PROBS = (0.5, 0.95, 0.99)
SYSTEM_PROBS = (0.5, 0.95, 0.99, 0.999)
_SERIES_POINTS = 400


class Replication:
    """One independent replication: its clock, its streams, its components."""

    def __init__(self, scenario: Any, graph: Graph, seed: int, index: int) -> None:
        self.scenario = scenario
        self.graph = graph
        self.env = simpy.Environment()
        self.seq = replication_sequence(seed, index)
        self._stream = 0
        self.warmup = float(scenario.warmup)
        self.duration = float(scenario.duration)
        self.queues: dict[str, SimQueue] = {}
        self.topics: dict[str, Any] = {}
        self.pools: dict[str, Pool] = {}
        self.paths: dict[tuple[int, str], ValueStream] = {}
        self.end_to_end = ValueStream()  # every message's publish -> final ack, seconds
        self.publish_delay: dict[str, ValueStream] = {}
        self.series: dict[str, list[int]] = {}
        # Consumer lag per topic partition at the series' times; kept out of ``series``,
        # which feeds the backlog figure of reports (one line per queue or group).
        self.lag_series: dict[str, list[int]] = {}
        self.availability: dict[str, Callable[[], float]] = {}
        self.ingress: dict[str, Any] = {}  # broker ingress stages, by destination
        self._build()

    # ---- random streams: one per component, in a fixed order -----------------------
    def rng(self) -> np.random.Generator:
        """The next independent stream of this replication."""
        seq = np.random.SeedSequence(
            self.seq.entropy, spawn_key=(*self.seq.spawn_key, self._stream)
        )
        self._stream += 1
        return generator(seq)

    # ---- wiring -------------------------------------------------------------------------
    def _build(self) -> None:
        sc, g, env = self.scenario, self.graph, self.env
        for name, dest in g.destinations.items():
            if dest.kind != "queue":
                continue
            servers = sum(
                c.instances * min(c.concurrency, c.prefetch or c.concurrency)
                for c in g.consumers_of.get(name, ())
            )
            rec = QueueRecord(self.warmup, servers)
            self.queues[name] = SimQueue(env, name, dest.spec, rec, None)
        for name, dest in g.destinations.items():
            if dest.kind == "topic":
                self.topics[name] = build_topic(self, name, dest)
        self.ingress = install_ingress(self)  # before any publisher is wired
        for name, q in self.queues.items():
            dl = g.destinations[name].spec.dead_letter
            q.dead_letter = self.publisher(dl) if dl else None
        for con in sc.consumers:
            self._build_consumer(con)
        for i, prod in enumerate(sc.producers):
            self._build_producer(i, prod)
        install_failures(self)
        env.process(self._at_warmup())
        env.process(self._sample_series())

    def publisher(self, dest: str) -> Callable[[Message], None]:
        """Publish (a fresh copy of) a message to a named destination, from inside."""
        targets = self.targets(dest, None)

        def publish(msg: Message) -> None:
            for t in targets:
                t.offer(msg.copy())

        return publish

    def targets(self, dest: str, routing_key: str | None) -> list[Any]:
        """Objects with ``offer(msg)`` that a publish to ``dest`` reaches."""
        out: list[Any] = []
        for name in self.graph.route(dest, routing_key):
            if name in self.ingress:
                out.append(self.ingress[name])
            else:
                out.append(self.queues[name] if name in self.queues else self.topics[name])
        return out

    def _build_consumer(self, con: Any) -> None:
        env = self.env
        service_rng, coin_rng, retry_rng = self.rng(), self.rng(), self.rng()
        service = con.service.build() if con.service is not None else None
        retry_dl = self.publisher(con.retry.dead_letter) if con.retry.dead_letter else None
        retry = RetryPolicy(env, con.retry, UniformSampler(retry_rng), retry_dl)
        publish_next = None
        if con.publish_to:
            outs = [self.targets(d, None) for d in con.publish_to]
            flat = [t for ts in outs for t in ts]

            def publish_next(msg: Message, flat: list[Any] = flat) -> None:
                for t in flat:
                    t.offer(msg.copy())

        pool = Pool(
            env,
            con.name,
            BlockSampler(service, service_rng) if service is not None else (lambda: 0.0),
            UniformSampler(coin_rng),
            con.fail_probability,
            retry,
            publish_next,
            self._finisher(con.name),
        )
        pool.spec = con  # type: ignore[attr-defined]
        self.pools[con.name] = pool
        from qsim.sim.batch import BatchInstance  # batching consumers (con.batch)

        for k in range(con.instances):
            if con.batch is None:
                pool.instances.append(Instance(pool, k, con.concurrency, con.prefetch))
            else:
                pool.instances.append(
                    BatchInstance(pool, k, con.concurrency, con.prefetch, con.batch)
                )
        if con.queue is not None:
            q = self.queues[con.queue]
            for inst in pool.instances:
                inst.queue = q
                q.instances.append(inst)
            if q.balancer is None:
                q.balancer = make_balancer(con.balancer, UniformSampler(self.rng()), con.weights)
            q.instances_changed()
        else:
            self.topics[con.topic].attach(pool, con)

    def _finisher(self, consumer: str) -> Callable[[Message, float], None]:
        warmup = self.warmup
        paths = self.paths
        everything = self.end_to_end

        def finish(msg: Message, now: float) -> None:
            if msg.born >= warmup:
                key = (msg.path, consumer)
                stream = paths.get(key)
                if stream is None:
                    stream = paths[key] = ValueStream()
                stream.add(now - msg.born)
                everything.add(now - msg.born)

        return finish

    def _build_producer(self, index: int, prod: Any) -> None:
        env = self.env
        arr_rng, key_rng, prio_rng = self.rng(), self.rng(), self.rng()
        process = arrival_process(prod, float(self.scenario.load))
        blocks = process.blocks(arr_rng, self.duration)
        delay = self.publish_delay[prod.name] = ValueStream()
        Producer(
            env,
            blocks,
            self.targets(prod.to, prod.routing_key),
            index,
            key_sampler(prod.keys, key_rng),
            priority_sampler(prod.priority, prio_rng),
            int(prod.size or 0),
            delay,
            self.warmup,
        ).start()

    def _at_warmup(self) -> Any:
        if self.warmup > 0:
            yield self.env.timeout(self.warmup)
        for q in self.queues.values():
            q.record.counts.mark_warmup()
            for lvl in (q.record.ready, q.record.buffered, q.record.busy):
                lvl.reset_max()
        for t in self.topics.values():
            t.mark_warmup()

    def _sample_series(self) -> Any:
        dt = self.duration / _SERIES_POINTS
        records = {n: q.record for n, q in self.queues.items()}
        for t in self.topics.values():
            records.update(t.records())
        records.update({s.name: s for s in stages(self.ingress)})  # backlog inside the broker
        lags: dict[str, Level] = {}
        for t in self.topics.values():
            lags.update(t.lag_levels())
        self.series = {n: [] for n in records}
        self.lag_series = {n: [] for n in lags}
        for _ in range(_SERIES_POINTS):
            for n, rec in records.items():
                self.series[n].append(rec.ready.value)
            for n, lvl in lags.items():
                self.lag_series[n].append(lvl.value)
            yield self.env.timeout(dt)

    # ---- run and report -------------------------------------------------------------------
    def run(self) -> None:
        self.env.run(until=self.duration)

    def rows(self) -> list[tuple[str, str, str, float]]:
        """Every metric of this finished replication (see :mod:`qsim.sim.summary`)."""
        from qsim.sim.summary import replication_rows

        return replication_rows(self)

    def all_records(self) -> dict[str, QueueRecord]:
        out = {n: q.record for n, q in self.queues.items()}
        for t in self.topics.values():
            out.update(t.records())
        return out

    def held(self, name: str) -> int:
        """Messages still in a queue (ready + unacked) or waiting out a retry at the end."""
        if name in self.queues:
            q = self.queues[name]
            return q.held + q.retry_pending
        for t in self.topics.values():
            if name in t.records():
                return int(t.held(name))
        raise KeyError(name)


class SimEngine:
    """The event-driven engine (SimPy): every feature a scenario can state."""

    name = "sim"

    def supports(self, scenario: Any) -> str | None:
        """None, or the first scenario feature the event engine does not simulate yet.

        It refuses rather than silently ignoring: ``ack: auto`` (delivery-time acks) and
        queue ``max_bytes`` limits are in the schema but not in the engine.
        """
        for con in scenario.consumers:
            if con.ack == "auto":
                return f"ack: auto on consumer {con.name!r} is not simulated yet (use manual)"
        for broker in scenario.brokers:
            for q in broker.queues:
                if q.max_bytes is not None:
                    return f"max_bytes on queue {q.name!r} is not simulated yet (use capacity)"
        return None

    def run(
        self,
        scenario: Any,
        *,
        seed: int,
        replications: int,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[Replication]:
        """Run ``replications`` independent replications; returns them, finished."""
        graph = resolve(scenario)
        done = []
        for r in range(replications):
            rep = Replication(scenario, graph, seed, r)
            rep.run()
            done.append(rep)
            if progress is not None:
                progress(r + 1, replications)
        return done
