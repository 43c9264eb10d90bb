"""Naive birth-death references for M/M/c/K, independent of qsim (mpmath, 40 digits).

The chain is written out state by state: p_0 = 1, p_n = p_{n-1} birth_{n-1} / death_n,
then normalised. Every figure is read off the normalised vector by its definition;
the wait and response laws are the PASTA mixtures over the states an accepted arrival
can find, with the Erlang and hypo-exponential tails written out directly.
Slow (O(K) big-number operations per call) and obviously correct.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import mpmath as mp

DPS = 40


def stationary(births: Sequence[object], deaths: Sequence[object]) -> list[mp.mpf]:
    """Stationary law of the chain 0..N, births[i]: i -> i+1, deaths[i]: i+1 -> i."""
    with mp.workdps(DPS):
        p = [mp.mpf(1)]
        for b, d in zip(births, deaths, strict=True):
            p.append(p[-1] * mp.mpf(b) / mp.mpf(d))
        total = mp.fsum(p)
        return [x / total for x in p]


@functools.lru_cache(maxsize=256)
def mmck_chain(lam: float, mu: float, c: int, K: int) -> list[mp.mpf]:
    """p_0..p_K of M/M/c/K: births lambda, deaths min(n, c) mu (cached: do not mutate)."""
    return stationary([lam] * K, [min(n, c) * mp.mpf(mu) for n in range(1, K + 1)])


def mmck_metrics(lam: float, mu: float, c: int, K: int) -> dict[str, mp.mpf]:
    """Every QueueMetrics figure of M/M/c/K, by definition from the chain."""
    p = mmck_chain(lam, mu, c, K)
    with mp.workdps(DPS):
        lam_, mu_ = mp.mpf(lam), mp.mpf(mu)
        accept = mp.fsum(p[:K])  # 1 - p_K without cancellation
        thr = lam_ * accept
        L = mp.fsum(n * pn for n, pn in enumerate(p))
        Lq = mp.fsum((n - c) * pn for n, pn in enumerate(p) if n > c)
        busy = mp.fsum(min(n, c) * pn for n, pn in enumerate(p))
        return {
            "p_block": p[K],
            "throughput": thr,
            "busy_fraction": busy / c,
            "L": L,
            "Lq": Lq,
            "W": L / thr,
            "Wq": Lq / thr,
            "p_wait": mp.fsum(p[c:K]) / accept,
            "mu_busy": mu_ * busy,  # = throughput (flow balance), a second route
        }


def _poisson_cdfs(s: mp.mpf, top: int) -> list[mp.mpf]:
    """P(Poisson(s) <= j) for j = 0..top by the running pmf sum."""
    pmf = mp.exp(-s)
    cdf = [pmf]
    for k in range(1, top + 1):
        pmf = pmf * s / k
        cdf.append(cdf[-1] + pmf)
    return cdf


def wait_tail(lam: float, mu: float, c: int, K: int, t: float) -> mp.mpf:
    """P(Wq > t) of an accepted FCFS arrival: sum over found states n >= c of
    P(n | accepted) P(Erlang(n - c + 1, c mu) > t)."""
    p = mmck_chain(lam, mu, c, K)
    with mp.workdps(DPS):
        if K == c:
            return mp.mpf(0)
        cdf = _poisson_cdfs(c * mp.mpf(mu) * mp.mpf(t), K - c - 1)
        return mp.fsum(p[c + j] * cdf[j] for j in range(K - c)) / mp.fsum(p[:K])


def position_survival(rho: float, n: int, k: int, q: float | None = None) -> mp.mpf:
    """P(J >= k), or P(J + G >= k) when q is given, for P(J = j) ~ rho^j on 0..n and
    G ~ Geometric on {1, 2, ...} with P(G > g) = q^g: the sums written out."""
    with mp.workdps(DPS):
        rho_ = mp.mpf(rho)
        w = [rho_**j for j in range(n + 1)]
        total = mp.fsum(w)
        if q is None:
            return mp.fsum(w[k:]) / total
        q_ = mp.mpf(q)
        # P(J + G >= k) = sum_j P(J = j) P(G >= k - j), P(G >= g) = q^(g-1) for g >= 1
        return (
            mp.fsum(wj * (q_ ** (k - j - 1) if k - j >= 1 else 1) for j, wj in enumerate(w)) / total
        )


def _hypo_tail(r: int, theta: mp.mpf, mu: mp.mpf, t: mp.mpf) -> mp.mpf:
    """P(Erlang(r, theta) + Exp(mu) > t) for theta != mu, integrating the Exp(mu) term
    directly: P(E > t) + e^{-mu t} (theta / (theta - mu))^r P(Gamma(r, theta - mu) <= t)."""
    erl = mp.gammainc(r, theta * t, mp.inf, regularized=True)
    conv = mp.gammainc(r, 0, (theta - mu) * t, regularized=True)
    return erl + mp.exp(-mu * t) * (theta / (theta - mu)) ** r * conv


def response_tail(lam: float, mu: float, c: int, K: int, t: float) -> mp.mpf:
    """P(W > t), W = wait + Exp(mu) service, of an accepted FCFS arrival.

    A message finding n < c is served at once: e^{-mu t}. One finding n >= c waits
    Erlang(n - c + 1, c mu) then is served: for c = 1 that is Erlang(n + 1, mu), whose
    tail is P(Poisson(mu t) <= n); for c > 1 the hypo-exponential tail above.
    """
    p = mmck_chain(lam, mu, c, K)
    with mp.workdps(DPS):
        mu_, t_ = mp.mpf(mu), mp.mpf(t)
        if c == 1:
            cdf = _poisson_cdfs(mu_ * t_, K)
            return mp.fsum(p[n] * cdf[n] for n in range(K)) / mp.fsum(p[:K])
        terms = [p[n] * mp.exp(-mu_ * t_) for n in range(min(c, K))]
        terms += [p[n] * _hypo_tail(n - c + 1, c * mu_, mu_, t_) for n in range(c, K)]
        return mp.fsum(terms) / mp.fsum(p[:K])


def mmck_closed_form(lam: float, mu: float, c: int, K: int) -> dict[str, mp.mpf]:
    """p_block, L, Lq, throughput of M/M/c/K for huge c and K, from textbook sums.

    Weights relative to p_0 = 1: sum_{n<=c} a^n/n! = e^a Q(c + 1, a) and
    sum_{n<=c} n a^n/n! = a e^a Q(c, a) (Q the regularised upper incomplete gamma
    function), p_c = a^c / c!, and above c the geometric sums sum_{j=1}^m rho^j and
    sum_{j=1}^m j rho^j in closed form (m = K - c). At 60 digits: the closed form of
    sum j rho^j cancels near rho = 1.
    """
    with mp.workdps(60):
        lam_, mu_ = mp.mpf(lam), mp.mpf(mu)
        a = lam_ / mu_
        rho = a / c
        head = mp.exp(a) * mp.gammainc(c + 1, a, mp.inf, regularized=True)
        head_n = a * mp.exp(a) * mp.gammainc(c, a, mp.inf, regularized=True)
        pc = mp.exp(c * mp.log(a) - mp.loggamma(c + 1))
        m = K - c
        if rho == 1:
            geo = mp.mpf(m)  # sum_{j=1}^m rho^j
            jgeo = mp.mpf(m) * (m + 1) / 2  # sum_{j=1}^m j rho^j
        else:
            geo = rho * (1 - rho**m) / (1 - rho)
            jgeo = rho * (1 - (m + 1) * rho**m + m * rho ** (m + 1)) / (1 - rho) ** 2
        total = head + pc * geo
        Lq = pc * jgeo / total
        busy = (head_n + c * pc * geo) / total
        return {
            "p_block": pc * rho**m / total,
            "Lq": Lq,
            "L": busy + Lq,
            "throughput": mu_ * busy,
        }
