"""Naive Erlang A (M/M/c+M) reference: the birth-death chain summed term by term, mpmath.

Birth rate lambda in every state; death rate min(n, c) mu + max(n - c, 0) theta in
state n. p_n is proportional to prod_{k=1}^{n} lambda / death(k); the product is
carried in 40-digit mpmath (whose exponent range has no overflow) and the chain is cut
once n > c, the terms are decreasing and the last one is below 1e-50 of p_c (the
scale of every figure of the queue: P(wait), Lq, ...), which bounds the neglected
tail (the ratios only shrink from there) far below 1e-40 of those figures.

Every figure is read off the stationary law directly:

- P(wait) = sum_{n >= c} p_n (PASTA), Lq = sum (n - c)^+ p_n, L = sum n p_n;
- throughput = mu sum min(n, c) p_n (service completions), P(abandon) = theta Lq / lambda;
- the mean wait of served arrivals: an arrival who finds c + j present (j waiting)
  advances through stages with j, j - 1, ..., 0 messages ahead, stage i ending at rate
  c mu + i theta, while its own patience runs out at rate theta. It is served with
  probability prod_i (c mu + i theta) / (c mu + (i + 1) theta) = c mu / (c mu + (j + 1) theta)
  and E[wait; served | j] = that probability times sum_{i=1}^{j+1} 1 / (c mu + i theta)
  (derivative of the stage Laplace transforms at theta).
"""

from __future__ import annotations

import mpmath as mp


def erlang_a_chain(lam: float, mu: float, c: int, theta: float) -> dict[str, mp.mpf]:
    """Exact Erlang A figures from the naive chain (40 digits)."""
    with mp.workdps(40):
        lam, mu, theta = mp.mpf(lam), mp.mpf(mu), mp.mpf(theta)
        terms = [mp.mpf(1)]
        n = 0
        while True:
            n += 1
            death = min(n, c) * mu + max(n - c, 0) * theta
            t = terms[-1] * lam / death
            terms.append(t)
            if n > c and lam < death and t < terms[c] * mp.mpf(10) ** -50:
                break
        Z = mp.fsum(terms)
        p = [t / Z for t in terms]
        p_wait = mp.fsum(p[c:])
        Lq = mp.fsum((k - c) * p[k] for k in range(c + 1, len(p)))
        L = mp.fsum(k * p[k] for k in range(len(p)))
        throughput = mu * mp.fsum(min(k, c) * p[k] for k in range(len(p)))
        served = mp.mpf(0)
        H = mp.mpf(0)
        for j in range(len(p) - c):
            H += 1 / (c * mu + (j + 1) * theta)
            served += p[c + j] * c * mu / (c * mu + (j + 1) * theta) * H
        p_abandon = theta * Lq / lam
        return {
            "p_wait": p_wait,
            "Lq": Lq,
            "L": L,
            "Wq": Lq / lam,
            "throughput": throughput,
            "p_abandon": p_abandon,
            "Wq_served": served / (1 - p_abandon),
            "states": mp.mpf(len(p)),
        }


def poisson_tail(a: float, c: int) -> mp.mpf:
    """P(N >= c) for N ~ Poisson(a): M/M/c+M with theta = mu is M/M/inf."""
    with mp.workdps(40):
        a = mp.mpf(a)
        return 1 - mp.fsum(mp.exp(-a) * a**k / mp.factorial(k) for k in range(c))
