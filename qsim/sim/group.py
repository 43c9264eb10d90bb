"""Consumer groups on a partitioned topic: assignment, ordered consumption, rebalances.

Each group keeps its own position in every partition (Kafka's committed offsets per
group), so every group sees every message. Within a group:

* **Assignment** (Kafka's ``RangeAssignor``): the live members, in instance order, get
  contiguous ranges of partitions; with ``P`` partitions and ``m`` live members the
  first ``P mod m`` members get ``P // m + 1`` partitions, the others ``P // m``.
  Members beyond the partition count get none and sit idle.
* **Order**: a partition has at most one message in service at a time, so messages of
  one partition complete in arrival order. A member with ``concurrency`` k works on up
  to k messages from k different assigned partitions at once; a free slot always takes
  the oldest head-of-line message among its idle assigned partitions (a heap per member
  keyed by head arrival time, so no scan of all partitions per message).
* **Failed attempts** (``fail_probability``) are retried *in place*: the message stays
  at the head of its partition, which is blocked, and the member's slot is held, while
  it waits out the consumer's retry backoff (a Kafka consumer retrying before it commits
  the offset). After ``max_retries`` it is counted ``failed_final`` and sent to the retry
  block's ``dead_letter`` if any; the partition then moves on.
* **Rebalance**: when a member fails or recovers (:meth:`TopicGroup.member_failed`,
  :meth:`TopicGroup.member_recovered`, also reached through the member's ``fail()`` /
  ``recover()``), the messages the failed member held (in service or in backoff) go back
  to the head of their partitions (counted ``redelivered`` and ``duplicated``: their
  processing had started), and the whole group starts nothing new for ``rebalance``
  seconds (eager rebalance: detection plus reassignment). Messages already in service at
  surviving members finish. A further failure or recovery during the pause restarts it.
  Then partitions are reassigned over the live members and consumption resumes.
* **Retention**: a message still unconsumed by the group ``retention`` seconds after
  it entered its partition is deleted for that group (counted ``expired``; topics have
  no dead letter). It is checked at the head of a partition before each start (no
  expired message is ever started) and by the topic's periodic sweep (so a stalled group
  does not hold deleted messages in its backlog).

Record of a group (:class:`~qsim.sim.recorder.QueueRecord` named ``<topic>/<group>``):
``wait`` is arrival in the partition -> start of service (per delivery), ``response``
arrival -> ack; ``ready`` counts messages not yet started in all partitions, ``busy``
the messages in service, ``buffered`` the messages a member holds while waiting out a
retry backoff. Conservation over a run: accepted == completed + expired + failed_final
+ lost + held (``held`` includes messages in backoff; ``retry_pending`` counts those).
"""

from __future__ import annotations

from collections import deque
from heapq import heapify, heappop, heappush, heapreplace
from typing import TYPE_CHECKING, Any

from simpy.events import Timeout

from qsim.sim.recorder import Level, QueueRecord

if TYPE_CHECKING:
    import simpy

    from qsim.sim.consumer import Pool
    from qsim.sim.message import Message

__all__ = ["TopicGroup", "TopicMember"]


class TopicMember:
    """One instance of a consumer group (a Kafka consumer). Replaces the pool's
    :class:`~qsim.sim.consumer.Instance` objects, with the same ``fail()``/``recover()``."""

    __slots__ = (
        "_epoch",
        "busy",
        "concurrency",
        "group",
        "heap",
        "index",
        "inflight",
        "pool",
        "up",
    )

    queue = None  # a topic member consumes no queue (code that inspects Instance.queue)

    def __init__(self, group: TopicGroup, pool: Pool, index: int, concurrency: int) -> None:
        self.group = group
        self.pool = pool
        self.index = index
        self.concurrency = concurrency
        self.busy = 0  # slots taken: messages in service or waiting out a retry backoff
        self.inflight: list[int] = []  # partitions whose head message this member holds
        self.heap: list[tuple[float, int]] = []  # (head arrival, partition): idle, non-empty
        self.up = True
        self._epoch = 0  # bumped on failure: completions of an older epoch are void

    def fail(self) -> None:
        """The instance dies: its group rebalances."""
        self.group.member_failed(self)

    def recover(self) -> None:
        """The instance is back: its group rebalances to include it."""
        self.group.member_recovered(self)


class TopicGroup:
    """One consumer group on one topic, in one replication."""

    def __init__(
        self,
        env: simpy.Environment,
        topic: Any,
        group: str,
        partitions: int,
        pool: Pool,
        spec: Any,
        warmup: float,
    ) -> None:
        self.env = env
        self.topic = topic  # the SimTopic: its ``available`` flag and ``retention``
        self.name = f"{topic.name}/{group}"
        self.pool = pool
        n = partitions
        self.record = QueueRecord(warmup, min(n, spec.instances * spec.concurrency))
        self.logs: list[deque[Message]] = [deque() for _ in range(n)]
        self.active: list[Message | None] = [None] * n  # head message held by a member
        self.backoff = [False] * n  # the active message is waiting out a retry
        self.owner: list[TopicMember | None] = [None] * n
        self.queued = [False] * n  # an entry for the partition is in its owner's heap
        self.lag = [Level(warmup) for _ in range(n)]  # not yet acked (waiting + held)
        self.served = [Level(warmup) for _ in range(n)]  # 0/1: a message in service
        self.p_arrived = [0] * n
        self.p_completed = [0] * n
        self._p_at_warmup: tuple[list[int], list[int]] = ([0] * n, [0] * n)
        self.rebalance = float(spec.rebalance or 0.0)
        self.paused = False
        self._gen = 0
        self.rebalances = 0
        self._rebalances_at_warmup = 0
        self.held = 0  # accepted, not yet completed / expired / failed for good
        self.retry_pending = 0  # held messages waiting out a retry backoff
        self.members = [TopicMember(self, pool, k, spec.concurrency) for k in range(spec.instances)]
        pool.instances[:] = self.members  # type: ignore[assignment]
        self._assign()

    # ---- arrivals -------------------------------------------------------------------
    def offer(self, msg: Message, p: int) -> None:
        """A copy of a published message lands in partition ``p`` for this group."""
        c = self.record.counts
        c.arrived += 1
        if not self.topic.available:
            c.rejected += 1
            return
        now = self.env.now
        c.accepted += 1
        self.held += 1
        msg.arrived = now
        self.p_arrived[p] += 1
        self.lag[p].change(1, now)
        log = self.logs[p]
        if not log and self.active[p] is None:
            m = self.owner[p]
            if m is not None and not self.paused and m.up and m.busy < m.concurrency:
                self._start(m, p, msg, now)
                return
            log.append(msg)
            self.record.ready.change(1, now)
            if m is not None and not self.queued[p]:
                heappush(m.heap, (now, p))
                self.queued[p] = True
            return
        log.append(msg)
        self.record.ready.change(1, now)

    # ---- service --------------------------------------------------------------------
    def _start(self, m: TopicMember, p: int, msg: Message, now: float) -> None:
        rec = self.record
        self.active[p] = msg
        m.busy += 1
        m.inflight.append(p)
        rec.busy.change(1, now)
        self.served[p].change(1, now)
        msg.delivered += 1
        if msg.arrived >= rec.ready.start:
            rec.wait.add(now - msg.arrived)
        ev = Timeout(self.env, self.pool.service(), (m, p, msg, m._epoch))
        ev.callbacks.append(self._done)

    def _done(self, ev: Timeout) -> None:
        m, p, msg, epoch = ev._value
        if epoch != m._epoch:
            return  # the member failed meanwhile; the message went back to its partition
        now = self.env.now
        rec = self.record
        pool = self.pool
        rec.busy.change(-1, now)
        self.served[p].change(-1, now)
        if pool.fail_probability and pool.uniform() < pool.fail_probability:
            msg.attempts += 1
            retry = pool.retry
            if msg.attempts <= retry.max_retries:
                rec.counts.retried += 1
                self.retry_pending += 1
                self.backoff[p] = True
                rec.buffered.change(1, now)
                back = Timeout(self.env, retry.wait(msg.attempts), ev._value)
                back.callbacks.append(self._retry)
                return
            rec.counts.failed_final += 1
            if retry.dead_letter is not None:
                rec.counts.dead_lettered += 1
                retry.dead_letter(msg)
        else:
            self.p_completed[p] += 1
            pool.complete(msg, rec, now)
        self._release(m, p, now)

    def _retry(self, ev: Timeout) -> None:
        """The backoff is over: the same member tries the same message again."""
        m, p, _msg, epoch = ev._value
        if epoch != m._epoch:
            return  # the member failed meanwhile (retry_pending was settled then)
        now = self.env.now
        rec = self.record
        self.retry_pending -= 1
        self.backoff[p] = False
        rec.buffered.change(-1, now)
        rec.busy.change(1, now)
        self.served[p].change(1, now)
        again = Timeout(self.env, self.pool.service(), ev._value)
        again.callbacks.append(self._done)

    def _release(self, m: TopicMember, p: int, now: float) -> None:
        """The head message of ``p`` left (acked or failed for good): free slot and partition."""
        self.active[p] = None
        self.held -= 1
        self.lag[p].change(-1, now)
        m.busy -= 1
        m.inflight.remove(p)
        owner = self.owner[p]
        log = self.logs[p]
        if log and owner is not None and not self.queued[p]:
            heappush(owner.heap, (log[0].arrived, p))
            self.queued[p] = True
        self._fill(m)
        if owner is not None and owner is not m:
            self._fill(owner)

    def _fill(self, m: TopicMember) -> None:
        """Start head-of-line messages, oldest first, while ``m`` has free slots."""
        if self.paused or not m.up or not self.topic.available:
            return
        heap = m.heap
        logs = self.logs
        retention = self.topic.retention
        now = self.env.now
        while m.busy < m.concurrency and heap:
            key, p = heap[0]
            log = logs[p]
            if self.owner[p] is not m or self.active[p] is not None or not log:
                heappop(heap)
                self.queued[p] = False
                continue
            if retention is not None and now - log[0].arrived > retention:
                self.expire(p, now - retention)
                continue  # re-examined: emptied, or re-keyed below
            head = log[0]
            if head.arrived != key:
                heapreplace(heap, (head.arrived, p))  # the head changed (expiry, sweep)
                continue
            heappop(heap)
            self.queued[p] = False
            log.popleft()
            self.record.ready.change(-1, now)
            self._start(m, p, head, now)

    # ---- retention ------------------------------------------------------------------
    def expire(self, p: int, limit: float) -> int:
        """Delete the messages of partition ``p`` that arrived before ``limit``."""
        log = self.logs[p]
        n = 0
        while log and log[0].arrived < limit:
            log.popleft()
            n += 1
        if n:
            now = self.env.now
            self.record.counts.expired += n
            self.held -= n
            self.record.ready.change(-n, now)
            self.lag[p].change(-n, now)
        return n

    # ---- membership -----------------------------------------------------------------
    def member_failed(self, m: TopicMember) -> None:
        """Member ``m`` died: its held messages go back to their partitions; rebalance."""
        if not m.up:
            return
        m.up = False
        m._epoch += 1
        now = self.env.now
        rec = self.record
        for p in m.inflight:
            msg = self.active[p]
            assert msg is not None
            self.active[p] = None
            if self.backoff[p]:
                self.backoff[p] = False
                self.retry_pending -= 1
                rec.buffered.change(-1, now)
            else:
                rec.busy.change(-1, now)
                self.served[p].change(-1, now)
            rec.counts.redelivered += 1
            rec.counts.duplicated += 1
            self.logs[p].appendleft(msg)
            rec.ready.change(1, now)
        m.inflight.clear()
        m.busy = 0
        self._rebalance()

    def member_recovered(self, m: TopicMember) -> None:
        """Member ``m`` is back: rebalance to give it partitions."""
        if m.up:
            return
        m.up = True
        self._rebalance()

    def _rebalance(self) -> None:
        self.rebalances += 1
        if self.rebalance <= 0:
            self._assign()
            return
        self.paused = True
        self._gen += 1
        ev = Timeout(self.env, self.rebalance, self._gen)
        ev.callbacks.append(self._resume)

    def _resume(self, ev: Timeout) -> None:
        if ev._value != self._gen:
            return  # another failure or recovery restarted the pause
        self.paused = False
        self._assign()

    def _assign(self) -> None:
        """Range assignment of the partitions over the live members, then start work."""
        live = [m for m in self.members if m.up]
        n = len(self.logs)
        owner: list[TopicMember | None] = [None] * n
        if live:
            size, extra = divmod(n, len(live))
            first = 0
            for j, m in enumerate(live):
                last = first + size + (1 if j < extra else 0)
                for p in range(first, last):
                    owner[p] = m
                first = last
        self.owner = owner
        self.queued = [False] * n
        for m in self.members:
            m.heap = []
        for p, m in enumerate(owner):
            if m is not None and self.active[p] is None and self.logs[p]:
                m.heap.append((self.logs[p][0].arrived, p))
                self.queued[p] = True
        for m in live:
            heapify(m.heap)
            self._fill(m)

    def resume_all(self) -> None:
        """Start work on every live member (after the topic becomes available again)."""
        for m in self.members:
            self._fill(m)

    # ---- reporting ------------------------------------------------------------------
    def mark_warmup(self) -> None:
        rec = self.record
        rec.counts.mark_warmup()
        for lvl in (rec.ready, rec.busy, rec.buffered, *self.lag):
            lvl.reset_max()
        self._p_at_warmup = (list(self.p_arrived), list(self.p_completed))
        self._rebalances_at_warmup = self.rebalances

    def partition_name(self, p: int) -> str:
        """The result name of partition ``p`` for this group: ``<topic>/<group>/p<k>``."""
        return f"{self.name}/p{p}"

    def lag_levels(self) -> dict[str, Level]:
        """Each partition's consumer lag (messages not yet acked), by partition name.

        The replication samples these at its series times to estimate each partition's
        ``backlog_growth`` (see :func:`qsim.stats.trend.backlog_growth`).
        """
        return {self.partition_name(p): lvl for p, lvl in enumerate(self.lag)}

    def partition_rows(self, now: float, span: float) -> list[tuple[str, str, str, float]]:
        """Per-partition rows (scope ``partition``) and the group's rebalance count."""
        rows: list[tuple[str, str, str, float]] = []
        arr0, done0 = self._p_at_warmup
        for p in range(len(self.logs)):
            name = self.partition_name(p)
            for metric, value in (
                ("arrival_rate", (self.p_arrived[p] - arr0[p]) / span),
                ("throughput", (self.p_completed[p] - done0[p]) / span),
                ("backlog_mean", self.lag[p].mean(now)),
                ("backlog_max", self.lag[p].max),
                ("utilization", self.served[p].mean(now)),
            ):
                rows.append(("partition", name, metric, float(value)))
        rows.append(
            ("group", self.name, "rebalances", float(self.rebalances - self._rebalances_at_warmup))
        )
        return rows
