"""Single queues that are exactly a textbook model: simulation versus qsim.analytic.

Rule (see ``_support``): every exact figure lies inside its Bonferroni family-wise
Student-t interval across 20 independent replications (family error <= 0.001 per test),
and the 95% interval of the mean wait is narrow enough to see a bias of a few percent.
Exact values come from qsim.analytic (itself checked against mpmath references); the
M/G/1 quantiles from its numerical Pollaczek-Khinchine law (lattice bounds, relative
error ~1e-8, negligible here), which RunResult.theory leaves out as not closed-form.
"""

from __future__ import annotations

import math

import pytest

from tests.validation._support import CASES, RunCache, check_against_theory, exact, solved

pytestmark = pytest.mark.slow

# Largest allowed 95% half-width of the mean wait, as a fraction of its exact value
# (keeps the tests powerful: a bias of a few percent cannot hide in a wide interval;
# the least precise, the heavy-tailed M/G/1, measures about 6%).
PRECISION = {"wait_mean": 0.08}


@pytest.mark.parametrize("key", list(CASES))
def test_queue_matches_theory(key: str, runs: RunCache) -> None:
    """Mean wait, response, L, Lq, utilization, throughput, loss and p50/p95/p99 match theory."""
    result = runs.get(key)
    figures = exact(key)
    check_against_theory(result, "q", figures, precise=PRECISION)


@pytest.mark.parametrize("key", list(CASES))
def test_theory_rows(key: str, runs: RunCache) -> None:
    """RunResult.theory names the model, gives qsim.analytic's values, and marks within_ci
    exactly when the exact value lies in the reported 95% interval of the summary."""
    case = CASES[key]
    result = runs.get(key)
    rows = result.theory[result.theory.name == "q"]
    assert set(rows.model) == {case.model}
    m = solved(key)
    mean_rows = {
        "wait_mean",
        "response_mean",
        "queue_length_mean",
        "in_system_mean",
        "utilization",
        "throughput",
        "loss_rate",
    }
    expected = set(mean_rows)
    if m.quantile_method == "exact":
        expected |= {f"{k}_p{p}" for k in ("wait", "response") for p in (50, 95, 99)}
    assert expected <= set(rows.metric)
    figures = exact(key)
    for r in rows.itertuples():
        if r.metric in figures:
            assert math.isclose(r.theory, figures[r.metric], rel_tol=1e-9, abs_tol=1e-12), r
        est = result.estimate("queue", "q", r.metric)
        assert (r.value, r.ci_low, r.ci_high) == (est.mean, est.ci_low, est.ci_high)
        assert r.within_ci == (r.ci_low <= r.theory <= r.ci_high)
