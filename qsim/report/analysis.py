"""What the report derives from results: load curves, the knee, where SLOs break,
outage windows, backlog bands and loss fractions.

Pure pandas/numpy on result objects (a :class:`~qsim.results.RunResult`, a sweep's tidy
DataFrame, the scenario as data); nothing here runs an engine or draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from qsim.results import growing_backlogs
from qsim.slo import evaluate_slo
from qsim.stats import replication_estimate

__all__ = [
    "LOSS_KINDS",
    "Window",
    "backlog_band",
    "first_break",
    "knee",
    "loss_fractions",
    "outage_windows",
    "slo_by_load",
    "sweep_curve",
    "unstable_loads",
]

#: Per-queue fates of messages, as fractions of the messages that arrived there.
LOSS_KINDS = {
    "rejected": "rejected (full or unavailable)",
    "dropped": "dropped (overflow)",
    "expired": "expired (TTL)",
    "lost": "lost (broker failure)",
    "dead_lettered": "dead-lettered",
    "retried": "retried",
}


def sweep_curve(sweep: pd.DataFrame, metric: str) -> pd.DataFrame:
    """``load, value, ci_low, ci_high`` of one end-to-end metric, by increasing load."""
    s = sweep[(sweep.scope == "system") & (sweep.metric == metric)]
    out = s[["load", "value", "ci_low", "ci_high"]].astype(float)
    return out.sort_values("load").reset_index(drop=True)


def unstable_loads(sweep: pd.DataFrame) -> dict[float, list[str]]:
    """Loads at which some backlog grows without bound (a queue, group, partition or
    ingress stage), with their names: the rule of :func:`qsim.results.growing_backlogs`."""
    out: dict[float, list[str]] = {}
    for load, grp in sweep.groupby("load", sort=True):
        names = sorted(growing_backlogs(grp))
        if names:
            out[float(load)] = names
    return out


def knee(loads: np.ndarray, values: np.ndarray) -> float | None:
    """The load where a rising latency curve bends upward (None if it does not).

    Notes
    -----
    Kneedle (Satopää, Albrecht, Irwin & Raghavan, "Finding a 'Kneedle' in a Haystack",
    ICDCS workshops 2011) for a convex increasing curve: scale loads and values to
    [0, 1]; the knee is the point farthest below the chord, where the normalised slope
    passes 1, i.e. where latency starts to grow faster than load. A curve within 0.1 of
    its chord everywhere (nearly linear) has no knee.
    """
    x = np.asarray(loads, dtype=float)
    y = np.asarray(values, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    xn = (x - x.min()) / np.ptp(x)
    yn = (y - y.min()) / np.ptp(y)
    gap = xn - yn
    i = int(np.argmax(gap))
    if gap[i] < 0.1 or i in (0, x.size - 1):
        return None
    return float(x[i])


class _Limits:
    """The ``slo:`` targets as :func:`qsim.slo.evaluate_slo` reads them."""

    def __init__(self, limits: dict[str, float]) -> None:
        self._limits = limits

    def model_dump(self) -> dict[str, float]:
        return dict(self._limits)


def slo_by_load(sweep: pd.DataFrame, slo: pd.DataFrame) -> pd.DataFrame:
    """The run's SLO targets judged at every load of the sweep (same rules as the run)."""
    cols = ["load", "target", "limit", "value", "ci_high", "verdict"]
    if slo.empty or sweep.empty:
        return pd.DataFrame(columns=cols)
    limits = _Limits({r.target: float(r.limit) for r in slo.itertuples()})
    frames = []
    for load, grp in sweep.groupby("load", sort=True):
        judged = evaluate_slo(limits, grp, growing_backlogs(grp))
        judged.insert(0, "load", float(load))
        frames.append(judged[cols])
    return pd.concat(frames, ignore_index=True)


def first_break(by_load: pd.DataFrame) -> list[dict[str, Any]]:
    """For each SLO target, the lowest load at which it is no longer met with confidence.

    One ``{"target", "load", "last_met"}`` per target that breaks somewhere in the sweep,
    by increasing ``load``; ``last_met`` is the highest load below it at which the target
    was met at every load up to it (None: broken already at the lowest load).
    """
    out: list[dict[str, Any]] = []
    for target, rows in by_load.groupby("target", sort=False):
        last_met = None
        for r in rows.sort_values("load").itertuples():
            if r.verdict != "met":
                out.append({"target": target, "load": float(r.load), "last_met": last_met})
                break
            last_met = float(r.load)
    return sorted(out, key=lambda b: b["load"])


@dataclass(frozen=True)
class Window:
    """A scheduled outage: what went down, when (seconds from the start), and when
    service resumed (the backup's takeover, or the end of the outage)."""

    label: str
    start: float
    end: float
    resumed: float
    takeover: bool


def outage_windows(scenario: Any) -> list[Window]:
    """Scheduled outages of broker nodes and consumer instances, by start time.

    With ``failover: primary-backup`` a node failing at t is noticed at the next health
    check, declared dead ``detection`` later and replaced ``promotion`` after that
    (:mod:`qsim.sim.failover`); if the node is back before it is declared dead nothing
    switches. Random failures (``mtbf``/``mttr``) have no fixed times and are not listed.
    """
    out: list[Window] = []
    if scenario is None:
        return out
    for b in scenario.brokers:
        for o in b.outages:
            end = o.at + o.duration
            resumed, takeover = end, False
            if b.failover is not None:
                h = b.failover.health_check
                dead = math.ceil(o.at / h) * h + b.failover.detection
                if dead < end:
                    resumed, takeover = dead + b.failover.promotion, True
            out.append(Window(f"broker {b.name} node {o.node} down", o.at, end, resumed, takeover))
    for c in scenario.consumers:
        for o in c.outages:
            who = "all instances" if o.instance is None else f"instance {o.instance}"
            end = o.at + o.duration
            out.append(Window(f"consumer {c.name}: {who} down", o.at, end, end, False))
    return sorted(out, key=lambda w: (w.start, w.label))


def backlog_band(series: pd.DataFrame, start: float, end: float, bins: int = 120) -> pd.DataFrame:
    """Messages waiting per queue over [start, end] in ``bins`` equal time bins: each
    replication's average in the bin, then the mean over replications and its 95%
    Student-t band (``name, time, mean, low, high``, time the bin's centre; the band is
    the mean itself with one replication)."""
    cols = ["name", "time", "mean", "low", "high"]
    s = series[(series.time >= start) & (series.time <= end)]
    if s.empty or not end > start:
        return pd.DataFrame(columns=cols)
    width = (end - start) / bins
    k = np.minimum(((s.time.to_numpy() - start) // width).astype(int), bins - 1)
    s = s.assign(bin=k)
    per_rep = s.groupby(["name", "bin", "replication"], sort=True)["ready"].mean()
    g = per_rep.groupby(level=["name", "bin"], sort=True)
    mean = g.mean()
    n = g.count().to_numpy()
    sd = g.std(ddof=1).fillna(0.0).to_numpy()
    from scipy.stats import t

    half = np.zeros_like(sd)
    many = n > 1
    half[many] = t.ppf(0.975, n[many] - 1) * sd[many] / np.sqrt(n[many])
    out = mean.rename("mean").reset_index()
    out["time"] = start + (out.pop("bin") + 0.5) * width
    out["low"] = np.maximum(out["mean"].to_numpy() - half, 0.0)
    out["high"] = out["mean"].to_numpy() + half
    return out[cols]


def loss_fractions(run: Any) -> pd.DataFrame:
    """Per queue (or group): each fate in :data:`LOSS_KINDS` as a fraction of arrivals,
    with its 95% CI across replications (``name, kind, value, ci_low, ci_high``)."""
    pr = run.per_replication
    pr = pr[pr.scope.isin(["queue", "group"])]
    rows = []
    for name in run.queue_names():
        mine = pr[pr.name == name].pivot_table(
            index="replication", columns="metric", values="value", aggfunc="first"
        )
        if "arrived" not in mine:
            continue
        arrived = mine["arrived"].to_numpy(dtype=float)
        for kind in LOSS_KINDS:
            if kind not in mine:
                continue
            with np.errstate(divide="ignore", invalid="ignore"):
                frac = np.where(arrived > 0, mine[kind].to_numpy(dtype=float) / arrived, np.nan)
            e = replication_estimate(frac)
            rows.append((name, kind, e.mean, max(e.ci_low, 0.0), e.ci_high))
    return pd.DataFrame(rows, columns=["name", "kind", "value", "ci_low", "ci_high"])
