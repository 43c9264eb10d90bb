"""Brokers and the destinations they offer: queues, exchanges, partitioned topics.

Destination names (queues, exchanges and topics of every broker) share one namespace:
producers and consumers refer to them by name alone. A broker, queue or topic may name a
component model (``model: rabbitmq-quorum``, see :mod:`qsim.scenario.profiles` and
``models/``) that fills in the fields it does not state.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from qsim.scenario.schema_dist import Dist
from qsim.scenario.schema_profile import Ingress, Profiled, ingress_field, model_field
from qsim.scenario.schema_types import (
    Duration,
    Float,
    Int,
    Name,
    ScenarioModel,
    Size,
    TaggedModel,
    field_error,
)

__all__ = [
    "Balancer",
    "Binding",
    "Broker",
    "Exchange",
    "Failover",
    "Failures",
    "Ingress",
    "NodeOutage",
    "Queue",
    "Topic",
]

#: How work is spread over consumers or broker nodes.
Balancer = Literal["round-robin", "random", "weighted", "key-hash", "least-loaded", "power-of-two"]

_WORD = re.compile(r"[^.*#]+|\*|#")


class Queue(Profiled):
    """A point-to-point queue (a RabbitMQ queue): each message goes to one consumer."""

    model_kind: ClassVar[str] = "queue"

    name: Name = Field(description="Unique destination name.")
    capacity: Int | None = Field(
        None,
        ge=1,
        description="Most messages held, waiting plus unacked (integer >= 1); none: unbounded.",
    )
    max_bytes: Size | None = Field(
        None,
        gt=0,
        description="Most bytes held (YAML: 512MiB); none: unbounded. Uses producer `size`.",
    )
    overflow: Literal["reject", "drop-head", "block"] = Field(
        "reject",
        description=(
            "When full: reject the new message (lost, counted), drop-head (drop the oldest; "
            "to dead_letter if set; RabbitMQ's default) or block "
            "(the producer waits: backpressure)."
        ),
    )
    durable: bool = Field(False, description="Survives a broker restart (persistent messages too).")
    ordering: Literal["fifo", "priority"] = Field(
        "fifo", description="fifo, or priority (higher producer `priority` first, fifo within one)."
    )
    ttl: Duration | None = Field(
        None,
        gt=0,
        description="Message time-to-live in the queue (YAML: 30s); expired go to dead_letter.",
    )
    dead_letter: Name | None = Field(
        None,
        description=(
            "Queue or exchange receiving expired, dropped and "
            "finally rejected messages; none: discarded."
        ),
    )
    auto_delete: bool = Field(
        False,
        description="Temporary queue: deleted, with its messages, when its last consumer leaves.",
    )
    replicas: Int = Field(
        1, ge=1, description="Copies on distinct nodes (mirrored/quorum queue); <= nodes."
    )
    node: Int | None = Field(
        None,
        ge=0,
        description=(
            "0-based index of the node hosting the queue; none: spread by the broker balancer."
        ),
    )
    model: Name | None = model_field("queue")
    ingress: Ingress | None = ingress_field()


def _queue_name(value: Any) -> Any:
    """A binding written as a bare queue name."""
    return {"queue": value} if isinstance(value, str) else value


class Binding(ScenarioModel):
    """Binds a queue to an exchange, optionally with a routing-key pattern."""

    queue: Name = Field(description="Name of the bound queue.")
    key: str | None = Field(
        None,
        description=(
            "Binding key: exact routing key for direct exchanges; a pattern for topic "
            "exchanges (words separated by '.', '*' one word, '#' zero or more words); "
            "not used by fanout exchanges."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return _queue_name(value)


class Exchange(ScenarioModel):
    """Publish/subscribe routing: every matching bound queue gets its own copy."""

    name: Name = Field(description="Unique destination name.")
    type: Literal["fanout", "topic", "direct"] = Field(
        "fanout",
        description="fanout (every bound queue), topic (pattern match) or direct (exact key).",
    )
    bindings: tuple[Binding, ...] = Field(
        min_length=1, description="Bound queues: names, or {queue: name, key: pattern}."
    )

    @model_validator(mode="after")
    def _keys(self) -> Exchange:
        for i, b in enumerate(self.bindings):
            if self.type == "fanout" and b.key is not None:
                raise field_error(("bindings", i, "key"), "fanout exchanges ignore keys: remove it")
            if self.type != "fanout" and b.key is None:
                raise field_error(("bindings", i), f"a {self.type} exchange binding needs a key")
            if (
                self.type == "topic"
                and b.key is not None
                and not all(_WORD.fullmatch(w) for w in b.key.split("."))
            ):
                raise field_error(
                    ("bindings", i, "key"),
                    "must be words separated by '.', each a word, '*' or '#'",
                )
        return self


class Topic(Profiled):
    """A partitioned log (a Kafka topic): order per partition, one group member per partition."""

    model_kind: ClassVar[str] = "topic"

    name: Name = Field(description="Unique destination name.")
    partitions: Int = Field(ge=1, description="Number of partitions (integer >= 1).")
    partitioner: Literal["key-hash", "round-robin"] = Field(
        "key-hash",
        description=(
            "key-hash (same key, same partition; keyless messages round-robin) or round-robin."
        ),
    )
    replicas: Int = Field(
        1, ge=1, description="Replication factor (copies on distinct nodes); <= nodes."
    )
    retention: Duration | None = Field(
        None,
        gt=0,
        description="Unconsumed messages older than this are deleted (YAML: 7d); none: kept.",
    )
    model: Name | None = model_field("topic")
    ingress: Ingress | None = ingress_field()


class Failover(TaggedModel):
    """How a backup node takes over when the primary fails."""

    tag_field: ClassVar[str] = "mode"

    mode: Literal["primary-backup"] = Field("primary-backup", description="Failover scheme.")
    health_check: Duration = Field(
        5.0, gt=0, description="Interval between health checks (default 5s)."
    )
    detection: Duration = Field(
        10.0,
        ge=0,
        description="Delay from the first failed check to declaring the node dead (default 10s).",
    )
    promotion: Duration = Field(
        2.0, ge=0, description="Time for the backup to start serving once promoted (default 2s)."
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"mode": value} if isinstance(value, str) else value


class Failures(ScenarioModel):
    """Random failures: up for a time drawn from ``mtbf``, then down for one from ``mttr``."""

    mtbf: Dist = Field(
        description=(
            "Time between failures: a duration (exponential mean, e.g. 7d) or a distribution."
        )
    )
    mttr: Dist = Field(
        description="Time to repair: a duration (exponential mean, e.g. 10m) or a distribution."
    )


class NodeOutage(ScenarioModel):
    """A scheduled outage of a broker node (a failover drill)."""

    at: Duration = Field(
        ge=0, description="Start, in seconds from the start of the run (YAML: 2h)."
    )
    duration: Duration = Field(gt=0, description="How long the node is down (YAML: 10m).")
    node: Int = Field(
        0, ge=0, description="0-based index of the node that goes down (default the primary, 0)."
    )


class Broker(Profiled):
    """A broker cluster (RabbitMQ, Kafka, NATS) and the destinations it hosts."""

    model_kind: ClassVar[str] = "broker"

    name: Name = Field(description="Unique broker name.")
    nodes: Int = Field(1, ge=1, description="Number of broker nodes (integer >= 1).")
    balancer: Balancer = Field(
        "round-robin", description="How queues, partitions and connections are spread over nodes."
    )
    weights: tuple[Float, ...] | None = Field(
        None, description="Relative node weights, one per node; only with balancer: weighted."
    )
    failover: Failover | None = Field(
        None,
        description="Failover scheme (needs nodes >= 2), e.g. primary-backup; none: no takeover.",
    )
    failures: Failures | None = Field(
        None, description="Random node failures (each node independently)."
    )
    outages: tuple[NodeOutage, ...] = Field((), description="Scheduled node outages.")
    queues: tuple[Queue, ...] = Field((), description="Queues hosted by this broker.")
    exchanges: tuple[Exchange, ...] = Field((), description="Exchanges (fanout, topic, direct).")
    topics: tuple[Topic, ...] = Field((), description="Partitioned topics (Kafka-like).")
    model: Name | None = model_field("broker")

    @model_validator(mode="after")
    def _consistent(self) -> Broker:
        if self.failover is not None and self.nodes < 2:
            raise field_error("failover", f"needs nodes >= 2, but nodes is {self.nodes}")
        _check_weights(self.balancer, self.weights, self.nodes, "nodes")
        for kind, items in (("queues", self.queues), ("topics", self.topics)):
            for i, d in enumerate(items):
                if d.replicas > self.nodes:
                    raise field_error(
                        (kind, i, "replicas"), f"must be <= nodes ({self.nodes}), got {d.replicas}"
                    )
        for i, q in enumerate(self.queues):
            if q.node is not None and q.node >= self.nodes:
                raise field_error(
                    ("queues", i, "node"), f"must be < nodes ({self.nodes}), got {q.node}"
                )
        for i, o in enumerate(self.outages):
            if o.node >= self.nodes:
                raise field_error(
                    ("outages", i, "node"), f"must be < nodes ({self.nodes}), got {o.node}"
                )
        return self


def _check_weights(balancer: str, weights: tuple[Float, ...] | None, count: int, what: str) -> None:
    """Weights go with ``balancer: weighted``, one positive weight per member."""
    if balancer == "weighted" and weights is None:
        raise field_error("weights", "are required with balancer: weighted")
    if weights is None:
        return
    if balancer != "weighted":
        raise field_error("weights", "only apply with balancer: weighted")
    if len(weights) != count:
        raise field_error(
            "weights", f"must have one entry per {what[:-1]} ({count}), got {len(weights)}"
        )
    for i, w in enumerate(weights):
        if not w > 0:
            raise field_error(("weights", i), f"must be > 0, got {w!r}")
