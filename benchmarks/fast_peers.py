"""The fast-engine benchmark's workloads and its peers: Ciw, plain SimPy, LINE.

Each peer runs one workload for a number of messages (external arrivals) and returns
``(messages, mean wait per station visit after a 10 % warm-up)``.

- ``Ciw``: ``create_network`` + ``simulate_until_max_time`` + ``get_all_records``.
- ``SimPy``: the model as SimPy's documentation writes it: ``Resource`` objects, a
  source process, one process per customer, draws from ``random.Random``.
- ``LINE``: LINE's native discrete-event simulator (``SolverLDES``), when the
  ``line-solver`` package is installed and its simulator runs here.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable
from typing import Any

import simpy

from qsim.analytic import mmc
from qsim.scenario import Scenario

__all__ = [
    "WORKLOADS",
    "Outcome",
    "Workload",
    "ciw_model",
    "line_available",
    "line_model",
    "simpy_model",
]

Outcome = tuple[float, float]  # (messages, mean wait per station visit after the warm-up)
LN_SIGMA = math.sqrt(math.log(1 + 4.0))  # lognormal with mean 1, scv 4
LN_MU = -(LN_SIGMA**2) / 2


class Workload:
    """One benchmark model: its queues for each tool and its exact mean wait."""

    def __init__(self, name: str, rate: float, exact: float, build: Callable[[float], Any]):
        self.name, self.rate, self.exact, self.build = name, rate, exact, build


def _scenario(
    name: str,
    producers: list[dict[str, Any]],
    queues: list[str],
    consumers: list[dict[str, Any]],
    horizon: float,
    reps: int,
    seed: int,
) -> Scenario:
    return Scenario.model_validate(
        {
            "name": name,
            "seed": seed,
            "duration": horizon,
            "warmup": 0.1 * horizon,
            "replications": reps,
            "producers": producers,
            "brokers": [{"name": "b", "queues": [{"name": q} for q in queues]}],
            "consumers": consumers,
        }
    )


def _single(c: int, rate: float, service: Any) -> Callable[..., Scenario]:
    def build(horizon: float, reps: int, seed: int) -> Scenario:
        return _scenario(
            f"bench-{c}",
            [{"name": "p", "to": "q", "rate": rate}],
            ["q"],
            [{"name": "c", "queue": "q", "instances": c, "service": service}],
            horizon,
            reps,
            seed,
        )

    return build


def _tandem(horizon: float, reps: int, seed: int) -> Scenario:
    cons = [
        {
            "name": f"c{i}",
            "queue": f"q{i}",
            "service": 1.0,
            **({"publish_to": f"q{i + 1}"} if i < 2 else {}),
        }
        for i in range(3)
    ]
    return _scenario(
        "bench-tandem",
        [{"name": "p", "to": "q0", "rate": 0.8}],
        ["q0", "q1", "q2"],
        cons,
        horizon,
        reps,
        seed,
    )


def _split(horizon: float, reps: int, seed: int) -> Scenario:
    con = {
        "name": "c",
        "queue": "q",
        "instances": 10,
        "prefetch": "unlimited",
        "balancer": "random",
        "service": 1.0,
    }
    return _scenario(
        "bench-split", [{"name": "p", "to": "q", "rate": 8.0}], ["q"], [con], horizon, reps, seed
    )


WORKLOADS = [
    Workload("M/M/1", 0.9, 9.0, _single(1, 0.9, 1.0)),
    Workload(
        "M/M/4",
        3.6,
        float(mmc(arrival_rate=3.6, service_rate=1.0, servers=4).Wq),
        _single(4, 3.6, 1.0),
    ),
    Workload(
        "M/G/1 lognormal",
        0.8,
        0.8 * (1 + 4.0) / (2 * 0.2),
        _single(1, 0.8, {"dist": "lognormal", "mean": 1.0, "scv": 4.0}),
    ),
    Workload("tandem-3", 0.8, 4.0, _tandem),
    Workload("split-10", 8.0, 4.0, _split),
]


# ---- Ciw -----------------------------------------------------------------------------
def ciw_model(w: Workload, messages: int, seed: int) -> Outcome:
    import ciw

    exp = ciw.dists.Exponential
    if w.name == "tandem-3":
        net = ciw.create_network(
            arrival_distributions=[exp(rate=0.8), None, None],
            service_distributions=[exp(rate=1.0)] * 3,
            number_of_servers=[1, 1, 1],
            routing=[[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]],
        )
    elif w.name == "split-10":
        # A random split of Poisson(8) is 10 independent Poisson(0.8) streams (thinning).
        net = ciw.create_network(
            arrival_distributions=[exp(rate=0.8)] * 10,
            service_distributions=[exp(rate=1.0)] * 10,
            number_of_servers=[1] * 10,
            routing=[[0.0] * 10 for _ in range(10)],
        )
    else:
        svc = (
            ciw.dists.Lognormal(mean=LN_MU, sd=LN_SIGMA) if "lognormal" in w.name else exp(rate=1.0)
        )
        net = ciw.create_network(
            arrival_distributions=[exp(rate=w.rate)],
            service_distributions=[svc],
            number_of_servers=[4 if w.name == "M/M/4" else 1],
        )
    horizon = messages / w.rate
    ciw.seed(seed)
    sim = ciw.Simulation(net)
    sim.simulate_until_max_time(horizon)
    recs = sim.get_all_records()
    waits = [r.waiting_time for r in recs if r.arrival_date >= 0.1 * horizon]
    return w.rate * horizon, statistics.fmean(waits)


# ---- SimPy ---------------------------------------------------------------------------
def simpy_model(w: Workload, messages: int, seed: int) -> Outcome:
    rng = random.Random(seed)
    env = simpy.Environment()
    horizon = messages / w.rate
    warm = 0.1 * horizon
    waits: list[float] = []
    if w.name == "tandem-3":
        stations = [simpy.Resource(env, capacity=1) for _ in range(3)]
    elif w.name == "split-10":
        stations = [simpy.Resource(env, capacity=1) for _ in range(10)]
    else:
        stations = [simpy.Resource(env, capacity=4 if w.name == "M/M/4" else 1)]
    lognormal = "lognormal" in w.name

    def service() -> float:
        return rng.lognormvariate(LN_MU, LN_SIGMA) if lognormal else rng.expovariate(1.0)

    def visit(env: simpy.Environment, res: simpy.Resource) -> Any:
        arrived = env.now
        with res.request() as req:
            yield req
            if arrived >= warm:
                waits.append(env.now - arrived)
            yield env.timeout(service())

    def customer(env: simpy.Environment) -> Any:
        if w.name == "tandem-3":
            for res in stations:
                yield from visit(env, res)
        elif w.name == "split-10":
            yield from visit(env, stations[rng.randrange(10)])
        else:
            yield from visit(env, stations[0])

    def source(env: simpy.Environment) -> Any:
        while True:
            yield env.timeout(rng.expovariate(w.rate))
            env.process(customer(env))

    env.process(source(env))
    env.run(until=horizon)
    return w.rate * horizon, statistics.fmean(waits)


# ---- LINE (optional) -----------------------------------------------------------------
def line_model(w: Workload, messages: int, seed: int) -> Outcome:
    """LINE's native discrete-event simulator (``SolverLDES``: a compiled executable run
    as a child process; its CPU time is counted). Its event budget is service
    completions, all stations together."""
    import line_solver as ls

    ls.GlobalConstants.set_verbose(ls.VerboseLevel.SILENT)
    model = ls.Network(w.name)
    source = ls.Source(model, "Source")
    sink = ls.Sink(model, "Sink")
    job = ls.OpenClass(model, "Class1")
    source.set_arrival(job, ls.Exp(w.rate))
    n = {"tandem-3": 3, "split-10": 10}.get(w.name, 1)
    queues = [ls.Queue(model, f"Q{i}", ls.SchedStrategy.FCFS) for i in range(n)]
    for q in queues:
        if "lognormal" in w.name:
            q.set_service(job, ls.Lognormal(LN_MU, LN_SIGMA))
        else:
            q.set_service(job, ls.Exp(1.0))
        if w.name == "M/M/4":
            q.set_number_of_servers(4)
    if w.name == "split-10":
        router = ls.Router(model, "R")
        model.add_link(source, router)
        for q in queues:
            model.add_link(router, q)
            model.add_link(q, sink)
        router.set_routing(job, ls.RoutingStrategy.RAND)
    else:
        model.link(ls.Network.serial_routing(source, *queues, sink))
    visits = 3 if w.name == "tandem-3" else 1
    table = ls.LDES(model, seed=seed + 1, samples=messages * visits).avg_table()
    resp = [
        float(v)
        for name, v in zip(table["Station"], table["RespT"], strict=True)
        if str(name).startswith("Q")
    ]
    return float(messages), statistics.fmean(resp) - 1.0  # wait = response - service mean


def line_available() -> str | None:
    """LINE's version if its package imports and its simulator runs here, else None."""
    from importlib.metadata import version

    try:
        found = version("line-solver")
        line_model(WORKLOADS[0], 200, 1)
    except Exception:
        return None  # no package, or its simulator does not run here: leave it out
    return found
