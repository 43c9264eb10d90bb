"""A broker queue: capacity and overflow, FIFO or priority order, TTL, dispatch.

Messages wait in ``ready`` until an instance of a subscribed consumer pool has prefetch
credit; the balancer picks which. ``capacity`` counts ready plus unacked messages, as
RabbitMQ's ``x-max-length`` does with unacked included (the M/M/c/K convention).
Expiry is checked when a message reaches the head (RabbitMQ's classic-queue semantics),
so an expired message still occupies room until then.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from itertools import count
from typing import TYPE_CHECKING, Any

from qsim.sim.balancer import Balancer
from qsim.sim.recorder import QueueRecord

if TYPE_CHECKING:
    import simpy

    from qsim.sim.consumer import Instance
    from qsim.sim.message import Message

__all__ = ["SimQueue"]


class SimQueue:
    """One queue of a replication."""

    def __init__(
        self,
        env: simpy.Environment,
        name: str,
        spec: Any,
        record: QueueRecord,
        dead_letter: Callable[[Message], None] | None,
    ) -> None:
        self.env = env
        self.name = name
        self.record = record
        self.capacity: int | None = spec.capacity
        self.overflow: str = spec.overflow
        self.ttl: float | None = spec.ttl
        self.priority = spec.ordering == "priority"
        self.durable: bool = spec.durable
        self.auto_delete: bool = spec.auto_delete
        self.dead_letter = dead_letter
        self._fifo: deque[Message] = deque()
        self._heap: list[tuple[float, int, Message]] = []
        self._seq = count()
        self.instances: list[Instance] = []
        self.balancer: Balancer | None = None
        self._free: deque[Instance] = deque()  # round robin: live instances with credit
        self.available = True  # False while the hosting node is down
        self.deleted = False  # auto-delete queue whose last consumer left
        self.held = 0  # ready + unacked
        self.retry_pending = 0  # failed messages waiting out their backoff
        self._blocked: deque[tuple[Message, simpy.Event | None]] = deque()

    # ---- arrivals ---------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._heap) if self.priority else len(self._fifo)

    def offer(self, msg: Message) -> simpy.Event | None:
        """A new copy arrives (publish or routing). Returns an event to wait on when the
        queue is full with ``overflow: block``; None otherwise."""
        c = self.record.counts
        c.arrived += 1
        if not self.available or self.deleted:
            c.rejected += 1
            return None
        if self.capacity is not None and self.held >= self.capacity:
            if self.overflow == "reject":
                c.rejected += 1
                return None
            if self.overflow == "block":
                c.blocked += 1
                ev = self.env.event()
                self._blocked.append((msg, ev))
                return ev
            # drop-head: the oldest ready message makes room
            if len(self) == 0:
                c.rejected += 1  # everything held is unacked: nothing to drop
                return None
            old = self._pop()
            self.held -= 1
            self.record.ready.change(-1, self.env.now)
            c.dropped += 1
            self._to_dead_letter(old)
        self.accept(msg)
        return None

    def come_back(self, msg: Message) -> None:
        """A retried message returns after its backoff, to the tail."""
        self.retry_pending -= 1
        if self.deleted or not self.available:
            self.record.counts.lost += 1
            return
        self.accept(msg, new=False)

    def accept(self, msg: Message, new: bool = True) -> None:
        """Take a message in (an accepted arrival, or a retry coming back)."""
        now = self.env.now
        msg.arrived = now
        if new:
            self.record.counts.accepted += 1
        self.held += 1
        # Fast path: an instance with credit takes it at once.
        if self.available and not (self._heap if self.priority else self._fifo):
            inst = self._pick(msg)
            if inst is not None:
                self._deliver(inst, msg, now)
                return
        self._push(msg)
        self.record.ready.change(1, now)

    def requeue(self, msg: Message) -> None:
        """An unacked message comes back (nack with requeue, consumer failure)."""
        self.held -= 1
        if self.deleted:
            self.record.counts.lost += 1
            return
        self.held += 1
        self._push(msg, front=True)
        self.record.ready.change(1, self.env.now)
        self.dispatch()

    # ---- ordering ---------------------------------------------------------------------
    def _push(self, msg: Message, front: bool = False) -> None:
        if self.priority:
            seq = -next(self._seq) if front else next(self._seq)
            heapq.heappush(self._heap, (-msg.priority, seq, msg))
        elif front:
            self._fifo.appendleft(msg)
        else:
            self._fifo.append(msg)

    def _pop(self) -> Message:
        if self.priority:
            return heapq.heappop(self._heap)[2]
        return self._fifo.popleft()

    # ---- dispatch ---------------------------------------------------------------------
    def _pick(self, msg: Message) -> Instance | None:
        bal = self.balancer
        if bal is None:
            return None
        if bal.rotating:
            # NOTE: round robin keeps a deque of instances with credit instead of
            # scanning all instances per message: O(1) dispatch for large pools.
            free = self._free
            while free:
                inst = free.popleft()
                inst.listed = False
                if inst.up and inst.prefetch > inst.unacked:
                    return inst
            return None
        if bal.sticky:
            live = [i for i in self.instances if i.up]
        else:
            live = [i for i in self.instances if i.up and i.prefetch > i.unacked]
        if not live:
            return None
        return bal.choose(live, msg)

    def _deliver(self, inst: Instance, msg: Message, now: float) -> None:
        inst.deliver(msg, self)
        if not inst.listed and inst.prefetch > inst.unacked:
            inst.listed = True
            self._free.append(inst)

    def credit_freed(self, inst: Instance) -> None:
        """An instance acked (or came back): list it for round robin, then dispatch."""
        if not inst.listed and inst.up and inst.prefetch > inst.unacked:
            inst.listed = True
            self._free.append(inst)
        if self._heap if self.priority else self._fifo:
            self.dispatch()
        elif self._blocked:
            self._admit_blocked()

    def dispatch(self) -> None:
        """Deliver ready messages while some instance has credit."""
        if not self.available:
            return
        now = self.env.now
        rec = self.record
        while len(self):
            head = self._peek()
            if self.ttl is not None and now - head.arrived > self.ttl:
                self._pop()
                self.held -= 1
                rec.ready.change(-1, now)
                rec.counts.expired += 1
                self._to_dead_letter(head)
                continue
            inst = self._pick(head)
            if inst is None:
                break
            self._pop()
            rec.ready.change(-1, now)
            self._deliver(inst, head, now)
        self._admit_blocked()

    def _peek(self) -> Message:
        return self._heap[0][2] if self.priority else self._fifo[0]

    def ack(self, msg: Message) -> None:
        """A delivered message is acked (or leaves for retry / dead letter)."""
        self.held -= 1
        if self._blocked:
            self._admit_blocked()

    def _admit_blocked(self) -> None:
        while self._blocked and (self.capacity is None or self.held < self.capacity):
            msg, ev = self._blocked.popleft()
            self.accept(msg)
            if ev is not None:
                ev.succeed()

    def _to_dead_letter(self, msg: Message) -> None:
        if self.dead_letter is not None:
            self.record.counts.dead_lettered += 1
            self.dead_letter(msg)

    # ---- failures ---------------------------------------------------------------------
    def drain(self) -> int:
        """Destroy every ready message (a transient queue on a failed node, a deleted
        queue), counted lost. Returns how many."""
        return self.discard(lambda _m: False)

    def discard(self, keep: Callable[[Message], bool]) -> int:
        """Destroy the ready messages ``keep`` rejects (counted lost); returns how many.

        One pass over the backlog: used on failures, which are rare.
        """
        if self.priority:
            heap = [e for e in self._heap if keep(e[2])]
            n = len(self._heap) - len(heap)
            heapq.heapify(heap)
            self._heap[:] = heap
        else:
            fifo = [m for m in self._fifo if keep(m)]
            n = len(self._fifo) - len(fifo)
            self._fifo.clear()
            self._fifo.extend(fifo)
        if n:
            self.held -= n
            self.record.ready.change(-n, self.env.now)
            self.record.counts.lost += n
        return n

    def instances_changed(self) -> None:
        """Called when an instance comes up or goes down."""
        if self.auto_delete and not any(i.up for i in self.instances) and not self.deleted:
            self.deleted = True
            self.drain()
        for inst in self.instances:
            if inst.up and not inst.listed and inst.prefetch > inst.unacked:
                inst.listed = True
                self._free.append(inst)
        self.dispatch()
