"""The model's assumptions in plain words, derived from the scenario.

Three lists: what the scenario models (and how), what it could model but this scenario
leaves out, and what qsim does not model at all. Plain text: the HTML layer escapes it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NOT_MODELLED", "assumptions"]

#: What no qsim scenario models: every figure in a report is conditional on these.
NOT_MODELLED = (
    "Network latency and bandwidth between clients and brokers: publishing and delivery "
    "take no time, so add your network round trips to every response time.",
    "Broker CPU, memory, disk and fsync: a broker node is infinitely fast while it is up; "
    "its only effects are queue capacity, failures and failover.",
    "Publisher confirms, transactions and client libraries' own buffering and batching.",
    "Garbage-collection pauses, noisy neighbours and slow consumers other than through "
    "their service-time distribution.",
    "Autoscaling, deployments and configuration changes other than the outages listed.",
    "Correlation between successive service times of one consumer (service times are "
    "independent draws).",
)


def _t(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(seconds) >= scale:
            return f"{seconds / scale:.4g} {unit}"
    return f"{seconds:.3g} s"


def _rate(per_second: float) -> str:
    return f"{per_second:.4g}/s"


def _dist(spec: Any) -> str:
    d = spec.build()
    family = spec.dist
    if family == "deterministic":
        return f"constant {_t(d.mean)}"
    if family == "exponential":
        return f"exponential, mean {_t(d.mean)} (scv 1)"
    if family == "empirical":
        return f"empirical ({len(spec.samples)} observed values), mean {_t(d.mean)}"
    return f"{family}, mean {_t(d.mean)}, scv {d.scv:.3g}"


def _arrival(p: Any, load: float) -> str:
    a = p.arrival
    scaled = "" if load == 1 else f" x {load:g} (scenario load)"
    rate = f"{_rate(p.rate)}{scaled}" if p.rate is not None else ""
    kind = a.process
    if kind == "poisson":
        return f"Poisson arrivals at {rate}"
    if kind == "deterministic":
        return f"evenly spaced arrivals at {rate}"
    if kind == "mmpp":
        states = ", ".join(_rate(s.rate) for s in a.states)
        return f"bursty (Markov-modulated Poisson) arrivals switching between {states}{scaled}"
    if kind == "piecewise":
        return f"Poisson arrivals with a piecewise rate ({len(a.rates)} steps){scaled}"
    if kind == "diurnal":
        return (
            f"Poisson arrivals with a daily cycle around {rate} "
            f"(amplitude {a.amplitude:g}, period {_t(a.period)})"
        )
    if kind == "trace":
        return f"arrival times replayed from the trace {a.path}{scaled}"
    return f"{kind} arrivals {rate}"


def _consumer(c: Any) -> str:
    where = f"queue {c.queue}" if c.queue is not None else f"topic {c.topic}"
    size = f"{c.instances} instance{'s' if c.instances != 1 else ''}"
    if c.concurrency != 1:
        size += f" x {c.concurrency} concurrent"
    if c.batch is not None:
        b = c.batch
        work = (
            f"batches of up to {b.max_size} (wait at most {_t(b.max_wait)}), "
            f"{_t(b.fixed)} + {_t(b.per_message)} per message"
        )
    else:
        work = f"service time {_dist(c.service)}"
    prefetch = "unlimited" if c.prefetch is None else str(c.prefetch)
    text = f"{c.name} reads {where}: {size}, {work}, prefetch {prefetch}, {c.ack} ack"
    if c.fail_probability > 0:
        r = c.retry
        text += (
            f"; {c.fail_probability:.3g} of attempts fail and are retried up to "
            f"{r.max_retries} times ({r.backoff} backoff from {_t(r.delay)})"
        )
    return text


def _queue(q: Any) -> str:
    cap = "unbounded" if q.capacity is None else f"capacity {q.capacity} ({q.overflow} when full)"
    parts = [cap, q.ordering]
    if q.ttl is not None:
        parts.append(f"messages expire after {_t(q.ttl)}")
    if q.dead_letter is not None:
        parts.append(f"dead letters to {q.dead_letter}")
    parts.append("durable" if q.durable else "transient (lost if its node fails)")
    if q.replicas > 1:
        parts.append(f"{q.replicas} replicas")
    return f"queue {q.name}: " + ", ".join(parts)


def _failures(sc: Any) -> tuple[list[str], list[str]]:
    modelled: list[str] = []
    left_out: list[str] = []
    for b in sc.brokers:
        if b.failures is not None:
            modelled.append(
                f"broker {b.name}: random node failures (time between failures "
                f"{_dist(b.failures.mtbf)}; repair {_dist(b.failures.mttr)})"
            )
        for o in b.outages:
            modelled.append(
                f"broker {b.name}: node {o.node} down from {_t(o.at)} for {_t(o.duration)}"
            )
        if b.failover is not None:
            f = b.failover
            modelled.append(
                f"broker {b.name}: primary-backup failover over {b.nodes} nodes (health check "
                f"every {_t(f.health_check)}, detection {_t(f.detection)}, promotion "
                f"{_t(f.promotion)})"
            )
        elif b.failures is not None or b.outages:
            modelled.append(f"broker {b.name}: no failover; a failed node's queues wait for it")
    for c in sc.consumers:
        if c.failures is not None:
            modelled.append(
                f"consumer {c.name}: random instance failures (between failures "
                f"{_dist(c.failures.mtbf)}; repair {_dist(c.failures.mttr)})"
            )
        for o in c.outages:
            who = "all instances" if o.instance is None else f"instance {o.instance}"
            modelled.append(f"consumer {c.name}: {who} down from {_t(o.at)} for {_t(o.duration)}")
    if not modelled:
        left_out.append(
            "Failures: no broker node or consumer instance ever fails in this scenario "
            "(no failures:, outages: or failover: blocks)."
        )
    return modelled, left_out


def assumptions(scenario: Any) -> dict[str, list[str]]:
    """``{"modelled": [...], "left_out": [...], "never": [...]}`` sentences for a scenario.

    ``left_out`` lists features qsim offers that this scenario does not use (so their
    effects are absent from the numbers); ``never`` is :data:`NOT_MODELLED`.
    """
    sc = scenario
    modelled = [f"producer {p.name} -> {p.to}: {_arrival(p, sc.load)}" for p in sc.producers]
    for b in sc.brokers:
        modelled += [_queue(q) for q in b.queues]
        modelled += [
            f"topic {t.name}: {t.partitions} partitions, {t.partitioner} partitioner"
            for t in b.topics
        ]
        modelled += [
            f"exchange {e.name}: {e.type}, bound to {', '.join(x.queue for x in e.bindings)}"
            for e in b.exchanges
        ]
    modelled += [_consumer(c) for c in sc.consumers]
    fails, left_out = _failures(sc)
    modelled += fails
    if all(c.fail_probability == 0 for c in sc.consumers):
        left_out.append("Processing failures and retries: every attempt succeeds.")
    if all(p.arrival.process == "poisson" for p in sc.producers):
        left_out.append(
            "Bursts and daily cycles: arrivals are Poisson at a constant rate "
            "(no mmpp, piecewise, diurnal or trace arrivals)."
        )
    if all(q.capacity is None and q.max_bytes is None for b in sc.brokers for q in b.queues):
        left_out.append("Queue limits: every queue is unbounded, so nothing is rejected as full.")
    return {"modelled": modelled, "left_out": left_out, "never": list(NOT_MODELLED)}
