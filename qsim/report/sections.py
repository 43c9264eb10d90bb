"""The report's sections below the answer: figures with their tables, the assumptions,
reproducibility. Each returns HTML built from escaped text."""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from qsim.report import figures
from qsim.report.answer import load_findings
from qsim.report.assumptions import assumptions
from qsim.report.tables import (
    ci_text,
    esc,
    fmt_metric,
    fmt_time,
    queue_table,
    table,
    verdict,
    words,
)

__all__ = [
    "Figure",
    "assumptions_section",
    "embed",
    "load_section",
    "repro_section",
    "tables_section",
    "theory_section",
]


@dataclass(frozen=True)
class Figure:
    """One embedded figure: a file-name slug, its caption, PNG bytes."""

    slug: str
    caption: str
    png: bytes


def embed(fig: Any, slug: str, caption: str, out: list[Figure]) -> str:
    if fig is None:
        return ""
    data = figures.png(fig)
    out.append(Figure(slug, caption, data))
    b64 = base64.b64encode(data).decode("ascii")
    return (
        f'<figure id="fig-{esc(slug)}"><img alt="{esc(caption)}" '
        f'src="data:image/png;base64,{b64}"><figcaption>{esc(caption)}</figcaption></figure>'
    )


def load_section(
    run: Any,
    sweep: pd.DataFrame | None,
    ctx: dict[str, Any],
    today: tuple[float, str],
    figs: list[Figure],
) -> str:
    if sweep is None or sweep.empty:
        return (
            '<p class="note">No load sweep was given, so there is no response-versus-load '
            "figure.</p>"
        )
    limits = {r.target: float(r.limit) for r in run.slo.itertuples()}
    fig = figures.response_vs_load(sweep, limits, ctx["knee"], ctx["unstable_loads"], *today)
    reps = int(sweep.n.max()) if "n" in sweep else 0
    body = embed(
        fig,
        "response-vs-load",
        f"End-to-end response time (publish to final ack) at {len(ctx['loads'])} loads, "
        f"{reps} replications each; bands are 95% CIs, dashed lines the SLO limits.",
        figs,
    )
    body += "".join(f"<p>{f}</p>" for f in load_findings(ctx))
    by = ctx["by_load"]
    if not by.empty:
        targets = list(dict.fromkeys(by.target))
        rows = []
        for load, grp in by.groupby("load", sort=True):
            g = grp.set_index("target")
            rows.append(
                [esc(f"{load:.3g}x")]
                + [
                    verdict(g.at[t, "verdict"])
                    + " "
                    + esc(fmt_metric(_metric_of(run, t), g.at[t, "value"]))
                    for t in targets
                ]
            )
        body += "<h3>SLO verdicts by load</h3>" + table(
            ["load", *[words(t) for t in targets]], rows, raw=lambda i: True
        )
    return body


def _metric_of(run: Any, target: str) -> str:
    hit = run.slo[run.slo.target == target]
    return str(hit.metric.iloc[0]) if not hit.empty else target


def theory_section(run: Any, figs: list[Figure]) -> str:
    th = run.theory
    if th.empty:
        return (
            '<p class="note">No queue of this scenario is exactly a textbook model (Poisson '
            "arrivals, FIFO, no failures, retries, TTL or batching), so there is no exact value "
            "to compare with.</p>"
        )
    body = embed(
        figures.theory_check(th),
        "theory-vs-simulation",
        "Simulated value divided by the exact theoretical value, with its 95% CI; "
        "a CI crossing 1 agrees with theory.",
        figs,
    )
    rows = [
        [
            r.name,
            r.model,
            r.metric,
            fmt_metric(r.metric, r.theory),
            ci_text(r.metric, r.value, r.ci_low, r.ci_high),
            "inside"
            if r.within_ci
            else ("no steady state" if not math.isfinite(r.theory) else "outside"),
        ]
        for r in th.itertuples()
    ]
    return body + table(
        ["queue", "model", "metric", "theory", "simulated [95% CI]", "theory in CI"], rows
    )


def assumptions_section(scenario: Any) -> str:
    if scenario is None:
        return '<p class="note">The scenario was not given, so its assumptions are not listed.</p>'
    a = assumptions(scenario)

    def ul(items: list[str]) -> str:
        return "<ul>" + "".join(f"<li>{esc(x)}</li>" for x in items) + "</ul>"

    out = "<h3>What this scenario models</h3>" + ul(a["modelled"])
    if a["left_out"]:
        out += "<h3>What qsim could model but this scenario leaves out</h3>" + ul(a["left_out"])
    out += "<h3>What qsim does not model at all</h3>" + ul(a["never"])
    return out


def repro_section(run: Any, sweep: pd.DataFrame | None, command: str | None) -> str:
    items = [
        ("qsim version", run.version),
        ("scenario", run.scenario),
        ("scenario hash (SHA-256)", run.scenario_hash),
        ("seed", str(run.seed)),
        ("engine", f"{run.engine} — {run.reason}"),
        ("replications", str(run.replications)),
        ("simulated time per replication", fmt_time(run.duration)),
        ("warm-up (discarded)", fmt_time(run.warmup)),
        (
            "confidence intervals",
            "95%, Student t across independent replications "
            "(seeds from numpy SeedSequence spawned from the seed)",
        ),
    ]
    if sweep is not None and not sweep.empty:
        loads = ", ".join(f"{x:.3g}x" for x in sorted(sweep.load.unique()))
        reps = int(sweep.n.max()) if "n" in sweep else 0
        items.append(("load sweep", f"{loads}; {reps} replications per load"))
    if command:
        items.append(("command", command))
    rows = "".join(f"<dt>{esc(k)}</dt><dd><code>{esc(v)}</code></dd>" for k, v in items)
    return f'<dl class="repro">{rows}</dl>'


def tables_section(run: Any) -> str:
    s = run.summary
    out = "<h3>Queues and consumer groups</h3>" + queue_table(s)
    paths = s[s.scope.isin(["path", "system"])]
    if not paths.empty:
        rows = []
        for (scope, name), grp in paths.groupby(["scope", "name"], sort=False):
            g = {r.metric: r for r in grp.itertuples()}
            label = "all messages" if scope == "system" else name
            cells = [
                ci_text(m, g[m].value, g[m].ci_low, g[m].ci_high) if m in g else "–"
                for m in ("response_mean", "response_p50", "response_p95", "response_p99")
            ]
            loss = g.get("loss_rate")
            cells.append(
                ci_text("loss_rate", loss.value, loss.ci_low, loss.ci_high) if loss else "–"
            )
            rows.append([label, *cells])
        out += "<h3>End to end (publish to the last consumer's ack)</h3>" + table(
            ["path", "mean", "p50", "p95", "p99", "loss"], rows
        )
    br = s[s.scope == "broker"]
    if not br.empty:
        out += "<h3>Brokers</h3>" + table(
            ["broker", "metric", "value [95% CI]"],
            [
                [r.name, r.metric, ci_text(r.metric, r.value, r.ci_low, r.ci_high)]
                for r in br.itertuples()
            ],
        )
    return out
