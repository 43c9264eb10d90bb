"""Parameter sweeps: a scenario run over a grid of parameters, on Dask or in-process.

>>> from qsim.scenario import loads
>>> from qsim.sweep import sweep
>>> s = loads('''
... name: demo
... seed: 1
... duration: 20s
... replications: 2
... producers: [{name: web, to: orders, rate: 40/s}]
... brokers: [{name: rabbit, queues: [{name: orders}]}]
... consumers: [{name: workers, queue: orders, instances: 2, service: 20ms}]
... ''')
>>> res = sweep(s, ["consumers=1..2", "load=1x,1.5x"], workers=0)
>>> res.points[["consumers", "load"]].values.tolist()
[[1.0, 1.0], [1.0, 1.5], [2.0, 1.0], [2.0, 1.5]]
>>> list(res.table.columns)
['consumers', 'load', 'scope', 'name', 'metric', 'value', 'ci_low', 'ci_high', 'n']

``workers=0`` runs in this process; by default an embedded local Dask cluster runs the
points, and ``scheduler="tcp://host:8786"`` (or ``$QSIM_SCHEDULER``) a running cluster.
Dask is imported only when a cluster is used.
"""

from __future__ import annotations

from qsim.sweep.api import SweepResult, sweep
from qsim.sweep.grid import PARAMETERS, Axis, Parameter, SweepError, parse_axis

__all__ = ["PARAMETERS", "Axis", "Parameter", "SweepError", "SweepResult", "parse_axis", "sweep"]
