"""The answer up front: the question, the verdict or the recommendation, key figures,
and what the load sweep says (where each SLO breaks, the knee, instability)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from qsim.report import analysis
from qsim.report.plan_section import plan_answer
from qsim.report.tables import ci_text, esc, fmt_metric, limit_text, verdict, words
from qsim.slo import location

__all__ = ["answer", "context", "load_findings", "slo_rows"]


def slo_rows(slo: pd.DataFrame) -> list[list[str]]:
    """Rows (markup) of the SLO table: target, limit, where, simulated [CI], verdict."""
    rows = []
    for r in slo.itertuples():
        where = location(r.scope, r.name, "worst queue")
        rows.append(
            [
                esc(words(r.target)),
                esc(f"≤ {limit_text(r.target, r.limit)}"),
                esc(where),
                esc(ci_text(r.metric, r.value, r.ci_low, r.ci_high)),
                verdict(r.verdict),
            ]
        )
    return rows


def load_findings(ctx: dict[str, Any]) -> list[str]:
    """What the load sweep says, as escaped sentences."""
    out = []
    for b in ctx["breaks"]:
        if b["last_met"] is None:
            out.append(
                f"The {words(b['target'])} target is not met with 95% confidence even at the "
                f"lowest load swept ({b['load']:.3g}x)."
            )
        else:
            out.append(
                f"The {words(b['target'])} target holds up to load {b['last_met']:.3g}x and is "
                f"no longer met with 95% confidence at {b['load']:.3g}x."
            )
    broken = {b["target"] for b in ctx["breaks"]}
    fine = [t for t in ctx["targets"] if t not in broken]
    if ctx["loads"] and fine:
        out.append(
            f"{', '.join(words(t) for t in fine).capitalize()}: met with 95% confidence "
            f"at every load swept, up to {max(ctx['loads']):.3g}x."
        )
    if ctx["knee"] is not None:
        out.append(f"The p99 response curve bends upward (its knee) at about {ctx['knee']:.3g}x.")
    if ctx["unstable_loads"]:
        first = min(ctx["unstable_loads"])
        who = ", ".join(ctx["unstable_loads"][first])
        out.append(
            f"From {first:.3g}x on, the backlog of {who} grows without bound: there is no steady "
            "state, and the figures there describe a run of this length only."
        )
    return [esc(x) for x in out]


Kpi = tuple[str, str, str]  # label (text), value (markup), note (markup)


def _verdicts(slo: pd.DataFrame) -> tuple[str, list[Kpi], str]:
    """Headline, key figures and tone from the run's SLO verdicts."""
    if slo.empty:
        return "No slo: block: this report describes the system, it does not judge it.", [], ""
    met = int((slo.verdict == "met").sum())
    short = slo[slo.verdict != "met"]
    if short.empty:
        headline, tone = f"Yes: all {len(slo)} SLOs are met with 95% confidence.", "ok"
    else:
        which = ", ".join(words(t) for t in short.target)
        if short.verdict.isin(["missed", "not measured"]).any():
            headline, tone = f"No: {met} of {len(slo)} SLOs met; {which} missed.", "bad"
        else:
            headline = f"Not with confidence: {met} of {len(slo)} SLOs met; {which} uncertain."
            tone = "warn"
    kpis = [
        (
            words(r.target),
            esc(fmt_metric(r.metric, r.value)) + " " + verdict(r.verdict),
            esc(
                f"limit {limit_text(r.target, r.limit)}; "
                f"95% CI up to {fmt_metric(r.metric, r.ci_high, r.value)}"
            ),
        )
        for r in slo.itertuples()
    ]
    return headline, kpis, tone


def _sweep_kpis(ctx: dict[str, Any], with_break: bool) -> list[Kpi]:
    kpis: list[Kpi] = []
    if with_break and ctx["breaks"]:
        b = ctx["breaks"][0]
        note = (
            f"{words(b['target'])}; met up to {b['last_met']:.3g}x"
            if b["last_met"] is not None
            else f"{words(b['target'])}, already at the lowest load swept"
        )
        kpis.append(("first SLO break", esc(f"{b['load']:.3g}x load"), esc(note)))
    elif with_break and ctx["loads"] and ctx["targets"]:
        kpis.append(
            (
                "first SLO break",
                esc(f"beyond {max(ctx['loads']):.3g}x"),
                "no SLO breaks within the loads swept",
            )
        )
    if ctx["knee"] is not None:
        kpis.append(
            ("knee of p99", esc(f"{ctx['knee']:.3g}x load"), "where latency starts to climb")
        )
    return kpis


def answer(run: Any, ctx: dict[str, Any], plan: Any, scenario: Any) -> str:
    """The answer box: question, headline, key figures, findings and notes."""
    question = getattr(scenario, "description", None) or (
        f"Does {run.scenario} meet its service-level objectives at the load it describes, "
        "and how much more load can it take?"
    )
    if plan is not None:
        headline, kpis, tone = plan_answer(plan)
    else:
        headline, kpis, tone = _verdicts(run.slo)
    kpis += _sweep_kpis(ctx, with_break=plan is None)
    parts = [f'<p class="question">{esc(question)}</p>', f'<p class="headline">{esc(headline)}</p>']
    if kpis:
        cells = "".join(
            f'<div class="kpi"><div class="label">{esc(k)}</div><div class="value">{v}</div>'
            f'<div class="sub">{s}</div></div>'
            for k, v, s in kpis
        )
        parts.append(f'<div class="kpis">{cells}</div>')
    findings = load_findings(ctx)
    findings += [
        esc(
            f"At the scenario's load the backlog of {name} grows by about {growth:.3g} "
            "messages/s: it is unstable, and its means and percentiles describe this run only."
        )
        for name, growth in run.unstable.items()
    ]
    findings += [esc(n) for n in ctx["notes"]]
    if findings:
        parts.append('<ul class="findings">' + "".join(f"<li>{f}</li>" for f in findings) + "</ul>")
    return f'<div class="answer {tone}">{"".join(parts)}</div>'


def context(run: Any, sweep: pd.DataFrame | None, notes: list[str]) -> dict[str, Any]:
    """What the sweep says, computed once: SLOs by load, breaks, knee, instability."""
    ctx: dict[str, Any] = {
        "breaks": [],
        "knee": None,
        "unstable_loads": {},
        "loads": [],
        "by_load": pd.DataFrame(),
        "has_slo": not run.slo.empty,
        "notes": notes,
        "targets": list(run.slo.target),
    }
    if sweep is None or sweep.empty:
        return ctx
    ctx["loads"] = sorted(float(x) for x in sweep.load.unique())
    ctx["unstable_loads"] = analysis.unstable_loads(sweep)
    p99 = analysis.sweep_curve(sweep, "response_p99")
    stable = p99[~p99.load.isin(list(ctx["unstable_loads"]))]
    ctx["knee"] = analysis.knee(stable.load.to_numpy(), stable.value.to_numpy())
    ctx["by_load"] = analysis.slo_by_load(sweep, run.slo)
    ctx["breaks"] = analysis.first_break(ctx["by_load"])
    return ctx
