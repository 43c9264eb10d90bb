"""Families with bounded support: Deterministic, Uniform, Empirical (resampling).

scipy.stats is imported only by ``to_scipy`` (it costs ~50 MB and ~1 s to import).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qsim._validate import argument_message, as_float, nonnegative
from qsim._validate import scalar_or_array as _out
from qsim.distributions._base import Distribution, F, _pos, _scalar
from qsim.errors import InvalidArgumentError


@dataclass(frozen=True, kw_only=True)
class Deterministic(Distribution):
    """A constant time ``value`` (seconds): scv = 0."""

    value: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _pos(self.value, "value", "Deterministic"))

    mean = property(lambda self: self.value, doc="Mean (= value, seconds).")  # type: ignore[assignment]
    var = property(lambda self: 0.0, doc="Variance (0).")
    scv = property(lambda self: 0.0, doc="Squared coefficient of variation (0).")

    def to_scipy(self) -> Any:
        from scipy import stats

        return stats.rv_discrete(values=([self.value], [1.0]))

    def _sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> F:
        return np.full(shape, self.value)

    def _sample_into(self, out: F, rng: np.random.Generator) -> None:
        out.fill(self.value)

    def _cdf(self, x: F) -> F:
        return (x >= self.value).astype(np.float64)

    def _sf(self, x: F) -> F:
        return (x < self.value).astype(np.float64)

    def _ppf(self, q: F) -> F:
        return np.full(q.shape, self.value)

    def _partial_mean(self, x: F) -> F:
        return np.minimum(x, self.value)

    def _excess_mean(self, x: F) -> F:
        return np.maximum(self.value - x, 0.0)


@dataclass(frozen=True, kw_only=True)
class Uniform(Distribution):
    """Uniform time on [``low``, ``high``] (seconds), 0 <= low < high."""

    low: float
    high: float

    def __post_init__(self) -> None:
        low = nonnegative(self.low, name="low", func="Uniform")
        low_f = _scalar(low, self.low, "low", "Uniform", "a finite number >= 0")
        high = as_float(self.high, name="high", func="Uniform")
        if high.ndim != 0 or not (np.isfinite(high) and high > low_f):
            allowed = f"a finite number > low ({low_f!r})"
            raise InvalidArgumentError(argument_message("high", "Uniform", allowed, _out(high)))
        object.__setattr__(self, "low", low_f)
        object.__setattr__(self, "high", float(high))

    mean = property(lambda self: 0.5 * (self.low + self.high), doc="Mean (s).")  # type: ignore[assignment]
    var = property(lambda self: (self.high - self.low) ** 2 / 12.0, doc="Variance (s^2).")
    scv = property(lambda self: self.var / self.mean**2, doc="Squared coefficient of variation.")

    def to_scipy(self) -> Any:
        from scipy import stats

        return stats.uniform(loc=self.low, scale=self.high - self.low)

    def _sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> F:
        return rng.uniform(self.low, self.high, size=shape)

    def _cdf(self, x: F) -> F:
        return np.clip((x - self.low) / (self.high - self.low), 0.0, 1.0)

    def _sf(self, x: F) -> F:
        return np.clip((self.high - x) / (self.high - self.low), 0.0, 1.0)

    def _ppf(self, q: F) -> F:
        return self.low + q * (self.high - self.low)

    def _partial_mean(self, x: F) -> F:
        return self.mean - self._excess_mean(x)

    def _excess_mean(self, x: F) -> F:
        lo, hi = self.low, self.high
        inside = np.clip(hi - x, 0.0, hi - lo) ** 2 / (2.0 * (hi - lo))
        return np.where(x < lo, self.mean - x, inside)


@dataclass(frozen=True, kw_only=True, eq=False)
class Empirical(Distribution):
    """Resamples the given ``samples`` (seconds, >= 0, not all 0) with equal weights.

    The law is the empirical distribution: ``var`` has divisor n (not n - 1). The
    samples are stored sorted in a read-only float64 array.
    """

    samples: NDArray[np.float64] = field(repr=False)

    def __post_init__(self) -> None:
        arr = nonnegative(self.samples, name="samples", func="Empirical")
        if arr.ndim != 1 or arr.size == 0 or not np.any(arr > 0):
            allowed = "a non-empty 1-d array of finite numbers >= 0, not all 0"
            got = f"shape {arr.shape}" if arr.ndim != 1 or arr.size == 0 else "all zeros"
            raise InvalidArgumentError(argument_message("samples", "Empirical", allowed, got))
        arr = np.sort(arr)
        arr.setflags(write=False)
        object.__setattr__(self, "samples", arr)
        head = np.concatenate(([0.0], np.cumsum(arr)))
        head.setflags(write=False)
        object.__setattr__(self, "_head", head)

    def __repr__(self) -> str:
        return f"Empirical(n={self.samples.size}, mean={self.mean!r}, scv={self.scv!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Empirical):
            return NotImplemented
        return np.array_equal(self.samples, other.samples)

    def __hash__(self) -> int:
        return hash(self.samples.tobytes())

    mean = property(lambda self: float(self.samples.mean()), doc="Mean (s).")  # type: ignore[assignment]
    var = property(lambda self: float(self.samples.var()), doc="Variance, divisor n (s^2).")
    scv = property(lambda self: self.var / self.mean**2, doc="Squared coefficient of variation.")

    def to_scipy(self) -> Any:
        from scipy import stats

        values, counts = np.unique(self.samples, return_counts=True)
        return stats.rv_discrete(values=(values, counts / self.samples.size))

    def _sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> F:
        return self.samples[rng.integers(0, self.samples.size, size=shape)]

    def _below(self, x: F) -> NDArray[np.intp]:
        return np.searchsorted(self.samples, x, side="right")

    def _cdf(self, x: F) -> F:
        return self._below(x) / self.samples.size

    def _sf(self, x: F) -> F:
        return (self.samples.size - self._below(x)) / self.samples.size

    def _ppf(self, q: F) -> F:
        n = self.samples.size
        idx = np.searchsorted(np.arange(1, n + 1) / n, q, side="left")
        return self.samples[np.minimum(idx, n - 1)]

    def _partial_mean(self, x: F) -> F:
        j = self._below(x)
        n = self.samples.size
        return (self._head[j] + (n - j) * x) / n  # type: ignore[attr-defined]

    def _excess_mean(self, x: F) -> F:
        j = self._below(x)
        n = self.samples.size
        head: F = self._head  # type: ignore[attr-defined]
        return np.maximum(head[-1] - head[j] - (n - j) * x, 0.0) / n
