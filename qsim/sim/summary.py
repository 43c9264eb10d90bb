"""Per-replication metrics of a finished replication, as tidy rows.

Each row is ``(scope, name, metric, value)``; :mod:`qsim.results` turns the rows of all
replications into estimates with confidence intervals. Rates are per second over the
measured window [warm-up, duration]; times in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from qsim.sim.brokercost import ingress_rows
from qsim.sim.engine import PROBS, SYSTEM_PROBS
from qsim.stats.trend import backlog_growth

if TYPE_CHECKING:
    from qsim.sim.engine import Replication
    from qsim.sim.recorder import QueueRecord

__all__ = ["replication_rows"]

Row = tuple[str, str, str, float]
LOSS_COUNTERS = ("rejected", "dropped", "expired", "lost", "failed_final")


def _queue_rows(name: str, rec: QueueRecord, rep: Replication, scope: str) -> list[Row]:
    now = rep.env.now
    span = now - rep.warmup
    c = rec.counts.after_warmup()
    rows: list[Row] = []

    def add(metric: str, value: float) -> None:
        rows.append((scope, name, metric, float(value)))

    add("throughput", c["completed"] / span)
    add("arrival_rate", c["arrived"] / span)
    busy = rec.busy.mean(now)
    add("utilization", busy / rec.servers if rec.servers else float("nan"))
    add("busy_mean", busy)
    for kind, stream in (("wait", rec.wait), ("response", rec.response)):
        add(f"{kind}_mean", stream.mean())
        for p, q in zip(PROBS, stream.quantiles(list(PROBS)), strict=True):
            add(f"{kind}_p{round(p * 100)}", q)
        add(f"{kind}_max", stream.max if stream.n else float("nan"))
    add("queue_length_mean", rec.ready.mean(now))
    add("queue_length_max", rec.ready.max)
    in_service = busy + rec.batch_extra.mean(now)  # messages, not slots
    add("in_system_mean", rec.ready.mean(now) + in_service + rec.buffered.mean(now))
    for key, value in c.items():
        add(key, value)
    lost = sum(c[k] for k in LOSS_COUNTERS)
    add("loss_rate", lost / c["arrived"] if c["arrived"] else 0.0)
    # Each kind of loss as a fraction of the copies offered to the queue.
    for key in ("rejected", "dropped", "expired", "dead_lettered", "lost", "duplicated"):
        add(f"{key}_rate", c[key] / c["arrived"] if c["arrived"] else 0.0)
    growth = backlog_growth(rep.series.get(name), rep.duration)  # of the ready count
    if growth is not None:
        add("backlog_growth", growth)
    return rows


def _partition_growth_rows(rep: Replication, names: Sequence[str]) -> list[Row]:
    """``backlog_growth`` of each named partition, from its sampled consumer lag."""
    rows: list[Row] = []
    for name in names:
        growth = backlog_growth(rep.lag_series.get(name), rep.duration)
        if growth is not None:
            rows.append(("partition", name, "backlog_growth", growth))
    return rows


def replication_rows(rep: Replication) -> list[Row]:
    """Every metric of one replication."""
    rows: list[Row] = []
    for name, q in rep.queues.items():
        rows += _queue_rows(name, q.record, rep, "queue")
    for t in rep.topics.values():
        for name, rec in t.records().items():
            rows += _queue_rows(name, rec, rep, "group")
        if hasattr(t, "partition_rows"):
            rows += t.partition_rows(rep)
            rows += _partition_growth_rows(rep, list(t.lag_levels()))
    rows += ingress_rows(rep)
    names = [p.name for p in rep.scenario.producers]
    for (path, consumer), stream in rep.paths.items():
        label = f"{names[path]}->{consumer}"
        rows.append(("path", label, "response_mean", stream.mean()))
        for p, q in zip(PROBS, stream.quantiles(list(PROBS)), strict=True):
            rows.append(("path", label, f"response_p{round(p * 100)}", float(q)))
        rows.append(("path", label, "count", float(stream.n)))
    for prod, stream in rep.publish_delay.items():
        stream.flush()  # ``n`` counts flushed values only
        if stream.n:
            rows.append(("producer", prod, "publish_delay_mean", stream.mean()))
            rows.append(("producer", prod, "blocked_publishes", float(stream.n)))
    # The whole system: every message's end-to-end response, and every loss.
    e2e = rep.end_to_end
    rows.append(("system", "all", "response_mean", e2e.mean()))
    for p, q in zip(SYSTEM_PROBS, e2e.quantiles(list(SYSTEM_PROBS)), strict=True):
        rows.append(("system", "all", f"response_p{round(p * 1000) / 10:g}", float(q)))
    # Loss rate: copies lost anywhere / copies producers offered to their destinations.
    entry = set()
    for p in rep.scenario.producers:
        entry.update(rep.graph.route(p.to, p.routing_key))
    offered = lost = 0
    for name, rec in rep.all_records().items():
        c = rec.counts.after_warmup()
        if name in entry or name.split("/")[0] in entry:
            offered += c["arrived"]
        lost += sum(c[k] for k in LOSS_COUNTERS)
    rows.append(("system", "all", "loss_rate", lost / offered if offered else 0.0))
    for broker, avail in rep.availability.items():
        rows.append(("broker", broker, "availability", avail()))
    return rows
