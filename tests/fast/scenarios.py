"""Scenarios of the fast-engine tests, from plain data (durations in seconds)."""

from __future__ import annotations

from typing import Any

from qsim.scenario import Scenario


def make(
    producers: list[dict[str, Any]],
    queues: list[dict[str, Any]],
    consumers: list[dict[str, Any]],
    *,
    duration: float,
    warmup: float = 0.0,
    exchanges: list[dict[str, Any]] | None = None,
    replications: int = 1,
    seed: int = 1,
) -> Scenario:
    """A one-broker scenario."""
    broker: dict[str, Any] = {"name": "b", "queues": queues}
    if exchanges:
        broker["exchanges"] = exchanges
    return Scenario.model_validate(
        {
            "name": "t",
            "seed": seed,
            "duration": duration,
            "warmup": warmup,
            "replications": replications,
            "producers": producers,
            "brokers": [broker],
            "consumers": consumers,
        }
    )


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
