"""The scenario schema in code: defaults, units, constraints, cross-field rules, building."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from qsim.scenario import schema
from qsim.scenario.schema import (
    Broker,
    Consumer,
    ExponentialDist,
    LognormalDist,
    MmppArrival,
    PoissonArrival,
    Producer,
    Queue,
    Retry,
    Scenario,
)


def minimal(**changes: Any) -> dict[str, Any]:
    """A valid one-queue scenario as data, with top-level changes."""
    data: dict[str, Any] = {
        "name": "demo",
        "duration": "1h",
        "producers": [{"name": "web", "to": "orders", "rate": "120/s"}],
        "brokers": [{"name": "rabbit", "queues": [{"name": "orders"}]}],
        "consumers": [{"name": "workers", "queue": "orders", "service": "10ms"}],
    }
    data.update(changes)
    return data


def with_consumer(**fields: Any) -> dict[str, Any]:
    return minimal(consumers=[{"name": "workers", "queue": "orders", "service": "10ms", **fields}])


def with_producer(**fields: Any) -> dict[str, Any]:
    return minimal(producers=[{"name": "web", "to": "orders", **fields}])


def test_defaults_are_the_textbook_case() -> None:
    """Unsaid things default to Poisson arrivals, prefetch 1, manual acks, 10 replications."""
    s = Scenario.model_validate(minimal())
    p, c, q = s.producers[0], s.consumers[0], s.brokers[0].queues[0]
    assert isinstance(p.arrival, PoissonArrival)
    assert (c.prefetch, c.ack, c.instances, c.concurrency) == (1, "manual", 1, 1)
    assert c.service == ExponentialDist(mean=0.01)
    assert (q.capacity, q.overflow, q.durable, q.ordering, q.ttl) == (
        None,
        "reject",
        False,
        "fifo",
        None,
    )
    assert (s.replications, s.engine, s.load, s.warmup, s.seed) == (10, "auto", 1.0, 0.0, None)
    assert c.retry == Retry()


def test_units_become_si_floats() -> None:
    """Durations are seconds, rates per second, sizes bytes, multipliers factors."""
    s = Scenario.model_validate(
        minimal(
            warmup="5m",
            load="3x",
            producers=[{"name": "web", "to": "orders", "rate": "7.2k/min", "size": "2KiB"}],
            brokers=[
                {
                    "name": "rabbit",
                    "queues": [{"name": "orders", "ttl": "1h30m", "max_bytes": "1GiB"}],
                }
            ],
        )
    )
    assert (s.duration, s.warmup, s.load) == (3600.0, 300.0, 3.0)
    assert (s.producers[0].rate, s.producers[0].size) == (120.0, 2048)
    assert (s.brokers[0].queues[0].ttl, s.brokers[0].queues[0].max_bytes) == (5400.0, 2**30)


def test_models_are_frozen() -> None:
    """A scenario cannot be changed in place (tweaks go through model_copy / validation)."""
    s = Scenario.model_validate(minimal())
    with pytest.raises(ValidationError, match="frozen"):
        s.duration = 5.0  # type: ignore[misc]


def test_shorthands_mean_their_long_forms() -> None:
    """'service: 10ms', 'arrival: mmpp', 'priority: 5', 'prefetch: unlimited', bare bindings."""
    c = Consumer(name="c", queue="q", service="10ms", prefetch="unlimited", publish_to="next")
    assert c.service == ExponentialDist(mean=0.01)
    assert (c.prefetch, c.publish_to) == (None, ("next",))
    p = Producer(name="p", to="q", rate=1, priority=5)
    assert p.priority == {5: 1.0}
    b = Broker.model_validate(
        {"name": "b", "queues": [{"name": "q"}], "exchanges": [{"name": "x", "bindings": ["q"]}]}
    )
    assert b.exchanges[0].bindings[0].queue == "q"


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (with_consumer(instances=0), "greater than or equal to 1"),  # at least one instance
        (
            with_consumer(service={"dist": "lognormal", "mean": "50ms", "scv": -1.5}),
            "greater than 0",
        ),
        (
            with_consumer(service={"dist": "hyperexponential", "mean": 1, "scv": 0.5}),
            "greater than or equal to 1",
        ),
        (with_consumer(service={"dist": "uniform", "low": 2, "high": 1}), "high: must be > low"),
        (with_consumer(service={"dist": "empirical", "samples": [0, 0]}), "must not all be 0"),
        (
            with_consumer(service={"dist": "weibull", "mean": 1}),
            "dist must be one of",
        ),  # unknown family
        (with_consumer(service={"mean": 1, "scv": 2}), "Extra inputs"),  # exponential has no scv
        (with_consumer(fail_probability=1.5), "less than or equal to 1"),  # a probability
        (with_consumer(colour="red"), "Extra inputs"),  # unknown keys are errors
        (with_consumer(topic="orders"), "exactly one of queue: or topic:"),  # both sources
        (with_consumer(group="g"), "group: only applies to consumers of a topic"),
        (with_consumer(rebalance="3s"), "rebalance: only applies"),
        (
            with_consumer(batch={"max_size": 10, "max_wait": "5ms", "fixed": "1ms"}),
            "exactly one of service",
        ),
        (with_consumer(ack="auto", prefetch=5), "prefetch: only applies with ack: manual"),
        (with_consumer(balancer="weighted"), "weights: are required"),
        (with_consumer(instances=2, balancer="weighted", weights=[1]), "one entry per instance"),
        (with_consumer(weights=[1]), "weights: only apply with balancer: weighted"),
        (
            with_consumer(outages=[{"at": "1h", "duration": "1m", "instance": 3}]),
            "must be < instances",
        ),
        (
            with_consumer(retry={"backoff": "fixed", "multiplier": 3}),
            "only applies with backoff: exponential",
        ),
        (with_consumer(prefetch=0), "greater than or equal to 1"),
        (with_consumer(instances=True), "must be an integer"),  # true is not 1
        (with_consumer(service={"dist": "gamma", "mean": 1, "scv": True}), "must be a number"),
        (with_producer(), "rate: is required with poisson arrivals"),  # poisson needs a rate
        (with_producer(rate="-5/s"), "greater than 0"),  # negative rate
        (with_producer(rate="5 per sec"), "must be a rate such as 1200/s"),  # bad unit
        (
            with_producer(
                rate=5, arrival={"process": "mmpp", "states": [{"rate": 1, "mean_sojourn": 1}] * 2}
            ),
            "rate: must not be set: mmpp arrivals carry their own rates",
        ),
        (
            with_producer(arrival={"process": "mmpp", "states": [{"rate": 1, "mean_sojourn": 1}]}),
            "at least 2",
        ),
        (
            with_producer(arrival={"process": "mmpp", "states": [{"rate": 1}] * 2}),
            "exactly one of mean_sojourn",
        ),
        (
            with_producer(
                arrival={
                    "process": "mmpp",
                    "states": [{"rate": 1, "mean_sojourn": 1}] * 2,
                    "transitions": [[0, 1], [0.5, 0.5]],
                }
            ),
            "0 on the diagonal",
        ),
        (
            with_producer(arrival={"process": "piecewise", "rates": [{"at": "1h", "rate": 1}]}),
            "start at 0s",
        ),
        (
            with_producer(
                arrival={
                    "process": "piecewise",
                    "rates": [{"at": 0, "rate": 1}, {"at": 0, "rate": 2}],
                }
            ),
            "increasing time order",
        ),
        (
            with_producer(arrival={"process": "piecewise", "rates": [{"at": 0, "rate": 0}]}),
            "rate > 0",
        ),
        (
            with_producer(rate=1, arrival={"process": "diurnal", "amplitude": 1.5, "peak": "14h"}),
            "less than or equal to 1",
        ),
        (
            with_producer(rate=1, arrival={"process": "diurnal", "amplitude": 0.5, "peak": "25h"}),
            "peak: must be < period",
        ),
        (with_producer(rate=1, priority=300), "priority must be in 0..255"),
        (
            with_producer(rate=1, keys={"dist": "zipf", "n": 0, "s": 1}),
            "greater than or equal to 1",
        ),
        (minimal(warmup="2h"), "warmup: must be < duration"),
        (minimal(duration="0s"), "greater than 0"),
        (minimal(engine="turbo"), "'auto', 'sim' or 'fast'"),
        (minimal(slo={}), "at least one target"),
        (minimal(slo={"max_loss": 2}), "less than or equal to 1"),
        (minimal(producers=[]), "at least 1 item"),
        (
            minimal(
                brokers=[
                    {
                        "name": "b",
                        "nodes": 1,
                        "failover": "primary-backup",
                        "queues": [{"name": "orders"}],
                    }
                ]
            ),
            "failover: needs nodes >= 2",
        ),
        (
            minimal(brokers=[{"name": "b", "queues": [{"name": "orders", "replicas": 3}]}]),
            "must be <= nodes",
        ),
        (
            minimal(brokers=[{"name": "b", "queues": [{"name": "orders", "node": 1}]}]),
            "must be < nodes",
        ),
        (
            minimal(
                brokers=[
                    {
                        "name": "b",
                        "queues": [{"name": "orders"}],
                        "exchanges": [{"name": "x", "type": "topic", "bindings": ["orders"]}],
                    }
                ]
            ),
            "a topic exchange binding needs a key",
        ),
        (
            minimal(
                brokers=[
                    {
                        "name": "b",
                        "queues": [{"name": "orders"}],
                        "exchanges": [{"name": "x", "bindings": [{"queue": "orders", "key": "a"}]}],
                    }
                ]
            ),
            "fanout exchanges ignore keys",
        ),
        (
            minimal(
                brokers=[
                    {
                        "name": "b",
                        "queues": [{"name": "orders"}],
                        "exchanges": [
                            {
                                "name": "x",
                                "type": "topic",
                                "bindings": [{"queue": "orders", "key": "a.b*"}],
                            }
                        ],
                    }
                ]
            ),
            "each a word, '\\*' or '#'",
        ),
        (minimal(name=" padded "), "without leading or trailing spaces"),
        (minimal(duration=float("inf")), "must be a duration"),  # no infinite durations
    ],
)
def test_invalid_scenarios_are_refused_in_code(data: dict[str, Any], match: str) -> None:
    """Building a scenario in code applies every rule the file loader applies."""
    with pytest.raises(ValidationError, match=match):
        Scenario.model_validate(data)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (with_producer(rate=1, to="order"), "unknown queue 'order', known queues: 'orders'"),
        (with_consumer(queue="nope"), "consumers\\[0\\].queue: unknown queue 'nope'"),
    ],
)
def test_references_are_checked_in_code(data: dict[str, Any], match: str) -> None:
    """A scenario built in code with a dangling name is refused, listing every problem."""
    with pytest.raises(ValidationError, match=match):
        Scenario.model_validate(data)


def test_reference_check_can_be_deferred() -> None:
    """The loader validates with skip_references and reports reference problems itself."""
    s = Scenario.model_validate(
        with_producer(rate=1, to="order"), context={"skip_references": True}
    )
    assert s.producers[0].to == "order"


def test_valid_feature_tour_is_accepted() -> None:
    """Every feature of the schema can be said at once."""
    s = Scenario.model_validate(
        minimal(
            seed=1,
            slo={"p99_response": "500ms", "p95_wait": "100ms", "max_loss": 0.001},
            producers=[
                {
                    "name": "web",
                    "to": "orders",
                    "rate": "120/s",
                    "keys": {"dist": "zipf", "n": 100, "s": 1.1},
                    "priority": {0: 0.9, 9: 0.1},
                    "persistent": True,
                },
                {
                    "name": "iot",
                    "to": "events",
                    "arrival": {
                        "process": "mmpp",
                        "states": [
                            {"rate": "50/s", "mean_sojourn": "10m"},
                            {"rate": "500/s", "switch_rate": "2/min"},
                            {"rate": 0, "mean_sojourn": "1h"},
                        ],
                    },
                },
                {
                    "name": "day",
                    "to": "fan",
                    "rate": "10/s",
                    "arrival": {"process": "diurnal", "amplitude": 0.6, "peak": "14h"},
                },
                {
                    "name": "steps",
                    "to": "router",
                    "routing_key": "order.created.eu",
                    "arrival": {
                        "process": "piecewise",
                        "period": "24h",
                        "rates": [{"at": 0, "rate": "5/s"}, {"at": "8h", "rate": "50/s"}],
                    },
                },
            ],
            brokers=[
                {
                    "name": "rabbit",
                    "nodes": 3,
                    "balancer": "weighted",
                    "weights": [2, 1, 1],
                    "failover": {"mode": "primary-backup", "health_check": "5s", "promotion": "2s"},
                    "failures": {
                        "mtbf": "7d",
                        "mttr": {"dist": "lognormal", "mean": "10m", "scv": 2},
                    },
                    "outages": [{"at": "30m", "duration": "2m"}],
                    "queues": [
                        {
                            "name": "orders",
                            "capacity": 10000,
                            "overflow": "block",
                            "durable": True,
                            "ordering": "priority",
                            "ttl": "30s",
                            "dead_letter": "dlq",
                            "replicas": 3,
                        },
                        {"name": "dlq"},
                        {"name": "audit"},
                        {"name": "eu", "auto_delete": True},
                    ],
                    "exchanges": [
                        {"name": "fan", "bindings": ["orders", "audit"]},
                        {
                            "name": "router",
                            "type": "topic",
                            "bindings": [{"queue": "eu", "key": "order.*.eu"}],
                        },
                    ],
                },
                {
                    "name": "kafka",
                    "nodes": 3,
                    "topics": [
                        {"name": "events", "partitions": 12, "replicas": 3, "retention": "7d"}
                    ],
                },
            ],
            consumers=[
                {
                    "name": "workers",
                    "queue": "orders",
                    "instances": 8,
                    "concurrency": 2,
                    "prefetch": 10,
                    "service": {"dist": "lognormal", "mean": "50ms", "scv": 1.5},
                    "fail_probability": 0.01,
                    "retry": {
                        "max_retries": 5,
                        "delay": "100ms",
                        "max_delay": "10s",
                        "jitter": "full",
                    },
                    "balancer": "power-of-two",
                    "publish_to": ["audit"],
                    "failures": {"mtbf": "3d", "mttr": "5m"},
                },
                {
                    "name": "billing",
                    "topic": "events",
                    "group": "billing",
                    "instances": 6,
                    "rebalance": "3s",
                    "service": {"dist": "gamma", "mean": "4ms", "scv": 0.5},
                },
                {
                    "name": "eu",
                    "queue": "eu",
                    "ack": "auto",
                    "batch": {
                        "max_size": 100,
                        "max_wait": "50ms",
                        "fixed": "5ms",
                        "per_message": "1ms",
                    },
                },
            ],
        )
    )
    assert isinstance(s.producers[1].arrival, MmppArrival)
    assert s.producers[1].arrival.states[1].leave_rate == pytest.approx(1 / 30)
    assert s.consumers[1].group_name == "billing" and s.consumers[0].group_name is None
    assert isinstance(s.brokers[0].failures.mttr, LognormalDist)  # type: ignore[union-attr]


def _models() -> list[type[BaseModel]]:
    return sorted(
        {
            m
            for m in vars(schema).values()
            if isinstance(m, type) and issubclass(m, BaseModel) and m is not BaseModel
        },
        key=lambda m: m.__name__,
    )


@pytest.mark.parametrize("model", _models(), ids=lambda m: m.__name__)
def test_every_field_is_documented(model: type[BaseModel]) -> None:
    """Every field of every model carries a description (units included), and models forbid extras."""
    assert model.model_config.get("extra") == "forbid"
    assert model.model_config.get("frozen") is True
    for name, info in model.model_fields.items():
        assert info.description, f"{model.__name__}.{name} has no description"


def test_json_schema_is_generated() -> None:
    """Editors can get a JSON schema of the scenario format."""
    js = Scenario.model_json_schema()
    assert {"producers", "brokers", "consumers", "slo"} <= set(js["properties"])


@pytest.mark.parametrize(
    ("spec", "family", "mean", "scv"),
    [
        ({"dist": "exponential", "mean": "50ms"}, "Exponential", 0.05, 1.0),  # memoryless
        ({"dist": "deterministic", "value": "20ms"}, "Deterministic", 0.02, 0.0),  # constant
        ({"dist": "erlang", "mean": "1s", "k": 4}, "Erlang", 1.0, 0.25),  # scv = 1/k
        ({"dist": "gamma", "mean": "2s", "scv": 0.5}, "Gamma", 2.0, 0.5),  # by mean and scv
        ({"dist": "lognormal", "mean": "50ms", "scv": 1.5}, "Lognormal", 0.05, 1.5),
        ({"dist": "hyperexponential", "mean": "1s", "scv": 4}, "HyperExponential", 1.0, 4.0),
        ({"dist": "uniform", "low": "0s", "high": "2s"}, "Uniform", 1.0, 1 / 3),  # (b-a)^2/12 / 1
        ({"dist": "empirical", "samples": ["1s", "3s"]}, "Empirical", 2.0, 0.25),  # var 1, mean 2
    ],
)
def test_build_gives_the_distribution_object(
    spec: dict[str, Any], family: str, mean: float, scv: float
) -> None:
    """Each spec builds the qsim.distributions object with the same mean and scv."""
    distributions = pytest.importorskip("qsim.distributions")
    built = Consumer(name="c", queue="q", service=spec).service.build()  # type: ignore[union-attr]
    assert type(built) is getattr(distributions, family)
    assert built.mean == pytest.approx(mean, rel=1e-12)
    assert built.scv == pytest.approx(scv, rel=1e-12)


def test_build_is_lazy() -> None:
    """The schema modules import qsim.distributions only inside build(), never at the top."""
    for path in Path(schema.__file__).parent.glob("schema*.py"):
        tree = ast.parse(path.read_text())
        top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        assert all("distributions" not in (getattr(n, "module", "") or "") for n in top), path


def test_models_compare_by_value() -> None:
    """Model objects compare by value, defaults included (the round-trip tests rely on it)."""
    assert Queue(name="q") == Queue(name="q", capacity=None)
