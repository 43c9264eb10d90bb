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
