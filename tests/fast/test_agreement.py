"""One battery, three judges: the fast engine, the event engine and exact theory.

For every scenario of the battery (M/M/1, M/M/c, M/D/1, M/G/1 lognormal, M/M/c/K loss,
tandem, random, round-robin and key-hash splits, fanout), long fast runs must cover the
exact value with their confidence interval, and short runs of both engines (same
durations, so the same small-sample biases) must agree: a two-sample Welch test on the
replication values of means and p50/p95/p99. Theory comes from naive mpmath formulas
(tests/reference), independent of qsim. Fixed seeds make outcomes reproducible; with
about 80 checks at ALPHA = 0.001 a correct engine fails one with probability ~8 % on
another seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import mpmath as mp
import numpy as np
import pytest
from scipy import stats

from qsim.fast import FastEngine
from qsim.sim import SimEngine
from tests.fast.scenarios import make, single
from tests.reference.ref_mg1 import pk_means
from tests.reference.ref_sim_theory import (
    erlang_c_wait,
    erlang_k_gm1_wait,
    mm1_wait,
    mmck_block,
    tandem_response,
)

ALPHA = 0.001
Key = tuple[str, str, str]


def mm1_response_q(lam: float, mu: float, p: float) -> float:
    """M/M/1 response time is exponential with rate mu - lam."""
    return float(-mp.log(1 - mp.mpf(p)) / (mu - lam))


def mmc_wait_q(lam: float, mu: float, c: int, p: float) -> float:
    """M/M/c: P(Wq > t) = C e^{-(c mu - lam) t}; the p-quantile (0 where P(Wq > 0) <= 1 - p)."""
    pw = erlang_c_wait(lam, mu, c) * (c * mu - lam)  # Erlang C
    return 0.0 if pw <= 1 - p else float(mp.log(pw / (1 - mp.mpf(p))) / (c * mu - lam))


def zipf_shares(n: int, s: float, lanes: int) -> list[float]:
    w = [1 / (k + 1) ** s for k in range(n)]
    return [sum(w[k] for k in range(n) if k % lanes == i) / sum(w) for i in range(lanes)]


def q(name: str, metric: str) -> Key:
    return ("queue", name, metric)


SHARES = zipf_shares(20, 1.0, 3)
CASES: dict[str, tuple[Callable[[float], Any], float, dict[Key, float]]] = {
    # name: (scenario for a duration, arrivals per second, exact values)
    "M/M/1": (
        lambda d: single(8, 0.1, duration=d, warmup=d / 10),
        8,
        {
            q("q", "wait_mean"): mm1_wait(8, 10),
            q("q", "response_p50"): mm1_response_q(8, 10, 0.5),
            q("q", "response_p95"): mm1_response_q(8, 10, 0.95),
            q("q", "response_p99"): mm1_response_q(8, 10, 0.99),
        },
    ),
    "M/M/3": (
        lambda d: single(25.5, 0.1, instances=3, duration=d, warmup=d / 10),
        25.5,
        {
            q("q", "wait_mean"): erlang_c_wait(25.5, 10, 3),
            q("q", "wait_p95"): mmc_wait_q(25.5, 10, 3, 0.95),
            q("q", "wait_p99"): mmc_wait_q(25.5, 10, 3, 0.99),
        },
    ),
    "M/D/1": (
        lambda d: single(8, {"dist": "deterministic", "value": 0.1}, duration=d, warmup=d / 10),
        8,
        {q("q", "wait_mean"): float(pk_means(8, 0.1, 0.0)["Wq"])},
    ),
    "M/G/1 lognormal": (
        lambda d: single(
            7, {"dist": "lognormal", "mean": 0.1, "scv": 4.0}, duration=d, warmup=d / 10
        ),
        7,
        {q("q", "wait_mean"): float(pk_means(7, 0.1, 4.0)["Wq"])},
    ),
    "M/M/2/5 loss": (
        lambda d: single(20, 0.1, instances=2, capacity=5, duration=d, warmup=d / 10),
        20,
        {q("q", "loss_rate"): mmck_block(20, 10, 2, 5)},
    ),
    "tandem": (
        lambda d: make(
            [{"name": "p", "to": "a", "rate": 6}],
            [{"name": "a"}, {"name": "b"}],
            [
                {"name": "ca", "queue": "a", "service": 0.1, "publish_to": "b"},
                {"name": "cb", "queue": "b", "service": 0.125},
            ],
            duration=d,
            warmup=d / 10,
        ),
        6,
        {
            ("path", "p->cb", "response_mean"): tandem_response(6, [10, 8]),
            q("b", "wait_mean"): mm1_wait(6, 8),
        },
    ),
    "random split": (
        lambda d: single(
            24, 0.1, instances=3, prefetch=None, balancer="random", duration=d, warmup=d / 10
        ),
        24,
        {q("q", "wait_mean"): mm1_wait(8, 10)},
    ),
    "round-robin split": (
        lambda d: single(24, 0.1, instances=3, prefetch=None, duration=d, warmup=d / 10),
        24,
        {q("q", "wait_mean"): erlang_k_gm1_wait(24, 10, 3)},
    ),
    "key-hash split, Zipf keys": (
        lambda d: single(
            15,
            0.1,
            instances=3,
            balancer="key-hash",
            duration=d,
            warmup=d / 10,
            producer={"keys": {"dist": "zipf", "n": 20, "s": 1.0}},
        ),
        15,
        {q("q", "wait_mean"): sum(p * mm1_wait(15 * p, 10) for p in SHARES)},
    ),
    "fanout": (
        lambda d: make(
            [{"name": "p", "to": "ex", "rate": 7}],
            [{"name": "x"}, {"name": "y"}],
            [
                {"name": "cx", "queue": "x", "service": 0.1},
                {"name": "cy", "queue": "y", "service": 1 / 12},
            ],
            exchanges=[{"name": "ex", "type": "fanout", "bindings": ["x", "y"]}],
            duration=d,
            warmup=d / 10,
        ),
        7,
        {q("x", "wait_mean"): mm1_wait(7, 10), q("y", "wait_mean"): mm1_wait(7, 12)},
    ),
}
COMPARED = (
    "wait_mean",
    "response_mean",
    "response_p50",
    "response_p95",
    "response_p99",
    "loss_rate",
)


def per_rep(reps: list[Any]) -> dict[Key, np.ndarray]:
    out: dict[Key, list[float]] = {}
    for rep in reps:
        for s, n, m, v in rep.rows():
            out.setdefault((s, n, m), []).append(v)
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def interval(x: np.ndarray) -> tuple[float, float]:
    half = stats.t.ppf(1 - ALPHA / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return float(x.mean() - half), float(x.mean() + half)


@pytest.mark.parametrize("case", list(CASES))
def test_fast_covers_exact_theory(case: str) -> None:
    """Long fast runs: the CI across replications covers the exact value."""
    build, rate, exact = CASES[case]
    vals = per_rep(FastEngine().run(build(200_000 / rate), seed=17, replications=10))
    for key, theory in exact.items():
        lo, hi = interval(vals[key])
        assert lo <= theory <= hi, f"{key}: {theory:.6g} outside [{lo:.6g}, {hi:.6g}]"


@pytest.mark.parametrize("case", list(CASES))
def test_fast_and_event_engine_agree(case: str) -> None:
    """Same scenario, same durations: means and p50/p95/p99 agree (Welch test)."""
    build, rate, _ = CASES[case]
    sc = build(3_000 / rate)
    fast = per_rep(FastEngine().run(sc, seed=23, replications=8))
    sim = per_rep(SimEngine().run(sc, seed=29, replications=8))
    assert set(fast) == set(sim)
    checked = 0
    for key in sim:
        if key[2] not in COMPARED and not (key[0] == "path" and key[2].startswith("response")):
            continue
        a, b = fast[key], sim[key]
        se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        if se == 0:
            assert a.mean() == b.mean(), key
            continue
        t = (a.mean() - b.mean()) / se
        df = se**4 / (
            (a.var(ddof=1) / a.size) ** 2 / (a.size - 1)
            + (b.var(ddof=1) / b.size) ** 2 / (b.size - 1)
        )
        assert abs(t) < stats.t.ppf(1 - ALPHA / 2, df), (
            f"{key}: fast {a.mean():.5g} vs sim {b.mean():.5g}"
        )
        checked += 1
    assert checked >= 4
