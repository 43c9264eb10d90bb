"""The contract every arrival process keeps, and the exact Poisson-on-segments generator.

An arrival process produces sorted arrival times (seconds from 0) from an explicit
``numpy.random.Generator``. Internally each process yields arrays of about ``CHUNK``
arrivals, so a run of 10^9 messages needs bounded memory; :meth:`ArrivalProcess.blocks`
re-cuts that stream into the caller's block size without touching the random stream,
so the times depend on (seed, until) only, never on ``block``.
"""

from __future__ import annotations

import dataclasses
import itertools
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qsim._validate import argument_message, as_float, integer, nonnegative, positive
from qsim.errors import InvalidArgumentError

__all__ = ["CHUNK", "ArrivalProcess", "poisson_points"]

F = NDArray[np.float64]

#: About how many arrivals each internal generation step produces.
CHUNK = 65536


def fail(name: str, func: str, allowed: str, got: object, where: object | None = None) -> None:
    """Raise the template error."""
    raise InvalidArgumentError(argument_message(name, func, allowed, got, where))


def scalar(arr: np.ndarray, value: object, name: str, func: str, allowed: str) -> float:
    """The float in a 0-d array, or the template error for anything with a shape."""
    if arr.ndim != 0:
        fail(name, func, allowed, value)
    return float(arr)


def rate_arg(value: ArrayLike, name: str, func: str, *, strict: bool = False) -> float:
    """A finite scalar rate (or time) >= 0, or > 0 with ``strict``."""
    if strict:
        return scalar(
            positive(value, name=name, func=func), value, name, func, "a number > 0 and finite"
        )
    return scalar(
        nonnegative(value, name=name, func=func), value, name, func, "a finite number >= 0"
    )


def readonly(arr: np.ndarray) -> F:
    """A read-only float64 copy."""
    out = np.array(arr, dtype=np.float64)
    out.setflags(write=False)
    return out


def _horizon(value: ArrayLike, name: str, func: str, *, allow_inf: bool) -> float:
    arr = as_float(value, name=name, func=func)
    allowed = "a number >= 0 (inf allowed)" if allow_inf else "a finite number >= 0"
    x = scalar(arr, value, name, func, allowed)
    if not (x >= 0) or (np.isinf(x) and not allow_inf):
        fail(name, func, allowed, x)
    return x


def _check_rng(rng: object, func: str) -> None:
    if not isinstance(rng, np.random.Generator):
        fail("rng", func, "a numpy.random.Generator", type(rng).__name__)


class ArrivalProcess(ABC):
    """A point process of message arrivals on [0, inf); times in seconds.

    Subclasses are frozen, keyword-only dataclasses. Every process has ``mean_rate``
    (long-run messages per second), ``scv`` (the arrival variability c_a^2 that G/G/c
    approximations take; each class documents its definition) and ``scale(factor)``.
    """

    mean_rate: float
    scv: float

    @abstractmethod
    def scale(self, factor: float) -> Self:
        """The same process carrying ``factor`` times the load (see each class)."""

    @abstractmethod
    def _stream(self, rng: np.random.Generator, until: float) -> Iterator[F]:
        """Sorted arrays of consecutive arrival times from 0 on (may run past ``until``)."""

    def blocks(
        self, rng: np.random.Generator, until: float, block: int = 65536
    ) -> Iterator[NDArray[np.float64]]:
        """The arrivals in [0, ``until``) as consecutive sorted arrays of ``block`` times.

        Parameters
        ----------
        rng : numpy.random.Generator
            The only source of randomness.
        until : float
            End of the horizon, seconds (``inf``: an endless stream, for a consumer
            that stops on its own).
        block : int
            Times per array; every array but the last has exactly ``block``.

        Returns
        -------
        Iterator of float64 arrays
            Memory stays bounded by a few times max(block, 65536) times. Concatenated,
            they equal ``times(rng, until)`` for a generator in the same state, whatever
            ``block`` is.
        """
        func = f"{type(self).__name__}.blocks"
        _check_rng(rng, func)
        end = _horizon(until, "until", func, allow_inf=True)
        size = int(
            scalar(integer(block, name="block", func=func), block, "block", func, "an integer >= 1")
        )
        return _rechunk(self._stream(rng, end), end, size)

    def times(self, rng: np.random.Generator, until: float, start: float = 0.0) -> F:
        """All arrival times in [``start``, ``until``), sorted (float64 array, seconds).

        The process always starts at time 0: ``start`` only drops the earlier arrivals
        of the realisation on [0, ``until``), it does not restart the process. The
        realisation is a function of the generator's state and ``until``; a longer
        ``until`` gives a different (equally valid) realisation, not an extension.
        """
        func = f"{type(self).__name__}.times"
        _check_rng(rng, func)
        end = _horizon(until, "until", func, allow_inf=False)
        first = _horizon(start, "start", func, allow_inf=False)
        if first > end:
            fail("start", func, f"a number in [0, until={end!r}]", first)
        parts = [
            b[np.searchsorted(b, first) :]
            for b in _rechunk(self._stream(rng, end), end, CHUNK)
            if b[-1] >= first
        ]
        return np.concatenate(parts) if parts else np.empty(0)

    def _factor(self, factor: float) -> float:
        return rate_arg(factor, "factor", f"{type(self).__name__}.scale", strict=True)


def _rechunk(stream: Iterator[F], until: float, block: int) -> Iterator[F]:
    """Cut a sorted stream at ``until`` and re-split it into arrays of exactly ``block``."""
    held: list[F] = []
    count = 0
    for arr in stream:
        cut = arr[: np.searchsorted(arr, until)]
        if cut.size:
            held.append(cut)
            count += cut.size
        if count >= block:
            joined = np.concatenate(held) if len(held) > 1 else held[0]
            full = count - count % block
            for i in range(0, full, block):
                yield joined[i : i + block]
            held = [joined[full:]] if count > full else []
            count -= full
        if cut.size < arr.size:
            break
    if count:
        yield np.concatenate(held)


def poisson_points(rng: np.random.Generator, segments: Iterable[tuple[F, F, F]]) -> Iterator[F]:
    """Exact Poisson arrivals on consecutive segments [s, e) of constant rate r.

    ``segments`` yields arrays (s, e, r) that tile time in order (e may be inf where
    r = 0 or at the end). On each segment the count is Poisson(r (e - s)) and, given the
    count, the points are uniform order statistics: no thinning, no approximation.
    Segments expecting more than ``CHUNK`` points are cut into windows first
    (independent increments), so every step draws about ``CHUNK`` points. Ref: the
    conditional-uniformity property of the Poisson process (S. M. Ross, Simulation,
    5th ed., 2013, sec. 5.5).
    """
    for s, e, r in segments:
        with np.errstate(invalid="ignore"):
            mean = np.where(r > 0, r * (e - s), 0.0)
        lo = 0
        for j in np.flatnonzero(mean > CHUNK):
            yield from _batch(rng, s[lo:j], e[lo:j], mean[lo:j])
            yield from _windows(rng, float(s[j]), float(e[j]), float(r[j]))
            lo = j + 1
        yield from _batch(rng, s[lo:], e[lo:], mean[lo:])


def _windows(rng: np.random.Generator, a: float, b: float, rate: float) -> Iterator[F]:
    """[a, b) at a constant rate, as windows of CHUNK expected points (b may be inf)."""
    width = CHUNK / rate
    k = 0
    while a + k * width < b:
        edges = a + np.arange(k, k + 65, dtype=np.float64) * width
        s, e = edges[:-1], np.minimum(edges[1:], b)
        keep = s < b
        s, e = s[keep], e[keep]
        yield from _batch(rng, s, e, rate * (e - s))
        k += 64


def _batch(rng: np.random.Generator, s: F, e: F, mean: F) -> Iterator[F]:
    """Poisson counts on segments with modest means, then points in groups of ~CHUNK."""
    if not s.size:
        return
    n = rng.poisson(mean)
    nz = n > 0
    s, e, n = s[nz], e[nz], n[nz]
    if not n.size:
        return
    group = (np.cumsum(n) - n) // CHUNK
    bounds = np.concatenate(([0], np.flatnonzero(np.diff(group)) + 1, [n.size]))
    for lo, hi in itertools.pairwise(bounds.tolist()):
        yield _order_statistics(rng, s[lo:hi], e[lo:hi], n[lo:hi])


def _order_statistics(rng: np.random.Generator, s: F, e: F, n: NDArray[np.int64]) -> F:
    """n[i] sorted uniforms on [s[i], e[i]) for every i, concatenated in order."""
    u = rng.random(int(n.sum()))
    if n.size == 1:
        points = np.minimum(s[0] + u * (e[0] - s[0]), e[0])
    else:
        # NOTE: clamp so that rounding never pushes a point past its segment's end; then
        # one sort orders every segment, since the segments are disjoint and in order.
        points = np.minimum(np.repeat(s, n) + u * np.repeat(e - s, n), np.repeat(e, n))
    points.sort()
    return points


class ArrayFields:
    """Value equality and hashing for frozen dataclasses holding read-only arrays."""

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self))  # type: ignore[arg-type]

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        pairs = zip(self._values(), other._values(), strict=True)  # type: ignore[attr-defined]
        return all(np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b for a, b in pairs)

    def __hash__(self) -> int:
        return hash(tuple(v.tobytes() if isinstance(v, np.ndarray) else v for v in self._values()))
