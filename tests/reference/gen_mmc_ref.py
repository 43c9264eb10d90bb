"""Generate mmc_mpmath_ref.json: M/M/c reference values at 50 significant digits.

Independent of qsim: Erlang B by the textbook recursion B(k) = a B(k-1) / (k + a B(k-1))
in mpmath arithmetic, Erlang C = c B / (c - a (1 - B)), and the M/M/c wait and
response laws written out directly (wait: atom 1 - C at 0, else Exp(c mu - lambda);
response: wait + Exp(mu)); quantiles by mpmath.findroot on those tails.

Run:  .venv/bin/python -m tests.reference.gen_mmc_ref
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import mpmath as mp

mp.mp.dps = 50
OUT = Path(__file__).with_name("mmc_mpmath_ref.json")

MU = mp.mpf("2.5")
SERVERS = [1, 2, 5, 10, 50, 100, 1000, 10000, 100000]
RHOS = ["0.01", "0.3", "0.5", "0.8", "0.9", "0.99", "0.999", "0.9999"]
LOSS_RHOS = ["1", "1.2", "2", "5"]
P = mp.mpf("0.99")


def erlang_b(c: int, a: mp.mpf) -> mp.mpf:
    b = mp.mpf(1)
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def response_tail(t: mp.mpf, C: mp.mpf, theta: mp.mpf, mu: mp.mpf) -> mp.mpf:
    # P(E_theta + E_mu > t); Erlang(2, mu) when theta == mu
    if theta == mu:
        conv = (1 + mu * t) * mp.e ** (-mu * t)
    else:
        conv = (theta * mp.e ** (-mu * t) - mu * mp.e ** (-theta * t)) / (theta - mu)
    return (1 - C) * mp.e ** (-mu * t) + C * conv


def bisect(f: Callable[[mp.mpf], mp.mpf], lo: mp.mpf, hi: mp.mpf) -> mp.mpf:
    """Root of a decreasing f on [lo, hi] (f(lo) > 0 > f(hi)) by 180 halvings."""
    assert f(lo) > 0 > f(hi)
    for _ in range(180):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
    return (lo + hi) / 2


def case(c: int, rho: str) -> dict[str, object]:
    r = mp.mpf(rho)
    a = r * c
    lam = a * MU
    b = erlang_b(c, a)
    out: dict[str, object] = {"servers": c, "rho": rho, "service_rate": str(MU)}
    out["arrival_rate"] = mp.nstr(lam, 30)
    out["erlang_b"] = mp.nstr(b, 25)
    if r < 1:
        C = c * b / (c - a * (1 - b))
        theta = c * MU - lam
        Wq = C / theta
        W = Wq + 1 / MU
        out.update(
            erlang_c=mp.nstr(C, 25),
            Wq=mp.nstr(Wq, 25),
            Lq=mp.nstr(lam * Wq, 25),
            W=mp.nstr(W, 25),
            L=mp.nstr(lam * W, 25),
            wait_q99=mp.nstr(max(mp.mpf(0), mp.log(C / (1 - P)) / theta), 25),
        )
        t = W  # tail at the mean response
        out["t"] = mp.nstr(t, 25)
        out["response_tail_t"] = mp.nstr(response_tail(t, C, theta, MU), 25)
        f = lambda x: response_tail(x, C, theta, MU) - (1 - P)  # noqa: E731
        hi = mp.log(1 / (1 - P)) * (1 / theta + 1 / MU) * 2
        out["response_q99"] = mp.nstr(bisect(f, mp.mpf(0), hi), 25)
    return out


def main() -> None:
    cases = [case(c, r) for c in SERVERS for r in RHOS]
    cases += [case(c, r) for c in SERVERS for r in LOSS_RHOS]
    OUT.write_text(json.dumps({"mu": str(MU), "p": str(P), "cases": cases}, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
