"""Scenarios of the fast-engine tests, from plain data (durations in seconds)."""

from __future__ import annotations

from typing import Any

from qsim.scenario import Scenario
from tests.builders import one_broker

make = one_broker  # the fast tests' name for it


def single(
    rate: float,
    service: Any,
    *,
    instances: int = 1,
    duration: float,
    warmup: float = 0.0,
    capacity: int | None = None,
    arrival: str = "poisson",
    **consumer: Any,
) -> Scenario:
    """One producer, one queue, one consumer pool."""
    q: dict[str, Any] = {"name": "q"}
    if capacity is not None:
        q["capacity"] = capacity
    return make(
        [
            {
                "name": "p",
                "to": "q",
                "rate": rate,
                "arrival": arrival,
                **consumer.pop("producer", {}),
            }
        ],
        [q],
        [{"name": "c", "queue": "q", "instances": instances, "service": service, **consumer}],
        duration=duration,
        warmup=warmup,
    )
