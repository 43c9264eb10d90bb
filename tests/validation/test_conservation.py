"""Accounting identities that hold exactly in every replication, and Little's law.

Conservation per queue over the whole run (the engine's contract, qsim/sim design):
arrived = rejected + accepted, and
accepted = completed + dropped + expired + lost + failed_final + held at the end
(ready + unacked + waiting out a retry backoff). Checked on the Replication objects,
because the messages held at the end are not part of the public summary.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsim.scenario import Scenario, loads
from qsim.sim.engine import Replication, SimEngine
from tests.validation._support import (
    CASES,
    FAMILY_ALPHA,
    RunCache,
    per_replication,
    t_interval,
)

FEATURES = """
name: conservation
seed: 7
duration: 300s
warmup: 30s
replications: 3
engine: sim
producers:
  - {name: web, rate: 6/s, to: fan}
  - {name: cron, rate: 2/s, to: slow, arrival: {process: deterministic}}
brokers:
  - name: b
    exchanges: [{name: fan, type: fanout, bindings: [bounded, leaky]}]
    queues:
      - {name: bounded, capacity: 8}
      - {name: leaky, capacity: 5, overflow: drop-head, ttl: 300ms, dead_letter: dlq}
      - {name: next}
      - {name: slow, ttl: 1s}
      - {name: dlq}
consumers:
  - name: a
    queue: bounded
    instances: 2
    service: 300ms
    fail_probability: 0.2
    retry: {max_retries: 2, delay: 500ms, dead_letter: dlq}
    publish_to: next
  - {name: b, queue: leaky, prefetch: 3, concurrency: 2,
     service: {dist: lognormal, mean: 400ms, scv: 2}}
  - {name: n, queue: next, instances: 3, prefetch: unlimited, balancer: random, service: 200ms}
  - {name: s, queue: slow, service: 600ms}
  - {name: d, queue: dlq, service: 100ms}
"""

LEAVES = ("completed", "dropped", "expired", "lost", "failed_final")


def _replications(scenario: Scenario) -> list[Replication]:
    return SimEngine().run(
        scenario, seed=int(scenario.seed or 0), replications=scenario.replications
    )


def _assert_conserved(rep: Replication) -> dict[str, dict[str, int]]:
    counts = {}
    for name, q in rep.queues.items():
        c = q.record.counts.whole_run()
        held = rep.held(name)
        where = f"queue {name}: {c}, held {held}"
        assert c["arrived"] == c["rejected"] + c["accepted"], where
        assert c["accepted"] == sum(c[k] for k in LEAVES) + held, where
        assert c["dead_lettered"] <= c["dropped"] + c["expired"] + c["failed_final"], where
        assert held >= 0 and q.retry_pending >= 0, where
        counts[name] = c
    return counts


def test_conservation_with_every_way_out() -> None:
    """Rejects, drop-head, TTL expiry, retries, dead letters, fanout and pipelines: each
    queue conserves messages exactly, and the routes between queues add up."""
    for rep in _replications(loads(FEATURES)):
        c = _assert_conserved(rep)
        # every way out was exercised, so the identities are not trivially true
        assert c["bounded"]["rejected"] and c["bounded"]["failed_final"]
        assert c["bounded"]["retried"] and c["leaky"]["dropped"] and c["leaky"]["expired"]
        assert c["slow"]["expired"] and rep.held("bounded") > 0
        # fanout: both bound queues are offered every publish
        assert c["bounded"]["arrived"] == c["leaky"]["arrived"]
        # pipeline: each completion on `bounded` is published to `next`
        assert c["next"]["arrived"] == c["bounded"]["completed"]
        # dead letters from both sources land in `dlq`
        assert c["dlq"]["arrived"] == c["bounded"]["dead_lettered"] + c["leaky"]["dead_lettered"]


@pytest.mark.slow
@pytest.mark.parametrize("key", ["M/M/2/5 rho=1", "M/M/3/3 Erlang loss"])
def test_conservation_finite_models(key: str) -> None:
    """The blocking models of the theory checks conserve messages in every replication."""
    sc = CASES[key].scenario
    short = Scenario.model_validate({**sc.model_dump(), "duration": 500.0, "replications": 4})
    for rep in _replications(short):
        c = _assert_conserved(rep)
        assert c["q"]["rejected"] > 0


queue_specs = st.fixed_dictionaries(
    {
        "capacity": st.one_of(st.none(), st.integers(1, 8)),
        "overflow": st.sampled_from(["reject", "drop-head"]),
        "ttl": st.one_of(st.none(), st.floats(0.2, 3.0)),
    }
)
consumer_specs = st.fixed_dictionaries(
    {
        "instances": st.integers(1, 3),
        "concurrency": st.integers(1, 2),
        "prefetch": st.sampled_from([1, 2, 5, "unlimited"]),
        "balancer": st.sampled_from(["round-robin", "random", "least-loaded", "power-of-two"]),
        "fail_probability": st.sampled_from([0.0, 0.0, 0.3]),
        "retry": st.fixed_dictionaries(
            {"max_retries": st.integers(0, 2), "delay": st.sampled_from([0.0, 0.3, 2.0])}
        ),
    }
)


@settings(max_examples=25, deadline=None)
@given(
    queue=queue_specs,
    consumer=consumer_specs,
    rate=st.floats(0.5, 8.0),
    service=st.floats(0.05, 1.5),
    seed=st.integers(0, 2**32 - 1),
)
def test_conservation_holds_for_any_queue(
    queue: dict, consumer: dict, rate: float, service: float, seed: int
) -> None:
    """Whatever the capacity, overflow, TTL, prefetch, balancer and retry settings, and
    at any load (stable or not), a queue conserves messages exactly."""
    if queue["capacity"] is None:
        queue = {k: v for k, v in queue.items() if k != "overflow"}
    sc = Scenario(
        name="any",
        seed=seed,
        duration=60.0,
        warmup=5.0,
        replications=1,
        engine="sim",
        producers=[{"name": "p", "to": "q", "rate": rate}],
        brokers=[{"name": "b", "queues": [{"name": "q", **queue}]}],
        consumers=[{"name": "c", "queue": "q", "service": service, **consumer}],
    )
    (rep,) = _replications(sc)
    _assert_conserved(rep)


# ---- Little's law ---------------------------------------------------------------------
LITTLE = [
    *[(key, "q") for key in CASES],
    ("tandem", "q1"),
    ("tandem", "q2"),
    ("split", "q"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("key", "queue"), LITTLE)
def test_littles_law(key: str, queue: str, runs: RunCache) -> None:
    """L = lambda W per queue: throughput x response_mean lies in the (family-wise)
    interval of in_system_mean. (The per-replication difference L_r - X_r W_r is not
    used: it carries a real boundary term of order L W / T from messages present at the
    start and end of the window, about 1e-3 here, larger than its own tiny CI.)"""
    result = runs.get(key)
    level = 1.0 - FAMILY_ALPHA
    L = t_interval(per_replication(result, queue, "in_system_mean"), level)
    x = per_replication(result, queue, "throughput").mean()
    w = per_replication(result, queue, "response_mean").mean()
    assert L.covers(x * w), (L, x * w)
