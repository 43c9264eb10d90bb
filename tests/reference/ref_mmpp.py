"""Naive references for the Markov-modulated Poisson process, independent of qsim.

- :func:`stationary`: pi Q = 0, sum pi = 1, solved in mpmath (40 digits).
- :func:`two_state_moments`: the closed forms for two states (switch rates r1: 1 -> 2,
  r2: 2 -> 1), from the covariance density pi1 pi2 (l1 - l2)^2 e^{-(r1 + r2) s}:
  mean rate, Var N(t) and the asymptotic index of dispersion
  1 + 2 (l1 - l2)^2 r1 r2 / ((r1 + r2)^2 (l1 r2 + l2 r1))
  (H. Heffes and D. M. Lucantoni, IEEE JSAC 4 (1986) 856-868).
- :func:`count_moments_by_chain`: E N(t) and Var N(t) from the pmf of N(t), computed on
  the chain (state, count) written out state by state, truncated at ``kmax`` arrivals,
  with a (sparse) matrix exponential; no formula for the counting process is used.
- :func:`idc_by_quadrature`: 1 + (2 / mean) * integral_0^inf of the covariance density
  pi Lambda e^{Qs} lambda - mean^2, by Gauss-Legendre quadrature of matrix exponentials.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy import linalg


def stationary(Q: list[list[float]]) -> list[float]:
    """Stationary distribution of the generator Q (mpmath, 40 digits, then floats)."""
    n = len(Q)
    with mp.workdps(40):
        A = mp.matrix(n, n)
        for i in range(n):
            for j in range(n):
                A[i, j] = mp.mpf(Q[j][i])  # transpose: pi Q = 0 <=> Q^T pi^T = 0
        for j in range(n):
            A[n - 1, j] = mp.mpf(1)
        b = mp.matrix([0] * (n - 1) + [1])
        x = mp.lu_solve(A, b)
        return [float(x[i]) for i in range(n)]


def two_state_moments(
    l1: float, l2: float, r1: float, r2: float, t: float
) -> tuple[float, float, float]:
    """(mean rate, Var N(t), asymptotic IDC) of a two-state MMPP, in mpmath."""
    with mp.workdps(40):
        l1, l2, r1, r2, t = (mp.mpf(x) for x in (l1, l2, r1, r2, t))
        r = r1 + r2
        mean = (l1 * r2 + l2 * r1) / r
        amp = 2 * (l1 - l2) ** 2 * r1 * r2 / r**3
        var = mean * t + amp * (t + mp.expm1(-r * t) / r)
        idc = 1 + 2 * (l1 - l2) ** 2 * r1 * r2 / (r**2 * (l1 * r2 + l2 * r1))
        return float(mean), float(var), float(idc)


def count_moments_by_chain(
    rates: list[float], Q: list[list[float]], t: float, kmax: int
) -> tuple[float, float, float]:
    """(E N(t), Var N(t), mass at the cap kmax) on the truncated (state, count) chain."""
    n = len(rates)
    size = n * (kmax + 1)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []

    def add(a: int, b: int, rate: float) -> None:
        rows.extend((a, a))
        cols.extend((b, a))
        vals.extend((rate, -rate))

    for k in range(kmax + 1):
        for i in range(n):
            for j in range(n):
                if j != i and Q[i][j] > 0:
                    add(k * n + i, k * n + j, Q[i][j])  # the phase changes
            if k < kmax and rates[i] > 0:
                add(k * n + i, (k + 1) * n + i, rates[i])  # one more arrival
    G = sp.csr_matrix((vals, (rows, cols)), shape=(size, size))
    p0 = np.zeros(size)
    p0[:n] = stationary(Q)
    pt = spla.expm_multiply(G.T * t, p0)  # p(t) = p0 exp(G t)
    pmf = pt.reshape(kmax + 1, n).sum(axis=1)
    k = np.arange(kmax + 1)
    mean = float(pmf @ k)
    var = float(pmf @ (k - mean) ** 2)
    return mean, var, float(pmf[-1])


def idc_by_quadrature(rates: list[float], Q: list[list[float]]) -> float:
    """Asymptotic index of dispersion from the integral of the covariance density.

    The density is a sum of decaying exponentials: 20-point Gauss-Legendre on panels of
    length 1 / (slowest decay rate), 40 of them: the tail beyond is below e^-40.
    """
    pi = np.array(stationary(Q))
    lam = np.array(rates, dtype=float)
    Qa = np.array(Q, dtype=float)
    mean = float(pi @ lam)
    decay = np.sort(-np.linalg.eigvals(Qa).real)[1]  # 0 is the first eigenvalue
    width = 1.0 / decay
    nodes, weights = np.polynomial.legendre.leggauss(20)
    total = 0.0
    for panel in range(40):
        s = width * (panel + (nodes + 1) / 2)
        density = np.einsum("i,sij,j->s", pi * lam, linalg.expm(s[:, None, None] * Qa), lam)
        total += width / 2 * float(weights @ (density - mean**2))
    return 1.0 + 2.0 * total / mean
