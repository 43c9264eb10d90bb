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

from typing import TYPE_CHECKING, Any

from qsim.scenario._errors import Issue, ScenarioError

if TYPE_CHECKING:
    from qsim.scenario.loader import dump_scenario, load_scenario, loads
    from qsim.scenario.schema import Scenario

# The schema (pydantic) and loader (yaml) load on first use, so that qsim.scenario.units
# (the CLI's unit parser) does not pull them in.
_LAZY = {
    "dump_scenario": "loader",
    "load_scenario": "loader",
    "loads": "loader",
    "Scenario": "schema",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"qsim.scenario.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Issue", "Scenario", "ScenarioError", "dump_scenario", "load_scenario", "loads"]
