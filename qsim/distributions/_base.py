"""The :class:`Distribution` contract and the argument checks shared by the families."""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qsim._validate import argument_message, as_float, positive
from qsim._validate import scalar_or_array as _out
from qsim.errors import InvalidArgumentError

F = NDArray[np.float64]


def _scalar(arr: np.ndarray, value: object, name: str, func: str, allowed: str) -> float:
    if arr.ndim != 0:
        raise InvalidArgumentError(argument_message(name, func, allowed, value))
    return float(arr)


def _pos(value: ArrayLike, name: str, func: str) -> float:
    arr = positive(value, name=name, func=func)
    return _scalar(arr, value, name, func, "a number > 0 and finite")


def _real(x: ArrayLike, name: str, func: str) -> F:
    arr = as_float(x, name=name, func=func)
    if np.any(np.isnan(arr)):
        raise InvalidArgumentError(argument_message(name, func, "a real number (not NaN)", "nan"))
    return arr


def _dims(shape: object, func: str) -> tuple[int, ...]:
    """``shape`` as a tuple of non-negative ints, or the template error."""
    try:
        if np.ndim(shape) == 0:
            dims: tuple[int, ...] = (operator.index(shape),)  # type: ignore[arg-type]
        else:
            dims = tuple(operator.index(s) for s in shape)  # type: ignore[attr-defined]
        if any(d < 0 for d in dims):
            raise ValueError
    except (TypeError, ValueError):
        allowed = "an integer >= 0 or a tuple of them"
        raise InvalidArgumentError(argument_message("shape", func, allowed, shape)) from None
    return dims


class Distribution(ABC):
    """A non-negative random time S (seconds): moments, law, excess transforms, sampling.

    Subclasses provide ``mean``, ``var`` and ``scv`` (var / mean^2) and the private
    elementwise kernels; the public methods validate and broadcast.
    """

    mean: float
    var: float
    scv: float

    @property
    def std(self) -> float:
        """Standard deviation (seconds)."""
        return float(np.sqrt(self.var))

    def sample(self, shape: int | tuple[int, ...], rng: np.random.Generator) -> F:
        """Draw independent samples, a float64 array of ``shape``, from ``rng`` only."""
        func = f"{type(self).__name__}.sample"
        if not isinstance(rng, np.random.Generator):
            raise InvalidArgumentError(
                argument_message("rng", func, "a numpy.random.Generator", type(rng).__name__)
            )
        dims = _dims(shape, func)
        return np.asarray(self._sample(dims, rng), dtype=np.float64).reshape(dims)

    def sample_into(self, out: F, rng: np.random.Generator) -> F:
        """Fill the C-contiguous float64 array ``out`` with the draws
        ``sample(out.shape, rng)`` would return (the same numbers from the same stream),
        in place where the family allows; returns ``out``."""
        self._sample_into(out, rng)
        return out

    def _sample_into(self, out: F, rng: np.random.Generator) -> None:
        out[...] = self._sample(out.shape, rng)

    def cdf(self, x: ArrayLike) -> Any:
        """P(S <= x), elementwise."""
        return _out(self._cdf(_real(x, "x", f"{type(self).__name__}.cdf")))

    def sf(self, x: ArrayLike) -> Any:
        """P(S > x), elementwise."""
        return _out(self._sf(_real(x, "x", f"{type(self).__name__}.sf")))

    def ppf(self, q: ArrayLike) -> Any:
        """The q-quantile inf{x : P(S <= x) >= q} for q in [0, 1]."""
        func = f"{type(self).__name__}.ppf"
        arr = as_float(q, name="q", func=func)
        bad = ~((arr >= 0) & (arr <= 1))
        if np.any(bad):
            got = arr[bad].ravel()[0].item()
            raise InvalidArgumentError(argument_message("q", func, "a probability in [0, 1]", got))
        return _out(self._ppf(arr))

    def partial_mean(self, x: ArrayLike) -> Any:
        """E[min(S, x)] = integral_0^x sf(u) du for x >= 0 (= x for x < 0), seconds.

        ``partial_mean(x) / mean`` is the cdf of the stationary excess (residual) of S.
        """
        arr = _real(x, "x", f"{type(self).__name__}.partial_mean")
        with np.errstate(all="ignore"):
            out = np.where(arr > 0, self._partial_mean(np.maximum(arr, 0.0)), arr)
        return _out(np.where(np.isposinf(arr), self.mean, out))

    def excess_mean(self, x: ArrayLike) -> Any:
        """E[(S - x)^+] = mean - partial_mean(x), computed without cancellation in the tail."""
        arr = _real(x, "x", f"{type(self).__name__}.excess_mean")
        with np.errstate(all="ignore"):
            out = np.where(arr > 0, self._excess_mean(np.maximum(arr, 0.0)), self.mean - arr)
        return _out(np.where(np.isposinf(arr), 0.0, out))

    @abstractmethod
    def to_scipy(self) -> Any:
        """An equivalent frozen ``scipy.stats`` distribution."""

    @abstractmethod
    def _sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> F: ...

    @abstractmethod
    def _cdf(self, x: F) -> F: ...

    def _sf(self, x: F) -> F:
        return 1.0 - self._cdf(x)

    @abstractmethod
    def _ppf(self, q: F) -> F: ...

    @abstractmethod
    def _partial_mean(self, x: F) -> F:
        """E[min(S, x)] for x >= 0."""

    def _excess_mean(self, x: F) -> F:
        return self.mean - self._partial_mean(x)
