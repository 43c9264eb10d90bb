"""The ``qsim`` command: a thin shell over the library (parse, call, format).

Nothing imports this module; it holds no queueing logic. Errors the user can fix are
printed on one line to stderr with exit code 2, never as a traceback.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from qsim.analytic.solve import MODELS, solve
from qsim.errors import QsimError
from qsim.scenario.units import parse_duration, parse_rate

app = typer.Typer(
    name="qsim",
    help="Queueing solvers, simulation and capacity planning for message-driven systems.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)

# Options several commands share.
ReplicationsOption = Annotated[
    int | None, typer.Option("--replications", "-r", min=1, help="Override replications.")
]
DurationOption = Annotated[
    str | None, typer.Option("--duration", "-d", help="Override simulated time, e.g. 10m.")
]
SeedOption = Annotated[int | None, typer.Option("--seed", min=0, help="Override the seed.")]
EngineOption = Annotated[
    str | None, typer.Option("--engine", help="auto, sim or fast (default: the file's).")
]


def _check_engine(engine: str | None) -> None:
    if engine is not None and engine not in ("auto", "sim", "fast"):
        _fail(f"--engine must be auto, sim or fast, got {engine!r}")


@contextmanager
def _counting(label: str, show: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A transient progress bar on stderr (only on a terminal) counting ``label``;
    yields the ``progress(done, total)`` callback the library calls."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    err = Console(stderr=True)
    with Progress(
        TextColumn(label),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        disable=not (show and err.is_terminal),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@contextmanager
def _spinner(first: str) -> Iterator[Callable[[str], None]]:
    """A transient spinner on stderr (only on a terminal); yields ``say(text)``."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    err = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,
        transient=True,
    ) as bar:
        task = bar.add_task(first, total=None)
        yield lambda text: bar.update(task, description=text)


_MODEL_LINES = "\n".join(f"[bold]{k}[/bold]: {v.summary}\n" for k, v in MODELS.items())

# CLI option -> solver keyword
_OPTION_OF = {
    "arrival_rate": "--arrival-rate",
    "service_rate": "--service-rate",
    "service_mean": "--service-mean",
    "service_scv": "--service-scv",
    "arrival_scv": "--arrival-scv",
    "servers": "--servers",
    "capacity": "--capacity",
    "patience_mean": "--patience-mean",
}


def _print_version(value: bool) -> None:
    if value:
        from qsim import __version__

        typer.echo(f"qsim {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """qsim: how long messages wait, what is lost, and how many consumers you need."""


def _fail(message: str) -> NoReturn:
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"qsim: error: {message}", markup=False
    )
    raise typer.Exit(2)


def _time_unit(seconds: float) -> tuple[str, float]:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(seconds) >= scale:
            return unit, scale
    return "ns", 1e-9


def _fmt_time(seconds: float, like: float | None = None) -> str:
    """Seconds in a readable unit (the unit of ``like`` when given)."""
    if math.isnan(seconds):
        return "-"
    if math.isinf(seconds):
        return "inf"
    if seconds == 0 and like is None:
        return "0"
    unit, scale = _time_unit(like if like is not None and like != 0 else seconds)
    return f"{seconds / scale:.4g} {unit}"


def _fmt(x: float, like: float | None = None) -> str:
    if math.isnan(x):
        return "-"
    return "inf" if math.isinf(x) else f"{x:.{4 if like is not None else 6}g}"


def _json_value(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None  # JSON has no inf: null, with "stable": false beside it
    return x


@app.command(
    name="solve",
    help="Solve a queueing model analytically and print its steady-state metrics.\n\n"
    "MODEL is one of:\n\n" + _MODEL_LINES + "\nRates take units (1200/s, 50/ms, 3000/min; "
    "a bare number is per second); times too (20ms, 1.5s, 2m).",
)
def solve_cmd(
    model: Annotated[str, typer.Argument(help="Model name (listed above).", show_default=False)],
    arrival_rate: Annotated[
        str | None, typer.Option("--arrival-rate", "-l", help="Arrival rate, e.g. 1200/s.")
    ] = None,
    service_rate: Annotated[
        str | None, typer.Option("--service-rate", help="Per-consumer service rate, e.g. 50/s.")
    ] = None,
    service_mean: Annotated[
        str | None, typer.Option("--service-mean", help="Mean service time, e.g. 20ms.")
    ] = None,
    servers: Annotated[int | None, typer.Option("--servers", "-c", help="Consumers c.")] = None,
    capacity: Annotated[
        str | None, typer.Option("--capacity", "-K", help="Most messages in system K, or inf.")
    ] = None,
    service_scv: Annotated[
        float | None, typer.Option("--service-scv", help="Service time SCV (variance/mean^2).")
    ] = None,
    arrival_scv: Annotated[
        float | None, typer.Option("--arrival-scv", help="Inter-arrival time SCV.")
    ] = None,
    patience_mean: Annotated[
        str | None, typer.Option("--patience-mean", help="Mean patience (Erlang A), e.g. 30s.")
    ] = None,
    quantiles: Annotated[
        str, typer.Option("--quantiles", "-q", help="Comma-separated probabilities.")
    ] = "0.5,0.95,0.99",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    try:
        params: dict[str, Any] = {}
        if arrival_rate is not None:
            params["arrival_rate"] = parse_rate(arrival_rate, name="--arrival-rate")
        if service_rate is not None:
            params["service_rate"] = parse_rate(service_rate, name="--service-rate")
        if service_mean is not None:
            params["service_mean"] = parse_duration(service_mean, name="--service-mean")
        if servers is not None:
            params["servers"] = servers
        if capacity is not None:
            params["capacity"] = math.inf if capacity.strip().lower() == "inf" else float(capacity)
        if service_scv is not None:
            params["service_scv"] = service_scv
        if arrival_scv is not None:
            params["arrival_scv"] = arrival_scv
        if patience_mean is not None:
            params["patience_mean"] = parse_duration(patience_mean, name="--patience-mean")
        probs = _parse_quantiles(quantiles)
        spec = MODELS.get(model)
        if spec is None:
            _fail(f"unknown model {model!r}; known models: {', '.join(MODELS)}")
        allowed = set(spec.parameters)
        for key in params:
            if key not in allowed:
                takes = ", ".join(_OPTION_OF.get(a, a) for a in spec.parameters)
                _fail(f"{_OPTION_OF[key]} is not used by model {model!r}; it takes {takes}")
        result = solve(model, **params)
        qs = _quantiles(result, probs)
    except (QsimError, ValueError) as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(_as_json(model, result, qs), indent=2, allow_nan=False))
    else:
        _print_table(model, result, qs)


def _parse_quantiles(text: str) -> list[float]:
    try:
        probs = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        _fail(f"--quantiles must be comma-separated probabilities in (0, 1), got {text!r}")
    if not probs or any(not 0 < p < 1 for p in probs):
        _fail(f"--quantiles must be comma-separated probabilities in (0, 1), got {text!r}")
    return probs


def _quantiles(result: Any, probs: list[float]) -> dict[str, dict[float, float]]:
    out: dict[str, dict[float, float]] = {}
    for kind in ("wait", "response"):
        try:
            fn = getattr(result, f"{kind}_quantile")
            out[kind] = {p: float(fn(p)) for p in probs}
        except (NotImplementedError, AttributeError):
            continue
    return out


_ROWS = (
    ("utilization", "utilization (rho)", _fmt),
    ("busy_fraction", "busy fraction", _fmt),
    ("throughput", "throughput (msg/s)", _fmt),
    ("p_wait", "P(wait)", _fmt),
    ("p_block", "P(block)", _fmt),
    ("p_abandon", "P(abandon)", _fmt),
    ("Wq", "mean wait Wq", _fmt_time),
    ("W", "mean response W", _fmt_time),
    ("Lq", "mean queue length Lq", _fmt),
    ("L", "mean in system L", _fmt),
)


def _print_table(model: str, result: Any, qs: dict[str, dict[float, float]]) -> None:
    console = Console(highlight=False)
    stable = bool(getattr(result, "stable", True))
    title = f"{model} ({result.method})"
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for field, label, fmt in _ROWS:
        if hasattr(result, field):
            table.add_row(label, fmt(float(getattr(result, field))))
    for kind, values in qs.items():
        for p, v in values.items():
            table.add_row(f"{kind} p{100 * p:g}", _fmt_time(v))
    console.print(table)
    if not stable:
        console.print(
            f"[bold red]unstable[/bold red]: utilization {float(result.utilization):.4g} >= 1; "
            "the backlog grows without bound, so no steady-state wait or response exists."
        )
    qm = getattr(result, "quantile_method", "exact")
    if qs and qm not in (None, "exact"):
        console.print(f"quantiles: {qm}")


def _as_json(model: str, result: Any, qs: dict[str, dict[float, float]]) -> dict[str, Any]:
    metrics = {
        k: _json_value(float(v) if not isinstance(v, bool) else v)
        for k, v in result.as_dict().items()
        if k != "method"
    }
    return {
        "model": model,
        "method": result.method,
        "stable": bool(result.stable),
        "metrics": metrics,
        "quantiles": {
            kind: {f"{p:g}": _json_value(v) for p, v in values.items()}
            for kind, values in qs.items()
        },
        "quantile_method": getattr(result, "quantile_method", None),
        "units": "seconds for times, messages per second for rates",
    }


# ---- scenarios -------------------------------------------------------------------------


def _load(path: Path) -> Any:
    from qsim.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(path)
    except ScenarioError as exc:
        Console(stderr=True, highlight=False, soft_wrap=True).print(str(exc), markup=False)
        raise typer.Exit(2) from None


@app.command(help="Check scenario files without running them (exit 2 on any error).")
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Scenario YAML files.", show_default=False)],
) -> None:
    from qsim.scenario import ScenarioError, load_scenario

    console = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    failed = 0
    for path in paths:
        try:
            sc = load_scenario(path)
        except ScenarioError as exc:
            failed += 1
            err.print(str(exc), markup=False)
            continue
        dests = sum(len(b.queues) + len(b.exchanges) + len(b.topics) for b in sc.brokers)
        parts = [
            f"{len(sc.producers)} producers",
            f"{dests} destinations",
            f"{len(sc.consumers)} consumers",
        ]
        console.print(f"ok: {path} ({sc.name}): {', '.join(parts)}", markup=False)
    if failed:
        raise typer.Exit(2)


_RUN_COLUMNS = (
    ("throughput", "throughput (msg/s)", _fmt),
    ("utilization", "utilization", _fmt),
    ("wait_mean", "wait mean", _fmt_time),
    ("wait_p95", "wait p95", _fmt_time),
    ("wait_p99", "wait p99", _fmt_time),
    ("response_mean", "response mean", _fmt_time),
    ("response_p50", "response p50", _fmt_time),
    ("response_p95", "response p95", _fmt_time),
    ("response_p99", "response p99", _fmt_time),
    ("queue_length_mean", "messages waiting", _fmt),
    ("loss_rate", "loss rate", _fmt),
)


def _with_ci(e: Any, fmt: Any) -> str:
    if not math.isfinite(e.half_width):
        return fmt(e.mean, e.mean)
    return f"{fmt(e.mean, e.mean)} ± {fmt(e.half_width, e.mean).split()[0]}"


@app.command(help="Simulate a scenario and print its metrics with 95% confidence intervals.")
def run(
    path: Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)],
    replications: ReplicationsOption = None,
    duration: DurationOption = None,
    seed: SeedOption = None,
    engine: EngineOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write CSV tables and summary.json here.")
    ] = None,
) -> None:
    from qsim.engines import run as run_scenario

    scenario = _load(path)
    _check_engine(engine)
    try:
        secs = parse_duration(duration, name="--duration") if duration is not None else None
        with _counting("replications", show=not as_json) as progress:
            result = run_scenario(
                scenario,
                engine=engine,
                seed=seed,
                replications=replications,
                duration=secs,
                progress=progress,
            )
    except (QsimError, ValueError) as exc:
        _fail(str(exc))
    if out is not None:
        result.write(out)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2, allow_nan=False))
        return
    _print_run(result, out)


def _print_run(result: Any, out: Path | None) -> None:
    from qsim.slo import location

    console = Console(highlight=False)
    console.print(
        f"[bold]{result.scenario}[/bold]: engine {result.engine} ({result.reason}), "
        f"{result.replications} replications of {_fmt_time(result.duration)} "
        f"(warm-up {_fmt_time(result.warmup)}), seed {result.seed}"
    )
    names = result.queue_names()
    estimates = {n: result.queue(n) for n in names}
    table = Table(title="queues: value ± 95% CI half-width", header_style="bold")
    table.add_column("metric")
    for name in names:
        table.add_column(name, justify="right")
    for m, label, f in _RUN_COLUMNS:
        table.add_row(
            label, *[_with_ci(estimates[n][m], f) if m in estimates[n] else "-" for n in names]
        )
    counts = ("rejected", "dropped", "expired", "dead_lettered", "lost", "retried", "duplicated")
    for m in counts:
        if any(m in estimates[n] and estimates[n][m].mean > 0 for n in names):
            table.add_row(
                m, *[_with_ci(estimates[n][m], _fmt) if m in estimates[n] else "-" for n in names]
            )
    console.print(table)
    paths = result.summary[result.summary.scope == "path"]
    if not paths.empty:
        pt = Table(title="end to end (producer -> last consumer)", header_style="bold")
        for col in ("path", "resp mean", "resp p95", "resp p99"):
            pt.add_column(col, justify="left" if col == "path" else "right")
        for name in dict.fromkeys(paths.name):
            cells = []
            for m in ("response_mean", "response_p95", "response_p99"):
                try:
                    cells.append(_with_ci(result.estimate("path", name, m), _fmt_time))
                except KeyError:
                    cells.append("-")
            pt.add_row(name, *cells)
        console.print(pt)
    if not result.theory.empty:
        tt = Table(
            title="theory check (exact models; every metric in --json / --out)",
            header_style="bold",
        )
        for col in ("queue", "model", "metric", "theory", "simulated [95% CI]", ""):
            tt.add_column(col)
        shown = {"wait_mean", "response_mean", "in_system_mean", "loss_rate", "response_p99"}
        for r in result.theory.itertuples():
            if r.metric not in shown:
                continue
            fmt = _fmt_time if ("wait" in r.metric or "response" in r.metric) else _fmt
            if not math.isfinite(r.theory):
                mark = "[red]no steady state[/red]"
            elif r.within_ci:
                mark = "[green]ok[/green]"
            else:
                mark = "[yellow]outside CI[/yellow]"
            tt.add_row(
                r.name,
                r.model,
                r.metric,
                fmt(r.theory),
                f"{fmt(r.value)} [{fmt(r.ci_low)}, {fmt(r.ci_high)}]",
                mark,
            )
        console.print(tt)
    if not result.slo.empty:
        st = Table(title="service-level objectives (judged by the 95% CI)", header_style="bold")
        for col in ("target", "limit", "where", "simulated [95% CI]", "verdict"):
            st.add_column(col)
        colors = {"met": "green", "uncertain": "yellow", "missed": "red"}
        for r in result.slo.itertuples():
            is_time = "response" in r.metric or "wait" in r.metric
            fmt = _fmt_time if is_time else _fmt
            where = location(r.scope, r.name)
            color = colors.get(r.verdict, "white")
            st.add_row(
                r.target,
                fmt(r.limit),
                where,
                f"{fmt(r.value)} [{fmt(r.ci_low)}, {fmt(r.ci_high)}]",
                f"[{color}]{r.verdict}[/{color}]",
            )
        console.print(st)
    for name, growth in result.unstable.items():
        console.print(
            f"[bold red]unstable[/bold red]: {name}: the backlog grows by about "
            f"{growth:.4g} messages/s; its means and percentiles describe this run only, "
            "not a steady state."
        )
    if out is not None:
        console.print(f"tables written to {out}/")


@app.command(
    name="sweep",
    help="Run a scenario over a grid of parameters, on Dask, and write one tidy table.\n\n"
    "--vary NAME=VALUES, repeated for a grid: consumers=2..16, consumers=2..16:2, "
    "load=1x..4x:0.5x, prefetch=1,10,unlimited, producers.web.rate=100/s..400/s:100/s, "
    "queues.orders.capacity=..., topics.events.partitions=..., brokers.rabbit.nodes=... "
    "Points run on a local Dask cluster (one process per CPU), on --scheduler "
    "(or $QSIM_SCHEDULER), or in this process with --workers 0. With --out, finished "
    "points are kept there and a rerun resumes where it stopped.",
)
def sweep_cmd(
    path: Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)],
    vary: Annotated[
        list[str] | None, typer.Option("--vary", "-v", help="NAME=VALUES; repeat for a grid.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for sweep.csv, sweep.parquet.")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            "-w",
            help="Local Dask worker processes (default: one per CPU); 0: no Dask.",
        ),
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Running Dask scheduler, tcp://HOST:PORT.")
    ] = None,
    replications: ReplicationsOption = None,
    duration: DurationOption = None,
    seed: SeedOption = None,
    engine: EngineOption = None,
    chunk: Annotated[int | None, typer.Option("--chunk", help="Points per Dask task.")] = None,
    connect_timeout: Annotated[
        float, typer.Option("--connect-timeout", help="Seconds to reach --scheduler.")
    ] = 5.0,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Recompute points already stored in --out.")
    ] = False,
) -> None:
    from qsim.scenario import ScenarioError
    from qsim.sweep import sweep

    scenario = _load(path)
    _check_engine(engine)
    try:
        secs = parse_duration(duration, name="--duration") if duration is not None else None
        with _counting("points") as progress:
            result = sweep(
                scenario,
                vary or [],
                engine=engine,
                seed=seed,
                replications=replications,
                duration=secs,
                workers=workers,
                scheduler=scheduler,
                out=out,
                resume=not fresh,
                chunk=chunk,
                connect_timeout=connect_timeout,
                progress=progress,
            )
    except ScenarioError as exc:
        _fail("; ".join(str(issue) for issue in exc.issues))
    except (QsimError, ValueError, ImportError) as exc:
        _fail(str(exc))
    _print_sweep(result, out)


def _print_sweep(result: Any, out: Path | None) -> None:
    console = Console(highlight=False)
    done = f"{result.computed} run on {result.where}"
    if result.resumed:
        done += f", {result.resumed} reused from {out}"
    console.print(
        f"[bold]{result.scenario}[/bold]: {len(result.points)} points ({done}), "
        f"root seed {result.seed}"
    )
    t = result.table
    system = t[t.scope == "system"]
    table = Table(title="end to end: value [95% CI]", header_style="bold")
    for col in (*result.parameters, "response p99", "loss rate", "unstable"):
        table.add_column(col, justify="left" if col == "unstable" else "right")
    k = len(result.parameters)
    cells: dict[tuple[Any, ...], dict[str, str]] = {}
    wanted = system[system.metric.isin(["response_p99", "loss_rate"])]
    for row in wanted.itertuples(index=False, name=None):
        at, (_, _, metric, value, low, high, _) = row[:k], row[k:]
        fmt = _fmt_time if metric == "response_p99" else _fmt
        cells.setdefault(at, {})[metric] = f"{fmt(value)} [{fmt(low)}, {fmt(high)}]"
    for p in result.points.itertuples(index=False, name=None):
        got = cells.get(p[:k], {})
        unstable = p[-1]
        table.add_row(
            *(_fmt(float(v)) for v in p[:k]),
            got.get("response_p99", "-"),
            got.get("loss_rate", "-"),
            unstable or "",
        )
    console.print(table)
    if out is not None:
        console.print(f"tables written to {out}/ (sweep.csv, sweep.parquet, points.csv)")


_REPORT_LOADS = "0.5,0.75,1,1.25,1.5,1.75,2"


@app.command(
    name="report",
    help="Write a self-contained HTML capacity report (figures embedded; opens offline).\n\n"
    "It runs the scenario, a load sweep in this process (--loads, multiples of the "
    "scenario's load, same seed at every load) for response versus load, and the capacity "
    "plan when the scenario has a plan: block. --assets also writes each figure as PNG "
    "beside the HTML.",
)
def report_cmd(
    path: Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="HTML file to write.", show_default=False)
    ],
    assets: Annotated[
        bool, typer.Option("--assets", help="Also write each figure as PNG beside the HTML.")
    ] = False,
    seed: SeedOption = None,
    replications: ReplicationsOption = None,
    duration: DurationOption = None,
    engine: EngineOption = None,
    loads: Annotated[
        str, typer.Option("--loads", help="Load multiples to sweep, comma-separated; none: skip.")
    ] = _REPORT_LOADS,
    sweep_replications: Annotated[
        int | None,
        typer.Option("--sweep-replications", min=1, help="Replications per load (default 3)."),
    ] = None,
) -> None:
    from datetime import UTC, datetime

    from qsim.engines import run as run_scenario
    from qsim.report import write_report
    from qsim.scenario import ScenarioError
    from qsim.scenario.units import parse_multiplier

    scenario = _load(path)
    _check_engine(engine)
    if not output.parent.is_dir():
        _fail(f"cannot write {output}: the folder {output.parent} does not exist")
    try:
        multiples = (
            []
            if loads.strip().lower() in ("", "none")
            else [parse_multiplier(x, name="--loads") for x in loads.split(",") if x.strip()]
        )
        secs = parse_duration(duration, name="--duration") if duration is not None else None
        scenario = _report_scenario(scenario, duration=secs, replications=replications)
        with _spinner("capacity plan") as say:
            plan_result, subject, notes = _report_plan(scenario, seed, engine)
            if plan_result is not None:
                seed = plan_result.seed if seed is None else seed
                for m in (plan_result.headroom_multiple, plan_result.breaks_at):
                    if math.isfinite(m):
                        multiples.append(m)  # the sweep reaches the plan's headroom
            say("running the scenario")
            result = run_scenario(subject, engine=engine, seed=seed)
            table = _report_sweep(
                subject,
                sorted(set(multiples)),
                sweep_replications or min(3, result.replications),
                dict(engine=engine, seed=result.seed),
                say,
            )
            say("drawing the report")
            command = f"qsim report {path} -o {output} --seed {result.seed}"
            command += f" --replications {scenario.replications} --loads {loads}"
            if secs is not None:
                command += f" --duration {duration}"
            written = write_report(
                result,
                output,
                scenario=subject,
                sweep=table,
                plan=plan_result,
                notes=notes,
                assets=assets,
                command=command,
                generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            )
    except ScenarioError as exc:
        _fail("; ".join(str(issue) for issue in exc.issues))
    except (QsimError, ValueError, OSError) as exc:
        _fail(str(exc))
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"report written to {written[0]}", markup=False)
    if len(written) > 1:
        console.print(f"{len(written) - 1} figures written beside it as PNG", markup=False)


def _report_scenario(scenario: Any, **updates: Any) -> Any:
    """The scenario with some fields replaced (None: keep), validated again.

    Dumped with ``exclude_unset`` so fields allowed only in some settings stay unset.
    """
    data = scenario.model_dump(exclude_unset=True)
    data.update({k: v for k, v in updates.items() if v is not None})
    if updates.get("duration") is not None and scenario.warmup >= updates["duration"]:
        data["warmup"] = 0.0
    return type(scenario).model_validate(data)


def _report_plan(scenario: Any, seed: int | None, engine: str | None) -> tuple[Any, Any, list[str]]:
    """The plan (when the scenario has a ``plan:`` block), the scenario the report then
    describes (the recommendation at the planned load when one is found), and notes."""
    if getattr(scenario, "plan", None) is None:
        return None, scenario, []
    try:
        from qsim._plan_space import scenario_at
        from qsim.planning import plan
    except ImportError:
        return None, scenario, ["The capacity plan was skipped: this qsim build cannot plan."]
    result = plan(scenario, seed=seed, engine=engine or scenario.engine)
    if not result.feasible:
        note = "The tables and figures describe the scenario as written (no recommendation)."
        return result, scenario, [note]
    subject = scenario_at(
        scenario.model_dump(exclude_unset=True),
        scenario.plan.variables,
        result.config,
        load=result.load,
        replications=scenario.replications,
    )
    note = (
        f"The tables and figures below describe the recommended configuration at the "
        f"planned load ({result.load:g}x the producers' rates)."
    )
    return result, subject, [note]


def _report_sweep(
    scenario: Any, multiples: list[float], replications: int, options: dict[str, Any], say: Any
) -> Any:
    """The scenario at each load multiple: ``load`` then the run's summary columns.

    Every load runs with the same seed (common random numbers), so the curve is smooth
    in load rather than jittered by independent noise at each point.
    """
    if not multiples:
        return None
    import pandas as pd

    from qsim.engines import run as run_scenario

    frames = []
    for i, m in enumerate(multiples):
        say(f"load sweep {i + 1}/{len(multiples)}")
        load = scenario.load * m
        at = _report_scenario(scenario, load=load, replications=replications)
        frame = run_scenario(at, **options).summary
        frame = frame.drop(columns=["level"])
        frame.insert(0, "load", load)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@app.command(
    name="plan",
    help="Find the cheapest configuration of the scenario's plan: variables that meets every "
    "target of its slo: block with 95% confidence, and its headroom.\n\n"
    "Prints the recommendation, the runners-up, the binding SLO and the headroom (the load "
    "multiple at which the recommendation first breaks an SLO). Exit code 1 when nothing in "
    "range meets the SLOs, 2 on bad input.",
)
def plan_cmd(
    path: Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)],
    seed: SeedOption = None,
    engine: Annotated[
        str, typer.Option("--engine", help="auto (fast where it applies), sim or fast.")
    ] = "auto",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write evaluated.csv (every simulated point) and tables here."),
    ] = None,
) -> None:
    from qsim.planning import plan

    scenario = _load(path)
    _check_engine(engine)
    try:
        with _spinner("planning") as say:
            result = plan(
                scenario,
                seed=seed,
                engine=engine,
                progress=lambda done, note: say(f"[{done}] {note}"),
            )
    except (QsimError, ValueError) as exc:
        _fail(str(exc))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name in ("evaluated", "recommended", "runners_up", "binding", "headroom", "bounds"):
            getattr(result, name).to_csv(out / f"{name}.csv", index=False)
        result.headroom_runs.to_csv(out / "headroom_runs.csv", index=False)
    _print_plan(result, out)
    if not result.feasible:
        raise typer.Exit(1)


_PLAN_COLUMNS = ("cost_per_hour", "extra_cost", "meets", "target", "why")


def _slo_fmt(target: str) -> Any:
    return _fmt_time if ("response" in target or "wait" in target) else _fmt


def _print_plan(result: Any, out: Path | None) -> None:
    console = Console(highlight=False)
    console.print(
        f"[bold]{result.scenario}[/bold]: plan at {result.load:g}x today's rates; engine "
        f"{result.engine}, {result.replications} replications per point, "
        f"{result.confirm_replications} to confirm, seed {result.seed}"
    )
    names = [c for c in result.runners_up.columns if c not in _PLAN_COLUMNS]
    if result.feasible:
        rec = result.recommended.iloc[0]
        table = Table(title="recommended configuration", header_style="bold")
        for col in ("variable", "value"):
            table.add_column(col, justify="left" if col == "variable" else "right")
        for name in names:
            table.add_row(name, str(int(rec[name])))
        console.print(table)
        console.print(f"cost: [bold]{result.cost_per_hour:.4g}/h[/bold]")
    else:
        console.print(result.infeasible_reason, style="bold red", markup=False)
    if not result.runners_up.empty:
        ru = Table(title="runners-up", header_style="bold")
        for col in (*names, "cost/h", "why not"):
            ru.add_column(col, justify="left" if col == "why not" else "right")
        for _, r in result.runners_up.iterrows():
            ru.add_row(*[str(int(r[n])) for n in names], _fmt(r.cost_per_hour), str(r.why))
        console.print(ru)
    if not result.binding.empty:
        title = "SLOs at the recommendation" if result.feasible else "SLOs at the best point"
        st = Table(title=f"{title} (judged by the 95% CI)", header_style="bold")
        for col in ("target", "limit", "simulated [95% CI]", "slack", "verdict"):
            st.add_column(col)
        for r in result.binding.itertuples(index=False):
            f = _slo_fmt(r.target)
            mark = " [bold](binding)[/bold]" if r.binding else ""
            if r.target == "stable":
                st.add_row(
                    f"stable ({r.name})",
                    "-",
                    f"backlog grows {_fmt(r.value)} msg/s",
                    "-",
                    f"{r.verdict}{mark}",
                )
                continue
            st.add_row(
                r.target,
                f(r.limit),
                f"{f(r.value)} [{f(r.ci_low)}, {f(r.ci_high)}]",
                f"{r.slack:.0%}" if math.isfinite(r.slack) else "-",
                f"{r.verdict}{mark}",
            )
        console.print(st)
    if result.feasible:
        brk = result.breaks_at
        if math.isfinite(brk):
            h = result.headroom.iloc[0]
            console.print(
                f"headroom: meets every SLO up to [bold]{result.headroom_multiple:.3g}x[/bold] the "
                f"planned load ({h.load_at_headroom:.3g}x today's rates); {h.breaks} breaks at "
                f"{brk:.3g}x (tolerance {result.headroom_tolerance:g})"
            )
        else:
            console.print(
                f"headroom: meets every SLO up to {result.headroom_multiple:.3g}x the planned "
                "load; nothing broke in the range tried"
            )
    for note in result.notes:
        console.print(note, style="dim", markup=False)
    if out is not None:
        console.print(f"tables written to {out}/ (evaluated.csv and more)")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
