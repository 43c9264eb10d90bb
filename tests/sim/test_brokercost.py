"""The broker ingress stage: exact FIFO timing, backpressure, availability, conservation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import simpy

from qsim.sim.brokercost import Stage, TopicIngress
from qsim.sim.message import Message
from tests.sim.simcheck import assert_conserved, counts, replicate, scenario, values


def _departures_naive(arrivals: list[float], service: float, latency: float) -> list[float]:
    """Delay then a FIFO single server, message by message (Lindley)."""
    out: list[float] = []
    free = 0.0
    for a in arrivals:
        start = max(a + latency, free)
        free = start + service
        out.append(free)
    return out


def _drive(stage_args: dict[str, Any], arrivals: list[float]) -> list[tuple[float, int]]:
    """Offer messages at ``arrivals`` to a stage whose destination records (time, index)."""
    env = simpy.Environment()
    seen: list[tuple[float, int]] = []
    msgs = [Message(t, 0, key=i) for i, t in enumerate(arrivals)]
    stage = Stage(
        env,
        "q/ingress",
        hand=lambda m: seen.append((env.now, m.key)),
        available=lambda: True,
        warmup=0.0,
        **stage_args,
    )
    for m in msgs:
        env.timeout(m.born).callbacks.append(lambda _e, m=m: stage.offer(m))
    env.run()
    assert stage.arrived == stage.passed == len(arrivals)
    assert stage.ready.value == 0 and stage.busy.value == 0
    return seen


@pytest.mark.parametrize(
    ("service", "latency"),
    [
        (0.05, 0.0),  # a ceiling alone: an M/D/1-like server
        (0.0, 0.2),  # a delay alone: every message shifted, order kept
        (0.05, 0.2),  # both
    ],
)
def test_stage_departures_follow_the_lindley_recursion(service: float, latency: float) -> None:
    """Each message reaches the destination at max(arrival + latency, previous) + service, in order."""
    rng = np.random.default_rng(3)
    arrivals = np.cumsum(rng.exponential(0.06, size=400)).tolist()
    seen = _drive({"service": service, "latency": latency}, arrivals)
    assert [k for _, k in seen] == list(range(len(arrivals)))
    expected = _departures_naive(arrivals, service, latency)
    np.testing.assert_allclose([t for t, _ in seen], expected, rtol=0, atol=1e-9)


def test_a_blocked_destination_stops_the_stage_and_its_publishers() -> None:
    """When the destination returns a block event, the stage holds everything behind it
    and hands that event to publishers until the destination takes the message."""
    env = simpy.Environment()
    gate = env.event()
    handed: list[int] = []

    def hand(m: Message) -> Any:
        handed.append(m.key)
        return gate if m.key == 1 else None

    stage = Stage(env, "q/ingress", 0.1, 0.0, hand, lambda: True, 0.0)
    replies: list[Any] = []
    for i in range(4):
        env.timeout(0.01 * i).callbacks.append(
            lambda _e, i=i: replies.append(stage.offer(Message(env.now, 0, key=i)))
        )
    env.run(until=5.0)
    assert handed == [0, 1]  # stopped behind message 1
    assert replies[0] is None and replies[1] is None  # before the block
    env.timeout(0.0).callbacks.append(
        lambda _e: replies.append(stage.offer(Message(5.0, 0, key=9)))
    )
    env.run(until=5.5)
    assert replies[-1] is gate  # a publisher now waits on the destination
    gate.succeed()
    env.run(until=10.0)
    assert handed == [0, 1, 2, 3, 9]
    assert stage.ready.value == 0


def test_an_unavailable_destination_rejects_at_once_not_through_the_stage() -> None:
    """While the destination is down, a publish goes straight to it (to be rejected there)."""
    env = simpy.Environment()
    up = [False]
    handed: list[float] = []
    stage = Stage(env, "q/ingress", 1.0, 1.0, lambda m: handed.append(env.now), lambda: up[0], 0.0)
    stage.offer(Message(0.0, 0))
    assert handed == [0.0] and stage.arrived == 0
    up[0] = True
    stage.offer(Message(0.0, 0))
    env.run()
    assert handed == [0.0, 2.0] and stage.arrived == stage.passed == 1


def test_a_topic_without_groups_skips_its_stages() -> None:
    """Nobody reads the topic: nothing enters the stages (as the topic keeps nothing)."""

    class Topic:
        name, partitions, available, groups = "t", 2, True, {}

        def partition_of(self, msg: Message) -> int:
            raise AssertionError("no partition is chosen")

    rep = type("Rep", (), {"env": simpy.Environment(), "warmup": 0.0})()
    ti = TopicIngress(rep, Topic(), 0.01, 0.0)
    assert ti.offer(Message(0.0, 0)) is None
    assert [s.arrived for s in ti.stages] == [0, 0]


def test_block_overflow_behind_a_stage_makes_producers_wait_and_loses_nothing() -> None:
    """overflow: block behind an ingress stage: publishes are delayed, none rejected, and
    every message is accounted for."""
    sc = scenario(
        [{"name": "p", "to": "q", "rate": 30.0}],
        [
            {
                "name": "q",
                "capacity": 3,
                "overflow": "block",
                "ingress": {"ceiling": 200.0, "latency": 0.01},
            }
        ],
        [{"name": "c", "queue": "q", "instances": 1, "service": 0.05}],
        duration=60.0,
    )
    (rep,) = replicate(sc, 1, seed=4)
    c = counts(rep, "q")
    assert c["rejected"] == 0 and c["blocked"] > 0
    assert values([rep], "p", "blocked_publishes", "producer")[0] > 0
    assert_conserved(rep)
    stage = rep.ingress["q"]
    assert stage.arrived == stage.passed + stage.ready.value
    assert c["arrived"] == stage.passed


def test_a_node_outage_rejects_publishes_before_the_stage() -> None:
    """A queue whose node is down rejects publishes at once; the stage only counts the rest."""
    sc = scenario(
        [{"name": "p", "to": "q", "rate": 20.0}],
        [{"name": "q", "ingress": {"ceiling": 100.0, "latency": 0.5}}],
        [{"name": "c", "queue": "q", "instances": 2, "service": 0.01}],
        duration=100.0,
    )
    sc = sc.model_validate(
        {
            **sc.model_dump(),
            "brokers": [
                {**sc.brokers[0].model_dump(), "outages": [{"at": 30.0, "duration": 20.0}]}
            ],
        }
    )
    (rep,) = replicate(sc, 1, seed=5)
    c = counts(rep, "q")
    stage = rep.ingress["q"]
    assert c["rejected"] > 300  # about 20/s for 20 s, plus those leaving the stage meanwhile
    assert stage.arrived < c["arrived"]  # rejections during the outage bypass the stage
    assert stage.arrived == stage.passed + stage.ready.value
    assert_conserved(rep)
