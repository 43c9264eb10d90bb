"""Waiting- and response-time laws behind ``QueueMetrics.wait_quantile`` and friends.

A :class:`WaitLaw` knows P(Wq > t) and P(W > t) of an accepted message for every
queue of a broadcast array. Quantiles come from closed forms where a model has them,
otherwise from :func:`invert_tail`, a vectorised bracketing bisection that needs only
a continuous, non-increasing tail.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from qsim.analytic._special import rel_expm1

F = NDArray[np.float64]

__all__ = ["ExponentialWaitLaw", "WaitLaw", "exponential_response_tail", "invert_tail"]


def invert_tail(tail: Callable[[F], F], q: F, scale: F, active: NDArray[np.bool_]) -> F:
    """Smallest t >= 0 with tail(t) <= q, elementwise, where ``active``; nan elsewhere.

    ``tail`` must be non-increasing and continuous in t on (0, inf) and accept an array
    of the broadcast shape. ``scale`` (> 0) is a typical time (a mean) to start the
    bracket from. The bracket [hi / 2, hi] is found by doubling, then bisected to a
    relative width of 1e-14 (about 47 halvings).
    """
    q, scale, active = np.broadcast_arrays(q, scale, active)
    hi = np.where(active, np.maximum(scale, np.finfo(float).tiny), 1.0)
    lo = np.zeros_like(hi)
    need = active.copy()
    for _ in range(2100):  # 2**2100 covers any double ratio
        with np.errstate(all="ignore"):
            above = need & (tail(hi) > q)
        if not above.any():
            break
        lo = np.where(above, hi, lo)
        hi = np.where(above, hi * 2.0, hi)
        need = above
    for _ in range(200):
        width = hi - lo
        if not np.any(active & (width > 1e-14 * hi)):
            break
        mid = 0.5 * (lo + hi)
        with np.errstate(all="ignore"):
            above = tail(mid) > q
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return np.where(active, hi, np.nan)


def exponential_response_tail(t: F, p_wait: F, theta: F, mu: F) -> F:
    """P(Wq + S > t) for Wq = 0 w.p. 1 - p_wait else Exp(theta), S ~ Exp(mu) independent."""
    x = (theta - mu) * t
    near = np.abs(x) < 1e-2
    with np.errstate(all="ignore"):
        # P(E_theta + E_mu > t) - e^{-mu t} = mu (e^{-theta t} - e^{-mu t}) / (mu - theta),
        # written as mu t e^{-mu t} (1 - e^{-x}) / x near theta = mu to avoid cancellation.
        far = mu * (np.exp(-theta * t) - np.exp(-mu * t)) / np.where(near, 1.0, mu - theta)
        close = mu * t * np.exp(-mu * t) * rel_expm1(np.where(near, x, 0.0))
        return np.exp(-mu * t) + p_wait * np.where(near, close, far)  # type: ignore[no-any-return]


class WaitLaw(ABC):
    """Distribution of the wait Wq and response W = Wq + S of an accepted message.

    Parameters are arrays broadcast to the queue's shape. Unstable entries answer
    tail 1 and quantile inf.
    """

    method: str = "exact"

    def __init__(self, *, stable: NDArray[np.bool_], p_wait: F, mean_response: F) -> None:
        self.stable = np.asarray(stable, bool)
        self.p_wait = np.asarray(p_wait, np.float64)
        self.mean_response = np.asarray(mean_response, np.float64)

    @abstractmethod
    def _wait_tail(self, t: F) -> F:
        """P(Wq > t) for stable entries (unstable entries may hold anything)."""

    @abstractmethod
    def _response_tail(self, t: F) -> F:
        """P(W > t) for stable entries."""

    def wait_tail(self, t: F) -> F:
        with np.errstate(all="ignore"):
            out = self._wait_tail(t)
        return np.where(self.stable, np.clip(out, 0.0, 1.0), 1.0)

    def response_tail(self, t: F) -> F:
        with np.errstate(all="ignore"):
            out = self._response_tail(t)
        return np.where(self.stable, np.clip(out, 0.0, 1.0), 1.0)

    def wait_quantile(self, p: F) -> F:
        q = 1.0 - p
        shape = np.broadcast_shapes(np.shape(q), self.stable.shape)
        active = np.broadcast_to(self.stable & (self.p_wait > q), shape)
        t = invert_tail(self._wait_tail, q, self.mean_response, active)
        return self._finish_quantile(np.where(active, t, 0.0))

    def response_quantile(self, p: F) -> F:
        q = 1.0 - p
        shape = np.broadcast_shapes(np.shape(q), self.stable.shape)
        active = np.broadcast_to(self.stable, shape)
        t = invert_tail(self._response_tail, q, self.mean_response, active)
        return self._finish_quantile(t)

    def _finish_quantile(self, t: F) -> F:
        return np.where(self.stable, t, np.inf)


class ExponentialWaitLaw(WaitLaw):
    """Wq = 0 w.p. 1 - C, else Exp(theta); service S ~ Exp(mu) independent of Wq.

    The law of M/M/c FCFS (C = Erlang C, theta = c mu - lambda), M/M/1 (C = rho), and
    the conditional wait of Erlang A approximations. Exact.
    """

    def __init__(self, *, stable: NDArray[np.bool_], p_wait: F, theta: F, mu: F) -> None:
        with np.errstate(all="ignore"):
            mean_response = np.where(stable, p_wait / theta + 1.0 / mu, 1.0)
        super().__init__(stable=stable, p_wait=p_wait, mean_response=mean_response)
        self.theta = np.asarray(theta, np.float64)
        self.mu = np.asarray(mu, np.float64)

    def _wait_tail(self, t: F) -> F:
        return self.p_wait * np.exp(-self.theta * t)

    def _response_tail(self, t: F) -> F:
        return exponential_response_tail(t, self.p_wait, self.theta, self.mu)

    def wait_quantile(self, p: F) -> F:
        q = 1.0 - p
        with np.errstate(all="ignore"):
            t = np.log(self.p_wait / q) / self.theta
        return self._finish_quantile(np.maximum(t, 0.0))
