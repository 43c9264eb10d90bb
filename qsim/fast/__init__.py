"""The fast engine: FIFO stations with static routing, by vectorised recursions.

Scenarios whose dynamics reduce to FIFO queues fed by producers, pipelines
(``publish_to``), fanout exchanges and static balancers (see
:func:`qsim.fast.graph.unsupported` for the class) are computed from whole arrays of
arrival and service times: the Lindley recursion in closed form for single servers,
the Kiefer-Wolfowitz recursion for several, compiled with numba when it is installed
(identical numbers without it). Each replication yields the same metric rows as the
event engine (:mod:`qsim.sim.summary`), so results, confidence intervals, the theory
check and SLO verdicts are assembled the same way.

Examples
--------
>>> from qsim.scenario import Scenario
>>> sc = Scenario(
...     name="mm1", seed=1, duration="2000s", warmup="200s", replications=2,
...     producers=[{"name": "p", "to": "q", "rate": "9/s"}],
...     brokers=[{"name": "b", "queues": [{"name": "q"}]}],
...     consumers=[{"name": "c", "queue": "q", "service": "100ms"}],
... )
>>> FastEngine().supports(sc) is None
True
>>> reps = FastEngine().run(sc, seed=1, replications=2)
>>> rows = {(s, n, m): v for s, n, m, v in reps[0].rows()}
>>> 0.5 < rows["queue", "q", "wait_mean"] < 1.5   # M/M/1 at rho 0.9: Wq = 0.9 s
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qsim.fast.graph import build_network, unsupported
from qsim.fast.network import simulate
from qsim.fast.summary import FastReplication

__all__ = ["FastEngine", "FastReplication"]


class FastEngine:
    """The vectorised engine: FIFO stations with static routing (see module docs)."""

    name = "fast"

    def supports(self, scenario: Any) -> str | None:
        """None if the fast engine can run ``scenario``; else the first feature outside
        its class, in plain words (e.g. ``"ttl on queue 'orders'"``)."""
        return unsupported(scenario)

    def run(
        self,
        scenario: Any,
        *,
        seed: int,
        replications: int,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[FastReplication]:
        """Run ``replications`` independent replications; returns them, finished.

        Replication r draws from ``SeedSequence(seed, spawn_key=(r,))`` as in the event
        engine. Raises ValueError naming the feature when the scenario is outside the
        class.
        """
        net = build_network(scenario)
        return simulate(
            net,
            int(seed),
            int(replications),
            float(scenario.warmup),
            float(scenario.duration),
            FastReplication,
            progress=progress,
        )
