"""The fast engine's class: what it refuses (the first feature, in plain words) and
how ``engine: auto`` chooses."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from qsim.engines import run, select_engine
from qsim.errors import EngineNotApplicable
from qsim.fast import FastEngine
from qsim.fast.support import _unknown
from tests.fast.scenarios import make


def scenario(
    queue: dict[str, Any] | None = None,
    consumer: dict[str, Any] | None = None,
    broker: dict[str, Any] | None = None,
    producer: dict[str, Any] | None = None,
    extra_consumers: list[dict[str, Any]] | None = None,
) -> Any:
    sc = make(
        [{"name": "p", "to": "orders", "rate": 5, **(producer or {})}],
        [{"name": "orders", **(queue or {})}],
        [
            {"name": "workers", "queue": "orders", "service": 0.1, **(consumer or {})},
            *(extra_consumers or []),
        ],
        duration=10,
    )
    if broker:
        data = sc.model_dump()
        data["brokers"][0].update(broker)
        sc = type(sc).model_validate(data)
    return sc


INSIDE = {
    "M/M/1, prefetch 1": {},
    "M/M/c": {"consumer": {"instances": 4}},
    "concurrency and prefetch": {"consumer": {"instances": 2, "concurrency": 4, "prefetch": 3}},
    "least-loaded over free slots": {"consumer": {"instances": 3, "balancer": "least-loaded"}},
    "capacity with reject": {"queue": {"capacity": 10}},
    "random split": {"consumer": {"instances": 3, "prefetch": "unlimited", "balancer": "random"}},
    "weighted split": {
        "consumer": {
            "instances": 2,
            "prefetch": "unlimited",
            "balancer": "weighted",
            "weights": [1, 3],
        }
    },
    "key-hash with Zipf keys": {
        "consumer": {"instances": 3, "balancer": "key-hash"},
        "producer": {"keys": {"dist": "zipf", "n": 100, "s": 1.1}},
    },
    "one buffering instance with capacity": {
        "consumer": {"prefetch": "unlimited"},
        "queue": {"capacity": 5},
    },
    "mmpp arrivals": {
        "producer": {
            "rate": None,
            "arrival": {
                "process": "mmpp",
                "states": [{"rate": 2, "mean_sojourn": 5}, {"rate": 9, "mean_sojourn": 1}],
            },
        }
    },
    "failover without failures": {"broker": {"nodes": 2, "failover": "primary-backup"}},
    "dead_letter that never fires": {"queue": {"dead_letter": "orders-dlq"}},
}

OUTSIDE = [
    # (what the scenario has, the reason's words)
    ({"queue": {"ttl": 30}}, "ttl on queue 'orders'"),
    ({"queue": {"ordering": "priority"}}, "priority ordering on queue 'orders'"),
    ({"queue": {"capacity": 5, "overflow": "drop-head"}}, "overflow: drop-head on queue 'orders'"),
    ({"queue": {"capacity": 5, "overflow": "block"}}, "overflow: block on queue 'orders'"),
    ({"queue": {"max_bytes": "1MiB"}}, "max_bytes limit on queue 'orders'"),
    ({"broker": {"failures": {"mtbf": "1d", "mttr": "1m"}}}, "broker failures on 'b'"),
    ({"broker": {"nodes": 2, "outages": [{"at": 1, "duration": 1}]}}, "broker outages on 'b'"),
    (
        {"consumer": {"service": None, "batch": {"max_size": 5, "max_wait": 0.1, "fixed": 0.01}}},
        "batching on consumer 'workers'",
    ),
    ({"consumer": {"fail_probability": 0.1}}, "retries (fail_probability) on consumer 'workers'"),
    ({"consumer": {"ack": "auto"}}, "ack: auto on consumer 'workers'"),
    ({"consumer": {"failures": {"mtbf": "1h", "mttr": "1m"}}}, "consumer failures on 'workers'"),
    ({"consumer": {"outages": [{"at": 1, "duration": 1}]}}, "consumer outages on 'workers'"),
    (
        {"consumer": {"instances": 3, "prefetch": "unlimited", "balancer": "least-loaded"}},
        "least-loaded balancing needs queue state",
    ),
    (
        {"consumer": {"instances": 3, "prefetch": "unlimited", "balancer": "power-of-two"}},
        "power-of-two balancing needs queue state",
    ),
    (
        {"consumer": {"instances": 2, "prefetch": 10}},
        "prefetch 10 above concurrency 1 on consumer 'workers'",
    ),
    (
        {"extra_consumers": [{"name": "more", "queue": "orders", "service": 0.2}]},
        "several consumer pools on queue 'orders'",
    ),
    (
        {"queue": {"capacity": 5}, "consumer": {"instances": 2, "prefetch": "unlimited"}},
        "capacity with messages buffered at 2 instances on queue 'orders'",
    ),
]


@pytest.mark.parametrize("case", list(INSIDE))
def test_inside_the_class(case: str) -> None:
    """FIFO stations with static routing are the fast engine's."""
    kw = dict(INSIDE[case])
    if case == "dead_letter that never fires":
        sc = make(
            [{"name": "p", "to": "orders", "rate": 5}],
            [{"name": "orders", "dead_letter": "dlq"}, {"name": "dlq"}],
            [{"name": "w", "queue": "orders", "service": 0.1}],
            duration=10,
        )
    else:
        if "producer" in kw and kw["producer"].get("rate", 1) is None:
            kw["producer"] = {k: v for k, v in kw["producer"].items() if k != "rate"}
            sc = make(
                [{"name": "p", "to": "orders", **kw["producer"]}],
                [{"name": "orders"}],
                [{"name": "workers", "queue": "orders", "service": 0.1}],
                duration=10,
            )
        else:
            sc = scenario(**kw)
    assert FastEngine().supports(sc) is None


@pytest.mark.parametrize(("kw", "reason"), OUTSIDE, ids=[r for _, r in OUTSIDE])
def test_outside_names_the_feature(kw: dict[str, Any], reason: str) -> None:
    """A feature outside the class is named in plain words."""
    why = FastEngine().supports(scenario(**kw))
    assert why is not None and why.startswith(reason), why


def test_topics_and_ingress_are_outside() -> None:
    """Partitioned topics and broker ingress stages are the event engine's."""
    data = scenario().model_dump()
    data["brokers"][0]["topics"] = [{"name": "t", "partitions": 3}]
    data["producers"][0]["to"] = "t"
    data["consumers"] = [{"name": "g", "topic": "t", "service": 0.1}]
    sc = type(scenario()).model_validate(data)
    assert FastEngine().supports(sc) == "partitioned topic 't' (consumer groups)"
    if "ingress" in type(scenario().brokers[0].queues[0]).model_fields:
        sc = scenario(queue={"ingress": {"ceiling": "1000/s"}})
        assert FastEngine().supports(sc) == "broker ingress stage on queue 'orders'"


def test_first_feature_in_scenario_order() -> None:
    """With several features outside the class, the first in the scenario is named."""
    sc = scenario(queue={"ttl": 5, "ordering": "priority"}, consumer={"fail_probability": 0.5})
    assert FastEngine().supports(sc) == "ttl on queue 'orders'"


def test_an_unknown_field_is_refused_by_name() -> None:
    """A schema field the fast engine does not know, set away from its default, keeps the
    scenario out (a feature added later is never silently ignored)."""

    class Consumer(BaseModel):
        name: str = "c"
        turbo: bool = False

    assert list(_unknown(Consumer(turbo=True), "consumer 'c'")) == ["turbo on consumer 'c'"]
    assert list(_unknown(Consumer(), "consumer 'c'")) == []


def test_auto_picks_fast_and_says_why() -> None:
    """engine: auto runs fast when the scenario is inside its class, and says so."""
    eng, why = select_engine(scenario())
    assert eng.name == "fast" and why.startswith("auto: ")
    eng, why = select_engine(scenario(queue={"ttl": 30}))
    assert eng.name == "sim" and why == "auto: ttl on queue 'orders'"
    assert select_engine(scenario(), "sim")[0].name == "sim"


def test_fast_on_an_unsupported_scenario_is_an_error() -> None:
    """Asking for fast outside its class raises EngineNotApplicable naming the feature."""
    with pytest.raises(EngineNotApplicable, match="ttl on queue 'orders'"):
        select_engine(scenario(queue={"ttl": 30}), "fast")
    with pytest.raises(ValueError, match="ttl on queue 'orders'"):
        FastEngine().run(scenario(queue={"ttl": 30}), seed=1, replications=1)


def test_run_reports_the_fast_engine() -> None:
    """run() with engine auto on an M/M/1 reports fast and the reason."""
    r = run(scenario(), seed=1, replications=2)
    assert r.engine == "fast" and "fast engine's class" in r.reason
    assert not r.summary.empty and set(r.series.name) == {"orders"}
