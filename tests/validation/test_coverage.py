"""Meta-test: the 95% intervals qsim reports cover the truth about 95% of the time."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from qsim.analytic import mm1
from qsim.engines import run
from tests.validation._support import queue_scenario

pytestmark = pytest.mark.slow

K = 40  # independent runs, each with its own root seed
RHO = 0.5


def test_ci_coverage_of_mean_wait_is_binomial() -> None:
    """Over K independent runs of an M/M/1, RunResult's 95% CI of the mean wait covers the
    exact Wq a number of times within 3 binomial sd of 0.95 K (>= 34 of 40).

    Bias is negligible by design: rho = 0.5, so the relaxation time is
    tau = 1 / (mu (1 - sqrt(rho))^2) = 11.7 s; the warm-up is 200 s = 17 tau (what is left
    of the empty start is ~ e^-17), and each replication measures 1000 s = 85 tau, ~400
    messages, so the end-of-window censoring (about Lq = 0.5 message left waiting) moves
    the mean wait by ~0.1%, against a 95% half-width of ~16%. (Pooled over all 400
    replications the mean wait was 0.988 +- 0.012 for the exact 1.0 when this was written.)
    """
    exact = float(mm1(arrival_rate=RHO, service_mean=1.0).Wq)
    covered = 0
    for k in range(K):
        sc = queue_scenario(
            name="coverage",
            rate=RHO,
            service=1.0,
            duration=1_200,
            warmup=200,
            replications=10,
            seed=5_000 + k,
        )
        covered += run(sc).estimate("queue", "q", "wait_mean").covers(exact)
    sd = math.sqrt(K * 0.95 * 0.05)
    low = math.ceil(0.95 * K - 3 * sd)
    # the same bound from the binomial law itself: P(X < low) under p = 0.95 is tiny
    assert stats.binom.cdf(low - 1, K, 0.95) < 0.01
    assert covered >= low, f"{covered}/{K} intervals covered Wq = {exact}"
