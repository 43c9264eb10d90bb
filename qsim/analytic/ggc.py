"""G/G/1, G/G/c and M/G/c queues: labelled two-moment approximations, vectorised.

Every result here is an approximation and says so in ``method``; where an
approximation happens to be exact (Poisson arrivals with exponential service, or a
single server with Poisson arrivals) the docstrings say so, but the label stays.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qsim._validate import argument_message, broadcast, integer, nonnegative
from qsim.analytic._inputs import service_rate_of
from qsim.analytic._waits import WaitLaw
from qsim.analytic.metrics import QueueMetrics, unbounded_metrics
from qsim.analytic.mmc import _erlang_c
from qsim.errors import InvalidArgumentError

__all__ = ["gg1_kingman", "ggc_allen_cunneen", "mgc"]

F = NDArray[np.float64]

KINGMAN = "approx: Kingman"
ALLEN_CUNNEEN = "approx: Allen-Cunneen"
COSMETATOS = "approx: Cosmetatos"
MGC_METHODS = ("allen-cunneen", "cosmetatos")

_NO_RESPONSE = (
    "{what} is not available for a two-moment approximation: the response time is "
    "wait + service, and its law needs the whole service-time distribution, not only "
    "its mean and scv. Use wait_quantile for the wait (approximate), or simulate the "
    "queue with its service-time distribution."
)


class ApproxExponentialWaitLaw(WaitLaw):
    """Approximate wait law: Wq = 0 w.p. 1 - p_wait, else exponential with mean m.

    The shape of the M/M/c wait (exact there), used with the approximated p_wait and
    conditional mean m = Wq / p_wait of a two-moment approximation. Heavy-traffic
    theory supports it: the conditional G/G/c wait is asymptotically exponential as
    utilization -> 1 (Kingman 1962; Kollerstrom 1974). Only the wait is given:
    the response-time law needs the service distribution, so the response tails and
    quantiles raise NotImplementedError.
    """

    def __init__(
        self,
        *,
        stable: NDArray[np.bool_],
        p_wait: F,
        cond_mean: F,
        service_mean: F,
        method: str,
    ) -> None:
        with np.errstate(all="ignore"):
            mean_response = np.where(stable, p_wait * cond_mean + service_mean, 1.0)
        super().__init__(stable=stable, p_wait=p_wait, mean_response=mean_response)
        self.cond_mean = np.asarray(cond_mean, np.float64)
        self.method = method

    def _wait_tail(self, t: F) -> F:
        m = self.cond_mean
        out = self.p_wait * np.exp(-t / np.where(m > 0, m, 1.0))
        return np.where(m > 0, out, 0.0)

    def _response_tail(self, t: F) -> F:
        raise NotImplementedError(_NO_RESPONSE.format(what="response_tail"))

    def response_tail(self, t: F) -> F:
        raise NotImplementedError(_NO_RESPONSE.format(what="response_tail"))

    def response_quantile(self, p: F) -> F:
        raise NotImplementedError(_NO_RESPONSE.format(what="response_quantile"))

    def wait_quantile(self, p: F) -> F:
        q = 1.0 - p
        with np.errstate(all="ignore"):
            t = self.cond_mean * np.log(self.p_wait / q)
        return self._finish_quantile(np.where(self.p_wait > q, t, 0.0))


def _scv(value: ArrayLike, name: str, func: str) -> F:
    return nonnegative(value, name=name, func=func)


def _metrics(lam: F, mu: F, c: F, Wq_stable: F, p_wait_stable: F, method: str) -> QueueMetrics:
    """QueueMetrics from an approximate Wq and P(wait), with inf where rho >= 1."""
    rho = lam / (c * mu)
    stable = rho < 1
    with np.errstate(all="ignore"):
        Wq = np.where(stable, Wq_stable, np.inf)
        # A zero mean wait (lambda = 0, or no variability at all) means nobody waits.
        p_wait = np.where(stable, np.where(Wq > 0, p_wait_stable, 0.0), 1.0)
        cond_mean = np.where(stable & (p_wait > 0), Wq / p_wait, 0.0)
    law = ApproxExponentialWaitLaw(
        stable=stable,
        p_wait=p_wait,
        cond_mean=cond_mean,
        service_mean=1.0 / mu,
        method=f"{method}; exponential wait beyond an atom at 0",
    )
    return unbounded_metrics(
        lam=lam,
        mu=mu,
        servers=c,
        utilization=rho,
        Wq=Wq,
        p_wait=p_wait,
        stable=stable,
        method=method,
        law=law,
    )


def gg1_kingman(
    *,
    arrival_rate: ArrayLike,
    arrival_scv: ArrayLike,
    service_mean: ArrayLike | None = None,
    service_rate: ArrayLike | None = None,
    service_scv: ArrayLike,
) -> QueueMetrics:
    """G/G/1 queue by Kingman's heavy-traffic formula (an approximation), FCFS.

    Parameters
    ----------
    arrival_rate : array_like
        Messages per second entering the queue (lambda >= 0), renewal arrivals.
    arrival_scv : array_like
        Squared coefficient of variation of the inter-arrival time, ca^2 >= 0
        (1 for Poisson arrivals, 0 for a fixed rate).
    service_mean : array_like, optional
        Mean service time E[S] in seconds (> 0); give this or ``service_rate``.
    service_rate : array_like, optional
        1 / E[S] in messages per second.
    service_scv : array_like
        Squared coefficient of variation of the service time, cs^2 >= 0.

    Returns
    -------
    QueueMetrics
        Broadcast over the inputs, ``method="approx: Kingman"``. Elements with
        rho = lambda E[S] >= 1 have ``stable=False`` and infinite L, Lq, W, Wq.
        ``wait_quantile`` and ``wait_tail`` follow an approximate law (see Notes);
        ``response_quantile`` and the response tails raise NotImplementedError.

    Raises
    ------
    InvalidArgumentError
        For negative or non-finite rates or scvs, neither or both of ``service_mean``
        and ``service_rate``, or shapes that do not broadcast.

    Notes
    -----
    Approximate. Wq ~= (rho / (1 - rho)) ((ca^2 + cs^2) / 2) E[S], P(wait) ~= rho,
    and the wait law is taken as an atom 1 - rho at 0 plus an exponential with mean
    Wq / rho. Kingman (1961), "The single server queue in heavy traffic", Proc.
    Cambridge Phil. Soc. 57: the relative error vanishes as rho -> 1.

    It is exact in two cases: with ca^2 = cs^2 = 1 it is M/M/1, and with ca^2 = 1
    (Poisson arrivals) it is the Pollaczek-Khinchine mean of M/G/1 for any service
    law with that scv; there P(wait) = rho is exact too (only the exponential wait
    shape is then an approximation, unless cs^2 = 1). When ca^2 = cs^2 = 0 (D/D/1)
    nobody waits: Wq = 0 and P(wait) = 0.

    Examples
    --------
    >>> m = gg1_kingman(arrival_rate=0.8, arrival_scv=1.0, service_mean=1.0, service_scv=0.5)
    >>> round(m.Wq, 9), m.method
    (3.0, 'approx: Kingman')
    """
    func = "gg1_kingman"
    lam = nonnegative(arrival_rate, name="arrival_rate", func=func)
    mu = service_rate_of(func, service_rate, service_mean)
    ca = _scv(arrival_scv, "arrival_scv", func)
    cs = _scv(service_scv, "service_scv", func)
    lam, mu, ca, cs = broadcast(
        func, arrival_rate=lam, service_rate=mu, arrival_scv=ca, service_scv=cs
    )
    rho = lam / mu
    with np.errstate(all="ignore"):
        Wq = rho / (mu - lam) * (ca + cs) / 2.0
    return _metrics(lam, mu, np.ones(lam.shape), Wq, rho, KINGMAN)


def ggc_allen_cunneen(
    *,
    arrival_rate: ArrayLike,
    servers: ArrayLike,
    arrival_scv: ArrayLike,
    service_scv: ArrayLike,
    service_mean: ArrayLike | None = None,
    service_rate: ArrayLike | None = None,
) -> QueueMetrics:
    """G/G/c queue by the Allen-Cunneen approximation, FCFS.

    Parameters
    ----------
    arrival_rate : array_like
        Messages per second entering the queue (lambda >= 0), renewal arrivals.
    servers : array_like of int
        Parallel consumers (c >= 1).
    arrival_scv : array_like
        Squared coefficient of variation of the inter-arrival time, ca^2 >= 0.
    service_scv : array_like
        Squared coefficient of variation of the service time, cs^2 >= 0.
    service_mean : array_like, optional
        Mean service time in seconds (> 0); give this or ``service_rate``.
    service_rate : array_like, optional
        Messages per second one consumer completes (mu > 0).

    Returns
    -------
    QueueMetrics
        Broadcast over the inputs, ``method="approx: Allen-Cunneen"``. Elements with
        rho = lambda / (c mu) >= 1 have ``stable=False`` and infinite means.
        ``wait_quantile`` and ``wait_tail`` follow an approximate law (see Notes);
        the response-time law raises NotImplementedError.

    Raises
    ------
    InvalidArgumentError
        For a bad rate, scv or server count, or shapes that do not broadcast.

    Notes
    -----
    Approximate. Wq ~= C(c, a) / (c mu - lambda) * (ca^2 + cs^2) / 2 with the exact
    Erlang C probability C(c, a), a = lambda / mu; P(wait) ~= C(c, a); the wait is
    taken as an atom 1 - C at 0 plus an exponential with mean Wq / C. Ref: Allen,
    Probability, Statistics and Queueing Theory (2nd ed., 1990), sec. 6.
    Exact for M/M/c (ca^2 = cs^2 = 1); with c = 1 it is :func:`gg1_kingman`. For
    Poisson arrivals it underestimates the wait when cs^2 < 1 (see :func:`mgc`).

    Examples
    --------
    >>> m = ggc_allen_cunneen(arrival_rate=8.0, servers=10, arrival_scv=1.0,
    ...                       service_scv=1.0, service_rate=1.0)
    >>> round(m.Wq, 6), round(m.p_wait, 6)
    (0.20459, 0.40918)
    """
    func = "ggc_allen_cunneen"
    lam = nonnegative(arrival_rate, name="arrival_rate", func=func)
    mu = service_rate_of(func, service_rate, service_mean)
    c = integer(servers, name="servers", func=func)
    ca = _scv(arrival_scv, "arrival_scv", func)
    cs = _scv(service_scv, "service_scv", func)
    lam, mu, c, ca, cs = broadcast(
        func, arrival_rate=lam, service_rate=mu, servers=c, arrival_scv=ca, service_scv=cs
    )
    Wq_mmc, C = _mmc_wait(lam, mu, c)
    return _metrics(lam, mu, c, Wq_mmc * (ca + cs) / 2.0, C, ALLEN_CUNNEEN)


def _mmc_wait(lam: F, mu: F, c: F) -> tuple[F, F]:
    """Exact M/M/c mean wait (inf where unstable) and Erlang C."""
    C = _erlang_c(c, lam / mu)
    with np.errstate(all="ignore"):
        Wq = np.where(lam < c * mu, C / (c * mu - lam), np.inf)
    return Wq, C


def _cosmetatos_gamma(servers: F, rho: F) -> F:
    """gamma(c, rho) = (1 - rho)(c - 1)(sqrt(4 + 5c) - 2) / (16 rho c) (0 at c = 1)."""
    with np.errstate(all="ignore"):
        g = (1 - rho) * (servers - 1) * (np.sqrt(4 + 5 * servers) - 2) / (16 * rho * servers)
    return np.where(servers > 1, g, 0.0)


def mgc(
    *,
    arrival_rate: ArrayLike,
    servers: ArrayLike,
    service_scv: ArrayLike,
    service_mean: ArrayLike | None = None,
    service_rate: ArrayLike | None = None,
    method: str = "cosmetatos",
) -> QueueMetrics:
    """M/G/c queue (Poisson arrivals, general service), two-moment approximations.

    Parameters
    ----------
    arrival_rate : array_like
        Messages per second entering the queue (lambda >= 0, Poisson).
    servers : array_like of int
        Parallel consumers (c >= 1).
    service_scv : array_like
        Squared coefficient of variation of the service time, cs^2 >= 0
        (0 deterministic, 1 exponential).
    service_mean : array_like, optional
        Mean service time in seconds (> 0); give this or ``service_rate``.
    service_rate : array_like, optional
        Messages per second one consumer completes (mu > 0).
    method : {"allen-cunneen", "cosmetatos"}
        The approximation of the mean wait (see Notes). ``"cosmetatos"`` (the default)
        is the more accurate for cs^2 < 1 and identical to ``"allen-cunneen"`` for
        cs^2 >= 1: against exact M/D/c (Crommelin) its Wq error is within 1 % for
        c <= 10 and rho >= 0.5, where Allen-Cunneen errs by up to -24 %.

    Returns
    -------
    QueueMetrics
        Broadcast over the inputs; ``method`` names the approximation
        (``"approx: Allen-Cunneen"`` or ``"approx: Cosmetatos"``). Elements with
        rho >= 1 have ``stable=False`` and infinite means. P(wait) is Erlang C
        (approximate); ``wait_quantile`` uses an atom at 0 plus an exponential with the
        approximated conditional mean; the response-time law raises NotImplementedError.

    Raises
    ------
    InvalidArgumentError
        For a bad rate, scv, server count or method, or shapes that do not broadcast.

    Notes
    -----
    Approximate; both methods are exact for M/M/c (cs^2 = 1) and for M/G/1 (the
    Pollaczek-Khinchine mean), and both tend to the exact value as rho -> 1.

    * ``"allen-cunneen"`` (Lee & Longton 1959): Wq ~= (1 + cs^2) / 2 * Wq(M/M/c).
    * ``"cosmetatos"``: for cs^2 <= 1, Wq ~= (1 - cs^2) Wq(M/D/c) + cs^2 Wq(M/M/c) with
      Cosmetatos' M/D/c correction Wq(M/D/c) ~= (1 + gamma) / 2 * Wq(M/M/c),
      gamma = (1 - rho)(c - 1)(sqrt(4 + 5c) - 2) / (16 rho c). Refs: Cosmetatos (1976),
      "Some approximate equilibrium results for the multi-server queue (M/G/r)",
      Oper. Res. Quarterly 27, 615-620; Tijms, A First Course in Stochastic Models
      (2003), sec. 5.2. For cs^2 > 1 the interpolation has no support (it would even
      turn negative in light traffic) and Allen-Cunneen is used.

    Why both: Allen-Cunneen underestimates the M/D/c wait by the factor 1/(1 + gamma),
    badly with many servers in light traffic. Against the exact M/D/c mean (Crommelin
    1932), the relative error of Wq at rho = 0.5 / 0.8 / 0.95 is, for c = 2:
    Allen-Cunneen -5.7 / -1.6 / -0.3 %, Cosmetatos -0.6 / -0.3 / -0.05 %; for c = 10:
    -23.9 / -6.9 / -1.4 % against -0.9 / +0.15 / +0.19 %. Cosmetatos overestimates in
    light traffic with many servers (+10 % at c = 10, rho = 0.3; +59 % at c = 50,
    rho = 0.3, where Wq ~ 1e-14 D), where Allen-Cunneen is even further off (-36 %,
    -47 %). Against exact M/E2/c (cs^2 = 0.5, c <= 10, rho >= 0.5) Cosmetatos stays
    within 0.6 %, Allen-Cunneen within 10 %.
    For cs^2 > 1 no two-moment formula is reliable (the wait depends on higher
    moments); against balanced hyperexponential service (cs^2 = 2) Allen-Cunneen
    overestimates, by at most +25 % at c = 10, rho = 0.5, +1.8 % at rho = 0.95.

    Examples
    --------
    >>> m = mgc(arrival_rate=8.0, servers=10, service_scv=0.0, service_mean=1.0,
    ...         method="cosmetatos")
    >>> round(m.Wq, 4), m.method
    (0.11, 'approx: Cosmetatos')
    """
    func = "mgc"
    if method not in MGC_METHODS:
        raise InvalidArgumentError(
            argument_message("method", func, "one of 'allen-cunneen', 'cosmetatos'", method)
        )
    lam = nonnegative(arrival_rate, name="arrival_rate", func=func)
    mu = service_rate_of(func, service_rate, service_mean)
    c = integer(servers, name="servers", func=func)
    cs = _scv(service_scv, "service_scv", func)
    lam, mu, c, cs = broadcast(func, arrival_rate=lam, service_rate=mu, servers=c, service_scv=cs)
    Wq_mmc, C = _mmc_wait(lam, mu, c)
    factor = (1.0 + cs) / 2.0
    label = ALLEN_CUNNEEN
    if method == "cosmetatos":
        gamma = _cosmetatos_gamma(c, lam / (c * mu))
        with np.errstate(all="ignore"):
            cosm = (1.0 - cs) * (1.0 + gamma) / 2.0 + cs
        factor = np.where(cs <= 1.0, cosm, factor)
        label = COSMETATOS
        if np.any(cs > 1.0):
            label = f"{COSMETATOS} (Allen-Cunneen where service_scv > 1)"
    with np.errstate(all="ignore"):
        # lambda = 0 gives gamma = inf and Wq(M/M/c) = 0: nobody waits.
        Wq = np.where(lam > 0, Wq_mmc * factor, 0.0)
    return _metrics(lam, mu, c, Wq, C, label)
