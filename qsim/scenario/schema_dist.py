"""Distributions as scenario files write them: ``{dist: lognormal, mean: 50ms, scv: 1.5}``.

Service times, failure and repair times are durations; every variant can build the
matching frozen object of :mod:`qsim.distributions` with :meth:`build`. Message keys for
hashing have their own small family (:data:`KeyDist`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from qsim.scenario.schema_types import Duration, Float, Int, TaggedModel, field_error, tagged

__all__ = [
    "DeterministicDist",
    "Dist",
    "EmpiricalDist",
    "ErlangDist",
    "ExponentialDist",
    "GammaDist",
    "HyperExponentialDist",
    "KeyDist",
    "LognormalDist",
    "UniformDist",
    "UniformKeys",
    "ZipfKeys",
]

_MEAN = "Mean, in seconds (YAML: a duration such as 50ms); must be > 0."
_SCV = "Squared coefficient of variation, variance / mean^2 (dimensionless)."


class ExponentialDist(TaggedModel):
    """Exponential (memoryless, scv = 1): the 'M' of M/M/c."""

    dist: Literal["exponential"] = Field("exponential", description="Family name.")
    mean: Duration = Field(gt=0, description=_MEAN)

    def build(self) -> Any:
        """The :class:`qsim.distributions.Exponential` this spec describes."""
        from qsim.distributions import Exponential

        return Exponential(mean=self.mean)


class DeterministicDist(TaggedModel):
    """A constant (scv = 0): the 'D' of M/D/1."""

    dist: Literal["deterministic"] = Field("deterministic", description="Family name.")
    value: Duration = Field(gt=0, description="The constant, in seconds (YAML: a duration).")

    def build(self) -> Any:
        """The :class:`qsim.distributions.Deterministic` this spec describes."""
        from qsim.distributions import Deterministic

        return Deterministic(value=self.value)


class ErlangDist(TaggedModel):
    """Erlang with ``k`` phases (scv = 1/k)."""

    dist: Literal["erlang"] = Field("erlang", description="Family name.")
    mean: Duration = Field(gt=0, description=_MEAN)
    k: Int = Field(ge=1, description="Number of exponential phases (integer >= 1); scv = 1/k.")

    def build(self) -> Any:
        """The :class:`qsim.distributions.Erlang` this spec describes."""
        from qsim.distributions import Erlang

        return Erlang(mean=self.mean, k=self.k)


class GammaDist(TaggedModel):
    """Gamma, given by mean and scv (any scv > 0)."""

    dist: Literal["gamma"] = Field("gamma", description="Family name.")
    mean: Duration = Field(gt=0, description=_MEAN)
    scv: Float = Field(gt=0, description=_SCV + " Must be > 0.")

    def build(self) -> Any:
        """The :class:`qsim.distributions.Gamma` this spec describes."""
        from qsim.distributions import Gamma

        return Gamma(mean=self.mean, scv=self.scv)


class LognormalDist(TaggedModel):
    """Lognormal, given by mean and scv (any scv > 0): a common fit for service times."""

    dist: Literal["lognormal"] = Field("lognormal", description="Family name.")
    mean: Duration = Field(gt=0, description=_MEAN)
    scv: Float = Field(gt=0, description=_SCV + " Must be > 0.")

    def build(self) -> Any:
        """The :class:`qsim.distributions.Lognormal` this spec describes."""
        from qsim.distributions import Lognormal

        return Lognormal(mean=self.mean, scv=self.scv)


class HyperExponentialDist(TaggedModel):
    """Two-phase hyperexponential, given by mean and scv >= 1 (highly variable work)."""

    dist: Literal["hyperexponential"] = Field("hyperexponential", description="Family name.")
    mean: Duration = Field(gt=0, description=_MEAN)
    scv: Float = Field(ge=1, description=_SCV + " Must be >= 1.")

    def build(self) -> Any:
        """The :class:`qsim.distributions.HyperExponential` this spec describes."""
        from qsim.distributions import HyperExponential

        return HyperExponential(mean=self.mean, scv=self.scv)


class UniformDist(TaggedModel):
    """Uniform between ``low`` and ``high``."""

    dist: Literal["uniform"] = Field("uniform", description="Family name.")
    low: Duration = Field(ge=0, description="Lower end, in seconds (YAML: a duration); >= 0.")
    high: Duration = Field(gt=0, description="Upper end, in seconds (YAML: a duration); > low.")

    @model_validator(mode="after")
    def _ordered(self) -> UniformDist:
        if not self.high > self.low:
            raise field_error("high", f"must be > low ({self.low!r} s), got {self.high!r} s")
        return self

    def build(self) -> Any:
        """The :class:`qsim.distributions.Uniform` this spec describes."""
        from qsim.distributions import Uniform

        return Uniform(low=self.low, high=self.high)


class EmpiricalDist(TaggedModel):
    """Resampling of measured values (e.g. service times from production logs)."""

    dist: Literal["empirical"] = Field("empirical", description="Family name.")
    samples: tuple[Duration, ...] = Field(
        min_length=1,
        description="Observed values, in seconds (YAML: durations); each >= 0, mean > 0.",
    )

    @model_validator(mode="after")
    def _valid(self) -> EmpiricalDist:
        for i, s in enumerate(self.samples):
            if s < 0:
                raise field_error(("samples", i), f"must be >= 0, got {s!r} s")
        if not sum(self.samples) > 0:
            raise field_error("samples", "must not all be 0")
        return self

    def build(self) -> Any:
        """The :class:`qsim.distributions.Empirical` this spec describes."""
        from qsim.distributions import Empirical

        return Empirical(samples=self.samples)


def _bare_duration(value: Any) -> Any:
    """``50ms`` (or a number of seconds) alone means exponential with that mean."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {"dist": "exponential", "mean": value}
    return value


#: A duration-valued distribution, told apart by ``dist:`` (default ``exponential``).
Dist = tagged(
    "dist",
    (
        ExponentialDist,
        DeterministicDist,
        ErlangDist,
        GammaDist,
        LognormalDist,
        HyperExponentialDist,
        UniformDist,
        EmpiricalDist,
    ),
    what="a distribution",
    default="exponential",
    shorthand=_bare_duration,
)


class UniformKeys(TaggedModel):
    """Keys 0..n-1, each equally likely."""

    dist: Literal["uniform"] = Field("uniform", description="Family name.")
    n: Int = Field(ge=1, description="Number of distinct keys (integer >= 1).")


class ZipfKeys(TaggedModel):
    """Keys 0..n-1 with P(key = i) proportional to 1 / (i + 1)^s: a few hot keys."""

    dist: Literal["zipf"] = Field("zipf", description="Family name.")
    n: Int = Field(ge=1, description="Number of distinct keys (integer >= 1).")
    s: Float = Field(ge=0, description="Skew exponent (>= 0; 0 is uniform, ~1 is typical).")


#: How message keys are drawn, told apart by ``dist:`` (default ``uniform``).
KeyDist = tagged("dist", (UniformKeys, ZipfKeys), what="a key distribution", default="uniform")
