"""The broker's own work per message: an ingress stage in front of a queue or a partition.

A queue or topic with ``ingress: {ceiling, latency}`` (stated, or from a component model,
see ``models/``) gets a stage between the publishers and the destination:

* every published copy first waits ``latency`` seconds (persistence, replication), then
  passes a FIFO single server that spends ``1 / ceiling`` seconds on it (the queue process,
  the partition leader), then is offered to the queue (partition): its capacity, overflow
  and availability rules apply there, at that moment. Delay then server gives the same
  departure times as server then delay (a constant delay shifts a FIFO queue's departures
  by itself), and lets the server alone hold back on backpressure;
* a topic gets one stage per partition; the partition is chosen on arrival;
* the destination never takes in more than ``ceiling`` per second; at low load a message
  spends ``1 / ceiling + latency`` there, and near the ceiling it also waits its turn
  (an M/D/1 wait for Poisson arrivals);
* the stage's backlog stands for the messages held in publishers' buffers and broker
  channels while the queue process is busy (RabbitMQ's flow control, Kafka producer
  batches): unbounded, and not counted in the queue's own length, wait or capacity;
* ``overflow: block``: when the queue refuses a copy, the stage stops until the queue takes
  it, and publishes to the stage meanwhile make their producers wait;
* while the destination is unavailable (its node down), new publishes go straight to it
  and are rejected there; copies already inside the stage are offered when they come out
  and are rejected then if it is still down (unconfirmed publishes).

Not modelled: retries coming back and nack-requeues (they re-enter the queue directly, as
in RabbitMQ a requeue does not go through the publishing path), per-message size effects,
a cost on delivery or acknowledgement, CPU shared by the queues of one node.

Per replication the stages report (scope ``ingress``, name ``<queue>/ingress`` or
``<topic>/p<k>/ingress``): ``arrival_rate``, ``throughput``, ``utilization`` (the server's
busy fraction), ``backlog_mean``, ``backlog_max``, ``delay_mean`` (seconds from publish to
reaching the destination) and ``backlog_growth`` (their trend over the second half).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simpy.events import Timeout

from qsim.sim.recorder import Level
from qsim.stats.trend import backlog_growth

if TYPE_CHECKING:
    import simpy

    from qsim.sim.message import Message

__all__ = ["Stage", "TopicIngress", "ingress_rows", "install_ingress", "stages"]

Row = tuple[str, str, str, float]


class Stage:
    """Constant delay, then a FIFO single server with a deterministic service time.

    Parameters
    ----------
    env : simpy.Environment
        The replication's clock.
    name : str
        Name in reports and series (``orders/ingress``).
    service, latency : float
        Seconds of server time per message (0: no ceiling) and of delay before it.
    hand : callable
        Offers a message to the destination; returns an event to wait on when the
        destination holds it back (``overflow: block``), else None.
    available : callable
        Whether the destination takes publishes now.
    warmup : float
        Start of the measured window, seconds.
    """

    __slots__ = (
        "_at_warmup",
        "_available",
        "_busy",
        "_fifo",
        "_hand",
        "_stall",
        "arrived",
        "busy",
        "delay_n",
        "delay_total",
        "env",
        "latency",
        "name",
        "passed",
        "ready",
        "service",
        "warmup",
    )

    def __init__(
        self,
        env: simpy.Environment,
        name: str,
        service: float,
        latency: float,
        hand: Callable[[Message], Any],
        available: Callable[[], bool],
        warmup: float,
    ) -> None:
        self.env = env
        self.name = name
        self.service = service
        self.latency = latency
        self._hand = hand
        self._available = available
        self.warmup = warmup
        self._fifo: deque[tuple[Message, float]] = deque()  # waiting or in service (head)
        self._busy = False
        self._stall: simpy.Event | None = None  # the destination's block event
        self.ready = Level(warmup)  # messages inside the stage (the series sampler reads it)
        self.busy = Level(warmup)  # 1 while the server works
        self.arrived = 0
        self.passed = 0
        self.delay_total = 0.0
        self.delay_n = 0
        self._at_warmup = (0, 0)

    def offer(self, msg: Message) -> simpy.Event | None:
        """A published copy arrives; returns an event to wait on while the stage is stopped."""
        if not self._available():
            return self._hand(msg)  # rejected (and counted) by the destination
        now = self.env.now
        self.arrived += 1
        self.ready.change(1, now)
        if self.latency > 0:
            ev = Timeout(self.env, self.latency, (msg, now))
            ev.callbacks.append(self._delayed)
        else:
            self._fifo.append((msg, now))
            self._pump()
        return self._stall

    def _delayed(self, ev: Timeout) -> None:
        self._fifo.append(ev._value)
        self._pump()

    def _pump(self) -> None:
        """Start the server, or (without a ceiling) pass messages on, while nothing stops it."""
        while self._fifo and self._stall is None and not self._busy:
            if self.service > 0:
                self._busy = True
                self.busy.change(1, self.env.now)
                Timeout(self.env, self.service).callbacks.append(self._done)
                return
            self._pass(*self._fifo.popleft())

    def _done(self, _ev: Timeout) -> None:
        self._busy = False
        self.busy.change(-1, self.env.now)
        self._pass(*self._fifo.popleft())
        self._pump()

    def _pass(self, msg: Message, entered: float) -> None:
        now = self.env.now
        self.ready.change(-1, now)
        self.passed += 1
        if entered >= self.warmup:
            self.delay_total += now - entered
            self.delay_n += 1
        wait = self._hand(msg)
        if wait is not None:
            self._stall = wait
            wait.callbacks.append(self._resume)

    def _resume(self, _ev: Any) -> None:
        self._stall = None
        self._pump()

    def mark_warmup(self) -> None:
        self._at_warmup = (self.arrived, self.passed)
        self.ready.reset_max()

    def rows(self, now: float, span: float, series: list[int] | None, duration: float) -> list[Row]:
        """This stage's metrics over [warm-up, now]."""
        arrived, passed = self._at_warmup
        values = {
            "arrival_rate": (self.arrived - arrived) / span,
            "throughput": (self.passed - passed) / span,
            "utilization": self.busy.mean(now),
            "backlog_mean": self.ready.mean(now),
            "backlog_max": float(self.ready.max),
            "delay_mean": self.delay_total / self.delay_n if self.delay_n else float("nan"),
        }
        growth = backlog_growth(series, duration)  # as for queues
        if growth is not None:
            values["backlog_growth"] = growth
        return [("ingress", self.name, k, float(v)) for k, v in values.items()]


class TopicIngress:
    """One stage per partition of a topic; publishes pick the partition on arrival."""

    def __init__(self, rep: Any, topic: Any, service: float, latency: float) -> None:
        self.topic = topic

        def hand(p: int) -> Callable[[Message], None]:
            return lambda msg: topic.offer_to(msg, p)

        self.stages = [
            Stage(
                rep.env,
                f"{topic.name}/p{p}/ingress",
                service,
                latency,
                hand(p),
                lambda: bool(topic.available),
                rep.warmup,
            )
            for p in range(topic.partitions)
        ]

    def offer(self, msg: Message) -> simpy.Event | None:
        if not self.topic.groups:
            return None  # nobody reads the topic: the log keeps it, nobody waits
        return self.stages[self.topic.partition_of(msg)].offer(msg)


def install_ingress(rep: Any) -> dict[str, Any]:
    """The ingress stages of a replication's queues and topics, by destination name.

    The engine offers publishes to these instead of the destinations themselves.
    """
    out: dict[str, Any] = {}
    for name, dest in rep.graph.destinations.items():
        spec = getattr(dest.spec, "ingress", None)
        if spec is None or not spec.active:
            continue
        if name in rep.queues:
            q = rep.queues[name]
            out[name] = Stage(
                rep.env,
                f"{name}/ingress",
                spec.service,
                spec.latency,
                q.offer,
                lambda q=q: q.available and not q.deleted,
                rep.warmup,
            )
        elif name in rep.topics:
            out[name] = TopicIngress(rep, rep.topics[name], spec.service, spec.latency)
    if out and rep.warmup > 0:
        every = stages(out)
        Timeout(rep.env, rep.warmup).callbacks.append(lambda _ev: [s.mark_warmup() for s in every])
    return out


def stages(ingress: dict[str, Any]) -> list[Stage]:
    """Every stage, queues' and partitions', in a fixed order."""
    out: list[Stage] = []
    for item in ingress.values():
        out.extend(item.stages if isinstance(item, TopicIngress) else [item])
    return out


def ingress_rows(rep: Any) -> list[Row]:
    """Rows ``(scope, name, metric, value)`` of every stage of a finished replication."""
    ingress = getattr(rep, "ingress", None)
    if not ingress:
        return []
    now = rep.env.now
    span = now - rep.warmup
    rows: list[Row] = []
    for s in stages(ingress):
        rows += s.rows(now, span, rep.series.get(s.name), rep.duration)
    return rows
