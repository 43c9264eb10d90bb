"""Textbook formulas the simulator is judged against, written naively with mpmath.

Each function is the closed form straight from its reference, at 30 digits, with no
attempt at speed or vectorisation: obviously correct, independent of qsim.
"""

from __future__ import annotations

import mpmath as mp

mp.mp.dps = 30


def mm1_wait(lam: float, mu: float) -> float:
    """M/M/1 mean wait in queue: Wq = rho / (mu - lam) (Kleinrock, Vol. 1, 3.2)."""
    lam, mu = mp.mpf(lam), mp.mpf(mu)
    return float(lam / mu / (mu - lam))


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """M/M/c mean wait in queue: Wq = C(c, a) / (c mu - lam), Erlang C by its sum form."""
    lam, mu = mp.mpf(lam), mp.mpf(mu)
    a = lam / mu
    rho = a / c
    top = a**c / mp.factorial(c) / (1 - rho)
    p_wait = top / (mp.fsum(a**k / mp.factorial(k) for k in range(c)) + top)
    return float(p_wait / (c * mu - lam))


def mmck_block(lam: float, mu: float, c: int, k: int) -> float:
    """M/M/c/K probability an arrival finds K in the system (PASTA): p_K of the
    birth-death chain p_n ~ a^n / n! (n <= c), a^c / c! (a/c)^(n-c) (c < n <= K)."""
    a = mp.mpf(lam) / mu
    w = [
        a**n / mp.factorial(n) if n <= c else a**c / mp.factorial(c) * (a / c) ** (n - c)
        for n in range(k + 1)
    ]
    return float(w[k] / mp.fsum(w))


def mm1_deadline_loss(lam: float, mu: float, tau: float) -> float:
    """M/M/1 with constant patience tau (FIFO; a message that would wait longer than tau
    leaves unserved): P(loss) = (1 - rho) rho e^{-theta tau} / (1 - rho^2 e^{-theta tau}),
    theta = mu - lam.

    Barrer (1957), "Queuing with impatient customers and ordered service", Oper. Res. 5.
    From the virtual wait V: density lam P0 e^{-theta x} on (0, tau], and
    f(tau) e^{-mu (x - tau)} above; P(loss) = P(V > tau) = P0 rho e^{-theta tau}.
    """
    lam, mu, tau = mp.mpf(lam), mp.mpf(mu), mp.mpf(tau)
    rho = lam / mu
    e = mp.exp(-(mu - lam) * tau)
    return float((1 - rho) * rho * e / (1 - rho**2 * e))


def erlang_k_gm1_wait(lam: float, mu: float, k: int) -> float:
    """E_k/M/1 mean wait in queue, the GI/M/1 formula Wq = sigma / (mu (1 - sigma)).

    sigma is the root in (0, 1) of sigma = A*(mu (1 - sigma)), with A*(s) = (lam/(lam+s))^k
    the transform of a sum of k exponential gaps of rate ``lam`` (every k-th arrival of
    a Poisson stream of rate ``lam``). Kleinrock, Vol. 1, 6.4 (G/M/1).
    """
    lam, mu = mp.mpf(lam), mp.mpf(mu)

    def g(s: mp.mpf) -> mp.mpf:
        return (lam / (lam + mu * (1 - s))) ** k - s

    sigma = mp.findroot(g, (mp.mpf("1e-9"), 1 - mp.mpf("1e-12")), solver="bisect")
    return float(sigma / (mu * (1 - sigma)))


def cobham_waits(lams: list[float], mu: float) -> list[float]:
    """Non-preemptive priority M/M/1 (classes in priority order, highest first; one
    exponential service rate mu): W_k = W0 / ((1 - s_{k-1}) (1 - s_k)), s_k the load of
    classes 1..k, W0 = sum lam_i E[S^2] / 2 = lam / mu^2. Cobham (1954), Kleinrock Vol. 2, 3.6.
    """
    mu = mp.mpf(mu)
    w0 = mp.fsum(mp.mpf(x) for x in lams) / mu**2
    out, s_prev = [], mp.mpf(0)
    for lam in lams:
        s = s_prev + mp.mpf(lam) / mu
        out.append(float(w0 / ((1 - s_prev) * (1 - s))))
        s_prev = s
    return out


def tandem_response(lam: float, mus: list[float]) -> float:
    """Mean end-to-end response of M/M/1 stations in tandem: sum of 1 / (mu_i - lam)
    (Burke's theorem and Jackson's product form)."""
    return float(mp.fsum(1 / (mp.mpf(mu) - lam) for mu in mus))
