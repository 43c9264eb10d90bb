"""Stationary law of a finite birth-death chain, in log space."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qsim._validate import as_float, nonnegative, positive
from qsim.errors import InvalidArgumentError

__all__ = ["birth_death"]

F = NDArray[np.float64]


def _vector(value: ArrayLike, name: str) -> F:
    arr = as_float(value, name=name, func="birth_death")
    if arr.ndim != 1:
        raise InvalidArgumentError(
            f"The {name!r} argument of birth_death must be a 1-D array of rates. "
            f"Got an array of shape {arr.shape} instead."
        )
    return arr


def birth_death(birth_rates: ArrayLike, death_rates: ArrayLike) -> F:
    """Stationary probabilities of the birth-death chain on states 0..N.

    Parameters
    ----------
    birth_rates : array_like, shape (N,)
        ``birth_rates[i]`` is the rate (per second) of the move i -> i + 1, for
        i = 0..N-1. Finite and >= 0; a zero rate makes the states above it
        unreachable (their probability is 0).
    death_rates : array_like, shape (N,)
        ``death_rates[i]`` is the rate of the move i + 1 -> i. Finite and > 0, so
        that the chain has a single stationary law.

    Returns
    -------
    ndarray, shape (N + 1,)
        p_0..p_N, summing to 1.

    Raises
    ------
    InvalidArgumentError
        For arrays that are not 1-D, of different lengths, or rates outside their
        domain.

    Notes
    -----
    Exact (to rounding). Detailed balance p_{i+1} death_i = p_i birth_i gives
    log(p_n / p_m) = sum of (log birth_i - log death_i) between n and the most likely
    state m, summed outward from m, then exponentiated and normalised: no product
    of rates is formed, so nothing overflows whatever N and the rates (e.g. M/M/1/K
    with rho = 20 and K = 10^6). The rounding of the partial sums makes the relative
    error of p_n about eps |log(p_n / p_m)| times the number of states between n
    and m: ~1e-15 for the states that carry the mass, ~1e-12 for p_n ~ 1e-280.
    Ref: Kleinrock, Queueing Systems vol. 1, sec. 3.1 (birth-death processes).

    Examples
    --------
    >>> birth_death([2.0, 2.0], [1.0, 2.0]).round(6).tolist()
    [0.2, 0.4, 0.4]
    """
    births = _vector(birth_rates, "birth_rates")
    deaths = _vector(death_rates, "death_rates")
    if deaths.shape != births.shape:
        raise InvalidArgumentError(
            "The 'death_rates' argument of birth_death must have one rate per birth rate "
            f"({births.size}). Got {deaths.size} rates instead."
        )
    nonnegative(births, name="birth_rates", func="birth_death")
    positive(deaths, name="death_rates", func="birth_death")
    with np.errstate(divide="ignore"):
        steps = np.log(births) - np.log(deaths)
    top = int(np.argmax(np.concatenate(([0.0], np.cumsum(steps)))))
    # NOTE: summed outward from the most likely state, so that the rounding of the
    # partial sums (about eps times their size) is small where p_n is not: the plain
    # cumulative sum would carry eps * K log(rho) ~ 1e-9 into p_K for rho = 20, K = 1e6.
    log_p = np.concatenate((-np.cumsum(steps[:top][::-1])[::-1], [0.0], np.cumsum(steps[top:])))
    w = np.exp(log_p)
    return w / w.sum()  # type: ignore[no-any-return]
