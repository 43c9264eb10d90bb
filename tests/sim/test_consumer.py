"""Consumer instances: concurrency slots, prefetch credit, local buffers, failure requeue.

Theory values come from tests/reference/ref_sim_theory.py (naive mpmath formulas).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qsim.sim.engine import Replication
from tests.reference.ref_sim_theory import erlang_c_wait, erlang_k_gm1_wait
from tests.sim.simcheck import (
    assert_below,
    assert_conserved,
    assert_covers,
    counts,
    replicate,
    scenario,
    values,
)

# Three consumers of mean 100 ms at 80 % load.
LAM, MU, C = 24.0, 10.0, 3


def _pool(reps: int, seed: int, **consumer: Any) -> list[Replication]:
    sc = scenario(
        [{"name": "p", "to": "q", "rate": LAM}],
        [{"name": "q"}],
        [{"name": "c", "queue": "q", "service": 1 / MU, **consumer}],
        duration=420.0,
        warmup=20.0,
    )
    return replicate(sc, reps, seed=seed)


def test_prefetch_one_instances_share_the_queue_as_mmc() -> None:
    """prefetch 1, concurrency 1, c instances: one shared FIFO line, M/M/c (Erlang C)."""
    reps = _pool(10, 31, instances=C, prefetch=1)
    assert_covers(values(reps, "q", "wait_mean"), erlang_c_wait(LAM, MU, C), "M/M/3 wait")
    assert_covers(values(reps, "q", "utilization"), LAM / (C * MU), "utilization")
    for rep in reps:
        assert_conserved(rep)


def test_concurrency_slots_of_one_instance_are_servers() -> None:
    """One instance with concurrency c and prefetch c is M/M/c as well."""
    reps = _pool(10, 32, instances=1, concurrency=C, prefetch=C)
    assert_covers(values(reps, "q", "wait_mean"), erlang_c_wait(LAM, MU, C), "M/M/3 wait")


def test_unlimited_prefetch_round_robin_is_erlang_k_per_instance() -> None:
    """prefetch unlimited + round robin: instance i gets every c-th message, so each is an
    E_c/M/1 queue (its wait includes the time buffered at the instance), which waits
    longer than the shared M/M/c line; the broker queue itself stays empty."""
    reps = _pool(10, 33, instances=C, prefetch="unlimited")
    wait = values(reps, "q", "wait_mean")
    assert_covers(wait, erlang_k_gm1_wait(LAM, MU, C), "E3/M/1 wait")
    shared = values(_pool(10, 34, instances=C, prefetch=1), "q", "wait_mean")
    assert_below(shared, wait, "shared queue waits less")
    assert np.all(values(reps, "q", "queue_length_max") == 0)
    assert np.all(values(reps, "q", "in_system_mean") > 0)
    for rep in reps:
        assert_conserved(rep)


def test_prefetch_limits_unacked_per_instance() -> None:
    """No instance ever holds more than prefetch unacked messages."""
    sc = scenario(
        [{"name": "p", "to": "q", "rate": 40.0}],
        [{"name": "q"}],
        [
            {
                "name": "c",
                "queue": "q",
                "instances": 2,
                "concurrency": 2,
                "prefetch": 3,
                "service": 0.1,
            }
        ],
        duration=30.0,
    )
    peak = [0]

    def hook(rep: Replication) -> None:
        q = rep.queues["q"]
        deliver = q._deliver

        def spy(inst: Any, msg: Any, now: float) -> None:
            deliver(inst, msg, now)
            peak[0] = max(peak[0], inst.unacked)
            assert inst.unacked <= inst.prefetch and inst.busy <= inst.concurrency

        q._deliver = spy  # type: ignore[method-assign]

    rep = replicate(sc, 1, seed=35, before=hook)[0]
    assert peak[0] == 3  # overloaded: the limit is reached
    assert rep.queues["q"].record.buffered.max == 2  # 1 per instance beyond its 2 slots
    assert_conserved(rep)


def test_instance_failure_requeues_unacked_messages_at_the_head() -> None:
    """A failed instance's unacked messages go back to the head of the queue in their
    order; those in service count as duplicates; nothing is lost."""
    sc = scenario(
        [{"name": "p", "to": "q", "rate": 30.0}],
        [{"name": "q"}],
        [
            {
                "name": "c",
                "queue": "q",
                "instances": 2,
                "concurrency": 2,
                "prefetch": 4,
                "service": 0.1,
            }
        ],
        duration=40.0,
    )
    seen: dict[str, Any] = {}

    def hook(rep: Replication) -> None:
        inst = rep.pools["c"].instances[0]
        q = rep.queues["q"]

        def outage() -> Any:
            yield rep.env.timeout(10.0)
            back = [*inst.inflight, *inst.buffer]
            seen["n"], seen["busy"] = len(back), inst.busy
            inst.fail()
            # Those not taken at once by the other instance wait at the head, in order.
            ready = {id(m) for m in q._fifo}
            waiting = [m for m in back if id(m) in ready]
            seen["order"] = list(q._fifo)[: len(waiting)] == waiting
            yield rep.env.timeout(5.0)
            inst.recover()

        rep.env.process(outage())

    rep = replicate(sc, 1, seed=36, before=hook)[0]
    c = counts(rep, "q")
    assert seen["n"] > 0 and seen["order"]
    assert c["redelivered"] == seen["n"] and c["duplicated"] == seen["busy"]
    assert c["lost"] == 0
    assert_conserved(rep)
