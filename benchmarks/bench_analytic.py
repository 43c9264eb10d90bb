"""Analytic layer: vectorised M/M/c and staffing against per-point Python peers.

Peers, run in the same process on the same inputs:
- ``loop-recursion``: the textbook Erlang B recursion in a Python loop per point (the
  stable way a careful user writes it by hand);
- ``loop-factorial``: the factorial form of Erlang C with ``math.factorial``, as most
  online calculators do; it overflows above c ~ 170 and is timed only where it works;
- ``linear-scan``: staffing by trying c = ceil(a), ceil(a) + 1, ... with the recursion.

Prints medians, per-point costs, and the ratio peer / qsim. Check: every peer's answer
is compared with qsim's on the same points.
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks._timing import interleaved
from qsim.analytic import min_servers, mmc


def _erlang_c_recursion(c: int, a: float) -> float:
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return c * b / (c - a * (1 - b))


def _erlang_c_factorial(c: int, a: float) -> float:
    s = sum(a**k / math.factorial(k) for k in range(c))
    t = a**c / math.factorial(c) * c / (c - a)
    return t / (s + t)


def _wq_loop(fn, lam: np.ndarray, c: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.array([fn(int(ci), float(li)) / (ci - li) for li, ci in zip(lam, c, strict=True)])


def _staff_scan(a: float, alpha: float) -> int:
    c = math.floor(a) + 1
    while _erlang_c_recursion(c, a) > alpha:
        c += 1
    return c


def run(
    points: int = 1_000_000, repeats: int = 5, loads: tuple[float, ...] = (100.0, 2_000.0, 50_000.0)
) -> list[str]:
    rng = np.random.default_rng(2026)
    lam = rng.uniform(1.0, 100.0, points)
    c = np.ceil(lam / rng.uniform(0.5, 0.99, points))
    lines = [f"## Analytic: M/M/c over {points:,} (arrival_rate, servers) points (mu = 1)"]

    # The per-point peers are timed on a subset and scaled per point; the factorial form
    # overflows above c ~ 170, so the subset keeps c <= 150 for both peers.
    few = 2_000
    sub = np.flatnonzero(c <= 150)[:few]
    ls, cs = lam[sub], c[sub]
    t = interleaved(
        {
            "qsim": lambda: mmc(arrival_rate=lam, service_rate=1.0, servers=c),
            "loop-recursion": lambda: _wq_loop(_erlang_c_recursion, ls, cs),
            "loop-factorial": lambda: _wq_loop(_erlang_c_factorial, ls, cs),
        },
        repeats=repeats,
    )
    ours = mmc(arrival_rate=ls, service_rate=1.0, servers=cs).Wq
    err = {
        name: np.max(np.abs(_wq_loop(fn, ls, cs) / ours - 1))
        for name, fn in (
            ("loop-recursion", _erlang_c_recursion),
            ("loop-factorial", _erlang_c_factorial),
        )
    }
    per_qsim = t["qsim"] / points
    lines.append(f"qsim mmc: {t['qsim']:.3f} s total, {per_qsim * 1e9:.0f} ns per point")
    for peer in ("loop-recursion", "loop-factorial"):
        per = t[peer] / len(sub)
        lines.append(
            f"  {peer:15s} {per * 1e9:9.0f} ns per point   ratio {per / per_qsim:7.0f}x   "
            f"max rel. diff of Wq {err[peer]:.1e}"
        )

    lines.append("## Analytic: staffing (fewest servers with P(wait) <= 0.05)")
    for a in loads:
        tt = interleaved(
            {
                "qsim": lambda a=a: min_servers(
                    arrival_rate=a, service_rate=1.0, max_wait_probability=0.05
                ),
                "linear-scan": lambda a=a: _staff_scan(a, 0.05),
            },
            repeats=min(repeats, 3),
        )
        ours_c = min_servers(arrival_rate=a, service_rate=1.0, max_wait_probability=0.05)
        lines.append(
            f"  a = {a:>8,.0f} E: qsim c = {ours_c} in {tt['qsim'] * 1e3:.2f} ms; "
            f"linear scan c = {_staff_scan(a, 0.05)} in {tt['linear-scan'] * 1e3:.1f} ms "
            f"(ratio {tt['linear-scan'] / tt['qsim']:.0f}x)"
        )
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
