"""Batch consumption: a free slot takes up to ``max_size`` messages at once.

A batching instance keeps the messages the queue delivered to it (within its prefetch
credit, as any instance) in its local buffer, and a free working slot starts a batch

- at once when ``max_size`` messages are at hand, or
- ``max_wait`` seconds after the batching *window* opened, with whatever is at hand
  then (1 to ``max_size - 1`` messages).

A batch of n messages occupies its slot for ``fixed + n * per_message`` seconds
(deterministic). At its end every message of the batch is acked together: each one's
wait (arrival at the queue -> start of its batch) and response (-> ack) is recorded, and
each is published onward (``publish_to``) or ends its path.

Notes
-----
*When the window opens.* At the later of "a slot became free" and "the first message
reached the instance", i.e. when a free slot and a buffered message are both present.
This combines the two Kafka rules: a consumer fetch is held by the broker at most
``fetch.max.wait.ms`` for ``fetch.min.bytes`` to accumulate, counted from the fetch,
which a consumer issues when it is free; a producer batch waits at most ``linger.ms``
counted from its first record. A free slot with nothing to take runs no timer (a real
poller's empty fetches that return and re-poll only shift the phase of its windows,
which is not modelled). Hence no message waits for its batch to fill longer than
``max_wait`` once a slot is free for it; messages that arrive while every slot is busy
wait for a slot first, then at most ``max_wait`` more.

*Failures.* ``fail_probability`` applies per batch, not per message: one coin per batch.
A failed batch is nacked as a whole and *each* of its messages goes through the retry
policy on its own (its own attempt count, backoff and dead-lettering), as when a batch
listener throws and the whole batch is redelivered (Spring Kafka's default error
handler for batch listeners without a failed-record index).

*Prefetch.* A batch is built from delivered (unacked) messages only, so it must fit in
the instance's prefetch credit: give ``prefetch >= concurrency * max_size``. With less, a
batch never fills, every batch waits its whole window and holds at most the credit
left, and an instance's capacity drops to about
``prefetch / (max_wait + fixed + prefetch * per_message)``: the same as a Kafka fetch
whose ``fetch.min.bytes`` can never be reached and so always waits the full
``fetch.max.wait.ms``. The simulator shows such a misconfiguration rather than hides it.

*Accounting.* ``busy`` counts working *slots* (utilization is per slot: a batch is one
job), while ``QueueRecord.batch_extra`` counts the messages in service beyond one per
busy slot, so that messages in the system = ready + buffered + busy + batch_extra and
Little's law holds per message.

References
----------
Apache Kafka documentation, consumer configs ``fetch.min.bytes`` / ``fetch.max.wait.ms``
and producer configs ``batch.size`` / ``linger.ms``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simpy.events import Timeout

from qsim.sim.consumer import Instance, Pool

if TYPE_CHECKING:
    from qsim.sim.message import Message
    from qsim.sim.queue import SimQueue

__all__ = ["BatchInstance"]


class BatchInstance(Instance):
    """A consumer instance whose slots process messages in batches.

    Parameters
    ----------
    pool : Pool
        What the instances of the consumer share (retry policy, onward publishing).
    index : int
        0-based instance number within the pool.
    concurrency : int
        Batches the instance works on at once (slots).
    prefetch : int or None
        Most unacked messages (buffered or in a batch); None: unlimited.
    batch : qsim.scenario.schema.Batch
        ``max_size`` (messages), ``max_wait``, ``fixed`` and ``per_message`` (seconds).

    Examples
    --------
    Ten messages a second, evenly spaced, in batches of 5 that take 0.1 + 5 * 0.02 s:
    the five messages of a batch wait 0.4, 0.3, 0.2, 0.1 and 0 s for it to fill.

    >>> from qsim.engines import run
    >>> from qsim.scenario import Scenario
    >>> sc = Scenario(
    ...     name="batch", duration="100s", replications=1, seed=1,
    ...     producers=[{"name": "p", "to": "q", "rate": "10/s", "arrival": "deterministic"}],
    ...     brokers=[{"name": "b", "queues": [{"name": "q"}]}],
    ...     consumers=[{"name": "c", "queue": "q", "prefetch": 10, "batch": {
    ...         "max_size": 5, "max_wait": "1s", "fixed": "100ms", "per_message": "20ms"}}],
    ... )
    >>> q = run(sc, engine="sim").queue("q")
    >>> round(q["wait_mean"].mean, 6), round(q["wait_max"].mean, 6)
    (0.2, 0.4)
    """

    __slots__ = ("_fixed", "_max_size", "_max_wait", "_per_message", "_timer", "_window")

    def __init__(
        self,
        pool: Pool,
        index: int,
        concurrency: int,
        prefetch: int | None,
        batch: Any,
    ) -> None:
        super().__init__(pool, index, concurrency, prefetch)
        self._max_size: int = batch.max_size
        self._max_wait: float = float(batch.max_wait)
        self._fixed: float = float(batch.fixed)
        self._per_message: float = float(batch.per_message)
        self._window = 0  # id of the current batching window; a stale timer is ignored
        self._timer = False  # a window is open (its timer pending)

    def deliver(self, msg: Message, queue: SimQueue) -> None:
        """The queue hands over a message: it waits in the buffer for a batch."""
        self.unacked += 1
        msg.delivered += 1
        self.buffer.append(msg)
        queue.record.buffered.change(1, self.env.now)
        self._try(queue)

    # ---- forming batches --------------------------------------------------------------
    def _try(self, queue: SimQueue) -> None:
        """Start what can start now; open a window for a partial batch."""
        if not self.up:
            return
        buf = self.buffer
        size = self._max_size
        while self.busy < self.concurrency and buf and (len(buf) >= size or self._max_wait <= 0):
            self._start_batch(queue)
        if buf and not self._timer and self.busy < self.concurrency:
            self._timer = True
            self._window += 1
            ev = Timeout(self.env, self._max_wait, (self._window, self._epoch, queue))
            ev.callbacks.append(self._expire)

    def _expire(self, ev: Timeout) -> None:
        window, epoch, queue = ev._value
        if window != self._window or epoch != self._epoch:
            return  # the window closed early (batch filled) or the instance failed
        self._timer = False
        if self.up and self.buffer and self.busy < self.concurrency:
            self._start_batch(queue)
        self._try(queue)

    def _start_batch(self, queue: SimQueue) -> None:
        env = self.env
        now = env.now
        rec = queue.record
        buf = self.buffer
        n = min(len(buf), self._max_size)
        batch = [buf.popleft() for _ in range(n)]
        # Whatever window was open belonged to these messages: it closes.
        self._timer = False
        self._window += 1
        self.busy += 1
        self.inflight.extend(batch)
        rec.buffered.change(-n, now)
        rec.busy.change(1, now)
        if n > 1:
            rec.batch_extra.change(n - 1, now)
        start = rec.ready.start
        wait = rec.wait
        for msg in batch:
            if msg.arrived >= start:
                wait.add(now - msg.arrived)
        ev = Timeout(env, self._fixed + n * self._per_message, (batch, queue, self._epoch))
        ev.callbacks.append(self._done)

    # ---- the end of a batch -------------------------------------------------------------
    def _done(self, ev: Timeout) -> None:
        batch, queue, epoch = ev._value
        if epoch != self._epoch:
            return  # the instance failed meanwhile; the batch was requeued
        now = self.env.now
        rec = queue.record
        pool = self.pool
        n = len(batch)
        self.busy -= 1
        if len(self.inflight) == n:
            self.inflight.clear()
        else:
            gone = {id(m) for m in batch}
            self.inflight[:] = [m for m in self.inflight if id(m) not in gone]
        rec.busy.change(-1, now)
        if n > 1:
            rec.batch_extra.change(1 - n, now)
        self.unacked -= n
        if pool.fail_probability and pool.uniform() < pool.fail_probability:
            for msg in batch:
                queue.ack(msg)  # nack: it leaves this delivery
                pool.retry.failed(msg, queue)
        else:
            c = rec.counts
            c.completed += n
            start = rec.ready.start
            response = rec.response
            publish_next, finish = pool.publish_next, pool.finish
            for msg in batch:
                queue.ack(msg)
                if msg.arrived >= start:
                    response.add(now - msg.arrived)
                if publish_next is not None:
                    publish_next(msg)
                elif finish is not None:
                    finish(msg, now)
        self._try(queue)
        queue.credit_freed(self)

    # ---- failures ---------------------------------------------------------------------
    def fail(self) -> None:
        """As :meth:`Instance.fail`; the open window closes and batches are requeued."""
        if self.up and self.queue is not None:
            extra = len(self.inflight) - self.busy
            if extra:
                self.queue.record.batch_extra.change(-extra, self.env.now)
        self._timer = False
        self._window += 1
        super().fail()
