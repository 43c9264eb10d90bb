"""Result types shared by the engines, planning, reports and the CLI.

A :class:`RunResult` holds every simulated metric as an estimate with its confidence
interval across independent replications, in one tidy DataFrame
(``scope, name, metric, value, ci_low, ci_high, level, n``), plus the per-replication
values, sampled queue-length series, the theory check, and what is needed to reproduce
the run (engine, seed, scenario hash, qsim version).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from qsim.stats import Estimate, replication_estimate

__all__ = ["RunResult", "aggregate", "growing_backlogs"]

SUMMARY_COLUMNS = ["scope", "name", "metric", "value", "ci_low", "ci_high", "level", "n"]
SIGNED_METRICS = frozenset({"backlog_growth"})


def aggregate(per_replication: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Estimates with Student-t intervals from per-replication rows.

    ``per_replication`` has columns ``replication, scope, name, metric, value``.
    """
    rows = []
    for (scope, name, metric), grp in per_replication.groupby(
        ["scope", "name", "metric"], sort=False
    ):
        e = replication_estimate(grp["value"].to_numpy(), level)
        low = e.ci_low
        if metric not in SIGNED_METRICS and low < 0:
            low = 0.0  # times, counts, rates and lengths cannot be negative
        rows.append((scope, name, metric, e.mean, low, e.ci_high, e.level, e.n))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def growing_backlogs(summary: pd.DataFrame) -> dict[str, float]:
    """Backlogs that grow without bound, by name, with their growth (messages/s), from
    a summary with one row per (scope, name, metric) (one run, or one sweep point).

    Judged on every row set with a ``backlog_growth`` (queues, consumer groups, topic
    partitions' consumer lag, broker ingress stages): growth over the second half of the
    run positive with 95% confidence and at least 1% of the arrival rate. Sets without a
    utilization (sinks such as dead-letter queues, which only fill by design) are not
    judged. Metrics are matched on scope and name together: a queue may be named like a
    partition (``events/c/p0``).
    """
    out: dict[str, float] = {}
    value = summary.set_index(["scope", "name", "metric"])["value"]
    if not value.index.is_unique:
        raise ValueError("growing_backlogs needs one row per (scope, name, metric)")
    for r in summary[summary.metric == "backlog_growth"].itertuples():
        util = value.get((r.scope, r.name, "utilization"))
        if util is None or pd.isna(util):
            continue
        rate = float(value.get((r.scope, r.name, "arrival_rate"), 0.0))
        if r.ci_low > 0 and r.value > 0.01 * rate:
            out[str(r.name)] = float(r.value)
    return out


@dataclass(frozen=True, eq=False)
class RunResult:
    """What a run of a scenario found.

    Attributes
    ----------
    scenario : str
        Scenario name.
    engine : str
        The engine that ran (``"sim"`` or ``"fast"``).
    reason : str
        Why that engine (for ``engine: auto``, the feature that kept ``fast`` out).
    seed : int
        Root seed; replication r used ``SeedSequence(seed, spawn_key=(r,))``.
    replications : int
        Independent replications.
    duration, warmup : float
        Simulated seconds per replication, and the initial part not measured.
    summary : DataFrame
        ``scope, name, metric, value, ci_low, ci_high, level, n``; scopes are
        ``queue``, ``group`` (a consumer group on a topic), ``partition``
        (``<topic>/<group>/p<k>``), ``path`` (producer -> final consumer), ``producer``,
        ``broker``, ``ingress`` (a broker's publish pipeline) and ``system``.
    per_replication : DataFrame
        ``replication, scope, name, metric, value``.
    series : DataFrame
        Sampled messages waiting per queue: ``replication, name, time, ready``.
    theory : DataFrame
        Analytic values beside simulated ones where theory is exact:
        ``name, model, metric, theory, value, ci_low, ci_high, within_ci``.
    unstable : dict
        Whatever grows without bound, by name, with the growth rate (messages/s):
        queues, consumer groups, topic partitions (their consumer lag) and broker
        ingress stages. Their latency SLO targets are missed (see :mod:`qsim.slo`).
    scenario_hash : str
        SHA-256 of the scenario's canonical JSON.
    version : str
        qsim version.
    slo : DataFrame
        The scenario's service-level objectives judged with confidence:
        ``target, limit, scope, name, metric, value, ci_low, ci_high, verdict`` where
        verdict is ``met`` (the interval's pessimistic end meets it), ``uncertain``
        (only the point estimate does) or ``missed``.
    """

    scenario: str
    engine: str
    reason: str
    seed: int
    replications: int
    duration: float
    warmup: float
    summary: pd.DataFrame
    per_replication: pd.DataFrame
    series: pd.DataFrame
    theory: pd.DataFrame
    unstable: dict[str, float]
    scenario_hash: str
    version: str
    slo: pd.DataFrame = field(default_factory=pd.DataFrame)

    # ---- lookups ----------------------------------------------------------------------
    def estimate(self, scope: str, name: str, metric: str) -> Estimate:
        """One metric as an :class:`~qsim.stats.Estimate`."""
        s = self.summary
        hit = s[(s.scope == scope) & (s.name == name) & (s.metric == metric)]
        if hit.empty:
            known = sorted(set(s[(s.scope == scope) & (s.name == name)].metric))
            raise KeyError(
                f"no metric {metric!r} for {scope} {name!r}"
                + (f"; it has {', '.join(known)}" if known else "")
            )
        r = hit.iloc[0]
        return Estimate(r.value, r.ci_low, r.ci_high, r.level, int(r.n))

    def queue(self, name: str) -> dict[str, Estimate]:
        """Every metric of one queue (or consumer group), by metric name."""
        s = self.summary
        hit = s[(s.name == name) & s.scope.isin(["queue", "group"])]
        if hit.empty:
            raise KeyError(f"no queue {name!r}; queues: {', '.join(self.queue_names())}")
        return {
            r.metric: Estimate(r.value, r.ci_low, r.ci_high, r.level, int(r.n))
            for r in hit.itertuples()
        }

    def queue_names(self) -> list[str]:
        s = self.summary
        return list(dict.fromkeys(s[s.scope.isin(["queue", "group"])].name))

    def table(self, scope: str = "queue", metrics: Iterable[str] | None = None) -> pd.DataFrame:
        """A wide table of point values: one row per name, one column per metric."""
        s = self.summary[self.summary.scope == scope]
        if metrics is not None:
            s = s[s.metric.isin(list(metrics))]
        wide = s.pivot(index="name", columns="metric", values="value")
        order = list(dict.fromkeys(s.name))
        return wide.reindex(order)

    # ---- output -----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: every metric as ``{"value", "ci_low", "ci_high"}``.

        Infinite or undefined values are written as ``null``.
        """

        def num(x: float) -> float | None:
            return float(x) if isinstance(x, (int, float)) and math.isfinite(x) else None

        def block(scope: str) -> dict[str, dict[str, dict[str, float | None]]]:
            out: dict[str, dict[str, dict[str, float | None]]] = {}
            for r in self.summary[self.summary.scope == scope].itertuples():
                out.setdefault(r.name, {})[r.metric] = {
                    "value": num(r.value),
                    "ci_low": num(r.ci_low),
                    "ci_high": num(r.ci_high),
                }
            return out

        queues = block("queue")
        queues.update(block("group"))
        for name in self.unstable:
            if name in queues:
                queues[name]["unstable"] = {"value": 1.0, "ci_low": None, "ci_high": None}
        return {
            "scenario": self.scenario,
            "engine": self.engine,
            "reason": self.reason,
            "seed": self.seed,
            "replications": self.replications,
            "duration": self.duration,
            "warmup": self.warmup,
            "confidence_level": 0.95,
            "queues": queues,
            "paths": block("path"),
            "producers": block("producer"),
            "brokers": block("broker"),
            "unstable": {k: num(v) for k, v in self.unstable.items()},
            "theory": [
                {k: (num(v) if isinstance(v, float) else v) for k, v in row.items()}
                for row in self.theory.to_dict(orient="records")
            ],
            "slo": [
                {k: (num(v) if isinstance(v, float) else v) for k, v in row.items()}
                for row in self.slo.to_dict(orient="records")
            ],
            "system": block("system").get("all", {}),
            "scenario_hash": self.scenario_hash,
            "qsim_version": self.version,
        }

    def write(self, directory: str | Path) -> list[Path]:
        """Write summary.csv, per_replication.csv, series.csv, theory.csv and summary.json."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        written = []
        for fname, frame in (
            ("summary.csv", self.summary),
            ("per_replication.csv", self.per_replication),
            ("series.csv", self.series),
            ("theory.csv", self.theory),
            ("slo.csv", self.slo),
        ):
            frame.to_csv(d / fname, index=False)
            written.append(d / fname)
        (d / "summary.json").write_text(json.dumps(self.to_json(), indent=2, allow_nan=False))
        written.append(d / "summary.json")
        return written
