"""The scenario schema: a frozen pydantic model of everything a scenario file can say.

The top level is :class:`Scenario`; the parts live in ``schema_dist`` (distributions),
``schema_producer`` (producers, arrival processes), ``schema_broker`` (brokers, queues,
exchanges, topics, failover) and ``schema_consumer`` (consumers, batching, retries), and are
re-exported here. Durations are stored in seconds, rates per second, sizes in bytes; YAML
writes them with units (``50ms``, ``1200/s``, ``64KiB``).

Building a scenario in code checks the same rules as loading a file, references included:

>>> s = Scenario(
...     name="demo", duration="1h",
...     producers=[{"name": "web", "to": "orders", "rate": "120/s"}],
...     brokers=[{"name": "rabbit", "queues": [{"name": "orders"}]}],
...     consumers=[{"name": "workers", "queue": "orders", "instances": 2, "service": "10ms"}],
... )
>>> s.duration, s.producers[0].rate, s.consumers[0].service.mean
(3600.0, 120.0, 0.01)
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from qsim.scenario.resolve import check_references
from qsim.scenario.schema_broker import (
    Balancer,
    Binding,
    Broker,
    Exchange,
    Failover,
    Failures,
    NodeOutage,
    Queue,
    Topic,
)
from qsim.scenario.schema_consumer import Batch, Consumer, InstanceOutage, Retry
from qsim.scenario.schema_dist import (
    DeterministicDist,
    Dist,
    EmpiricalDist,
    ErlangDist,
    ExponentialDist,
    GammaDist,
    HyperExponentialDist,
    KeyDist,
    LognormalDist,
    UniformDist,
    UniformKeys,
    ZipfKeys,
)
from qsim.scenario.schema_plan import Plan, PlanVariable, check_plan
from qsim.scenario.schema_producer import (
    Arrival,
    DeterministicArrival,
    DiurnalArrival,
    MmppArrival,
    MmppState,
    PiecewiseArrival,
    PoissonArrival,
    Producer,
    RateStep,
    TraceArrival,
)
from qsim.scenario.schema_types import (
    Duration,
    Float,
    Int,
    Multiplier,
    Name,
    ScenarioModel,
    field_error,
)

__all__ = [
    "SLO",
    "Arrival",
    "Balancer",
    "Batch",
    "Binding",
    "Broker",
    "Consumer",
    "DeterministicArrival",
    "DeterministicDist",
    "Dist",
    "DiurnalArrival",
    "EmpiricalDist",
    "ErlangDist",
    "Exchange",
    "ExponentialDist",
    "Failover",
    "Failures",
    "GammaDist",
    "HyperExponentialDist",
    "InstanceOutage",
    "KeyDist",
    "LognormalDist",
    "MmppArrival",
    "MmppState",
    "NodeOutage",
    "PiecewiseArrival",
    "Plan",
    "PlanVariable",
    "PoissonArrival",
    "Producer",
    "Queue",
    "RateStep",
    "Retry",
    "Scenario",
    "Topic",
    "TraceArrival",
    "UniformDist",
    "UniformKeys",
    "ZipfKeys",
]


def _target(what: str) -> Any:
    return Field(None, gt=0, description=f"Target for the {what}, in seconds (YAML: 200ms).")


class SLO(ScenarioModel):
    """Service-level objectives the run is judged against (end to end, over all messages).

    Response is publish-to-ack time (wait + service); wait is publish-to-start of service.
    """

    p50_response: Duration | None = _target("median response time")
    p95_response: Duration | None = _target("95th percentile of response time")
    p99_response: Duration | None = _target("99th percentile of response time")
    p999_response: Duration | None = _target("99.9th percentile of response time")
    mean_response: Duration | None = _target("mean response time")
    p50_wait: Duration | None = _target("median wait")
    p95_wait: Duration | None = _target("95th percentile of wait")
    p99_wait: Duration | None = _target("99th percentile of wait")
    p999_wait: Duration | None = _target("99.9th percentile of wait")
    mean_wait: Duration | None = _target("mean wait")
    max_loss: Float | None = Field(
        None,
        ge=0,
        le=1,
        description="Largest fraction of messages lost (rejected, dropped, expired), 0..1.",
    )
    max_utilization: Float | None = Field(
        None, gt=0, le=1, description="Largest consumer utilization (busy fraction), in (0, 1]."
    )
    max_dead_letter: Float | None = Field(
        None,
        ge=0,
        le=1,
        description="Largest fraction of a queue's messages dead-lettered (worst queue), 0..1.",
    )
    min_availability: Float | None = Field(
        None,
        gt=0,
        le=1,
        description="Smallest fraction of time each broker's destinations are available, (0, 1].",
    )

    @model_validator(mode="after")
    def _something(self) -> SLO:
        if not any(v is not None for v in self.__dict__.values()):
            raise field_error("p99_response", "an slo block needs at least one target")
        return self


class Scenario(ScenarioModel):
    """A what-if scenario: producers, brokers and consumers, how long to run, what to meet."""

    name: Name = Field(description="Short name, used in results and reports.")
    description: str | None = Field(None, description="What question this scenario answers.")
    seed: Int | None = Field(
        None,
        ge=0,
        description="Seed of every random stream (integer >= 0); none: fresh entropy, logged.",
    )
    duration: Duration = Field(gt=0, description="Simulated time per replication (YAML: 1h).")
    warmup: Duration = Field(
        0.0, ge=0, description="Initial time discarded from statistics (YAML: 5m); < duration."
    )
    replications: Int = Field(
        10, ge=1, description="Independent replications, for confidence intervals."
    )
    engine: Literal["auto", "sim", "fast"] = Field(
        "auto", description="auto (fast when the scenario allows it, else sim), sim or fast."
    )
    load: Multiplier = Field(
        1.0,
        gt=0,
        description=(
            "Multiplies every producer's rate (YAML: 3x asks 'what at three times the load')."
        ),
    )
    slo: SLO | None = Field(None, description="Objectives to check; none: just report.")
    plan: Plan | None = Field(
        None, description="Decision variables for `qsim plan`: ranges, unit costs, planned load."
    )
    producers: tuple[Producer, ...] = Field(min_length=1, description="Message sources.")
    brokers: tuple[Broker, ...] = Field(
        min_length=1, description="Broker clusters and their destinations."
    )
    consumers: tuple[Consumer, ...] = Field((), description="Consumer pools.")

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Scenario:
        if not self.warmup < self.duration:
            raise field_error("warmup", "must be < duration")
        if self.plan is not None:
            check_plan(self, info.context)
        if (info.context or {}).get("skip_references"):
            return self
        problems = check_references(self.model_dump())
        if problems:
            lines = "\n".join(f"  {p.where}: {p.message}" for p in problems)
            raise PydanticCustomError(
                "qsim_references",
                "{count} reference error(s):\n{lines}",
                {"count": len(problems), "lines": lines, "problems": problems},
            )
        return self
