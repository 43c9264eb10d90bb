"""Exact waiting-time law of the M/D/1 FCFS queue (Crommelin's positive-term form)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import special

from qsim.analytic._waits import WaitLaw

F = NDArray[np.float64]

# NOTE: Poisson(x <= 1) tails P(A > m) are below 1e-60 for m > 48, so the level
# recursion and the Crommelin sum keep only the last 48 terms (the rest is < 1e-55).
_MSTAR = 48


def _rho_root(rho: F) -> F:
    """y > 0 with log1p(y) = rho y: the pole z0 = 1 + y of the M/D/1 queue-length pgf."""
    # g(y) = log1p(y) - rho y is concave with g(4/rho^2) < 0 (log1p(y) < 2 sqrt(y)), so
    # Newton from there decreases monotonically to the root.
    y = 4.0 / rho**2
    for _ in range(100):
        step = (np.log1p(y) - rho * y) / (1.0 / (1.0 + y) - rho)
        y = y - step
        if np.all(np.abs(step) <= 1e-15 * y):
            break
    return y


class MD1WaitLaw(WaitLaw):
    """Exact wait and response laws of M/D/1 FCFS, vectorised over queues.

    For t = k D + u with 0 <= u < D (Crommelin 1932; Franx 2001),
    ``P(Wq <= t) = P(max(N - 1, 0) + A <= k)`` with N the stationary number in system and
    A ~ Poisson(lambda (D - u)) independent. The queue-length probabilities come from the
    positive-term level-crossing recursion
    ``p_{n+1} = e^rho [p_0 Abar(n) + sum_{i=1..n} p_i Abar(n+1-i)]``, Abar(j) = P(Poisson(rho) > j),
    computed to p_n < 1e-30 (at most 2048 levels); beyond, the exact geometric decay
    1 / (1 + y) with log1p(y) = rho y. No alternating sum, so tails keep their relative
    precision. The response is Wq + D.
    """

    def __init__(self, *, stable: NDArray[np.bool_], lam: F, D: F) -> None:
        lam, D, stable = np.broadcast_arrays(lam, D, stable)
        rho = lam * D
        with np.errstate(all="ignore"):
            wq = np.where(stable, lam * D * D / (2.0 * (1.0 - rho)), 1.0)
        super().__init__(stable=stable, p_wait=np.where(stable, rho, 1.0), mean_response=wq + D)
        self.lam, self.D, self.rho = lam, D, rho
        self._busy = stable & (rho > 0)
        self._tables: tuple[F, F, F, F] | None = None

    def _levels(self) -> tuple[F, F, F, F]:
        """q_j = P(max(N-1, 0) = j) and Qbar(j) = P(max(N-1, 0) > j) for busy queues."""
        if self._tables is None:
            rho = self.rho[self._busy]
            abar = special.pdtrc(np.arange(_MSTAR + 2)[:, None], rho[None, :])
            growth = np.exp(rho)
            p = np.zeros((2049, rho.size))
            p[0] = 1.0 - rho
            n = 0
            for n in range(2048):
                lo = max(1, n + 1 - _MSTAR)
                acc = np.einsum("ie,ie->e", p[lo : n + 1], abar[n + 1 - lo : 0 : -1])
                if n <= _MSTAR:
                    acc = acc + p[0] * abar[n]
                p[n + 1] = growth * acc
                if n >= 64 and p[n + 1].max() < 1e-30:
                    break
            p = p[: n + 2]
            q = np.concatenate([p[:1] + p[1:2], p[2:]])
            y = _rho_root(rho)  # q_j ~ q_K sigma^(j-K), sigma = 1/(1+y), sigma/(1-sigma) = 1/y
            rest = q[-1] / y  # sum_{j > K} q_j
            qbar = np.cumsum(q[::-1], axis=0)[::-1] - q + rest
            self._tables = (q, qbar, 1.0 / (1.0 + y), y)
        return self._tables

    def _wait_tail(self, t: F) -> F:
        t, lam, D, busy = np.broadcast_arrays(t, self.lam, self.D, self._busy)
        out = np.zeros(t.shape)
        if not busy.any():
            return out
        q, qbar, sigma, y = self._levels()
        elem = np.cumsum(self._busy.ravel()).reshape(self._busy.shape) - 1
        e = np.broadcast_to(elem, t.shape)[busy]
        tt, lb, Db = t[busy], lam[busy], D[busy]
        k = np.floor(np.minimum(tt, 2.0**52 * Db) / Db)
        x = np.clip(lb * (Db - (tt - k * Db)), 0.0, lb * Db)
        K = q.shape[0] - 1
        kk = np.minimum(k, 2.0**52).astype(np.int64)  # beyond K the tail is geometric
        geo = q[K, e] * sigma[e] ** np.maximum(kk - K, 0)
        tail = np.where(kk < K, qbar[np.minimum(kk, K), e], geo / y[e])
        for i in range(min(_MSTAR, int(kk.max())) + 1):
            j = kk - i
            far = q[K, e] * sigma[e] ** np.maximum(j - K, 0)
            qj = np.where(j <= K, q[np.clip(j, 0, K), e], far)
            tail = tail + np.where(j >= 0, qj * special.pdtrc(i, x), 0.0)
        out[busy] = np.where(np.isposinf(tt), 0.0, tail)
        return out

    def _response_tail(self, t: F) -> F:
        shifted = t - self.D
        return np.where(shifted < 0, 1.0, self._wait_tail(np.maximum(shifted, 0.0)))
