"""Naive references for single-server priority queues; nothing here calls qsim.

* Textbook mean-value formulas in mpmath (30 digits): Cobham's non-preemptive waits and
  the preemptive-resume response times (Kleinrock, Queueing Systems Vol. 2, ch. 3).
* Truncated continuous-time Markov chains for two exponential classes, solved with a
  sparse linear solver: non-preemptive, preemptive, and non-preemptive with the
  low-priority class permanently backlogged (overload).
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
from scipy import sparse
from scipy.sparse.linalg import spsolve


def cobham_waits(lams: list[float], means: list[float], scvs: list[float]) -> list[mp.mpf]:
    """Wq_k = W0 / ((1 - sigma_{k-1})(1 - sigma_k)), W0 = sum_i lam_i E[S_i^2] / 2 (rho < 1)."""
    with mp.workdps(30):
        lam = [mp.mpf(x) for x in lams]
        m = [mp.mpf(x) for x in means]
        second = [mi * mi * (1 + mp.mpf(c)) for mi, c in zip(m, scvs, strict=True)]
        w0 = sum(li * s2 / 2 for li, s2 in zip(lam, second, strict=True))
        out, before = [], mp.mpf(0)
        for li, mi in zip(lam, m, strict=True):
            after = before + li * mi
            out.append(w0 / ((1 - before) * (1 - after)))
            before = after
        return out


def preemptive_responses(lams: list[float], means: list[float], scvs: list[float]) -> list[mp.mpf]:
    """W_k = E[S_k] / (1 - sigma_{k-1}) + R_k / ((1 - sigma_{k-1})(1 - sigma_k))."""
    with mp.workdps(30):
        out, before, r = [], mp.mpf(0), mp.mpf(0)
        for li, mi, c in zip(lams, means, scvs, strict=True):
            li, mi = mp.mpf(li), mp.mpf(mi)
            r += li * mi * mi * (1 + mp.mpf(c)) / 2
            after = before + li * mi
            out.append(mi / (1 - before) + r / ((1 - before) * (1 - after)))
            before = after
        return out


def _stationary(rates: dict[tuple[int, int], float], n: int) -> np.ndarray:
    """Stationary vector of the chain with transition rates {(i, j): q}, n states."""
    rows, cols, vals = [], [], []
    out = np.zeros(n)
    for (i, j), q in rates.items():
        rows += [i, i]
        cols += [j, i]
        vals += [q, -q]
        out[i] += q
    Q = sparse.csr_matrix((vals, (rows, cols)), shape=(n, n)).T.tolil()
    Q[n - 1, :] = np.ones(n)  # replace one balance equation by sum(pi) = 1
    b = np.zeros(n)
    b[n - 1] = 1.0
    return spsolve(Q.tocsr(), b)


def ctmc_two_class(
    l1: float, l2: float, mu1: float, mu2: float, *, preemptive: bool, N: int = 90
) -> tuple[float, float]:
    """(Wq_1, Wq_2) of M/M/1 with two priority classes, by a chain truncated at N per class.

    State (n1, n2, s): messages of each class in the system and the class in service
    (0 when empty). Wq_k = (E[n_k] - P(s = k)) / lam_k; for preemptive service Wq_k is the
    response time minus the mean service time, as in qsim.
    """
    index: dict[tuple[int, int, int], int] = {}
    for n1 in range(N + 1):
        for n2 in range(N + 1):
            for s in (0, 1, 2):
                if (s == 0) == (n1 == n2 == 0) and (s != 1 or n1) and (s != 2 or n2):
                    if preemptive and s == 2 and n1:
                        continue
                    index[(n1, n2, s)] = len(index)

    def pick(n1: int, n2: int, current: int | None) -> int:
        if preemptive:
            return 1 if n1 else (2 if n2 else 0)
        if current is not None:
            return current
        return 1 if n1 else (2 if n2 else 0)

    rates: dict[tuple[int, int], float] = {}
    for (n1, n2, s), i in index.items():
        moves = []
        if n1 < N:
            moves.append(((n1 + 1, n2, pick(n1 + 1, n2, s or None)), l1))
        if n2 < N:
            moves.append(((n1, n2 + 1, pick(n1, n2 + 1, s or None)), l2))
        if s == 1:
            moves.append(((n1 - 1, n2, pick(n1 - 1, n2, None)), mu1))
        if s == 2:
            moves.append(((n1, n2 - 1, pick(n1, n2 - 1, None)), mu2))
        for target, q in moves:
            rates[(i, index[target])] = rates.get((i, index[target]), 0.0) + q
    pi = _stationary(rates, len(index))
    ln = [0.0, 0.0]
    busy = [0.0, 0.0]
    for (n1, n2, s), i in index.items():
        ln[0] += n1 * pi[i]
        ln[1] += n2 * pi[i]
        if s:
            busy[s - 1] += pi[i]
    return (ln[0] - busy[0]) / l1, (ln[1] - busy[1]) / l2


def ctmc_backlogged(l1: float, mu1: float, mu2: float, N: int = 400) -> float:
    """Wq_1 of a non-preemptive M/M/1 whose class 2 always has messages waiting.

    State (n1, s), s in {1, 2} the class in service (the server is never idle); after a
    completion the server takes class 1 if any is waiting, else class 2.
    """
    index = {
        (n1, s): k
        for k, (n1, s) in enumerate(
            [(n1, 1) for n1 in range(1, N + 1)] + [(n1, 2) for n1 in range(N + 1)]
        )
    }
    rates: dict[tuple[int, int], float] = {}
    for (n1, s), i in index.items():
        if n1 < N:
            rates[(i, index[(n1 + 1, s)])] = l1
        if s == 1:
            rates[(i, index[(n1 - 1, 1) if n1 > 1 else (0, 2)])] = mu1
        else:
            rates[(i, index[(n1, 1) if n1 else (0, 2)])] = mu2
    pi = _stationary(rates, len(index))
    ln = sum(n1 * pi[i] for (n1, _), i in index.items())
    busy1 = sum(pi[i] for (_, s), i in index.items() if s == 1)
    return (ln - busy1) / l1
