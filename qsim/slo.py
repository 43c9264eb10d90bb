"""Service-level objectives judged against simulated estimates, with confidence.

A target is **met** only when the pessimistic end of its 95% confidence interval meets
it (the upper bound for a latency, loss, dead-letter or utilization ceiling; the lower
bound for an availability floor); **uncertain** when the point estimate meets it but the
interval does not; **missed** otherwise. Response targets are end to end over all
messages (publish to final ack); wait, utilization and dead-letter targets apply to every
queue, and availability to every broker, so the worst one decides.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

__all__ = ["SLO_COLUMNS", "evaluate_slo", "is_floor", "slack"]

SLO_COLUMNS = [
    "target",
    "limit",
    "scope",
    "name",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "verdict",
]

_SYSTEM = {
    "p50_response": "response_p50",
    "p95_response": "response_p95",
    "p99_response": "response_p99",
    "p999_response": "response_p99.9",
    "mean_response": "response_mean",
    "max_loss": "loss_rate",
}
_WORST_QUEUE = {
    "p50_wait": "wait_p50",
    "p95_wait": "wait_p95",
    "p99_wait": "wait_p99",
    "p999_wait": "wait_p99",  # the queue tables carry p99 at most; stated in the row
    "mean_wait": "wait_mean",
    "max_utilization": "utilization",
    "max_dead_letter": "dead_lettered_rate",
}
_WORST_BROKER = {"min_availability": "availability"}


def is_floor(target: str) -> bool:
    """Whether a target is a floor (met from above, like availability), not a ceiling."""
    return target.startswith("min_")


def slack(target: str, limit: float, ci_low: float, ci_high: float) -> float:
    """Relative room left at the pessimistic end of the interval (< 0: the target fails).

    Ceilings: ``(limit - ci_high) / limit``. Floors such as availability are judged on
    what they leave out: ``(ci_low - limit) / (1 - limit)`` (the unavailability budget
    left). A zero limit (no loss at all) gives 0 when met and -inf when not.
    """
    if is_floor(target):
        room, scale = ci_low - limit, 1.0 - limit
    else:
        room, scale = limit - ci_high, limit
    if math.isnan(room):
        return math.nan
    if scale > 0:
        return room / scale
    return 0.0 if room >= 0 else -math.inf


def _verdict(limit: float, value: float, high: float, floor: bool = False) -> str:
    if math.isnan(value):
        return "not measured"
    if floor:
        limit, value, high = -limit, -value, -high  # `high` is then the negated ci_low
    if high <= limit:
        return "met"
    if value <= limit:
        return "uncertain"
    return "missed"


def evaluate_slo(slo: Any, summary: pd.DataFrame) -> pd.DataFrame:
    """One row per target of the scenario's ``slo:`` block (empty without one)."""
    rows: list[dict[str, Any]] = []
    if slo is None:
        return pd.DataFrame(rows, columns=SLO_COLUMNS)
    for target, limit in slo.model_dump().items():
        if limit is None:
            continue
        if target in _SYSTEM:
            metric = _SYSTEM[target]
            hit = summary[(summary.scope == "system") & (summary.metric == metric)]
        elif target in _WORST_BROKER:
            metric = _WORST_BROKER[target]
            hit = summary[(summary.scope == "broker") & (summary.metric == metric)]
            hit = hit[hit.value.notna()]
            if not hit.empty:
                hit = hit.loc[[hit.ci_low.fillna(hit.value).idxmin()]]
        else:
            metric = _WORST_QUEUE[target]
            hit = summary[summary.scope.isin(["queue", "group"]) & (summary.metric == metric)]
            hit = hit[hit.value.notna()]
            if not hit.empty:
                hit = hit.loc[[hit.ci_high.fillna(hit.value).idxmax()]]
        if hit.empty:
            rows.append(
                dict(
                    target=target,
                    limit=limit,
                    scope="",
                    name="",
                    metric=metric,
                    value=math.nan,
                    ci_low=math.nan,
                    ci_high=math.nan,
                    verdict="not measured",
                )
            )
            continue
        r = hit.iloc[0]
        floor = is_floor(target)
        high = r.ci_low if floor else r.ci_high
        high = high if math.isfinite(high) else r.value
        rows.append(
            dict(
                target=target,
                limit=float(limit),
                scope=r.scope,
                name=r["name"],
                metric=metric,
                value=float(r.value),
                ci_low=float(r.ci_low),
                ci_high=float(r.ci_high),
                verdict=_verdict(float(limit), float(r.value), float(high), floor),
            )
        )
    return pd.DataFrame(rows, columns=SLO_COLUMNS)
