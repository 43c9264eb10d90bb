"""``sweep(scenario, vary)``: run a scenario over a grid of parameters, on Dask by default."""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from qsim._rng import fresh_seed
from qsim.engines import scenario_hash, select_engine
from qsim.sweep.execute import chunk_size, connect
from qsim.sweep.grid import MAX_POINTS, Axis, SweepError, parse_axis
from qsim.sweep.points import ROW_COLUMNS, Point, make_points, scenario_at, validate_points
from qsim.sweep.store import PointStore, atomic_write

__all__ = ["SweepResult", "sweep"]

POINT_COLUMNS = ("seed", "engine", "reason", "unstable")


@dataclass(frozen=True, eq=False)
class SweepResult:
    """What a sweep found.

    Attributes
    ----------
    scenario : str
        Scenario name.
    parameters : tuple of str
        The varied parameters, as written (the first columns of both tables).
    seed : int
        Root seed; each point's seed derives from it and the point's coordinates.
    table : DataFrame
        Tidy: the parameters, then ``scope, name, metric, value, ci_low, ci_high, n``;
        one row per point and metric, points in grid order (first parameter slowest).
        Values are SI (seconds, per second); ``unlimited`` is ``inf``.
    points : DataFrame
        One row per point: the parameters, its ``seed`` (``qsim run --seed`` at those
        values reproduces it), the ``engine`` that ran and why (``reason``), and the
        ``unstable`` queues, comma-separated.
    computed, resumed : int
        Points run now, and points reused from an earlier interrupted run.
    where : str
        Where the points ran (in-process, a local Dask cluster, a cluster's address).
    """

    scenario: str
    parameters: tuple[str, ...]
    seed: int
    table: pd.DataFrame
    points: pd.DataFrame
    computed: int
    resumed: int
    where: str

    def write(self, directory: str | os.PathLike[str]) -> list[Path]:
        """Write ``sweep.csv``, ``sweep.parquet`` and ``points.csv``, each whole or not at all."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        return [
            atomic_write(d / "sweep.csv", lambda p: self.table.to_csv(p, index=False)),
            atomic_write(d / "sweep.parquet", lambda p: self.table.to_parquet(p, index=False)),
            atomic_write(d / "points.csv", lambda p: self.points.to_csv(p, index=False)),
        ]


def _specs(vary: str | Sequence[str] | Mapping[str, Any]) -> list[str]:
    if isinstance(vary, str):
        return [vary]
    if isinstance(vary, Mapping):
        out = []
        for name, values in vary.items():
            if isinstance(values, str) or not isinstance(values, Sequence):
                values = [values]
            shown = ",".join("unlimited" if v is None else str(v) for v in values)
            out.append(f"{name}={shown}")
        return out
    return list(vary)


def _axes(base: Any, specs: Sequence[str]) -> list[Axis]:
    if not specs:
        raise SweepError("a sweep needs at least one parameter to vary: NAME=VALUES")
    axes = [parse_axis(base, s) for s in specs]
    seen: dict[str, str] = {}
    for a in axes:
        if a.parameter.key in seen:
            raise SweepError(
                f"{seen[a.parameter.key]} and {a.parameter.name} vary the same parameter "
                f"({a.parameter.key})"
            )
        seen[a.parameter.key] = a.parameter.name
    total = math.prod(len(a.values) for a in axes)
    if total > MAX_POINTS:
        raise SweepError(f"the grid has {total} points, more than {MAX_POINTS} per sweep")
    return axes


def sweep(
    scenario: Any,
    vary: str | Sequence[str] | Mapping[str, Any],
    *,
    engine: str | None = None,
    seed: int | None = None,
    replications: int | None = None,
    duration: float | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | os.PathLike[str] | None = None,
    resume: bool = True,
    chunk: int | None = None,
    connect_timeout: float = 5.0,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Run ``scenario`` at every point of a parameter grid, with confidence intervals.

    Parameters
    ----------
    scenario : Scenario
        The base scenario.
    vary : str, sequence of str, or mapping
        ``NAME=VALUES`` texts (``"consumers=2..16"``, ``"load=1x..4x:0.5x"``,
        ``"prefetch=1,10,unlimited"``), or a mapping such as ``{"consumers": [2, 4]}``.
        Several give their Cartesian product. See :mod:`qsim.sweep.grid` for the names.
    engine : str, optional
        ``auto``, ``sim`` or ``fast``; default the scenario's.
    seed, replications, duration : optional
        Override the scenario's root seed, replications per point and simulated seconds
        per replication (a warm-up as long as ``duration`` is then dropped, as in
        :func:`qsim.run`).
    workers : int, optional
        ``0``: run in this process, without Dask. ``n``: an embedded local Dask cluster of
        ``n`` processes. Default: ``scheduler`` if given (or ``$QSIM_SCHEDULER``), else a
        local cluster with one process per CPU.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``). Its workers need qsim
        installed; a trace file must be at the same path on them.
    out : path, optional
        Folder for the results. Points are stored there as they finish, so running the
        same sweep again resumes where it stopped (unless ``resume=False``).
    chunk : int, optional
        Points per Dask task; default about eight tasks per worker, at most 50 points each.
    connect_timeout : float
        Seconds to wait for ``scheduler`` before giving up.
    progress : callable, optional
        Called as ``progress(done, total)`` in points, as points finish.

    Returns
    -------
    SweepResult

    Raises
    ------
    SweepError
        Unknown parameter, a range without points, an unreachable scheduler.
    ScenarioError
        A value the scenario does not accept, naming the parameter and the value.

    Notes
    -----
    Point p runs with seed ``SeedSequence(root, spawn_key=sha256(coordinates of p))``
    (:func:`qsim.sweep.points.point_seed`): independent of the order points run in and of
    the number of workers, so results are identical in-process, on a local cluster or on
    fifty machines. Every point is validated before anything runs.

    The local cluster starts its workers as fresh processes that import the calling
    script, so a script (not a notebook) calling ``sweep`` needs the usual
    ``if __name__ == "__main__":`` guard.
    """
    from qsim import __version__

    updates: list[tuple[tuple[str | int, ...], Any]] = []
    if replications is not None:
        updates.append((("replications",), replications))
    if duration is not None:
        updates.append((("duration",), duration))
        if scenario.warmup >= duration:
            updates.append((("warmup",), 0.0))
    base = scenario_at(scenario, updates, "an override of the scenario") if updates else scenario
    axes = _axes(base, _specs(vary))
    if workers is not None and workers < 0:
        raise SweepError(f"workers must be >= 0 (0: in this process), got {workers}")
    if scheduler is not None and workers is not None:
        raise SweepError("give workers (a local cluster) or scheduler (a running one), not both")
    if scheduler is None and workers is None:
        scheduler = os.environ.get("QSIM_SCHEDULER") or None
    if chunk is not None and chunk < 1:
        raise SweepError(f"chunk must be >= 1 point per task, got {chunk}")
    if out is not None and importlib.util.find_spec("pyarrow") is None:
        raise ImportError("writing sweep.parquet needs pyarrow: pip install pyarrow")
    if engine not in (None, "auto", "sim", "fast"):
        raise SweepError(f"engine must be auto, sim or fast, got {engine!r}")
    select_engine(base, engine)  # an engine that cannot run the scenario fails now

    digest = scenario_hash(base)
    wanted = engine or base.engine
    store = PointStore(out) if out is not None else None
    before = store.manifest() if store is not None and resume else None
    if seed is not None:
        root = int(seed)
    elif base.seed is not None:
        root = int(base.seed)
    elif before and before.get("scenario_hash") == digest and before.get("engine") == wanted:
        root = int(before["seed"])  # a seedless scenario resumes with the seed it started
    else:
        root = fresh_seed()
    points = list(make_points(axes, root, f"{digest}\n{wanted}\n{__version__}"))
    validate_points(base, axes, points)

    records: dict[str, dict[str, Any]] = {}
    if store is not None and resume:
        for p in points:
            found = store.load(p.key)
            if found is not None:
                records[p.key] = found
    resumed = len(records)
    todo = [p for p in points if p.key not in records]
    total = len(points)

    def finished(record: dict[str, Any]) -> None:
        records[record["key"]] = record
        if store is not None:
            store.save(record)
        if progress is not None:
            progress(len(records), total)

    if not todo:  # everything was stored: no cluster to start
        workers, scheduler = 0, None
    with connect(workers=workers, scheduler=scheduler, timeout=connect_timeout) as ex:
        if store is not None:
            store.open(
                {
                    "scenario": base.name,
                    "scenario_hash": digest,
                    "engine": wanted,
                    "seed": root,
                    "parameters": [a.text for a in axes],
                    "points": total,
                    "qsim_version": __version__,
                }
            )
        if progress is not None:
            progress(resumed, total)
        n = chunk or chunk_size(len(todo), ex.workers)
        tasks = [
            [(p.key, p.overrides(axes), p.seed) for p in todo[i : i + n]]
            for i in range(0, len(todo), n)
        ]
        ex.map(base, engine, tasks, finished)
        where = ex.where
    result = _assemble(base.name, axes, points, records, root, total - resumed, resumed, where)
    if out is not None:
        result.write(out)
    return result


def _assemble(
    name: str,
    axes: Sequence[Axis],
    points: Sequence[Point],
    records: Mapping[str, dict[str, Any]],
    root: int,
    computed: int,
    resumed: int,
    where: str,
) -> SweepResult:
    columns = [a.parameter.name for a in axes]
    rows: list[list[Any]] = []
    meta: list[list[Any]] = []
    for p in points:
        rec = records[p.key]
        coords = [math.inf if v is None else v for v in p.values]
        rows += [[*coords, *r] for r in rec["rows"]]
        unstable = ",".join(rec["unstable"])
        meta.append([*coords, rec["seed"], rec["engine"], rec["reason"], unstable])
    return SweepResult(
        scenario=name,
        parameters=tuple(columns),
        seed=root,
        table=pd.DataFrame(rows, columns=[*columns, *ROW_COLUMNS]),
        points=pd.DataFrame(meta, columns=[*columns, *POINT_COLUMNS]),
        computed=computed,
        resumed=resumed,
        where=where,
    )
