"""Sweep points: their coordinates, seeds and keys, the scenario at a point, and running it.

A point's seed is a function of the root seed and the point's canonical coordinates only
(``consumers.workers.instances=4;load=1.5``, parameters sorted by canonical name), never
of the order it runs in or of the worker that runs it: a sweep gives the same numbers on
one worker or fifty, and ``qsim run --seed <point seed>`` at the point's values
reproduces any single point.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ValidationError

from qsim.engines import run
from qsim.scenario import Issue, ScenarioError
from qsim.scenario._locate import issue_of
from qsim.scenario.units import format_duration, format_multiplier, format_rate, format_size
from qsim.sweep.grid import Axis

__all__ = ["Point", "Value", "make_points", "run_chunk", "scenario_at", "validate_points"]

Value = float | int | None
Override = tuple[tuple[str | int, ...], Value]
ROW_COLUMNS = ("scope", "name", "metric", "value", "ci_low", "ci_high", "n")

_FORMAT = {
    "duration": format_duration,
    "rate": format_rate,
    "multiplier": format_multiplier,
    "size": format_size,
}


def label(kind: str, value: Value) -> str:
    """A value as people write it: ``unlimited``, ``4``, ``120/s``, ``1.5x``, ``50ms``."""
    if value is None:
        return "unlimited"
    fmt = _FORMAT.get(kind)
    return fmt(value) if fmt is not None else repr(value)  # type: ignore[operator]


@dataclass(frozen=True)
class Point:
    """One point of the grid.

    Attributes
    ----------
    values : tuple
        One value per axis, in axis order (SI numbers; None for unlimited).
    coords : str
        Canonical coordinates, e.g. ``consumers.workers.instances=4;load=1.5``.
    seed : int
        Root seed of the point's replications (63 bits).
    key : str
        Hex name of the point's stored result; it also covers the scenario, engine, root
        seed and qsim version, so a changed scenario never reuses stale points.
    """

    values: tuple[Value, ...]
    coords: str
    seed: int
    key: str

    def overrides(self, axes: Sequence[Axis]) -> list[Override]:
        """``(path, value)`` pairs to apply to the base scenario's dump."""
        return [(a.parameter.path, v) for a, v in zip(axes, self.values, strict=True)]


def point_seed(root: int, coords: str) -> int:
    """The seed of the point at ``coords``: ``SeedSequence(root, spawn_key=hash(coords))``.

    The SHA-256 of the canonical coordinates, as eight 32-bit words, is the spawn key, so
    points are independent streams of the root and collide only if SHA-256 does.
    """
    digest = hashlib.sha256(coords.encode()).digest()
    words = tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 32, 4))
    state = np.random.SeedSequence(root, spawn_key=words).generate_state(1, np.uint64)
    return int(state[0]) >> 1  # 63 bits: fits int64 columns and Parquet


def make_points(axes: Sequence[Axis], root: int, salt: str) -> Iterator[Point]:
    """Every point of the Cartesian product of ``axes``, first axis slowest."""
    for values in itertools.product(*(a.values for a in axes)):
        pairs = sorted(
            (a.parameter.key, "unlimited" if v is None else repr(v))
            for a, v in zip(axes, values, strict=True)
        )
        coords = ";".join(f"{k}={v}" for k, v in pairs)
        key = hashlib.sha256(f"{salt}\n{root}\n{coords}".encode()).hexdigest()[:32]
        yield Point(tuple(values), coords, point_seed(root, coords), key)


def _set(obj: Any, path: Sequence[str | int], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(obj, dict):
        return {**obj, head: _set(obj[head], rest, value)}
    items = list(obj)
    items[head] = _set(items[head], rest, value)  # type: ignore[index]
    return items


def _build(base: Any, data: dict[str, Any], overrides: Sequence[Override]) -> Any:
    for path, value in overrides:
        data = _set(data, path, value)
    return type(base).model_validate(data)


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    return x


class _Positions(dict[tuple[Any, ...], tuple[int, int]]):
    def __missing__(self, key: tuple[Any, ...]) -> tuple[int, int]:
        return (0, 0)


class _Doc:
    """The positions :func:`issue_of` wants, for data that came from no file."""

    def __init__(self, data: Any) -> None:
        self.data = data
        self.values = _Positions()
        self.keys: dict[tuple[Any, ...], tuple[int, int]] = {}


def _issues(exc: ValidationError, data: dict[str, Any], note: str) -> list[Issue]:
    doc = _Doc(_plain(data))
    out = []
    for err in exc.errors(include_url=False):
        if err["type"] == "qsim_references":
            for p in (err.get("ctx") or {}).get("problems", []):
                out.append(Issue(None, None, None, p.where, p.value, f"{p.message} ({note})"))
            continue
        issue = issue_of(err, doc, None)
        if issue is not None:
            message = f"{issue.message} ({note})"
            out.append(Issue(None, None, None, issue.path, issue.value, message))
    return out or [Issue(None, None, None, "", None, f"{exc} ({note})")]


def scenario_at(base: Any, overrides: Sequence[Override], note: str = "sweep point") -> Any:
    """The base scenario with ``overrides`` applied and validated.

    Raises
    ------
    ScenarioError
        Whose issues name the offending field and value, with ``note`` appended.
    """
    data = base.model_dump()
    try:
        return _build(base, data, overrides)
    except ValidationError as exc:
        for path, value in overrides:
            data = _set(data, path, value)
        raise ScenarioError(_issues(exc, data, note), source=f"the sweep of {base.name}") from None


def validate_points(base: Any, axes: Sequence[Axis], points: Sequence[Point]) -> None:
    """Check that the scenario accepts every point, before anything runs.

    Raises
    ------
    ScenarioError
        For the first point the schema refuses, naming the field, its parameters and
        their values (``sweep point brokers.rabbit.nodes=1, queues.orders.replicas=2``),
        and how many more points are refused.
    """
    data = base.model_dump()
    first: list[Issue] = []
    refused = 0
    for point in points:
        overrides = point.overrides(axes)
        try:
            _build(base, data, overrides)
        except ValidationError as exc:
            refused += 1
            if not first:
                shown = ", ".join(
                    f"{a.parameter.name}={label(a.parameter.kind, v)}"
                    for a, v in zip(axes, point.values, strict=True)
                )
                kind = "parameter" if len(axes) == 1 else "point"
                changed = data
                for path, value in overrides:
                    changed = _set(changed, path, value)
                first = _issues(exc, changed, f"sweep {kind} {shown}")
    if refused > 1:
        more = refused - 1
        first.append(Issue(None, None, None, "", None, f"{more} more point(s) refused"))
    if first:
        raise ScenarioError(first, source=f"the sweep of {base.name}")


def run_chunk(
    base: Any, engine: str | None, items: Sequence[tuple[str, Sequence[Override], int]]
) -> list[dict[str, Any]]:
    """Run the points ``(key, overrides, seed)`` of one task; one record per point.

    A record is ``{"key", "seed", "engine", "reason", "unstable", "rows"}`` with ``rows``
    the point's estimates as plain lists in :data:`ROW_COLUMNS` order. Pure: the same
    items give the same records on any worker, which lets Dask rerun a task whose worker
    died.
    """
    records = []
    for key, overrides, seed in items:
        scenario = scenario_at(base, overrides)
        result = run(scenario, engine=engine, seed=seed)
        s = result.summary
        rows = [
            [
                str(r.scope),
                str(r.name),
                str(r.metric),
                float(r.value),
                float(r.ci_low),
                float(r.ci_high),
                int(r.n),
            ]
            for r in s.itertuples(index=False)
        ]
        records.append(
            {
                "key": key,
                "seed": int(seed),
                "engine": result.engine,
                "reason": result.reason,
                "unstable": sorted(result.unstable),
                "rows": rows,
            }
        )
    return records
