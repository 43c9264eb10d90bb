"""qsim: queueing solvers, discrete-event simulation and capacity planning for
message-driven systems.

>>> import qsim
>>> m = qsim.analytic.mmc(arrival_rate=1200.0, service_mean=0.020, servers=30)
>>> round(m.utilization, 3), m.stable
(0.8, True)
"""

from __future__ import annotations

from qsim import analytic
from qsim.analytic.metrics import QueueMetrics
from qsim.analytic.solve import solve
from qsim.errors import InvalidArgumentError, QsimError

__version__ = "0.1.0"

__all__ = [
    "InvalidArgumentError",
    "QsimError",
    "QueueMetrics",
    "__version__",
    "analytic",
    "solve",
]
