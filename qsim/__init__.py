"""qsim: queueing solvers, discrete-event simulation and capacity planning for
message-driven systems.

>>> import qsim
>>> m = qsim.analytic.mmc(arrival_rate=1200.0, service_mean=0.020, servers=30)
>>> round(m.utilization, 3), m.stable
(0.8, True)
"""

from __future__ import annotations

from typing import Any as _Any

from qsim import analytic
from qsim.analytic.metrics import QueueMetrics
from qsim.analytic.solve import solve
from qsim.errors import EngineNotApplicable, InvalidArgumentError, QsimError

__version__ = "0.1.0"

__all__ = [
    "EngineNotApplicable",
    "InvalidArgumentError",
    "PlanResult",
    "QsimError",
    "QueueMetrics",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "__version__",
    "analytic",
    "load_scenario",
    "plan",
    "run",
    "solve",
]

# NOTE: the scenario layer (pydantic, yaml) and the engines (simpy, pandas) load on
# first use, so `import qsim` stays light for analytic work.
_LAZY = {
    "load_scenario": ("qsim.scenario", "load_scenario"),
    "Scenario": ("qsim.scenario", "Scenario"),
    "ScenarioError": ("qsim.scenario", "ScenarioError"),
    "run": ("qsim.engines", "run"),
    "plan": ("qsim.planning", "plan"),
    "PlanResult": ("qsim.planning", "PlanResult"),
    "RunResult": ("qsim.results", "RunResult"),
}


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        from importlib import import_module

        module, attr = _LAZY[name]
        return getattr(import_module(module), attr)
    raise AttributeError(f"module 'qsim' has no attribute {name!r}")
