"""The fast engine's class of scenarios, and why a scenario falls outside it.

A scenario is inside the class when its dynamics reduce to FIFO stations with static
routing: no failures or outages, no TTL, priorities, drop-head or blocking overflow,
byte limits, broker ingress stages, retries, batching or partitioned topics, and every
queue is one of

- *shared*: one consumer pool whose instances take a message only when a slot is free
  (prefetch <= concurrency): a G/G/c queue (c = instances x prefetch) in FIFO order,
  whatever the balancer, since any free slot serves alike;
- *split*: instances that buffer what they are given (unlimited prefetch, or a
  ``key-hash`` balancer, which pins keys and ignores credit): a static split of the
  arrivals by round-robin, random, weighted or key-hash index arrays, each instance a
  G/G/concurrency FIFO queue;
- *sink*: a queue nobody consumes (messages stay, up to its capacity).

A capacity (``overflow: reject``) is exact for shared queues and single instances; over
several buffering instances it would couple their queues. Any scenario field this
module does not know, set to other than its default, keeps the scenario out too: a
feature added to the schema later is refused by name, never silently ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["shape", "unsupported"]

_STATEFUL = ("least-loaded", "power-of-two")
# Fields whose every value the fast engine models (or that do not change a run).
_KNOWN = {
    "Scenario": {
        "name",
        "description",
        "seed",
        "duration",
        "warmup",
        "replications",
        "engine",
        "load",
        "slo",
        "plan",
        "producers",
        "brokers",
        "consumers",
    },
    "Broker": {
        "name",
        "nodes",
        "balancer",
        "weights",
        "failover",
        "failures",
        "outages",
        "queues",
        "exchanges",
        "topics",
        "model",
    },
    "Queue": {
        "name",
        "capacity",
        "max_bytes",
        "overflow",
        "durable",
        "ordering",
        "ttl",
        "dead_letter",
        "auto_delete",
        "replicas",
        "node",
        "model",
        "ingress",
    },
    "Exchange": {"name", "type", "bindings"},
    "Consumer": {
        "name",
        "queue",
        "topic",
        "group",
        "instances",
        "concurrency",
        "prefetch",
        "ack",
        "service",
        "batch",
        "fail_probability",
        "retry",
        "balancer",
        "weights",
        "publish_to",
        "failures",
        "outages",
        "rebalance",
    },
    "Producer": {
        "name",
        "to",
        "rate",
        "arrival",
        "keys",
        "routing_key",
        "priority",
        "size",
        "persistent",
    },
}


def unsupported(scenario: Any) -> str | None:
    """The first feature of ``scenario`` outside the fast engine's class, in plain words
    (e.g. ``"ttl on queue 'orders'"``); None when the fast engine can run it."""
    return next(_features(scenario), None)


def _unknown(obj: Any, what: str) -> Iterator[str]:
    """Fields this module does not know, set to other than their default."""
    kind = type(obj).__name__
    known = _KNOWN.get(kind)
    fields = getattr(type(obj), "model_fields", {})
    if known is None:
        return
    for name, info in fields.items():
        if name in known:
            continue
        if getattr(obj, name) != info.get_default(call_default_factory=True):
            yield f"{name} on {what}"


def _features(scenario: Any) -> Iterator[str]:
    """Every feature outside the class, in scenario order."""
    yield from _unknown(scenario, "the scenario")
    for b in scenario.brokers:
        yield from _unknown(b, f"broker {b.name!r}")
        if b.failures is not None:
            yield f"broker failures on {b.name!r}"
        if b.outages:
            yield f"broker outages on {b.name!r}"
        for q in b.queues:
            yield from _queue(q)
        for x in b.exchanges:
            yield from _unknown(x, f"exchange {x.name!r}")
        for t in b.topics:
            yield f"partitioned topic {t.name!r} (consumer groups)"
    pools: dict[str, list[Any]] = {}
    for c in scenario.consumers:
        yield from _consumer(c)
        if c.queue is not None:
            pools.setdefault(c.queue, []).append(c)
            if len(pools[c.queue]) == 2:
                yield f"several consumer pools on queue {c.queue!r}"
    for p in scenario.producers:
        yield from _unknown(p, f"producer {p.name!r}")
    for b in scenario.brokers:
        for q in b.queues:
            cons = pools.get(q.name, [])
            form = shape(cons[0]) if len(cons) == 1 else None
            split = isinstance(form, tuple) and form[0] == "split" and form[1] > 1
            if q.capacity is not None and split:
                yield (
                    f"capacity with messages buffered at {form[1]} instances "  # type: ignore[index]
                    f"on queue {q.name!r}"
                )


def _queue(q: Any) -> Iterator[str]:
    yield from _unknown(q, f"queue {q.name!r}")
    if q.ttl is not None:
        yield f"ttl on queue {q.name!r}"
    if q.ordering == "priority":
        yield f"priority ordering on queue {q.name!r}"
    if q.capacity is not None and q.overflow != "reject":
        yield f"overflow: {q.overflow} on queue {q.name!r}"
    if q.max_bytes is not None:
        yield f"max_bytes limit on queue {q.name!r}"
    ingress = getattr(q, "ingress", None)
    if ingress is not None and getattr(ingress, "active", True):
        yield f"broker ingress stage on queue {q.name!r}"


def _consumer(c: Any) -> Iterator[str]:
    yield from _unknown(c, f"consumer {c.name!r}")
    if c.batch is not None:
        yield f"batching on consumer {c.name!r}"
    if c.fail_probability > 0:
        yield f"retries (fail_probability) on consumer {c.name!r}"
    if c.ack == "auto":
        yield f"ack: auto on consumer {c.name!r}"
    if c.failures is not None:
        yield f"consumer failures on {c.name!r}"
    if c.outages:
        yield f"consumer outages on {c.name!r}"
    if c.topic is None:
        form = shape(c)
        if isinstance(form, str):
            yield form


def shape(c: Any) -> tuple[str, int, int, int, str] | str:
    """How a queue consumer runs: (mode, lanes, servers per lane, utilization slots,
    balancer), or why the fast engine cannot run it."""
    n, k, p = c.instances, c.concurrency, c.prefetch
    slots = n * min(k, p if p is not None else k)
    bal = c.balancer or "round-robin"
    if bal == "key-hash":
        return ("split", n, k, slots, bal)
    if p is not None and p <= k:
        return ("shared", 1, n * p, slots, bal)
    if p is not None:
        return (
            f"prefetch {p} above concurrency {k} on consumer {c.name!r} "
            "(instances buffer by credit, which needs queue state)"
        )
    if n > 1 and bal in _STATEFUL:
        return f"{bal} balancing needs queue state (consumer {c.name!r})"
    return ("split", n, k, slots, bal)
