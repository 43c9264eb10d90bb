"""HTML capacity reports: one self-contained file from results, figures embedded.

The report reads results only (a :class:`~qsim.results.RunResult`, a load sweep's tidy
DataFrame, a :class:`qsim.planning.PlanResult`, the scenario as data); it never runs an
engine. matplotlib is imported when a report is written, not with this package.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["write_report"]


def write_report(
    run: Any,
    path: str | os.PathLike[str],
    *,
    scenario: Any = None,
    sweep: Any = None,
    plan: Any = None,
    notes: Sequence[str] = (),
    assets: bool = False,
    command: str | None = None,
    generated: str | None = None,
) -> list[Path]:
    """Write a self-contained HTML capacity report.

    Parameters
    ----------
    run : RunResult
        The scenario's run at its own load: SLO verdicts, tables, series, theory check.
    path : path
        The HTML file to write (its folder must exist).
    scenario : Scenario, optional
        The scenario that was run, read as data: its description (the question), outage
        schedule (marked on the backlog figure) and what it models (the assumptions).
    sweep : DataFrame or SweepResult, optional
        A load sweep: a ``load`` column (multiples of the producer rates) and the tidy
        ``scope, name, metric, value, ci_low, ci_high, n`` rows of each point; drives the
        response-versus-load figure, the knee and the load at which an SLO first breaks.
    plan : PlanResult, optional
        A capacity plan; its recommendation, cost, binding SLO and headroom lead the report.
    notes : sequence of str
        Remarks shown with the answer (for example why a section is missing).
    assets : bool
        Also write every figure as ``<stem>-<figure>.png`` beside the HTML.
    command : str, optional
        The command that produced the inputs, shown under reproducibility.
    generated : str, optional
        A timestamp to print in the header (none: no timestamp, so the same inputs give
        the same bytes).

    Returns
    -------
    list of Path
        The files written, the HTML first.

    Notes
    -----
    Nothing is half-written: the page and its figures are rendered in memory, written
    to temporary files in the target folder and renamed into place only when all of them
    are complete. Every text taken from the scenario or the results is HTML-escaped;
    the page loads nothing from the network (figures are ``data:`` PNG, the CSS inline).
    """
    from qsim.report.html import build

    target = Path(path)
    if not target.parent.is_dir():
        raise FileNotFoundError(f"cannot write {target}: folder {target.parent} does not exist")
    table = getattr(sweep, "table", sweep)
    if table is not None and "load" not in table:
        raise ValueError("the sweep given to write_report must vary load (a 'load' column)")
    if table is not None and table.duplicated(["load", "scope", "name", "metric"]).any():
        raise ValueError(
            "the sweep given to write_report must vary load only: it has several points "
            "at one load (sweep the other parameters separately, or plan them)"
        )
    page = build(
        run,
        scenario=scenario,
        sweep=table,
        plan=plan,
        notes=list(notes),
        command=command,
        generated=generated,
    )
    files: list[tuple[Path, bytes]] = [(target, page.html.encode("utf-8"))]
    if assets:
        files += [(target.with_name(f"{target.stem}-{f.slug}.png"), f.png) for f in page.figures]
    return _write_all(files)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_all(files: list[tuple[Path, bytes]]) -> list[Path]:
    """Write every file to a temporary name, then rename all; on error remove the temps."""
    temps: list[tuple[str, Path]] = []
    try:
        for dest, data in files:
            fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
            temps.append((tmp, dest))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a report is for sharing
        for tmp, dest in temps:
            os.replace(tmp, dest)
    except BaseException:
        for tmp, _ in temps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise
    return [dest for dest, _ in files]
