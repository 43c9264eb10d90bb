"""Scenarios for tests, from plain data (durations in seconds)."""

from __future__ import annotations

from typing import Any

from qsim.scenario import Scenario


def one_broker(
    producers: list[dict[str, Any]],
    queues: list[dict[str, Any]],
    consumers: list[dict[str, Any]],
    *,
    duration: float,
    warmup: float = 0.0,
    exchanges: list[dict[str, Any]] | None = None,
    replications: int = 1,
    seed: int = 1,
    engine: str | None = None,
) -> Scenario:
    """A scenario with one broker ``b`` holding ``queues`` (and ``exchanges``)."""
    broker: dict[str, Any] = {"name": "b", "queues": queues}
    if exchanges:
        broker["exchanges"] = exchanges
    data: dict[str, Any] = {
        "name": "t",
        "seed": seed,
        "duration": duration,
        "warmup": warmup,
        "replications": replications,
        "producers": producers,
        "brokers": [broker],
        "consumers": consumers,
    }
    if engine is not None:
        data["engine"] = engine
    return Scenario.model_validate(data)
