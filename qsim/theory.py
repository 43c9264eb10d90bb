"""The theory check: which queues of a scenario are exactly a textbook model, and what
that model says, to stand beside the simulated values.

A queue qualifies when its arrivals are Poisson (Poisson producers, merged or fanned
out; or the departures of an upstream M/M/c without losses, by Burke's theorem), it is
FIFO without TTL, failures, retries, batching, prefetch beyond the working slots or a
broker ingress ceiling in front, and it rejects on overflow. Then it is M/M/c, M/M/c/K,
M/G/1 or M/D/1, exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from qsim.scenario.resolve import Graph

__all__ = ["TheoryModel", "exact_models", "theory_table"]

_METRICS = {
    "wait_mean": "Wq",
    "response_mean": "W",
    "queue_length_mean": "Lq",
    "in_system_mean": "L",
    "utilization": "busy_fraction",
    "loss_rate": "p_block",
    "throughput": "throughput",
}
_QUANTILES = {"wait": (0.5, 0.95, 0.99), "response": (0.5, 0.95, 0.99)}


@dataclass(frozen=True)
class TheoryModel:
    """The exact model of one queue: its name (``M/M/c``, ...) and solved metrics."""

    queue: str
    model: str
    metrics: Any  # QueueMetrics


def _has_failures(graph: Graph, queue: str, consumers: tuple[Any, ...]) -> bool:
    broker = graph.destinations[queue].broker
    if broker.failures is not None or broker.outages:
        return True
    return any(c.failures is not None or c.outages for c in consumers)


def exact_models(graph: Graph) -> dict[str, TheoryModel]:
    """The queues of the scenario that are exactly a solvable model, solved."""
    from qsim.analytic import mmc
    from qsim.analytic.mg1 import md1, mg1
    from qsim.analytic.mmck import mmck

    sc = graph.scenario
    # Poisson rate offered to each queue, or None if its arrivals are not Poisson.
    rate: dict[str, float | None] = {}
    feeders: dict[str, list[Any]] = {name: [] for name in graph.destinations}
    for p in sc.producers:
        for q in graph.route(p.to, p.routing_key):
            feeders[q].append(("producer", p))
    for c in sc.consumers:
        for d in c.publish_to:
            for q in graph.route(d, None):
                feeders[q].append(("consumer", c))
    for dest in graph.destinations.values():
        if dest.kind == "queue" and dest.spec.dead_letter:
            for q in graph.route(dest.spec.dead_letter, None):
                feeders[q].append(("dead-letter", dest))
    models: dict[str, TheoryModel] = {}
    order = [n for n, d in graph.destinations.items() if d.kind == "queue"]

    def offered(name: str, seen: frozenset[str]) -> float | None:
        if name in rate:
            return rate[name]
        if name in seen:
            return None
        total = 0.0
        for kind, obj in feeders[name]:
            if kind == "producer":
                if obj.arrival.process != "poisson":
                    return None
                total += obj.rate * sc.load
            elif kind == "consumer":
                up = obj.queue
                if up is None or up not in order:
                    return None
                m = solve(up, seen | {name})
                # Burke: an M/M/c with no losses emits a Poisson stream of its input rate.
                if m is None or m.model != "M/M/c":
                    return None
                total += float(m.metrics.throughput)
            else:
                return None
        rate[name] = total
        return total

    def solve(name: str, seen: frozenset[str] = frozenset()) -> TheoryModel | None:
        if name in models:
            return models[name]
        spec = graph.destinations[name].spec
        cons = graph.consumers_of.get(name, ())
        if (
            not cons
            or spec.ttl is not None
            or spec.ordering != "fifo"
            or spec.auto_delete
            or (spec.capacity is not None and spec.overflow != "reject")
            or _has_failures(graph, name, cons)
            # A broker ceiling in front (ingress) turns Poisson arrivals into the departures
            # of an M/D/1; a pure delay (latency only) keeps them Poisson.
            or (spec.ingress is not None and spec.ingress.ceiling is not None)
        ):
            return None
        svc = {c.service.model_dump_json() if c.service else None for c in cons}
        if len(svc) != 1 or None in svc:
            return None
        for c in cons:
            if c.batch is not None or c.fail_probability > 0 or c.ack != "manual":
                return None
            if c.prefetch is None or c.prefetch > c.concurrency:
                return None
        lam = offered(name, seen)
        if lam is None or lam <= 0:
            return None
        servers = sum(c.instances * min(c.concurrency, c.prefetch) for c in cons)
        dist = cons[0].service.build()
        if cons[0].service.dist == "exponential":
            if spec.capacity is None:
                m = TheoryModel(
                    name, "M/M/c", mmc(arrival_rate=lam, service_mean=dist.mean, servers=servers)
                )
            else:
                m = TheoryModel(
                    name,
                    "M/M/c/K",
                    mmck(
                        arrival_rate=lam,
                        service_mean=dist.mean,
                        servers=servers,
                        capacity=spec.capacity,
                    ),
                )
        elif servers == 1 and spec.capacity is None:
            if cons[0].service.dist == "deterministic":
                m = TheoryModel(name, "M/D/1", md1(arrival_rate=lam, service_mean=dist.mean))
            else:
                m = TheoryModel(name, "M/G/1", mg1(arrival_rate=lam, service=dist))
        else:
            return None
        models[name] = m
        return m

    for name in order:
        solve(name)
    return models


def theory_table(models: dict[str, TheoryModel], summary: pd.DataFrame) -> pd.DataFrame:
    """Theory beside simulation: one row per queue and metric where theory is exact."""
    rows = []
    for name, tm in models.items():
        m = tm.metrics
        vals: dict[str, float] = {k: float(getattr(m, v)) for k, v in _METRICS.items()}
        qm = m.quantile_method
        # Exact laws, and the M/G/1 numerical law (error-bounded, ~1e-8), not approximations.
        if qm is not None and not qm.startswith("approx"):
            for kind, probs in _QUANTILES.items():
                fn = getattr(m, f"{kind}_quantile")
                for p in probs:
                    vals[f"{kind}_p{round(p * 100)}"] = float(fn(p))
        for metric, theory in vals.items():
            hit = summary[(summary.name == name) & (summary.metric == metric)]
            if hit.empty:
                continue
            r = hit.iloc[0]
            within = bool(r.ci_low <= theory <= r.ci_high) if math.isfinite(theory) else False
            rows.append(
                {
                    "name": name,
                    "model": tm.model,
                    "metric": metric,
                    "theory": theory,
                    "value": float(r.value),
                    "ci_low": float(r.ci_low),
                    "ci_high": float(r.ci_high),
                    "within_ci": within,
                }
            )
    return pd.DataFrame(
        rows,
        columns=["name", "model", "metric", "theory", "value", "ci_low", "ci_high", "within_ci"],
    )
