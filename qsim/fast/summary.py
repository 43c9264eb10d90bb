"""A finished fast replication and its metric rows: the event engine's rows, same names.

Each row is ``(scope, name, metric, value)`` (see :mod:`qsim.sim.summary`, whose
metrics and order these follow): per queue, per path (producer -> final consumer),
per broker (availability: always 1, the class has no failures) and for the whole
system. Rates are per second over [warm-up, duration]; times in seconds.
"""

from __future__ import annotations

from qsim.fast.network import ReplicationState
from qsim.fast.record import QueueStats
from qsim.fast.values import Values
from qsim.stats.trend import backlog_growth

__all__ = ["PROBS", "SYSTEM_PROBS", "FastReplication"]

PROBS = (0.5, 0.95, 0.99)
SYSTEM_PROBS = (0.5, 0.95, 0.99, 0.999)
Row = tuple[str, str, str, float]
_ZERO = ("dropped", "expired", "dead_lettered", "lost")
_LATER = ("failed_final", "retried", "redelivered", "duplicated", "blocked")


class FastReplication:
    """One finished replication of the fast engine.

    ``series`` maps each queue to the messages ready at 400 evenly spaced times;
    ``duration`` is the simulated time (seconds); :meth:`rows` gives every metric.
    """

    def __init__(self, state: ReplicationState) -> None:
        self.duration = state.duration
        self.warmup = state.warmup
        self.stats: dict[str, QueueStats] = {
            name: state.stations[name].stats for name in state.net.queue_order
        }
        self.paths: dict[tuple[int, str], Values] = state.paths
        streams = list(self.paths.values())
        self.end_to_end = streams[0] if len(streams) == 1 else Values.merged(streams)
        self.series = {name: s.series for name, s in self.stats.items()}
        # NOTE: every quantile is found now and the value buffers go back to the pool,
        # so finished replications hold only their metrics (and the next one reuses
        # memory that is already paged in).
        self._rows = self._compute(state)
        for v in [self.end_to_end, *streams]:
            v.release()
        for st in self.stats.values():
            st.wait.release()
            st.response.release()

    def rows(self) -> list[Row]:
        """Every metric of this replication."""
        return list(self._rows)

    def _compute(self, state: ReplicationState) -> list[Row]:
        net = state.net
        system = self.end_to_end.quantiles(SYSTEM_PROBS)  # first: shared streams reuse it
        rows: list[Row] = []
        for name, st in self.stats.items():
            rows += _queue_rows(name, st, self.series[name], self.duration, self.warmup)
        names = [p.name for p in net.producers]
        for (path, consumer), stream in self.paths.items():
            label = f"{names[path]}->{consumer}"
            rows.append(("path", label, "response_mean", stream.mean()))
            for p, q in zip(PROBS, stream.quantiles(PROBS), strict=True):
                rows.append(("path", label, f"response_p{round(p * 100)}", float(q)))
            rows.append(("path", label, "count", float(stream.n)))
        rows.append(("system", "all", "response_mean", self.end_to_end.mean()))
        for p, q in zip(SYSTEM_PROBS, system, strict=True):
            rows.append(("system", "all", f"response_p{round(p * 1000) / 10:g}", float(q)))
        offered = sum(st.arrived for name, st in self.stats.items() if name in net.entry)
        lost = sum(st.arrived - st.accepted for st in self.stats.values())
        rows.append(("system", "all", "loss_rate", lost / offered if offered else 0.0))
        for broker in net.brokers:
            rows.append(("broker", broker, "availability", 1.0))
        return rows


def _queue_rows(
    name: str, st: QueueStats, series: list[int], duration: float, warmup: float
) -> list[Row]:
    span = duration - warmup
    rows: list[Row] = []

    def add(metric: str, value: float) -> None:
        rows.append(("queue", name, metric, float(value)))

    rejected = st.arrived - st.accepted
    add("throughput", st.completed / span)
    add("arrival_rate", st.arrived / span)
    busy = st.busy_area / span
    add("utilization", busy / st.servers if st.servers else float("nan"))
    add("busy_mean", busy)
    for kind, stream in (("wait", st.wait), ("response", st.response)):
        add(f"{kind}_mean", stream.mean())
        for p, q in zip(PROBS, stream.quantiles(PROBS), strict=True):
            add(f"{kind}_p{round(p * 100)}", q)
        add(f"{kind}_max", stream.max if stream.n else float("nan"))
    ready = st.ready_area / span
    add("queue_length_mean", ready)
    add("queue_length_max", st.ready_max)
    add("in_system_mean", ready + busy + st.buffered_area / span)
    counts = {"arrived": st.arrived, "accepted": st.accepted, "rejected": rejected}
    counts.update(dict.fromkeys(_ZERO, 0))
    counts["completed"] = st.completed
    counts.update(dict.fromkeys(_LATER, 0))
    for key, value in counts.items():
        add(key, value)
    add("loss_rate", rejected / st.arrived if st.arrived else 0.0)
    for key in ("rejected", "dropped", "expired", "dead_lettered", "lost", "duplicated"):
        add(f"{key}_rate", counts[key] / st.arrived if st.arrived else 0.0)
    growth = backlog_growth(series, duration)  # of the ready count
    if growth is not None:
        add("backlog_growth", growth)
    return rows
