"""Exact M/PH/c references (Erlang and hyperexponential service), independent of qsim.

The queue is written out as a continuous-time Markov chain, state by state: the state
is (q, m) with q messages waiting and m[i] servers busy in service phase i. Service
is phase-type (alpha, T): a new service starts in phase i with probability alpha[i],
moves from phase i to j at rate T[i][j] and ends from phase i at rate
exit[i] = -sum_j T[i][j]. Messages arrive at rate lambda, FCFS. The waiting room is
truncated at ``qmax`` (an arrival finding it full is lost; the caller checks that the
mass there is negligible). The generator is solved with scipy's sparse LU (float64).

- Erlang-k service (scv 1/k): k phases in series, each at rate k mu.
- Balanced-means two-phase hyperexponential (scv > 1): phase i with probability p_i
  and rate 2 p_i mu, p_1 = (1 + sqrt((scv - 1) / (scv + 1))) / 2.
  Ref: Whitt (1982), "Approximating a point process by a renewal process", and
  Tijms, A First Course in Stochastic Models (2003), appendix B.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla


def erlang_phases(k: int, mu: float) -> tuple[list[float], list[list[float]]]:
    """(alpha, T) of an Erlang-k service time with mean 1/mu."""
    alpha = [1.0] + [0.0] * (k - 1)
    T = [[0.0] * k for _ in range(k)]
    for i in range(k):
        T[i][i] = -k * mu
        if i + 1 < k:
            T[i][i + 1] = k * mu
    return alpha, T


def h2_phases(scv: float, mu: float) -> tuple[list[float], list[list[float]]]:
    """(alpha, T) of a balanced-means hyperexponential with mean 1/mu and scv > 1."""
    p1 = 0.5 * (1.0 + math.sqrt((scv - 1.0) / (scv + 1.0)))
    p2 = 1.0 - p1
    return [p1, p2], [[-2 * p1 * mu, 0.0], [0.0, -2 * p2 * mu]]


def _configs(k: int, total: int) -> list[tuple[int, ...]]:
    return [m for m in itertools.product(range(total + 1), repeat=k) if sum(m) == total]


def mphc(
    lam: float, alpha: list[float], T: list[list[float]], c: int, qmax: int
) -> dict[str, float]:
    """Wq, Lq, P(wait) and the mass at q = qmax of M/PH/c truncated at qmax waiting."""
    k = len(alpha)
    exits = [-sum(row) for row in T]
    states: list[tuple[int, tuple[int, ...]]] = []
    for busy in range(c):
        states += [(0, m) for m in _configs(k, busy)]
    full = _configs(k, c)
    for q in range(qmax + 1):
        states += [(q, m) for m in full]
    index = {s: n for n, s in enumerate(states)}
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []

    def add(src: tuple[int, tuple[int, ...]], dst: tuple[int, tuple[int, ...]], r: float) -> None:
        if r > 0 and src != dst:
            rows.append(index[src])
            cols.append(index[dst])
            vals.append(r)

    for q, m in states:
        busy = sum(m)
        if busy < c:
            for i in range(k):
                mm = list(m)
                mm[i] += 1
                add((q, m), (0, tuple(mm)), lam * alpha[i])
        elif q < qmax:
            add((q, m), (q + 1, m), lam)
        for i in range(k):
            if m[i] == 0:
                continue
            for j in range(k):
                if i != j and T[i][j] > 0:
                    mm = list(m)
                    mm[i] -= 1
                    mm[j] += 1
                    add((q, m), (q, tuple(mm)), m[i] * T[i][j])
            done = m[i] * exits[i]
            mm = list(m)
            mm[i] -= 1
            if q == 0:
                add((q, m), (0, tuple(mm)), done)
            else:
                for j in range(k):
                    nm = list(mm)
                    nm[j] += 1
                    add((q, m), (q - 1, tuple(nm)), done * alpha[j])
    n = len(states)
    Q = sp.coo_matrix((vals, (rows, cols)), shape=(n, n)).tocsr()
    Q = Q - sp.diags(np.asarray(Q.sum(axis=1)).ravel())
    A = Q.T.tolil()
    A[0, :] = np.ones(n)
    b = np.zeros(n)
    b[0] = 1.0
    pi = spla.spsolve(A.tocsc(), b)
    qs = np.array([s[0] for s in states], float)
    busy_all = np.array([sum(s[1]) == c for s in states])
    Lq = float(np.dot(qs, pi))
    return {
        "Wq": Lq / lam,
        "Lq": Lq,
        "p_wait": float(pi[busy_all].sum()),
        "edge_mass": float(pi[qs == qmax].sum()),
    }
