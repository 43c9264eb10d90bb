"""Producers and routing: arrival counts, keys, priorities, exchanges, pipelines."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats

from qsim.scenario.schema import Scenario
from qsim.sim.engine import Replication
from qsim.sim.producer import key_sampler, priority_sampler
from tests.reference.ref_sim_theory import tandem_response
from tests.sim.simcheck import (
    ALPHA,
    assert_conserved,
    assert_covers,
    counts,
    replicate,
    scenario,
    values,
)


def _zipf(n: int, s: float) -> np.ndarray:
    w = np.array([1.0 / (k + 1) ** s for k in range(n)])
    return w / w.sum()


@pytest.mark.parametrize(
    ("keys", "probs"),
    [
        ({"dist": "zipf", "n": 20, "s": 1.1}, _zipf(20, 1.1)),  # typical skew
        ({"dist": "zipf", "n": 5, "s": 0.0}, np.full(5, 0.2)),  # s = 0 is uniform
        ({"dist": "uniform", "n": 8}, np.full(8, 1 / 8)),  # uniform keys
    ],
)
def test_key_frequencies(keys: dict[str, Any], probs: np.ndarray) -> None:
    """Keys 0..n-1 with P(k) ~ 1 / (k + 1)^s (zipf) or 1/n (uniform): chi-square test."""
    spec = (
        Scenario.model_validate(
            {
                "name": "t",
                "duration": 1,
                "producers": [{"name": "p", "to": "q", "rate": 1, "keys": keys}],
                "brokers": [{"name": "b", "queues": [{"name": "q"}]}],
            }
        )
        .producers[0]
        .keys
    )
    draw = key_sampler(spec, np.random.default_rng(61))
    assert draw is not None
    sample = np.array([draw() for _ in range(20_000)])
    observed = np.bincount(sample, minlength=len(probs))
    assert observed.size == len(probs)
    assert stats.chisquare(observed, sample.size * probs).pvalue > ALPHA


def test_published_messages_carry_zipf_keys() -> None:
    """Messages published in a run carry keys with the producer's zipf frequencies."""
    keys: list[int] = []

    def hook(rep: Replication) -> None:
        q = rep.queues["q"]
        offer = q.offer

        def spy(msg: Any) -> Any:
            keys.append(msg.key)
            return offer(msg)

        q.offer = spy  # type: ignore[method-assign]

    sc = scenario(
        [{"name": "p", "to": "q", "rate": 100.0, "keys": {"dist": "zipf", "n": 10, "s": 1.0}}],
        [{"name": "q"}],
        [],
        duration=50.0,
    )
    replicate(sc, 1, seed=62, before=hook)
    observed = np.bincount(keys, minlength=10)
    assert stats.chisquare(observed, len(keys) * _zipf(10, 1.0)).pvalue > ALPHA


def test_priority_frequencies_follow_weights() -> None:
    """Priorities are drawn from the {priority: weight} mapping; one level is constant."""
    draw = priority_sampler({0: 6.0, 4: 3.0, 9: 1.0}, np.random.default_rng(63))
    assert draw is not None
    sample = np.array([draw() for _ in range(20_000)])
    levels, observed = np.unique(sample, return_counts=True)
    assert list(levels) == [0, 4, 9]
    assert stats.chisquare(observed, sample.size * np.array([0.6, 0.3, 0.1])).pvalue > ALPHA
    one = priority_sampler({7: 1.0}, np.random.default_rng(0))
    assert one is not None and {one() for _ in range(10)} == {7}
    assert priority_sampler(None, np.random.default_rng(0)) is None


def test_deterministic_producer_publishes_exactly_rate_times_duration() -> None:
    """Evenly spaced arrivals: exactly rate * duration publishes, scaled by ``load``."""
    for load in (1.0, 2.5):
        data = scenario(
            [{"name": "p", "to": "q", "rate": 10.0, "arrival": "deterministic"}],
            [{"name": "q"}],
            [],
            duration=100.0,
        ).model_dump()
        sc = Scenario.model_validate({**data, "load": load})
        rep = replicate(sc, 1, seed=64)[0]
        assert counts(rep, "q")["arrived"] == round(1000 * load)


def test_poisson_producer_rate() -> None:
    """Poisson arrivals: the arrival rate measured per replication covers the rate."""
    sc = scenario([{"name": "p", "to": "q", "rate": 50.0}], [{"name": "q"}], [], duration=100.0)
    assert_covers(values(replicate(sc, 6, seed=65), "q", "arrival_rate"), 50.0, "rate")


def _exchange_run(exchange: dict[str, Any], routing_key: str | None) -> Replication:
    producer: dict[str, Any] = {"name": "p", "to": "x", "rate": 20.0, "arrival": "deterministic"}
    if routing_key is not None:
        producer["routing_key"] = routing_key
    names = ("q1", "q2", "q3")
    sc = scenario(
        [producer],
        [{"name": n} for n in names],
        [{"name": f"c{n}", "queue": n, "service": 0.01} for n in names],
        exchanges=[exchange],
        duration=20.0,
    )
    return replicate(sc, 1, seed=66)[0]


def test_fanout_exchange_copies_every_message_to_every_queue() -> None:
    """A fanout exchange gives each bound queue its own copy of every message."""
    seen: dict[str, list[Any]] = {"q1": [], "q2": [], "q3": []}

    def hook(rep: Replication) -> None:
        for name, log in seen.items():
            q = rep.queues[name]

            def spy(msg: Any, offer: Any = q.offer, log: list[Any] = log) -> Any:
                log.append(msg)
                return offer(msg)

            q.offer = spy  # type: ignore[method-assign]

    producer = {"name": "p", "to": "x", "rate": 20.0, "arrival": "deterministic"}
    sc = scenario(
        [producer],
        [{"name": n} for n in seen],
        [{"name": f"c{n}", "queue": n, "service": 0.01} for n in seen],
        exchanges=[{"name": "x", "type": "fanout", "bindings": list(seen)}],
        duration=20.0,
    )
    rep = replicate(sc, 1, seed=67, before=hook)[0]
    assert len(seen["q1"]) == 400
    born = [[m.born for m in log] for log in seen.values()]
    assert born[0] == born[1] == born[2]
    assert len({id(m) for log in seen.values() for m in log}) == 3 * 400  # distinct copies
    for name in seen:
        assert counts(rep, name)["completed"] >= 398
    assert_conserved(rep)


@pytest.mark.parametrize(
    ("exchange", "key", "routed"),
    [
        # topic: '*' is one word, '#' zero or more words
        (
            {
                "name": "x",
                "type": "topic",
                "bindings": [
                    {"queue": "q1", "key": "order.*.eu"},
                    {"queue": "q2", "key": "order.#"},
                    {"queue": "q3", "key": "*.eu"},
                ],
            },
            "order.created.eu",
            {"q1", "q2"},
        ),
        # topic: '#' alone matches everything
        (
            {
                "name": "x",
                "type": "topic",
                "bindings": [
                    {"queue": "q1", "key": "#"},
                    {"queue": "q2", "key": "order.*"},
                    {"queue": "q3", "key": "order.created"},
                ],
            },
            "order.created",
            {"q1", "q2", "q3"},
        ),
        # direct: exact key only
        (
            {
                "name": "x",
                "type": "direct",
                "bindings": [
                    {"queue": "q1", "key": "eu"},
                    {"queue": "q2", "key": "us"},
                    {"queue": "q3", "key": "eu"},
                ],
            },
            "eu",
            {"q1", "q3"},
        ),
    ],
)
def test_exchange_routing(exchange: dict[str, Any], key: str, routed: set[str]) -> None:
    """Topic and direct exchanges route each message to exactly the matching queues."""
    rep = _exchange_run(exchange, key)
    for name in ("q1", "q2", "q3"):
        assert counts(rep, name)["arrived"] == (400 if name in routed else 0), name
    assert_conserved(rep)


def test_pipeline_response_is_the_sum_of_tandem_stages() -> None:
    """publish_to chains M/M/1 -> M/M/1: the end-to-end path response (publication to
    final ack) is 1/(mu1 - lam) + 1/(mu2 - lam) (Burke, Jackson)."""
    lam, mu1, mu2 = 8.0, 10.0, 20.0
    sc = scenario(
        [{"name": "p", "to": "a", "rate": lam}],
        [{"name": "a"}, {"name": "b"}],
        [
            {"name": "c1", "queue": "a", "service": 1 / mu1, "publish_to": "b"},
            {"name": "c2", "queue": "b", "service": 1 / mu2},
        ],
        duration=520.0,
        warmup=20.0,
    )
    reps = replicate(sc, 10, seed=68)
    path = values(reps, "p->c2", "response_mean", scope="path")
    assert_covers(path, tandem_response(lam, [mu1, mu2]), "end-to-end response")
    assert_covers(values(reps, "b", "response_mean"), 1 / (mu2 - lam), "second stage")
    for rep in reps:
        assert counts(rep, "b")["arrived"] == counts(rep, "a")["completed"]
        assert_conserved(rep)
