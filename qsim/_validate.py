"""Argument checks with one message template, and broadcasting with named errors.

Every public numerical function validates its inputs here so that a wrong value is
reported the same way everywhere::

    The 'servers' argument of mmc must be an integer >= 1. Got 0 instead.

Checks accept scalars or array-likes and return float64 (or int64) numpy arrays; the
first offending element is quoted, with its index when the input is an array.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qsim.errors import InvalidArgumentError

__all__ = [
    "argument_message",
    "as_float",
    "broadcast",
    "integer",
    "nonnegative",
    "positive",
    "probability",
]

FloatArray = NDArray[np.float64]


def argument_message(
    name: str, func: str, allowed: str, got: object, where: object | None = None
) -> str:
    """The one template for argument errors (``where``: index of the bad array element)."""
    at = "" if where is None else f" at index {where}"
    return f"The {name!r} argument of {func} must be {allowed}. Got {got!r}{at} instead."


def _first_bad(arr: np.ndarray, bad: np.ndarray) -> tuple[object, object | None]:
    """The first offending value, and its index for arrays."""
    if arr.ndim == 0:
        return _plain(arr[()]), None
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    return _plain(arr[idx]), (idx[0] if len(idx) == 1 else idx)


def _plain(x: object) -> object:
    if isinstance(x, np.generic):
        return x.item()
    return x


def as_float(value: ArrayLike, *, name: str, func: str) -> FloatArray:
    """Convert to a float64 array, rejecting non-numeric input with the template."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            argument_message(name, func, "a real number or an array of real numbers", value)
        ) from None
    return arr


def _check(arr: np.ndarray, bad: np.ndarray, *, name: str, func: str, allowed: str) -> None:
    if np.any(bad):
        got, where = _first_bad(arr, bad)
        raise InvalidArgumentError(argument_message(name, func, allowed, got, where))


def positive(value: ArrayLike, *, name: str, func: str, allow_inf: bool = False) -> FloatArray:
    """A finite (or, with ``allow_inf``, possibly infinite) value > 0."""
    arr = as_float(value, name=name, func=func)
    bad = ~(arr > 0) | (np.isinf(arr) if not allow_inf else np.zeros(arr.shape, bool))
    allowed = "a number > 0" + ("" if allow_inf else " and finite")
    _check(arr, bad, name=name, func=func, allowed=allowed)
    return arr


def nonnegative(value: ArrayLike, *, name: str, func: str) -> FloatArray:
    """A finite value >= 0."""
    arr = as_float(value, name=name, func=func)
    bad = ~(arr >= 0) | np.isinf(arr)
    _check(arr, bad, name=name, func=func, allowed="a finite number >= 0")
    return arr


def integer(
    value: ArrayLike, *, name: str, func: str, minimum: int = 1, allow_inf: bool = False
) -> FloatArray:
    """A whole number >= ``minimum`` (``inf`` allowed with ``allow_inf``).

    Returned as float64 so that ``inf`` (an unbounded capacity) can live in the same
    array; the values are exact integers below 2**53.
    """
    arr = as_float(value, name=name, func=func)
    finite = np.isfinite(arr)
    whole = np.zeros(arr.shape, bool)
    whole[finite] = arr[finite] == np.floor(arr[finite])
    ok = (whole & (arr >= minimum)) | (np.isposinf(arr) if allow_inf else False)
    allowed = f"an integer >= {minimum}" + (" or inf" if allow_inf else "")
    if np.any(~ok):
        got, where = _first_bad(arr, ~ok)
        if isinstance(got, float) and got.is_integer():
            got = int(got)  # servers=0 reads "Got 0", not "Got 0.0"
        raise InvalidArgumentError(argument_message(name, func, allowed, got, where))
    return arr


def probability(value: ArrayLike, *, name: str, func: str) -> FloatArray:
    """A probability strictly inside (0, 1)."""
    arr = as_float(value, name=name, func=func)
    bad = ~((arr > 0) & (arr < 1))
    _check(arr, bad, name=name, func=func, allowed="a probability in (0, 1)")
    return arr


def broadcast(func: str, **arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Broadcast named arrays together, or raise naming the arguments and their shapes."""
    try:
        return tuple(np.broadcast_arrays(*arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{k}{np.shape(v)}" for k, v in arrays.items())
        raise InvalidArgumentError(
            f"The arguments of {func} must broadcast to one shape. Got shapes {shapes} instead."
        ) from None


def scalar_or_array(x: np.ndarray) -> np.ndarray | float | bool:
    """Return a Python scalar for 0-d arrays, the array otherwise."""
    if np.ndim(x) == 0:
        if isinstance(x, np.ndarray | np.generic):
            return x.item()  # type: ignore[no-any-return]
        return x
    return x
