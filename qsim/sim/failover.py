"""Primary-backup failover: when a failed node is noticed, declared dead and replaced.

Health checks run every ``health_check`` seconds from t = 0 (at 0, h, 2h, ...). A node
that fails at time t is noticed by the first check at or after t,
``t_check = ceil(t / h) * h``; it is declared dead ``detection`` seconds later,
``t_dead = t_check + detection``, unless it is back by then (a blip shorter than the
detection window causes no switch); the backup then needs ``promotion`` seconds,
and serves the failed node's queues from ``t_take = t_dead + promotion``. Once declared
dead the switch goes through even if the node comes back meanwhile; the node rejoins as
a backup, and nothing switches back.

The backup of node n is the first node after n, in cyclic order (n+1, n+2, ..., then n
itself), that is up and not itself awaiting a takeover at ``t_take``.

Only the timing and the choice of the backup live here; what a takeover does to the
queues is :mod:`qsim.sim.broker`'s business. The schedule is computed, not polled: one
failure costs two timeouts, however frequent the checks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from simpy.events import Timeout

__all__ = ["PrimaryBackup"]


class PrimaryBackup:
    """The timing of a ``failover: {mode: primary-backup}`` block (seconds).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> pb = PrimaryBackup(SimpleNamespace(health_check=5.0, detection=10.0, promotion=2.0))
    >>> pb.noticed_at(101.0), pb.declared_at(101.0), pb.declared_at(101.0) + pb.promotion
    (105.0, 115.0, 117.0)
    >>> PrimaryBackup.backup(0, [False, False, True]), PrimaryBackup.backup(1, [True, False])
    (2, 0)
    """

    __slots__ = ("detection", "health_check", "promotion")

    def __init__(self, spec: Any) -> None:
        self.health_check: float = float(spec.health_check)
        self.detection: float = float(spec.detection)
        self.promotion: float = float(spec.promotion)

    def noticed_at(self, t: float) -> float:
        """The first health check at or after a failure at ``t``."""
        h = self.health_check
        k = math.ceil(t / h)
        if k > 0 and (k - 1) * h >= t:  # t / h rounded up past an exact multiple
            k -= 1
        return k * h

    def declared_at(self, t: float) -> float:
        """When a node that failed at ``t`` (and stayed down) is declared dead."""
        return self.noticed_at(t) + self.detection

    def watch(self, env: Any, declare: Callable[[], bool], take_over: Callable[[], None]) -> None:
        """A node failed now: call ``declare`` at its declaration time; if it returns
        True (still down, same failure), call ``take_over`` ``promotion`` seconds later."""
        promotion = self.promotion

        def on_declare(_ev: Any) -> None:
            if declare():
                Timeout(env, promotion).callbacks.append(lambda _e: take_over())

        delay = self.declared_at(env.now) - env.now
        Timeout(env, max(delay, 0.0)).callbacks.append(on_declare)

    @staticmethod
    def backup(failed: int, eligible: Sequence[bool]) -> int | None:
        """The first eligible node after ``failed`` in cyclic order (``failed`` last)."""
        n = len(eligible)
        for step in range(1, n + 1):
            node = (failed + step) % n
            if eligible[node]:
                return node
        return None
