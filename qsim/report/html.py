"""Assemble the report: the answer and the sections, filled into
``templates/report.html`` with the stylesheet inlined.

Nothing in the page refers outside the file: figures are ``data:`` URIs, the CSS is
inline, links are in-page anchors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from string import Template
from typing import Any

import pandas as pd

from qsim.report import analysis, figures
from qsim.report.answer import answer, context, slo_rows
from qsim.report.plan_section import plan_section
from qsim.report.sections import (
    Figure,
    assumptions_section,
    embed,
    load_section,
    repro_section,
    tables_section,
    theory_section,
)
from qsim.report.tables import esc, fmt_time, table

__all__ = ["Page", "build"]


@dataclass
class Page:
    """The finished report: HTML text and the figures it embeds."""

    html: str
    figures: list[Figure] = field(default_factory=list)


def _section(sid: str, title: str, body: str, toc: list[tuple[str, str]]) -> str:
    toc.append((sid, title))
    return f'<section id="{esc(sid)}"><h2>{esc(title)}</h2>{body}</section>'


def build(
    run: Any,
    *,
    scenario: Any = None,
    sweep: pd.DataFrame | None = None,
    plan: Any = None,
    notes: list[str] | None = None,
    command: str | None = None,
    generated: str | None = None,
) -> Page:
    """The report as a :class:`Page` (see :func:`qsim.report.write_report`)."""
    figs: list[Figure] = []
    toc: list[tuple[str, str]] = []
    notes = list(notes or [])
    ctx = context(run, sweep, notes)
    planned = plan is not None and bool(getattr(plan, "feasible", False))
    today = (
        float(getattr(scenario, "load", 1.0) or 1.0),
        "planned load" if planned else "scenario load",
    )
    sections = [
        _section("answer", "The question and the answer", answer(run, ctx, plan, scenario), toc)
    ]
    if plan is not None:
        sections.append(_section("plan", "Capacity plan", plan_section(plan), toc))
    if not run.slo.empty:
        sections.append(
            _section(
                "slo",
                "Service-level objectives at the recommendation"
                if planned
                else "Service-level objectives at the scenario's load",
                table(
                    ["target", "limit", "where", "simulated [95% CI]", "verdict"],
                    slo_rows(run.slo),
                    raw=lambda i: True,
                ),
                toc,
            )
        )
    sections.append(
        _section(
            "load", "Response time versus load", load_section(run, sweep, ctx, today, figs), toc
        )
    )
    ceiling = run.slo[run.slo.target == "max_utilization"]
    util = embed(
        figures.utilization(run, float(ceiling.limit.iloc[0]) if not ceiling.empty else None),
        "utilization",
        "Busy fraction of each pool's consumer slots, 95% CI; above 0.7 "
        "(orange) waits grow quickly, above 0.9 (red) the pool is near saturation.",
        figs,
    )
    sections.append(
        _section(
            "utilization",
            "Utilization per component",
            util or "<p class='note'>No consumer pool.</p>",
            toc,
        )
    )
    windows = analysis.outage_windows(scenario)
    random_failures = scenario is not None and (
        any(b.failures is not None for b in scenario.brokers)
        or any(c.failures is not None for c in scenario.consumers)
    )
    cap = "Messages waiting per queue, mean over replications with its 95% band" + (
        "; the shaded span is the outage." if windows else "."
    )
    back = embed(
        figures.backlog(run.series, windows, run.duration, run.warmup), "backlog", cap, figs
    )
    if len(windows) > 4:
        back += f'<p class="note">{len(windows)} scheduled outages; the first 4 are shown.</p>'
    if random_failures:
        back += (
            '<p class="note">Random failures (mtbf/mttr) are modelled; their times differ '
            "between replications and are not recorded, so their effect is in the averages "
            "and tables, not marked on the time axis.</p>"
        )
    sections.append(
        _section("backlog", "Backlog over time, around failures and failover", back, toc)
    )
    fr = analysis.loss_fractions(run)
    loss = embed(
        figures.losses(fr),
        "losses",
        "Fraction of each queue's arrivals per fate, 95% CI (log scale).",
        figs,
    )
    if not loss:
        loss = (
            '<p class="note">No message was rejected, dropped, expired, lost, dead-lettered '
            "or retried in any replication.</p>"
        )
    sections.append(_section("losses", "Loss, retry and dead-letter rates", loss, toc))
    sections.append(_section("theory", "Theory versus simulation", theory_section(run, figs), toc))
    sections.append(
        _section("tables", "Tables with confidence intervals", tables_section(run), toc)
    )
    sections.append(
        _section(
            "assumptions",
            "Assumptions: what was and was not modelled",
            assumptions_section(scenario),
            toc,
        )
    )
    sections.append(
        _section("reproducibility", "Reproducibility", repro_section(run, sweep, command), toc)
    )

    css = resources.files("qsim.report").joinpath("templates/report.css").read_text("utf-8")
    tpl = Template(
        resources.files("qsim.report").joinpath("templates/report.html").read_text("utf-8")
    )
    desc = getattr(scenario, "description", None)
    meta = [
        f"engine {run.engine}",
        f"{run.replications} replications of {fmt_time(run.duration)}",
        f"seed {run.seed}",
    ]
    if generated:
        meta.insert(0, f"generated {generated}")
    page = tpl.substitute(
        version=esc(run.version),
        title=esc(f"qsim capacity report: {run.scenario}"),
        heading=esc(run.scenario),
        subtitle=f'<p class="subtitle">{esc(desc)}</p>' if desc else "",
        meta=esc(" · ".join(meta)),
        toc="".join(f'<li><a href="#{esc(s)}">{esc(t)}</a></li>' for s, t in toc),
        css=css,
        body="\n".join(sections),
    )
    return Page(page, figs)
