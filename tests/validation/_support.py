"""Helpers for theory-versus-simulation checks: scenarios in code, family-wise intervals.

Judging rule used by every test in this folder: a simulated figure agrees with theory
when the exact value lies inside a Student-t interval across independent replications.
When one test checks m figures at once, each interval is widened to level
1 - FAMILY_ALPHA / m (Bonferroni), so the chance that a correct engine fails the test
for a given seed is at most FAMILY_ALPHA, whatever the correlation between the figures.
The intervals are computed here from ``RunResult.per_replication`` with scipy, not with
``qsim.stats``, so the check does not rest on the code that produced the CIs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from qsim.results import RunResult
from qsim.scenario import Scenario

#: Chance that one test of a correct engine fails for its fixed seed (Bonferroni bound).
FAMILY_ALPHA = 0.001


def queue_scenario(
    *,
    name: str,
    rate: float,
    service: Any,
    duration: float,
    warmup: float,
    replications: int,
    seed: int,
    instances: int = 1,
    capacity: int | None = None,
    prefetch: int | None = 1,
    balancer: str | None = None,
) -> Scenario:
    """One Poisson producer -> queue ``q`` -> one consumer pool ``c``."""
    consumer: dict[str, Any] = {
        "name": "c",
        "queue": "q",
        "instances": instances,
        "prefetch": "unlimited" if prefetch is None else prefetch,
        "service": service,
    }
    if balancer is not None:
        consumer["balancer"] = balancer
    queue: dict[str, Any] = {"name": "q"}
    if capacity is not None:
        queue["capacity"] = capacity
    return Scenario(
        name=name,
        seed=seed,
        engine="sim",
        duration=duration,
        warmup=warmup,
        replications=replications,
        producers=[{"name": "p", "to": "q", "rate": rate}],
        brokers=[{"name": "b", "queues": [queue]}],
        consumers=[consumer],
    )


def per_replication(
    result: RunResult, name: str, metric: str, scope: str | None = None
) -> np.ndarray:
    """The values of one metric, one per replication, in replication order."""
    p = result.per_replication
    hit = p[(p.name == name) & (p.metric == metric)]
    if scope is not None:
        hit = hit[hit.scope == scope]
    if hit.empty:
        raise KeyError(f"no per-replication metric {metric!r} for {name!r}")
    return hit.sort_values("replication")["value"].to_numpy(dtype=float)


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    level: float
    n: int

    def covers(self, x: float) -> bool:
        return self.low <= x <= self.high

    @property
    def half_width(self) -> float:
        return 0.5 * (self.high - self.low)


def t_interval(values: np.ndarray, level: float) -> Interval:
    """Student-t interval of the mean of i.i.d. replication values."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = x.size
    mean = float(x.mean())
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, level, n)


def check_against_theory(
    result: RunResult,
    name: str,
    theory: Mapping[str, float],
    *,
    scope: str | None = None,
    family_alpha: float = FAMILY_ALPHA,
    precise: Mapping[str, float] | None = None,
) -> None:
    """Assert every exact value in ``theory`` lies in its family-wise interval.

    ``precise`` maps some metrics to the largest 95% half-width allowed, as a fraction
    of the exact value, so the check has power: a run too short to see a bias of a few
    percent fails instead of passing vacuously.
    """
    level = 1.0 - family_alpha / len(theory)
    bad = []
    for metric, exact in theory.items():
        vals = per_replication(result, name, metric, scope)
        wide = t_interval(vals, level)
        narrow = t_interval(vals, 0.95)
        line = (
            f"{name}.{metric}: exact {exact:.6g}, simulated {wide.mean:.6g}, "
            f"{100 * level:.4g}% CI [{wide.low:.6g}, {wide.high:.6g}], "
            f"95% CI [{narrow.low:.6g}, {narrow.high:.6g}] (n={wide.n})"
        )
        if not wide.covers(exact):
            bad.append("outside: " + line)
        limit = (precise or {}).get(metric)
        if limit is not None and narrow.half_width > limit * abs(exact):
            bad.append(f"too imprecise (95% half-width > {limit:.0%}): " + line)
    assert not bad, "\n".join(bad)


# ---- the models checked against theory ------------------------------------------------
PROBS = (0.5, 0.95, 0.99)


def exact_figures(m: Any, *, quantiles: bool = True) -> dict[str, float]:
    """The simulated metric names mapped to the exact values of a solved model.

    A wait quantile is left out when it falls within 0.05 of the atom at zero
    (|P(wait > 0) - (1 - p)| < 0.05): there the sample quantile jumps between 0 and a
    positive value and its replication mean is not approximately normal.
    """
    out = {
        "wait_mean": float(m.Wq),
        "response_mean": float(m.W),
        "queue_length_mean": float(m.Lq),
        "in_system_mean": float(m.L),
        "utilization": float(m.busy_fraction),
        "throughput": float(m.throughput),
        "loss_rate": float(m.p_block),
    }
    if quantiles:
        for p in PROBS:
            tag = f"p{round(p * 100)}"
            out[f"response_{tag}"] = float(m.response_quantile(p))
            if abs(float(m.p_wait) - (1.0 - p)) >= 0.05:
                out[f"wait_{tag}"] = float(m.wait_quantile(p))
    return out


@dataclass(frozen=True)
class Case:
    """A scenario whose queue ``q`` is exactly a textbook model."""

    model: str  # the label RunResult.theory must give queue q
    scenario: Scenario
    solve: Any  # () -> QueueMetrics
    why: str  # run length and warm-up, against the model's relaxation time


def _mm1() -> Any:
    from qsim.analytic import mm1

    return mm1(arrival_rate=0.8, service_mean=1.0)


def _mmc() -> Any:
    from qsim.analytic import mmc

    return mmc(arrival_rate=3.4, service_mean=1.0, servers=4)


def _mmck(lam: float, c: int, k: int) -> Any:
    from qsim.analytic.mmck import mmck

    return lambda: mmck(arrival_rate=lam, service_mean=1.0, servers=c, capacity=k)


def _md1() -> Any:
    from qsim.analytic.mg1 import md1

    return md1(arrival_rate=0.8, service_mean=1.0)


def _mg1() -> Any:
    from qsim.analytic.mg1 import mg1
    from qsim.distributions import Lognormal

    return mg1(arrival_rate=0.6, service=Lognormal(mean=1.0, scv=4.0))


# Service means are 1 s throughout, so times read in mean service times. Warm-up bias:
# the queue starts empty and relaxes like exp(-t / tau); the relaxation time of an M/M/1
# is tau = 1 / (mu (1 - sqrt(rho))^2) (Morse 1955), 90 s at rho = 0.8, and in heavy
# traffic (reflected Brownian motion) tau ~ 2 rho E[S] (1 + scv) / (c (1 - rho)^2) for
# the others. Every warm-up is >= 10 tau, so the bias left in a time average over the
# measured window T is below L tau exp(-10) / T: under 1e-5 of the value, far inside
# every interval. Replication lengths are >= 100 tau.
CASES: dict[str, Case] = {
    "M/M/1 rho=0.8": Case(
        "M/M/c",
        queue_scenario(
            name="mm1",
            rate=0.8,
            service=1.0,
            duration=20_000,
            warmup=1_000,
            replications=20,
            seed=101,
        ),
        _mm1,
        "warm-up 1000 s = 11 tau (tau = 90 s); 19000 s measured per replication",
    ),
    "M/M/4 rho=0.85": Case(
        "M/M/c",
        queue_scenario(
            name="mm4",
            rate=3.4,
            service=1.0,
            instances=4,
            duration=6_000,
            warmup=500,
            replications=20,
            seed=102,
        ),
        _mmc,
        "tau ~ 38 s; warm-up 500 s = 13 tau; 5500 s measured per replication",
    ),
    "M/M/2/5 rho=1": Case(
        "M/M/c/K",
        queue_scenario(
            name="mm2k5",
            rate=2.0,
            service=1.0,
            instances=2,
            capacity=5,
            duration=3_000,
            warmup=100,
            replications=20,
            seed=103,
        ),
        _mmck(2.0, 2, 5),
        "a 6-state chain with rates >= 1/s mixes in seconds; warm-up 100 s",
    ),
    "M/M/1/4 rho=1.5": Case(
        "M/M/c/K",
        queue_scenario(
            name="mm1k4",
            rate=1.5,
            service=1.0,
            capacity=4,
            duration=3_000,
            warmup=100,
            replications=20,
            seed=104,
        ),
        _mmck(1.5, 1, 4),
        "overloaded but finite: a 5-state chain, warm-up 100 s",
    ),
    "M/M/3/3 Erlang loss": Case(
        "M/M/c/K",
        queue_scenario(
            name="mm3k3",
            rate=3.0,
            service=1.0,
            instances=3,
            capacity=3,
            duration=3_000,
            warmup=100,
            replications=20,
            seed=105,
        ),
        _mmck(3.0, 3, 3),
        "pure loss (K = c, Erlang B): nobody waits; warm-up 100 s",
    ),
    "M/D/1 rho=0.8": Case(
        "M/D/1",
        queue_scenario(
            name="md1",
            rate=0.8,
            service={"dist": "deterministic", "value": 1.0},
            duration=10_000,
            warmup=500,
            replications=20,
            seed=106,
        ),
        _md1,
        "tau ~ 40 s; warm-up 500 s = 12 tau",
    ),
    "M/G/1 lognormal scv=4 rho=0.6": Case(
        "M/G/1",
        queue_scenario(
            name="mg1",
            rate=0.6,
            service={"dist": "lognormal", "mean": 1.0, "scv": 4.0},
            duration=40_000,
            warmup=1_000,
            replications=20,
            seed=107,
        ),
        _mg1,
        "tau ~ 38 s; warm-up 1000 s = 26 tau; long runs for the heavy tail",
    ),
}


def tandem_scenario(*, seed: int) -> Scenario:
    """Poisson 0.8/s -> q1 (exponential 1 s) -> publish_to -> q2 (exponential 0.5 s)."""
    return Scenario(
        name="tandem",
        seed=seed,
        engine="sim",
        duration=10_000,
        warmup=1_000,
        replications=20,
        producers=[{"name": "p", "to": "q1", "rate": 0.8}],
        brokers=[{"name": "b", "queues": [{"name": "q1"}, {"name": "q2"}]}],
        consumers=[
            {"name": "c1", "queue": "q1", "service": 1.0, "publish_to": "q2"},
            {"name": "c2", "queue": "q2", "service": 0.5},
        ],
    )


SPLIT_INSTANCES = 3


def split_scenario(*, seed: int, instances: int = SPLIT_INSTANCES) -> Scenario:
    """Poisson 0.8 * n /s spread at random over n instances, each with its own buffer."""
    return queue_scenario(
        name="split",
        rate=0.8 * instances,
        service=1.0,
        instances=instances,
        prefetch=None,
        balancer="random",
        duration=10_000,
        warmup=1_000,
        replications=20,
        seed=seed,
    )


@functools.cache
def solved(key: str) -> Any:
    """The exact model of a case, solved once (the M/G/1 law takes seconds)."""
    return CASES[key].solve()


@functools.cache
def exact(key: str) -> dict[str, float]:
    """The exact figures of a case (see :func:`exact_figures`)."""
    return exact_figures(solved(key))


def scenario_for(key: str) -> Scenario:
    """The scenario of a case, or of the ``tandem`` and ``split`` networks."""
    if key == "tandem":
        return tandem_scenario(seed=201)
    if key == "split":
        return split_scenario(seed=301)
    return CASES[key].scenario


class RunCache:
    """``cache.get(key)`` runs the scenario of ``key`` (see :func:`scenario_for`) once."""

    def __init__(self) -> None:
        self._runs: dict[str, RunResult] = {}

    def get(self, key: str) -> RunResult:
        if key not in self._runs:
            from qsim.engines import run

            self._runs[key] = run(scenario_for(key))
        return self._runs[key]
