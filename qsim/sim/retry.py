"""Retry after a failed processing attempt: backoff, jitter, then dead-lettering.

After attempt n fails (n = 1, 2, ...), the message waits
``delay`` (fixed) or ``delay * multiplier^(n-1)`` capped at ``max_delay`` (exponential),
with optional jitter (full: U(0, d); equal: d/2 + U(0, d/2), as in the AWS Architecture
Blog's "Exponential Backoff and Jitter"), then goes back to the tail of its queue.
After ``max_retries`` retries it is dead-lettered, or dropped if there is nowhere to go.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import simpy

    from qsim.sim.message import Message
    from qsim.sim.queue import SimQueue

__all__ = ["RetryPolicy"]


class RetryPolicy:
    """A consumer's retry block, bound to a replication's clock and random stream."""

    def __init__(
        self,
        env: simpy.Environment,
        spec: object,
        uniform: Callable[[], float],
        dead_letter: Callable[[Message], None] | None,
    ) -> None:
        self.env = env
        self.max_retries: int = spec.max_retries  # type: ignore[attr-defined]
        self.backoff: str = spec.backoff  # type: ignore[attr-defined]
        self.delay: float = spec.delay  # type: ignore[attr-defined]
        self.multiplier: float = spec.multiplier  # type: ignore[attr-defined]
        self.max_delay: float | None = spec.max_delay  # type: ignore[attr-defined]
        self.jitter: str = spec.jitter  # type: ignore[attr-defined]
        self.uniform = uniform
        self.dead_letter = dead_letter  # the retry block's own target, else the queue's

    def wait(self, attempt: int) -> float:
        """Backoff before retry number ``attempt`` (1-based), seconds."""
        d = self.delay
        if self.backoff == "exponential":
            d = d * self.multiplier ** (attempt - 1)
            if self.max_delay is not None:
                d = min(d, self.max_delay)
        if self.jitter == "full":
            d = self.uniform() * d
        elif self.jitter == "equal":
            d = 0.5 * d + self.uniform() * 0.5 * d
        return d

    def failed(self, msg: Message, queue: SimQueue) -> None:
        """Attempt failed: schedule a retry, or give up."""
        msg.attempts += 1
        c = queue.record.counts
        if msg.attempts > self.max_retries:
            c.failed_final += 1
            target = self.dead_letter or queue.dead_letter
            if target is not None:
                c.dead_lettered += 1
                target(msg)
            return
        c.retried += 1
        queue.retry_pending += 1
        ev = self.env.timeout(self.wait(msg.attempts))
        ev.callbacks.append(lambda _e: queue.come_back(msg))
