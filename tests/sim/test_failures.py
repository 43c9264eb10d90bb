"""Node failures, scheduled outages and consumer failures (qsim.sim.failures, broker.py).

Deterministic schedules are checked exactly (availability, losses equal to what a queue
held at the failure instant, observed by stepping the clock); random ones by 99%
Student-t intervals over replications with fixed seeds, against renewal-reward theory.
Every test also checks message conservation per queue.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import simpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qsim.engines import run
from qsim.scenario.resolve import resolve
from qsim.scenario.schema import Scenario
from qsim.sim.broker import place
from qsim.sim.engine import Replication
from qsim.sim.failures import Switch, install_failures
from tests.sim.simcheck import assert_conserved, assert_covers, replicate

Z = 3.89  # two-sided normal quantile at 1e-4: Poisson count checks


def build(
    queues: list[dict[str, Any]],
    producers: list[dict[str, Any]],
    consumers: list[dict[str, Any]] = (),  # type: ignore[assignment]
    *,
    broker: dict[str, Any] | None = None,
    extra_brokers: list[dict[str, Any]] = (),  # type: ignore[assignment]
    duration: float = 150.0,
    warmup: float = 10.0,
) -> Scenario:
    """A scenario whose broker ``b`` hosts ``queues`` (plus ``broker`` settings)."""
    return Scenario.model_validate(
        {
            "name": "failures",
            "seed": 3,
            "duration": duration,
            "warmup": warmup,
            "replications": 1,
            "engine": "sim",
            "producers": producers,
            "brokers": [{"name": "b", "queues": queues, **(broker or {})}, *extra_brokers],
            "consumers": list(consumers),
        }
    )


def rep_of(sc: Scenario, seed: int = 1, index: int = 0) -> Replication:
    return Replication(sc, resolve(sc), seed, index)


def poisson_ok(count: float, mean: float) -> bool:
    return abs(count - mean) <= Z * math.sqrt(mean)


WORKERS = {"name": "w", "queue": "q", "instances": 2, "prefetch": 3, "service": 0.03}


# ---- scheduled node outages on a one-node broker ---------------------------------------


def test_outage_rejects_publishes_while_down() -> None:
    """Publishes during a 40 s outage are rejected: about rate * 40 of them (Poisson)."""
    sc = build(
        [{"name": "q"}],
        [{"name": "p", "rate": 50, "to": "q"}],
        [WORKERS],
        broker={"outages": [{"at": 60, "duration": 40}]},
    )
    reps = replicate(sc, 6, seed=4)
    rejected = sum(r.queues["q"].record.counts.rejected for r in reps)
    assert poisson_ok(rejected, 6 * 50 * 40), rejected
    for r in reps:
        assert_conserved(r)


@pytest.mark.parametrize(
    ("outages", "down"),
    [
        ([(60, 40)], 40),  # inside the measured window
        ([(5, 10)], 5),  # straddles the 10 s warm-up: only [10, 15] counts
        ([(140, 50)], 10),  # runs past the end (150 s)
        ([(60, 40), (80, 40)], 60),  # overlapping outages merge: [60, 120]
        ([(20, 10), (100, 5)], 15),  # two separate outages
    ],
)
def test_availability_is_exact_for_scheduled_outages(
    outages: list[tuple[float, float]], down: float
) -> None:
    """Broker availability = 1 - (downtime within [warm-up, end]) / (end - warm-up)."""
    sc = build(
        [{"name": "q"}],
        [{"name": "p", "rate": 5, "to": "q"}],
        [WORKERS],
        broker={"outages": [{"at": a, "duration": d} for a, d in outages]},
    )
    rep = rep_of(sc)
    rep.run()
    assert rep.availability["b"]() == pytest.approx(1 - down / 140, rel=1e-12)
    assert_conserved(rep)


def snapshot(rep: Replication, at: float) -> dict[str, int]:
    """Run to just before ``at``; what queue q holds there."""
    rep.env.run(until=at)
    q = rep.queues["q"]
    return {
        "held": q.held,
        "unacked": sum(i.unacked for i in q.instances),
        "started": sum(len(i.inflight) for i in q.instances),
        "lost": q.record.counts.lost,
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_transient_queue_loses_exactly_what_it_held(seed: int) -> None:
    """A node failure destroys every message of a transient queue, unacked ones too
    (none counted redelivered); the queue then works again, empty."""
    sc = build(
        [{"name": "q"}],
        [{"name": "p", "rate": 60, "to": "q", "persistent": True}],
        [WORKERS],
        broker={"outages": [{"at": 60, "duration": 20}]},
    )
    rep = rep_of(sc, seed)
    before = snapshot(rep, 60)
    assert before["held"] > 0
    rep.env.run(until=60 + 1e-9)
    q = rep.queues["q"]
    c = q.record.counts
    assert q.held == 0
    assert c.lost == before["held"]
    assert c.redelivered == 0 and c.duplicated == 0
    done = c.completed
    rep.run()
    assert c.lost == before["held"]
    assert c.completed > done
    assert_conserved(rep)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_durable_persistent_queue_loses_nothing(seed: int) -> None:
    """Durable queue, persistent messages: nothing lost; unacked messages come back to
    the queue (redelivered; duplicated when started) and are processed after repair."""
    sc = build(
        [{"name": "q", "durable": True}],
        [{"name": "p", "rate": 60, "to": "q", "persistent": True}],
        [WORKERS],
        broker={"outages": [{"at": 60, "duration": 20}]},
    )
    rep = rep_of(sc, seed)
    before = snapshot(rep, 60)
    assert before["unacked"] > 0
    rep.env.run(until=60 + 1e-9)
    q = rep.queues["q"]
    c = q.record.counts
    assert q.held == before["held"] == len(q)
    assert c.lost == 0
    assert c.redelivered == before["unacked"]
    assert c.duplicated == before["started"]
    rep.run()
    assert c.lost == 0
    assert q.held < before["held"] + 60  # the backlog drained after the repair
    assert_conserved(rep)


def test_durable_queue_with_mixed_producers_loses_only_transient_messages() -> None:
    """On a durable queue only non-persistent messages are lost: exactly as many as the
    transient producer had published into it (counted by an audit copy elsewhere)."""
    sc = build(
        [{"name": "q", "durable": True}],
        [
            {"name": "keep", "rate": 20, "to": "q", "persistent": True},
            {"name": "tmp", "rate": 30, "to": "fan"},
        ],
        broker={"outages": [{"at": 50, "duration": 10}]},
        extra_brokers=[
            {
                "name": "side",
                "queues": [{"name": "audit"}],
                "exchanges": [{"name": "fan", "type": "fanout", "bindings": ["q", "audit"]}],
            }
        ],
        duration=80,
    )
    rep = rep_of(sc, 5)
    before = snapshot(rep, 50)
    audit = rep.queues["audit"].record.counts.accepted
    rep.env.run(until=50 + 1e-9)
    q = rep.queues["q"]
    assert audit > 0
    assert q.record.counts.lost == audit
    assert q.held == before["held"] - audit
    rep.run()
    assert_conserved(rep)


def test_replicated_queue_loses_nothing_but_waits_for_repair() -> None:
    """replicas: 2 keeps a transient queue's messages through its node's failure; without
    failover the queue is still unavailable until the node is repaired."""
    sc = build(
        [{"name": "q", "replicas": 2}],
        [{"name": "p", "rate": 60, "to": "q"}],
        [WORKERS],
        broker={"nodes": 2, "outages": [{"at": 60, "duration": 20, "node": 0}]},
    )
    rep = rep_of(sc, 2)
    before = snapshot(rep, 60)
    rep.run()
    c = rep.queues["q"].record.counts
    assert c.lost == 0
    assert c.redelivered == before["unacked"]
    assert rep.availability["b"]() == pytest.approx(1 - 20 / 140, rel=1e-12)
    assert_conserved(rep)


def test_availability_averages_over_queues() -> None:
    """Two queues spread over two nodes: an outage of node 1 takes down half of them."""
    sc = build(
        [{"name": "q"}, {"name": "r"}],
        [{"name": "p", "rate": 5, "to": "q"}, {"name": "s", "rate": 5, "to": "r"}],
        [WORKERS],
        broker={"nodes": 2, "outages": [{"at": 30, "duration": 28, "node": 1}]},
    )
    rep = rep_of(sc)
    rep.run()
    assert rep.availability["b"]() == pytest.approx(1 - 14 / 140, rel=1e-12)
    assert rep.queues["q"].record.counts.rejected == 0
    assert rep.queues["r"].record.counts.rejected > 0
    assert_conserved(rep)


# ---- random node failures ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("mtbf", "mttr", "expected"),
    [
        ("40s", "10s", 40 / 50),  # exponential up and down times
        (
            {"dist": "lognormal", "mean": 30, "scv": 0.5},
            {"dist": "deterministic", "value": 15},
            2 / 3,
        ),
    ],
)
def test_random_failures_availability_matches_renewal_reward(
    mtbf: Any, mttr: Any, expected: float
) -> None:
    """Long-run availability of a node that alternates up/down is E[up] / (E[up] + E[down])."""
    sc = build(
        [{"name": "q", "durable": True}],
        [{"name": "p", "rate": 0.05, "to": "q", "persistent": True}],
        [{**WORKERS, "instances": 1}],
        broker={"failures": {"mtbf": mtbf, "mttr": mttr}},
        duration=20_000,
        warmup=200,
    )
    reps = replicate(sc, 8, seed=9)
    avail = np.array([r.availability["b"]() for r in reps])
    assert_covers(avail, expected, "availability")
    for r in reps:
        assert r.queues["q"].record.counts.lost == 0
        assert_conserved(r)


def test_random_failures_are_reproducible() -> None:
    """The same seed gives the same failures and numbers; another seed differs."""
    sc = build(
        [{"name": "q"}],
        [{"name": "p", "rate": 20, "to": "q"}],
        [{**WORKERS, "failures": {"mtbf": "30s", "mttr": "5s"}}],
        broker={"nodes": 2, "failures": {"mtbf": "40s", "mttr": "8s"}},
        duration=300,
    )
    a, b, c = (
        run(sc, seed=7, replications=2),
        run(sc, seed=7, replications=2),
        run(sc, seed=8, replications=2),
    )
    assert a.per_replication.equals(b.per_replication)
    avail = a.per_replication.query("metric == 'availability'").value.to_numpy()
    other = c.per_replication.query("metric == 'availability'").value.to_numpy()
    assert not np.array_equal(avail, other)


# ---- consumer instances -----------------------------------------------------------------


def test_outage_of_all_consumers_builds_then_drains_a_backlog() -> None:
    """With every instance down the backlog grows by the arrivals (Poisson, rate * 30 s),
    unacked messages are redelivered, and the backlog drains after they are back."""
    sc = build(
        [{"name": "q", "durable": True}],
        [{"name": "p", "rate": 20, "to": "q"}],
        [
            {
                "name": "w",
                "queue": "q",
                "instances": 4,
                "prefetch": 2,
                "service": 0.1,
                "outages": [{"at": 100, "duration": 30}],
            }
        ],
        duration=400,
    )
    for seed in (1, 2):
        rep = rep_of(sc, seed)
        before = snapshot(rep, 100)
        q, c = rep.queues["q"], rep.queues["q"].record.counts
        arrived = c.arrived
        rep.env.run(until=100 + 1e-9)
        assert c.redelivered == before["unacked"] and c.duplicated == before["started"]
        rep.env.run(until=130)
        new = c.arrived - arrived
        assert poisson_ok(new, 20 * 30), new
        assert q.record.ready.value == before["held"] + new  # nothing served or lost
        rep.env.run(until=220)
        assert q.record.ready.value < 40  # drained: capacity 40/s against 20/s
        rep.run()
        assert c.lost == 0
        assert_conserved(rep)


def test_auto_delete_queue_vanishes_with_its_only_consumer() -> None:
    """An auto-delete queue is deleted when its only consumer fails: what it held is
    lost, and every later publish is rejected, even after the consumer is back."""
    sc = build(
        [{"name": "q", "auto_delete": True}],
        [{"name": "p", "rate": 30, "to": "q"}],
        [
            {
                "name": "w",
                "queue": "q",
                "prefetch": 5,
                "service": 0.03,
                "outages": [{"at": 50, "duration": 10, "instance": 0}],
            }
        ],
        duration=100,
    )
    rep = rep_of(sc, 3)
    before = snapshot(rep, 50)
    c = rep.queues["q"].record.counts
    arrived = c.arrived
    rep.run()
    q = rep.queues["q"]
    assert q.deleted
    assert c.lost == before["held"] > 0
    assert c.rejected == c.arrived - arrived
    assert_conserved(rep)


def test_random_consumer_failures_redeliver_and_conserve() -> None:
    """Random instance failures redeliver the unacked messages; nothing is lost."""
    sc = build(
        [{"name": "q"}],
        [{"name": "p", "rate": 20, "to": "q"}],
        [
            {
                "name": "w",
                "queue": "q",
                "instances": 3,
                "prefetch": 4,
                "service": 0.1,
                "failures": {"mtbf": "20s", "mttr": "4s"},
            }
        ],
        duration=300,
    )
    for rep in replicate(sc, 3, seed=2):
        c = rep.queues["q"].record.counts
        assert c.redelivered > 0 and c.duplicated <= c.redelivered
        assert c.lost == 0
        assert_conserved(rep)


def test_topic_consumer_outage_goes_through_the_group_hooks() -> None:
    """A topic consumer's outage calls its group's member_failed / member_recovered."""
    sc = Scenario.model_validate(
        {
            "name": "topic-failures",
            "duration": 60,
            "producers": [{"name": "p", "rate": 10, "to": "t"}],
            "brokers": [{"name": "k", "topics": [{"name": "t", "partitions": 2}]}],
            "consumers": [
                {
                    "name": "g",
                    "topic": "t",
                    "instances": 2,
                    "service": 0.05,
                    "outages": [{"at": 20, "duration": 10, "instance": 1}],
                }
            ],
        }
    )
    rep = rep_of(sc)
    member = rep.pools["g"].instances[1]
    rep.env.run(until=25)
    assert not member.up
    rep.run()
    assert member.up


def test_topic_consumers_without_group_hooks_are_skipped() -> None:
    """When the topic object offers no group hooks, its consumers' failures are ignored."""
    sc = Scenario.model_validate(
        {
            "name": "no-hooks",
            "duration": 60,
            "producers": [{"name": "p", "rate": 10, "to": "t"}],
            "brokers": [{"name": "k", "topics": [{"name": "t", "partitions": 2}]}],
            "consumers": [
                {
                    "name": "g",
                    "topic": "t",
                    "service": 0.05,
                    "failures": {"mtbf": "5s", "mttr": "1s"},
                    "outages": [{"at": 1, "duration": 10}],
                }
            ],
        }
    )

    class Rep:
        def __init__(self) -> None:
            self.env = simpy.Environment()
            self.scenario = sc
            self.queues: dict[str, Any] = {}
            self.topics = {"t": object()}
            self.pools = {"g": object()}
            self.warmup = 0.0
            self.availability: dict[str, Any] = {}

        def rng(self) -> np.random.Generator:
            raise AssertionError("no stream for ignored failures")

    rep = Rep()
    install_failures(rep)
    rep.env.run(until=30)
    assert rep.availability["k"]() == 1.0


def test_node_outage_pauses_a_topic_without_loss() -> None:
    """A topic on a failed node rejects publishes (Poisson count) and loses nothing."""
    sc = Scenario.model_validate(
        {
            "name": "topic-outage",
            "duration": 150,
            "warmup": 10,
            "producers": [{"name": "p", "rate": 40, "to": "t"}],
            "brokers": [
                {
                    "name": "k",
                    "topics": [{"name": "t", "partitions": 2}],
                    "outages": [{"at": 50, "duration": 30}],
                }
            ],
            "consumers": [{"name": "g", "topic": "t", "instances": 2, "service": 0.02}],
        }
    )
    rep = rep_of(sc, 4)
    rep.run()
    group = rep.topics["t"].group("g")
    c = group.record.counts
    assert poisson_ok(c.rejected, 40 * 30), c.rejected
    assert c.lost == 0
    assert c.accepted == c.completed + c.expired + c.failed_final + group.held
    assert rep.availability["k"]() == pytest.approx(1 - 30 / 140, rel=1e-12)


@st.composite
def failing_scenarios(draw: st.DrawFn) -> Scenario:
    """Small scenarios mixing node and consumer failures with queue features."""
    queue: dict[str, Any] = {
        "name": "q",
        "durable": draw(st.booleans()),
        "replicas": draw(st.sampled_from([1, 1, 2])),
        "ordering": draw(st.sampled_from(["fifo", "priority"])),
        "auto_delete": draw(st.booleans()),
        "dead_letter": "dlq",
    }
    if draw(st.booleans()):
        queue["ttl"] = draw(st.sampled_from([0.2, 1.0]))
    if draw(st.booleans()):
        queue["capacity"] = draw(st.integers(3, 30))
        queue["overflow"] = draw(st.sampled_from(["reject", "drop-head", "block"]))
    broker: dict[str, Any] = {
        "nodes": 2,
        "outages": [{"at": draw(st.floats(5, 40)), "duration": draw(st.floats(0.5, 25))}],
    }
    if draw(st.booleans()):
        broker["failures"] = {"mtbf": draw(st.sampled_from([5, 20])), "mttr": 2}
    if draw(st.booleans()):
        broker["failover"] = {"health_check": 1, "detection": 1, "promotion": 0.5}
    consumer: dict[str, Any] = {
        "name": "w",
        "queue": "q",
        "instances": draw(st.integers(1, 3)),
        "prefetch": draw(st.integers(1, 4)),
        "fail_probability": draw(st.sampled_from([0.0, 0.3])),
        "retry": {"max_retries": 2, "delay": 0.3},
    }
    if draw(st.booleans()):
        consumer["batch"] = {"max_size": 3, "max_wait": 0.05, "per_message": 0.02}
    else:
        consumer["service"] = 0.05
    if draw(st.booleans()):
        consumer["failures"] = {"mtbf": 6, "mttr": 1}
    if draw(st.booleans()):
        consumer["outages"] = [{"at": draw(st.floats(0, 40)), "duration": 5}]
    return build(
        [queue],
        [
            {
                "name": "a",
                "rate": draw(st.floats(5, 40)),
                "to": "q",
                "persistent": draw(st.booleans()),
                "priority": {0: 1, 5: 1},
            },
            {"name": "b", "rate": 10, "to": "q", "persistent": draw(st.booleans())},
        ],
        [consumer],
        broker=broker,
        extra_brokers=[{"name": "side", "queues": [{"name": "dlq"}]}],
        duration=60,
        warmup=5,
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sc=failing_scenarios(), seed=st.integers(0, 2**16))
def test_conservation_holds_under_any_mix_of_failures(sc: Scenario, seed: int) -> None:
    """Every accepted message is completed, dropped, expired, lost once, failed or held."""
    rep = rep_of(sc, seed)
    rep.run()
    assert_conserved(rep)
    assert 0.0 <= rep.availability["b"]() <= 1.0


# ---- building blocks --------------------------------------------------------------------


def test_switch_merges_overlapping_causes() -> None:
    """A component fails on its first cause and recovers when the last one ends."""
    log: list[str] = []
    sw = Switch(lambda: log.append("fail"), lambda: log.append("recover"))
    sw.down()
    sw.down()
    sw.up()
    assert log == ["fail"]
    sw.up()
    sw.down()
    assert log == ["fail", "recover", "fail"]


def _broker(balancer: str, nodes: int, names: int, **extra: Any) -> Any:
    return build(
        [{"name": f"q{i}", **extra.pop(f"q{i}", {})} for i in range(names)],
        [{"name": "p", "rate": 1, "to": "q0"}],
        broker={"nodes": nodes, "balancer": balancer, **extra},
    ).brokers[0]


@pytest.mark.parametrize(
    ("balancer", "extra", "expected"),
    [
        ("round-robin", {}, [0, 1, 2, 0, 1]),  # dealt in declaration order
        ("round-robin", {"q0": {"node": 2}}, [2, 0, 1, 2, 0]),  # pinned queues take no turn
        ("least-loaded", {"q0": {"node": 0}}, [0, 1, 2, 0, 1]),  # fewest so far, lowest index
        ("weighted", {"weights": [2.0, 1.0, 1.0]}, [0, 1, 2, 0, 0]),  # smooth weighted round robin
    ],
)
def test_queue_placement(balancer: str, extra: dict[str, Any], expected: list[int]) -> None:
    """Queues without node: are spread over the nodes by the broker's balancer."""
    spec = _broker(balancer, 3, 5, **extra)
    assert [place(spec)[f"q{i}"] for i in range(5)] == expected


def test_hashed_placement_is_fixed_and_in_range() -> None:
    """random/key-hash placement depends on the name only, and lands on a valid node."""
    a, b = place(_broker("random", 3, 20)), place(_broker("key-hash", 3, 20))
    assert a == b and set(a.values()) <= {0, 1, 2} and len(set(a.values())) == 3
