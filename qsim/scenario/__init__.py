"""Scenario files: the YAML schema, units, loading with file:line errors, reference checks.

>>> from qsim.scenario import loads
>>> s = loads('''
... name: demo
... duration: 10m
... producers: [{name: web, to: orders, rate: 120/s}]
... brokers: [{name: rabbit, queues: [{name: orders}]}]
... consumers: [{name: workers, queue: orders, instances: 2, service: 10ms}]
... ''')
>>> s.duration, s.producers[0].rate
(600.0, 120.0)
"""

from __future__ import annotations

from qsim.scenario._errors import Issue, ScenarioError
from qsim.scenario.loader import dump_scenario, load_scenario, loads
from qsim.scenario.schema import Scenario

__all__ = ["Issue", "Scenario", "ScenarioError", "dump_scenario", "load_scenario", "loads"]
