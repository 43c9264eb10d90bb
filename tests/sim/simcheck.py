"""Shared tools of the sim tests: scenarios from plain data, replications, CIs, invariants.

Statistical checks are judged by Student-t intervals across independent replications
at the false-rejection rate ``ALPHA`` (fixed seeds make each outcome reproducible; a
correct engine fails one check with probability ALPHA on another seed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from qsim.scenario.schema import Scenario
from qsim.sim.engine import Replication, SimEngine
from qsim.sim.summary import replication_rows
from tests.builders import one_broker

ALPHA = 0.01
LOSS = ("completed", "dropped", "expired", "lost", "failed_final")


def scenario(
    producers: list[dict[str, Any]],
    queues: list[dict[str, Any]],
    consumers: list[dict[str, Any]],
    **options: Any,
) -> Scenario:
    """A one-broker scenario for the event engine (see :func:`tests.builders.one_broker`)."""
    return one_broker(producers, queues, consumers, engine="sim", **options)


def replicate(
    sc: Scenario, reps: int, seed: int = 1, before: Callable[[Replication], None] | None = None
) -> list[Replication]:
    """``reps`` finished replications; ``before(rep)`` may instrument each one first."""
    if before is None:
        return SimEngine().run(sc, seed=seed, replications=reps)
    from qsim.scenario.resolve import resolve

    graph = resolve(sc)
    out = []
    for r in range(reps):
        rep = Replication(sc, graph, seed, r)
        before(rep)
        rep.run()
        out.append(rep)
    return out


def values(reps: list[Replication], name: str, metric: str, scope: str = "queue") -> np.ndarray:
    """One metric of one queue (or path, producer...) across replications."""
    out = []
    for rep in reps:
        hit = [v for s, n, m, v in replication_rows(rep) if (s, n, m) == (scope, name, metric)]
        assert len(hit) == 1, f"no {scope} {name!r} metric {metric!r}"
        out.append(hit[0])
    return np.asarray(out, dtype=float)


def interval(x: np.ndarray, alpha: float = ALPHA) -> tuple[float, float]:
    """Student-t interval for the mean of replication values ``x``."""
    x = np.asarray(x, dtype=float)
    half = stats.t.ppf(1 - alpha / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return float(x.mean() - half), float(x.mean() + half)


def assert_covers(x: np.ndarray, value: float, what: str = "", alpha: float = ALPHA) -> None:
    """The t-interval of ``x`` covers ``value``."""
    lo, hi = interval(x, alpha)
    assert lo <= value <= hi, f"{what}: {value:.6g} outside [{lo:.6g}, {hi:.6g}] ({x})"


def assert_below(x: np.ndarray, y: np.ndarray, what: str = "") -> None:
    """The mean of ``x`` is below that of ``y``, with the intervals apart."""
    assert interval(x)[1] < interval(y)[0], f"{what}: {interval(x)} not below {interval(y)}"


def counts(rep: Replication, name: str) -> dict[str, int]:
    """Whole-run counters of one queue."""
    return rep.queues[name].record.counts.whole_run()


def assert_conserved(rep: Replication) -> None:
    """Every message a queue accepted is accounted for, in every queue of ``rep``.

    accepted == completed + dropped + expired + lost + failed_final + held + retry_pending,
    every arrival was accepted, rejected or is a publish still blocked, and
    dead-lettered messages are a subset of the dropped, expired and finally failed ones.
    """
    for name, q in rep.queues.items():
        c = counts(rep, name)
        held = rep.held(name)  # ready + unacked + retry_pending
        assert q.held >= 0 and q.retry_pending >= 0, name
        assert q.held == len(q) + sum(i.unacked for i in q.instances), name
        assert c["accepted"] == sum(c[k] for k in LOSS) + held, (name, c, held)
        assert c["arrived"] == c["accepted"] + c["rejected"] + len(q._blocked), (name, c)
        assert c["dead_lettered"] <= c["dropped"] + c["expired"] + c["failed_final"], (name, c)
        rec = q.record
        busy = sum(i.busy for i in q.instances)
        buffered = sum(len(i.buffer) for i in q.instances)
        assert rec.ready.value == len(q), name
        assert rec.busy.value == busy, name
        assert rec.buffered.value == buffered, name
