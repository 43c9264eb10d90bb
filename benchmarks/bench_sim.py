"""Simulator: qsim's event-driven engine against Ciw and plain SimPy on the same M/M/c.

Every peer runs in this process, on this machine, on the same model: Poisson arrivals,
exponential service (mean 1 s), c FIFO servers, unbounded queue, the same simulated
time; repeats are interleaved so drift hits all alike.

- ``qsim engine``: one :class:`qsim.sim.engine.Replication` built and run: the event
  loop and the streaming recorders, without the summary.
- ``qsim run()``: :func:`qsim.engines.run` end to end: scenario resolution, the
  replication, per-replication metrics with quantiles, CIs and the theory table.
- ``Ciw``: ``create_network`` + ``Simulation.simulate_until_max_time`` +
  ``get_all_records`` (how Ciw's docs get waiting times).
- ``SimPy``: the model as SimPy's documentation writes it: a ``Resource`` with c slots,
  a source process, one process per customer (``with res.request() as req``), draws
  from ``random.Random.expovariate``.

Throughput is messages completed per CPU second (``time.process_time``, so other load on
the machine does not count), the median over repeats. Each repeat uses a fresh seed;
the mean wait pools the messages that arrived after the warm-up (the first 10% of the
run) and is shown with a 95% t-interval across the repeats, beside the exact M/M/c Wq.
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import simpy
from scipy import stats

from qsim.analytic import mmc
from qsim.engines import run as qsim_run
from qsim.scenario import Scenario
from qsim.scenario.resolve import resolve
from qsim.sim.engine import Replication

Outcome = tuple[int, float]  # (messages completed, mean wait after the warm-up)
RHO = 0.9
MODELS = ((1, RHO), (4, RHO))  # (servers, utilization), service rate 1/s


def _scenario(c: int, lam: float, horizon: float, seed: int) -> Scenario:
    return Scenario(
        name=f"bench-mm{c}",
        seed=seed,
        engine="sim",
        duration=horizon,
        warmup=0.1 * horizon,
        replications=1,
        producers=[{"name": "p", "to": "q", "rate": lam}],
        brokers=[{"name": "b", "queues": [{"name": "q"}]}],
        consumers=[{"name": "c", "queue": "q", "instances": c, "service": 1.0}],
    )


def _qsim_engine(c: int, lam: float, horizon: float, seed: int) -> Outcome:
    sc = _scenario(c, lam, horizon, seed)
    rep = Replication(sc, resolve(sc), seed, 0)
    rep.run()
    rec = rep.queues["q"].record
    return rec.counts.completed, rec.wait.mean()


def _qsim_run(c: int, lam: float, horizon: float, seed: int) -> Outcome:
    r = qsim_run(_scenario(c, lam, horizon, seed))
    # The summary counts from the warm-up on; the whole-run count is the engine's for
    # the same seed (same seed, same messages), which run() below checks by the wait.
    return -1, r.queue("q")["wait_mean"].mean


def _ciw(c: int, lam: float, horizon: float, seed: int) -> Outcome:
    import ciw

    net = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=lam)],
        service_distributions=[ciw.dists.Exponential(rate=1.0)],
        number_of_servers=[c],
    )
    ciw.seed(seed)
    sim = ciw.Simulation(net)
    sim.simulate_until_max_time(horizon)
    recs = sim.get_all_records()
    warm = 0.1 * horizon
    waits = [r.waiting_time for r in recs if r.arrival_date >= warm]
    return len(recs), statistics.fmean(waits)


def _simpy(c: int, lam: float, horizon: float, seed: int) -> Outcome:
    rng = random.Random(seed)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=c)
    warm = 0.1 * horizon
    waits: list[float] = []
    done = [0]

    def customer(env: simpy.Environment) -> Any:
        arrived = env.now
        with servers.request() as req:
            yield req
            if arrived >= warm:
                waits.append(env.now - arrived)
            yield env.timeout(rng.expovariate(1.0))
        done[0] += 1

    def source(env: simpy.Environment) -> Any:
        while True:
            yield env.timeout(rng.expovariate(lam))
            env.process(customer(env))

    env.process(source(env))
    env.run(until=horizon)
    return done[0], statistics.fmean(waits)


def _peers() -> tuple[dict[str, Callable[[int, float, float, int], Outcome]], str]:
    peers = {"qsim engine": _qsim_engine, "qsim run()": _qsim_run}
    versions = []
    try:
        import ciw
    except ImportError:
        pass
    else:
        peers["Ciw"] = _ciw
        versions.append(f"Ciw {ciw.__version__}")
    peers["SimPy"] = _simpy
    versions.append(f"SimPy {simpy.__version__}")
    return peers, ", ".join(versions)


def _interval(x: list[float]) -> str:
    if len(x) < 2:
        return f"{x[0]:.3f}"
    half = float(stats.t.ppf(0.975, len(x) - 1)) * statistics.stdev(x) / math.sqrt(len(x))
    return f"{statistics.fmean(x):.3f} +- {half:.3f}"


def run(messages: int = 60_000, repeats: int = 5) -> list[str]:
    """Benchmark lines: msg/s, ratios and mean waits for each model and peer."""
    peers, versions = _peers()
    for fn in peers.values():  # warm-up: lazy imports and first-call costs
        fn(2, 1.0, 50.0, 0)
    lines = []
    for c, rho in MODELS:
        lam = rho * c
        horizon = messages / lam
        exact = float(mmc(arrival_rate=lam, service_rate=1.0, servers=c).Wq)
        rates: dict[str, list[float]] = {k: [] for k in peers}
        waits: dict[str, list[float]] = {k: [] for k in peers}
        for rep in range(repeats):
            engine_done = 0
            for name, fn in peers.items():
                t0 = time.process_time()
                done, wait = fn(c, lam, horizon, 1_000 + rep)
                cpu = time.process_time() - t0
                if name == "qsim engine":
                    engine_done = done
                elif name == "qsim run()":
                    # same seed, same messages: run() must see the engine's exact waits
                    assert math.isclose(wait, waits["qsim engine"][-1], rel_tol=1e-12)
                    done = engine_done
                rates[name].append(done / cpu)
                waits[name].append(wait)
        med = {k: statistics.median(v) for k, v in rates.items()}
        lines.append(
            f"## Simulator: M/M/{c} at rho {rho} (mu = 1/s), {horizon:,.0f} s simulated "
            f"(~{messages:,} messages) per run; msg/s = completed / CPU s, median of "
            f"{repeats} interleaved repeats; peers {versions}"
        )
        for name in peers:
            lines.append(
                f"  {name:<12} {med[name]:>10,.0f} msg/s   mean wait "
                f"{_interval(waits[name])} s (exact M/M/{c} Wq {exact:.3f} s)"
            )
        for ours in ("qsim engine", "qsim run()"):
            ratios = [
                f"{ours} / {peer}: {med[ours] / med[peer]:.2f}x"
                for peer in ("Ciw", "SimPy")
                if peer in med
            ]
            lines.append("  ratio " + "; ".join(ratios))
        if "Ciw" not in peers:
            lines.append("  Ciw not installed: pip install -e '.[bench]' to compare with it")
    return lines
