"""Consumers: who takes messages off a queue or topic, how long the work takes, and what
happens when it fails."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PlainSerializer, model_validator

from qsim.scenario.schema_broker import Balancer, Failures, _check_weights
from qsim.scenario.schema_dist import Dist
from qsim.scenario.schema_types import Duration, Float, Int, Name, ScenarioModel, field_error

__all__ = ["Batch", "Consumer", "InstanceOutage", "Retry"]


class Batch(ScenarioModel):
    """Batch consumption: take up to ``max_size`` messages, waiting at most ``max_wait``.

    A batch of n messages takes ``fixed + n * per_message`` seconds.
    """

    max_size: Int = Field(ge=1, description="Most messages in one batch (integer >= 1).")
    max_wait: Duration = Field(
        ge=0, description="Longest wait for a batch to fill before starting it anyway (YAML: 50ms)."
    )
    fixed: Duration = Field(
        0.0, ge=0, description="Fixed cost of one batch, in seconds (YAML: 5ms)."
    )
    per_message: Duration = Field(
        0.0, ge=0, description="Extra cost per message in the batch, in seconds (YAML: 1ms)."
    )

    @model_validator(mode="after")
    def _some_work(self) -> Batch:
        if not self.fixed + self.per_message > 0:
            raise field_error("per_message", "fixed + per_message must be > 0")
        return self


class Retry(ScenarioModel):
    """Negative acknowledgement and retry of failed messages, then dead-lettering."""

    max_retries: Int = Field(3, ge=0, description="Retries after the first failure (integer >= 0).")
    backoff: Literal["fixed", "exponential"] = Field(
        "exponential",
        description="fixed: wait `delay` each time; exponential: delay * multiplier^(n-1).",
    )
    delay: Duration = Field(0.1, ge=0, description="Wait before the first retry (default 100ms).")
    multiplier: Float = Field(
        2.0, ge=1, description="Growth factor per retry (exponential backoff only)."
    )
    max_delay: Duration | None = Field(
        None,
        gt=0,
        description="Cap on one wait (YAML: 30s; exponential backoff only); none: no cap.",
    )
    jitter: Literal["none", "full", "equal"] = Field(
        "none",
        description="none; full: wait uniform in [0, d]; equal: d/2 + uniform in [0, d/2].",
    )
    dead_letter: Name | None = Field(
        None,
        description=(
            "Where a message goes after its last retry; none: the "
            "queue's dead_letter (else dropped)."
        ),
    )

    @model_validator(mode="after")
    def _exponential_only(self) -> Retry:
        if self.backoff == "fixed":
            for name in ("multiplier", "max_delay"):
                if name in self.model_fields_set:
                    raise field_error(name, "only applies with backoff: exponential")
        return self


class InstanceOutage(ScenarioModel):
    """A scheduled outage of consumer instances (a deploy, a drill)."""

    at: Duration = Field(
        ge=0, description="Start, in seconds from the start of the run (YAML: 2h)."
    )
    duration: Duration = Field(gt=0, description="How long the instance is down (YAML: 10m).")
    instance: Int | None = Field(
        None, ge=0, description="0-based index of the instance that goes down; none: all instances."
    )


def _unlimited(value: Any) -> Any:
    return None if value == "unlimited" else value


def _write_unlimited(value: int | None) -> int | str:
    return "unlimited" if value is None else value


def _as_list(value: Any) -> Any:
    return (value,) if isinstance(value, str) else value


class Consumer(ScenarioModel):
    """A pool of identical consumer instances reading one queue, or one group on a topic."""

    name: Name = Field(description="Unique consumer name.")
    queue: Name | None = Field(None, description="Queue to consume from (or give `topic`).")
    topic: Name | None = Field(
        None, description="Partitioned topic to consume from (or give `queue`)."
    )
    group: Name | None = Field(
        None, description="Consumer group on the topic; none: the consumer's name. Topic only."
    )
    instances: Int = Field(
        1, ge=1, description="Consumer processes (pods) in the pool (integer >= 1)."
    )
    concurrency: Int = Field(
        1, ge=1, description="Messages one instance works on at once (threads/channels, >= 1)."
    )
    prefetch: Annotated[
        Int | None,
        BeforeValidator(_unlimited),
        PlainSerializer(_write_unlimited, when_used="json"),
    ] = Field(
        1,
        ge=1,
        description=(
            "Most unacked messages per instance (basic.qos; integer >= 1 or unlimited). "
            "Default 1, the shared-queue M/M/c behaviour; RabbitMQ's own default is unlimited."
        ),
    )
    ack: Literal["manual", "auto"] = Field(
        "manual",
        description=(
            "manual: ack after processing (redelivered if the instance fails); auto: on delivery."
        ),
    )
    service: Dist | None = Field(
        None,
        description=(
            "Processing time of one message: a distribution such as {dist: lognormal, "
            "mean: 50ms, scv: 1.5}, or a bare duration for exponential. Required unless `batch`."
        ),
    )
    batch: Batch | None = Field(None, description="Batch processing instead of `service`.")
    fail_probability: Float = Field(
        0.0, ge=0, le=1, description="Probability a processing attempt fails (nack), 0..1."
    )
    retry: Retry = Field(default_factory=Retry, description="What happens to failed messages.")
    balancer: Balancer | None = Field(
        None,
        description=(
            "How the queue spreads messages over instances (default round-robin). Queue only."
        ),
    )
    weights: tuple[Float, ...] | None = Field(
        None,
        description="Relative instance weights, one per instance; only with balancer: weighted.",
    )
    publish_to: Annotated[tuple[Name, ...], BeforeValidator(_as_list)] = Field(
        (), description="Destinations each processed message is published to next (pipelines)."
    )
    failures: Failures | None = Field(
        None, description="Random failures of each instance, e.g. {mtbf: 3d, mttr: 5m}."
    )
    outages: tuple[InstanceOutage, ...] = Field((), description="Scheduled instance outages.")
    rebalance: Duration | None = Field(
        None,
        ge=0,
        description=(
            "Pause of the whole group while it rebalances (a member fails or joins). Topic only."
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> Consumer:
        if (self.queue is None) == (self.topic is None):
            raise field_error("queue", "give exactly one of queue: or topic:")
        if self.topic is None:
            for name in ("group", "rebalance"):
                if getattr(self, name) is not None:
                    raise field_error(name, "only applies to consumers of a topic:")
        elif self.balancer is not None:
            raise field_error("balancer", "topic consumers get partitions, not a balancer")
        if (self.service is None) == (self.batch is None):
            raise field_error("service", "give exactly one of service: or batch:")
        if self.batch is not None:
            if self.topic is not None:
                raise field_error("batch", "batch consumption is modelled for queues only")
            if "prefetch" not in self.model_fields_set:
                # A batch can only fill when the instance may hold a whole batch per slot;
                # an explicit smaller prefetch is simulated as configured (batches that
                # never fill, each waiting out max_wait).
                object.__setattr__(self, "prefetch", self.concurrency * self.batch.max_size)
        if self.ack == "auto":
            for name in ("prefetch", "retry"):
                if name in self.model_fields_set:
                    raise field_error(name, "only applies with ack: manual")
        _check_weights(self.balancer or "round-robin", self.weights, self.instances, "instances")
        for i, o in enumerate(self.outages):
            if o.instance is not None and o.instance >= self.instances:
                raise field_error(
                    ("outages", i, "instance"),
                    f"must be < instances ({self.instances}), got {o.instance}",
                )
        return self

    @property
    def group_name(self) -> str | None:
        """The consumer group on the topic (the consumer's name unless ``group`` is set)."""
        return None if self.topic is None else (self.group or self.name)
