"""HTML tables and number formatting for the report; every cell is escaped here.

``esc`` is the one way text from a scenario or a result reaches the page.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd

__all__ = [
    "QUEUE_METRICS",
    "SLO_TARGET_WORDS",
    "ci_text",
    "esc",
    "fmt_metric",
    "fmt_time",
    "frame_table",
    "limit_text",
    "queue_table",
    "table",
    "verdict",
    "words",
]

#: SLO targets as a reader says them.
SLO_TARGET_WORDS = {
    "p50_response": "median response",
    "p95_response": "p95 response",
    "p99_response": "p99 response",
    "p999_response": "p99.9 response",
    "mean_response": "mean response",
    "p50_wait": "median wait",
    "p95_wait": "p95 wait",
    "p99_wait": "p99 wait",
    "p999_wait": "p99.9 wait",
    "mean_wait": "mean wait",
    "max_loss": "loss",
    "max_dead_letter": "dead letters",
    "max_utilization": "utilization",
    "min_availability": "availability",
}

#: The main queue metrics, in report order, with their labels.
QUEUE_METRICS = (
    ("arrival_rate", "arrival rate"),
    ("throughput", "throughput"),
    ("utilization", "utilization"),
    ("wait_mean", "wait, mean"),
    ("wait_p95", "wait, p95"),
    ("wait_p99", "wait, p99"),
    ("response_mean", "response, mean"),
    ("response_p50", "response, p50"),
    ("response_p95", "response, p95"),
    ("response_p99", "response, p99"),
    ("queue_length_mean", "messages waiting, mean"),
    ("queue_length_max", "messages waiting, max"),
    ("in_system_mean", "in system, mean"),
    ("loss_rate", "loss (share of arrivals)"),
    ("rebalances", "rebalances"),
)


def esc(x: Any) -> str:
    """Text made safe for HTML element content and quoted attributes."""
    return html.escape(str(x), quote=True)


def words(target: str) -> str:
    """An SLO target as a reader says it: ``p99_response`` -> ``p99 response``."""
    return SLO_TARGET_WORDS.get(target, target)


def verdict(v: str) -> str:
    """A coloured badge (markup): met, uncertain, missed, not measured."""
    return f'<span class="verdict {esc(v.replace(" ", "-"))}">{esc(v)}</span>'


def limit_text(target: str, limit: float) -> str:
    """An SLO limit in its unit: a time, a share of messages, a utilization."""
    if "response" in target or "wait" in target:
        return fmt_time(limit)
    if target in ("max_loss", "max_dead_letter", "min_availability"):
        return _percent(limit)
    return f"{limit:g}"


def fmt_time(seconds: float, like: float | None = None) -> str:
    """Seconds in a readable unit (that of ``like`` when given): ``336 ms``."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "–"
    if math.isinf(seconds):
        return "∞"
    ref = abs(like if like not in (None, 0) else seconds)  # type: ignore[arg-type]
    for unit, scale in (("h", 3600.0), ("min", 60.0), ("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if ref >= (3 * scale if unit in ("h", "min") else scale):
            return f"{_sig(seconds / scale)} {unit}"
    return "0 s" if seconds == 0 else f"{_sig(seconds * 1e9)} ns"


def _sig(x: float) -> str:
    """Three significant digits, never in exponent form (999.6 -> 1000)."""
    text = f"{x:.3g}"
    return f"{x:.0f}" if "e" in text else text


def _num(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x != 0 and (abs(x) >= 1e9 or abs(x) < 1e-3):
        return f"{x:.3e}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"  # 16,150 rather than 1.615e+04
    return f"{x:.4g}"


def _percent(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if x == 0:
        return "0 %"
    p = 100 * x
    return f"{p:.3g} %" if abs(p) >= 0.01 else f"{p:.2e} %"


def _kind(metric: str) -> str:
    if metric in ("arrival_rate", "throughput"):
        return "rate"
    if metric.startswith(("wait", "response")) or metric in ("age_mean",):
        return "time"
    if metric.endswith("_rate") or metric == "availability":
        return "percent"
    return "number"


def fmt_metric(metric: str, x: float, like: float | None = None) -> str:
    """A value in the unit its metric name implies (seconds, per second, fraction)."""
    kind = _kind(metric)
    if kind == "time":
        return fmt_time(x, like)
    if kind == "rate":
        return f"{_num(x)}/s" if isinstance(x, float | int) and math.isfinite(x) else _num(x)
    if kind == "percent":
        return _percent(x)
    return _num(x)


def ci_text(metric: str, value: float, low: float, high: float) -> str:
    """``value [low, high]`` in one unit (the value's); the value alone without a CI."""
    v = fmt_metric(metric, value)
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return v
    if _kind(metric) == "percent":
        lo, hi = _percent(low).split()[0], _percent(high).split()[0]
    else:
        lo = fmt_metric(metric, low, value).split()[0].removesuffix("/s")
        hi = fmt_metric(metric, high, value).split()[0].removesuffix("/s")
    return f"{v} [{lo}, {hi}]"


_NUMERIC = re.compile(r"\s*[-−+]?(?:\d|∞|\.\d)")


def _is_text(column: list[str]) -> bool:
    """A column reads as text (left-aligned) unless its first real cell is a number."""
    for cell in column:
        if cell not in ("", "–"):
            return not _NUMERIC.match(cell)
    return False


def table(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    cls: str = "",
    raw: Callable[[int], bool] | None = None,
) -> str:
    """An HTML table; cells are escaped unless ``raw(column)`` says the cell is markup
    this module built itself. Text columns are left-aligned, numbers right-aligned."""
    cells = [
        [str(c) if raw is not None and raw(i) else esc(c) for i, c in enumerate(row)]
        for row in rows
    ]
    left = [i == 0 or _is_text([r[i] for r in cells]) for i in range(len(header))]

    def td(tag: str, i: int, content: str) -> str:
        return f'<{tag} class="l">{content}</{tag}>' if left[i] else f"<{tag}>{content}</{tag}>"

    head = "".join(td("th", i, esc(h)) for i, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(td("td", i, c) for i, c in enumerate(r)) + "</tr>" for r in cells
    )
    klass = f' class="{esc(cls)}"' if cls else ""
    return (
        f'<div class="scroll"><table{klass}><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def frame_table(df: pd.DataFrame, *, max_rows: int = 50) -> str:
    """Any DataFrame as a table (numbers to 4 significant digits), at most ``max_rows``."""
    shown = df.head(max_rows)
    rows = []
    for r in shown.itertuples(index=False):
        rows.append([_num(v) if isinstance(v, float) else v for v in r])
    out = table([str(c) for c in df.columns], rows)
    if len(df) > max_rows:
        out += f'<p class="note">First {max_rows} of {len(df)} rows.</p>'
    return out


def queue_table(summary: pd.DataFrame, scopes: Sequence[str] = ("queue", "group")) -> str:
    """Main metrics (rows) by queue or group (columns): value [95% CI]."""
    s = summary[summary.scope.isin(list(scopes))]
    names = list(dict.fromkeys(s.name))
    if not names:
        return ""
    cells: dict[tuple[str, str], str] = {}
    for r in s.itertuples():
        cells[(r.name, r.metric)] = ci_text(r.metric, r.value, r.ci_low, r.ci_high)
    rows = [
        [label, *[cells.get((n, m), "–") for n in names]]
        for m, label in QUEUE_METRICS
        if any((n, m) in cells for n in names)
    ]
    return table(["metric", *names], rows, cls="metrics")
