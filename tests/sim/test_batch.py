"""Batch consumption (qsim.sim.batch): batch forming, timing, capacity, failures, invariants."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from qsim.sim.batch import BatchInstance
from qsim.sim.engine import Replication
from tests.sim.simcheck import assert_conserved, assert_covers, counts, replicate, scenario, values


def _batch_scenario(
    batch: dict[str, Any],
    *,
    rate: float,
    arrival: str = "poisson",
    instances: int = 1,
    concurrency: int = 1,
    prefetch: Any = 100,
    duration: float = 100.0,
    warmup: float = 0.0,
    **consumer: Any,
) -> Any:
    return scenario(
        [{"name": "p", "to": "q", "rate": rate, "arrival": arrival}],
        [{"name": "q"}, {"name": "dlq"}],
        [
            {
                "name": "c",
                "queue": "q",
                "instances": instances,
                "concurrency": concurrency,
                "prefetch": prefetch,
                "batch": batch,
                **consumer,
            }
        ],
        duration=duration,
        warmup=warmup,
    )


def _waits(rep: Replication) -> np.ndarray:
    return rep.queues["q"].record.wait.values()


def test_size_triggered_batches_are_exactly_timed() -> None:
    """Evenly spaced arrivals, batches that fill before max_wait: every batch holds
    max_size messages, starts at its last arrival and lasts fixed + n * per_message."""
    # 10 msg/s, batches of 5 fill in 0.4 s; a batch takes 0.1 + 5 * 0.02 = 0.2 s < 0.5 s.
    sc = _batch_scenario(
        {"max_size": 5, "max_wait": 10.0, "fixed": 0.1, "per_message": 0.02},
        rate=10.0,
        arrival="deterministic",
    )
    rep = replicate(sc, 1, seed=21)[0]
    w = _waits(rep)
    assert w.size % 5 == 0 and w.size >= 990
    np.testing.assert_allclose(w, np.tile([0.4, 0.3, 0.2, 0.1, 0.0], w.size // 5), atol=1e-9)
    resp = rep.queues["q"].record.response.values()
    np.testing.assert_allclose(resp, w[: resp.size] + 0.2, atol=1e-9)
    # One slot busy 0.2 s of every 0.5 s.
    assert values([rep], "q", "utilization")[0] == pytest.approx(0.4, abs=2e-3)
    assert_conserved(rep)


def test_time_triggered_batches_are_exactly_timed() -> None:
    """Batches that cannot fill start max_wait after the window opened (the first
    message reaching a free slot), with what arrived meanwhile."""
    # Window of 0.25 s catches the arrivals at +0, +0.1, +0.2; the batch takes
    # 0.01 + 3 * 0.01 = 0.04 s, so the slot is free again before the next arrival.
    sc = _batch_scenario(
        {"max_size": 100, "max_wait": 0.25, "fixed": 0.01, "per_message": 0.01},
        rate=10.0,
        arrival="deterministic",
    )
    rep = replicate(sc, 1, seed=22)[0]
    w = _waits(rep)
    assert w.size % 3 == 0 and w.size >= 990
    np.testing.assert_allclose(w, np.tile([0.25, 0.15, 0.05], w.size // 3), atol=1e-9)
    resp = rep.queues["q"].record.response.values()
    np.testing.assert_allclose(resp, w[: resp.size] + 0.04, atol=1e-9)
    assert_conserved(rep)


def test_window_opens_when_a_slot_frees_for_waiting_messages() -> None:
    """Messages that arrived while the only slot was busy get their window when it frees."""
    # Arrivals every 0.1 s from phase f; max_wait 0.273 s; a batch takes 0.3 s whatever
    # its size. Batch 1 starts at f + 0.273 with the arrivals f, f + 0.1, f + 0.2 and ends
    # at f + 0.573; messages are waiting then, so the next window opens at once and the
    # next batch starts 0.273 s later: every 0.573 s, with the 5 or 6 arrivals since.
    sc = _batch_scenario(
        {"max_size": 100, "max_wait": 0.273, "fixed": 0.3, "per_message": 0.0},
        rate=10.0,
        arrival="deterministic",
        duration=20.0,
    )
    starts: list[tuple[float, int]] = []

    class Spy(BatchInstance):
        __slots__ = ()

        def _start_batch(self, queue: Any) -> None:
            starts.append((self.env.now, min(len(self.buffer), self._max_size)))
            super()._start_batch(queue)

    def hook(rep: Replication) -> None:
        rep.pools["c"].instances[0].__class__ = Spy  # same slots: a spying subclass

    replicate(sc, 1, seed=23, before=hook)
    t = np.array([s for s, _ in starts])
    assert t.size >= 30
    np.testing.assert_allclose(np.diff(t), 0.573, atol=1e-9)
    assert starts[0][1] == 3 and all(n in (5, 6) for _, n in starts[1:])


def test_capacity_of_batching_in_overload() -> None:
    """Overloaded, every batch is full: throughput = slots * n / (fixed + n * per_message)."""
    batch = {"max_size": 10, "max_wait": 1.0, "fixed": 0.05, "per_message": 0.005}
    cap = 10 / (0.05 + 10 * 0.005)  # 100 messages/s per slot
    for instances, concurrency, rate in ((1, 1, 200.0), (2, 2, 800.0)):
        slots = instances * concurrency
        sc = _batch_scenario(
            batch,
            rate=rate,
            instances=instances,
            concurrency=concurrency,
            prefetch="unlimited",
            duration=30.0,
            warmup=5.0,
        )
        thr = values(replicate(sc, 2, seed=24), "q", "throughput")
        # Full batches end on a 0.1 s grid per slot: the 25 s window holds 250 +- 1 of them.
        np.testing.assert_allclose(thr, slots * cap, atol=slots * 10 / 25 + 1e-9)


def test_prefetch_below_max_size_caps_batches() -> None:
    """With prefetch < max_size a batch never fills: each waits the whole max_wait and
    holds at most prefetch messages (documented behaviour, as in real batch listeners)."""
    sc = _batch_scenario(
        {"max_size": 10, "max_wait": 0.1, "fixed": 0.05, "per_message": 0.005},
        rate=150.0,
        prefetch=3,
        duration=30.0,
    )
    rep = replicate(sc, 1, seed=25)[0]
    cap = 3 / (0.1 + 0.05 + 3 * 0.005)
    thr = values([rep], "q", "throughput")[0]
    assert cap * (1 - 0.2 / 30) <= thr <= cap + 1e-9
    assert_conserved(rep)


def test_max_wait_bounds_the_wait_when_a_slot_is_free() -> None:
    """With a free slot always at hand no message waits longer than max_wait, and the
    batches that did not fill waited exactly max_wait for their first message."""
    sc = _batch_scenario(
        {"max_size": 8, "max_wait": 0.3, "fixed": 0.1, "per_message": 0.01},
        rate=20.0,
        concurrency=50,
        prefetch="unlimited",
        duration=60.0,
    )
    for rep in replicate(sc, 2, seed=26):
        w = _waits(rep)
        assert w.max() <= 0.3 + 1e-12
        assert np.isclose(w, 0.3, atol=1e-12).sum() > 10
        assert_conserved(rep)


def test_zero_max_wait_takes_what_is_there() -> None:
    """max_wait 0: a free slot starts at once with whatever is buffered."""
    sc = _batch_scenario(
        {"max_size": 5, "max_wait": 0.0, "fixed": 0.02, "per_message": 0.01},
        rate=10.0,
        arrival="deterministic",
        duration=50.0,
    )
    rep = replicate(sc, 1, seed=27)[0]
    np.testing.assert_allclose(_waits(rep), 0.0, atol=1e-12)
    assert_conserved(rep)


def test_failure_is_per_batch_and_each_message_retries() -> None:
    """One coin per batch; a failed batch sends each of its messages to retry, so with
    p = 0.25 each message still needs a geometric number of attempts:
    retried / accepted -> p + p^2 + ... + p^m and failed_final / accepted -> p^(m+1)."""
    p, m = 0.25, 2
    sc = _batch_scenario(
        {"max_size": 4, "max_wait": 0.05, "fixed": 0.02, "per_message": 0.005},
        rate=40.0,
        prefetch=8,
        duration=200.0,
        fail_probability=p,
        retry={"max_retries": m, "backoff": "fixed", "delay": 0.05, "dead_letter": "dlq"},
    )
    reps = replicate(sc, 8, seed=28)
    acc = np.array([counts(r, "q")["accepted"] for r in reps], dtype=float)
    retried = np.array([counts(r, "q")["retried"] for r in reps]) / acc
    final = np.array([counts(r, "q")["failed_final"] for r in reps]) / acc
    assert_covers(retried, p + p**2, "retries per message")
    assert_covers(final, p ** (m + 1), "final failures per message")
    for rep in reps:
        c, dl = counts(rep, "q"), counts(rep, "dlq")
        assert c["dead_lettered"] == c["failed_final"] == dl["accepted"]
        assert_conserved(rep)


def test_instance_failure_requeues_whole_batches() -> None:
    """A failing batch instance returns its in-service batches and its buffer to the
    queue (counted redelivered / duplicated); every count and level stays consistent."""
    sc = _batch_scenario(
        {"max_size": 6, "max_wait": 0.1, "fixed": 0.2, "per_message": 0.02},
        rate=40.0,
        instances=2,
        concurrency=2,
        prefetch=12,
        duration=30.0,
    )
    seen: dict[str, int] = {}

    def hook(rep: Replication) -> None:
        inst = rep.pools["c"].instances[0]
        rec = rep.queues["q"].record

        def outage() -> Any:
            yield rep.env.timeout(10.05)
            seen["inflight"] = len(inst.inflight)
            inst.fail()
            assert rec.batch_extra.value == sum(
                len(i.inflight) - i.busy for i in rep.pools["c"].instances
            )
            yield rep.env.timeout(5.0)
            inst.recover()

        rep.env.process(outage())

    rep = replicate(sc, 1, seed=29, before=hook)[0]
    c = counts(rep, "q")
    assert seen["inflight"] > 1 and c["duplicated"] >= seen["inflight"]
    assert c["redelivered"] >= c["duplicated"]
    rec = rep.queues["q"].record
    assert rec.batch_extra.value == sum(len(i.inflight) - i.busy for i in rep.pools["c"].instances)
    assert_conserved(rep)


def test_littles_law_counts_every_message_of_a_batch() -> None:
    """in_system_mean counts messages (not slots) in service: L = lambda W holds."""
    sc = _batch_scenario(
        {"max_size": 8, "max_wait": 0.2, "fixed": 0.1, "per_message": 0.01},
        rate=30.0,
        instances=2,
        prefetch=16,
        duration=200.0,
    )
    rep = replicate(sc, 1, seed=30)[0]
    L = values([rep], "q", "in_system_mean")[0]
    lam_w = values([rep], "q", "throughput")[0] * values([rep], "q", "response_mean")[0]
    assert L == pytest.approx(lam_w, rel=0.02)
