"""Schema parts for component models: ``model:`` on brokers, queues and topics, and ``ingress:``.

:class:`Profiled` is the base of :class:`~qsim.scenario.schema_broker.Broker`,
``Queue`` and ``Topic``: before validation it fills in the defaults of the named model
(:mod:`qsim.scenario.profiles`), and it reports an unknown model, or one without defaults
for that kind, at the ``model`` value with the known names.

:class:`Ingress` is the broker's own work per message on one queue, or on each partition of
a topic, as the simulator models it (:mod:`qsim.sim.brokercost`): a single server taking
``1 / ceiling`` seconds per message, in arrival order, plus a constant ``latency`` before
the message can be delivered.

>>> Ingress(ceiling="20000/s", latency="0.5ms").service
5e-05
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from qsim.scenario.profiles import KINDS, check_model, expand_broker, expand_destination
from qsim.scenario.schema_types import Duration, Rate, ScenarioModel, field_error

__all__ = ["Ingress", "Profiled", "ingress_field", "ingress_reason", "model_field"]


class Ingress(ScenarioModel):
    """The broker's own work per message on one queue, or on each partition of a topic.

    A message published to the destination first passes a FIFO single server that spends
    ``1 / ceiling`` seconds on it (the queue process, the partition leader), then waits
    ``latency`` (persistence, replication) before it reaches the queue or partition and can
    be delivered. At low load this adds about ``1 / ceiling + latency`` to every message's
    end-to-end response; the destination never takes in more than ``ceiling`` per second.
    """

    ceiling: Rate | None = Field(
        None,
        gt=0,
        description=(
            "Most messages per second the queue (each partition) takes in; each occupies the "
            "broker for 1/ceiling seconds (YAML: 25000/s); none: no limit."
        ),
    )
    latency: Duration = Field(
        0.0,
        ge=0,
        description="Delay from accepted to deliverable, for every message (YAML: 5ms).",
    )

    @property
    def service(self) -> float:
        """Seconds of broker time per message (0 without a ceiling)."""
        return 1.0 / self.ceiling if self.ceiling else 0.0

    @property
    def active(self) -> bool:
        """Whether the stage does anything."""
        return self.ceiling is not None or self.latency > 0


class Profiled(ScenarioModel):
    """Base of the scenario parts a component model can fill in (``model_kind`` says which)."""

    model_kind: ClassVar[str] = "queue"

    @model_validator(mode="before")
    @classmethod
    def _expand_model(cls, value: Any) -> Any:
        if cls.model_kind == "broker":
            return expand_broker(value)
        return expand_destination(value, cls.model_kind)

    @field_validator("model", mode="after", check_fields=False)
    @classmethod
    def _known_model(cls, value: str | None) -> str | None:
        if value is not None:
            problem = check_model(value, cls.model_kind)
            if problem is not None:
                raise field_error((), problem)
        return value

    @model_serializer(mode="wrap")
    def _keep_overrides(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> Any:
        data = handler(self)
        # NOTE: without defaults, a field stated equal to the schema default (durable:
        # false, failover.promotion: 2s) would be left out, and loading the dump would give
        # the model's value: with a model, the fields it sets are written in full.
        if isinstance(data, dict) and info.exclude_defaults and getattr(self, "model", None):
            for key in KINDS[self.model_kind]:
                value = getattr(self, key)
                if isinstance(value, BaseModel):
                    data[key] = value.model_dump(mode=info.mode)
                elif key not in data:
                    data[key] = value
            for key in ("queues", "topics") if self.model_kind == "broker" else ():
                for item, spec in zip(data.get(key, ()), getattr(self, key), strict=False):
                    if isinstance(item, dict) and spec.model is None:
                        item["model"] = None  # opted out of the broker's model
        return data


def model_field(kind: str) -> Any:
    """The ``model`` field of a broker, queue or topic."""
    what = (
        "a broker: defaults for the broker and for its queues and topics"
        if kind == "broker"
        else f"this {kind}"
    )
    return Field(
        None,
        description=(
            f"Component model (models/, e.g. rabbitmq-quorum) giving defaults for {what}; "
            "stated fields win."
        ),
    )


def ingress_field() -> Any:
    """The ``ingress`` field of a queue or topic."""
    return Field(
        None,
        description=(
            "The broker's own work per message (per partition for a topic): "
            "{ceiling: 25000/s, latency: 5ms}; none: free and instantaneous."
        ),
    )


def ingress_reason(scenario: Any) -> str | None:
    """The first destination with an active ingress stage, said as an engine would.

    For engines that do not model the broker's own work (``supports()``): None when no
    queue or topic has one.
    """
    for broker in scenario.brokers:
        for kind, items in (("queue", broker.queues), ("topic", broker.topics)):
            for d in items:
                if d.ingress is not None and d.ingress.active:
                    source = f" (from model {d.model!r})" if d.model else ""
                    return f"{kind} {d.name!r} has a broker ingress stage{source}"
    return None
