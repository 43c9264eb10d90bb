"""Producers and their arrival processes.

A producer publishes to one destination (a queue, an exchange or a partitioned topic) at
``rate`` with Poisson arrivals unless ``arrival:`` says otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from qsim.scenario.schema_dist import KeyDist
from qsim.scenario.schema_types import (
    Duration,
    Float,
    Int,
    Name,
    Rate,
    ScenarioModel,
    Size,
    TaggedModel,
    field_error,
    tagged,
    value_error,
)

__all__ = [
    "Arrival",
    "DeterministicArrival",
    "DiurnalArrival",
    "MmppArrival",
    "MmppState",
    "PiecewiseArrival",
    "PoissonArrival",
    "Producer",
    "RateStep",
    "TraceArrival",
]


class PoissonArrival(TaggedModel):
    """Poisson arrivals (exponential gaps) at the producer's ``rate``."""

    tag_field: ClassVar[str] = "process"

    process: Literal["poisson"] = Field("poisson", description="Arrival process name.")


class DeterministicArrival(TaggedModel):
    """Evenly spaced arrivals, one every 1 / ``rate`` seconds."""

    tag_field: ClassVar[str] = "process"

    process: Literal["deterministic"] = Field("deterministic", description="Arrival process name.")


class MmppState(ScenarioModel):
    """One state of a Markov-modulated Poisson process."""

    rate: Rate = Field(ge=0, description="Poisson rate in this state, per second (YAML: 50/s).")
    mean_sojourn: Duration | None = Field(
        None, gt=0, description="Mean time spent in this state, in seconds (YAML: 10m)."
    )
    switch_rate: Rate | None = Field(
        None, gt=0, description="Rate of leaving this state, per second (1 / mean_sojourn)."
    )

    @model_validator(mode="after")
    def _one_holding_time(self) -> MmppState:
        if (self.mean_sojourn is None) == (self.switch_rate is None):
            raise field_error("mean_sojourn", "give exactly one of mean_sojourn or switch_rate")
        return self

    @property
    def leave_rate(self) -> float:
        """Rate of leaving the state, per second."""
        return self.switch_rate if self.switch_rate is not None else 1.0 / self.mean_sojourn  # type: ignore[operator]


class MmppArrival(TaggedModel):
    """Bursty arrivals: Poisson at a rate that switches between states (MMPP)."""

    tag_field: ClassVar[str] = "process"

    process: Literal["mmpp"] = Field("mmpp", description="Arrival process name.")
    states: tuple[MmppState, ...] = Field(
        min_length=2, description="Two or more states, each a rate and how long it lasts."
    )
    transitions: tuple[tuple[Float, ...], ...] | None = Field(
        None,
        description=(
            "Where the process jumps when it leaves a state: an n x n matrix of "
            "probabilities, rows summing to 1, zero diagonal. Default: with 2 states each "
            "goes to the other; with more, to every other state equally likely."
        ),
    )

    @model_validator(mode="after")
    def _matrix(self) -> MmppArrival:
        n = len(self.states)
        if self.transitions is None:
            return self
        if len(self.transitions) != n:
            raise field_error("transitions", f"must have {n} rows (one per state)")
        for i, row in enumerate(self.transitions):
            if len(row) != n:
                raise field_error(("transitions", i), f"must have {n} entries")
            if any(p < 0 for p in row) or row[i] != 0 or abs(sum(row) - 1) > 1e-9:
                raise field_error(
                    ("transitions", i),
                    "must be probabilities >= 0 summing to 1 with 0 on the diagonal",
                )
        return self


class RateStep(ScenarioModel):
    """From time ``at`` on, arrivals are Poisson at ``rate``."""

    at: Duration = Field(ge=0, description="Start of this step, seconds from the start (YAML: 8h).")
    rate: Rate = Field(ge=0, description="Poisson rate from ``at`` on, per second (YAML: 300/s).")


class PiecewiseArrival(TaggedModel):
    """Time-varying Poisson arrivals with a piecewise-constant rate (simulated by thinning)."""

    tag_field: ClassVar[str] = "process"

    process: Literal["piecewise"] = Field("piecewise", description="Arrival process name.")
    rates: tuple[RateStep, ...] = Field(
        min_length=1, description="Steps in time order; the first starts at 0s."
    )
    period: Duration | None = Field(
        None,
        gt=0,
        description="Repeat the steps every period, in seconds (YAML: 24h); none: hold the last.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> PiecewiseArrival:
        if self.rates[0].at != 0:
            raise field_error(("rates", 0, "at"), "the first step must start at 0s")
        for i in range(1, len(self.rates)):
            if not self.rates[i].at > self.rates[i - 1].at:
                raise field_error(("rates", i, "at"), "steps must be in increasing time order")
        if self.period is not None and not self.rates[-1].at < self.period:
            raise field_error(("rates", len(self.rates) - 1, "at"), "must be < period")
        if not any(step.rate > 0 for step in self.rates):
            raise field_error("rates", "at least one step must have a rate > 0")
        return self


class DiurnalArrival(TaggedModel):
    """Poisson arrivals whose rate follows a daily cosine around the producer's ``rate``.

    rate(t) = rate * (1 + amplitude * cos(2 pi (t - peak) / period)).
    """

    tag_field: ClassVar[str] = "process"

    process: Literal["diurnal"] = Field("diurnal", description="Arrival process name.")
    amplitude: Float = Field(
        ge=0, le=1, description="Relative swing around the mean rate, 0..1 (0.5: +-50 %)."
    )
    peak: Duration = Field(
        ge=0, description="Time of the busiest moment within a period (YAML: 14h)."
    )
    period: Duration = Field(
        86400.0, gt=0, description="Length of one cycle, in seconds (default 24h)."
    )

    @model_validator(mode="after")
    def _peak_in_period(self) -> DiurnalArrival:
        if not self.peak < self.period:
            raise field_error("peak", "must be < period")
        return self


def _column(value: Any) -> Any:
    """A header name or a 0-based index; anything else is refused before the union."""
    if isinstance(value, str) or (
        isinstance(value, int) and not isinstance(value, bool) and value >= 0
    ):
        return value
    raise value_error("a column name or a 0-based column index")


class TraceArrival(TaggedModel):
    """Arrivals replayed from a CSV file of timestamps (one message per row)."""

    tag_field: ClassVar[str] = "process"

    process: Literal["trace"] = Field("trace", description="Arrival process name.")
    path: str = Field(
        description=(
            "CSV file of arrival timestamps; a relative path is read from the scenario "
            "file's folder. The file must exist; it is opened only when the scenario runs."
        )
    )
    column: Annotated[str | int, BeforeValidator(_column)] = Field(
        0, description="Column holding the timestamps: its header name or 0-based index."
    )
    time_unit: Literal["s", "ms", "us", "ns"] = Field(
        "s", description="Unit of the timestamps in the file."
    )
    loop: bool = Field(False, description="Replay the trace again when it ends before `duration`.")

    @field_validator("path")
    @classmethod
    def _exists(cls, value: str, info: ValidationInfo) -> str:
        base = (info.context or {}).get("base_dir")
        path = Path(value).expanduser()
        if base is not None and not path.is_absolute():
            path = Path(os.path.normpath(Path(base) / path))
        if not path.is_file():
            state = "is not a file" if path.exists() else "does not exist"
            raise value_error(f"an existing file, and {str(path)!r} {state}")
        return str(path) if base is not None else value


def _named_process(value: Any) -> Any:
    """``arrival: mmpp`` is short for ``arrival: {process: mmpp}``."""
    return {"process": value} if isinstance(value, str) else value


#: An arrival process, told apart by ``process:`` (default ``poisson``).
Arrival = tagged(
    "process",
    (
        PoissonArrival,
        DeterministicArrival,
        MmppArrival,
        PiecewiseArrival,
        DiurnalArrival,
        TraceArrival,
    ),
    what="an arrival process",
    default="poisson",
    shorthand=_named_process,
)

_RATE_FROM_PRODUCER = ("poisson", "deterministic", "diurnal")


def _single_priority(value: Any) -> Any:
    """``priority: 5`` is short for ``priority: {5: 1}`` (every message priority 5)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return {value: 1.0}
    return value


class Producer(ScenarioModel):
    """A source of messages: a service, a fleet of devices, a batch job."""

    name: Name = Field(description="Unique producer name.")
    to: Name = Field(description="Destination: the name of a queue, exchange or topic.")
    rate: Rate | None = Field(
        None,
        gt=0,
        description=(
            "Mean messages per second (YAML: 120/s, 7k/min). Required for poisson, "
            "deterministic and diurnal arrivals; mmpp, piecewise and trace carry their own."
        ),
    )
    arrival: Arrival = Field(
        default_factory=PoissonArrival,
        description=(
            "Arrival process: poisson (default), deterministic, mmpp, piecewise, diurnal, trace."
        ),
    )
    keys: KeyDist | None = Field(
        None,
        description=(
            "How message keys are drawn (for key-hash partitioners and balancers): "
            "{dist: uniform, n: 1000} or {dist: zipf, n: 1000, s: 1.1}. None: no key."
        ),
    )
    routing_key: str | None = Field(
        None, description="Routing key for direct and topic exchanges (e.g. order.created.eu)."
    )
    priority: Annotated[dict[Int, Float] | None, BeforeValidator(_single_priority)] = Field(
        None,
        description=(
            "Message priority 0..255: one number, or a mapping priority -> weight to draw "
            "from (e.g. {0: 0.9, 9: 0.1}). Only priority queues use it. None: all 0."
        ),
    )
    size: Size | None = Field(
        None, ge=0, description="Message size in bytes (YAML: 2KiB); used by max_bytes limits."
    )
    persistent: bool = Field(
        False,
        description="Persistent (delivery mode 2) messages: written to disk on durable queues.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Producer:
        process = self.arrival.process
        if process in _RATE_FROM_PRODUCER and self.rate is None:
            raise field_error("rate", f"is required with {process} arrivals")
        if process not in _RATE_FROM_PRODUCER and self.rate is not None:
            raise field_error("rate", f"must not be set: {process} arrivals carry their own rates")
        for prio, weight in (self.priority or {}).items():
            if not 0 <= prio <= 255:
                raise field_error(("priority", prio), f"priority must be in 0..255, got {prio}")
            if not weight > 0:
                raise field_error(("priority", prio), f"weight must be > 0, got {weight!r}")
        return self
