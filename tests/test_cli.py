"""The qsim command line, run in-process with typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qsim.cli import app

runner = CliRunner()


def test_solve_prints_a_table_with_quantiles() -> None:
    """`qsim solve mmc` with units prints the metrics and the requested percentiles."""
    r = runner.invoke(
        app,
        ["solve", "mmc", "--arrival-rate", "1200/s", "--service-mean", "20ms", "--servers", "30"],
    )
    assert r.exit_code == 0, r.output
    assert "mmc (exact)" in r.output
    assert "utilization (rho)" in r.output and "0.8" in r.output
    assert "response p99" in r.output and "92.78 ms" in r.output


def test_solve_json_is_machine_readable() -> None:
    """--json gives numbers in SI units and the quantiles by probability."""
    r = runner.invoke(
        app, ["solve", "mm1", "-l", "0.5", "--service-rate", "1/s", "--json", "-q", "0.5,0.99"]
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["stable"] is True and data["method"] == "exact"
    assert data["metrics"]["W"] == pytest.approx(2.0)
    assert data["quantiles"]["response"]["0.99"] == pytest.approx(2 * 4.605170185988091)


def test_unstable_says_unstable_and_shows_utilization() -> None:
    """rho >= 1: the table says unstable with the utilization; JSON has nulls, not numbers."""
    r = runner.invoke(app, ["solve", "mm1", "-l", "2/s", "--service-rate", "1/s"])
    assert r.exit_code == 0
    assert "unstable" in r.output and "utilization 2 >= 1" in r.output
    r = runner.invoke(app, ["solve", "mm1", "-l", "2/s", "--service-rate", "1/s", "--json"])
    data = json.loads(r.output)
    assert data["stable"] is False and data["metrics"]["W"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # a solver argument out of its domain
        (
            ["solve", "mmc", "-l", "5", "--service-rate", "1", "--servers", "0"],
            "'servers' argument of mmc must be an integer >= 1. Got 0",
        ),
        # a unit that does not parse
        (["solve", "mm1", "-l", "5fast", "--service-rate", "1"], "'--arrival-rate'"),
        # an option the model does not use
        (
            ["solve", "mm1", "-l", "5", "--service-rate", "1", "--capacity", "3"],
            "--capacity is not used by model 'mm1'",
        ),
        # an unknown model
        (["solve", "mm9", "-l", "5"], "unknown model 'mm9'"),
        # quantiles outside (0, 1)
        (
            ["solve", "mm1", "-l", "1", "--service-rate", "2", "-q", "0.5,1.5"],
            "--quantiles must be",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], message: str) -> None:
    """Errors print one line to stderr, exit 2, no traceback."""
    r = runner.invoke(app, args)
    assert r.exit_code == 2
    assert message in r.stderr
    assert "Traceback" not in r.output + r.stderr
    assert r.stderr.startswith("qsim: error: ")


def test_solve_help_lists_models() -> None:
    """`qsim solve --help` lists every model with its one-line summary."""
    from qsim.analytic.solve import MODELS

    r = runner.invoke(app, ["solve", "--help"], terminal_width=200)
    assert r.exit_code == 0
    for name, spec in MODELS.items():
        assert f"{name}: {spec.summary}" in r.output


def test_version() -> None:
    """--version prints the package version."""
    from qsim import __version__

    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and __version__ in r.output


SCENARIO = Path(__file__).parents[1] / "scenarios" / "rabbitmq-work-queue.yaml"


def test_validate_ok_and_bad(tmp_path: Path) -> None:
    """`qsim validate` says ok for a good file; a bad one gets file:line errors and exit 2."""
    r = runner.invoke(app, ["validate", str(SCENARIO)])
    assert r.exit_code == 0 and "ok:" in r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCENARIO.read_text().replace("rate: 40/s", "rate: -40/s"))
    r = runner.invoke(app, ["validate", str(bad)])
    assert r.exit_code == 2
    assert "bad.yaml" in r.stderr and "producers[0].rate" in r.stderr


def test_run_table_json_and_out(tmp_path: Path) -> None:
    """`qsim run` prints the queue table; --json is machine-readable; --out writes files."""
    args = ["run", str(SCENARIO), "-r", "2", "-d", "60s", "--seed", "3"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output + r.stderr
    assert "task_queue" in r.output and "response p99" in r.output
    r = runner.invoke(app, [*args, "--json", "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.output)
    # FIFO queue, static dispatch, no failures: auto picks the fast engine and says why
    assert data["engine"] == "fast" and data["reason"].startswith("auto")
    q = data["queues"]["task_queue"]
    for key in (
        "throughput",
        "utilization",
        "wait_mean",
        "wait_p99",
        "response_p95",
        "queue_length_mean",
        "loss_rate",
    ):
        assert set(q[key]) == {"value", "ci_low", "ci_high"}, key
    assert (tmp_path / "out" / "summary.csv").exists()
    assert (tmp_path / "out" / "summary.json").exists()


def test_run_same_seed_same_numbers() -> None:
    """The same seed gives identical JSON."""
    args = ["run", str(SCENARIO), "-r", "2", "-d", "30s", "--seed", "9", "--json"]
    a = runner.invoke(app, args)
    b = runner.invoke(app, args)
    assert a.exit_code == 0 and a.output == b.output


def test_run_bad_engine_and_missing_file(tmp_path: Path) -> None:
    """Unknown engine and a missing file are one-line errors with exit 2."""
    r = runner.invoke(app, ["run", str(SCENARIO), "--engine", "warp"])
    assert r.exit_code == 2 and "--engine must be" in r.stderr
    r = runner.invoke(app, ["run", str(tmp_path / "nope.yaml")])
    assert r.exit_code == 2 and "nope.yaml" in r.stderr
