"""M/G/1 and M/D/1 queues (Pollaczek-Khinchine), FCFS, vectorised over arrays of queues."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qsim._validate import broadcast, nonnegative, positive
from qsim.analytic._inputs import service_rate_of
from qsim.analytic._md1_law import MD1WaitLaw
from qsim.analytic._mg1_law import ElementwiseWaitLaw, NumericalMG1WaitLaw
from qsim.analytic._waits import ExponentialWaitLaw, WaitLaw
from qsim.analytic.metrics import QueueMetrics, unbounded_metrics
from qsim.analytic.mmc import mm1
from qsim.distributions import Deterministic, Distribution, Exponential, Gamma
from qsim.errors import InvalidArgumentError

__all__ = ["md1", "mg1"]

F = NDArray[np.float64]

GAMMA_APPROX = "approx: gamma service with given mean and scv"


def mg1(
    *,
    arrival_rate: ArrayLike,
    service_mean: ArrayLike | None = None,
    service_scv: ArrayLike | None = None,
    service: Distribution | None = None,
) -> QueueMetrics:
    """M/G/1 queue in steady state (Pollaczek-Khinchine), FCFS.

    Parameters
    ----------
    arrival_rate : array_like
        Messages per second entering the queue (lambda >= 0, Poisson).
    service_mean : array_like, optional
        Mean service time E[S] in seconds (> 0); give it with ``service_scv``.
    service_scv : array_like, optional
        Squared coefficient of variation of the service time, Var[S] / E[S]^2 (>= 0).
    service : Distribution, optional
        A service-time distribution from :mod:`qsim.distributions`, instead of
        ``service_mean`` and ``service_scv``. Its parameters are scalars; ``arrival_rate``
        may still be an array.

    Returns
    -------
    QueueMetrics
        Broadcast over the inputs; ``method`` is ``"exact"`` (the means are exact for any
        service law). Elements with utilization >= 1 have ``stable=False`` and infinite
        L, Lq, W, Wq and quantiles.

    Raises
    ------
    InvalidArgumentError
        For a negative or non-finite arrival rate, a service mean <= 0, an scv < 0,
        neither or both ways of giving the service, or shapes that do not broadcast.

    Notes
    -----
    Means (exact): rho = lambda E[S], E[S^2] = E[S]^2 (1 + scv),
    Wq = lambda E[S^2] / (2 (1 - rho)), Lq = lambda Wq, W = Wq + E[S], L = lambda W;
    P(wait > 0) = rho. Ref: Kleinrock, Queueing Systems Vol. 1 (1975), sec. 5.6.

    Waiting-time law (``wait_quantile``, ``wait_tail`` ...; ``quantile_method`` says how):

    * ``service=Exponential``: M/M/1 (the result of :func:`~qsim.analytic.mm1`), exact.
    * ``service=Deterministic``: the M/D/1 law, exact (see :func:`md1`).
    * any other distribution: the Pollaczek-Khinchine/Benes compound-geometric law
      P(Wq > t) = sum_{n>=1} (1 - rho) rho^n P(R_1 + ... + R_n > t), R the stationary
      excess of S, computed numerically between rigorous lattice bounds with a
      Romberg-extrapolated estimate (relative tail error below 2e-8 for rho <= 0.99,
      larger next to atoms of an empirical service; see ``NumericalMG1WaitLaw`` in
      ``qsim.analytic._mg1_law``). One law per distinct queue, computed lazily on the
      first quantile or tail request (a loop over the distinct queues, as fallback).
    * only ``service_mean``/``service_scv``: the means are exact but the law is not
      determined; quantiles assume a gamma service time with that mean and scv
      (exponential for scv = 1, deterministic for scv = 0) and ``quantile_method`` is
      ``"approx: gamma service with given mean and scv"`` (``"exact"`` if every scv is 0).

    Examples
    --------
    >>> m = mg1(arrival_rate=0.8, service_mean=1.0, service_scv=0.5)
    >>> round(m.Wq, 9), m.quantile_method
    (3.0, 'approx: gamma service with given mean and scv')
    >>> from qsim.distributions import Exponential
    >>> round(mg1(arrival_rate=0.8, service=Exponential(mean=1.0)).wait_quantile(0.99), 6)
    21.910133
    """
    func = "mg1"
    lam = nonnegative(arrival_rate, name="arrival_rate", func=func)
    if service is not None:
        if service_mean is not None or service_scv is not None:
            raise InvalidArgumentError(
                "mg1 takes either 'service' (a distribution) or 'service_mean' with "
                "'service_scv'. Got both instead."
            )
        if not isinstance(service, Distribution):
            raise InvalidArgumentError(
                f"The 'service' argument of mg1 must be a qsim.distributions distribution. "
                f"Got {service!r} instead."
            )
        m, scv = np.asarray(service.mean), np.asarray(service.scv)
    else:
        if service_mean is None or service_scv is None:
            missing = [
                n
                for n, v in (("service_mean", service_mean), ("service_scv", service_scv))
                if v is None
            ]
            raise InvalidArgumentError(
                "mg1 needs 'service' (a distribution), or 'service_mean' and 'service_scv'. "
                f"Got no {' or '.join(repr(n) for n in missing)} instead."
            )
        m = positive(service_mean, name="service_mean", func=func)
        scv = nonnegative(service_scv, name="service_scv", func=func)
    lam, m, scv = broadcast(func, arrival_rate=lam, service_mean=m, service_scv=scv)
    if isinstance(service, Exponential) or (service is None and np.all(scv == 1.0)):
        # NOTE: exponential service is M/M/1: delegate, so that both agree to the last bit.
        result = mm1(arrival_rate=lam, service_mean=m)
        if service is None and result._law is not None:
            result._law.method = GAMMA_APPROX
        return result
    stable = lam * m < 1
    law = _law(lam, m, scv, stable, service)
    return _metrics(lam, m, scv, law)


def md1(
    *,
    arrival_rate: ArrayLike,
    service_mean: ArrayLike | None = None,
    service_rate: ArrayLike | None = None,
) -> QueueMetrics:
    """M/D/1 queue in steady state (constant service time D), FCFS.

    Parameters
    ----------
    arrival_rate : array_like
        Messages per second (lambda >= 0, Poisson).
    service_mean : array_like, optional
        The constant service time D in seconds (> 0).
    service_rate : array_like, optional
        1 / D in messages per second; give this or ``service_mean``.

    Returns
    -------
    QueueMetrics
        Exact means and an exact waiting-time law; elements with rho = lambda D >= 1
        have ``stable=False`` and infinite means and quantiles.

    Notes
    -----
    Exact. Wq = rho D / (2 (1 - rho)) (Pollaczek-Khinchine with scv = 0).
    Erlang (1909) gave P(Wq <= t) = (1 - rho) sum_{k=0}^{floor(t/D)}
    e^{-lambda (k D - t)} (lambda (k D - t))^k / k!, an alternating sum that loses about
    lambda t / ln(10) digits, so it is not used. Instead, for t = k D + u, 0 <= u < D,
    P(Wq <= t) = P(max(N - 1, 0) + A <= k), N the stationary number in system and A
    Poisson(lambda (D - u)) independent of it (Crommelin 1932, "Delay probability formulas
    when the holding times are constant", P.O. Electr. Eng. J. 25; Franx 2001, "A simple
    solution for the M/D/c waiting time distribution", Oper. Res. Lett. 29), with N from
    a positive-term level-crossing recursion: only positive terms, so tails keep their
    relative precision. The response time is Wq + D.

    Examples
    --------
    >>> m = md1(arrival_rate=0.5, service_mean=1.0)
    >>> round(m.Wq, 9), round(float(m.wait_cdf(1.0)), 9)
    (0.5, 0.824360635)
    """
    func = "md1"
    lam = nonnegative(arrival_rate, name="arrival_rate", func=func)
    mu = service_rate_of(func, service_rate, service_mean)
    lam, mu = broadcast(func, arrival_rate=lam, service_rate=mu)
    D = 1.0 / mu
    stable = lam * D < 1
    law = MD1WaitLaw(stable=stable, lam=lam, D=D)
    return _metrics(lam, D, np.zeros(lam.shape), law)


def _law(lam: F, m: F, scv: F, stable: NDArray[np.bool_], service: Distribution | None) -> WaitLaw:
    """The waiting-time law for the array of queues (see the Notes of :func:`mg1`)."""
    rho = lam * m
    with np.errstate(all="ignore"):
        wq = np.where(stable, lam * m * m * (1.0 + scv) / (2.0 * (1.0 - rho)), 1.0)
    p_wait = np.where(stable, rho, 1.0)
    if isinstance(service, Deterministic) or (service is None and np.all(scv == 0.0)):
        return MD1WaitLaw(stable=stable, lam=lam, D=m)
    law = _elementwise(lam, m, scv, stable, service, wq + m, p_wait)
    if service is None:
        law.method = GAMMA_APPROX
    return law


def _elementwise(
    lam: F,
    m: F,
    scv: F,
    stable: NDArray[np.bool_],
    service: Distribution | None,
    mean_response: F,
    p_wait: F,
) -> ElementwiseWaitLaw:
    rows = np.stack([lam[stable], m[stable], scv[stable]], axis=-1).reshape(-1, 3)
    distinct, inverse = np.unique(rows, axis=0, return_inverse=True)
    index = np.full(lam.shape, -1, dtype=np.intp)
    index[stable] = inverse.ravel()
    laws: list[WaitLaw] = []
    for lam_u, m_u, scv_u in distinct:
        one = np.asarray(True)
        if service is None and scv_u == 1.0:
            laws.append(
                ExponentialWaitLaw(
                    stable=one,
                    p_wait=np.asarray(lam_u * m_u),
                    theta=np.asarray(1.0 / m_u - lam_u),
                    mu=np.asarray(1.0 / m_u),
                )
            )
        elif service is None and scv_u == 0.0:
            laws.append(MD1WaitLaw(stable=one, lam=np.asarray(lam_u), D=np.asarray(m_u)))
        else:
            dist = service if service is not None else Gamma(mean=m_u, scv=scv_u)
            laws.append(NumericalMG1WaitLaw(dist=dist, lam=float(lam_u)))
    return ElementwiseWaitLaw(
        laws=laws,
        index=index,
        stable=stable,
        p_wait=p_wait,
        mean_response=mean_response,
        method=NumericalMG1WaitLaw.method,
    )


def _metrics(lam: F, m: F, scv: F, law: WaitLaw) -> QueueMetrics:
    rho = lam * m
    stable = rho < 1
    with np.errstate(all="ignore"):
        Wq = np.where(stable, lam * m * m * (1.0 + scv) / (2.0 * (1.0 - rho)), np.inf)
    return unbounded_metrics(
        lam=lam,
        mu=1.0 / m,
        servers=np.ones(lam.shape),
        utilization=rho,
        Wq=Wq,
        p_wait=np.where(stable, rho, 1.0),
        stable=stable,
        method="exact",
        law=law,
    )
