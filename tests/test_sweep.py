"""qsim sweep: grids, seeds per point, Dask (embedded and a real scheduler), resume, bad input."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from qsim.cli import app
from qsim.engines import run
from qsim.scenario import ScenarioError, loads
from qsim.sweep import SweepError, parse_axis, sweep
from qsim.sweep.points import make_points, scenario_at

TINY = """
name: tiny
seed: 7
duration: 10s
replications: 2
producers: [{name: web, to: orders, rate: 50/s}]
brokers: [{name: rabbit, queues: [{name: orders}]}]
consumers: [{name: workers, queue: orders, instances: 2, service: 20ms}]
"""
# Two consumer pools and a topic: shorthands become ambiguous, per-name paths do not.
WIDE = """
name: wide
seed: 3
duration: 10s
replications: 2
producers:
  - {name: web, to: orders, rate: 20/s}
  - {name: app, to: events, rate: 20/s}
brokers:
  - name: rabbit
    queues: [{name: orders}]
    topics: [{name: events, partitions: 2}]
consumers:
  - {name: workers, queue: orders, instances: 2, service: {dist: gamma, mean: 20ms, scv: 2}}
  - {name: readers, topic: events, instances: 2, service: 10ms}
"""
GRID = ["consumers=2..3", "load=1x,1.5x"]  # 4 points, all stable
runner = CliRunner()


@pytest.fixture(scope="module")
def tiny():
    return loads(TINY)


@pytest.fixture(scope="module")
def wide():
    return loads(WIDE)


@pytest.fixture(scope="module")
def reference(tiny):
    """The grid run in this process: what every other way of running must reproduce."""
    return sweep(tiny, GRID, workers=0)


# ---- grid syntax --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "key", "values"),
    [
        ("consumers=2..6", "consumers.workers.instances", (2, 3, 4, 5, 6)),  # ints, step 1
        ("consumers=2..16:4", "consumers.workers.instances", (2, 6, 10, 14)),  # end not landed on
        ("consumers[0].instances=3", "consumers.workers.instances", (3,)),  # by index
        ("load=1x..4x:0.5x", "load", (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0)),  # multipliers
        ("load=50%,2", "load", (0.5, 2.0)),  # percent and a bare factor
        ("prefetch=1,10,unlimited", "consumers.workers.prefetch", (1, 10, None)),  # a list
        (
            "producers.web.rate=1200/min..60/s:10/s",
            "producers.web.rate",
            (20.0, 30.0, 40.0, 50.0, 60.0),
        ),  # rate units
        ("rate=50/s", "producers.web.rate", (50.0,)),  # the only producer
        (
            "service.mean=10ms..30ms:10ms",
            "consumers.workers.service.mean",
            (0.01, 0.02, 0.03),
        ),  # durations
        (
            "fail_probability=0.1..0.5:0.1",
            "consumers.workers.fail_probability",
            (0.1, 0.2, 0.3, 0.4, 0.5),
        ),  # decimal steps land exactly
        (
            "queues.orders.capacity=5..15:5",
            "queues.orders.capacity",
            (5, 10, 15),
        ),  # a queue inside a broker
        ("capacity=100,unlimited", "queues.orders.capacity", (100, None)),  # unlimited capacity
        (
            "queues.orders.max_bytes=1KiB..3KiB:1KiB",
            "queues.orders.max_bytes",
            (1024, 2048, 3072),
        ),  # sizes
        ("brokers.rabbit.nodes=1..3", "brokers.rabbit.nodes", (1, 2, 3)),  # broker nodes
        ("duration=10s,1m", "duration", (10.0, 60.0)),  # run length
        ("replications=2,5", "replications", (2, 5)),  # replications per point
    ],
)
def test_grid_values(tiny, spec: str, key: str, values: tuple) -> None:
    """Ranges are inclusive with their step, lists keep their order, units become SI."""
    axis = parse_axis(tiny, spec)
    assert axis.parameter.key == key
    assert axis.values == values


def test_per_object_paths(wide) -> None:
    """Objects are named or indexed; a topic's partitions and a gamma service's scv vary."""
    assert parse_axis(wide, "topics.events.partitions=1..4").values == (1, 2, 3, 4)
    assert parse_axis(wide, "partitions=2,8").parameter.path == (
        "brokers",
        0,
        "topics",
        0,
        "partitions",
    )
    assert parse_axis(wide, "consumers.readers.instances=1").parameter.path == (
        "consumers",
        1,
        "instances",
    )
    assert (
        parse_axis(wide, "consumers[1].instances=1").parameter.key == "consumers.readers.instances"
    )
    assert parse_axis(wide, "consumers.workers.service.scv=1,4").parameter.path == (
        "consumers",
        0,
        "service",
        "scv",
    )


def test_cartesian_product_in_grid_order(reference) -> None:
    """Repeated --vary give the Cartesian product, first parameter slowest."""
    assert reference.points[["consumers", "load"]].values.tolist() == [
        [2, 1.0],
        [2, 1.5],
        [3, 1.0],
        [3, 1.5],
    ]
    assert list(reference.table.columns) == [
        "consumers",
        "load",
        "scope",
        "name",
        "metric",
        "value",
        "ci_low",
        "ci_high",
        "n",
    ]
    per_point = reference.table.groupby(["consumers", "load"]).size()
    assert len(per_point) == 4 and per_point.nunique() == 1
    assert (reference.table.n == 2).all()


def test_overrides_apply_to_every_point(tiny) -> None:
    """replications= and duration= overrides reach every point; a bad one names itself."""
    got = sweep(tiny, ["consumers=2,3"], workers=0, replications=3, duration=5.0)
    assert (got.table.n == 3).all()
    with pytest.raises(ScenarioError, match=r"duration: must be > 0, got -1\.0 \(an override"):
        sweep(tiny, ["consumers=2"], workers=0, duration=-1.0)


# ---- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "foo=1",
            r"cannot vary 'foo'; parameters: load, duration.*consumers\.<name>\.instances",
        ),  # unknown name
        ("consumers=16..2", r"consumers=16\.\.2: the range has no points"),  # empty range
        ("consumers=2..4:0", r"the step must be > 0"),  # zero step
        ("load=1x..4x", r"a range of a multiplier .* needs a step"),  # unit range without step
        ("consumers=2.5", r"'2\.5' is not an integer"),  # not an integer
        ("producers.web.rate=fast", r"'fast' is not a rate"),  # not a rate
        ("consumers=2..unlimited", r"'unlimited' is not an integer"),  # ranges are finite
        (
            "consumers.nobody.instances=2",
            r"no consumer pool named 'nobody'; consumer pools: 'workers'",
        ),  # unknown object
        ("consumers[3].instances=2", r"no consumer pool \[3\]; there are 1"),  # index out of range
        (
            "queues.orders.colour=2",
            r"cannot vary 'colour' of queues; queues can vary capacity",
        ),  # unknown field
        (
            "service.scv=1,2",
            r"its service distribution \(exponential\) has no scv",
        ),  # field the dist lacks
        ("consumers=2,2", r"a value is listed twice"),  # duplicates
        ("consumers", r"--vary takes NAME=VALUES"),  # no values
    ],
)
def test_bad_parameters(tiny, spec: str, message: str) -> None:
    """Unknown names, empty ranges and unreadable values are one-line SweepErrors."""
    with pytest.raises(SweepError, match=message) as info:
        sweep(tiny, [spec], workers=0)
    assert "\n" not in str(info.value)


def test_ambiguous_shorthand(wide) -> None:
    """With two consumer pools, `consumers=` asks which one."""
    with pytest.raises(
        SweepError,
        match=r"consumers needs a consumer pool: the scenario has 2 \('workers', 'readers'\)",
    ):
        sweep(wide, ["consumers=1,2"], workers=0)


def test_same_parameter_twice(tiny) -> None:
    """Two spellings of one parameter are refused, naming both."""
    with pytest.raises(
        SweepError, match=r"consumers and consumers\.workers\.instances vary the same"
    ):
        sweep(tiny, ["consumers=1", "consumers.workers.instances=2"], workers=0)


def test_value_refused_by_the_schema(tiny, tmp_path: Path) -> None:
    """A value the scenario refuses is a ScenarioError naming field, parameter and value; nothing is written."""
    out = tmp_path / "out"
    with pytest.raises(
        ScenarioError,
        match=r"consumers\[0\]\.instances: must be >= 1, got 0 \(sweep parameter consumers=0\)",
    ):
        sweep(tiny, ["consumers=0..2"], workers=0, out=out)
    with pytest.raises(
        ScenarioError, match=r"warmup: must be < duration \(sweep parameter warmup=20s\)"
    ):
        sweep(tiny, ["warmup=20s"], workers=0, out=out)
    assert not out.exists()


def test_combination_refused(tiny) -> None:
    """A point whose values clash is named by all its coordinates, with the count of others."""
    with pytest.raises(
        ScenarioError,
        match=r"must be <= nodes \(1\), got 2 \(sweep point brokers\.rabbit\.nodes=1, queues\.orders\.replicas=2\)",
    ):
        sweep(tiny, ["brokers.rabbit.nodes=1,2", "queues.orders.replicas=1,2"], workers=0)


def test_unreachable_scheduler(tiny, tmp_path: Path) -> None:
    """An address where no scheduler listens fails fast with one line, leaving no output folder."""
    out = tmp_path / "out"
    start = time.monotonic()
    with pytest.raises(
        SweepError, match=r"cannot reach the Dask scheduler at 'tcp://127\.0\.0\.1:\d+' within 1 s"
    ):
        sweep(tiny, GRID, scheduler=f"tcp://127.0.0.1:{_free_port()}", connect_timeout=1, out=out)
    assert time.monotonic() - start < 15
    assert not out.exists()
    with pytest.raises(SweepError, match=r"bad Dask scheduler address 'bogus://x'"):
        sweep(tiny, GRID, scheduler="bogus://x")
    with pytest.raises(SweepError, match=r"not both"):
        sweep(tiny, GRID, scheduler="tcp://127.0.0.1:1", workers=2)
    with pytest.raises(SweepError, match=r"engine must be auto, sim or fast, got 'warp'"):
        sweep(tiny, GRID, workers=0, engine="warp")


# ---- seeds --------------------------------------------------------------------------------


def test_point_seeds_depend_on_coordinates_only(tiny) -> None:
    """A point's seed is a function of root seed and coordinates: not of flag order or spelling."""
    a = [parse_axis(tiny, s) for s in ("consumers=1..3", "load=1x,2x")]
    b = [parse_axis(tiny, s) for s in ("load=2x,1x", "consumers.workers.instances=3,2,1")]
    seeds_a = {p.coords: p.seed for p in make_points(a, 7, "salt")}
    seeds_b = {p.coords: p.seed for p in make_points(b, 7, "salt")}
    assert seeds_a == seeds_b
    assert len(set(seeds_a.values())) == 6  # distinct streams
    other_root = {p.coords: p.seed for p in make_points(a, 8, "salt")}
    assert all(other_root[c] != s for c, s in seeds_a.items())


def test_results_independent_of_order(tiny, reference) -> None:
    """Listing the parameters the other way round gives the same numbers at every point."""
    flipped = sweep(tiny, [GRID[1], GRID[0]], workers=0)
    cols = list(reference.table.columns)
    keys = ["consumers", "load", "scope", "name", "metric"]
    a = reference.table.sort_values(keys, kind="stable").reset_index(drop=True)
    b = flipped.table[cols].sort_values(keys, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_point_reproduced_by_run(tiny, reference) -> None:
    """`qsim run --seed <point seed>` at a point's values gives the point's numbers."""
    row = reference.points.iloc[3]
    axes = [parse_axis(tiny, s) for s in GRID]
    scenario = scenario_at(tiny, [(axes[0].parameter.path, 3), (axes[1].parameter.path, 1.5)])
    alone = run(scenario, seed=int(row.seed)).summary
    mine = reference.table[(reference.table.consumers == 3) & (reference.table.load == 1.5)]
    assert mine.value.tolist() == alone.value.tolist()
    assert mine.ci_high.tolist() == alone.ci_high.tolist()


def test_local_cluster_matches_in_process(tiny, reference) -> None:
    """An embedded local Dask cluster of 2 processes gives identical DataFrames."""
    got = sweep(tiny, GRID, workers=2, chunk=1)
    assert got.where == "a local Dask cluster of 2 workers"
    pd.testing.assert_frame_equal(got.table, reference.table)
    pd.testing.assert_frame_equal(got.points, reference.points)


# ---- a real scheduler and workers ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


DASK = Path(sys.executable).with_name("dask")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A `dask scheduler` process on a free loopback port."""
    port = _free_port()
    cmd = [
        str(DASK),
        "scheduler",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-dashboard",
        "--dashboard-address",
        "127.0.0.1:0",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield f"tcp://127.0.0.1:{port}"
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def workers(scheduler: str) -> Iterator[Callable[[int], dict[str, subprocess.Popen]]]:
    """`dask worker` processes (no nanny: killing one kills its tasks), topped up on demand."""
    from distributed import Client

    procs: dict[str, subprocess.Popen] = {}

    def ensure(n: int) -> dict[str, subprocess.Popen]:
        """At least ``n`` live workers, by name."""
        alive = {k: p for k, p in procs.items() if p.poll() is None}
        for i in range(n - len(alive)):
            name = f"w{len(procs) + i}"
            cmd = [
                str(DASK),
                "worker",
                scheduler,
                "--name",
                name,
                "--no-nanny",
                "--nthreads",
                "1",
                "--host",
                "127.0.0.1",
                "--no-dashboard",
                "--dashboard-address",
                "127.0.0.1:0",
                "--death-timeout",
                "60",
            ]
            alive[name] = subprocess.Popen(
                cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        procs.update(alive)
        with Client(scheduler, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(len(alive), timeout=60)
        return alive

    try:
        yield ensure
    finally:
        for proc in procs.values():
            _stop(proc)


def test_real_scheduler_and_worker(tiny, reference, scheduler, workers, tmp_path: Path) -> None:
    """A sweep on a `dask scheduler` + `dask worker`s on loopback matches the in-process one."""
    workers(2)
    got = sweep(tiny, GRID, scheduler=scheduler, out=tmp_path / "out")
    assert got.where == f"the Dask cluster at {scheduler}"
    pd.testing.assert_frame_equal(got.table, reference.table)
    written = pd.read_parquet(tmp_path / "out" / "sweep.parquet")
    assert written.value.tolist() == reference.table.value.tolist()


def test_worker_killed_mid_sweep(tiny, scheduler, workers) -> None:
    """Killing a worker while it runs a task loses no point and changes no number."""
    from distributed import Client

    grid = ["consumers=2..5", "load=1x,1.25x"]  # 8 points, one per task
    expected = sweep(tiny, grid, workers=0, duration=40.0, engine="sim")
    procs = workers(2)
    killed: list[str] = []
    with Client(scheduler, timeout=30, set_as_default=False) as client:

        def kill_a_busy_worker(done: int, total: int) -> None:
            if killed or done < 1:
                return
            info = client.scheduler_info()["workers"]
            for addr, keys in client.processing().items():
                if keys and addr in info:
                    name = info[addr]["name"]
                    procs[name].kill()
                    killed.append(name)
                    return

        got = sweep(
            tiny,
            grid,
            scheduler=scheduler,
            chunk=1,
            duration=40.0,
            engine="sim",
            progress=kill_a_busy_worker,
        )
    assert killed, "no worker was busy when the first point finished"
    assert procs[killed[0]].wait(10) is not None
    assert got.computed == 8 and len(got.points) == 8
    pd.testing.assert_frame_equal(got.table, expected.table)


# ---- resume -------------------------------------------------------------------------------


class Interrupted(Exception):
    pass


def test_interrupted_sweep_resumes(tiny, reference, tmp_path: Path) -> None:
    """An interrupted sweep keeps whole finished points only; the rerun computes just the rest."""
    out = tmp_path / "out"

    def stop_after_two(done: int, total: int) -> None:
        if done == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        sweep(tiny, GRID, workers=0, out=out, progress=stop_after_two)
    assert len(list((out / "points").glob("*.json"))) == 2
    assert not list(out.rglob("*.tmp")) and not (out / "sweep.csv").exists()
    seen: list[tuple[int, int]] = []
    again = sweep(tiny, GRID, workers=0, out=out, progress=lambda d, t: seen.append((d, t)))
    assert (again.resumed, again.computed) == (2, 2)
    assert seen[0] == (2, 4) and seen[-1] == (4, 4)
    pd.testing.assert_frame_equal(again.table, reference.table)
    assert sorted(p.name for p in out.iterdir()) == [
        "points",
        "points.csv",
        "sweep.csv",
        "sweep.json",
        "sweep.parquet",
    ]


def test_stored_points_are_not_recomputed(tiny, reference, tmp_path: Path) -> None:
    """Points already in DIR/points are read back, not run again; the others are run."""
    full = tmp_path / "full"
    sweep(tiny, GRID, workers=0, out=full)
    part = tmp_path / "part"
    (part / "points").mkdir(parents=True)
    stored = sorted((full / "points").glob("*.json"))[:2]
    for path in stored:  # mark the stored copies: a recomputed point would lose the mark
        record = json.loads(path.read_text())
        record["rows"] = [[*r[:3], -1.0, *r[4:]] for r in record["rows"]]
        (part / "points" / path.name).write_text(json.dumps(record))
    got = sweep(tiny, GRID, workers=0, out=part)
    assert (got.resumed, got.computed) == (2, 2)
    marked = got.table.groupby(["consumers", "load"]).value.apply(lambda v: bool((v == -1.0).all()))
    assert marked.sum() == 2
    fresh = got.table.merge(marked[~marked].reset_index()[["consumers", "load"]])
    want = reference.table.merge(marked[~marked].reset_index()[["consumers", "load"]])
    pd.testing.assert_frame_equal(fresh, want)
    redo = sweep(tiny, GRID, workers=0, out=part, resume=False)
    assert redo.computed == 4
    pd.testing.assert_frame_equal(redo.table, reference.table)


def test_seedless_scenario_resumes_with_its_seed(tmp_path: Path) -> None:
    """Without a seed, a fresh root seed is logged in sweep.json and reused on resume."""
    seedless = loads(TINY.replace("seed: 7\n", ""))
    out = tmp_path / "out"

    def stop(done: int, total: int) -> None:
        if done == 1:
            raise Interrupted

    with pytest.raises(Interrupted):
        sweep(seedless, ["consumers=2,3"], workers=0, out=out, progress=stop)
    root = json.loads((out / "sweep.json").read_text())["seed"]
    again = sweep(seedless, ["consumers=2,3"], workers=0, out=out)
    assert again.seed == root and again.resumed == 1
    direct = sweep(seedless, ["consumers=2,3"], workers=0, seed=root)
    pd.testing.assert_frame_equal(again.table, direct.table)


# ---- CLI and imports ----------------------------------------------------------------------


def test_cli_sweep_writes_tables(tiny, reference, tmp_path: Path) -> None:
    """`qsim sweep` prints one row per point and writes CSV and Parquet with the same table."""
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    out = tmp_path / "out"
    args = [
        "sweep",
        str(path),
        "--vary",
        GRID[0],
        "--vary",
        GRID[1],
        "--workers",
        "0",
        "--out",
        str(out),
    ]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output + r.stderr
    assert "tiny: 4 points (4 run on this process)" in r.output and "response p99" in r.output
    csv = pd.read_csv(out / "sweep.csv")
    parquet = pd.read_parquet(out / "sweep.parquet")
    assert csv.value.tolist() == parquet.value.tolist() == reference.table.value.tolist()
    assert list(parquet.columns) == list(reference.table.columns)
    r = runner.invoke(app, args)
    assert r.exit_code == 0 and "4 reused from" in r.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--vary", "foo=1"],
            "qsim: error: cannot vary 'foo'; parameters: load",
        ),  # unknown parameter
        (["--vary", "consumers=3..1"], "the range has no points"),  # empty range
        (
            ["--vary", "consumers=0"],
            "consumers[0].instances: must be >= 1, got 0 (sweep parameter consumers=0)",
        ),  # refused value
        ([], "a sweep needs at least one parameter to vary"),  # nothing to vary
        (
            [
                "--vary",
                "consumers=2",
                "--scheduler",
                "tcp://127.0.0.1:{port}",
                "--connect-timeout",
                "1",
            ],
            "cannot reach the Dask scheduler",
        ),  # unreachable
    ],
)
def test_cli_bad_input(tmp_path: Path, args: list[str], message: str) -> None:
    """Bad sweeps exit 2 with one line on stderr and write nothing."""
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    out = tmp_path / "out"
    args = [a.replace("{port}", str(_free_port())) for a in args]
    r = runner.invoke(app, ["sweep", str(path), *args, "--out", str(out)])
    assert r.exit_code == 2
    assert message in r.stderr and r.stderr.count("\n") == 1
    assert not out.exists()


def test_cli_scheduler_from_environment(tmp_path: Path) -> None:
    """QSIM_SCHEDULER names the cluster when --scheduler and --workers are not given."""
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    address = f"tcp://127.0.0.1:{_free_port()}"
    r = runner.invoke(
        app,
        ["sweep", str(path), "--vary", "consumers=2", "--connect-timeout", "1"],
        env={"QSIM_SCHEDULER": address},
    )
    assert r.exit_code == 2 and address in r.stderr


def test_dask_is_imported_lazily() -> None:
    """No qsim.sweep module imports dask or distributed at module level (`import qsim` stays light)."""
    import ast

    import qsim.sweep

    for path in Path(qsim.sweep.__file__).parent.glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            assert not any(n.split(".")[0] in ("dask", "distributed") for n in names), path.name


def test_copying_points_between_folders_is_safe(tiny, tmp_path: Path) -> None:
    """Points stored for another scenario are never reused: keys cover the scenario."""
    a = tmp_path / "a"
    sweep(tiny, ["consumers=2"], workers=0, out=a)
    other = loads(TINY.replace("rate: 50/s", "rate: 40/s"))
    b = tmp_path / "b"
    shutil.copytree(a, b)
    got = sweep(other, ["consumers=2"], workers=0, out=b)
    assert (got.resumed, got.computed) == (0, 1)
