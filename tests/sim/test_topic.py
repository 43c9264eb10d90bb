"""Partitioned topics and consumer groups (qsim.sim.topic, qsim.sim.group).

Statistical checks compare simulated means with independent theory (M/M/1, E_k/M/1 by
mpmath) through 99% Student-t intervals over independent replications with fixed
seeds; mechanism checks (order, rebalance, retention, conservation) run one replication
and inspect the group directly.
"""

from __future__ import annotations

import json
from collections import defaultdict
from itertools import pairwise
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsim.analytic import mm1
from qsim.engines import run
from qsim.scenario import loads
from qsim.scenario.resolve import resolve
from qsim.sim.engine import Replication
from qsim.sim.group import TopicGroup
from qsim.stats import replication_estimate
from tests.reference.ref_gim1 import erlang_m1_wait

LEVEL = 0.99


def scenario(
    *,
    rate: float,
    consumers: list[dict[str, Any]],
    partitions: int = 1,
    partitioner: str = "key-hash",
    retention: float | None = None,
    keys: dict[str, Any] | None = None,
    duration: float = 600.0,
    warmup: float = 50.0,
    replications: int = 8,
    seed: int = 11,
) -> Any:
    topic: dict[str, Any] = {"name": "events", "partitions": partitions, "partitioner": partitioner}
    if retention is not None:
        topic["retention"] = retention
    prod: dict[str, Any] = {"name": "src", "rate": rate, "to": "events"}
    if keys is not None:
        prod["keys"] = keys
    doc = {
        "name": "topic-test",
        "seed": seed,
        "duration": duration,
        "warmup": warmup,
        "replications": replications,
        "producers": [prod],
        "brokers": [{"name": "kafka", "topics": [topic]}],
        "consumers": consumers,
    }
    return loads(json.dumps(doc))


def replication(sc: Any, index: int = 0) -> Replication:
    return Replication(sc, resolve(sc), sc.seed, index)


def at(rep: Replication, t: float, action: Any) -> None:
    """Call ``action()`` at simulated time ``t`` (a scheduled outage in a test)."""

    def proc() -> Any:
        yield rep.env.timeout(t)
        action()

    rep.env.process(proc())


def group_of(rep: Replication, name: str = "c") -> TopicGroup:
    return rep.topics["events"].group(name)


def assert_conserved(rep: Replication, group: TopicGroup) -> None:
    c = group.record.counts.whole_run()
    held = rep.held(group.name)
    assert c["accepted"] == (
        c["completed"] + c["dropped"] + c["expired"] + c["lost"] + c["failed_final"] + held
    )
    assert held == sum(len(log) for log in group.logs) + sum(m is not None for m in group.active)
    assert group.retry_pending == sum(group.backoff)


def per_rep(result: Any, scope: str, name: str, metric: str) -> np.ndarray:
    d = result.per_replication
    hit = d[(d.scope == scope) & (d.name == name) & (d.metric == metric)]
    assert len(hit) == result.replications
    return hit.value.to_numpy()


def assert_within(values: np.ndarray, theory: float) -> None:
    e = replication_estimate(values, LEVEL)
    assert e.ci_low <= theory <= e.ci_high, (theory, e)


# ---- queueing behaviour against theory ---------------------------------------------


def test_one_partition_one_member_is_mm1() -> None:
    """One partition read by one member with exponential service is M/M/1."""
    sc = scenario(rate=6.0, consumers=[{"name": "c", "topic": "events", "service": 0.1}])
    r = run(sc)
    m = mm1(arrival_rate=6.0, service_rate=10.0)
    assert_within(per_rep(r, "group", "events/c", "wait_mean"), m.Wq)
    assert_within(per_rep(r, "group", "events/c", "response_mean"), m.W)
    assert_within(per_rep(r, "group", "events/c", "queue_length_mean"), m.Lq)
    assert_within(per_rep(r, "partition", "events/c/p0", "backlog_mean"), m.L)
    assert_within(per_rep(r, "partition", "events/c/p0", "utilization"), 0.6)


def test_uniform_keys_split_into_independent_mm1() -> None:
    """Uniform keys thin a Poisson stream: each of P partitions is M/M/1 at rate lambda/P."""
    sc = scenario(
        rate=24.0,
        partitions=4,
        keys={"dist": "uniform", "n": 1000},
        consumers=[{"name": "c", "topic": "events", "instances": 4, "service": 0.1}],
    )
    r = run(sc)
    m = mm1(arrival_rate=6.0, service_rate=10.0)
    assert_within(per_rep(r, "group", "events/c", "wait_mean"), m.Wq)
    assert_within(per_rep(r, "group", "events/c", "response_mean"), m.W)
    for p in range(4):
        name = f"events/c/p{p}"
        assert_within(per_rep(r, "partition", name, "backlog_mean"), m.L)
        assert_within(per_rep(r, "partition", name, "arrival_rate"), 6.0)
        assert_within(per_rep(r, "partition", name, "utilization"), 0.6)
    # Little's law for the group: L = throughput * W.
    lq = per_rep(r, "group", "events/c", "in_system_mean")
    lam_w = per_rep(r, "group", "events/c", "throughput") * per_rep(
        r, "group", "events/c", "response_mean"
    )
    assert abs(lq.mean() - lam_w.mean()) < 0.03 * lq.mean()


def test_round_robin_partitions_are_erlang_m1() -> None:
    """Round robin over P partitions feeds each with every P-th arrival: E_P/M/1."""
    sc = scenario(
        rate=18.0,
        partitions=3,
        partitioner="round-robin",
        consumers=[{"name": "c", "topic": "events", "instances": 3, "service": 0.1}],
    )
    r = run(sc)
    wq, w = erlang_m1_wait(18.0, 3, 10.0)
    assert_within(per_rep(r, "group", "events/c", "wait_mean"), wq)
    assert_within(per_rep(r, "group", "events/c", "response_mean"), w)
    for p in range(3):
        # Exactly every third message: the counts differ by at most one.
        assert_within(per_rep(r, "partition", f"events/c/p{p}", "arrival_rate"), 6.0)


def test_zipf_keys_make_partition_zero_hot() -> None:
    """Zipf(1.2) keys: partition shares follow the key law, each partition is M/M/1."""
    n, s, parts, lam = 1000, 1.2, 4, 16.0
    w = 1.0 / np.arange(1, n + 1) ** s
    share = np.array([w[p::parts].sum() for p in range(parts)]) / w.sum()
    sc = scenario(
        rate=lam,
        partitions=parts,
        keys={"dist": "zipf", "n": n, "s": s},
        consumers=[{"name": "c", "topic": "events", "instances": parts, "service": 0.1}],
    )
    r = run(sc)
    summ = r.summary
    backlog = {}
    for p in range(parts):
        name = f"events/c/p{p}"
        rate = lam * share[p]
        assert_within(per_rep(r, "partition", name, "arrival_rate"), rate)
        m = mm1(arrival_rate=rate, service_rate=10.0)
        assert_within(per_rep(r, "partition", name, "backlog_mean"), m.L)
        hit = summ[(summ.name == name) & (summ.metric == "backlog_mean")].iloc[0]
        backlog[p] = (hit.ci_low, hit.ci_high)
    assert share[0] > 0.35
    assert all(backlog[0][0] > backlog[p][1] for p in range(1, parts))


# ---- groups, order, rebalance, retention ---------------------------------------------


def test_every_group_gets_every_message() -> None:
    """Two groups on one topic each receive a copy of every published message."""
    sc = scenario(
        rate=20.0,
        partitions=3,
        keys={"dist": "uniform", "n": 50},
        duration=200.0,
        warmup=0.0,
        consumers=[
            {"name": "c", "topic": "events", "instances": 2, "service": 0.05},
            {"name": "d", "topic": "events", "group": "audit", "instances": 3, "service": 0.1},
        ],
    )
    rep = replication(sc)
    rep.run()
    topic = rep.topics["events"]
    assert set(topic.records()) == {"events/c", "events/audit"}
    a, b = topic.group("c"), topic.group("audit")
    ca, cb = a.record.counts.whole_run(), b.record.counts.whole_run()
    assert ca["arrived"] == cb["arrived"] == sum(a.p_arrived) == sum(b.p_arrived) > 3000
    assert a.p_arrived == b.p_arrived
    for g, c in ((a, ca), (b, cb)):
        assert c["completed"] + rep.held(g.name) == c["accepted"] == c["arrived"]
        assert_conserved(rep, g)


@pytest.mark.parametrize(
    "consumer",
    [
        # one member, concurrency 3 over 5 partitions, flaky processing retried in place
        {
            "instances": 1,
            "concurrency": 3,
            "fail_probability": 0.2,
            "retry": {"max_retries": 2, "backoff": "fixed", "delay": 0.3},
        },
        # three members, a rebalance pause, a member failing and coming back twice
        {"instances": 3, "concurrency": 2, "rebalance": 1.0, "fail_probability": 0.05},
    ],
)
def test_partition_order_is_preserved(consumer: dict[str, Any]) -> None:
    """Messages of one partition complete in arrival order, each exactly once."""
    sc = scenario(
        rate=25.0,
        partitions=5,
        keys={"dist": "uniform", "n": 100},
        duration=300.0,
        warmup=0.0,
        consumers=[{"name": "c", "topic": "events", "service": 0.05, **consumer}],
    )
    rep = replication(sc)
    group = group_of(rep)
    done: dict[int, list[float]] = defaultdict(list)
    rep.pools["c"].finish = lambda msg, now: done[msg.key % 5].append(msg.born)
    for t0 in (50.0, 150.0):
        at(rep, t0, group.members[-1].fail)
        at(rep, t0 + 20.0, group.members[-1].recover)
    rep.run()
    c = group.record.counts.whole_run()
    assert sum(len(v) for v in done.values()) == c["completed"] > 5000
    for seq in done.values():
        assert all(a < b for a, b in pairwise(seq))
    assert c["retried"] > 0
    assert c["redelivered"] == c["duplicated"] > 0
    assert_conserved(rep, group)


def test_rebalance_pauses_group_and_redelivers() -> None:
    """A member failure stops the group for `rebalance`, redelivers, then reassigns."""
    sc = scenario(
        rate=12.0,
        partitions=4,
        keys={"dist": "uniform", "n": 400},
        duration=200.0,
        warmup=0.0,
        consumers=[
            {
                "name": "c",
                "topic": "events",
                "instances": 3,
                "concurrency": 2,
                "service": 0.1,
                "rebalance": 5.0,
            }
        ],
    )
    rep = replication(sc)
    g = group_of(rep)
    m0, m1, m2 = g.members
    seen: dict[str, Any] = {}

    def snapshot(tag: str) -> None:
        c = g.record.counts
        seen[tag] = (
            g.record.ready.value,
            g.record.busy.value,
            list(g.owner),
            g.paused,
            c.completed,
        )

    # Range assignment with 3 live members over 4 partitions: [0, 1], [2], [3].
    assert g.owner == [m0, m0, m1, m2]
    at(rep, 50.0, lambda: snapshot("before"))
    at(rep, 100.0, m0.fail)
    at(rep, 101.5, lambda: snapshot("paused-early"))
    at(rep, 104.9, lambda: snapshot("paused"))
    at(rep, 106.0, lambda: snapshot("after-fail"))
    at(rep, 150.0, lambda: g.member_recovered(m0))
    starts: list[float] = []
    orig = g._start

    def spy(m: Any, p: int, msg: Any, now: float) -> None:
        starts.append(now)
        orig(m, p, msg, now)

    g._start = spy  # type: ignore[method-assign]
    at(rep, 156.0, lambda: snapshot("after-recover"))
    rep.run()
    ready_before = seen["before"][0]
    ready, busy, _, paused, completed = seen["paused"]
    # In-flight work of the survivors finished early in the pause; nothing new started.
    assert paused and busy == 0 and completed == seen["paused-early"][4]
    assert ready > 45 > 10 > ready_before  # about 12/s * 4.9 s piled up
    assert not [t for t in starts if 100.0 <= t < 105.0 or 150.0 <= t < 155.0]
    assert 105.0 in starts and 155.0 in starts  # resumed right after each pause
    assert seen["after-fail"][2] == [m1, m1, m2, m2] and not seen["after-fail"][3]
    assert seen["after-recover"][2] == [m0, m0, m1, m2]
    c = g.record.counts.whole_run()
    assert 1 <= c["redelivered"] == c["duplicated"] <= 2  # m0's in-flight, concurrency 2
    assert g.rebalances == 2
    assert g.record.ready.max >= ready
    assert_conserved(rep, g)


def test_members_beyond_partitions_idle() -> None:
    """With more members than partitions the extra members get nothing to do."""
    sc = scenario(
        rate=10.0,
        partitions=2,
        duration=100.0,
        warmup=0.0,
        consumers=[{"name": "c", "topic": "events", "instances": 4, "service": 0.05}],
    )
    rep = replication(sc)
    g = group_of(rep)
    busy_seen = [0] * 4
    orig = g._start

    def spy(m: Any, p: int, msg: Any, now: float) -> None:
        busy_seen[m.index] += 1
        orig(m, p, msg, now)

    g._start = spy  # type: ignore[method-assign]
    rep.run()
    assert busy_seen[2] == busy_seen[3] == 0 < min(busy_seen[:2])
    assert g.record.servers == 2


def test_retention_expires_unconsumed_messages() -> None:
    """Messages older than retention are never started; they are counted expired."""
    sc = scenario(
        rate=10.0,
        retention=1.0,
        duration=200.0,
        warmup=0.0,
        consumers=[{"name": "c", "topic": "events", "service": 0.2}],  # rho = 2
    )
    rep = replication(sc)
    rep.run()
    g = group_of(rep)
    c = g.record.counts.whole_run()
    assert c["expired"] > 500
    assert g.record.wait.max <= 1.0
    assert_conserved(rep, g)


def test_retention_sweep_clears_stalled_group() -> None:
    """With every member down, the periodic sweep still deletes expired messages."""
    sc = scenario(
        rate=10.0,
        retention=2.0,
        duration=100.0,
        warmup=0.0,
        consumers=[{"name": "c", "topic": "events", "service": 0.05}],
    )
    rep = replication(sc)
    g = group_of(rep)
    at(rep, 10.0, g.members[0].fail)
    rep.run()
    c = g.record.counts.whole_run()
    every = rep.topics["events"]._sweep_every
    # Only messages younger than retention + one sweep period can be left.
    assert rep.held(g.name) <= 10.0 * (2.0 + every) * 1.5
    assert c["expired"] > 700
    assert_conserved(rep, g)


def test_failed_for_good_after_retries_in_place() -> None:
    """Always-failing processing: each message is tried 1 + max_retries times, then dropped."""
    sc = scenario(
        rate=5.0,
        duration=100.0,
        warmup=0.0,
        consumers=[
            {
                "name": "c",
                "topic": "events",
                "service": 0.01,
                "fail_probability": 1.0,
                "retry": {"max_retries": 2, "backoff": "fixed", "delay": 0.02},
            }
        ],
    )
    rep = replication(sc)
    rep.run()
    g = group_of(rep)
    c = g.record.counts.whole_run()
    assert c["completed"] == 0
    # Each finished message was retried max_retries times; the held one attempts times.
    held_attempts = sum(m.attempts for m in g.active if m is not None)
    assert c["retried"] == 2 * c["failed_final"] + held_attempts
    assert c["failed_final"] > 400
    assert_conserved(rep, g)


def test_summary_has_partition_rows() -> None:
    """run() reports per-partition rows named <topic>/<group>/p<k> and group rebalances."""
    sc = scenario(
        rate=5.0,
        partitions=3,
        duration=50.0,
        warmup=5.0,
        replications=2,
        consumers=[{"name": "c", "topic": "events", "group": "g1", "service": 0.05}],
    )
    r = run(sc)
    names = set(r.summary[r.summary.scope == "partition"].name)
    assert names == {"events/g1/p0", "events/g1/p1", "events/g1/p2"}
    assert "rebalances" in r.queue("events/g1")


@settings(max_examples=15, deadline=None)
@given(
    partitions=st.integers(1, 6),
    instances=st.integers(1, 4),
    concurrency=st.integers(1, 3),
    fail_probability=st.sampled_from([0.0, 0.1, 0.5]),
    rebalance=st.sampled_from([0.0, 0.5, 3.0]),
    retention=st.sampled_from([None, 0.5, 5.0]),
    outages=st.lists(
        st.tuples(st.floats(0.0, 40.0), st.floats(0.1, 10.0), st.integers(0, 3)), max_size=4
    ),
    seed=st.integers(0, 2**31),
)
def test_conservation_and_order_hold_under_any_mix(
    partitions: int,
    instances: int,
    concurrency: int,
    fail_probability: float,
    rebalance: float,
    retention: float | None,
    outages: list[tuple[float, float, int]],
    seed: int,
) -> None:
    """Whatever the failures, retries and retention: nothing is created or lost, and
    every partition completes in arrival order, each message at most once."""
    sc = scenario(
        rate=30.0,
        partitions=partitions,
        retention=retention,
        keys={"dist": "zipf", "n": 20, "s": 1.1},
        duration=50.0,
        warmup=0.0,
        seed=seed,
        consumers=[
            {
                "name": "c",
                "topic": "events",
                "instances": instances,
                "concurrency": concurrency,
                "service": 0.08,
                "fail_probability": fail_probability,
                "rebalance": rebalance,
                "retry": {"max_retries": 2, "backoff": "fixed", "delay": 0.1},
            }
        ],
    )
    rep = replication(sc)
    g = group_of(rep)
    done: dict[int, list[float]] = defaultdict(list)
    rep.pools["c"].finish = lambda msg, now: done[msg.key % partitions].append(msg.born)
    for start, length, k in outages:
        m = g.members[k % instances]
        at(rep, start, m.fail)
        at(rep, start + length, m.recover)
    rep.run()
    assert_conserved(rep, g)
    c = g.record.counts.whole_run()
    assert sum(len(v) for v in done.values()) == c["completed"]
    for seq in done.values():
        assert all(a < b for a, b in pairwise(seq))
    if retention is not None:
        assert g.record.wait.max <= retention
    assert g.record.busy.value == sum(
        a is not None and not b for a, b in zip(g.active, g.backoff, strict=True)
    )
    assert g.record.ready.value == sum(len(log) for log in g.logs)


def test_batch_consumers_on_topics_are_refused() -> None:
    """A batch consumer on a topic is refused by the schema rather than run with wrong timing."""
    batch = {"max_size": 10, "max_wait": 0.05, "per_message": 0.01}
    with pytest.raises(ValueError, match=r"batch consumption is modelled for queues only"):
        scenario(rate=5.0, consumers=[{"name": "b", "topic": "events", "batch": batch}])
