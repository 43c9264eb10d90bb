"""The message record carried through the simulated system."""

from __future__ import annotations

__all__ = ["Message"]


class Message:
    """One message copy in flight.

    Times are simulated seconds. ``born`` is when the producer published the original
    (end-to-end response is measured from it); ``arrived`` is when this copy entered
    its current queue; ``path`` indexes the producer it came from.
    """

    __slots__ = ("arrived", "attempts", "born", "delivered", "key", "path", "priority", "size")

    def __init__(
        self, born: float, path: int, key: int = -1, priority: float = 0.0, size: int = 0
    ) -> None:
        self.born = born
        self.arrived = born
        self.delivered = 0  # deliveries of this copy to a consumer (redeliveries count)
        self.attempts = 0  # failed processing attempts so far
        self.path = path
        self.key = key
        self.priority = priority
        self.size = size

    def copy(self) -> Message:
        """A fresh copy (fanout): same origin and key, its own counters."""
        return Message(self.born, self.path, self.key, self.priority, self.size)
