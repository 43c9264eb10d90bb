"""Small networks whose parts are exactly M/M/1 queues: tandem (Burke) and random split.

Rule (see ``_support``): each exact figure lies inside its Bonferroni family-wise
Student-t interval across 20 independent replications.
"""

from __future__ import annotations

import math

import pytest
from scipy.optimize import brentq

from qsim.analytic import mm1
from qsim.results import RunResult
from tests.validation._support import (
    SPLIT_INSTANCES,
    RunCache,
    check_against_theory,
    exact_figures,
)

pytestmark = pytest.mark.slow

LAM = 0.8
MEAN1, MEAN2 = 1.0, 0.5  # service means of the two stations of the tandem, seconds


def _tandem(runs: RunCache) -> RunResult:
    return runs.get("tandem")  # Poisson 0.8/s -> 1 s -> 0.5 s (see _support)


def _hypoexponential_quantile(p: float, a: float, b: float) -> float:
    """p-quantile of Exp(a) + Exp(b) (a != b): P(T > t) = (b e^{-at} - a e^{-bt}) / (b - a)."""

    def tail(t: float) -> float:
        return (b * math.exp(-a * t) - a * math.exp(-b * t)) / (b - a) - (1.0 - p)

    return brentq(tail, 0.0, 200.0 / min(a, b), xtol=1e-14, rtol=1e-14)


def test_tandem_stations_are_mm1(runs: RunCache) -> None:
    """Burke: the departures of a stable M/M/1 are Poisson, so both stations are M/M/1."""
    result = _tandem(runs)
    check_against_theory(result, "q1", exact_figures(mm1(arrival_rate=LAM, service_mean=MEAN1)))
    check_against_theory(result, "q2", exact_figures(mm1(arrival_rate=LAM, service_mean=MEAN2)))


def test_tandem_end_to_end(runs: RunCache) -> None:
    """End-to-end response is the sum of two independent exponential sojourns (Burke and
    Reich): mean W1 + W2, quantiles of the hypoexponential with rates mu_i - lambda."""
    result = _tandem(runs)
    a, b = 1.0 / MEAN1 - LAM, 1.0 / MEAN2 - LAM
    w1 = float(mm1(arrival_rate=LAM, service_mean=MEAN1).W)
    w2 = float(mm1(arrival_rate=LAM, service_mean=MEAN2).W)
    figures = {"response_mean": w1 + w2}
    for p in (0.5, 0.95, 0.99):
        figures[f"response_p{round(p * 100)}"] = _hypoexponential_quantile(p, a, b)
    check_against_theory(result, "p->c2", figures, scope="path", precise={"response_mean": 0.08})


def test_tandem_theory_rows(runs: RunCache) -> None:
    """RunResult.theory solves the second station as an M/M/1 fed at the first's rate."""
    result = _tandem(runs)
    rows = result.theory.set_index(["name", "metric"])
    for name, mean in (("q1", MEAN1), ("q2", MEAN2)):
        m = mm1(arrival_rate=LAM, service_mean=mean)
        assert rows.loc[(name, "response_mean"), "model"] == "M/M/c"
        assert math.isclose(rows.loc[(name, "response_mean"), "theory"], m.W, rel_tol=1e-12)
        assert math.isclose(rows.loc[(name, "throughput"), "theory"], LAM, rel_tol=1e-12)


N_SPLIT = SPLIT_INSTANCES


def test_random_split_is_n_mm1(runs: RunCache) -> None:
    """A random balancer with unlimited prefetch splits the Poisson stream into N
    independent Poisson streams of rate lambda / N, each an M/M/1 in its instance's
    buffer: waits, responses and utilization are the M/M/1's, L and throughput N times."""
    result = runs.get("split")
    m = mm1(arrival_rate=LAM, service_mean=1.0)
    one = exact_figures(m)
    figures = {k: v for k, v in one.items() if k.startswith(("wait_", "response_"))}
    figures["utilization"] = one["utilization"]
    figures["throughput"] = N_SPLIT * one["throughput"]
    figures["in_system_mean"] = N_SPLIT * one["in_system_mean"]
    check_against_theory(result, "q", figures, precise={"wait_mean": 0.08})


def test_random_split_keeps_nothing_at_the_broker(runs: RunCache) -> None:
    """With unlimited prefetch every message is pushed to an instance on arrival, and no
    theory row mistakes the split for one shared M/M/N queue."""
    result = runs.get("split")
    assert result.queue("q")["queue_length_mean"].mean == 0.0
    assert result.queue("q")["queue_length_max"].mean == 0.0
    rows = result.theory[result.theory.name == "q"]
    assert "M/M/c" not in set(rows.model)
