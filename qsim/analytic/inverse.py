"""Inverse questions for capacity planning on M/M/c and Erlang B.

``min_servers``: the fewest servers that meet every target given.
``max_arrival_rate``: the largest arrival rate a configuration takes while meeting them.

Targets (any combination; all must hold):

==========================  ===========================================================
``max_mean_wait=x``         mean wait Wq <= x seconds
``max_mean_response=x``     mean response W <= x seconds
``max_wait_probability=a``  P(Wq > ``wait_threshold``) <= a (default threshold 0: P(wait))
``max_wait_quantile=x``     the ``quantile``-quantile of the wait <= x seconds
``max_response_quantile=x`` the ``quantile``-quantile of the response <= x seconds
``max_blocking=e``          Erlang B blocking of the loss system M/M/c/c <= e
==========================  ===========================================================

Every metric is monotone in the servers (non-increasing) and in the arrival rate
(non-decreasing), so both questions are answered by a galloping search followed by
bisection: O(log c) exact evaluations, never a scan from c = 1.

A target counts as met when the metric is within a relative ``TARGET_RTOL`` (1e-12) of
it: a configuration that meets a round target exactly (M/M/2 with lambda = mu = 1 has
Wq = 1/3 s) must not lose to rounding in the last digit and cost a server.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qsim._validate import (
    argument_message,
    broadcast,
    integer,
    nonnegative,
    positive,
    probability,
)
from qsim.analytic import _special
from qsim.analytic._inputs import finish, service_rate_of
from qsim.analytic._waits import exponential_response_tail
from qsim.errors import InvalidArgumentError

__all__ = ["max_arrival_rate", "min_servers"]

F = NDArray[np.float64]
B = NDArray[np.bool_]


@dataclass(frozen=True)
class _Targets:
    mean_wait: F | None
    mean_response: F | None
    wait_probability: F | None
    wait_threshold: F
    wait_quantile: F | None
    response_quantile: F | None
    quantile: F
    blocking: F | None

    @property
    def waiting(self) -> bool:
        return any(
            x is not None
            for x in (
                self.mean_wait,
                self.mean_response,
                self.wait_probability,
                self.wait_quantile,
                self.response_quantile,
            )
        )


def _targets(
    func: str,
    mu: F,
    *,
    max_mean_wait: ArrayLike | None,
    max_mean_response: ArrayLike | None,
    max_wait_probability: ArrayLike | None,
    wait_threshold: ArrayLike,
    max_wait_quantile: ArrayLike | None,
    max_response_quantile: ArrayLike | None,
    quantile: ArrayLike,
    max_blocking: ArrayLike | None,
) -> _Targets:
    def pos(v: ArrayLike | None, name: str) -> F | None:
        return None if v is None else positive(v, name=name, func=func)

    t = _Targets(
        mean_wait=pos(max_mean_wait, "max_mean_wait"),
        mean_response=pos(max_mean_response, "max_mean_response"),
        wait_probability=None
        if max_wait_probability is None
        else probability(max_wait_probability, name="max_wait_probability", func=func),
        wait_threshold=nonnegative(wait_threshold, name="wait_threshold", func=func),
        wait_quantile=None
        if max_wait_quantile is None
        else nonnegative(max_wait_quantile, name="max_wait_quantile", func=func),
        response_quantile=pos(max_response_quantile, "max_response_quantile"),
        quantile=probability(quantile, name="quantile", func=func),
        blocking=None
        if max_blocking is None
        else probability(max_blocking, name="max_blocking", func=func),
    )
    if t.blocking is None and not t.waiting:
        raise InvalidArgumentError(
            f"{func} needs at least one target: max_mean_wait, max_mean_response, "
            "max_wait_probability, max_wait_quantile, max_response_quantile or max_blocking. "
            "Got none instead."
        )
    if t.blocking is not None and t.waiting:
        raise InvalidArgumentError(
            f"{func} cannot combine 'max_blocking' (the loss system M/M/c/c, no queue) with "
            "waiting targets (the delay system M/M/c). Got both instead."
        )
    # Targets no number of servers can meet: the service time alone exceeds them.
    if t.mean_response is not None:
        floor = np.broadcast_to(1.0 / mu, np.broadcast_shapes(mu.shape, t.mean_response.shape))
        _unreachable(func, "max_mean_response", t.mean_response, floor, "the mean service time")
    if t.response_quantile is not None:
        floor = -np.log1p(-t.quantile) / mu
        _unreachable(
            func, "max_response_quantile", t.response_quantile, floor, "that quantile of service"
        )
    return t


def _unreachable(func: str, name: str, value: F, floor: F, what: str) -> None:
    value, floor = np.broadcast_arrays(value, floor)
    bad = value <= floor
    if np.any(bad):
        i = tuple(np.argwhere(bad)[0]) if bad.ndim else ()
        raise InvalidArgumentError(
            argument_message(
                name,
                func,
                f"> {floor[i]:.6g} s ({what}; no number of servers gets below it)",
                float(value[i]),
            )
        )


#: Relative slack within which a metric still meets its target (see the module docs).
TARGET_RTOL = 1e-12


def _violates(c: F, lam: F, mu: F, t: _Targets) -> B:
    """True where c servers miss some target at arrival rate lam (vectorised)."""
    a = lam / mu
    b = _special.erlang_b(c, a)
    up = 1.0 + TARGET_RTOL
    if t.blocking is not None:
        return b > t.blocking * up  # type: ignore[no-any-return]
    stable = a < c
    theta = c * mu - lam
    with np.errstate(all="ignore"):
        C = np.where(stable, b / ((c - a) / c + (a / c) * b), 1.0)
        bad = ~stable
        if t.mean_wait is not None:
            bad = bad | (C / theta > t.mean_wait * up)
        if t.mean_response is not None:
            bad = bad | (C / theta + 1.0 / mu > t.mean_response * up)
        if t.wait_probability is not None:
            bad = bad | (C * np.exp(-theta * t.wait_threshold) > t.wait_probability * up)
        if t.wait_quantile is not None:
            bad = bad | (C * np.exp(-theta * t.wait_quantile) > (1.0 - t.quantile) * up)
        if t.response_quantile is not None:
            tail = exponential_response_tail(t.response_quantile, C, theta, mu)
            bad = bad | (tail > (1.0 - t.quantile) * up)
    return bad  # type: ignore[no-any-return]


def min_servers(
    *,
    arrival_rate: ArrayLike,
    service_rate: ArrayLike | None = None,
    service_mean: ArrayLike | None = None,
    max_mean_wait: ArrayLike | None = None,
    max_mean_response: ArrayLike | None = None,
    max_wait_probability: ArrayLike | None = None,
    wait_threshold: ArrayLike = 0.0,
    max_wait_quantile: ArrayLike | None = None,
    max_response_quantile: ArrayLike | None = None,
    quantile: ArrayLike = 0.99,
    max_blocking: ArrayLike | None = None,
) -> NDArray[np.int64] | int:
    """Fewest servers c of an M/M/c (or, with ``max_blocking``, M/M/c/c) meeting every target.

    Parameters
    ----------
    arrival_rate : array_like
        Messages per second (lambda >= 0).
    service_rate, service_mean : array_like
        Per-server service rate (1/s) or mean service time (s); give one.
    max_mean_wait, max_mean_response : array_like, optional
        Bounds on the mean wait / response, seconds.
    max_wait_probability : array_like, optional
        Bound on P(Wq > ``wait_threshold``) (threshold in seconds, default 0).
    max_wait_quantile, max_response_quantile : array_like, optional
        Bounds on the ``quantile``-quantile (default 0.99) of wait / response, seconds.
    max_blocking : array_like, optional
        Bound on the Erlang B blocking probability of the pure loss system.

    Returns
    -------
    int or ndarray of int64
        Broadcast over the inputs. The result is always a stable M/M/c for waiting
        targets (c > lambda / mu).

    Raises
    ------
    InvalidArgumentError
        On invalid input, on no target or on a target no number of servers can meet
        (a mean response below the mean service time, say).

    Notes
    -----
    Exact: each candidate is judged by the exact Erlang B / Erlang C formulas (see
    :func:`qsim.analytic.mmc`); quantile targets are checked through the exact tail
    (q_p <= x iff P(X > x) <= 1 - p). Search: from the stability bound
    floor(lambda/mu) + 1, galloping steps 1, 2, 4, ... to the first feasible c, then
    bisection: about 2 log2(c) evaluations, vectorised over all elements.

    Examples
    --------
    >>> min_servers(arrival_rate=100.0, service_rate=1.0, max_wait_probability=0.2)
    111
    >>> min_servers(arrival_rate=5.0, service_rate=1.0, max_blocking=0.02)
    10
    """
    func = "min_servers"
    lam = nonnegative(arrival_rate, name="arrival_rate", func=func)
    mu = service_rate_of(func, service_rate, service_mean)
    t = _targets(
        func,
        mu,
        max_mean_wait=max_mean_wait,
        max_mean_response=max_mean_response,
        max_wait_probability=max_wait_probability,
        wait_threshold=wait_threshold,
        max_wait_quantile=max_wait_quantile,
        max_response_quantile=max_response_quantile,
        quantile=quantile,
        max_blocking=max_blocking,
    )
    arrays = {"arrival_rate": lam, "service_rate": mu}
    arrays.update({k: v for k, v in vars(t).items() if v is not None})
    shaped = dict(zip(arrays, broadcast(func, **arrays), strict=True))
    lam, mu = shaped.pop("arrival_rate"), shaped.pop("service_rate")
    t = _Targets(**{k: shaped.get(k) for k in vars(t)})  # type: ignore[arg-type]

    a = lam / mu
    # c <= bad is known to fail: unstable for waiting targets; c = 0 always blocks.
    bad = np.floor(a) if t.waiting else np.zeros_like(a)
    cand = bad + 1.0
    good = np.full_like(a, np.nan)
    step = np.ones_like(a)
    active = np.ones(a.shape, bool)
    while active.any():
        v = _violates(cand, lam, mu, t)
        found = active & ~v
        good = np.where(found, cand, good)
        miss = active & v
        bad = np.where(miss, cand, bad)
        cand = np.where(miss, cand + step, cand)
        step = np.where(miss, step * 2.0, step)
        active = miss
    while True:
        gap = good - bad > 1
        if not gap.any():
            break
        mid = np.floor(0.5 * (good + bad))
        v = _violates(mid, lam, mu, t)
        bad = np.where(gap & v, mid, bad)
        good = np.where(gap & ~v, mid, good)
    out = good.astype(np.int64)
    return out.item() if out.ndim == 0 else out  # type: ignore[no-any-return]


def max_arrival_rate(
    *,
    servers: ArrayLike,
    service_rate: ArrayLike | None = None,
    service_mean: ArrayLike | None = None,
    max_mean_wait: ArrayLike | None = None,
    max_mean_response: ArrayLike | None = None,
    max_wait_probability: ArrayLike | None = None,
    wait_threshold: ArrayLike = 0.0,
    max_wait_quantile: ArrayLike | None = None,
    max_response_quantile: ArrayLike | None = None,
    quantile: ArrayLike = 0.99,
    max_blocking: ArrayLike | None = None,
) -> F | float:
    """Largest arrival rate (messages/s) an M/M/c (or M/M/c/c) meets every target at.

    Parameters as :func:`min_servers`, with ``servers`` (c >= 1) given instead of the
    arrival rate.

    Returns
    -------
    float or ndarray
        The supremum of arrival rates meeting all targets, to a relative 1e-12; always
        below c mu for waiting targets (stability).

    Notes
    -----
    Exact metrics as in :func:`min_servers`; every one is non-decreasing in the arrival
    rate, so the answer is found by bisection on [0, c mu) (waiting targets) or on a
    bracket grown by doubling (blocking), vectorised over all elements.

    Examples
    --------
    >>> round(max_arrival_rate(servers=10, service_rate=1.0, max_blocking=0.018385), 3)
    5.0
    """
    func = "max_arrival_rate"
    c = integer(servers, name="servers", func=func)
    mu = service_rate_of(func, service_rate, service_mean)
    t = _targets(
        func,
        mu,
        max_mean_wait=max_mean_wait,
        max_mean_response=max_mean_response,
        max_wait_probability=max_wait_probability,
        wait_threshold=wait_threshold,
        max_wait_quantile=max_wait_quantile,
        max_response_quantile=max_response_quantile,
        quantile=quantile,
        max_blocking=max_blocking,
    )
    arrays = {"servers": c, "service_rate": mu}
    arrays.update({k: v for k, v in vars(t).items() if v is not None})
    shaped = dict(zip(arrays, broadcast(func, **arrays), strict=True))
    c, mu = shaped.pop("servers"), shaped.pop("service_rate")
    t = _Targets(**{k: shaped.get(k) for k in vars(t)})  # type: ignore[arg-type]

    lo = np.zeros_like(mu)  # feasible (or the answer is 0)
    if t.waiting:
        hi = c * mu  # infeasible: unstable
    else:
        hi = c * mu
        grow = ~_violates(c, hi, mu, t)
        while grow.any():
            lo = np.where(grow, hi, lo)
            hi = np.where(grow, hi * 2.0, hi)
            grow = grow & ~_violates(c, hi, mu, t)
    for _ in range(200):
        open_ = hi - lo > 1e-12 * hi
        if not open_.any():
            break
        mid = 0.5 * (lo + hi)
        v = _violates(c, mid, mu, t)
        hi = np.where(open_ & v, mid, hi)
        lo = np.where(open_ & ~v, mid, lo)
    return finish(lo)
