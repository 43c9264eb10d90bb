"""Objects the engines build from scenario specs, shared so both engines agree."""

from __future__ import annotations

from typing import Any

import numpy as np

from qsim import arrivals

__all__ = ["arrival_process"]


def arrival_process(spec: Any, load: float) -> arrivals.ArrivalProcess:
    """The :mod:`qsim.arrivals` process a scenario producer states, scaled by ``load``."""
    a = spec.arrival
    kind = a.process
    proc: arrivals.ArrivalProcess
    if kind == "poisson":
        proc = arrivals.Poisson(rate=spec.rate)
    elif kind == "deterministic":
        proc = arrivals.Deterministic(rate=spec.rate)
    elif kind == "mmpp":
        n = len(a.states)
        leave = np.array([s.leave_rate for s in a.states])
        if a.transitions is None:
            p = (np.ones((n, n)) - np.eye(n)) / (n - 1)
        else:
            p = np.array(a.transitions, dtype=float)
        q = p * leave[:, None]
        np.fill_diagonal(q, -leave)
        proc = arrivals.MMPP(rates=[s.rate for s in a.states], generator=q)
    elif kind == "piecewise":
        proc = arrivals.PiecewiseRate(
            starts=[s.at for s in a.rates], rates=[s.rate for s in a.rates], period=a.period
        )
    elif kind == "diurnal":
        proc = arrivals.Diurnal(
            mean_rate=spec.rate, amplitude=a.amplitude, peak=a.peak, period=a.period
        )
    elif kind == "trace":
        proc = arrivals.Trace.from_csv(a.path, column=a.column, time_unit=a.time_unit, loop=a.loop)
    else:  # pragma: no cover - the schema admits no other
        raise ValueError(f"unknown arrival process {kind!r}")
    return proc if load == 1.0 else proc.scale(load)
