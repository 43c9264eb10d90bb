"""Result type of the single-queue solvers: :class:`QueueMetrics`.

Every field is a numpy array broadcast over the solver's inputs, or a Python scalar
when every input was a scalar. Times are in the unit of the reciprocal rates
(seconds when rates are per second).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from qsim._validate import as_float, scalar_or_array
from qsim.errors import InvalidArgumentError

if TYPE_CHECKING:
    import pandas as pd

    from qsim.analytic._waits import WaitLaw

__all__ = ["QueueMetrics", "unbounded_metrics"]

Value = Any  # numpy array, or float / bool for scalar inputs


@dataclass(frozen=True, eq=False)
class QueueMetrics:
    """Steady-state performance of one queue (or an array of queues).

    Attributes
    ----------
    arrival_rate : float or ndarray
        Offered arrival rate lambda (messages per second).
    service_rate : float or ndarray
        Service rate mu of one server (messages per second).
    servers : float or ndarray
        Servers c (``inf`` for M/M/inf).
    capacity : float or ndarray
        Most messages in the system K (waiting plus in service); ``inf`` if unbounded.
    utilization : float or ndarray
        Offered utilization rho = lambda / (c mu); may exceed 1 (then an unbounded
        queue is unstable, a finite one blocks).
    busy_fraction : float or ndarray
        Long-run fraction of time each server is busy: throughput / (c mu) <= 1.
    L, Lq : float or ndarray
        Mean number in system / waiting (messages). ``inf`` where unstable.
    W, Wq : float or ndarray
        Mean response time / wait of an accepted message (seconds). ``inf`` where
        unstable.
    p_wait : float or ndarray
        Probability that an accepted message waits (Wq > 0).
    p_block : float or ndarray
        Probability that an arriving message is rejected (0 for unbounded queues).
    throughput : float or ndarray
        Accepted (= completed) messages per second.
    stable : bool or ndarray of bool
        False where the queue is unbounded and utilization >= 1: there the
        steady-state means and quantiles are ``inf``, never a finite number.
    method : str
        ``"exact"``, or the name of the approximation used (e.g. ``"Kingman"``).
    """

    arrival_rate: Value
    service_rate: Value
    servers: Value
    capacity: Value
    utilization: Value
    busy_fraction: Value
    L: Value
    Lq: Value
    W: Value
    Wq: Value
    p_wait: Value
    p_block: Value
    throughput: Value
    stable: Value
    method: str
    _law: WaitLaw | None = field(default=None, repr=False)

    # ---- waiting- and response-time distributions -------------------------------
    def _require_law(self, what: str) -> WaitLaw:
        if self._law is None:
            raise NotImplementedError(
                f"{what} is not available for this model (method {self.method!r}): "
                "its waiting-time distribution is not known in closed form."
            )
        return self._law

    def wait_cdf(self, t: ArrayLike) -> Value:
        """P(Wq <= t) for an accepted message; t in seconds, broadcast with the queue."""
        law = self._require_law("wait_cdf")
        return scalar_or_array(1.0 - law.wait_tail(_times(t, "wait_cdf")))

    def wait_tail(self, t: ArrayLike) -> Value:
        """P(Wq > t) for an accepted message (1 where the queue is unstable)."""
        law = self._require_law("wait_tail")
        return scalar_or_array(law.wait_tail(_times(t, "wait_tail")))

    def response_tail(self, t: ArrayLike) -> Value:
        """P(W > t), W = wait + service, for an accepted message."""
        law = self._require_law("response_tail")
        return scalar_or_array(law.response_tail(_times(t, "response_tail")))

    def response_cdf(self, t: ArrayLike) -> Value:
        """P(W <= t) for an accepted message."""
        law = self._require_law("response_cdf")
        return scalar_or_array(1.0 - law.response_tail(_times(t, "response_cdf")))

    def wait_quantile(self, p: ArrayLike) -> Value:
        """The p-quantile of the wait, in seconds.

        Exactly 0 where p <= 1 - p_wait (that share of messages does not wait);
        ``inf`` where the queue is unstable.
        """
        law = self._require_law("wait_quantile")
        return scalar_or_array(law.wait_quantile(_probs(p, "wait_quantile")))

    def response_quantile(self, p: ArrayLike) -> Value:
        """The p-quantile of the response time (wait + service), in seconds."""
        law = self._require_law("response_quantile")
        return scalar_or_array(law.response_quantile(_probs(p, "response_quantile")))

    @property
    def quantile_method(self) -> str | None:
        """How quantiles are computed: ``"exact"``, a numerical method, or None."""
        return None if self._law is None else self._law.method

    # ---- tables ---------------------------------------------------------------------
    def as_dict(self) -> dict[str, Value]:
        """Public fields by name (the wait law excluded)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}

    def to_frame(self) -> pd.DataFrame:
        """One row per queue of the (flattened) broadcast shape, one column per field."""
        import pandas as pd

        data = self.as_dict()
        method = data.pop("method")
        shape = np.broadcast_shapes(*(np.shape(v) for v in data.values()))
        cols = {k: np.broadcast_to(np.asarray(v), shape).ravel() for k, v in data.items()}
        frame = pd.DataFrame(cols)
        frame["method"] = method
        return frame


def _times(t: ArrayLike, func: str) -> np.ndarray:
    arr = as_float(t, name="t", func=func)
    if np.any(~(arr >= 0)):
        bad = arr[~(arr >= 0)].ravel()[0]
        raise InvalidArgumentError(
            f"The 't' argument of {func} must be a time >= 0. Got {bad!r} instead."
        )
    return arr


def _probs(p: ArrayLike, func: str) -> np.ndarray:
    arr = as_float(p, name="p", func=func)
    if np.any(~((arr > 0) & (arr < 1))):
        bad = arr[~((arr > 0) & (arr < 1))].ravel()[0]
        raise InvalidArgumentError(
            f"The 'p' argument of {func} must be a probability in (0, 1). Got {bad!r} instead."
        )
    return arr


def unbounded_metrics(
    *,
    lam: np.ndarray,
    mu: np.ndarray,
    servers: np.ndarray,
    utilization: np.ndarray,
    Wq: np.ndarray,
    p_wait: np.ndarray,
    stable: np.ndarray,
    method: str,
    law: Any,
) -> QueueMetrics:
    """QueueMetrics of a queue with no capacity limit (nothing is lost), from its mean
    wait ``Wq`` (seconds) and P(wait), both already inf and 1 where ``stable`` is False:
    Lq, W and L by Little's law, the throughput lambda (c mu when unstable)."""
    from qsim.analytic._inputs import finish

    with np.errstate(all="ignore"):
        Lq = np.where(stable, lam * Wq, np.inf)
        W = np.where(stable, Wq + 1.0 / mu, np.inf)
        L = np.where(stable, lam * W, np.inf)
    throughput = np.where(stable, lam, servers * mu)
    return QueueMetrics(
        arrival_rate=finish(lam),
        service_rate=finish(mu),
        servers=finish(servers),
        capacity=finish(np.full(lam.shape, np.inf)),
        utilization=finish(utilization),
        busy_fraction=finish(throughput / (servers * mu)),
        L=finish(L),
        Lq=finish(Lq),
        W=finish(W),
        Wq=finish(Wq),
        p_wait=finish(p_wait),
        p_block=finish(np.zeros(lam.shape)),
        throughput=finish(throughput),
        stable=finish(stable),
        method=method,
        _law=law,
    )
