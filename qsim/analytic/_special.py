"""Numerically stable special functions shared by the Markovian solvers.

Nothing here forms a factorial or a power that can overflow: Poisson probabilities
are computed by Loader's saddle-point form, Erlang B as a ratio of Poisson
probabilities (or by a continued fraction where both underflow), and the geometric
sums of finite queues in log space with ``expm1``-based kernels that stay exact at
rho = 1.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import special

F = NDArray[np.float64]

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


def stirlerr(n: F) -> F:
    """log(n!) - [(n + 1/2) log n - n + log sqrt(2 pi)], for n >= 1.

    Series in 1/n above 15 (the next term is below 2e-16 there); the direct form
    below, where the terms are small enough not to cancel badly.
    """
    n = np.asarray(n, dtype=np.float64)
    out = np.empty_like(n)
    big = n > 15
    nb = n[big]
    nn = nb * nb
    s0, s1, s2, s3, s4 = 1 / 12, 1 / 360, 1 / 1260, 1 / 1680, 1 / 1188
    out[big] = (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / nb
    ns = n[~big]
    out[~big] = special.gammaln(ns + 1) - (ns + 0.5) * np.log(ns) + ns - _LOG_SQRT_2PI
    return out


def bd0(k: F, lam: F) -> F:
    """k log(k / lam) + lam - k, without the cancellation of the naive form (k, lam > 0)."""
    d = k - lam
    near = np.abs(d) < 0.5 * lam
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # NOTE: log(k) - log(lam), not log(k / lam): k / lam overflows for subnormal lam.
        out = np.where(near, k * np.log1p(d / lam) - d, k * (np.log(k) - np.log(lam)) - d)
    return out


def poisson_logpmf(k: F, lam: F) -> F:
    """log P(N = k) for N ~ Poisson(lam); integer k >= 0, lam >= 0.

    Loader (2000), "Fast and accurate computation of binomial probabilities":
    log p = -stirlerr(k) - bd0(k, lam) - log sqrt(2 pi k). Keeps full relative
    precision for k and lam in the millions, where k log(lam) - lam - log(k!)
    loses about eight digits.
    """
    k, lam = np.broadcast_arrays(np.asarray(k, np.float64), np.asarray(lam, np.float64))
    out = np.empty(k.shape)
    zero_k = k == 0
    zero_lam = (lam == 0) & ~zero_k
    reg = ~zero_k & ~zero_lam
    out[zero_k] = -lam[zero_k]
    out[zero_lam] = -np.inf
    kr, lr = k[reg], lam[reg]
    out[reg] = -stirlerr(kr) - bd0(kr, lr) - _LOG_SQRT_2PI - 0.5 * np.log(kr)
    return out


def _inv_erlang_b_cf(c: F, a: F) -> F:
    """1/B(c, a) = a * CF, the continued fraction of Gamma(c + 1, a) e^a a^-(c+1).

    Used only where a > c and Poisson probabilities underflow; there the modified
    Lentz iteration converges in a few dozen steps.
    """
    s = c + 1.0
    tiny = 1e-300
    b = a + 1.0 - s
    cc = np.full_like(a, 1.0 / tiny)
    d = 1.0 / b
    h = d.copy()
    active = np.ones(a.shape, bool)
    for i in range(1, 5000):
        an = -i * (i - s)
        b = b + 2.0
        d = an * d + b
        d = np.where(np.abs(d) < tiny, tiny, d)
        cc = b + an / cc
        cc = np.where(np.abs(cc) < tiny, tiny, cc)
        d = 1.0 / d
        delta = d * cc
        h = np.where(active, h * delta, h)
        active &= np.abs(delta - 1.0) > 1e-16
        if not active.any():
            break
    return a * h


def erlang_b(c: F, a: F) -> F:
    """Erlang B blocking probability B(c, a) for c >= 0 servers and a >= 0 Erlangs.

    B = P(N = c) / P(N <= c) with N ~ Poisson(a) (the truncated-Poisson form of the
    M/M/c/c stationary law), with the pmf from :func:`poisson_logpmf` and the cdf from
    the regularised incomplete gamma function. Where both underflow (a far above c)
    the continued fraction of the incomplete gamma function gives 1/B directly.
    """
    c, a = np.broadcast_arrays(np.asarray(c, np.float64), np.asarray(a, np.float64))
    out = np.empty(c.shape)
    logp = poisson_logpmf(c, a)
    cf = (a > c) & (logp < -600.0)
    reg = ~cf
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        cdf = special.gammaincc(c[reg] + 1.0, a[reg])  # P(N <= c), N ~ Poisson(a)
        out[reg] = np.exp(logp[reg]) / cdf
    out[reg & (a == 0)] = np.where(c[reg & (a == 0)] == 0, 1.0, 0.0)
    if cf.any():
        out[cf] = 1.0 / _inv_erlang_b_cf(c[cf], a[cf])
    return out


def q_kernel(y: F) -> F:
    """q(y) = 1/expm1(-y) + 1/y, smooth at 0 where q(0) = -1/2.

    The mean of the truncated geometric law P(J = j) ~ e^{j x}, j = 0..n, is
    q(x) - (n + 1) q((n + 1) x): the 1/x poles cancel exactly, so the formula holds
    for x of either sign and at x = 0 (rho = 1) without cancellation.
    """
    y = np.asarray(y, dtype=np.float64)
    out = np.empty_like(y)
    small = np.abs(y) < 1e-2
    ys = y[small]
    # Bernoulli series: -1/2 - y/12 + y^3/720 - y^5/30240 (error < 1e-17 here)
    out[small] = -0.5 - ys / 12 + ys**3 / 720 - ys**5 / 30240
    yl = y[~small]
    with np.errstate(over="ignore"):
        out[~small] = 1.0 / np.expm1(-yl) + 1.0 / yl
    return out


def trunc_geom_mean(x: F, n: F) -> F:
    """E[J] for P(J = j) proportional to e^{j x}, j = 0..n (n may be inf when x < 0)."""
    x, n = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(n, np.float64))
    out = np.empty(x.shape)
    fin = np.isfinite(n)
    out[fin] = q_kernel(x[fin]) - (n[fin] + 1) * q_kernel((n[fin] + 1) * x[fin])
    # Untruncated geometric (x < 0): E[J] = 1/expm1(-x)
    out[~fin] = 1.0 / np.expm1(-x[~fin])
    return out


def log_geom_sum(x: F, n: F) -> F:
    """log sum_{j=0}^{n} e^{j x}, stable for either sign of x and at x = 0.

    n may be inf where x < 0 (the full geometric series).
    """
    x, n = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(n, np.float64))
    out = np.empty(x.shape)
    zero = x == 0
    out[zero] = np.log1p(n[zero])
    neg = x < 0
    xn, nn = x[neg], n[neg]
    with np.errstate(over="ignore", invalid="ignore"):
        # (1 - e^{(n+1)x}) / (1 - e^{x}), both factors via expm1
        top = np.where(np.isfinite(nn), -np.expm1((nn + 1) * xn), 1.0)
    out[neg] = np.log(top) - np.log(-np.expm1(xn))
    pos = x > 0
    xp, npos = x[pos], n[pos]
    # Factor out the largest term e^{n x}: sum = e^{n x} sum_{i=0}^{n} e^{-i x}
    out[pos] = npos * xp + np.log(-np.expm1(-(npos + 1) * xp)) - np.log(-np.expm1(-xp))
    return out


def rel_expm1(x: F) -> F:
    """-expm1(-x) / x with its limit 1 at x = 0 (stable convolution kernels)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.ones_like(x)
    nz = x != 0
    out[nz] = -np.expm1(-x[nz]) / x[nz]
    return out
