"""Service-level objectives judged against simulated estimates, with confidence.

A target is **met** only when the pessimistic end of its 95% confidence interval meets
it (the upper bound for a latency, loss, dead-letter or utilization ceiling; the lower
bound for an availability floor); **uncertain** when the point estimate meets it but the
interval does not; **missed** otherwise. Response targets are end to end over all
messages (publish to final ack); wait, utilization and dead-letter targets apply to every
queue (utilization to every partition too), and availability to every broker, so the
worst one decides.

A scenario with an unstable component (a queue, group or partition whose backlog grows
without bound) has no steady-state latency: every wait and response target is then
**missed**, with the unstable component named and infinite value and interval, whatever
finite figure the run happened to end on. (A quantile target that only a small share of
the traffic could break is judged so too: conservative, and the run's verdict says why.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

__all__ = ["SLO_COLUMNS", "evaluate_slo", "is_floor", "location", "slack"]

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
#: Targets on waits and responses: no steady state when anything is unstable.
_LATENCY = frozenset(t for t in (*_SYSTEM, *_WORST_QUEUE) if t.endswith(("_response", "_wait")))


def location(scope: str, name: str, worst: str = "worst") -> str:
    """Where a verdict row was judged, for people: ``"end to end"``, ``"unstable: q"``
    or ``"<worst>: q"`` (the worst queue or broker); empty when nothing was measured."""
    if scope == "system":
        return "end to end"
    if scope == "unstable":
        return f"unstable: {name}"
    return f"{worst}: {name}" if name else ""


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


def evaluate_slo(
    slo: Any, summary: pd.DataFrame, unstable: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """One row per target of the scenario's ``slo:`` block (empty without one).

    ``unstable`` maps the components whose backlog grows without bound to their growth
    (messages/s), as :class:`qsim.results.RunResult` reports them: with any, latency
    targets are missed (see the module docs).
    """
    rows: list[dict[str, Any]] = []
    if slo is None:
        return pd.DataFrame(rows, columns=SLO_COLUMNS)
    for target, limit in slo.model_dump().items():
        if limit is None:
            continue
        if unstable and target in _LATENCY:
            name = max(unstable, key=lambda n: unstable[n])  # the fastest-growing
            rows.append(
                dict(
                    target=target,
                    limit=float(limit),
                    scope="unstable",
                    name=name,
                    metric=_SYSTEM.get(target) or _WORST_QUEUE[target],
                    value=math.inf,
                    ci_low=math.inf,
                    ci_high=math.inf,
                    verdict="missed",
                )
            )
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
            scopes = (
                ["queue", "group", "partition"] if metric == "utilization" else ["queue", "group"]
            )
            hit = summary[summary.scope.isin(scopes) & (summary.metric == metric)]
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
