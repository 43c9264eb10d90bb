"""Failures, repairs and scheduled outages of broker nodes and consumer instances.

:func:`install_failures` runs once per replication, after everything else is built.

Broker nodes (:class:`qsim.sim.broker.Cluster` says what a node failure does to the
queues it hosts, :mod:`qsim.sim.failover` when a backup takes over):

- ``failures: {mtbf, mttr}``: each node independently stays up for a time drawn from
  ``mtbf``, then down for one drawn from ``mttr``, and so on (an alternating renewal
  process starting up at t = 0; long-run availability E[up] / (E[up] + E[down]));
- ``outages: [{at, duration, node}]``: node ``node`` is down over [at, at + duration).

A node is down while any of these causes holds (overlaps merge). While a node is down,
the queues and topics it hosts are unavailable: publishes are rejected, nothing is
delivered. Messages of replicated queues (``replicas >= 2``), persistent messages of
durable queues and topic logs survive; all others are lost (counted once, at the
failure). Unacked messages held by consumers go back to the head of the queue if they
survive (redelivered, and duplicated when their processing had started), else are lost.
Without failover a destination comes back when its node is repaired; with ``failover:
primary-backup`` it comes back on the backup at ``ceil(t / health_check) * health_check
+ detection + promotion`` after a failure at t, unless its node is back before being
declared dead; a repaired node rejoins as a backup (no switch back). Broker availability
(``rep.availability[broker]``) is the time-average over [warm-up, end] of the fraction
of the broker's queues and topics available.

Consumer instances (each instance independently):

- ``failures: {mtbf, mttr}``: up/down cycles as for nodes;
- ``outages: [{at, duration, instance}]``: one instance, or all when ``instance`` is
  omitted (they go, and come back, at one instant: no message given back by one is
  handed to another one about to go).

A failing queue consumer instance calls :meth:`Instance.fail
<qsim.sim.consumer.Instance.fail>` (its unacked messages go back to the head of the
queue, counted redelivered/duplicated; an auto-delete queue is deleted with its
messages, counted lost, when its last consumer goes) and :meth:`Instance.recover
<qsim.sim.consumer.Instance.recover>` when it is back. For a topic consumer, the
group's ``member_failed(inst)`` / ``member_recovered(inst)`` are called when the topic
offers them; otherwise topic consumers' failures are ignored.

Random streams: one per failing node (brokers in scenario order, nodes in index
order), then one per failing consumer instance (consumers in scenario order), handed
out here in that fixed order: the same seed gives the same failures. Each cause is a
process of a few events per failure; nothing here runs per message.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from simpy.events import Timeout

from qsim.sim.broker import Cluster

__all__ = ["Switch", "install_failures"]


class Switch:
    """A component that is down while at least one cause holds (failures, outages)."""

    __slots__ = ("_causes", "_fail", "_recover")

    def __init__(self, fail: Callable[[], None], recover: Callable[[], None]) -> None:
        self._fail = fail
        self._recover = recover
        self._causes = 0

    def down(self) -> None:
        """One more cause holds; the component fails if it was up."""
        self._causes += 1
        if self._causes == 1:
            self._fail()

    def up(self) -> None:
        """One cause ends; the component is back if none remains."""
        self._causes -= 1
        if self._causes == 0:
            self._recover()


def _alternate(env: Any, rng: np.random.Generator, spec: Any, switch: Switch) -> None:
    """Up for a draw of ``spec.mtbf``, down for one of ``spec.mttr``, forever."""
    up_law, down_law = spec.mtbf.build(), spec.mttr.build()

    def cycle() -> Any:
        while True:
            yield env.timeout(float(up_law.sample(1, rng)[0]))
            switch.down()
            yield env.timeout(float(down_law.sample(1, rng)[0]))
            switch.up()

    env.process(cycle())


def _outage(
    env: Any, at: float, duration: float, switches: list[Switch], queue: Any = None
) -> None:
    """Down over [at, at + duration), all ``switches`` at the same instant."""

    def start(_ev: Any) -> None:
        _at_once(queue, [sw.down for sw in switches])
        Timeout(env, duration).callbacks.append(
            lambda _e: _at_once(queue, [sw.up for sw in switches])
        )

    Timeout(env, at).callbacks.append(start)


def _at_once(queue: Any, calls: list[Callable[[], None]]) -> None:
    """Several instances of a queue fail (or recover) at one instant.

    Dispatch is held meanwhile, so the messages one failing instance gives back are not
    handed to the next instance about to fail (nor, on recovery, all to the first).
    """
    if queue is None or len(calls) == 1:
        for call in calls:
            call()
        return
    available, queue.available = queue.available, False
    for call in calls:
        call()
    queue.available = available
    if available:
        queue.instances_changed()


def _group_of(rep: Any, con: Any) -> Any:
    """The topic group object of a topic consumer, if it offers the failure hooks."""
    topic = rep.topics.get(con.topic)
    find = getattr(topic, "group", None)
    try:
        group = find(con.group_name) if callable(find) else None
    except KeyError:
        group = None
    if not (hasattr(group, "member_failed") and hasattr(group, "member_recovered")):
        return None
    return group


def _instance_switches(rep: Any, con: Any) -> list[Switch] | None:
    """One switch per instance of a consumer pool; None if its failures are ignored."""
    pool = rep.pools[con.name]
    if con.queue is not None:
        return [Switch(inst.fail, inst.recover) for inst in pool.instances]
    group = _group_of(rep, con)
    if group is None:
        return None
    return [
        Switch(partial(group.member_failed, inst), partial(group.member_recovered, inst))
        for inst in pool.instances
    ]


def install_failures(rep: Any) -> None:
    """Start the failure, repair and outage processes a scenario states.

    Registers ``rep.availability[broker]`` for every broker (see
    :meth:`qsim.sim.broker.Cluster.availability`).
    """
    env = rep.env
    sc = rep.scenario
    persistent = [bool(p.persistent) for p in sc.producers]
    for broker in sc.brokers:
        hosted = {q.name: rep.queues[q.name] for q in broker.queues if q.name in rep.queues}
        hosted.update({t.name: rep.topics[t.name] for t in broker.topics if t.name in rep.topics})
        cluster = Cluster(env, broker, hosted, persistent, rep.warmup)
        rep.availability[broker.name] = cluster.availability
        if broker.failures is None and not broker.outages:
            continue
        switches = [
            Switch(partial(cluster.node_failed, n), partial(cluster.node_repaired, n))
            for n in range(broker.nodes)
        ]
        if broker.failures is not None:
            for sw in switches:
                _alternate(env, rep.rng(), broker.failures, sw)
        for o in broker.outages:
            _outage(env, float(o.at), float(o.duration), [switches[o.node]])
    for con in sc.consumers:
        if con.failures is None and not con.outages:
            continue
        inst_switches = _instance_switches(rep, con)
        if inst_switches is None:
            continue
        if con.failures is not None:
            for sw in inst_switches:
                _alternate(env, rep.rng(), con.failures, sw)
        queue = rep.queues.get(con.queue) if con.queue is not None else None
        for o in con.outages:
            targets = inst_switches if o.instance is None else [inst_switches[o.instance]]
            _outage(env, float(o.at), float(o.duration), targets, queue)
