"""The ``qsim`` command: a thin shell over the library (parse, call, format).

Nothing imports this module; it holds no queueing logic. Errors the user can fix are
printed on one line to stderr with exit code 2, never as a traceback.
"""

from __future__ import annotations

import json
import math
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
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"qsim: error: {message}")
    raise typer.Exit(2)


def _fmt_time(seconds: float) -> str:
    if math.isinf(seconds):
        return "inf"
    if seconds == 0:
        return "0"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(seconds) >= scale:
            return f"{seconds / scale:.4g} {unit}"
    return f"{seconds * 1e9:.4g} ns"


def _fmt(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.6g}"


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


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
