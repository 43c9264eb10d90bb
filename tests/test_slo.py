"""SLO verdicts: met only at the pessimistic end of the interval; ceilings and floors."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from qsim.scenario.schema import SLO
from qsim.slo import evaluate_slo, slack

COLUMNS = ["scope", "name", "metric", "value", "ci_low", "ci_high", "level", "n"]


def summary(*rows: tuple[str, str, str, float, float, float]) -> pd.DataFrame:
    return pd.DataFrame([(*r, 0.95, 10) for r in rows], columns=COLUMNS)


VERDICTS = [
    # ceiling: the upper end meets
    ("max_dead_letter", 0.01, (0.004, 0.002, 0.006), "met"),
    # ceiling: only the estimate meets
    ("max_dead_letter", 0.01, (0.008, 0.005, 0.012), "uncertain"),
    # ceiling: even the estimate misses
    ("max_dead_letter", 0.01, (0.02, 0.015, 0.025), "missed"),
    # floor: the lower end meets
    ("min_availability", 0.999, (0.9995, 0.9992, 0.9998), "met"),
    # floor: only the estimate meets
    ("min_availability", 0.999, (0.9992, 0.9985, 0.9999), "uncertain"),
    # floor: even the estimate misses
    ("min_availability", 0.999, (0.998, 0.997, 0.999), "missed"),
]


@pytest.mark.parametrize(("target", "limit", "est", "verdict"), VERDICTS)
def test_dead_letter_and_availability_verdicts(
    target: str, limit: float, est: tuple[float, float, float], verdict: str
) -> None:
    """Dead-letter rate is a ceiling (upper end), availability a floor (lower end)."""
    if target == "max_dead_letter":
        rows = [("queue", "orders", "dead_lettered_rate", *est)]
        rows.append(("queue", "other", "dead_lettered_rate", 0.0, 0.0, 0.0))
    else:
        rows = [("broker", "rabbit", "availability", *est)]
        rows.append(("broker", "kafka", "availability", 1.0, 1.0, 1.0))
    out = evaluate_slo(SLO(**{target: limit}), summary(*rows))
    assert out.verdict.tolist() == [verdict]
    assert out.name.tolist() == [rows[0][1]]  # the worst queue or broker decides


def test_slack_is_relative_room_at_the_pessimistic_end() -> None:
    """Ceilings: (limit - ci_high) / limit; floors: (ci_low - limit) / (1 - limit)."""
    assert slack("p99_response", 0.5, 0.3, 0.4) == pytest.approx(0.2)
    assert slack("p99_response", 0.5, 0.5, 0.6) == pytest.approx(-0.2)
    assert slack("min_availability", 0.99, 0.995, 0.999) == pytest.approx(0.5)
    assert slack("max_loss", 0.0, 0.0, 0.0) == 0.0
    assert slack("max_loss", 0.0, 0.0, 0.01) == -math.inf


def test_latency_targets_missed_when_anything_is_unstable() -> None:
    """A growing backlog has no steady-state latency: wait and response targets are
    missed with the fastest-growing component named and an infinite value, however
    good the finite figures of the run look; loss targets are still judged on them."""
    rows = summary(
        ("system", "all", "response_p99", 0.1, 0.09, 0.11),
        ("system", "all", "loss_rate", 0.0, 0.0, 0.0),
        ("queue", "orders", "wait_mean", 0.01, 0.009, 0.011),
    )
    slo = SLO(p99_response=1.0, mean_wait=1.0, max_loss=0.01)
    calm = evaluate_slo(slo, rows)
    assert calm.verdict.tolist() == ["met", "met", "met"]
    out = evaluate_slo(slo, rows, {"events/c/p0": 2.8, "orders": 0.5})
    by = out.set_index("target")
    assert by.loc["p99_response", "verdict"] == "missed"
    assert by.loc["mean_wait", "verdict"] == "missed"
    assert by.loc["p99_response", "name"] == "events/c/p0"
    assert math.isinf(by.loc["mean_wait", "value"]) and math.isinf(by.loc["mean_wait", "ci_high"])
    assert (
        slack("mean_wait", 1.0, by.loc["mean_wait", "ci_low"], by.loc["mean_wait", "ci_high"]) < 0
    )
    assert by.loc["max_loss", "verdict"] == "met"


def test_partition_utilization_counts_for_max_utilization() -> None:
    """A saturated partition breaks a utilization ceiling its group meets."""
    rows = summary(
        ("group", "events/c", "utilization", 0.6, 0.58, 0.62),
        ("partition", "events/c/p0", "utilization", 0.99, 0.98, 1.0),
    )
    out = evaluate_slo(SLO(max_utilization=0.8), rows)
    assert out.verdict.tolist() == ["missed"] and out.name.tolist() == ["events/c/p0"]
