"""Cross-object checks (names, references, cycles) and the resolved routing graph."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from qsim.scenario import Scenario, ScenarioError
from qsim.scenario.resolve import check_references, render_path, resolve, topic_matches


def base() -> dict[str, Any]:
    """Queues orders, audit, dlq; a fanout, a topic and a direct exchange; a Kafka topic."""
    return {
        "name": "graph",
        "duration": "1h",
        "producers": [
            {"name": "web", "to": "orders", "rate": "10/s"},
            {"name": "iot", "to": "events", "rate": "5/s"},
        ],
        "brokers": [
            {
                "name": "rabbit",
                "queues": [
                    {"name": "orders", "dead_letter": "dlq"},
                    {"name": "audit"},
                    {"name": "dlq"},
                ],
                "exchanges": [
                    {"name": "fan", "bindings": ["orders", "audit"]},
                    {
                        "name": "router",
                        "type": "topic",
                        "bindings": [
                            {"queue": "orders", "key": "order.*"},
                            {"queue": "audit", "key": "#"},
                        ],
                    },
                    {
                        "name": "direct",
                        "type": "direct",
                        "bindings": [{"queue": "audit", "key": "a"}],
                    },
                ],
            },
            {"name": "kafka", "topics": [{"name": "events", "partitions": 4}]},
        ],
        "consumers": [
            {"name": "workers", "queue": "orders", "service": "5ms", "publish_to": "audit"},
            {"name": "billing", "topic": "events", "service": "5ms"},
        ],
    }


def edited(path: str, value: Any) -> dict[str, Any]:
    """base() with the value at a dotted path (list indices as numbers) replaced."""
    data = base()
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node: Any = data
    for p in parents:
        node = node[p]
    node[last] = value
    return data


def problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p.where, p.message) for p in check_references(data)]


def test_base_is_clean() -> None:
    """The fixture itself has no reference problems and validates."""
    assert problems(base()) == []
    Scenario.model_validate(base())


@pytest.mark.parametrize(
    ("path", "value", "where", "message"),
    [
        # a producer to a name that does not exist lists what does, with kinds
        (
            "producers.0.to",
            "order",
            "producers[0].to",
            "unknown queue, exchange or topic 'order', known queues, exchanges and topics: 'orders' (queue), "
            "'audit' (queue), 'dlq' (queue), 'fan' (exchange), 'router' (exchange), 'direct' (exchange), "
            "'events' (topic)",
        ),
        # a consumer reading an exchange
        (
            "consumers.0.queue",
            "fan",
            "consumers[0].queue",
            "'fan' is an exchange, but this must name a queue",
        ),
        # a topic consumer naming a queue
        (
            "consumers.1.topic",
            "orders",
            "consumers[1].topic",
            "'orders' is a queue, but this must name a topic",
        ),
        # dead letter to nowhere
        (
            "brokers.0.queues.1.dead_letter",
            "graveyard",
            "brokers[0].queues[1].dead_letter",
            "unknown queue or exchange 'graveyard', known queues and exchanges: 'orders' (queue)",
        ),
        # a binding to a missing queue
        (
            "brokers.0.exchanges.0.bindings.1",
            "audits",
            "brokers[0].exchanges[0].bindings[1]",
            "unknown queue 'audits', known queues: 'orders', 'audit', 'dlq'",
        ),
        # publish_to nowhere
        (
            "consumers.0.publish_to",
            ["nowhere"],
            "consumers[0].publish_to[0]",
            "unknown queue, exchange or topic",
        ),
        # retry dead letter nowhere
        (
            "consumers.0.retry",
            {"dead_letter": "x"},
            "consumers[0].retry.dead_letter",
            "unknown queue, exchange",
        ),
        # duplicate names across brokers share one namespace
        (
            "brokers.1.topics",
            [{"name": "events", "partitions": 1}, {"name": "orders", "partitions": 1}],
            "brokers[1].topics[1].name",
            "duplicate destination name 'orders', already used by brokers[0].queues[0].name",
        ),
        # duplicate consumer names
        (
            "consumers.1.name",
            "workers",
            "consumers[1].name",
            "duplicate consumer name 'workers', already used by consumers[0].name",
        ),
        # a topic exchange needs a routing key
        (
            "producers.0.to",
            "router",
            "producers[0].routing_key",
            "is required: 'router' is a topic exchange",
        ),
        # routing keys are for direct and topic exchanges only
        (
            "producers.0.routing_key",
            "k",
            "producers[0].routing_key",
            "only applies to direct and topic exchanges, and 'orders' is a queue",
        ),
    ],
)
def test_reference_problems(path: str, value: Any, where: str, message: str) -> None:
    """Each broken reference is one problem at the referring value, saying what exists."""
    found = problems(edited(path, value))
    assert len(found) == 1, found
    assert found[0][0] == where
    assert found[0][1].startswith(message), found[0][1]


def test_routing_key_must_match_a_binding() -> None:
    """A routing key no binding matches would drop every message: an error."""
    data = edited("producers.0.to", "direct")
    data["producers"][0]["routing_key"] = "b"
    assert problems(data) == [
        (
            "producers[0].routing_key",
            "'b' matches no binding of exchange 'direct': every message would be dropped",
        )
    ]
    data["producers"][0]["routing_key"] = "a"
    assert problems(data) == []


def test_names_that_results_use_for_groups_partitions_and_stages() -> None:
    """A destination named like a group's partition (``events/billing/p3``) or like an
    ingress stage (``orders/ingress`` beside a queue ``orders`` with an ingress) would
    share that result's rows: refused, naming what the result names."""
    data = base()
    data["brokers"][0]["queues"].append({"name": "events/billing/p3"})
    data["brokers"][0]["queues"][0]["ingress"] = {"ceiling": "1000/s"}
    data["brokers"][0]["queues"].append({"name": "orders/ingress"})
    assert problems(data) == [
        (
            "brokers[0].queues[3].name",
            "queue name 'events/billing/p3' is also how results name partition 3 of group "
            "'billing' on topic 'events' (consumers[1]): choose another name",
        ),
        (
            "brokers[0].queues[4].name",
            "queue name 'orders/ingress' is also how results name the ingress stage of "
            "queue 'orders': choose another name",
        ),
    ]
    ok = base()
    ok["brokers"][0]["queues"].append({"name": "events/billing/p4"})  # only 4 partitions
    ok["brokers"][0]["queues"].append({"name": "audit/ingress"})  # audit has no ingress
    assert problems(ok) == []


def test_group_names_that_clash_in_results() -> None:
    """Group 'a/p0' on topic 't' and partition 0 of group 'a' would both be 't/a/p0'."""
    data = base()
    data["brokers"][1]["topics"].append({"name": "t", "partitions": 2})
    data["consumers"] += [
        {"name": "a", "topic": "t", "service": "1ms"},
        {"name": "x", "topic": "t", "group": "a/p0", "service": "1ms"},
    ]
    assert problems(data) == [
        (
            "consumers[3].group",
            "results would name group 'a/p0' on topic 't' (consumers[3]) 't/a/p0', as they "
            "name partition 0 of group 'a' on topic 't' (consumers[2]): choose another "
            "group name",
        )
    ]


def test_one_declaration_per_group_and_topic() -> None:
    """Two consumer entries for the same group on the same topic are refused."""
    data = base()
    data["consumers"].append(
        {"name": "billing2", "topic": "events", "group": "billing", "service": "1ms"}
    )
    assert problems(data) == [
        (
            "consumers[2].group",
            "group 'billing' on topic 'events' is already declared by consumers[1]: "
            "raise its instances instead",
        )
    ]


@pytest.mark.parametrize(
    ("target", "cycle"),
    [
        ("dlq", "dlq -> dlq"),  # a queue dead-lettering to itself
        ("orders", "orders -> dlq -> orders"),  # two queues dead-lettering to each other
        ("fan", "orders -> dlq -> orders"),  # through an exchange: dlq -> fan -> {orders, audit}
    ],
)
def test_dead_letter_cycles(target: str, cycle: str) -> None:
    """Dead-letter chains must end: a cycle is reported once, at the edge that closes it."""
    found = problems(edited("brokers.0.queues.2.dead_letter", target))
    where = "brokers[0].queues[2].dead_letter"
    assert len(found) == 1, found
    assert found[0] == (
        where,
        f"dead-letter cycle {cycle}: a message could be dead-lettered around it "
        "forever (for delayed retries use a consumer's retry: block)",
    )


def test_publish_cycles() -> None:
    """A pipeline that publishes back into itself would circulate every message forever."""
    data = base()
    data["consumers"].append(
        {"name": "auditor", "queue": "audit", "service": "1ms", "publish_to": ["orders"]}
    )
    found = problems(data)
    assert found == [
        (
            "consumers[2].publish_to[0]",
            "publish cycle orders -> audit -> orders: every processed "
            "message would be published around it forever",
        )
    ]


def test_malformed_destinations_do_not_cascade() -> None:
    """When a destination list is unreadable, unknown-name errors are not invented."""
    data = edited("brokers.0.queues", {"name": "orders"})
    assert problems(data) == []


def test_check_tolerates_garbage() -> None:
    """Any shape of data gives a list, never an exception."""
    for junk in (
        {},
        {"producers": 5},
        {"brokers": [None, 3, {"queues": [1]}]},
        {"consumers": [{"publish_to": 4}]},
    ):
        assert isinstance(check_references(junk), list)


def test_render_path() -> None:
    """Paths read like the YAML: dots for keys, brackets for indices."""
    assert render_path(("consumers", 0, "service", "scv")) == "consumers[0].service.scv"
    assert render_path(()) == ""


@pytest.mark.parametrize(
    ("pattern", "key", "hit"),
    [
        ("order.created", "order.created", True),  # exact
        ("order.*", "order.created", True),  # * is one word
        ("order.*", "order.created.eu", False),  # ... exactly one
        ("order.#", "order", True),  # # is zero words
        ("order.#", "order.created.eu", True),  # ... or many
        ("#", "anything.at.all", True),  # everything
        ("*.eu", "order.created.eu", False),  # * does not span words
        ("#.eu", "order.created.eu", True),  # # spans words
        ("a.#.z", "a.z", True),  # # in the middle, zero words
        ("a.*.z", "a.z", False),  # * needs a word
    ],
)
def test_topic_matches(pattern: str, key: str, hit: bool) -> None:
    """Topic-exchange matching follows RabbitMQ's rules for * and #."""
    assert topic_matches(pattern, key) is hit


def test_graph_routes_and_lookups() -> None:
    """The resolved graph knows hosts, routes, consumers and producers of each destination."""
    g = resolve(Scenario.model_validate(base()))
    assert g.destinations["events"].broker.name == "kafka"
    assert g.destinations["fan"].kind == "exchange"
    assert g.route("orders") == ("orders",)
    assert g.route("fan") == ("orders", "audit")
    assert g.route("router", "order.created") == ("orders", "audit")
    assert g.route("router", "invoice.paid") == ("audit",)
    assert g.route("direct", "a") == ("audit",) and g.route("direct", "b") == ()
    assert [c.name for c in g.consumers_of["orders"]] == ["workers"]
    assert [p.name for p in g.producers_to["events"]] == ["iot"]
    assert g.consumers_of["dlq"] == ()


def test_resolve_rechecks_tweaked_scenarios() -> None:
    """model_copy skips validation; resolve() still refuses a dangling reference, naming it."""
    s = Scenario.model_validate(base())
    bad = s.model_copy(update={"producers": (s.producers[0].model_copy(update={"to": "nowhere"}),)})
    with pytest.raises(
        ScenarioError, match=r"scenario 'graph' has 1 error\n  producers\[0\].to: unknown"
    ):
        resolve(bad)


def test_check_works_on_dumped_models() -> None:
    """The same check reads Scenario.model_dump() (how code-built scenarios are checked)."""
    data = Scenario.model_validate(base()).model_dump()
    assert check_references(copy.deepcopy(data)) == []
