"""The analytic bracket of a plan: how many working slots each consumer pool needs.

Internal to :mod:`qsim.planning`. For each consumer pool the plan can resize, at the planned
load:

* a **floor** that holds for any service law: with an unbounded queue, latency and
  utilization targets need ``slots > lambda m`` (else the backlog grows without bound) and
  ``slots >= lambda m / u`` for a utilization ceiling u; with a finite queue a loss target
  L needs ``slots >= lambda m (1 - L)`` (throughput cannot exceed slots / m);
* an **estimate**: the fewest slots meeting every latency, utilization and loss target by
  M/M/c or M/M/c/K (exact, with exponential service) or M/G/c (Cosmetatos /
  Allen-Cunneen, approximate); for a consumer group on a topic, where each partition
  serves one message at a time, by c separate M/M/1 or M/G/1 queues at lambda / c each
  (no pooling, even spread over partitions). The simulation can only add effects the
  model leaves out (dispatch, prefetch, key skew, retries), so it is where the search
  starts; where the pool *is* exactly an M/M/c or M/M/c/K and the only path of every
  message, it is a hard bound and everything below it is pruned without simulating;
* a **generous** bound: the same at 1.25 times the load (and at least 2 slots more), the
  search's second probe when the estimate fails.

Slots are ``instances x min(concurrency, prefetch)`` on a queue, and
``min(partitions, instances x concurrency)`` for a consumer group on a topic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qsim._plan_space import Space, scenario_at
from qsim.analytic import mgc, mm1, mmc, mmck

__all__ = ["PoolBound", "exact_pools", "headroom_hint", "masks", "pool_bounds", "slots"]

_QUANTILE = {"p50": 0.5, "p95": 0.95, "p99": 0.99, "p999": 0.999}


@dataclass(frozen=True)
class PoolBound:
    """The analytic bracket of one consumer pool (in working slots)."""

    pool: str
    source: str
    arrival_rate: float
    offered: float  # arrival rate x mean service time: busy slots needed (erlangs)
    floor: int
    estimate: int
    generous: int
    exact: bool
    model: str

    def note(self) -> str:
        kind = "hard bound" if self.exact else "starting point"
        return (
            f"{self.pool}: {self.arrival_rate:.4g} msg/s planned; slots >= {self.floor} "
            f"(capacity floor); {self.model} estimate {self.estimate} slots ({kind}), "
            f"generous {self.generous}"
        )


def slots(space: Space, scenario: Any, pool: Any) -> NDArray[np.int64]:
    """Working slots of ``pool`` at every configuration of the grid."""
    n = space.size

    def col(kind: str, name: str, field: str, default: int | None) -> NDArray[np.float64]:
        path = f"{kind}.{name}.{field}"
        if path in space.names:
            return space.values[:, space.names.index(path)].astype(np.float64)
        return np.full(n, np.inf if default is None else float(default))

    inst = col("consumers", pool.name, "instances", pool.instances)
    conc = col("consumers", pool.name, "concurrency", pool.concurrency)
    if pool.topic is not None:  # a group member works on `concurrency` partitions at once
        topic = next(t for b in scenario.brokers for t in b.topics if t.name == pool.topic)
        parts = col("topics", topic.name, "partitions", topic.partitions)
        return np.minimum(inst * conc, parts).astype(np.int64)
    pref = col("consumers", pool.name, "prefetch", pool.prefetch)
    return (inst * np.minimum(conc, pref)).astype(np.int64)


def _rates(scenario: Any, graph: Any) -> dict[str, float | None]:
    """Mean messages per second offered to each queue and topic (None: unknown).

    Producers' mean rates at the scenario's load, routed; a pool that publishes onward
    passes on what it takes in (losses and retries aside).
    """
    from qsim.scenario.build import arrival_process

    direct: dict[str, float | None] = dict.fromkeys(graph.destinations, 0.0)
    for p in scenario.producers:
        try:
            r: float | None = float(arrival_process(p, scenario.load).mean_rate)
        except Exception:  # e.g. a trace that cannot be read here: no bound for its queues
            r = None
        for q in graph.route(p.to, p.routing_key):
            cur = direct[q]
            direct[q] = None if cur is None or r is None else cur + r
    feeders: dict[str, list[str]] = {n: [] for n in graph.destinations}
    for c in scenario.consumers:
        for d in c.publish_to:
            for q in graph.route(d, None):
                feeders[q].append(c.queue or c.topic)
    memo: dict[str, float | None] = {}

    def rate(name: str, seen: frozenset[str]) -> float | None:
        if name in memo:
            return memo[name]
        if name in seen:
            return None
        total = direct[name]
        for src in feeders[name]:
            up = rate(src, seen | {name})
            total = None if total is None or up is None else total + up
        memo[name] = total
        return total

    return {n: rate(n, frozenset()) for n in graph.destinations}


def _meets(c: NDArray[np.float64], lam: float, pool: Any, queue: Any, slo: Any) -> Any:
    """Where ``c`` slots meet every target the analytic models reach, and the model name."""
    dist = pool.service.build()
    mean, scv = float(dist.mean), float(dist.scv)
    cap = getattr(queue, "capacity", None)
    ok = np.ones(c.shape, dtype=bool)
    with np.errstate(all="ignore"):
        if pool.topic is not None:
            # NOTE: a partition serves one message at a time, in order: c busy partitions
            # are c separate single-server queues at lambda / c each, not one pooled queue.
            if pool.service.dist == "exponential":
                m, model = mm1(arrival_rate=lam / c, service_mean=mean), "M/M/1 per partition"
            else:
                # NOTE: the exact M/G/1 law (qsim.analytic.mg1) costs seconds per element;
                # a starting point needs only the two-moment approximation.
                m = mgc(arrival_rate=lam / c, service_mean=mean, servers=1, service_scv=scv)
                model = "M/G/1 per partition (approximate)"
        elif pool.service.dist == "exponential":
            if cap is None:
                m, model = mmc(arrival_rate=lam, service_mean=mean, servers=c), "M/M/c"
            else:
                k = np.minimum(c, cap)
                m = mmck(arrival_rate=lam, service_mean=mean, servers=k, capacity=cap)
                model = "M/M/c/K"
                if slo.max_loss is not None:
                    ok &= np.asarray(m.p_block) <= slo.max_loss
        else:
            m = mgc(arrival_rate=lam, service_mean=mean, servers=c, service_scv=scv)
            model = "M/G/c (approximate)"
        ok &= np.asarray(m.stable, dtype=bool)
        for target, limit in slo.model_dump().items():
            if limit is None or "_" not in target:
                continue
            stat, kind = target.split("_", 1)
            if kind not in ("response", "wait"):
                continue
            if stat == "mean":
                got = np.asarray(m.Wq) + (mean if kind == "response" else 0.0)
            else:
                p = 0.99 if (stat == "p999" and kind == "wait") else _QUANTILE[stat]
                got = _quantile(m, kind, p, dist, model)
            ok &= got <= limit
        if slo.max_utilization is not None:
            ok &= lam * mean / c <= slo.max_utilization
    return ok, model


def _quantile(m: Any, kind: str, p: float, dist: Any, model: str) -> Any:
    if kind == "wait" or "approximate" not in model:
        return np.asarray(getattr(m, f"{kind}_quantile")(p))
    # NOTE: two-moment models give no response law; wait quantile + mean service, and
    # never less than the service quantile itself, is only the search's starting point.
    return np.maximum(np.asarray(m.wait_quantile(p)) + dist.mean, float(dist.ppf(p)))


def pool_bounds(scenario: Any, space: Space, exact_pools: Sequence[str] = ()) -> list[PoolBound]:
    """The bracket of every pool the plan resizes, for ``scenario`` at the planned load.

    ``exact_pools``: pools known to be exactly an M/M/c (or M/M/c/K) on every message's
    only path, whose estimate is a hard bound.
    """
    from qsim.scenario.resolve import resolve

    graph = resolve(scenario)
    rates = _rates(scenario, graph)
    slo = scenario.slo
    resized: list[Any] = []
    for c in scenario.consumers:
        touched = any(v.kind == "consumers" and v.target == c.name for v in space.variables)
        touched |= c.topic is not None and any(
            v.kind == "topics" and v.target == c.topic and v.field == "partitions"
            for v in space.variables
        )
        if touched:
            resized.append(c)
    out = []
    for pool in resized:
        src = pool.queue or pool.topic
        lam = rates.get(src)
        dest = graph.destinations[src]
        if lam is None or lam <= 0 or pool.service is None or len(graph.consumers_of[src]) > 1:
            continue
        spec = dest.spec
        cmax = int(max(slots(space, scenario, pool).max(), 1))
        mean = float(pool.service.build().mean)
        offered = lam * mean
        unbounded = (
            getattr(spec, "capacity", None) is None and getattr(spec, "max_bytes", None) is None
        )
        floor = 1
        latency = any(
            v is not None and ("response" in k or "wait" in k) for k, v in slo.model_dump().items()
        )
        if unbounded and (latency or slo.max_utilization is not None):
            floor = max(floor, math.floor(offered) + 1)
            if slo.max_utilization is not None:
                floor = max(floor, math.ceil(offered / slo.max_utilization - 1e-9))
        if not unbounded and slo.max_loss is not None:
            floor = max(floor, math.ceil(offered * (1 - slo.max_loss) - 1e-9))
        retry = pool.retry.max_retries if pool.fail_probability > 0 else 0
        attempts = sum(pool.fail_probability**k for k in range(retry + 1))
        c = np.arange(1, cmax + 1, dtype=np.float64)
        ok, model = _meets(c, lam * attempts, pool, spec, slo)
        ok1, _ = _meets(c, 1.25 * lam * attempts, pool, spec, slo)
        est = int(c[ok][0]) if ok.any() else cmax + 1
        est = max(est, floor)
        gen = max(int(c[ok1][0]) if ok1.any() else cmax + 1, est + 2)
        exact = pool.name in exact_pools and model in ("M/M/c", "M/M/c/K")
        out.append(
            PoolBound(
                pool.name,
                src,
                lam,
                offered,
                floor,
                est,
                gen,
                exact,
                model + (" exact" if exact else ""),
            )
        )
    return out


def exact_pools(base: dict[str, Any], space: Space, load: float) -> list[str]:
    """The pool whose queue is exactly M/M/c or M/M/c/K and every message's only stop.

    Checked at the cheapest and at the most generous configuration; a plan varying
    prefetch or capacity never qualifies (the model changes across the grid).
    """
    from qsim.scenario.resolve import resolve
    from qsim.theory import exact_models

    if any(v.field in ("prefetch", "capacity") for v in space.variables):
        return []
    name = None
    for i in (int(space.order[0]), space.corners()[0]):
        sc = scenario_at(base, space.variables, space.config(i), load=load, replications=2)
        g = resolve(sc)
        served = [n for n, d in g.destinations.items() if g.consumers_of.get(n)]
        if len(sc.consumers) != 1 or len(served) != 1 or sc.consumers[0].publish_to:
            return []
        q = served[0]
        if any(set(g.route(p.to, p.routing_key)) != {q} for p in sc.producers):
            return []
        model = exact_models(g).get(q)
        if model is None or model.model not in ("M/M/c", "M/M/c/K"):
            return []
        name = sc.consumers[0].name
    return [name] if name else []


def masks(
    space: Space, planned: Any, bounds: list[PoolBound]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per configuration: may meet (hard bound), estimate met (start), generous bound met."""
    hard = np.ones(space.size, dtype=bool)
    start = np.ones(space.size, dtype=bool)
    generous = np.ones(space.size, dtype=bool)
    for b in bounds:
        pool = next(c for c in planned.consumers if c.name == b.pool)
        s = slots(space, planned, pool)
        hard &= s >= (b.estimate if b.exact else b.floor)
        start &= s >= b.estimate
        generous &= s >= b.generous
    return hard, start, generous


def headroom_hint(
    space: Space, planned: Any, bounds: list[PoolBound], index: int, slo: Any
) -> float | None:
    """Load multiple where some resized pool saturates (or reaches its utilization ceiling)."""
    ceiling = slo.max_utilization or 1.0
    hints = []
    for b in bounds:
        pool = next(c for c in planned.consumers if c.name == b.pool)
        s = float(slots(space, planned, pool)[index])
        if b.offered > 0:
            hints.append(s * ceiling / b.offered)
    return min(hints) if hints else None
