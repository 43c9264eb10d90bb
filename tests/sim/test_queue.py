"""The simulated queue: capacity and overflow, priority order, TTL, dead letters, invariants.

Theory values come from tests/reference/ref_sim_theory.py (naive mpmath formulas) and,
for M/M/c/K, also from qsim.analytic.mmck (itself checked against a CTMC elsewhere).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qsim.analytic.mmck import mmck
from qsim.sim.engine import Replication
from tests.reference.ref_sim_theory import cobham_waits, mm1_deadline_loss, mmck_block
from tests.sim.simcheck import (
    assert_below,
    assert_conserved,
    assert_covers,
    counts,
    replicate,
    scenario,
    values,
)

# M/M/2/5 at offered load 1: lambda 20/s, two consumers of mean 100 ms.
LAM, MEAN, C, K = 20.0, 0.1, 2, 5


def _mmck_scenario(overflow: str, dead_letter: bool) -> Any:
    queue: dict[str, Any] = {"name": "q", "capacity": K, "overflow": overflow}
    queues = [queue]
    if dead_letter:
        queue["dead_letter"] = "dlq"
        queues.append({"name": "dlq"})
    return scenario(
        [{"name": "p", "to": "q", "rate": LAM}],
        queues,
        [{"name": "c", "queue": "q", "instances": C, "service": MEAN}],
        duration=220.0,
        warmup=20.0,
    )


def test_reject_blocking_probability_is_mmck() -> None:
    """overflow: reject turns the queue into M/M/c/K: loss rate = P(arrival finds K)."""
    reps = replicate(_mmck_scenario("reject", False), 8, seed=11)
    theory = float(mmck(arrival_rate=LAM, service_mean=MEAN, servers=C, capacity=K).p_block)
    assert theory == pytest.approx(mmck_block(LAM, 1 / MEAN, C, K), rel=1e-10)
    assert_covers(values(reps, "q", "loss_rate"), theory, "p_block")
    for rep in reps:
        c = counts(rep, "q")
        assert c["dropped"] == c["dead_lettered"] == 0 and c["rejected"] > 0
        assert_conserved(rep)


def test_drop_head_loses_like_mmck_and_dead_letters_the_oldest() -> None:
    """drop-head keeps the M/M/c/K occupancy (it only swaps which message is lost), so the
    drop fraction is the blocking probability; every dropped message is dead-lettered."""
    reps = replicate(_mmck_scenario("drop-head", True), 8, seed=12)
    drop = np.array([(c := counts(rep, "q"))["dropped"] / c["arrived"] for rep in reps])
    assert_covers(drop, mmck_block(LAM, 1 / MEAN, C, K), "drop fraction")
    for rep in reps:
        c, dl = counts(rep, "q"), counts(rep, "dlq")
        assert c["rejected"] == 0 and c["dropped"] > 0
        assert c["dead_lettered"] == c["dropped"] == dl["arrived"] == dl["accepted"]
        assert_conserved(rep)


def test_drop_head_without_dead_letter_discards() -> None:
    """Without a dead_letter queue, drop-head drops are counted and discarded."""
    rep = replicate(_mmck_scenario("drop-head", False), 1, seed=13)[0]
    c = counts(rep, "q")
    assert c["dropped"] > 0 and c["dead_lettered"] == 0
    assert_conserved(rep)


def test_drop_head_drops_the_oldest_ready_message() -> None:
    """With no consumer, a full drop-head queue keeps the newest K messages in order."""
    sc = scenario(
        [{"name": "p", "to": "q", "rate": 10.0, "arrival": "deterministic"}],
        [
            {"name": "q", "capacity": 3, "overflow": "drop-head", "dead_letter": "dlq"},
            {"name": "dlq"},
        ],
        [],
        duration=2.0,
    )
    rep = replicate(sc, 1)[0]
    kept = [m.born for m in rep.queues["q"]._fifo]
    dead = [m.born for m in rep.queues["dlq"]._fifo]
    assert len(kept) == 3 and len(dead) == 17
    assert dead + kept == sorted(dead + kept)  # the oldest went first, in order
    assert counts(rep, "q")["dropped"] == 17
    assert_conserved(rep)


def test_block_delays_the_producer_and_loses_nothing() -> None:
    """overflow: block holds the producer (delay recorded) and never loses a message."""
    sc = scenario(
        [{"name": "p", "to": "q", "rate": 8.0}],
        [{"name": "q", "capacity": 3, "overflow": "block"}],
        [{"name": "c", "queue": "q", "service": 0.1}],
        duration=150.0,
        warmup=10.0,
    )
    reps = replicate(sc, 8, seed=14)
    for rep in reps:
        c = counts(rep, "q")
        assert c["blocked"] > 0
        assert c["rejected"] == c["dropped"] == c["expired"] == c["lost"] == 0
        assert c["accepted"] == c["completed"] + rep.held("q")
        assert rep.queues["q"].record.ready.max <= 3
        assert_conserved(rep)
    delay = values(reps, "p", "publish_delay_mean", scope="producer")
    assert np.all(delay > 0)
    # A patient producer publishes late but publishes everything: throughput = lambda.
    assert_covers(values(reps, "q", "throughput"), 8.0, "throughput")


def _capture(rep: Replication, consumer: str, out: list[tuple[float, float, float]]) -> None:
    """Record (priority, born, completion time) of every message the consumer finishes."""

    def finish(msg: Any, now: float) -> None:
        out.append((msg.priority, msg.born, now))

    rep.pools[consumer].finish = finish


def test_priority_exact_service_order() -> None:
    """A priority queue serves the highest priority first, FIFO within a priority."""
    S = 0.237  # no completion coincides with an arrival (every 0.1 s)
    sc = scenario(
        [
            {
                "name": "p",
                "to": "q",
                "rate": 10.0,
                "arrival": "deterministic",
                "priority": {0: 1, 1: 1, 5: 1},
            }
        ],
        [{"name": "q", "ordering": "priority"}],
        [{"name": "c", "queue": "q", "service": {"dist": "deterministic", "value": S}}],
        duration=4.0,
    )
    done: list[tuple[float, float, float]] = []
    offered: list[tuple[float, float]] = []

    def hook(rep: Replication) -> None:
        _capture(rep, "c", done)
        q = rep.queues["q"]
        offer = q.offer

        def spy(msg: Any) -> Any:
            offered.append((msg.born, msg.priority))
            return offer(msg)

        q.offer = spy  # type: ignore[method-assign]

    replicate(sc, 1, seed=15, before=hook)
    # Naive reference: one server, service S, pick max priority then earliest.
    expect, t, waiting, i = [], 0.0, [], 0
    while len(expect) < len(done):
        while i < len(offered) and offered[i][0] <= t + 1e-12:
            waiting.append(offered[i])
            i += 1
        if not waiting:
            t = offered[i][0]
            continue
        nxt = min(waiting, key=lambda m: (-m[1], m[0]))
        waiting.remove(nxt)
        expect.append(nxt[0])
        t += S
    assert len(done) >= 15
    assert [b for _, b, _ in done] == expect


def test_priority_waits_follow_cobham() -> None:
    """Two priority classes on M/M/1: mean responses per class = Cobham's W_k + 1/mu."""
    lam, mu, warm = 8.0, 10.0, 20.0
    sc = scenario(
        [{"name": "p", "to": "q", "rate": lam, "priority": {0: 1, 9: 1}}],
        [{"name": "q", "ordering": "priority"}],
        [{"name": "c", "queue": "q", "service": 1 / mu}],
        duration=620.0,
        warmup=warm,
    )
    per_rep: list[list[tuple[float, float, float]]] = []

    def hook(rep: Replication) -> None:
        per_rep.append([])
        _capture(rep, "c", per_rep[-1])

    replicate(sc, 10, seed=16, before=hook)
    w_high, w_low = cobham_waits([lam / 2, lam / 2], mu)
    resp: dict[float, list[float]] = {9: [], 0: []}
    for done in per_rep:
        for prio in resp:
            r = [now - born for p, born, now in done if p == prio and born >= warm]
            resp[prio].append(float(np.mean(r)))
    high, low = np.array(resp[9]), np.array(resp[0])
    assert_covers(high, w_high + 1 / mu, "high-priority response")
    assert_covers(low, w_low + 1 / mu, "low-priority response")
    assert_below(high, low, "high priority waits less")


def test_ttl_expiry_matches_mm1_with_deadline_and_dead_letters() -> None:
    """TTL checked at the head of a FIFO M/M/1 = constant patience: the expired fraction
    is Barrer's M/M/1+D loss; no served message waited longer than the TTL; every
    expired message reaches the dead-letter queue."""
    lam, mu, ttl = 9.0, 10.0, 0.5
    sc = scenario(
        [{"name": "p", "to": "q", "rate": lam}],
        [{"name": "q", "ttl": ttl, "dead_letter": "dlq"}, {"name": "dlq"}],
        [{"name": "c", "queue": "q", "service": 1 / mu}],
        duration=320.0,
        warmup=20.0,
    )
    reps = replicate(sc, 8, seed=18)
    expired = values(reps, "q", "expired") / values(reps, "q", "arrived")
    assert_covers(expired, mm1_deadline_loss(lam, mu, ttl), "expired fraction")
    assert np.all(values(reps, "q", "wait_max") <= ttl)
    for rep in reps:
        c, dl = counts(rep, "q"), counts(rep, "dlq")
        assert c["expired"] == c["dead_lettered"] == dl["accepted"] > 0
        assert_conserved(rep)


# ---- invariants on random small scenarios -----------------------------------------------

_DIST = st.floats(0.01, 0.1)


@st.composite
def _scenarios(draw: st.DrawFn) -> Any:
    """A small random scenario exercising most queue and consumer features."""
    instances = draw(st.integers(1, 3))
    queue: dict[str, Any] = {"name": "q", "ordering": draw(st.sampled_from(["fifo", "priority"]))}
    if draw(st.booleans()):
        queue["capacity"] = draw(st.integers(2, 15))
        queue["overflow"] = draw(st.sampled_from(["reject", "drop-head", "block"]))
    if draw(st.booleans()):
        queue["ttl"] = draw(st.floats(0.05, 1.0))
    queues = [queue, {"name": "dlq"}]
    if draw(st.booleans()):
        queue["dead_letter"] = "dlq"
    con: dict[str, Any] = {
        "name": "c",
        "queue": "q",
        "instances": instances,
        "concurrency": draw(st.integers(1, 3)),
        "prefetch": draw(st.one_of(st.integers(1, 6), st.just("unlimited"))),
        "balancer": draw(
            st.sampled_from(
                ["round-robin", "random", "least-loaded", "power-of-two", "key-hash", "weighted"]
            )
        ),
    }
    if con["balancer"] == "weighted":
        con["weights"] = list(range(1, instances + 1))
    if draw(st.booleans()):
        con["batch"] = {
            "max_size": draw(st.integers(1, 5)),
            "max_wait": draw(_DIST),
            "fixed": draw(_DIST),
            "per_message": draw(st.floats(0.0, 0.02)),
        }
    else:
        con["service"] = {"mean": draw(_DIST)}
    if draw(st.booleans()):
        con["fail_probability"] = draw(st.floats(0.05, 0.6))
        con["retry"] = {
            "max_retries": draw(st.integers(0, 3)),
            "backoff": draw(st.sampled_from(["fixed", "exponential"])),
            "delay": draw(st.floats(0.0, 0.5)),
            "jitter": draw(st.sampled_from(["none", "full", "equal"])),
        }
        if draw(st.booleans()):
            con["retry"]["dead_letter"] = "dlq"
    prod: dict[str, Any] = {
        "name": "p",
        "to": "q",
        "rate": draw(st.floats(5.0, 80.0)),
        "arrival": draw(st.sampled_from(["poisson", "deterministic"])),
        "keys": {"dist": "zipf", "n": 10, "s": 1.0},
    }
    if draw(st.booleans()):
        prod["priority"] = {0: 1, 3: 1, 7: 2}
    sc = scenario(
        [prod],
        queues,
        [con],
        duration=draw(st.floats(5.0, 20.0)),
        warmup=1.0,
        seed=draw(st.integers(0, 2**16)),
    )
    # Instance outages (index, start, length), driven by hand: fail() and recover().
    outages = draw(
        st.lists(
            st.tuples(st.integers(0, instances - 1), st.floats(0.0, 15.0), st.floats(0.01, 3.0)),
            max_size=3,
        )
    )
    return sc, outages


def _outages(rep: Replication, outages: list[tuple[int, float, float]]) -> None:
    for index, start, length in outages:

        def outage(
            inst: Any = rep.pools["c"].instances[index],
            start: float = start,
            length: float = length,
        ) -> Any:
            yield rep.env.timeout(start)
            inst.fail()
            yield rep.env.timeout(length)
            inst.recover()

        rep.env.process(outage())


@settings(
    max_examples=int(os.environ.get("QSIM_EXAMPLES", 12)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(_scenarios())
def test_conservation_on_random_scenarios(case: Any) -> None:
    """accepted == completed + dropped + expired + lost + failed_final + held + retry
    pending, per queue, whatever the features (instance failures included); the levels
    equal the live counts."""
    sc, outages = case
    rep = replicate(sc, 1, seed=sc.seed, before=lambda rep: _outages(rep, outages))[0]
    assert_conserved(rep)
    assert counts(rep, "dlq")["arrived"] == counts(rep, "q")["dead_lettered"]


# Little's law per queue (in_system_mean = throughput * response_mean, edge effects of
# order W / duration): scenarios whose messages all leave by completion or rejection.
LITTLE = [
    # two instances, prefetch 3, round robin, concurrency 2
    ({"name": "q"}, {"instances": 2, "concurrency": 2, "prefetch": 3, "service": 0.15}, 20.0),
    # priority ordering, capacity with reject, random balancer
    (
        {"name": "q", "ordering": "priority", "capacity": 6},
        {
            "instances": 3,
            "balancer": "random",
            "prefetch": "unlimited",
            "service": {"dist": "lognormal", "mean": 0.1, "scv": 2.0},
        },
        25.0,
    ),
    # blocking producer, least-loaded
    (
        {"name": "q", "capacity": 4, "overflow": "block"},
        {"instances": 2, "balancer": "least-loaded", "prefetch": 2, "service": 0.08},
        20.0,
    ),
    # batch consumer: messages in service beyond one per batch count too
    (
        {"name": "q"},
        {
            "instances": 2,
            "prefetch": 8,
            "batch": {"max_size": 4, "max_wait": 0.05, "fixed": 0.05, "per_message": 0.01},
        },
        40.0,
    ),
]


@pytest.mark.parametrize(("queue", "consumer", "rate"), LITTLE)
def test_littles_law_per_queue(
    queue: dict[str, Any], consumer: dict[str, Any], rate: float
) -> None:
    """L = lambda W per queue, within the edge effect of a finite window."""
    sc = scenario(
        [{"name": "p", "to": "q", "rate": rate, "priority": {0: 1, 5: 1}}],
        [queue],
        [{"name": "c", "queue": "q", **consumer}],
        duration=160.0,
        warmup=10.0,
    )
    rep = replicate(sc, 1, seed=18)[0]
    L = values([rep], "q", "in_system_mean")[0]
    lam_w = values([rep], "q", "throughput")[0] * values([rep], "q", "response_mean")[0]
    assert L == pytest.approx(lam_w, rel=0.02)
    assert_conserved(rep)
