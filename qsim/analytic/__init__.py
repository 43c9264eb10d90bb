"""Analytic queueing solvers: exact where theory is exact, labelled approximations elsewhere.

Every solver broadcasts over numpy arrays and never gives an unstable queue a finite
steady-state number.
"""

from __future__ import annotations

from qsim.analytic.birth_death import birth_death
from qsim.analytic.erlang_a import ErlangAMetrics, erlang_a
from qsim.analytic.ggc import gg1_kingman, ggc_allen_cunneen, mgc
from qsim.analytic.inverse import max_arrival_rate, min_servers
from qsim.analytic.jackson import NetworkMetrics, jackson
from qsim.analytic.metrics import QueueMetrics
from qsim.analytic.mg1 import md1, mg1
from qsim.analytic.mmc import erlang_b, erlang_c, mm1, mmc
from qsim.analytic.mmck import mm1k, mmcc, mmck, mminf
from qsim.analytic.mva import MVAResult, mva
from qsim.analytic.priority import PriorityMetrics, mg1_priority, mm1_preemptive_priority

__all__ = [
    "ErlangAMetrics",
    "MVAResult",
    "NetworkMetrics",
    "PriorityMetrics",
    "QueueMetrics",
    "birth_death",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "gg1_kingman",
    "ggc_allen_cunneen",
    "jackson",
    "max_arrival_rate",
    "md1",
    "mg1",
    "mg1_priority",
    "mgc",
    "min_servers",
    "mm1",
    "mm1_preemptive_priority",
    "mm1k",
    "mmc",
    "mmcc",
    "mmck",
    "mminf",
    "mva",
]
