"""Consumer instances: concurrency slots, prefetch credit, service, ack or retry.

An instance holds at most ``prefetch`` unacked messages and works on at most
``concurrency`` at once; delivered messages beyond the free slots wait in its local
buffer (they count as unacked, as in RabbitMQ). A completed message is acked, then
published onward (``publish_to``); a failed attempt is retried after a backoff, or
dead-lettered after the last retry.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from simpy.events import Timeout

from qsim.sim.retry import RetryPolicy

if TYPE_CHECKING:
    import simpy

    from qsim.sim.message import Message
    from qsim.sim.queue import SimQueue
    from qsim.sim.recorder import QueueRecord

__all__ = ["Instance", "Pool"]


class Pool:
    """What the instances of one consumer share: service times, retry, onward routing."""

    def __init__(
        self,
        env: simpy.Environment,
        name: str,
        service: Callable[[], float],
        uniform: Callable[[], float],
        fail_probability: float,
        retry: RetryPolicy,
        publish_next: Callable[[Message], None] | None,
        finish: Callable[[Message, float], None] | None,
    ) -> None:
        self.env = env
        self.name = name
        self.service = service
        self.uniform = uniform
        self.fail_probability = fail_probability
        self.retry = retry
        self.publish_next = publish_next  # onward publishing (pipelines)
        self.finish = finish  # end of a message's path: records end-to-end response
        self.instances: list[Instance] = []

    def complete(self, msg: Message, rec: QueueRecord, now: float) -> None:
        """``msg`` was processed successfully at the queue or group recorded by ``rec``:
        count it, record its response (from the warm-up on) and pass it on."""
        rec.counts.completed += 1
        if msg.arrived >= rec.ready.start:
            rec.response.add(now - msg.arrived)
        if self.publish_next is not None:
            self.publish_next(msg)
        elif self.finish is not None:
            self.finish(msg, now)


class Instance:
    """One consumer process (pod)."""

    __slots__ = (
        "_epoch",
        "buffer",
        "busy",
        "concurrency",
        "env",
        "index",
        "inflight",
        "listed",
        "pool",
        "prefetch",
        "queue",
        "unacked",
        "up",
    )

    def __init__(self, pool: Pool, index: int, concurrency: int, prefetch: int | None) -> None:
        self.pool = pool
        self.env = pool.env
        self.index = index
        self.concurrency = concurrency
        self.prefetch = math.inf if prefetch is None else prefetch
        self.buffer: deque[Message] = deque()
        self.inflight: list[Message] = []
        self.busy = 0
        self.unacked = 0
        self.up = True
        self.listed = False  # in its queue's round-robin deque
        self._epoch = 0  # bumped on failure: completions of an older epoch are void
        self.queue: SimQueue | None = None

    @property
    def credit(self) -> float:
        return self.prefetch - self.unacked

    def deliver(self, msg: Message, queue: SimQueue) -> None:
        """The queue hands over a message (counted unacked by the queue already)."""
        self.unacked += 1
        msg.delivered += 1
        if self.busy < self.concurrency:
            self._start(msg, queue)
        else:
            self.buffer.append(msg)
            queue.record.buffered.change(1, self.env.now)

    def _start(self, msg: Message, queue: SimQueue) -> None:
        env = self.env
        now = env.now
        rec = queue.record
        self.busy += 1
        self.inflight.append(msg)
        rec.busy.change(1, now)
        if msg.arrived >= rec.ready.start:
            rec.wait.add(now - msg.arrived)
        ev = Timeout(env, self.pool.service(), (msg, queue, self._epoch))
        ev.callbacks.append(self._done)

    def _done(self, ev: Timeout) -> None:
        msg, queue, epoch = ev._value
        if epoch != self._epoch:
            return  # the instance failed meanwhile; the message was requeued
        now = self.env.now
        rec = queue.record
        pool = self.pool
        self.busy -= 1
        self.inflight.remove(msg)
        rec.busy.change(-1, now)
        self.unacked -= 1
        if pool.fail_probability and pool.uniform() < pool.fail_probability:
            queue.ack(msg)  # nack: it leaves this delivery
            pool.retry.failed(msg, queue)
        else:
            queue.ack(msg)
            pool.complete(msg, rec, now)
        if self.buffer and self.up:
            rec.buffered.change(-1, now)
            self._start(self.buffer.popleft(), queue)
        queue.credit_freed(self)

    # ---- failures ---------------------------------------------------------------------
    def fail(self) -> None:
        """The instance dies: every unacked message goes back to the head of its queue.

        Messages that were in service may have had effects already: their redelivery
        is counted as a duplicate.
        """
        if not self.up:
            return
        self.up = False
        self._epoch += 1
        queue = self.queue
        if queue is None:
            return
        rec = queue.record
        rec.busy.change(-self.busy, self.env.now)
        rec.buffered.change(-len(self.buffer), self.env.now)
        rec.counts.redelivered += len(self.inflight) + len(self.buffer)
        rec.counts.duplicated += len(self.inflight)
        back = [*self.inflight, *self.buffer]
        self.inflight.clear()
        self.buffer.clear()
        self.busy = 0
        self.unacked = 0
        queue.instances_changed()
        for msg in reversed(back):  # keep their order at the head of the queue
            queue.requeue(msg)

    def recover(self) -> None:
        """The instance is back: it takes messages again."""
        if self.up:
            return
        self.up = True
        if self.queue is not None:
            self.queue.instances_changed()
