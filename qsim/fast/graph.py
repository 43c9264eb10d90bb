"""The station network of a scenario inside the fast engine's class.

Each queue becomes a station (shared, split or sink: see :mod:`qsim.fast.support`) with
its consumer's service law, random streams and downstream queues (``publish_to``
routed through exchanges). Stations are ordered so that every queue comes after those
that publish to it; paths are the (producer, final consumer) pairs a message can
travel, as the event engine reports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qsim.fast.sampling import Streams, stream_layout
from qsim.fast.support import shape, unsupported
from qsim.scenario.build import arrival_process
from qsim.scenario.resolve import Graph, resolve

__all__ = ["Network", "ProducerPlan", "StationPlan", "build_network"]


@dataclass(frozen=True)
class StationPlan:
    """One queue as the fast engine computes it."""

    name: str
    mode: str  # "shared", "split" or "sink"
    lanes: int  # independent FIFO lanes (instances of a split queue; else 1)
    servers: int  # servers per lane
    util_servers: int  # consumer slots utilization is measured against
    capacity: int | None
    balancer: str  # how a split queue spreads messages over its lanes
    weights: tuple[float, ...] | None
    consumer: str | None
    service: Any  # a qsim.distributions object (None for a sink)
    service_stream: int | None
    balancer_stream: int | None
    targets: tuple[str, ...]  # queues every completion is published to
    final: bool  # completions end their path here
    alias_path: int | None  # producer whose end-to-end times equal this queue's responses


@dataclass(frozen=True)
class ProducerPlan:
    name: str
    process: Any  # a qsim.arrivals process, load applied
    entry: tuple[str, ...]  # queues each message lands in
    keys: Any  # the KeyDist spec, or None


@dataclass(frozen=True)
class Network:
    """Stations in topological order, producers, paths and random-stream numbers."""

    stations: tuple[StationPlan, ...]
    queue_order: tuple[str, ...]  # queues in declaration order (the rows' order)
    producers: tuple[ProducerPlan, ...]
    paths: tuple[tuple[int, str], ...]  # (producer, final consumer)
    entry: frozenset[str]
    brokers: tuple[str, ...]
    streams: Streams
    rate: float  # mean arrivals per second, all producers


def build_network(scenario: Any) -> Network:
    """The station network of a scenario inside the class (see :func:`unsupported`)."""
    why = unsupported(scenario)
    if why is not None:
        raise ValueError(f"the fast engine cannot run this scenario: {why}")
    graph = resolve(scenario)
    streams = stream_layout(scenario)
    queues = [n for n, d in graph.destinations.items() if d.kind == "queue"]
    producers = tuple(
        ProducerPlan(
            p.name,
            arrival_process(p, float(scenario.load)),
            tuple(graph.route(p.to, p.routing_key)),
            p.keys,
        )
        for p in scenario.producers
    )
    feeders: dict[str, list[tuple[str, Any]]] = {q: [] for q in queues}
    for i, p in enumerate(producers):
        for q in p.entry:
            feeders[q].append(("producer", i))
    targets: dict[str, tuple[str, ...]] = {}
    for c in scenario.consumers:
        outs = tuple(q for d in c.publish_to for q in graph.route(d, None))
        targets[c.queue] = outs
        for q in outs:
            feeders[q].append(("consumer", c.name))
    plans = {q: _station(graph, q, streams, targets.get(q, ()), feeders[q]) for q in queues}
    order = _topological(queues, targets)
    paths: list[tuple[int, str]] = []
    for i in range(len(producers)):
        for q in order:
            st = plans[q]
            if st.final and _reaches(i, q, producers, targets):
                paths.append((i, str(st.consumer)))
    return Network(
        stations=tuple(plans[q] for q in order),
        queue_order=tuple(queues),
        producers=producers,
        paths=tuple(paths),
        entry=frozenset(q for p in producers for q in p.entry),
        brokers=tuple(b.name for b in scenario.brokers),
        streams=streams,
        rate=sum(float(p.process.mean_rate) for p in producers),
    )


def _station(
    graph: Graph,
    name: str,
    streams: Streams,
    targets: tuple[str, ...],
    feeders: list[tuple[str, Any]],
) -> StationPlan:
    spec = graph.destinations[name].spec
    cons = graph.consumers_of.get(name, ())
    if not cons:
        return StationPlan(
            name,
            "sink",
            1,
            0,
            0,
            spec.capacity,
            "round-robin",
            None,
            None,
            None,
            None,
            None,
            (),
            False,
            None,
        )
    c = cons[0]
    form = shape(c)
    assert not isinstance(form, str)
    mode, lanes, servers, slots, bal = form
    final = not c.publish_to
    alias = feeders[0][1] if final and len(feeders) == 1 and feeders[0][0] == "producer" else None
    return StationPlan(
        name=name,
        mode=mode,
        lanes=lanes,
        servers=servers,
        util_servers=slots,
        capacity=spec.capacity,
        balancer=bal,
        weights=tuple(c.weights) if c.weights is not None else None,
        consumer=c.name,
        service=c.service.build(),
        service_stream=streams.service[c.name],
        balancer_stream=streams.balancer.get(name),
        targets=targets,
        final=final,
        alias_path=alias,
    )


def _topological(queues: list[str], targets: dict[str, tuple[str, ...]]) -> list[str]:
    """Queues ordered so that each comes after every queue publishing to it."""
    indeg = dict.fromkeys(queues, 0)
    for q in queues:
        for t in targets.get(q, ()):
            indeg[t] += 1
    ready = [q for q in queues if indeg[q] == 0]
    out: list[str] = []
    while ready:
        q = ready.pop(0)
        out.append(q)
        for t in targets.get(q, ()):
            indeg[t] -= 1
            if indeg[t] == 0:
                ready.append(t)
    return out


def _reaches(
    i: int, q: str, producers: tuple[ProducerPlan, ...], targets: dict[str, tuple[str, ...]]
) -> bool:
    seen: set[str] = set()
    todo = list(producers[i].entry)
    while todo:
        x = todo.pop()
        if x == q:
            return True
        if x not in seen:
            seen.add(x)
            todo.extend(targets.get(x, ()))
    return False
