"""Naive Markov-chain references for queueing networks, independent of qsim.

Each network is written out as a continuous-time Markov chain state by state, its
generator built with plain Python loops, and the stationary distribution solved
directly; nothing here uses product form or mean value analysis.

- :func:`open_network_ctmc`: an open network of M/M/c (or M/M/inf) stations, the
  state space truncated at ``caps`` (scipy sparse LU, float64).
- :func:`closed_network_ctmc`: a closed network of M/M/c (or delay) stations with
  every composition of the population enumerated (mpmath, 40 digits).
- :func:`machine_repairman`: one c-server queue fed by N sources that think an
  exponential time, as a birth-death chain in closed form (mpmath).
- :func:`traffic_rates`, :func:`visit_ratios`, :func:`mmc_pmf`: the textbook
  formulas, in mpmath, for the product-form checks.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence
from typing import TypeVar

import mpmath as mp
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

T = TypeVar("T")


def _dps(func: Callable[..., T]) -> Callable[..., T]:
    """Run at 40 significant digits without touching the global mpmath context."""

    @functools.wraps(func)
    def wrapper(*args: object, **kwargs: object) -> T:
        with mp.workdps(40):
            return func(*args, **kwargs)

    return wrapper


def _busy(n: int, c: float) -> float:
    """Servers busy with n present (c may be inf)."""
    return float(n) if math.isinf(c) else float(min(n, c))


def open_network_ctmc(
    gamma: Sequence[float],
    P: Sequence[Sequence[float]],
    mu: Sequence[float],
    servers: Sequence[float],
    caps: Sequence[int],
) -> np.ndarray:
    """Stationary joint distribution pi[n_0, ..., n_{K-1}] of a truncated open network.

    Messages arrive at station i at rate gamma[i]; station i serves at rate
    mu[i] * min(n_i, servers[i]); a finished message goes to j with probability
    P[i][j] and leaves with the rest. Station i holds at most caps[i] messages: an
    arrival or a routed message that finds it full is lost. This changes the chain
    only on states where some n_i = caps[i], so the error is of the order of the
    stationary mass there (checked by the caller).
    """
    K = len(gamma)
    shape = tuple(c + 1 for c in caps)
    states = list(itertools.product(*(range(s) for s in shape)))
    index = {s: k for k, s in enumerate(states)}
    rows, cols, vals = [], [], []

    def add(src: tuple[int, ...], dst: tuple[int, ...], rate: float) -> None:
        if rate > 0 and dst != src:
            rows.append(index[src])
            cols.append(index[dst])
            vals.append(rate)

    for s in states:
        for i in range(K):
            up = list(s)
            if s[i] < caps[i]:
                up[i] += 1
            add(s, tuple(up), gamma[i])
            done = mu[i] * _busy(s[i], servers[i])
            if done == 0:
                continue
            gone = list(s)
            gone[i] -= 1
            leave = 1.0 - sum(P[i])
            add(s, tuple(gone), done * leave)
            for j in range(K):
                moved = list(gone)
                if moved[j] < caps[j]:
                    moved[j] += 1
                add(s, tuple(moved), done * P[i][j])

    n = len(states)
    Q = sp.coo_matrix((vals, (rows, cols)), shape=(n, n)).tocsr()
    # Duplicate (src, dst) pairs are summed by tocsr; the diagonal makes rows sum to 0.
    Q = Q - sp.diags(np.asarray(Q.sum(axis=1)).ravel())
    A = Q.T.tolil()
    # Replace one (redundant) balance equation by pi[0] = 1, then normalise: a dense
    # row of ones would make the sparse LU fill in.
    A[0, :] = 0.0
    A[0, 0] = 1.0
    b = np.zeros(n)
    b[0] = 1.0
    pi = spla.spsolve(A.tocsc(), b)
    return (pi / pi.sum()).reshape(shape)


def marginal_means(pi: np.ndarray) -> list[float]:
    """Mean number at each station from a joint distribution."""
    out = []
    for i in range(pi.ndim):
        other = tuple(a for a in range(pi.ndim) if a != i)
        marg = pi.sum(axis=other)
        out.append(float(np.dot(np.arange(marg.size), marg)))
    return out


@_dps
def traffic_rates(gamma: Sequence[float], P: Sequence[Sequence[float]]) -> list[mp.mpf]:
    """lambda solving lambda_j = gamma_j + sum_i lambda_i P[i][j], in mpmath."""
    K = len(gamma)
    A = mp.matrix(K, K)
    for i in range(K):
        for j in range(K):
            A[j, i] = (1 if i == j else 0) - mp.mpf(P[i][j])
    lam = mp.lu_solve(A, mp.matrix([mp.mpf(g) for g in gamma]))
    return [lam[i] for i in range(K)]


@_dps
def mmc_pmf(lam: mp.mpf, mu: float, c: float, nmax: int) -> list[mp.mpf]:
    """P(N = n), n = 0..nmax, of M/M/c (c may be inf) from the birth-death product."""
    mu = mp.mpf(mu)
    terms = [mp.mpf(1)]
    for n in range(1, nmax + 1):
        terms.append(terms[-1] * lam / (mu * _busy(n, c)))
    if math.isinf(c):
        norm = mp.e ** (lam / mu)
    else:
        # geometric tail beyond c: sum_{n>=c} t_c rho^(n-c) = t_c / (1 - rho)
        rho = lam / (mu * c)
        head = mp.fsum(terms[: int(c)])
        tc = terms[int(c)] if nmax >= c else _term(lam, mu, int(c))
        norm = head + tc / (1 - rho)
    return [t / norm for t in terms]


def _term(lam: mp.mpf, mu: mp.mpf, c: int) -> mp.mpf:
    t = mp.mpf(1)
    for n in range(1, c + 1):
        t *= lam / (mu * n)
    return t


@_dps
def closed_network_ctmc(
    mu: Sequence[float],
    servers: Sequence[float],
    P: Sequence[Sequence[float]],
    population: int,
    ref: int,
) -> tuple[mp.mpf, list[mp.mpf]]:
    """Throughput at station ``ref`` and mean number at each station, closed network.

    ``population`` customers move among K stations; station k serves at rate
    mu[k] * min(n_k, servers[k]) and routes to j with probability P[k][j] (rows
    sum to 1). Every composition of the population is a state; the generator is
    solved in mpmath with one balance equation replaced by normalisation.
    Throughput = sum_states pi(s) * mu[ref] * busy servers at ref.
    """
    K = len(mu)
    states = [s for s in itertools.product(range(population + 1), repeat=K) if sum(s) == population]
    index = {s: k for k, s in enumerate(states)}
    n = len(states)
    Q = mp.zeros(n, n)
    for s in states:
        for k in range(K):
            done = mp.mpf(mu[k]) * _busy(s[k], servers[k])
            if done == 0:
                continue
            for j in range(K):
                if j == k or P[k][j] == 0:
                    continue
                t = list(s)
                t[k] -= 1
                t[j] += 1
                rate = done * mp.mpf(P[k][j])
                Q[index[s], index[tuple(t)]] += rate
                Q[index[s], index[s]] -= rate
    A = Q.T
    for col in range(n):
        A[0, col] = 1
    b = mp.zeros(n, 1)
    b[0] = 1
    pi = mp.lu_solve(A, b)
    X = mp.fsum(pi[index[s]] * mp.mpf(mu[ref]) * _busy(s[ref], servers[ref]) for s in states)
    Ls = [mp.fsum(pi[index[s]] * s[k] for s in states) for k in range(K)]
    return X, Ls


@_dps
def visit_ratios(P: Sequence[Sequence[float]], ref: int) -> list[mp.mpf]:
    """v solving v = v P with v[ref] = 1 (P stochastic, irreducible), in mpmath."""
    K = len(P)
    A = mp.matrix(K, K)
    b = mp.zeros(K, 1)
    for j in range(K):
        for i in range(K):
            A[j, i] = mp.mpf(P[i][j]) - (1 if i == j else 0)
    for i in range(K):
        A[ref, i] = 1 if i == ref else 0
    b[ref] = 1
    v = mp.lu_solve(A, b)
    return [v[i] for i in range(K)]


@_dps
def machine_repairman(
    service_time: float, think_time: float, servers: int, population: int
) -> tuple[mp.mpf, mp.mpf]:
    """Throughput (repairs per second) and mean number at the queue, M/M/c//N.

    N sources each fail at rate 1/think_time while up; c repairmen each repair at
    rate 1/service_time. With k down: birth rate (N - k)/Z, death rate
    min(k, c)/S, so p_k is proportional to prod_{i<k} ((N - i)/Z) / prod_{i<=k}
    (min(i, c)/S). For c = 1 this is p_0 = [sum_k N!/(N-k)! (S/Z)^k]^-1.
    Ref: Gross, Shortle, Thompson & Harris, Fundamentals of Queueing Theory, sec. 2.7.
    """
    S, Z = mp.mpf(service_time), mp.mpf(think_time)
    terms = [mp.mpf(1)]
    for k in range(1, population + 1):
        terms.append(terms[-1] * ((population - k + 1) / Z) / (min(k, servers) / S))
    norm = mp.fsum(terms)
    p = [t / norm for t in terms]
    X = mp.fsum(p[k] * min(k, servers) / S for k in range(population + 1))
    L = mp.fsum(k * p[k] for k in range(population + 1))
    return X, L
