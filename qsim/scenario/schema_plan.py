"""The ``plan:`` block: decision variables, their ranges and unit costs, the load to plan for.

``qsim plan`` (:mod:`qsim.planning`) searches the variables for the cheapest configuration that
meets every target of the scenario's ``slo:`` block::

    plan:
      load: 3x                    # plan for today's rates times 3 (replaces the scenario's load)
      variables:
        - {set: consumers.workers.instances, range: 2..64, cost: 0.12/h}
        - {set: consumers.workers.prefetch, values: [1, 10, 50]}
      replications: 10            # per evaluated configuration (default: the scenario's)
      confirm_replications: 30    # to confirm the winner (default: 3 x replications)

A variable names an integer field of an object by name: ``consumers.<name>.instances``
(also ``concurrency``, ``prefetch``), ``queues.<name>.capacity`` (also ``replicas``),
``topics.<name>.partitions`` (also ``replicas``) or ``brokers.<name>.nodes``. Costs are per
unit per hour (``0.12/h``; also ``/d``, ``/month`` of 730 h, or a bare number per hour).

>>> v = PlanVariable.model_validate({"set": "consumers.w.instances", "range": "2..8:2",
...                                  "cost": "2.88/d"})
>>> v.choices, v.cost, v.kind, v.target, v.field
((2, 4, 6, 8), 0.12, 'consumers', 'w', 'instances')
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, ValidationError, model_validator

from qsim.scenario.schema_types import (
    Float,
    Int,
    Multiplier,
    ScenarioModel,
    field_error,
    value_error,
)

__all__ = ["PLAN_FIELDS", "Plan", "PlanVariable", "check_plan", "find_object"]

#: Integer fields a plan may vary, per kind of object.
PLAN_FIELDS: dict[str, tuple[str, ...]] = {
    "consumers": ("instances", "concurrency", "prefetch"),
    "queues": ("capacity", "replicas"),
    "topics": ("partitions", "replicas"),
    "brokers": ("nodes",),
}
_WHAT = {"consumers": "consumer pool", "queues": "queue", "topics": "topic", "brokers": "broker"}

_RANGE_FORMS = "a range of integers lo..hi with lo <= hi, optionally with a step (2..64:2)"
_RANGE = re.compile(r"\s*(\d+)\s*\.\.\s*(\d+)\s*(?::\s*(\d+)\s*)?")
_COST_FORMS = (
    "a cost per unit such as 0.12/h, 2.88/d or 87.6/month (a month is 730 h; "
    "a bare number is per hour), >= 0"
)
_COST = re.compile(
    r"\s*[$€£]?\s*((?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?)\s*"
    r"(?:/\s*(h|hr|hour|d|day|mo|month))?\s*"
)
_PER_HOUR = {None: 1, "h": 1, "hr": 1, "hour": 1, "d": Decimal(1) / 24, "day": Decimal(1) / 24}
_PER_HOUR.update({"mo": Decimal(1) / 730, "month": Decimal(1) / 730})
_PATH_FORMS = "a path kind.name.field, with kind.field one of " + ", ".join(
    f"{k}.{f}" for k, fs in PLAN_FIELDS.items() for f in fs
)


def _range(value: Any) -> Any:
    if isinstance(value, list | tuple) and len(value) == 3 and all(type(x) is int for x in value):
        lo, hi, step = value  # a dumped range, read back
    elif isinstance(value, str) and (m := _RANGE.fullmatch(value)):
        lo, hi, step = int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)
    else:
        raise value_error(_RANGE_FORMS)
    if not lo <= hi or step < 1:
        raise value_error(_RANGE_FORMS)
    return (lo, hi, step)


def _write_range(value: tuple[int, int, int]) -> str:
    lo, hi, step = value
    return f"{lo}..{hi}" + (f":{step}" if step != 1 else "")


def _cost(value: Any) -> Any:
    if isinstance(value, bool):
        raise value_error(_COST_FORMS)
    if isinstance(value, int | float):
        if not value >= 0:
            raise value_error(_COST_FORMS)
        return float(value)
    m = _COST.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        raise value_error(_COST_FORMS)
    return float(Decimal(m.group(1)) * _PER_HOUR[m.group(2)])


def _path(value: Any) -> Any:
    if not isinstance(value, str):
        raise value_error(_PATH_FORMS)
    kind, _, rest = value.partition(".")
    name, _, field = rest.rpartition(".")
    if kind not in PLAN_FIELDS or not name or field not in PLAN_FIELDS[kind]:
        raise value_error(_PATH_FORMS)
    return value


#: ``lo..hi[:step]`` read as ``(lo, hi, step)``; written back as text.
IntRange = Annotated[
    tuple[int, int, int],
    BeforeValidator(_range),
    PlainSerializer(_write_range, return_type=str, when_used="json"),
]
#: A cost per unit per hour; YAML ``0.12/h``, ``2.88/d``, ``87.6/month`` or a number.
Cost = Annotated[
    float,
    BeforeValidator(_cost),
    PlainSerializer(lambda x: f"{x:g}/h", return_type=str, when_used="json"),
]


class PlanVariable(ScenarioModel):
    """One decision variable: an integer field of a named object, its choices and unit cost."""

    set: Annotated[str, BeforeValidator(_path)] = Field(
        description="What to vary: kind.name.field, e.g. consumers.workers.instances."
    )
    range: IntRange | None = Field(
        None, description="Integers lo..hi inclusive, optionally :step (YAML: 2..64)."
    )
    values: tuple[Int, ...] | None = Field(
        None, min_length=1, description="Explicit choices instead of a range (YAML: [1, 10, 50])."
    )
    cost: Cost = Field(
        0.0, description="Cost per unit per hour, >= 0 (YAML: 0.12/h); default 0 (free)."
    )

    @model_validator(mode="after")
    def _choices(self) -> PlanVariable:
        if (self.range is None) == (self.values is None):
            raise field_error("range", "give exactly one of range: or values:")
        if self.values is not None:
            seen: set[int] = set()
            for i, v in enumerate(self.values):
                if v in seen:
                    raise field_error(("values", i), f"repeats the value {v}")
                seen.add(v)
        return self

    @property
    def kind(self) -> str:
        """``consumers``, ``queues``, ``topics`` or ``brokers``."""
        return self.set.partition(".")[0]

    @property
    def target(self) -> str:
        """The name of the object the variable changes."""
        return self.set.partition(".")[2].rpartition(".")[0]

    @property
    def field(self) -> str:
        """The field it changes (``instances``, ``partitions``...)."""
        return self.set.rpartition(".")[2]

    @property
    def choices(self) -> tuple[int, ...]:
        """Every value the variable may take, ascending."""
        if self.range is not None:
            lo, hi, step = self.range
            return tuple(range(lo, hi + 1, step))
        return tuple(sorted(self.values or ()))


class Plan(ScenarioModel):
    """What to decide (variables, ranges, unit costs) and for which load."""

    load: Multiplier | None = Field(
        None,
        gt=0,
        description=(
            "Load to plan for, as a multiple of the producers' rates (YAML: 3x for growth or "
            "a peak); replaces the scenario's load. None: the scenario's load."
        ),
    )
    variables: tuple[PlanVariable, ...] = Field(
        min_length=1, description="Decision variables: {set: path, range: lo..hi, cost: 0.1/h}."
    )
    replications: Int | None = Field(
        None, ge=2, description="Replications per evaluated configuration (default: scenario's)."
    )
    confirm_replications: Int | None = Field(
        None, ge=2, description="Replications confirming the winner (default: 3 x replications)."
    )
    headroom_tolerance: Float = Field(
        0.05,
        gt=0,
        le=1,
        description="Precision of the headroom, in multiples of the planned load (default 0.05).",
    )
    max_evaluations: Int = Field(
        60, ge=1, description="Most configurations the search simulates (default 60)."
    )


def find_object(data: Any, kind: str, name: str) -> tuple[tuple[str | int, ...], Any] | None:
    """``(path, object)`` of the ``kind`` object called ``name`` in a scenario, or None.

    Works on a :class:`~qsim.scenario.schema.Scenario` or its plain dump; queues and
    topics are looked up across brokers.
    """

    def get(obj: Any, key: str) -> Any:
        return obj.get(key, ()) if isinstance(obj, dict) else getattr(obj, key, ())

    def named(obj: Any) -> Any:
        return obj.get("name") if isinstance(obj, dict) else getattr(obj, "name", None)

    if kind in ("consumers", "brokers"):
        for i, obj in enumerate(get(data, kind) or ()):
            if named(obj) == name:
                return (kind, i), obj
        return None
    for b, broker in enumerate(get(data, "brokers") or ()):
        for i, obj in enumerate(get(broker, kind) or ()):
            if named(obj) == name:
                return ("brokers", b, kind, i), obj
    return None


def _names(scenario: Any, kind: str) -> list[str]:
    if kind in ("consumers", "brokers"):
        return [o.name for o in getattr(scenario, kind)]
    return [o.name for b in scenario.brokers for o in getattr(b, kind)]


_BOUNDS = {
    "greater_than": ("gt", ">"),
    "greater_than_equal": ("ge", ">="),
    "less_than": ("lt", "<"),
    "less_than_equal": ("le", "<="),
}


def _first(exc: ValidationError) -> str:
    """The first error of a validation, as ``consumers[0].instances must be >= 1``."""
    from qsim.scenario.resolve import render_path

    err = exc.errors(include_url=False)[0]
    loc, ctx = tuple(err["loc"]), err.get("ctx") or {}
    if err["type"] == "qsim_field":
        return f"{render_path((*loc, *ctx['field']))} {ctx['message']}"
    if err["type"] in _BOUNDS:
        key, op = _BOUNDS[err["type"]]
        return f"{render_path(loc)} must be {op} {ctx[key]}"
    return f"{render_path(loc)}: {err['msg']}"


def check_plan(scenario: Any, context: dict[str, Any] | None = None) -> None:
    """Cross-checks of a scenario's plan block against the rest of the scenario.

    The scenario needs an ``slo:`` block and at least 2 replications per point; each
    variable must name an existing object, once, and every value of its range must give
    a valid scenario (``instances`` cannot drop below 1, ``nodes`` below a queue's
    ``replicas``, ``prefetch`` only applies with manual acks...). Raises the first
    problem as a positioned validation error.
    """
    plan = scenario.plan
    if scenario.slo is None:
        raise field_error("plan", "needs an slo: block, the targets the plan must meet")
    if (plan.replications or scenario.replications) < 2:
        raise field_error(
            ("plan", "replications") if plan.replications is not None else "replications",
            "must be >= 2 to plan: every configuration is judged by a confidence interval",
        )
    from qsim.scenario.schema import Scenario

    base = scenario.model_dump(exclude_unset=True)
    base.pop("plan", None)
    seen: dict[str, int] = {}
    for i, var in enumerate(plan.variables):
        where: tuple[str | int, ...] = ("plan", "variables", i)
        if var.set in seen:
            raise field_error((*where, "set"), f"repeats variables[{seen[var.set]}]")
        seen[var.set] = i
        found = find_object(base, var.kind, var.target)
        if found is None:
            known = ", ".join(repr(n) for n in _names(scenario, var.kind)) or "none"
            raise field_error(
                (*where, "set"),
                f"unknown {_WHAT[var.kind]} {var.target!r}; known {var.kind}: {known}",
            )
        obj = found[1]
        choices = var.choices
        key = "range" if var.range is not None else "values"
        original = dict(obj)
        for value in dict.fromkeys((choices[0], choices[-1])):
            obj[var.field] = value
            try:
                Scenario.model_validate(base, context={**(context or {}), "skip_references": True})
            except ValidationError as exc:
                raise field_error(
                    (*where, key),
                    f"{var.set} = {value} gives an invalid scenario: {_first(exc)}",
                ) from None
            finally:
                obj.clear()
                obj.update(original)
