"""GI/M/1 with Erlang-k inter-arrival times, solved naively with mpmath (independent reference).

For a GI/M/1 queue with service rate mu and inter-arrival LST A*(s), the probability
sigma that an arrival finds the server busy is the root in (0, 1) of
sigma = A*(mu (1 - sigma)); then Wq = sigma / (mu (1 - sigma)) and W = Wq + 1/mu
(Gross & Harris, Fundamentals of Queueing Theory, 4th ed., sect. 6.3; Kleinrock,
Queueing Systems vol. 1, sect. 6.4). Erlang-k gaps with mean k / lam (every k-th arrival
of a Poisson(lam) stream) have A*(s) = (lam / (lam + s))^k.
"""

from __future__ import annotations

import mpmath as mp

mp.mp.dps = 40


def erlang_m1_wait(lam: float, k: int, mu: float) -> tuple[float, float]:
    """(Wq, W) of the E_k/M/1 queue fed by every k-th arrival of a Poisson(lam) stream."""
    lam_, mu_ = mp.mpf(lam), mp.mpf(mu)
    if not lam_ / k < mu_:
        raise ValueError("unstable")

    def g(s: mp.mpf) -> mp.mpf:
        return (lam_ / (lam_ + mu_ * (1 - s))) ** k - s

    # g > 0 just above 0; g < 0 just below 1 when stable: bisect for the root inside.
    lo, hi = mp.mpf("1e-30"), 1 - mp.mpf("1e-30")
    for _ in range(200):
        mid = (lo + hi) / 2
        if g(mid) > 0:
            lo = mid
        else:
            hi = mid
    sigma = (lo + hi) / 2
    wq = sigma / (mu_ * (1 - sigma))
    return float(wq), float(wq + 1 / mu_)
