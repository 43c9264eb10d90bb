"""How a queue picks the consumer instance for a message: strategy objects.

A balancer sees the live instances that can take a message now (prefetch credit left)
and returns one. ``key-hash`` is the exception: it pins each key to one instance (sticky
sessions), so it picks among all live instances and ignores credit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qsim.sim.consumer import Instance
    from qsim.sim.message import Message

__all__ = ["Balancer", "make_balancer"]


class Balancer:
    """Round robin over the instances with credit (RabbitMQ's dispatch)."""

    sticky = False  # True: choose among all live instances, ignoring credit
    rotating = True  # plain round robin: the queue keeps the rotation itself

    def __init__(self, uniform: Callable[[], float], weights: Sequence[float] | None = None):
        self._u = uniform
        self._next = 0
        self._weights = weights

    def choose(self, candidates: list[Instance], msg: Message) -> Instance:
        # Candidates come in instance order: take the first at or after the pointer.
        nxt = self._next
        pick = candidates[0]
        for inst in candidates:
            if inst.index >= nxt:
                pick = inst
                break
        self._next = pick.index + 1
        return pick


class RandomBalancer(Balancer):
    rotating = False

    def choose(self, candidates: list[Instance], msg: Message) -> Instance:
        return candidates[int(self._u() * len(candidates))]


class WeightedBalancer(Balancer):
    rotating = False

    def choose(self, candidates: list[Instance], msg: Message) -> Instance:
        w = self._weights
        assert w is not None
        total = sum(w[i.index] for i in candidates)
        x = self._u() * total
        for inst in candidates:
            x -= w[inst.index]
            if x < 0:
                return inst
        return candidates[-1]


class KeyHashBalancer(Balancer):
    rotating = False

    sticky = True

    def choose(self, candidates: list[Instance], msg: Message) -> Instance:
        # Keys are integers drawn by the producer; keyless messages rotate.
        if msg.key < 0:
            return super().choose(candidates, msg)
        return candidates[msg.key % len(candidates)]


class LeastLoadedBalancer(Balancer):
    """Join the shortest queue: fewest unacked messages; ties go to the lowest index."""

    rotating = False

    def choose(self, candidates: list[Instance], msg: Message) -> Instance:
        return min(candidates, key=_load)


class PowerOfTwoBalancer(Balancer):
    rotating = False

    """Two instances drawn at random; the less loaded one (Mitzenmacher 2001)."""

    def choose(self, candidates: list[Instance], msg: Message) -> Instance:
        n = len(candidates)
        a = candidates[int(self._u() * n)]
        b = candidates[int(self._u() * n)]
        return a if _load(a) <= _load(b) else b


def _load(inst: Instance) -> int:
    return inst.unacked


_KINDS: dict[str, type[Balancer]] = {
    "round-robin": Balancer,
    "random": RandomBalancer,
    "weighted": WeightedBalancer,
    "key-hash": KeyHashBalancer,
    "least-loaded": LeastLoadedBalancer,
    "power-of-two": PowerOfTwoBalancer,
}


def make_balancer(
    kind: str | None, uniform: Callable[[], float], weights: Sequence[float] | None = None
) -> Balancer:
    """The balancer named in the scenario (round-robin when none)."""
    return _KINDS[kind or "round-robin"](uniform, weights)
