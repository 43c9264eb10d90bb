"""A broker cluster in one replication: its nodes, what they host, node failures.

Placement. A queue lives on its ``node:``; the other queues, then the topics, are spread
in declaration order by the broker's ``balancer``: ``round-robin`` deals them over nodes
0, 1, 2, ... (pinned queues take no turn); ``least-loaded`` and ``power-of-two`` pick the
node hosting fewest so far (lowest index on ties, pinned queues counted); ``weighted``
deals in proportion to ``weights`` (smooth weighted round robin); ``random`` and
``key-hash`` use ``crc32(name) mod nodes``, a fixed pseudo-random node, the same in every
replication. That node is the destination's *home*; after a failover it is *hosted*
elsewhere.

A node failure, for each queue its node hosts:

- the queue becomes unavailable (``SimQueue.available = False``): publishes are rejected
  (counted ``rejected``) and nothing is delivered until it is available again;
- its messages survive when the queue is replicated (``replicas >= 2``: quorum-like, a
  copy on another node, on disk); else when the queue is ``durable`` and the message
  persistent, i.e. its producer (``msg.path``; a message forwarded by a pipeline or
  dead-lettered keeps its origin) says ``persistent: true``; any other message is
  destroyed and counted ``lost``, once, at the failure;
- consumer channels on the node close: every unacked message held by a consumer goes
  back to the head of the queue, counted ``redelivered`` (and ``duplicated`` when its
  processing had started), as :meth:`Instance.fail <qsim.sim.consumer.Instance.fail>`
  does, unless it does not survive: then it is lost, and not counted redelivered. The
  instances themselves stay up and take messages again when the queue is back.

A topic on a failed node is unavailable the same way (:meth:`SimTopic.set_available`:
publishes rejected, nothing new starts) and loses nothing: a partitioned log is on disk.

Without ``failover:`` a destination is unavailable until its node is repaired; with
``primary-backup`` (:mod:`qsim.sim.failover`) the backup takes the failed node's
destinations over at the takeover time (unless the node is back before it is declared
dead). If no node is eligible at a takeover, they wait for the first node that comes
back. Replicas decide whether messages survive, not how long a queue is unavailable:
state ``failover:`` to model a leader election. Retried messages that come back while
their queue is unavailable, and queues deleted meanwhile, are the queue's business
(:mod:`qsim.sim.queue`).

Availability. A destination is available while a node serves it (auto-deletion is not
an outage). The broker's availability over [warm-up, now] is the time-average of the
fraction of its queues and topics available (the mean of their available fractions); a
broker hosting nothing reports the mean fraction of its nodes up.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from qsim.sim.failover import PrimaryBackup

if TYPE_CHECKING:
    import simpy

    from qsim.sim.message import Message
    from qsim.sim.queue import SimQueue

__all__ = ["Cluster", "place"]


def place(spec: Any) -> dict[str, int]:
    """The home node of each queue and topic of a broker spec, by name."""
    nodes: int = spec.nodes
    load = [0] * nodes
    for q in spec.queues:
        if q.node is not None:
            load[q.node] += 1
    weights = list(spec.weights) if spec.weights is not None else [1.0] * nodes
    total = sum(weights)
    credit = [0.0] * nodes
    turn = 0
    out: dict[str, int] = {}
    for d in (*spec.queues, *spec.topics):
        pinned = getattr(d, "node", None)
        if pinned is not None:
            out[d.name] = pinned
            continue
        if spec.balancer == "round-robin":
            node = turn % nodes
            turn += 1
        elif spec.balancer in ("least-loaded", "power-of-two"):
            node = load.index(min(load))
        elif spec.balancer == "weighted":
            for i in range(nodes):
                credit[i] += weights[i]
            node = credit.index(max(credit))
            credit[node] -= total
        else:  # random, key-hash
            node = zlib.crc32(d.name.encode()) % nodes
        load[node] += 1
        out[d.name] = node
    return out


class _Downtime:
    """Time spent down within [warm-up, now], seconds."""

    __slots__ = ("since", "total", "warmup")

    def __init__(self, warmup: float) -> None:
        self.warmup = warmup
        self.total = 0.0
        self.since: float | None = None

    def start(self, now: float) -> None:
        self.since = now

    def stop(self, now: float) -> None:
        if self.since is not None:
            self.total += max(now - max(self.since, self.warmup), 0.0)
            self.since = None

    def until(self, now: float) -> float:
        if self.since is None:
            return self.total
        return self.total + max(now - max(self.since, self.warmup), 0.0)


def _survival(spec: Any, persistent: Sequence[bool]) -> str:
    """Which messages of a queue survive a failure of its node: all, none, or by origin."""
    if spec.replicas >= 2 or (spec.durable and all(persistent)):
        return "all"
    if not spec.durable or not any(persistent):
        return "none"
    return "by-origin"


class Cluster:
    """One broker of a replication: node states, where its destinations are, availability.

    Parameters
    ----------
    env : simpy.Environment
        The replication's clock.
    spec : qsim.scenario.schema_broker.Broker
        Nodes, balancer, failover, queues and topics.
    destinations : mapping of str to SimQueue or SimTopic
        The replication's objects for the broker's queues and topics, by name.
    persistent : sequence of bool
        Whether producer i's messages are persistent (indexed by ``Message.path``).
    warmup : float
        Start of the measured window, seconds.

    ``node_failed(n)`` / ``node_repaired(n)`` are the raw transitions: the caller merges
    overlapping causes so that they alternate.
    """

    def __init__(
        self,
        env: simpy.Environment,
        spec: Any,
        destinations: dict[str, Any],
        persistent: Sequence[bool],
        warmup: float,
    ) -> None:
        self.env = env
        self.name: str = spec.name
        self.nodes: int = spec.nodes
        self.failover = PrimaryBackup(spec.failover) if spec.failover is not None else None
        homes = place(spec)
        self.names: list[str] = []
        self.dests: list[Any] = []
        self._keep: list[str | None] = []  # survival rule; None: a topic (keeps all)
        for d in spec.queues:
            if d.name in destinations:
                self.names.append(d.name)
                self.dests.append(destinations[d.name])
                self._keep.append(_survival(d, persistent))
        for d in spec.topics:
            if d.name in destinations:
                self.names.append(d.name)
                self.dests.append(destinations[d.name])
                self._keep.append(None)
        self.host = [homes[n] for n in self.names]
        self.available = [True] * len(self.dests)
        self._persistent = list(persistent)
        self.up = [True] * self.nodes
        self._episode = [0] * self.nodes
        self._dead = [False] * self.nodes  # declared dead, takeover pending
        self._orphans: list[int] = []  # destinations no node could take over yet
        self._warmup = warmup
        self._dest_down = [_Downtime(warmup) for _ in self.dests]
        self._node_down = [_Downtime(warmup) for _ in range(self.nodes)]

    # ---- node transitions -------------------------------------------------------------
    def node_failed(self, node: int) -> None:
        """Node ``node`` goes down (it was up)."""
        self.up[node] = False
        self._episode[node] += 1
        self._node_down[node].start(self.env.now)
        for i in range(len(self.dests)):
            if self.host[i] == node and self.available[i]:
                self._take_down(i)
        if self.failover is not None and not self._dead[node]:
            episode = self._episode[node]
            self.failover.watch(
                self.env,
                lambda: self._declare(node, episode),
                lambda: self._take_over(node),
            )

    def node_repaired(self, node: int) -> None:
        """Node ``node`` is back (it was down)."""
        self.up[node] = True
        self._node_down[node].stop(self.env.now)
        if self._dead[node]:
            return  # declared dead: the takeover goes through, the node rejoins as backup
        for i in range(len(self.dests)):
            if self.host[i] == node and not self.available[i] and i not in self._orphans:
                self._bring_up(i)
        self._adopt()

    def _declare(self, node: int, episode: int) -> bool:
        if self.up[node] or self._episode[node] != episode:
            return False  # back before it was declared dead: no switch
        self._dead[node] = True
        return True

    def _take_over(self, node: int) -> None:
        self._dead[node] = False
        eligible = self._eligible()
        for i in range(len(self.dests)):
            if self.host[i] != node or i in self._orphans:
                continue
            backup = PrimaryBackup.backup(node, eligible)
            if backup is None:
                self._orphans.append(i)
            else:
                self.host[i] = backup
                self._bring_up(i)
        self._adopt()

    def _eligible(self) -> list[bool]:
        return [u and not d for u, d in zip(self.up, self._dead, strict=True)]

    def _adopt(self) -> None:
        """Destinations left without a host go to the first eligible node after their last."""
        eligible = self._eligible()
        if not self._orphans or not any(eligible):
            return
        orphans, self._orphans = self._orphans, []
        for i in orphans:
            backup = PrimaryBackup.backup(self.host[i], eligible)
            assert backup is not None
            self.host[i] = backup
            self._bring_up(i)

    # ---- what a failure does to a destination -------------------------------------------
    def _take_down(self, i: int) -> None:
        self.available[i] = False
        self._dest_down[i].start(self.env.now)
        keep = self._keep[i]
        dest = self.dests[i]
        if keep is None:
            dest.set_available(False)
            return
        dest.available = False
        self._close_channels(dest, keep)
        if keep == "none":
            dest.drain()
        elif keep == "by-origin":
            persistent = self._persistent
            _discard(dest, lambda m: persistent[m.path])

    def _close_channels(self, q: SimQueue, keep: str) -> None:
        """Every consumer channel on the queue closes: unacked messages go back to the
        head of the queue; those that will not survive are not counted redelivered."""
        persistent = self._persistent
        counts = q.record.counts
        auto_delete, q.auto_delete = q.auto_delete, False  # not a consumer leaving
        for inst in q.instances:
            if not inst.up or not inst.unacked:
                continue
            started, held = list(inst.inflight), [*inst.inflight, *inst.buffer]
            # NOTE: fail() then recover() requeues at the head, voids the completions in
            # flight and resets the instance, for any instance type (batches too).
            inst.fail()
            inst.recover()
            if keep == "none":
                counts.redelivered -= len(held)
                counts.duplicated -= len(started)
            elif keep == "by-origin":
                counts.redelivered -= sum(not persistent[m.path] for m in held)
                counts.duplicated -= sum(not persistent[m.path] for m in started)
        q.auto_delete = auto_delete

    def _bring_up(self, i: int) -> None:
        self.available[i] = True
        self._dest_down[i].stop(self.env.now)
        dest = self.dests[i]
        if self._keep[i] is None:
            dest.set_available(True)
        else:
            dest.available = True
            dest.instances_changed()

    # ---- reporting ------------------------------------------------------------------------
    def availability(self) -> float:
        """Fraction of [warm-up, now] the broker's destinations were available."""
        now = self.env.now
        span = now - self._warmup
        if span <= 0:
            return float("nan")
        clocks = self._dest_down or self._node_down
        down = sum(c.until(now) for c in clocks) / len(clocks)
        return 1.0 - down / span


def _discard(q: SimQueue, keep: Callable[[Message], bool]) -> None:
    """Destroy the ready messages of ``q`` that ``keep`` rejects (counted lost)."""
    q.discard(keep)
