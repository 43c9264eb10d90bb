"""Open Jackson networks: traffic equations, per-station M/M/c metrics, end-to-end means."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, NoReturn

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qsim._validate import as_float, integer, nonnegative, positive
from qsim.analytic.mmc import mmc
from qsim.errors import InvalidArgumentError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["NetworkMetrics", "jackson"]

F = NDArray[np.float64]

_FUNC = "jackson"
# Row sums within this of 1 count as "nothing leaves": a leak of 1e-16 left by rounding
# (ten entries of 0.1) would otherwise give traffic of order 1e16 instead of an error.
_ROW_TOL = 1e-12


@dataclass(frozen=True, eq=False)
class NetworkMetrics:
    """Steady-state performance of an open Jackson network.

    Per-station fields are 1-D arrays in station order; network-level fields are
    Python scalars. Times are in seconds when rates are per second.

    Attributes
    ----------
    names : tuple of str
        Station names.
    external_rate : ndarray
        External (Poisson) arrival rate gamma_i at each station (messages per second).
    arrival_rate : ndarray
        Total arrival rate lambda_i = gamma_i + sum_j lambda_j P[j, i] (messages per second).
    visit_ratio : ndarray
        Mean visits to each station per message entering the network:
        lambda_i / sum(gamma).
    service_rate : ndarray
        Service rate of one server at each station (messages per second).
    servers : ndarray
        Servers per station (``inf`` for a delay station).
    utilization : ndarray
        lambda_i / (c_i mu_i); 0 at delay stations. An unstable station has
        utilization >= 1.
    L, Lq : ndarray
        Mean number in station / waiting there (messages); ``inf`` where unstable.
    W, Wq : ndarray
        Mean response time / wait per visit (seconds); ``inf`` where unstable.
    station_stable : ndarray of bool
        False where utilization >= 1 at a finite-server station.
    entry_sojourn : ndarray
        Mean time in the network (seconds) of a message that enters at each station,
        summed over all its visits until it leaves.
    throughput : float
        Messages per second entering (= leaving) the network: sum(gamma).
    L_total : float
        Mean number of messages in the whole network.
    sojourn : float
        Mean end-to-end time in the network (seconds), L_total / throughput.
    bottleneck : str
        Name of the station with the highest utilization (the first one on ties).
    stable : bool
        True when every station is stable. Otherwise L_total, sojourn and every
        entry_sojourn are ``inf``.
    method : str
        ``"exact"``.
    """

    names: tuple[str, ...]
    external_rate: F
    arrival_rate: F
    visit_ratio: F
    service_rate: F
    servers: F
    utilization: F
    L: F
    Lq: F
    W: F
    Wq: F
    station_stable: NDArray[np.bool_]
    entry_sojourn: F
    throughput: float
    L_total: float
    sojourn: float
    bottleneck: str
    stable: bool
    method: str

    def to_frame(self) -> pd.DataFrame:
        """One row per station, one column per per-station field (``name``, ..., ``stable``)."""
        import pandas as pd

        frame = pd.DataFrame({"name": list(self.names)})
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                column = "stable" if f.name == "station_stable" else f.name
                frame[column] = value
        return frame


def jackson(
    *,
    arrival_rates: ArrayLike,
    routing: ArrayLike,
    service_rates: ArrayLike,
    servers: ArrayLike = 1,
    names: Sequence[str] | None = None,
) -> NetworkMetrics:
    """Open Jackson network of M/M/c stations with probabilistic routing, in steady state.

    Parameters
    ----------
    arrival_rates : array_like, shape (n,)
        External Poisson arrival rate at each station (messages per second, >= 0,
        with a positive total).
    routing : array_like, shape (n, n)
        ``routing[i, j]`` is the probability that a message finishing service at
        station i goes next to station j; 1 - sum_j routing[i, j] is the probability
        that it leaves the network. Feedback (``routing[i, i] > 0``) and cycles are
        allowed, as long as every message eventually leaves.
    service_rates : array_like, shape (n,) or scalar
        Messages per second one server of each station completes (> 0, exponential).
    servers : array_like of int, shape (n,) or scalar
        Servers per station (>= 1), or ``inf`` for a delay (infinite-server) station.
    names : sequence of str, optional
        Distinct station names; ``"station_0"``, ``"station_1"``, ... by default.

    Returns
    -------
    NetworkMetrics
        Per-station arrays and network-level means. Stations with utilization >= 1
        have ``station_stable=False`` and infinite L, Lq, W, Wq; then the network is
        unstable and its L_total, sojourn and entry sojourns are ``inf``.

    Raises
    ------
    InvalidArgumentError
        On shapes that do not match, negative or non-finite rates, routing
        probabilities outside [0, 1], row sums above 1, or a routing matrix with
        stations from which messages can never leave.

    Notes
    -----
    Exact (Jackson's theorem). The traffic equations lambda = gamma + P^T lambda
    are solved as (I - P^T) lambda = gamma; they have a unique non-negative
    solution exactly when every station can reach the exit. The stationary
    distribution is then the product of the marginals of independent M/M/c_i
    queues with arrival rate lambda_i, so each station is solved by
    :func:`qsim.analytic.mmc.mmc` (M/M/inf at a delay station: L = lambda / mu,
    W = 1 / mu, no wait). By Little's law the mean sojourn is
    sum_i L_i / sum_i gamma_i; the sojourn T_i of a message entering at station i
    solves T = W + P T (its current visit, then the rest of its route).
    Ref: J. R. Jackson (1957), "Networks of waiting lines", Operations Research
    5(4); Gross, Shortle, Thompson & Harris, Fundamentals of Queueing Theory,
    ch. 5.

    Examples
    --------
    A web tier feeding a database, 30 % of requests coming back for a second pass:

    >>> net = jackson(arrival_rates=[10.0, 0.0], routing=[[0.0, 1.0], [0.3, 0.0]],
    ...               service_rates=[20.0, 25.0])
    >>> net.visit_ratio.round(6).tolist(), net.bottleneck
    ([1.428571, 1.428571], 'station_0')
    >>> round(net.sojourn, 6), net.entry_sojourn.round(6).tolist(), net.stable
    (0.383333, [0.383333, 0.208333], True)
    """
    gamma = nonnegative(arrival_rates, name="arrival_rates", func=_FUNC)
    if gamma.ndim != 1 or gamma.size == 0:
        _fail("arrival_rates", "a 1-D array with one rate per station", f"shape {gamma.shape}")
    n = gamma.size
    if not gamma.sum() > 0:
        _fail("arrival_rates", "rates with a positive total", f"{gamma.tolist()}")
    P = _routing(routing, n)
    mu = _per_station(positive(service_rates, name="service_rates", func=_FUNC), n, "service_rates")
    c = _per_station(integer(servers, name="servers", func=_FUNC, allow_inf=True), n, "servers")
    labels = _names(names, n)
    _check_exits(P, labels)

    eye = np.eye(n)
    lam = np.maximum(np.linalg.solve(eye - P.T, gamma), 0.0)
    total = float(gamma.sum())

    utilization = np.zeros(n)
    L, Lq, W, Wq = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    station_stable = np.ones(n, bool)
    finite = np.isfinite(c)
    if finite.any():
        m = mmc(arrival_rate=lam[finite], service_rate=mu[finite], servers=c[finite])
        utilization[finite] = m.utilization
        L[finite], Lq[finite], W[finite], Wq[finite] = m.L, m.Lq, m.W, m.Wq
        station_stable[finite] = m.stable
    # M/M/inf: no wait, so W = 1 / mu and L = lambda / mu; utilization stays 0.
    delay = ~finite
    W[delay] = 1.0 / mu[delay]
    L[delay] = lam[delay] * W[delay]
    stable = bool(station_stable.all())

    if stable:
        entry = np.linalg.solve(eye - P, W)
        L_total = float(L.sum())
        sojourn = L_total / total
    else:
        entry = np.full(n, np.inf)
        L_total = sojourn = float("inf")

    return NetworkMetrics(
        names=labels,
        external_rate=gamma,
        arrival_rate=lam,
        visit_ratio=lam / total,
        service_rate=mu,
        servers=c,
        utilization=utilization,
        L=L,
        Lq=Lq,
        W=W,
        Wq=Wq,
        station_stable=station_stable,
        entry_sojourn=entry,
        throughput=total,
        L_total=L_total,
        sojourn=sojourn,
        bottleneck=labels[int(np.argmax(utilization))],
        stable=stable,
        method="exact",
    )


def _fail(name: str, allowed: str, got: str) -> NoReturn:
    """Raise with the house template, quoting ``got`` as written (shapes, lists)."""
    raise InvalidArgumentError(
        f"The {name!r} argument of {_FUNC} must be {allowed}. Got {got} instead."
    )


def _per_station(arr: F, n: int, name: str) -> F:
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        _fail(
            name, f"a scalar or a 1-D array of length {n} (one per station)", f"shape {arr.shape}"
        )
    return arr


def _routing(routing: ArrayLike, n: int) -> F:
    P = as_float(routing, name="routing", func=_FUNC)
    if P.shape != (n, n):
        _fail(
            "routing",
            f"a square matrix of shape {(n, n)} (one row and column per station)",
            f"shape {P.shape}",
        )
    bad = ~((P >= 0) & (P <= 1))
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        got = f"{float(P[i, j])!r} at index ({i}, {j})"
        _fail("routing", "a matrix of probabilities in [0, 1]", got)
    sums = P.sum(axis=1)
    over = sums > 1 + _ROW_TOL
    if over.any():
        i = int(np.argmax(over))
        _fail(
            "routing",
            "a matrix with row sums <= 1 (the rest leaves the network)",
            f"row sum {float(sums[i])!r} at row {i}",
        )
    return P


def _names(names: Sequence[str] | None, n: int) -> tuple[str, ...]:
    if names is None:
        return tuple(f"station_{i}" for i in range(n))
    labels = tuple(names) if not isinstance(names, str) else (names,)
    if len(labels) != n or not all(isinstance(s, str) for s in labels) or len(set(labels)) != n:
        _fail("names", f"{n} distinct strings (one per station)", repr(names))
    return labels


def _check_exits(P: F, labels: tuple[str, ...]) -> None:
    """Raise unless every station can reach the exit (then I - P is invertible)."""
    can_leave = P.sum(axis=1) < 1 - _ROW_TOL
    edges = P > 0
    for _ in range(len(labels)):  # a path to the exit is at most n hops long
        grown = can_leave | (edges & can_leave[None, :]).any(axis=1)
        if (grown == can_leave).all():
            break
        can_leave = grown
    if not can_leave.all():
        trapped = ", ".join(repr(labels[i]) for i in np.flatnonzero(~can_leave))
        _fail(
            "routing",
            "a matrix from which every message eventually leaves the network",
            f"stations {trapped} from which messages can never leave",
        )
