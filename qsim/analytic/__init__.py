"""Analytic queueing solvers: exact where theory is exact, labelled approximations elsewhere.

Every solver broadcasts over numpy arrays and never gives an unstable queue a finite
steady-state number.
"""

from __future__ import annotations

from qsim.analytic.inverse import max_arrival_rate, min_servers
from qsim.analytic.metrics import QueueMetrics
from qsim.analytic.mmc import erlang_b, erlang_c, mm1, mmc

__all__ = [
    "QueueMetrics",
    "erlang_b",
    "erlang_c",
    "max_arrival_rate",
    "min_servers",
    "mm1",
    "mmc",
]
