"""Single-server priority queues: M/G/1 non-preemptive (Cobham) and preemptive-resume.

Class 0 has the highest priority. Results are per class, in a :class:`PriorityMetrics`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qsim._validate import broadcast, nonnegative, positive
from qsim.errors import InvalidArgumentError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PriorityMetrics", "mg1_priority", "mm1_preemptive_priority"]

F = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class PriorityMetrics:
    """Steady-state performance of each class of a single-server priority queue.

    Every field except ``discipline`` and ``method`` is a 1-d array with one entry per
    class, class 0 being the highest priority. Times in seconds.

    Attributes
    ----------
    arrival_rate : ndarray
        lambda_k, messages per second of class k.
    service_mean : ndarray
        E[S_k], mean service time of class k (seconds).
    utilization : ndarray
        rho_k = lambda_k E[S_k]; the server is overloaded when their sum is >= 1.
    Wq : ndarray
        Mean wait of class k (seconds): time in system minus its own service time
        (for preemptive-resume this includes the time spent preempted).
    W : ndarray
        Mean response time of class k, Wq + E[S_k] (seconds).
    Lq, L : ndarray
        Mean number of class-k messages waiting / in the system (Little's law).
    stable : ndarray of bool
        False for the classes with sigma_k = rho_0 + ... + rho_k >= 1; their figures are
        ``inf``. Higher-priority classes can still be stable.
    discipline : str
        ``"non-preemptive"`` or ``"preemptive-resume"``.
    method : str
        ``"exact"``.
    """

    arrival_rate: F
    service_mean: F
    utilization: F
    Wq: F
    W: F
    Lq: F
    L: F
    stable: NDArray[np.bool_]
    discipline: str
    method: str

    def to_frame(self) -> pd.DataFrame:
        """One row per class (column ``priority``: 0 = highest), one column per field."""
        import pandas as pd

        data = {f.name: getattr(self, f.name) for f in fields(self)}
        frame = pd.DataFrame({"priority": np.arange(self.Wq.size)})
        for name, value in data.items():
            frame[name] = value
        return frame


def _classes(func: str, **named: ArrayLike) -> tuple[F, ...]:
    """Validate per-class inputs, broadcast them, and return 1-d float arrays."""
    arrays = {}
    for name, value in named.items():
        check = nonnegative if name in ("arrival_rates", "service_scvs") else positive
        arrays[name] = check(value, name=name, func=func)
    out = tuple(np.atleast_1d(a).astype(np.float64) for a in broadcast(func, **arrays))
    if out[0].ndim != 1 or out[0].size == 0:
        shapes = ", ".join(f"{k}{np.shape(v)}" for k, v in arrays.items())
        raise InvalidArgumentError(
            f"The arguments of {func} must be 1-d sequences with one value per class (at "
            f"least one class). Got shapes {shapes} instead."
        )
    return out


def _finish(lam: F, m: F, Wq: F, stable: NDArray[np.bool_], discipline: str) -> PriorityMetrics:
    with np.errstate(invalid="ignore"):
        Wq = np.where(stable, Wq, np.inf)
        W = np.where(stable, Wq + m, np.inf)
        Lq = np.where(stable, lam * Wq, np.inf)
        L = np.where(stable, lam * W, np.inf)
    return PriorityMetrics(
        arrival_rate=lam,
        service_mean=m,
        utilization=lam * m,
        Wq=Wq,
        W=W,
        Lq=Lq,
        L=L,
        stable=stable,
        discipline=discipline,
        method="exact",
    )


def _loads(lam: F, m: F) -> tuple[F, F]:
    """sigma_k = rho_0 + ... + rho_k and sigma_{k-1} (0 for the first class)."""
    sigma = np.cumsum(lam * m)
    return sigma, np.concatenate(([0.0], sigma[:-1]))


def mg1_priority(
    *, arrival_rates: ArrayLike, service_means: ArrayLike, service_scvs: ArrayLike
) -> PriorityMetrics:
    """M/G/1 with non-preemptive (head-of-line) priority classes, FCFS within a class.

    Parameters
    ----------
    arrival_rates : array_like, one per class
        Poisson arrival rate lambda_k of class k, messages per second (>= 0); class 0 has
        the highest priority.
    service_means : array_like, one per class
        Mean service time E[S_k] in seconds (> 0).
    service_scvs : array_like, one per class
        Squared coefficient of variation of S_k (>= 0). Scalars broadcast to all classes.

    Returns
    -------
    PriorityMetrics
        Per-class means. Classes with sigma_k >= 1 are unstable (``inf``).

    Notes
    -----
    Exact (Cobham 1954): Wq_k = W0 / ((1 - sigma_{k-1}) (1 - sigma_k)) with
    sigma_k = rho_0 + ... + rho_k and W0 = sum_i lambda_i E[S_i^2] / 2 the mean residual
    service seen by an arrival, E[S^2] = E[S]^2 (1 + scv). When the server is overloaded
    (sigma_K >= 1) the first class c with sigma_c >= 1 always has a backlog and takes the
    leftover capacity 1 - sigma_{c-1}, the classes after it are never served, so
    W0 = sum_{i<c} lambda_i E[S_i^2] / 2 + (1 - sigma_{c-1}) E[S_c^2] / (2 E[S_c]),
    and the classes before c keep finite waits. Kleinrock's conservation law
    sum_k rho_k Wq_k = rho W0 / (1 - rho) (the FCFS value) holds when rho < 1.
    Refs: A. Cobham, "Priority assignment in waiting line problems", J. Oper. Res. Soc.
    America 2 (1954) 70-76; L. Kleinrock, Queueing Systems Vol. 2 (1976), sec. 3.6;
    L. Kleinrock, "A conservation law for a wide class of queueing disciplines", Naval
    Res. Logist. Q. 12 (1965) 181-192.

    Examples
    --------
    >>> r = mg1_priority(arrival_rates=[0.3, 0.4], service_means=[1.0, 1.0], service_scvs=1.0)
    >>> r.Wq.round(6).tolist(), r.stable.tolist()
    ([1.0, 3.333333], [True, True])
    """
    func = "mg1_priority"
    lam, m, scv = _classes(
        func, arrival_rates=arrival_rates, service_means=service_means, service_scvs=service_scvs
    )
    sigma, before = _loads(lam, m)
    half_s2 = 0.5 * m * m * (1.0 + scv)
    stable = sigma < 1.0
    if stable.all():
        w0 = float(np.sum(lam * half_s2))
    else:
        c = int(np.argmin(stable))  # the first unstable class
        w0 = float(np.sum(lam[:c] * half_s2[:c]) + (1.0 - before[c]) * half_s2[c] / m[c])
    with np.errstate(divide="ignore"):
        Wq = w0 / ((1.0 - before) * (1.0 - sigma))
    return _finish(lam, m, Wq, stable, "non-preemptive")


def mm1_preemptive_priority(
    *, arrival_rates: ArrayLike, service_rates: ArrayLike, service_scvs: ArrayLike = 1.0
) -> PriorityMetrics:
    """M/M/1 (or M/G/1) with preemptive-resume priority classes, FCFS within a class.

    Parameters
    ----------
    arrival_rates : array_like, one per class
        Poisson arrival rate lambda_k of class k, messages per second (>= 0); class 0 has
        the highest priority and preempts every lower class.
    service_rates : array_like, one per class
        mu_k = 1 / E[S_k], messages per second (> 0).
    service_scvs : array_like, optional
        Squared coefficient of variation of S_k (>= 0); 1 (exponential, the default)
        gives M/M/1. Other values give M/G/1 preemptive-resume.

    Returns
    -------
    PriorityMetrics
        Per-class means; ``Wq`` is the response time minus the own service time, so it
        includes the time spent preempted. Classes with sigma_k >= 1 are unstable.

    Notes
    -----
    Exact: W_k = E[S_k] / (1 - sigma_{k-1}) + R_k / ((1 - sigma_{k-1}) (1 - sigma_k)), i.e.
    (E[S_k] (1 - sigma_k) + R_k) / ((1 - sigma_{k-1}) (1 - sigma_k)), with
    R_k = sum_{i<=k} lambda_i E[S_i^2] / 2 and sigma_k = rho_0 + ... + rho_k: the own
    service stretched by the preemptions of higher classes, plus the wait for the work
    of classes <= k found or arriving before it (for one class, M/G/1 FCFS). Class k
    does not see the lower classes at all, so its figures stay finite while
    sigma_k < 1 whatever the load below it. Ref: L. Kleinrock, Queueing Systems Vol. 2
    (1976), sec. 3.7; A. Cobham (1954), J. Oper. Res. Soc. America 2, 70-76.

    Examples
    --------
    >>> r = mm1_preemptive_priority(arrival_rates=[0.3, 0.4], service_rates=[1.0, 1.0])
    >>> r.W.round(6).tolist()
    [1.428571, 4.761905]
    """
    func = "mm1_preemptive_priority"
    lam, mu, scv = _classes(
        func, arrival_rates=arrival_rates, service_rates=service_rates, service_scvs=service_scvs
    )
    m = 1.0 / mu
    sigma, before = _loads(lam, m)
    r = np.cumsum(0.5 * lam * m * m * (1.0 + scv))
    stable = sigma < 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        W = m / (1.0 - before) + r / ((1.0 - before) * (1.0 - sigma))
    return _finish(lam, m, W - m, stable, "preemptive-resume")
