"""Partitioned topics (Kafka-like): partitioners, consumer groups, retention sweeps.

A published message goes to one partition:

* ``key-hash``: a keyed message goes to partition ``key mod partitions``; a keyless one
  round-robin. Producer keys are integers ``0..n-1`` that stand for the hashes of the
  real keys (Kafka: ``murmur2(key) mod partitions``): what matters for load is how many
  distinct keys there are and how skewed their frequencies are, which ``keys:`` states
  directly; with Zipf keys the hottest key (0) lands in partition 0.
* ``round-robin``: every message to the next partition in turn.

Every consumer group on the topic (a consumer with ``topic:``; see
:mod:`qsim.sim.group`) gets its own copy of every message, as Kafka groups keep their
own offsets. Retention is enforced per group at the head of each partition and by a
sweep every ``max(retention / 2, duration / 1000)`` seconds (Kafka checks segments
periodically too, by default every 5 minutes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simpy.events import Timeout

from qsim.errors import EngineNotApplicable
from qsim.sim.group import TopicGroup, TopicMember

if TYPE_CHECKING:
    import simpy

    from qsim.sim.consumer import Pool
    from qsim.sim.message import Message
    from qsim.sim.recorder import Level, QueueRecord

__all__ = ["SimTopic", "TopicGroup", "TopicMember", "build_topic"]

Row = tuple[str, str, str, float]


class SimTopic:
    """One partitioned topic of a replication.

    Parameters
    ----------
    env : simpy.Environment
        The replication's clock.
    name : str
        Topic name.
    spec : qsim.scenario.schema_broker.Topic
        ``partitions``, ``partitioner`` and ``retention`` (seconds) are used.
    warmup, duration : float
        Measurement start and run length, seconds.
    """

    def __init__(
        self, env: simpy.Environment, name: str, spec: Any, warmup: float, duration: float
    ) -> None:
        self.env = env
        self.name = name
        self.partitions: int = spec.partitions
        self.by_key = spec.partitioner == "key-hash"
        self.retention: float | None = spec.retention
        self.warmup = warmup
        self.groups: dict[str, TopicGroup] = {}  # by record name "<topic>/<group>"
        self._group_list: list[TopicGroup] = []
        self._rr = 0
        self.available = True  # False while the topic's broker cannot serve it
        if self.retention is not None:
            self._sweep_every = max(self.retention / 2, duration / 1000)
            Timeout(env, self._sweep_every).callbacks.append(self._sweep)

    # ---- engine hooks -----------------------------------------------------------------
    def partition_of(self, msg: Message) -> int:
        """The partition a published message goes to."""
        if self.by_key and msg.key >= 0:
            return msg.key % self.partitions
        p = self._rr
        self._rr = p + 1 if p + 1 < self.partitions else 0
        return p

    def offer(self, msg: Message) -> simpy.Event | None:
        """Publish: one partition, a copy for each group. Never blocks (returns None)."""
        if not self._group_list:
            return None  # no group reads the topic: the log keeps it, nobody waits
        return self.offer_to(msg, self.partition_of(msg))

    def offer_to(self, msg: Message, p: int) -> None:
        """Publish to partition ``p`` (already chosen): a copy for each group."""
        groups = self._group_list
        if not groups:
            return None
        groups[0].offer(msg, p)
        for g in groups[1:]:
            g.offer(msg.copy(), p)
        return None

    def attach(self, pool: Pool, consumer_spec: Any) -> TopicGroup:
        """Make the consumer a group on this topic; its instances become group members.

        ``prefetch`` and ``ack`` do not apply (offsets are committed per message, after
        processing). Batch consumption on topics is not modelled: a consumer with
        ``batch:`` raises :class:`~qsim.errors.EngineNotApplicable`.
        """
        if getattr(consumer_spec, "batch", None) is not None:
            raise EngineNotApplicable(
                f"the sim engine does not model batch consumers on topics yet "
                f"(consumer {consumer_spec.name!r} on topic {self.name!r})"
            )
        group = TopicGroup(
            self.env,
            self,
            consumer_spec.group_name,
            self.partitions,
            pool,
            consumer_spec,
            self.warmup,
        )
        self.groups[group.name] = group
        self._group_list.append(group)
        return group

    def records(self) -> dict[str, QueueRecord]:
        """One record per group, named ``<topic>/<group>``."""
        return {n: g.record for n, g in self.groups.items()}

    def held(self, name: str) -> int:
        """Messages of group ``name`` not yet finished (waiting, in service or in backoff)."""
        return self.groups[name].held

    def group(self, name: str) -> TopicGroup:
        """A group by its group name or its record name ``<topic>/<group>``."""
        return self.groups.get(name) or self.groups[f"{self.name}/{name}"]

    def mark_warmup(self) -> None:
        for g in self._group_list:
            g.mark_warmup()

    def lag_levels(self) -> dict[str, Level]:
        """Consumer lag of every partition of every group, by ``<topic>/<group>/p<k>``."""
        out: dict[str, Level] = {}
        for g in self._group_list:
            out.update(g.lag_levels())
        return out

    def partition_rows(self, rep: Any) -> list[Row]:
        """Rows ``(scope, name, metric, value)`` per group and partition.

        Scope ``partition``, name ``<topic>/<group>/p<k>``: ``arrival_rate`` and
        ``throughput`` (per second), ``backlog_mean`` (time-average of messages not yet
        acked: the consumer lag), ``backlog_max`` and ``utilization`` (fraction of time a
        message of the partition is in service); plus the group's ``rebalances``
        (scope ``group``). All over [warm-up, end]. Each partition's ``backlog_growth``
        comes from the lag sampled by the replication (:mod:`qsim.sim.summary`).
        """
        now = rep.env.now
        span = now - rep.warmup
        rows: list[Row] = []
        for g in self._group_list:
            rows += g.partition_rows(now, span)
        return rows

    # ---- availability and retention ------------------------------------------------------
    def set_available(self, up: bool) -> None:
        """The topic's broker goes down (publishes rejected, nothing new starts) or up."""
        self.available = up
        if up:
            for g in self._group_list:
                g.resume_all()

    def _sweep(self, _ev: Timeout) -> None:
        assert self.retention is not None
        limit = self.env.now - self.retention
        for g in self._group_list:
            for p in range(self.partitions):
                g.expire(p, limit)
        Timeout(self.env, self._sweep_every).callbacks.append(self._sweep)


def build_topic(rep: Any, name: str, dest: Any) -> SimTopic:
    """The engine hook: the topic ``name`` of replication ``rep`` (groups attach later)."""
    return SimTopic(rep.env, name, dest.spec, rep.warmup, rep.duration)
