"""M/M/1 and M/M/c queues (Erlang B and Erlang C), exact and vectorised."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qsim._validate import broadcast, integer, nonnegative, positive
from qsim.analytic import _special
from qsim.analytic._inputs import finish, service_rate_of
from qsim.analytic._waits import ExponentialWaitLaw
from qsim.analytic.metrics import QueueMetrics, unbounded_metrics
from qsim.errors import InvalidArgumentError

__all__ = ["erlang_b", "erlang_c", "mm1", "mmc"]

F = NDArray[np.float64]


def _offered_load(
    func: str,
    offered_load: ArrayLike | None,
    arrival_rate: ArrayLike | None,
    service_rate: ArrayLike | None,
) -> F:
    if offered_load is not None:
        if arrival_rate is not None or service_rate is not None:
            raise InvalidArgumentError(
                f"{func} takes either 'offered_load' or 'arrival_rate' with 'service_rate'. "
                "Got both instead."
            )
        return nonnegative(offered_load, name="offered_load", func=func)
    if arrival_rate is None or service_rate is None:
        raise InvalidArgumentError(
            f"{func} needs 'offered_load' (Erlangs), or 'arrival_rate' and 'service_rate'. "
            "Got neither instead."
        )
    lam = nonnegative(arrival_rate, name="arrival_rate", func=func)
    mu = positive(service_rate, name="service_rate", func=func)
    lam, mu = broadcast(func, arrival_rate=lam, service_rate=mu)
    return lam / mu  # type: ignore[no-any-return]


def erlang_b(
    *,
    servers: ArrayLike,
    offered_load: ArrayLike | None = None,
    arrival_rate: ArrayLike | None = None,
    service_rate: ArrayLike | None = None,
) -> F | float:
    """Erlang B: the probability that an arrival finds all c servers busy in M/M/c/c.

    Parameters
    ----------
    servers : array_like of int
        Servers c (>= 1).
    offered_load : array_like, optional
        a = lambda / mu in Erlangs (>= 0). Alternatively give ``arrival_rate`` and
        ``service_rate`` (messages per second).

    Returns
    -------
    float or ndarray
        B(c, a), broadcast over the inputs.

    Notes
    -----
    Exact, and insensitive to the service distribution beyond its mean (M/G/c/c).
    Computed as P(N = c) / P(N <= c) for N ~ Poisson(a), the pmf by Loader's
    saddle-point form and the cdf by the regularised incomplete gamma function, so it
    stays accurate to ~1e-13 for c in the hundreds of thousands where the factorial
    form overflows. Equivalent to the recursion B(k) = a B(k-1) / (k + a B(k-1)).

    Examples
    --------
    >>> round(erlang_b(servers=10, offered_load=5.0), 6)
    0.018385
    """
    func = "erlang_b"
    a = _offered_load(func, offered_load, arrival_rate, service_rate)
    c = integer(servers, name="servers", func=func)
    c, a = broadcast(func, servers=c, offered_load=a)
    return finish(_special.erlang_b(c, a))


def erlang_c(
    *,
    servers: ArrayLike,
    offered_load: ArrayLike | None = None,
    arrival_rate: ArrayLike | None = None,
    service_rate: ArrayLike | None = None,
) -> F | float:
    """Erlang C: the probability that an arrival waits in M/M/c (FCFS).

    Parameters as :func:`erlang_b`. Where a >= c the queue is unstable and every
    arrival eventually waits: the result is 1.

    Notes
    -----
    Exact. C = B / (1 - rho (1 - B)) with rho = a / c, evaluated as
    B / ((1 - rho) + rho B) so that it keeps its precision as rho -> 1.
    Ref: Gross, Shortle, Thompson & Harris, Fundamentals of Queueing Theory, ch. 2.

    Examples
    --------
    >>> round(erlang_c(servers=10, offered_load=5.0), 6)
    0.036105
    """
    func = "erlang_c"
    a = _offered_load(func, offered_load, arrival_rate, service_rate)
    c = integer(servers, name="servers", func=func)
    c, a = broadcast(func, servers=c, offered_load=a)
    return finish(_erlang_c(c, a))


def _erlang_c(c: F, a: F) -> F:
    rho = a / c
    stable = rho < 1
    b = _special.erlang_b(c, a)
    with np.errstate(all="ignore"):
        C = b / ((c - a) / c + rho * b)
    return np.where(stable, C, 1.0)


def mmc(
    *,
    arrival_rate: ArrayLike,
    servers: ArrayLike,
    service_rate: ArrayLike | None = None,
    service_mean: ArrayLike | None = None,
) -> QueueMetrics:
    """M/M/c queue in steady state (Erlang C), FCFS.

    Parameters
    ----------
    arrival_rate : array_like
        Messages per second entering the queue (lambda >= 0, Poisson).
    servers : array_like of int
        Parallel consumers (c >= 1).
    service_rate : array_like, optional
        Messages per second one consumer completes (mu > 0, exponential service).
    service_mean : array_like, optional
        Mean service time in seconds (1 / mu); give this or ``service_rate``.

    Returns
    -------
    QueueMetrics
        Broadcast over the inputs. Elements with utilization >= 1 have
        ``stable=False`` and infinite L, Lq, W, Wq and quantiles. ``wait_quantile``,
        ``response_quantile`` and the tails are exact.

    Notes
    -----
    Exact. Erlang C = B / (1 - rho (1 - B)) from a stable Erlang B (see
    :func:`erlang_b`); Wq = C / (c mu - lambda), Lq = lambda Wq, W = Wq + 1/mu,
    L = lambda W. The wait is 0 with probability 1 - C and otherwise exponential
    with rate c mu - lambda, so P(Wq > t) = C exp(-(c mu - lambda) t).
    Ref: Gross, Shortle, Thompson & Harris, Fundamentals of Queueing Theory, ch. 2.

    Examples
    --------
    >>> m = mmc(arrival_rate=8.0, service_rate=1.0, servers=10)
    >>> round(m.Wq, 6), round(m.p_wait, 6), m.stable
    (0.20459, 0.40918, True)
    """
    return _mmc("mmc", arrival_rate, servers, service_rate, service_mean)


def mm1(
    *,
    arrival_rate: ArrayLike,
    service_rate: ArrayLike | None = None,
    service_mean: ArrayLike | None = None,
) -> QueueMetrics:
    """M/M/1 queue in steady state, FCFS.

    Parameters
    ----------
    arrival_rate : array_like
        Messages per second (lambda >= 0, Poisson).
    service_rate : array_like, optional
        Messages per second the single consumer completes (mu > 0, exponential).
    service_mean : array_like, optional
        Mean service time in seconds; give this or ``service_rate``.

    Returns
    -------
    QueueMetrics
        Elements with rho = lambda / mu >= 1 have ``stable=False`` and infinite means.

    Notes
    -----
    Exact. L = rho / (1 - rho), W = 1 / (mu - lambda), P(Wq > t) = rho e^{-(mu - lambda) t},
    and the response time is exponential with rate mu - lambda.

    Examples
    --------
    >>> m = mm1(arrival_rate=0.9, service_rate=1.0)
    >>> round(m.L, 9), round(m.W, 9), round(m.response_quantile(0.99), 6)
    (9.0, 10.0, 46.051702)
    """
    return _mmc("mm1", arrival_rate, 1.0, service_rate, service_mean)


def _mmc(
    func: str,
    arrival_rate: ArrayLike,
    servers: ArrayLike,
    service_rate: ArrayLike | None,
    service_mean: ArrayLike | None,
) -> QueueMetrics:
    lam = nonnegative(arrival_rate, name="arrival_rate", func=func)
    mu = service_rate_of(func, service_rate, service_mean)
    c = integer(servers, name="servers", func=func)
    lam, mu, c = broadcast(func, arrival_rate=lam, service_rate=mu, servers=c)
    a = lam / mu
    rho = a / c
    stable = rho < 1
    C = _erlang_c(c, a)
    theta = c * mu - lam
    with np.errstate(all="ignore"):
        Wq = np.where(stable, C / theta, np.inf)
    law = ExponentialWaitLaw(stable=stable, p_wait=C, theta=theta, mu=mu)
    return unbounded_metrics(
        lam=lam,
        mu=mu,
        servers=c,
        utilization=rho,
        Wq=Wq,
        p_wait=C,
        stable=stable,
        method="exact",
        law=law,
    )
