"""Primary-backup failover (qsim.sim.failover with the broker cluster, qsim.sim.broker).

Deterministic outage schedules are checked exactly against the unavailability worked
out by hand from the rule: noticed at the first health check at or after the failure,
declared dead ``detection`` later (unless back by then), served by the backup
``promotion`` after that; no switch back. Random failures are checked by a 99%
Student-t interval against renewal-reward theory.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from qsim.scenario.resolve import resolve
from qsim.scenario.schema import Scenario
from qsim.sim.engine import Replication
from qsim.sim.failover import PrimaryBackup
from tests.sim.simcheck import assert_conserved, assert_covers, replicate

H, DETECT, PROMOTE = 5.0, 10.0, 2.0
FAILOVER = {"mode": "primary-backup", "health_check": H, "detection": DETECT, "promotion": PROMOTE}


def build(
    outages: list[tuple[float, float, int]] = (),  # type: ignore[assignment]
    *,
    queue: dict[str, Any] | None = None,
    nodes: int = 2,
    failures: dict[str, Any] | None = None,
    persistent: bool = True,
    rate: float = 40.0,
    duration: float = 400.0,
    warmup: float = 20.0,
) -> Scenario:
    broker: dict[str, Any] = {
        "name": "b",
        "nodes": nodes,
        "failover": FAILOVER,
        "outages": [{"at": a, "duration": d, "node": n} for a, d, n in outages],
        "queues": [{"name": "q", "node": 0, **(queue or {})}],
    }
    if failures is not None:
        broker["failures"] = failures
    return Scenario.model_validate(
        {
            "name": "failover",
            "duration": duration,
            "warmup": warmup,
            "producers": [{"name": "p", "rate": rate, "to": "q", "persistent": persistent}],
            "brokers": [broker],
            "consumers": [
                {"name": "w", "queue": "q", "instances": 3, "prefetch": 2, "service": 0.05}
            ],
        }
    )


def rep_of(sc: Scenario, seed: int = 1) -> Replication:
    return Replication(sc, resolve(sc), seed, 0)


@pytest.mark.parametrize(
    ("outages", "down"),
    [
        # noticed at 105, dead at 115, backup serves at 117
        ([(101, 60, 0)], 16),
        # a failure exactly at a check (100) is noticed by it: serves at 112
        ([(100, 60, 0)], 12),
        # back at 109, before being declared dead at 115: no switch
        ([(101, 8, 0)], 8),
        # back at 115.5, after the declaration at 115: the switch goes on, serves at 117
        ([(101, 14.5, 0)], 16),
        # the queue now lives on node 1: node 0's second outage does not touch it
        ([(101, 60, 0), (300, 60, 0)], 16),
        # node 1 fails in turn at 301: back on node 0 (rejoined) at 305 + 12 = 317
        ([(101, 60, 0), (301, 30, 1)], 16 + 16),
        # the backup is down at the takeover (117): the queue waits for node 0 (161)
        ([(101, 60, 0), (110, 100, 1)], 60),
        # a blip of node 0 unseen by the check at 105, then a real failure at 106:
        # noticed at 110, served at 122 -> 3 + 16
        ([(101, 3, 0), (106, 60, 0)], 3 + 16),
        # an outage overlapping the end (400): noticed at 395, declared at 405 > end
        ([(392, 30, 0)], 8),
    ],
)
def test_unavailability_follows_the_failover_schedule(
    outages: list[tuple[float, float, int]], down: float
) -> None:
    """Broker availability = 1 - (hand-computed unavailability) / measured span, exactly."""
    rep = rep_of(build(outages, rate=10))
    rep.run()
    assert rep.availability["b"]() == pytest.approx(1 - down / 380, rel=1e-12)
    assert_conserved(rep)


@pytest.mark.parametrize(
    ("t", "noticed"),
    [(0.0, 0.0), (0.1, 5.0), (5.0, 5.0), (5.000001, 10.0), (99.99, 100.0), (1e6 + 0.3, 1e6 + 5)],
)
def test_noticed_at_the_first_check_at_or_after_the_failure(t: float, noticed: float) -> None:
    """Checks run at 0, h, 2h, ...: a failure at t is noticed at ceil(t / h) * h."""
    pb = PrimaryBackup(
        Scenario.model_validate(
            {
                "name": "x",
                "duration": 1,
                "producers": [{"name": "p", "rate": 1, "to": "q"}],
                "brokers": [
                    {"name": "b", "nodes": 2, "failover": FAILOVER, "queues": [{"name": "q"}]}
                ],
            }
        )
        .brokers[0]
        .failover
    )
    assert pb.noticed_at(t) == noticed
    assert pb.declared_at(t) == noticed + DETECT


def test_rejected_publishes_match_the_unavailable_window() -> None:
    """Publishes are rejected only while nobody serves the queue (16 s here): Poisson count."""
    sc = build([(101, 60, 0)], duration=200)
    reps = replicate(sc, 8, seed=6)
    rejected = sum(r.queues["q"].record.counts.rejected for r in reps)
    mean = 8 * 40 * 16
    assert abs(rejected - mean) <= 3.89 * math.sqrt(mean), rejected
    for r in reps:
        assert_conserved(r)


@pytest.mark.parametrize(
    ("queue", "persistent", "survive"),
    [
        ({"durable": True}, True, True),  # durable + persistent: on disk, the backup has it
        ({"durable": True}, False, False),  # durable queue, transient messages: lost
        ({}, True, False),  # transient queue: lost
        ({"replicas": 2}, False, True),  # replicated: the copy on the backup survives
    ],
)
def test_backup_serves_the_surviving_messages(
    queue: dict[str, Any], persistent: bool, survive: bool
) -> None:
    """At the takeover the queue holds exactly what survived the failure, and works on."""
    rep = rep_of(build([(101, 60, 0)], queue=queue, persistent=persistent), seed=3)
    rep.env.run(until=101)
    q = rep.queues["q"]
    held = q.held
    unacked = sum(i.unacked for i in q.instances)
    assert held > 0
    rep.env.run(until=117)  # just before the takeover
    assert not q.available
    assert q.held == (held if survive else 0)
    assert q.record.counts.lost == (0 if survive else held)
    assert q.record.counts.redelivered == (unacked if survive else 0)
    rep.env.run(until=117 + 1e-9)
    assert q.available
    done = q.record.counts.completed
    rep.run()
    assert q.record.counts.completed > done
    assert_conserved(rep)


def _expected_down(mttr: float) -> float:
    """E[unavailable time per host failure]: repair R ~ Exp(mttr) if it comes before
    the declaration (U + detection, U ~ U(0, h) the wait for the check), else
    U + detection + promotion. E = m + (p - m) e^{-d/m} (m/h) (1 - e^{-h/m})."""
    m = mttr
    return m + (PROMOTE - m) * math.exp(-DETECT / m) * (m / H) * (1 - math.exp(-H / m))


def test_random_failures_with_failover_match_renewal_reward() -> None:
    """With exponential failures the queue alternates Exp(mtbf) up and D down, so its
    availability is mtbf / (mtbf + E[D]) (3 nodes: a backup is all but always there)."""
    mtbf, mttr = 2000.0, 30.0
    sc = build(
        nodes=3,
        failures={"mtbf": mtbf, "mttr": mttr},
        rate=0.002,
        duration=1_000_000,
        warmup=0,
    )
    reps = replicate(sc, 10, seed=12)
    avail = np.array([r.availability["b"]() for r in reps])
    expected = mtbf / (mtbf + _expected_down(mttr))
    assert_covers(avail, expected, "availability with failover")
    assert_covers(1 - avail, 1 - expected, "unavailability")  # same check, readable scale
    no_failover = mtbf / (mtbf + mttr)
    assert avail.mean() > no_failover + 5 * avail.std(ddof=1) / math.sqrt(avail.size)
    for r in reps:
        assert_conserved(r)
