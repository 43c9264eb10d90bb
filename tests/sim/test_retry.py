"""Retries after failed attempts: counts, backoff timing and jitter, dead-lettering."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from qsim.sim.engine import Replication
from tests.sim.simcheck import assert_conserved, assert_covers, counts, replicate, scenario

SERVICE = 0.1


def _failing(
    p: float,
    retry: dict[str, Any],
    *,
    rate: float = 10.0,
    duration: float = 100.0,
    queue_dead_letter: bool = False,
    concurrency: int = 1,
) -> Any:
    queue: dict[str, Any] = {"name": "q"}
    if queue_dead_letter:
        queue["dead_letter"] = "qdl"
    return scenario(
        [{"name": "p", "to": "q", "rate": rate}],
        [queue, {"name": "dlq"}, {"name": "qdl"}],
        [
            {
                "name": "c",
                "queue": "q",
                "concurrency": concurrency,
                "prefetch": "unlimited",
                "service": {"dist": "deterministic", "value": SERVICE},
                "fail_probability": p,
                "retry": retry,
            }
        ],
        duration=duration,
    )


def _ratios(reps: list[Replication], counter: str) -> np.ndarray:
    return np.array([counts(r, "q")[counter] / counts(r, "q")["accepted"] for r in reps])


@pytest.mark.parametrize(
    ("p", "m"),
    [
        (0.3, 12),  # effectively unbounded: retries per message -> p / (1 - p)
        (0.5, 2),  # three attempts at most: 1/8 of the messages fail for good
    ],
)
def test_retry_counts_are_geometric(p: float, m: int) -> None:
    """Each attempt fails with probability p: retries per message = p + ... + p^m and a
    fraction p^(m+1) fails finally (dead-lettered to the retry block's target)."""
    sc = _failing(
        p,
        {"max_retries": m, "backoff": "fixed", "delay": 0.2, "dead_letter": "dlq"},
        rate=20.0,
        concurrency=20,
    )
    reps = replicate(sc, 6, seed=51)
    assert_covers(_ratios(reps, "retried"), sum(p**k for k in range(1, m + 1)), "retried")
    if p ** (m + 1) > 1e-3:
        assert_covers(_ratios(reps, "failed_final"), p ** (m + 1), "failed_final")
    for rep in reps:
        c, dl = counts(rep, "q"), counts(rep, "dlq")
        assert c["dead_lettered"] == c["failed_final"] == dl["accepted"]
        assert_conserved(rep)


@pytest.mark.parametrize(
    ("retry_dl", "queue_dl", "target"),
    [
        (True, True, "dlq"),  # the retry block's own target wins
        (False, True, "qdl"),  # else the queue's dead_letter
        (False, False, None),  # else the message is dropped (counted failed_final)
    ],
)
def test_dead_letter_target_precedence(retry_dl: bool, queue_dl: bool, target: str | None) -> None:
    """After the last retry a message goes to retry.dead_letter, else the queue's."""
    retry: dict[str, Any] = {"max_retries": 1, "backoff": "fixed", "delay": 0.1}
    if retry_dl:
        retry["dead_letter"] = "dlq"
    rep = replicate(
        _failing(1.0, retry, duration=20.0, queue_dead_letter=queue_dl, concurrency=10), 1, seed=52
    )[0]
    c = counts(rep, "q")
    assert c["failed_final"] > 0 and c["completed"] == 0
    assert c["dead_lettered"] == (c["failed_final"] if target else 0)
    for name in ("dlq", "qdl"):
        assert counts(rep, name)["accepted"] == (c["failed_final"] if name == target else 0)
    assert_conserved(rep)


def _give_up_times(retry: dict[str, Any], seed: int, duration: float = 60.0) -> np.ndarray:
    """Time from publication to dead-lettering of every message (p = 1, no queueing)."""
    out: list[float] = []

    def hook(rep: Replication) -> None:
        dlq = rep.queues["dlq"]
        offer = dlq.offer

        def spy(msg: Any) -> Any:
            out.append(rep.env.now - msg.born)
            return offer(msg)

        dlq.offer = spy  # type: ignore[method-assign]

    sc = _failing(1.0, {**retry, "dead_letter": "dlq"}, duration=duration, concurrency=200)
    rep = replicate(sc, 1, seed=seed, before=hook)[0]
    assert_conserved(rep)
    return np.array(out)


@pytest.mark.parametrize(
    ("retry", "total_backoff"),
    [
        ({"backoff": "fixed", "delay": 1.0}, 3.0),  # 1 + 1 + 1
        ({"backoff": "exponential", "delay": 1.0, "multiplier": 2.0}, 7.0),  # 1 + 2 + 4
        (
            {"backoff": "exponential", "delay": 1.0, "multiplier": 3.0, "max_delay": 2.5},
            6.0,
        ),  # 1 + 2.5 + 2.5 (3 and 9 capped)
    ],
)
def test_backoff_schedule_is_exact(retry: dict[str, Any], total_backoff: float) -> None:
    """Without jitter, a message failing every time is dead-lettered after exactly
    (max_retries + 1) services plus the backoffs of its max_retries retries."""
    t = _give_up_times({"max_retries": 3, **retry}, seed=53)
    assert t.size > 100
    np.testing.assert_allclose(t, 4 * SERVICE + total_backoff, atol=1e-9)


@pytest.mark.parametrize(
    ("jitter", "low", "mean", "var"),
    [
        # full: U(0, d) for d = 1, 2, 4: sum in [0, 7], mean 3.5, var (1 + 4 + 16) / 12
        ("full", 0.0, 3.5, 21 / 12),
        # equal: d/2 + U(0, d/2): sum in [3.5, 7], mean 5.25, var (1 + 4 + 16) / 48
        ("equal", 3.5, 5.25, 21 / 48),
    ],
)
def test_jitter_spreads_the_backoff(jitter: str, low: float, mean: float, var: float) -> None:
    """Jittered exponential backoff: the total wait stays in its range, with the mean and
    variance of the sum of the uniform draws."""
    t = _give_up_times(
        {"max_retries": 3, "backoff": "exponential", "delay": 1.0, "jitter": jitter},
        seed=54,
        duration=100.0,
    )
    backoff = t - 4 * SERVICE
    assert backoff.size > 500
    assert backoff.min() >= low - 1e-9 and backoff.max() <= 7.0 + 1e-9
    z = (backoff.mean() - mean) / np.sqrt(var / backoff.size)
    assert abs(z) < 3.3  # two-sided 0.1 %
    assert backoff.var() == pytest.approx(var, rel=0.2)


def test_conservation_counts_messages_waiting_out_a_backoff() -> None:
    """Messages in their backoff at the end are neither lost nor held: retry_pending
    closes the balance."""
    sc = _failing(
        0.5, {"max_retries": 3, "backoff": "fixed", "delay": 5.0}, duration=30.0, concurrency=5
    )
    rep = replicate(sc, 1, seed=55)[0]
    assert rep.queues["q"].retry_pending > 10
    c = counts(rep, "q")
    assert c["accepted"] == (
        c["completed"] + c["failed_final"] + rep.queues["q"].held + rep.queues["q"].retry_pending
    )
    assert_conserved(rep)
