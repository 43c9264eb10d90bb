"""Sweep grids: which scenario parameters can vary and how ``--vary`` text is read.

A parameter is written ``NAME=VALUES``:

- ``consumers=2..16`` integers from 2 to 16 inclusive (step 1), ``2..16:2`` in steps of 2;
- ``load=1x..4x:0.5x``, ``producers.web.rate=100/s..400/s:50/s``, ``duration=1m..5m:1m``:
  a range with units needs its step; the end is included when the steps land on it;
- ``prefetch=1,10,unlimited``: a list (``unlimited`` where the field allows it);
- ``consumers=4``: one value.

Names (:data:`PARAMETERS` lists them): ``load``, ``duration``, ``warmup``,
``replications``; per object ``producers.<name>.rate``, ``consumers.<name>.instances``
(also ``concurrency``, ``prefetch``, ``fail_probability``, ``service.mean``,
``service.scv``), ``queues.<name>.capacity`` (also ``max_bytes``, ``ttl``, ``replicas``),
``topics.<name>.partitions`` (also ``replicas``) and ``brokers.<name>.nodes``, where
``<name>`` may also be written ``[index]`` (``consumers[0].instances``). A field alone
(``prefetch``, ``rate``, ``partitions``) means that field of the only object that has it,
and ``consumers`` alone the instances of the only consumer pool.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from qsim.errors import InvalidArgumentError, QsimError
from qsim.scenario.units import (
    parse_duration,
    parse_multiplier,
    parse_rate,
    parse_size,
)

__all__ = ["PARAMETERS", "Axis", "Parameter", "SweepError", "parse_axis"]

#: Most points one sweep may have (every point is validated before anything runs).
MAX_POINTS = 100_000


class SweepError(QsimError, ValueError):
    """A sweep that cannot run: unknown parameter, empty range, unreachable scheduler."""


@dataclass(frozen=True)
class _Kind:
    what: str  # as error messages say it: "an integer", "a rate (1200/s)"
    parse: Callable[[str], float | int]
    integral: bool
    step_needed: bool


def _int(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", text.strip()):
        raise ValueError(text)
    return int(text)


def _float(text: str) -> float:
    return float(Decimal(text.strip()))


_KINDS = {
    "int": _Kind("an integer", _int, True, False),
    "float": _Kind("a number", _float, False, True),
    "duration": _Kind("a duration (50ms, 2s, 10m)", parse_duration, False, True),
    "rate": _Kind("a rate (120/s, 7k/min)", parse_rate, False, True),
    "multiplier": _Kind("a multiplier (2x, 150%)", parse_multiplier, False, True),
    "size": _Kind("a size (64KiB, 1MB)", parse_size, True, True),
}

# field -> (kind, whether "unlimited" is allowed)
_TOP = {
    "load": ("multiplier", False),
    "duration": ("duration", False),
    "warmup": ("duration", False),
    "replications": ("int", False),
}
_FIELDS: dict[str, dict[str, tuple[str, bool]]] = {
    "producers": {"rate": ("rate", False)},
    "consumers": {
        "instances": ("int", False),
        "concurrency": ("int", False),
        "prefetch": ("int", True),
        "fail_probability": ("float", False),
        "service.mean": ("duration", False),
        "service.scv": ("float", False),
    },
    "queues": {
        "capacity": ("int", True),
        "max_bytes": ("size", True),
        "ttl": ("duration", True),
        "replicas": ("int", False),
    },
    "topics": {"partitions": ("int", False), "replicas": ("int", False)},
    "brokers": {"nodes": ("int", False)},
}
_WHAT = {
    "producers": "producer",
    "consumers": "consumer pool",
    "queues": "queue",
    "topics": "topic",
    "brokers": "broker",
}
_UNLIMITED = ("unlimited", "none", "inf")

#: Every parameter a sweep can vary, as ``--vary`` writes it, one line each.
PARAMETERS = (
    *(f"{name}: {_KINDS[kind].what}" for name, (kind, _) in _TOP.items()),
    *(
        f"{group}.<name>.{field}: {_KINDS[kind].what}{' or unlimited' if nullable else ''}"
        for group, fields in _FIELDS.items()
        for field, (kind, nullable) in fields.items()
    ),
)


def _help() -> str:
    groups = "; ".join(
        f"{g}.<name>.{'|'.join(f)}" if len(f) > 1 else f"{g}.<name>.{next(iter(f))}"
        for g, f in _FIELDS.items()
    )
    return (
        f"{', '.join(_TOP)}; {groups} (<name> or [index]); "
        "a field alone for the only object that has it; consumers = instances of the only pool"
    )


@dataclass(frozen=True)
class Parameter:
    """A scenario field a sweep varies.

    Attributes
    ----------
    name : str
        As the user wrote it (the column name in the results).
    key : str
        Canonical name (``consumers.workers.instances``); seeds derive from it, so two
        spellings of one parameter give the same numbers.
    path : tuple
        Where the value goes in ``Scenario.model_dump()``.
    kind : str
        ``int``, ``float``, ``duration``, ``rate``, ``multiplier`` or ``size``.
    nullable : bool
        Whether ``unlimited`` is allowed (stored as None, shown as inf).
    """

    name: str
    key: str
    path: tuple[str | int, ...]
    kind: str
    nullable: bool


@dataclass(frozen=True)
class Axis:
    """One varied parameter and its values (SI numbers; None for unlimited)."""

    parameter: Parameter
    values: tuple[float | int | None, ...]
    text: str  # the --vary text, for messages


def _objects(scenario: Any, group: str) -> list[tuple[str, tuple[str | int, ...]]]:
    """(name, path in the dump) of every object of a group, in file order."""
    if group in ("producers", "consumers", "brokers"):
        return [(o.name, (group, i)) for i, o in enumerate(getattr(scenario, group))]
    return [
        (o.name, ("brokers", b, group, i))
        for b, broker in enumerate(scenario.brokers)
        for i, o in enumerate(getattr(broker, group))
    ]


def _resolve(scenario: Any, name: str) -> Parameter:
    """The parameter ``name`` denotes in ``scenario``; SweepError when there is none."""
    if name in _TOP:
        kind, nullable = _TOP[name]
        return Parameter(name, name, (name,), kind, nullable)
    m = re.fullmatch(r"([a-z]+)(?:\.([^.\[\]]+)|\[(\d+)\])\.(.+)", name)
    if m is not None and m.group(1) in _FIELDS:
        group, obj, index, field = m.groups()
    elif name == "consumers":
        group, obj, index, field = "consumers", None, None, "instances"
    else:
        owners = [g for g, fields in _FIELDS.items() if name in fields]
        if len(owners) != 1:
            raise SweepError(f"cannot vary {name!r}; parameters: {_help()}")
        group, obj, index, field = owners[0], None, None, name
    if field not in _FIELDS[group]:
        allowed = ", ".join(_FIELDS[group])
        raise SweepError(f"cannot vary {field!r} of {group}; {group} can vary {allowed}")
    objects = _objects(scenario, group)
    what = _WHAT[group]
    names = ", ".join(repr(n) for n, _ in objects) or "none"
    if obj is not None:
        hits = [o for o in objects if o[0] == obj]
        if not hits:
            raise SweepError(f"{name}: no {what} named {obj!r}; {what}s: {names}")
        found = hits[0]
    elif index is not None:
        if int(index) >= len(objects):
            raise SweepError(f"{name}: no {what} [{index}]; there are {len(objects)}: {names}")
        found = objects[int(index)]
    elif len(objects) == 1:
        found = objects[0]
    else:
        raise SweepError(
            f"{name} needs a {what}: the scenario has {len(objects)} ({names}); "
            f"write {group}.<name>.{field}"
        )
    path = (*found[1], *_field_path(scenario, found[1], field, name))
    kind, nullable = _FIELDS[group][field]
    return Parameter(name, f"{group}.{found[0]}.{field}", path, kind, nullable)


def _field_path(scenario: Any, where: tuple[str | int, ...], field: str, name: str) -> list[str]:
    if not field.startswith("service."):
        return [field]
    obj: Any = scenario
    for step in where:
        obj = obj[step] if isinstance(step, int) else getattr(obj, step)
    service = obj.service
    if service is None:
        raise SweepError(f"cannot vary {name}: consumer {obj.name!r} has batch processing")
    want = field.removeprefix("service.")
    if want == "mean" and service.dist == "deterministic":
        return ["service", "value"]
    if want not in type(service).model_fields:
        hint = " (give it dist: gamma, lognormal or hyperexponential)" if want == "scv" else ""
        raise SweepError(
            f"cannot vary {name}: its service distribution ({service.dist}) has no {want}{hint}"
        )
    return ["service", want]


def _exact(x: float | int) -> Fraction:
    # NOTE: through the shortest decimal repr, so 0.1..0.5:0.1 lands exactly on 0.5.
    return Fraction(Decimal(repr(x)))


def _read(text: str, kind: _Kind, nullable: bool, spec: str) -> float | int | None:
    t = text.strip()
    if nullable and t.lower() in _UNLIMITED:
        return None
    try:
        value = kind.parse(t)
    except (ValueError, ArithmeticError, InvalidArgumentError):
        extra = " or unlimited" if nullable else ""
        raise SweepError(f"--vary {spec}: {t!r} is not {kind.what}{extra}") from None
    return int(value) if kind.integral else float(value)


def parse_axis(scenario: Any, spec: str) -> Axis:
    """One ``NAME=VALUES`` text read against ``scenario``.

    Raises
    ------
    SweepError
        Unknown parameter or object, unreadable value, or a range with no points.
    """
    name, sep, values = spec.partition("=")
    name, values = name.strip(), values.strip()
    if not sep or not name or not values:
        raise SweepError(
            f"--vary takes NAME=VALUES (consumers=2..16, load=1x..4x:0.5x, prefetch=1,10), "
            f"got {spec!r}"
        )
    param = _resolve(scenario, name)
    kind = _KINDS[param.kind]
    if ".." in values:
        points = _range(values, kind, spec)
    else:
        items = values.split(",")
        if any(not i.strip() for i in items):
            raise SweepError(f"--vary {spec}: empty item in the list")
        points = [_read(i, kind, param.nullable, spec) for i in items]
    if len(set(points)) != len(points):
        raise SweepError(f"--vary {spec}: a value is listed twice")
    return Axis(param, tuple(points), spec)


def _range(values: str, kind: _Kind, spec: str) -> list[float | int | None]:
    span, _, step_text = values.partition(":")
    start_text, _, end_text = span.partition("..")
    if not start_text.strip() or not end_text.strip() or ".." in end_text:
        raise SweepError(f"--vary {spec}: a range is START..END or START..END:STEP")
    start = _read(start_text, kind, False, spec)
    end = _read(end_text, kind, False, spec)
    if step_text.strip():
        step = _read(step_text, kind, False, spec)
    elif kind.step_needed:
        raise SweepError(f"--vary {spec}: a range of {kind.what} needs a step: START..END:STEP")
    else:
        step = 1
    assert start is not None and end is not None and step is not None
    if not step > 0:
        raise SweepError(f"--vary {spec}: the step must be > 0, got {step_text.strip()}")
    if start > end:
        raise SweepError(f"--vary {spec}: the range has no points (its start is after its end)")
    lo, hi, dx = _exact(start), _exact(end), _exact(step)
    count = int((hi - lo) / dx) + 1
    if count > MAX_POINTS:
        raise SweepError(f"--vary {spec}: {count} points, more than {MAX_POINTS} per sweep")
    exact = [lo + i * dx for i in range(count)]
    if kind.integral:
        return [int(v) for v in exact]
    return [float(v) for v in exact]
