"""Engines behind one narrow protocol, and ``engine: auto`` selection with its reason.

An engine has ``name``, ``supports(scenario) -> str | None`` (None: it can run it;
otherwise the first feature it cannot) and ``run(scenario, *, seed, replications,
progress)``. :func:`run` picks the engine, runs it, and assembles the
:class:`~qsim.results.RunResult`: estimates with confidence intervals, the theory
check and the instability verdicts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Protocol

import pandas as pd

from qsim._rng import fresh_seed
from qsim.errors import EngineNotApplicable
from qsim.fast import FastEngine
from qsim.results import RunResult, aggregate, growing_backlogs
from qsim.scenario.resolve import resolve
from qsim.sim import SimEngine
from qsim.slo import evaluate_slo
from qsim.theory import exact_models, theory_table

__all__ = ["Engine", "run", "select_engine"]


class Engine(Protocol):
    """What every engine offers.

    ``run`` returns one finished object per replication, each with ``rows()`` (tidy
    ``(scope, name, metric, value)`` tuples, the metrics of :mod:`qsim.sim.summary`),
    ``series`` (sampled messages waiting per queue: name -> list) and ``duration``.
    """

    name: str

    def supports(self, scenario: Any) -> str | None: ...

    def run(
        self,
        scenario: Any,
        *,
        seed: int,
        replications: int,
        progress: Callable[[int, int], None] | None = None,
    ) -> Any: ...


ENGINES: dict[str, Engine] = {"sim": SimEngine(), "fast": FastEngine()}


def select_engine(scenario: Any, requested: str | None = None) -> tuple[Engine, str]:
    """The engine to run and why.

    ``requested`` (or the scenario's ``engine:``) is ``auto``, ``sim`` or ``fast``.
    """
    want = requested or scenario.engine
    sim = ENGINES["sim"]
    sim_why = sim.supports(scenario)
    if want == "sim":
        if sim_why is not None:
            raise EngineNotApplicable(f"the sim engine cannot run this scenario: {sim_why}")
        return sim, "requested"
    fast = ENGINES.get("fast")
    if want == "fast":
        if fast is None:
            raise EngineNotApplicable("the fast engine is not part of this qsim build yet")
        why = fast.supports(scenario)
        if why is not None:
            raise EngineNotApplicable(f"the fast engine cannot run this scenario: {why}")
        return fast, "requested"
    if fast is not None:
        why = fast.supports(scenario)
        if why is None:
            return fast, "auto: every feature is inside the fast engine's class"
        if sim_why is not None:
            raise EngineNotApplicable(f"no engine can run this scenario: {sim_why}; {why}")
        return sim, f"auto: {why}"
    if sim_why is not None:
        raise EngineNotApplicable(f"no engine can run this scenario: {sim_why}")
    return sim, "auto: the event-driven engine"


def scenario_hash(scenario: Any) -> str:
    """SHA-256 of the scenario's canonical JSON."""
    return hashlib.sha256(scenario.model_dump_json().encode()).hexdigest()


def run(
    scenario: Any,
    *,
    engine: str | None = None,
    seed: int | None = None,
    replications: int | None = None,
    duration: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Run a scenario and return its results with 95% confidence intervals.

    Parameters
    ----------
    scenario : Scenario
        A loaded or hand-built :class:`qsim.scenario.Scenario`.
    engine : str, optional
        ``auto``, ``sim`` or ``fast``; default the scenario's ``engine``.
    seed, replications, duration : optional
        Override the scenario's values (duration in seconds).
    progress : callable, optional
        Called as ``progress(done, total)`` after each replication.
    """
    from qsim import __version__

    updates: dict[str, Any] = {}
    if replications is not None:
        updates["replications"] = replications
    if duration is not None:
        updates["duration"] = duration
        if scenario.warmup >= duration:
            updates["warmup"] = 0.0
    if updates:
        # exclude_unset: re-validating defaults that depend on other fields (ack: auto has
        # no prefetch) would refuse a scenario the user never wrote them into.
        data = {**scenario.model_dump(exclude_unset=True), **updates}
        scenario = type(scenario).model_validate(data)
    root = scenario.seed if seed is None else seed
    if root is None:
        root = fresh_seed()
    eng, reason = select_engine(scenario, engine)
    reps = eng.run(scenario, seed=root, replications=scenario.replications, progress=progress)
    rows = []
    series = []
    for r, rep in enumerate(reps):
        rows += [(r, *row) for row in rep.rows()]
        dt = rep.duration / max(len(next(iter(rep.series.values()), [])), 1)
        for name, values in rep.series.items():
            series += [(r, name, i * dt, v) for i, v in enumerate(values)]
    per_rep = pd.DataFrame(rows, columns=["replication", "scope", "name", "metric", "value"])
    summary = aggregate(per_rep)
    models = exact_models(resolve(scenario))
    theory = theory_table(models, summary)
    unstable = _unstable(summary, models)
    slo = evaluate_slo(scenario.slo, summary, unstable)
    return RunResult(
        scenario=scenario.name,
        engine=eng.name,
        reason=reason,
        seed=int(root),
        replications=scenario.replications,
        duration=float(scenario.duration),
        warmup=float(scenario.warmup),
        summary=summary,
        per_replication=per_rep,
        series=pd.DataFrame(series, columns=["replication", "name", "time", "ready"]),
        theory=theory,
        unstable=unstable,
        scenario_hash=scenario_hash(scenario),
        version=__version__,
        slo=slo,
    )


def _unstable(summary: pd.DataFrame, models: dict[str, Any]) -> dict[str, float]:
    """Backlogs that grow without bound, by name, with the growth (messages/s): those
    :func:`qsim.results.growing_backlogs` finds, and the queues theory calls unstable
    (utilization >= 1 with no capacity) whatever the run's growth estimate."""
    out = growing_backlogs(summary)
    growth = summary[(summary.scope == "queue") & (summary.metric == "backlog_growth")]
    for r in growth.itertuples():
        model = models.get(r.name)
        if model is not None and not bool(model.metrics.stable):
            out.setdefault(str(r.name), float(r.value))
    return out
