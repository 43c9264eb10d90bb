"""Exact M/D/c references, independent of qsim, by two unrelated methods.

Both rest on one fact about M/D/c FCFS with service time D: every message in service
at time t has left by t + D, and every other message present at t (or arriving in
(t, t + D]) is still present at t + D, so the number in system X obeys

    X(t + D) = max(X(t) - c, 0) + A,    A ~ Poisson(lambda D)

and the law of X(kD) is the time-stationary law (Crommelin 1932; Tijms, A First
Course in Stochastic Models, 2003, sec. 5.2).

- :func:`mdc_roots`: the generating function of that chain,
  P(z) (z^c - A(z)) = A(z) sum_{j<c} p_j (z^c - z^j), A(z) = exp(a (z - 1)), a = lambda D,
  has c - 1 roots z_k of z^c = A(z) with |z_k| < 1 besides z = 1, and the numerator
  polynomial must vanish there. Differentiating log P at z = 1 gives

      E[X] = a + sum_k 1 / (1 - z_k) - (c (c - 1) - a^2) / (2 (c - a))
      P(X < c) = sum_{j<c} p_j = (c - a) / prod_k (1 - z_k)

  so Lq = E[X] - a, Wq = Lq / lambda (Little) and P(wait) = 1 - P(X < c) (PASTA).
  The roots solve z = w_k exp(a (z - 1) / c), w_k = exp(2 pi i k / c), a contraction
  on the unit disk: fixed-point iteration, then Newton, at 40 digits (mpmath).
- :func:`mdc_chain`: the same chain truncated far into its tail, its transition
  matrix written out row by row and solved as a dense linear system (float64).
- :func:`erlang_c`: Erlang C by the textbook recursion for Erlang B, at 40 digits.

Stored values: gen_mgc_ref.py -> mgc_exact_ref.json.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
from scipy import stats


def erlang_c(c: int, a: float) -> mp.mpf:
    """Erlang C(c, a) = c B / (c - a (1 - B)), B by B(k) = a B(k-1) / (k + a B(k-1))."""
    with mp.workdps(40):
        a = mp.mpf(a)
        b = mp.mpf(1)
        for k in range(1, c + 1):
            b = a * b / (k + a * b)
        return c * b / (c - a * (1 - b))


def _roots(c: int, a: mp.mpf) -> list[mp.mpc]:
    """The c - 1 roots z != 1 of z^c = exp(a (z - 1)) inside the unit disk."""
    roots = []
    for k in range(1, c):
        w = mp.expjpi(mp.mpf(2 * k) / c)
        z = mp.mpc(0)
        for _ in range(200):
            z = w * mp.exp(a * (z - 1) / c)
        z = mp.findroot(lambda u, w=w: u - w * mp.exp(a * (u - 1) / c), z)
        assert abs(z) < 1 and abs(z - w * mp.exp(a * (z - 1) / c)) < mp.mpf(10) ** -35
        roots.append(z)
    return roots


def mdc_roots(lam: float, D: float, c: int) -> dict[str, mp.mpf]:
    """Exact Wq, Lq, L and P(wait) of M/D/c from the roots of z^c = exp(a (z - 1))."""
    with mp.workdps(40):
        lam, D = mp.mpf(lam), mp.mpf(D)
        a = lam * D
        assert a < c, "unstable"
        zs = _roots(c, a)
        EX = a + mp.fsum(1 / (1 - z) for z in zs) - (c * (c - 1) - a**2) / (2 * (c - a))
        prod = mp.fprod(1 - z for z in zs) if zs else mp.mpf(1)
        below = (c - a) / prod
        EX, below = mp.re(EX), mp.re(below)
        Lq = EX - a
        return {"Wq": Lq / lam, "Lq": Lq, "L": EX, "p_wait": 1 - below}


def mdc_chain(lam: float, D: float, c: int, tol: float = 1e-13) -> dict[str, float]:
    """Exact Wq, Lq, L and P(wait) of M/D/c from the truncated chain X' = (X - c)^+ + A.

    States 0..N-1; the probability of jumping to N or beyond (the Poisson upper tail,
    not 1 minus a rounded sum) is put on N - 1. N doubles, at most to 8192, until the
    stationary mass of the last c states is below ``tol``.
    """
    a = lam * D
    rho = a / c
    assert rho < 1, "unstable"
    N = c + 50 + int(80 / (1 - rho))
    while True:
        pmf = stats.poisson.pmf(np.arange(N), a)
        sf = stats.poisson.sf(np.arange(N), a)  # sf[k] = P(A > k)
        P = np.zeros((N, N))
        for i in range(N):
            base = max(i - c, 0)
            row = np.zeros(N)
            row[base:] = pmf[: N - base]
            row[N - 1] += sf[N - 1 - base]
            P[i] = row
        A = P.T - np.eye(N)
        A[-1, :] = 1.0
        b = np.zeros(N)
        b[-1] = 1.0
        pi = np.linalg.solve(A, b)
        if pi[-c:].sum() < tol:
            break
        assert N < 8192, "chain truncation did not converge"
        N *= 2
    n = np.arange(N)
    Lq = float(np.dot(np.maximum(n - c, 0), pi))
    return {
        "Wq": Lq / lam,
        "Lq": Lq,
        "L": float(np.dot(n, pi)),
        "p_wait": float(pi[c:].sum()),
    }


def mdc_wq(lam: float, D: float, c: int) -> float:
    """Exact M/D/c mean wait (seconds), from :func:`mdc_roots`."""
    return float(mdc_roots(lam, D, c)["Wq"])
