"""The capacity plan in the report: the recommendation up front, then how it was found.

Reads a :class:`qsim.planning.PlanResult` by its attributes: ``feasible``, ``config`` (the
recommended value per variable), ``cost_per_hour``, ``binding`` (every SLO at the
recommendation, least slack first, with ``slack``), ``headroom_multiple``, ``breaks_at``,
``load``, ``infeasible_reason`` and ``notes``; its other tables (``recommended``,
``headroom``, ``headroom_runs``, ``runners_up``, ``bounds``, ``evaluated``) are shown as
they come, whatever their columns.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from qsim.report.tables import ci_text, esc, limit_text, table, verdict, words
from qsim.slo import location

__all__ = ["plan_answer", "plan_section"]

Kpi = tuple[str, str, str]  # label (text), value (markup), note (markup)


def _num(x: Any) -> str:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return str(x)
    if math.isnan(x):
        return "–"
    return f"{x:.4g}" if math.isfinite(x) else "∞"


def _config(plan: Any) -> str:
    return ", ".join(f"{k} = {v}" for k, v in plan.config.items())


def _headroom(plan: Any) -> tuple[str, str]:
    meets, breaks = plan.headroom_multiple, plan.breaks_at
    if math.isfinite(breaks):
        note = f"meets every SLO up to {meets:.3g}x the planned load, breaks one at {breaks:.3g}x"
    else:
        note = f"nothing broke up to {meets:.3g}x the planned load"
    return f"{meets:.3g}x planned load", note


def plan_answer(plan: Any) -> tuple[str, list[Kpi], str]:
    """Headline, key figures and tone of the answer when there is a plan."""
    load = f"{plan.load:g}x the producers' rates"
    if not plan.feasible:
        reason = plan.infeasible_reason or "no configuration in range meets every SLO"
        return f"No configuration in the plan's range works at {load}: {reason}", [], "bad"
    kpis: list[Kpi] = [("cost", esc(f"{plan.cost_per_hour:.4g} per hour"), esc(_config(plan)))]
    b = plan.binding
    if not b.empty:
        top = b.iloc[0]
        kpis.append(
            (
                "binding SLO",
                esc(words(top.target)),
                esc(
                    f"{ci_text(top.metric, top.value, top.ci_low, top.ci_high)} against "
                    f"{limit_text(top.target, top.limit)}; {100 * top.slack:.3g} % slack"
                ),
            )
        )
    head, note = _headroom(plan)
    kpis.append(("headroom", esc(head), esc(note)))
    kpis.append(("planned load", esc(f"{plan.load:g}x"), "multiple of the producers' rates"))
    return f"Recommended: {_config(plan)}, at {plan.cost_per_hour:.4g} per hour.", kpis, "ok"


def _cells(df: pd.DataFrame) -> list[list[str]]:
    return [[_num(v) for v in r] for r in df.itertuples(index=False)]


def _slo_table(b: pd.DataFrame) -> str:
    rows = [
        [
            esc(words(r.target)),
            esc(
                f"≤ {limit_text(r.target, r.limit)}"
                if not r.target.startswith("min_")
                else f"≥ {limit_text(r.target, r.limit)}"
            ),
            esc(location(r.scope, r.name)),
            esc(ci_text(r.metric, r.value, r.ci_low, r.ci_high)),
            verdict(r.verdict),
            esc(f"{100 * r.slack:.3g} %" if math.isfinite(r.slack) else _num(r.slack)),
        ]
        for r in b.itertuples()
    ]
    head = ["target", "limit", "where", "simulated [95% CI]", "verdict", "slack"]
    return table(head, rows, raw=lambda i: True)


def _frame(title: str, df: Any, max_rows: int = 40) -> str:
    if not isinstance(df, pd.DataFrame) or df.empty:
        return ""
    note = ""
    if len(df) > max_rows:
        note = f'<p class="note">First {max_rows} of {len(df)} rows.</p>'
        df = df.head(max_rows)
    head = [str(c).replace("_", " ") if "." not in str(c) else str(c) for c in df.columns]
    return f"<h3>{esc(title)}</h3>" + table(head, _cells(df)) + note


def _evaluated(ev: pd.DataFrame, names: list[str]) -> str:
    if ev.empty or "slack" not in ev or "evaluation" not in ev:
        return ""
    keys = [
        "evaluation",
        "phase",
        *names,
        "cost_per_hour",
        "load_multiple",
        "replications",
        "meets",
    ]
    keys = [k for k in keys if k in ev]
    worst = ev.sort_values("slack", kind="stable").groupby("evaluation", sort=False).head(1)
    worst = worst.sort_values("evaluation")
    shown = worst[[*keys, "target"]].rename(columns={"target": "tightest target"})
    shown.columns = [c if "." in c else c.replace("_", " ") for c in map(str, shown.columns)]
    note = ""
    if len(shown) > 40:
        note = f'<p class="note">First 40 of {len(shown)} simulations.</p>'
        shown = shown.head(40)
    return table(list(shown.columns), _cells(shown)) + note


def plan_section(plan: Any) -> str:
    """Recommendation, SLOs at it, headroom, runners-up, analytic bracket, every simulation."""
    out = []
    if not plan.feasible and plan.infeasible_reason:
        out.append(f'<p class="warning">{esc(plan.infeasible_reason)}</p>')
    out.append(_frame("Recommended configuration", getattr(plan, "recommended", None)))
    if not plan.binding.empty:
        title = "SLOs at the recommendation" if plan.feasible else "SLOs at the best point tried"
        out.append(
            f"<h3>{esc(title)} (confirmation run, {plan.confirm_replications} replications)</h3>"
            + _slo_table(plan.binding)
        )
    if plan.feasible:
        _, note = _headroom(plan)
        out.append(
            f"<h3>Headroom</h3><p>{esc(note[:1].upper() + note[1:])} (bisection on load, to within "
            f"{plan.headroom_tolerance:g}x).</p>"
        )
        runs = getattr(plan, "headroom_runs", None)
        out.append(_frame("Load bisection", runs if runs is not None else plan.headroom))
    out.append(_frame("Runners-up", getattr(plan, "runners_up", None)))
    out.append(_frame("Analytic bracket (where the search started)", getattr(plan, "bounds", None)))
    if plan.notes:
        out.append(
            "<h3>How the search went</h3><ul>"
            + "".join(f"<li>{esc(n)}</li>" for n in plan.notes)
            + "</ul>"
        )
    out.append(
        f'<h3>Every simulation</h3><p class="note">Engine {esc(plan.engine)}, root seed '
        f"{esc(plan.seed)}, {plan.replications} replications per configuration; the full "
        "table is PlanResult.evaluated.</p>" + _evaluated(plan.evaluated, list(plan.config))
    )
    return "".join(out)
