"""The tables and sentences of a plan's result: recommendation, runners-up, binding SLO,
headroom, why nothing fits, and which variables cannot move a failing target.

Internal to :mod:`qsim.planning`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import pandas as pd

from qsim._plan_bounds import PoolBound
from qsim._plan_search import Evaluation
from qsim._plan_space import Space
from qsim.scenario.schema_plan import PlanVariable

__all__ = [
    "binding_frame",
    "bounds_frame",
    "cannot_move",
    "frame",
    "headroom_frame",
    "headroom_runs",
    "recommended_frame",
    "runners_up",
    "shortfall",
    "show",
]

_LATENCY = ("response", "wait")
#: Which kinds of target each variable can move. Prefetch spreads work, it adds none:
#: loss and utilization follow capacity (unless prefetch caps the working slots).
_MOVES = {
    "instances": {"latency", "loss", "utilization", "dead_letter"},
    "concurrency": {"latency", "loss", "utilization", "dead_letter"},
    "partitions": {"latency", "loss", "utilization", "dead_letter"},
    "prefetch": {"latency", "dead_letter"},
    "capacity": {"latency", "loss", "dead_letter"},
    "nodes": {"availability", "latency", "loss"},
    "replicas": {"availability", "loss"},
}
_FAMILY = {
    "max_loss": "loss",
    "max_utilization": "utilization",
    "max_dead_letter": "dead_letter",
    "min_availability": "availability",
    "stable": "utilization",  # a growing backlog needs more capacity, whatever the target
}
_ADVICE = {
    "latency": "consumers.<pool>.instances or concurrency",
    "loss": "consumers.<pool>.instances or queues.<queue>.capacity",
    "utilization": "consumers.<pool>.instances or concurrency",
    "dead_letter": "consumers.<pool>.instances (expiry) or the retry settings",
    "availability": "brokers.<broker>.nodes or queues.<queue>.replicas (with failover)",
}


def _family(target: str) -> str:
    return "latency" if any(k in target for k in _LATENCY) else _FAMILY.get(target, target)


def show(target: str, x: float) -> str:
    """A target's value as people read it: times in ms or s, fractions as numbers."""
    if math.isnan(x):
        return "-"
    if math.isinf(x):
        return "inf"
    if _family(target) == "latency" and target != "stable":
        return f"{x * 1000:.4g} ms" if abs(x) < 1 else f"{x:.4g} s"
    if target == "stable":
        return f"{x:.4g} msg/s"
    return f"{x:.4g}"


def _config(config: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in config.items())


def _fails(row: Any) -> str:
    """One failing (or uncertain) target as a sentence."""
    t = row.target
    if t == "stable":
        return f"the backlog of {row['name']} grows by {show(t, row.value)} (unstable)"
    floor = t.startswith("min_")
    edge = row.ci_low if floor else row.ci_high
    bound = "from" if floor else "up to"
    where = f" ({row['name']})" if row.scope in ("queue", "group", "broker") else ""
    if row.verdict == "uncertain":
        return (
            f"{t}{where}: the estimate {show(t, row.value)} meets {show(t, row.limit)} but "
            f"the 95% CI reaches {show(t, edge)}"
        )
    if row.limit > 0:
        off = (row.limit - edge) / row.limit if floor else (edge - row.limit) / row.limit
        by = f", {off:.0%} {'under' if floor else 'over'}"
    else:
        by = ""
    return (
        f"{t}{where} is {show(t, row.value)} (95% CI {bound} {show(t, edge)}) against "
        f"{show(t, row.limit)}{by}"
    )


def shortfall(e: Evaluation, where: str) -> str:
    """Which SLOs fail at ``e`` and by how much, worst first."""
    bad = e.slo[e.slo.verdict != "met"].sort_values("slack")
    parts = "; ".join(_fails(r) for _, r in bad.iterrows())
    return f"{where} ({_config(e.config)}): {parts}"


def _touches(var: PlanVariable, row: Any, scenario: Any) -> bool:
    """Whether a variable acts on the queue, group or broker an SLO row is about."""
    if row.scope not in ("queue", "group", "broker"):
        return True  # end-to-end targets: any variable on the path may move them
    name = str(row["name"])
    if var.kind == "consumers":
        pool = next(c for c in scenario.consumers if c.name == var.target)
        mine = pool.queue if pool.queue else f"{pool.topic}/{pool.group or pool.name}"
        return row.scope != "broker" and name == mine
    if var.kind == "queues":
        return name == var.target or (row.scope == "broker" and _host(scenario, var) == name)
    if var.kind == "topics":
        return name.startswith(f"{var.target}/") or (
            row.scope == "broker" and _host(scenario, var) == name
        )
    broker = next(b for b in scenario.brokers if b.name == var.target)
    hosted = {d.name for d in (*broker.queues, *broker.topics)}
    return name == var.target or name in hosted or name.split("/")[0] in hosted


def _host(scenario: Any, var: PlanVariable) -> str | None:
    for b in scenario.brokers:
        if any(d.name == var.target for d in (*b.queues, *b.topics)):
            return str(b.name)
    return None


def _advice(family: str, row: Any, scenario: Any) -> str:
    """What to vary instead, with the scenario's own names where they can be told."""
    text = _ADVICE.get(family, "a capacity variable")
    name = str(row["name"]) if row.scope in ("queue", "group") else None
    pools = [c for c in scenario.consumers if name in (c.queue, f"{c.topic}/{c.group or c.name}")]
    if len(scenario.consumers) == 1 and not pools:
        pools = list(scenario.consumers)
    if pools:
        text = text.replace("<pool>", pools[0].name)
        text = text.replace("<queue>", pools[0].queue or "<queue>")
    if row.scope == "broker":
        text = text.replace("<broker>", str(row["name"]))
    return text


def cannot_move(best: Evaluation, variables: Sequence[PlanVariable], scenario: Any) -> str | None:
    """The error when a target failing everywhere is out of every variable's reach."""
    for _, row in best.slo[best.slo.verdict != "met"].sort_values("slack").iterrows():
        family = _family(row.target)
        movers = []
        for var in variables:
            moves = set(_MOVES[var.field])
            if var.field == "prefetch":
                pool = next(c for c in scenario.consumers if c.name == var.target)
                if var.choices[0] < pool.concurrency:  # prefetch below concurrency caps slots
                    moves |= {"loss", "utilization"}
            if family in moves and _touches(var, row, scenario):
                movers.append(var.set)
        if not movers:
            names = ", ".join(v.set for v in variables)
            what = (
                f"the stability of {row['name']}"
                if row.target == "stable"
                else f"{row.target} ({row.metric})"
            )
            return (
                f"the plan's variables ({names}) cannot change {what}, which fails at "
                f"every configuration tried: {_fails(row)} "
                f"at {_config(best.config)}; add a variable that moves it, such as "
                f"{_advice(family, row, scenario)}"
            )
    return None


def recommended_frame(space: Space, index: int | None) -> pd.DataFrame:
    """One row: the value of every variable, then ``cost_per_hour`` (no rows: infeasible)."""
    cols = [*space.names, "cost_per_hour"]
    if index is None:
        return pd.DataFrame(columns=cols)
    return pd.DataFrame([[*space.values[index].tolist(), float(space.cost[index])]], columns=cols)


def binding_frame(e: Evaluation) -> pd.DataFrame:
    out = e.slo.sort_values("slack", kind="stable").reset_index(drop=True)
    out["binding"] = out.index == 0
    return out


def runners_up(
    evaluations: list[Evaluation],
    space: Space,
    winner: int | None,
    pruned: Sequence[tuple[int, str]] = (),
    n: int = 5,
) -> pd.DataFrame:
    """Evaluated configurations nearest the winner in cost, and why each lost.

    ``pruned``: configurations settled without simulating (just below the winner), with
    the reason, listed first.
    """
    latest: dict[int, Evaluation] = {}
    for e in evaluations:
        if e.phase != "headroom" and (
            e.index not in latest or e.replications >= latest[e.index].replications
        ):
            latest[e.index] = e
    cost = space.cost[winner] if winner is not None else math.inf
    others = [e for i, e in latest.items() if i != winner]
    cheaper = sorted((e for e in others if not e.meets), key=lambda e: -e.cost)[: n - 2]
    dearer = sorted((e for e in others if e.meets), key=lambda e: e.cost)[:2]
    chosen = sorted([*cheaper, *dearer], key=lambda e: e.cost)
    rows: list[dict[str, Any]] = [
        {
            **space.config(i),
            "cost_per_hour": float(space.cost[i]),
            "extra_cost": float(space.cost[i]) - cost,
            "meets": False,
            "target": "",
            "why": why,
        }
        for i, why in pruned
    ]
    for e in chosen:
        worst = e.worst()
        if e.meets:
            why = f"meets every SLO but costs {e.cost - cost:.4g}/h more"
        else:
            why = ("failed confirmation: " if e.phase == "confirm" else "") + _fails(worst)
        rows.append(
            {
                **e.config,
                "cost_per_hour": e.cost,
                "extra_cost": e.cost - cost if winner is not None else math.nan,
                "meets": e.meets,
                "target": worst.target,
                "why": why,
            }
        )
    cols = [*space.names, "cost_per_hour", "extra_cost", "meets", "target", "why"]
    return pd.DataFrame(rows, columns=cols).sort_values("cost_per_hour", kind="stable")


def headroom_runs(
    evaluations: list[Evaluation], winner: Evaluation | None, load: float
) -> pd.DataFrame:
    """The load bisection, by load: the multiple, the load, the verdict, the worst target."""
    cols = ["load_multiple", "load", "meets", "target", "value", "ci_high", "limit", "verdict"]
    runs = [winner] if winner is not None else []
    runs += [e for e in evaluations if e.phase == "headroom"]
    rows = []
    for e in sorted(runs, key=lambda e: e.load_multiple):
        w = e.worst()
        rows.append(
            {
                "load_multiple": e.load_multiple,
                "load": e.load_multiple * load,
                "meets": e.meets,
                **{k: w[k] for k in ("target", "value", "ci_high", "limit", "verdict")},
            }
        )
    return pd.DataFrame(rows, columns=cols)


def headroom_frame(
    runs: pd.DataFrame, meets_at: float, breaks_at: float, tolerance: float, load: float
) -> pd.DataFrame:
    """One row: ``headroom`` (meets every SLO up to this multiple of the planned load),
    ``breaks_at``, ``tolerance``, the loads as multiples of today's rates, and the target
    that breaks first with its value there."""
    cols = ["headroom", "breaks_at", "tolerance", "load_at_headroom", "load_at_break"]
    cols += ["breaks", "value", "ci_high", "limit"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    broke = runs[(runs.load_multiple == breaks_at) & ~runs.meets]
    first = broke.iloc[0] if not broke.empty else None
    row = [meets_at, breaks_at, tolerance, meets_at * load, breaks_at * load]
    row += [first[k] if first is not None else None for k in ("target", "value", "ci_high")]
    row += [first["limit"] if first is not None else None]
    return pd.DataFrame([row], columns=cols)


def bounds_frame(bounds: list[PoolBound]) -> pd.DataFrame:
    cols = ["pool", "source", "arrival_rate", "offered", "floor", "estimate", "generous"]
    return pd.DataFrame([asdict(b) for b in bounds], columns=[*cols, "exact", "model"])


def frame(evaluations: list[Evaluation], names: tuple[str, ...]) -> pd.DataFrame:
    """Every evaluation, tidy: one row per evaluation and target."""
    parts = []
    for e in evaluations:
        rows = e.slo.copy()
        head: dict[str, Any] = {"evaluation": e.id, "phase": e.phase}
        head.update({n: e.config[n] for n in names})
        head.update(
            cost_per_hour=e.cost,
            load_multiple=e.load_multiple,
            replications=e.replications,
            seed=e.seed,
            engine=e.engine,
            meets=e.meets,
        )
        for k, v in reversed(head.items()):
            rows.insert(0, k, v)
        parts.append(rows)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
