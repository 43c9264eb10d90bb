"""Engine selection: auto picks fast when it can, says why, and nothing is silently ignored."""

from __future__ import annotations

import pytest

from qsim.engines import select_engine
from qsim.errors import EngineNotApplicable
from qsim.scenario import loads

BASE = """
name: t
duration: 60s
producers: [{name: p, to: q, rate: 5/s}]
brokers: [{name: b, queues: [{name: q%s}]}]
consumers: [{name: c, queue: q, instances: 2, service: 100ms%s}]
"""


def test_auto_picks_fast_for_a_fifo_queue() -> None:
    """A shared FIFO queue with static dispatch runs on the fast engine, with the reason."""
    eng, why = select_engine(loads(BASE % ("", "")))
    assert eng.name == "fast" and why.startswith("auto")


def test_auto_falls_back_to_sim_naming_the_feature() -> None:
    """TTL keeps the fast engine out; auto runs sim and names the feature."""
    eng, why = select_engine(loads(BASE % (", ttl: 5s", "")))
    assert eng.name == "sim" and "ttl" in why


@pytest.mark.parametrize(
    ("queue", "consumer", "message"),
    [
        # acks on delivery are in the schema but not in the engines yet
        ("", ", ack: auto", r"ack: auto on consumer 'c' is not simulated yet"),
        # byte limits likewise
        (", max_bytes: 1MiB", "", r"max_bytes on queue 'q' is not simulated yet"),
    ],
)
def test_unsimulated_features_are_refused_not_ignored(
    queue: str, consumer: str, message: str
) -> None:
    """A field no engine simulates is an error naming it, for auto and for sim."""
    sc = loads(BASE % (queue, consumer))
    with pytest.raises(EngineNotApplicable, match=message):
        select_engine(sc)
    with pytest.raises(EngineNotApplicable, match=message):
        select_engine(sc, "sim")
