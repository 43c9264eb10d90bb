"""Naive mpmath references for the M/G/1 FCFS queue; nothing here calls qsim.

* Pollaczek-Khinchine means.
* Erlang's (1909) M/D/1 waiting-time cdf, the alternating sum evaluated with enough
  digits to survive its cancellation.
* M/PH/1 waiting and response times as matrix exponentials (exact for exponential,
  Erlang and hyperexponential service): Wq is phase-type PH(a+, T + t0 a+) with
  a+ = lambda a (-T)^-1 and t0 = -T 1 (Asmussen, Applied Probability and Queues, 2003,
  ch. VIII.5; Neuts 1981).
* Stehfest inversion of the Pollaczek-Khinchine transform for service laws whose
  Laplace transform is known only by quadrature (lognormal).
"""

from __future__ import annotations

import mpmath as mp


def pk_means(lam: float, mean: float, scv: float) -> dict[str, mp.mpf]:
    """Wq, W, Lq, L of M/G/1 at 30 digits (inf when rho >= 1)."""
    with mp.workdps(30):
        lam, m, c = mp.mpf(lam), mp.mpf(mean), mp.mpf(scv)
        rho = lam * m
        if rho >= 1:
            return dict.fromkeys(("Wq", "W", "Lq", "L"), mp.inf)
        wq = lam * m**2 * (1 + c) / (2 * (1 - rho))
        return {"Wq": wq, "W": wq + m, "Lq": lam * wq, "L": lam * (wq + m)}


def md1_wait_cdf(lam: float, D: float, t: float) -> mp.mpf:
    """Erlang: P(Wq <= t) = (1 - rho) sum_{k=0}^{floor(t/D)} e^{-lam (kD - t)} (lam (kD - t))^k / k!.

    The terms reach about e^{1.28 lam t} (at k = t / ((1 + e) D)), so the working
    precision grows by 0.56 lam t digits; 60 more keep tails down to 1e-50 exact.
    """
    digits = 60 + int(0.6 * lam * t) + 1
    with mp.workdps(digits):
        lam_, D_, t_ = mp.mpf(lam), mp.mpf(D), mp.mpf(t)
        total = mp.mpf(0)
        for k in range(int(mp.floor(t_ / D_)) + 1):
            y = lam_ * (k * D_ - t_)
            total += mp.exp(-y) * y**k / mp.factorial(k)
        return +((1 - lam_ * D_) * total)


def md1_wait_tail(lam: float, D: float, t: float) -> mp.mpf:
    """P(Wq > t) of M/D/1 from Erlang's formula (relative precision kept in the tail)."""
    with mp.workdps(60 + int(0.6 * lam * t) + 1):
        return 1 - md1_wait_cdf(lam, D, t)


def erlang_ph(k: int, mean: float) -> tuple[mp.matrix, mp.matrix]:
    """(alpha, T) of the Erlang-k law: k phases of rate k / mean in series."""
    r = k / mp.mpf(mean)
    T = mp.zeros(k, k)
    for i in range(k):
        T[i, i] = -r
        if i + 1 < k:
            T[i, i + 1] = r
    alpha = mp.zeros(1, k)
    alpha[0, 0] = 1
    return alpha, T


def h2_ph(mean: float, scv: float) -> tuple[mp.matrix, mp.matrix]:
    """(alpha, T) of the balanced-means two-phase hyperexponential (Whitt 1982)."""
    m, c = mp.mpf(mean), mp.mpf(scv)
    p1 = (1 + mp.sqrt((c - 1) / (c + 1))) / 2
    p2 = 1 - p1
    return mp.matrix([[p1, p2]]), mp.diag([-2 * p1 / m, -2 * p2 / m])


def _ones(n: int) -> mp.matrix:
    return mp.matrix([[1]] * n)


def mph1_wait_tail(lam: float, alpha: mp.matrix, T: mp.matrix, t: float) -> mp.mpf:
    """P(Wq > t) = a+ exp((T + t0 a+) t) 1 for M/PH/1 FCFS."""
    with mp.workdps(30):
        n = T.rows
        a_plus = mp.mpf(lam) * alpha * mp.inverse(-T)
        t0 = -T * _ones(n)
        U = T + t0 * a_plus
        return (a_plus * mp.expm(U * mp.mpf(t)) * _ones(n))[0, 0]


def mph1_response_tail(lam: float, alpha: mp.matrix, T: mp.matrix, t: float) -> mp.mpf:
    """P(Wq + S > t): the phase-type convolution of Wq (with its atom at 0) and S."""
    with mp.workdps(30):
        n = T.rows
        a_plus = mp.mpf(lam) * alpha * mp.inverse(-T)
        t0 = -T * _ones(n)
        U = T + t0 * a_plus
        u0 = -U * _ones(n)
        K = mp.zeros(2 * n, 2 * n)
        beta = mp.zeros(1, 2 * n)
        atom = 1 - (a_plus * _ones(n))[0, 0]
        for i in range(n):
            beta[0, i] = a_plus[0, i]
            beta[0, n + i] = atom * alpha[0, i]
            for j in range(n):
                K[i, j] = U[i, j]
                K[i, n + j] = u0[i, 0] * alpha[0, j]
                K[n + i, n + j] = T[i, j]
        return (beta * mp.expm(K * mp.mpf(t)) * _ones(2 * n))[0, 0]


def lognormal_lst(mean: mp.mpf, scv: mp.mpf, s: mp.mpf) -> mp.mpf:
    """E[exp(-s S)] for the lognormal law with this mean and scv, by quadrature in log S."""
    s2 = mp.log(1 + scv)
    sig, mu = mp.sqrt(s2), mp.log(mean) - s2 / 2
    z0 = (mp.log(1 / s) - mu) / sig  # where s S = 1: the integrand drops there
    pts = sorted({mp.mpf(-14), *(min(max(z0 + d, -13), 13) for d in (-2, 0, 2)), mp.mpf(14)})
    f = lambda z: mp.exp(-s * mp.exp(mu + sig * z) - z * z / 2)  # noqa: E731
    return mp.quad(f, pts) / mp.sqrt(2 * mp.pi)


def lognormal_wait_tail(lam: float, mean: float, scv: float, t: float, degree: int = 36) -> mp.mpf:
    """P(Wq > t) for M/lognormal/1: Stehfest inversion of (1 - W*(s)) / s,
    W*(s) = (1 - rho) s / (s - lam + lam S*(s)) (Pollaczek-Khinchine)."""
    with mp.workdps(40):
        lam_, m, c = mp.mpf(lam), mp.mpf(mean), mp.mpf(scv)
        rho = lam_ * m

        def transform(s: mp.mpf) -> mp.mpf:
            w = (1 - rho) * s / (s - lam_ + lam_ * lognormal_lst(m, c, s))
            return (1 - w) / s

        return mp.invertlaplace(transform, mp.mpf(t), method="stehfest", degree=degree)
