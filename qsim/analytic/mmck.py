"""Finite-capacity and infinite-server Markovian queues: M/M/c/K, M/M/1/K, M/M/c/c, M/M/inf.

All exact and vectorised. The finite queues are solvable at any load (rho = 1 and
rho >> 1 included) and for K up to millions: the stationary law is never formed state
by state, but from three masses (below c, at c, above c) computed in log space.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from qsim._validate import argument_message, broadcast, integer, nonnegative
from qsim.analytic import _special
from qsim.analytic._finite_waits import FiniteCapacityWaitLaw
from qsim.analytic._inputs import finish, service_rate_of
from qsim.analytic._waits import ExponentialWaitLaw
from qsim.analytic.metrics import QueueMetrics
from qsim.errors import InvalidArgumentError

__all__ = ["mm1k", "mmcc", "mmck", "mminf"]

F = NDArray[np.float64]


def mmck(
    *,
    arrival_rate: ArrayLike,
    servers: ArrayLike,
    capacity: ArrayLike,
    service_rate: ArrayLike | None = None,
    service_mean: ArrayLike | None = None,
) -> QueueMetrics:
    """M/M/c/K queue in steady state: c servers, at most K messages, FCFS, blocking.

    Parameters
    ----------
    arrival_rate : array_like
        Messages per second offered to the queue (lambda >= 0, Poisson).
    servers : array_like of int
        Parallel consumers (c >= 1).
    capacity : array_like of int
        Most messages in the system, waiting plus in service (K >= c, or inf).
        An arrival that finds K messages is rejected.
    service_rate : array_like, optional
        Messages per second one consumer completes (mu > 0, exponential service).
    service_mean : array_like, optional
        Mean service time in seconds (1 / mu); give this or ``service_rate``.

    Returns
    -------
    QueueMetrics
        Broadcast over the inputs. ``p_block`` = P(an arrival finds K messages);
        ``throughput`` = lambda (1 - p_block) accepted messages per second;
        ``busy_fraction`` = throughput / (c mu); ``utilization`` = lambda / (c mu) is
        the offered load and may exceed 1. W, Wq and ``p_wait`` are those of accepted
        messages, W = L / throughput. A finite queue is stable at any load; with
        K = inf this is :func:`~qsim.analytic.mmc` (unstable where rho >= 1). Wait and
        response tails and quantiles are exact.

    Raises
    ------
    InvalidArgumentError
        For rates outside their domain, c or K not whole numbers >= 1, K < c, or
        shapes that do not broadcast.

    Notes
    -----
    Exact. With a = lambda / mu and rho = a / c, p_n is proportional to a^n / n! for
    n <= c and to p_c rho^(n-c) for c <= n <= K. Relative to p_c the states below c
    weigh h = 1 / (rho B(c-1, a)) (B = Erlang B), the states above c weigh
    g = sum_{j=1}^{K-c} rho^j, so p_c = 1 / (1 + h + g),
    p_block = rho^(K-c) p_c, P(accepted arrival waits) = G / (h + G) with
    G = sum_{j=0}^{K-c-1} rho^j, Lq = p_c sum_j j rho^j, L = a (1 - p_block) + Lq.
    h, g and G are formed as logarithms (stable at rho = 1 and for K ~ 1e6,
    c ~ 1e5) and mixed after scaling by the largest, so throughput is a sum of
    positive terms, never lambda minus a nearly equal number. A waiting arrival that
    finds c + j messages waits Erlang(j + 1, c mu): the tails are Poisson mixtures
    summed over a window around their mode (see :mod:`qsim.analytic._finite_waits`).
    Ref: Gross, Shortle, Thompson & Harris, Fundamentals of Queueing Theory, 4th ed.,
    sec. 2.5 (M/M/c/K), and Kleinrock, Queueing Systems vol. 1, sec. 3.7.

    Examples
    --------
    1200 messages/s, 20 ms per message, 25 consumers, room for 40 messages:

    >>> m = mmck(arrival_rate=1200.0, service_mean=0.02, servers=25, capacity=40)
    >>> round(m.p_block, 5), round(m.throughput, 3), round(m.Wq * 1000, 3)
    (0.02838, 1165.944, 3.574)
    >>> round(m.wait_quantile(0.99) * 1000, 3), round(m.response_quantile(0.99) * 1000, 3)
    (15.574, 96.163)
    """
    return _mmck("mmck", arrival_rate, servers, capacity, service_rate, service_mean)


def mm1k(
    *,
    arrival_rate: ArrayLike,
    capacity: ArrayLike,
    service_rate: ArrayLike | None = None,
    service_mean: ArrayLike | None = None,
) -> QueueMetrics:
    """M/M/1/K queue: one consumer, at most K messages in the system, FCFS, blocking.

    Parameters
    ----------
    arrival_rate : array_like
        Messages per second offered (lambda >= 0, Poisson).
    capacity : array_like of int
        Most messages in the system, including the one in service (K >= 1, or inf).
    service_rate, service_mean : array_like, optional
        Service rate mu (messages per second) or mean service time (seconds); one of
        the two.

    Returns
    -------
    QueueMetrics
        As :func:`mmck` with c = 1.

    Notes
    -----
    Exact. p_n = (1 - rho) rho^n / (1 - rho^(K+1)) for n = 0..K (1 / (K + 1) at
    rho = 1), computed as in :func:`mmck`. Ref: Gross, Shortle, Thompson & Harris,
    Fundamentals of Queueing Theory, 4th ed., sec. 2.5.

    Examples
    --------
    >>> m = mm1k(arrival_rate=2.0, service_rate=1.0, capacity=3)
    >>> round(m.p_block, 6), round(m.L, 6), round(m.throughput, 6)
    (0.533333, 2.266667, 0.933333)
    """
    return _mmck("mm1k", arrival_rate, 1.0, capacity, service_rate, service_mean)


def mmcc(
    *,
    arrival_rate: ArrayLike,
    servers: ArrayLike,
    service_rate: ArrayLike | None = None,
    service_mean: ArrayLike | None = None,
) -> QueueMetrics:
    """Erlang loss system M/M/c/c: c consumers and no waiting room.

    Parameters
    ----------
    arrival_rate : array_like
        Messages per second offered (lambda >= 0, Poisson).
    servers : array_like of int
        Parallel consumers (c >= 1); also the capacity.
    service_rate, service_mean : array_like, optional
        Service rate mu (messages per second) or mean service time (seconds).

    Returns
    -------
    QueueMetrics
        ``p_block`` is Erlang B; nobody waits (Wq = Lq = p_wait = 0, wait quantiles 0)
        and the response time of an accepted message is its Exp(mu) service.

    Notes
    -----
    Exact: p_block = B(c, a), a = lambda / mu, throughput = lambda (1 - B),
    L = a (1 - B). Ref: Gross, Shortle, Thompson & Harris, Fundamentals of Queueing
    Theory, 4th ed., sec. 2.6.

    Examples
    --------
    >>> m = mmcc(arrival_rate=5.0, service_rate=1.0, servers=10)
    >>> round(m.p_block, 6), m.Wq
    (0.018385, 0.0)
    """
    return _mmck("mmcc", arrival_rate, servers, None, service_rate, service_mean)


def mminf(
    *,
    arrival_rate: ArrayLike,
    service_rate: ArrayLike | None = None,
    service_mean: ArrayLike | None = None,
) -> QueueMetrics:
    """M/M/inf: every message is served at once by its own consumer.

    Parameters
    ----------
    arrival_rate : array_like
        Messages per second (lambda >= 0, Poisson).
    service_rate, service_mean : array_like, optional
        Service rate mu (messages per second) or mean service time (seconds).

    Returns
    -------
    QueueMetrics
        Always stable: L = lambda / mu, W = 1 / mu, Lq = Wq = p_wait = p_block = 0,
        servers = capacity = inf, utilization = busy_fraction = 0. The response time
        is the Exp(mu) service time.

    Notes
    -----
    Exact: the number in system is Poisson(lambda / mu) (for any service law with
    that mean). Ref: Gross, Shortle, Thompson & Harris, Fundamentals of Queueing
    Theory, 4th ed., sec. 2.7.

    Examples
    --------
    >>> m = mminf(arrival_rate=4.0, service_mean=0.5)
    >>> m.L, m.W, round(m.response_quantile(0.5), 6)
    (2.0, 0.5, 0.346574)
    """
    func = "mminf"
    lam = nonnegative(arrival_rate, name="arrival_rate", func=func)
    mu = service_rate_of(func, service_rate, service_mean)
    lam, mu = broadcast(func, arrival_rate=lam, service_rate=mu)
    zero = np.zeros(lam.shape)
    inf = np.full(lam.shape, np.inf)
    stable = np.ones(lam.shape, bool)
    law = ExponentialWaitLaw(stable=stable, p_wait=zero, theta=mu, mu=mu)
    return QueueMetrics(
        arrival_rate=finish(lam),
        service_rate=finish(mu),
        servers=finish(inf),
        capacity=finish(inf),
        utilization=finish(zero),
        busy_fraction=finish(zero),
        L=finish(lam / mu),
        Lq=finish(zero),
        W=finish(1.0 / mu),
        Wq=finish(zero),
        p_wait=finish(zero),
        p_block=finish(zero),
        throughput=finish(lam),
        stable=finish(stable),
        method="exact",
        _law=law,
    )


def _check_capacity(func: str, c: F, K: F) -> None:
    bad = ~(K >= c)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
        cv, kv = c[idx].item(), K[idx].item()
        where = None if not idx else (idx[0] if len(idx) == 1 else idx)
        allowed = f"an integer >= servers (the 'servers' argument, {cv:g})"
        got = int(kv) if float(kv).is_integer() else kv  # "Got 1", as _validate.integer
        raise InvalidArgumentError(argument_message("capacity", func, allowed, got, where))


def _log_erlang_b(c: F, a: F) -> F:
    """log B(c, a) for c >= 0, a > 0, also where B itself underflows (a << c)."""
    c, a = np.atleast_1d(c, a)
    b = _special.erlang_b(c, a)
    small = b < 1e-250
    out = np.log(np.where(small, 1.0, b))
    if small.any():
        cs, as_ = c[small], a[small]
        # There a < c, so P(N <= c) (the denominator of B) is near 1: no underflow.
        out[small] = _special.poisson_logpmf(cs, as_) - np.log(special.gammaincc(cs + 1.0, as_))
    return out


def _mmck(
    func: str,
    arrival_rate: ArrayLike,
    servers: ArrayLike,
    capacity: ArrayLike | None,
    service_rate: ArrayLike | None,
    service_mean: ArrayLike | None,
) -> QueueMetrics:
    lam = nonnegative(arrival_rate, name="arrival_rate", func=func)
    mu = service_rate_of(func, service_rate, service_mean)
    c = integer(servers, name="servers", func=func)
    if capacity is None:  # M/M/c/c
        lam, mu, c = broadcast(func, arrival_rate=lam, service_rate=mu, servers=c)
        K = c.copy()
    else:
        K = integer(capacity, name="capacity", func=func, allow_inf=True)
        lam, mu, c, K = broadcast(func, arrival_rate=lam, service_rate=mu, servers=c, capacity=K)
        _check_capacity(func, c, K)
    a = lam / mu
    rho = a / c
    stable = np.isfinite(K) | (rho < 1)
    idle = rho == 0  # no traffic (or a/c underflows): every figure takes its limit
    ok = stable & ~idle
    # Stand-ins where the general formulas do not apply; overwritten below.
    a_, c_ = np.where(ok, a, 0.5), np.where(ok, c, 1.0)
    m = np.where(ok, K - c, 1.0)
    x = np.log(a_ / c_)
    has_tail = m >= 1
    n = np.where(has_tail, m - 1.0, 0.0)  # the queue positions 0..n a waiting arrival can see

    # Masses relative to p_c: h below c, 1 at c, g = rho G above c, G = sum_0^n rho^j.
    lb1 = np.where(c_ > 1, _log_erlang_b(c_ - 1.0, a_).reshape(c_.shape), 0.0)
    lh = -x - lb1
    lG = np.where(has_tail, _special.log_geom_sum(x, n), -np.inf)
    lg = x + lG
    top = np.maximum(np.maximum(lh, 0.0), lg)
    gdom = has_tail & (lg >= np.maximum(lh, 0.0))
    # NOTE: where g dominates, G / g = 1 / rho exactly; lG - top would lose about
    # eps * (K - c) log(rho) to rounding when K is large.
    eG = np.exp(np.where(gdom, -x, lG - top))
    eg = np.where(gdom, 1.0, np.exp(lg - top))
    eh = np.exp(lh - top)
    Z = eh + np.exp(-top) + eg
    accept = np.minimum((eh + eG) / Z, 1.0)  # 1 - p_block, without the subtraction
    # P(n = K) / P(n > c) = rho^(K-c) / g, from the top of the sum (no K log rho formed).
    last = np.exp(-_special.log_geom_sum(-x, n))
    p_block = np.where(has_tail, eg * last, np.exp(-top)) / Z
    Lq = np.where(has_tail, eg * (1.0 + _special.trunc_geom_mean(x, n)) / Z, 0.0)
    Lq = np.minimum(Lq, m)  # at most K - c waiting, which rounding could overshoot
    p_wait = eG / (eh + eG)

    accept = np.where(idle, 1.0, accept)
    p_block = np.where(ok, p_block, 0.0)
    Lq = np.where(ok, Lq, 0.0)
    p_wait = np.where(ok, p_wait, np.where(stable, 0.0, 1.0))
    # NOTE: capped at the service capacity, which rounding could overshoot by an ulp.
    throughput = np.where(stable, np.minimum(lam * accept, c * mu), c * mu)
    busy = np.where(stable, np.minimum(rho * accept, 1.0), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        Wq = np.where(ok, Lq / throughput, np.where(stable, 0.0, np.inf))
    W = np.where(stable, Wq + 1.0 / mu, np.inf)
    L = np.where(stable, c * busy + Lq, np.inf)  # busy servers + waiting
    Lq = np.where(stable, Lq, np.inf)

    law = FiniteCapacityWaitLaw(
        stable=stable,
        p_wait=p_wait,
        mean_response=np.where(stable, W, 1.0),
        mu=mu,
        servers=c,
        log_rho=x,
        n=np.where(np.isinf(K), np.inf, n),
    )
    return QueueMetrics(
        arrival_rate=finish(lam),
        service_rate=finish(mu),
        servers=finish(c),
        capacity=finish(K),
        utilization=finish(rho),
        busy_fraction=finish(busy),
        L=finish(L),
        Lq=finish(Lq),
        W=finish(W),
        Wq=finish(Wq),
        p_wait=finish(p_wait),
        p_block=finish(p_block),
        throughput=finish(throughput),
        stable=finish(stable),
        method="exact",
        _law=law,
    )
