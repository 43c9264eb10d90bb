"""The event-driven engine on SimPy: producers, brokers, queues, consumers, failures."""

from __future__ import annotations

from qsim.sim.engine import SimEngine

__all__ = ["SimEngine"]
