"""The report's figures, drawn with matplotlib's Agg canvas and returned as PNG bytes.

matplotlib is imported here only, inside the functions, and through the object API
(``Figure`` on a ``FigureCanvasAgg``): no pyplot, no global backend switch, nothing
left open. Each function returns ``None`` when it has nothing to draw. Names are drawn
as plain text (a ``$`` in a queue name is escaped, not read as mathtext).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from qsim.report.analysis import (
    LOSS_KINDS,
    Window,
    backlog_band,
    sweep_curve,
)

__all__ = ["backlog", "losses", "png", "response_vs_load", "theory_check", "utilization"]

_QUANTILES = (
    ("response_p50", "p50", "#4C72B0"),
    ("response_p95", "p95", "#DD8452"),
    ("response_p99", "p99", "#C44E52"),
)
_SLO_OF = {
    "response_p50": "p50_response",
    "response_p95": "p95_response",
    "response_p99": "p99_response",
}
_RC = {
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "savefig.dpi": 110,
}


def _plain(text: object) -> str:
    """A user-supplied name as literal text (mathtext would read ``$...$``)."""
    return str(text).replace("$", r"\$")


def _figure(width: float, height: float) -> Any:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png(fig: Any) -> bytes:
    """The figure as PNG bytes (deterministic: no timestamp metadata)."""
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _time_axis(seconds: float) -> tuple[float, str]:
    for scale, unit in ((3600.0, "h"), (60.0, "min")):
        if seconds >= 3 * scale:
            return scale, unit
    return 1.0, "s"


def _latency_scale(seconds: float) -> tuple[float, str]:
    for scale, unit in ((1.0, "s"), (1e-3, "ms")):
        if seconds >= scale:
            return scale, unit
    return 1e-6, "µs"


def response_vs_load(
    sweep: pd.DataFrame,
    slo_limits: dict[str, float],
    knee_load: float | None,
    unstable: dict[float, list[str]],
    today: float,
    today_label: str = "scenario load",
) -> Any:
    """End-to-end p50/p95/p99 response (95% CI bands) against load, SLO limits dashed."""
    import matplotlib

    curves = {m: sweep_curve(sweep, m) for m, _, _ in _QUANTILES}
    if all(c.empty for c in curves.values()):
        return None
    top = max(float(np.nanmax(c.value)) for c in curves.values() if not c.empty)
    scale, unit = _latency_scale(max(top, *slo_limits.values(), 1e-9))
    with matplotlib.rc_context(_RC):
        fig = _figure(8.0, 4.2)
        ax = fig.add_subplot()
        values = []
        for metric, label, color in _QUANTILES:
            c = curves[metric]
            if c.empty:
                continue
            x = c.load.to_numpy()
            y = c.value.to_numpy() / scale
            lo = c.ci_low.fillna(c.value).to_numpy() / scale
            hi = c.ci_high.fillna(c.value).to_numpy() / scale
            ax.fill_between(x, lo, hi, color=color, alpha=0.18, linewidth=0)
            ax.plot(x, y, "-o", color=color, label=f"response {label}", markersize=4)
            bad = np.isin(x, list(unstable))
            if bad.any():
                ax.plot(
                    x[bad],
                    y[bad],
                    "o",
                    markersize=9,
                    markerfacecolor="none",
                    markeredgecolor="black",
                )
            values.append(y[np.isfinite(y) & (y > 0)])
            target = _SLO_OF[metric]
            if target in slo_limits:
                ax.axhline(
                    slo_limits[target] / scale,
                    color=color,
                    linestyle="--",
                    linewidth=1.2,
                    label=f"SLO {label} {slo_limits[target] / scale:.4g} {unit}",
                )
        ax.axvline(today, color="grey", linewidth=1, linestyle=":")
        ax.annotate(
            today_label,
            (today, 1.0),
            xycoords=("data", "axes fraction"),
            ha="center",
            va="bottom",
            fontsize=8,
            color="grey",
        )
        if knee_load is not None:
            ax.axvline(
                knee_load,
                color="black",
                linewidth=1.2,
                linestyle="-.",
                label=f"knee of p99 at {knee_load:.3g}x",
            )
        if unstable:
            ax.plot(
                [],
                [],
                "o",
                markersize=9,
                markerfacecolor="none",
                markeredgecolor="black",
                label="backlog grows (no steady state)",
            )
        allv = np.concatenate(values) if values else np.array([])
        if allv.size and allv.max() / allv.min() > 20:
            from matplotlib.ticker import FuncFormatter, NullFormatter

            # NOTE: plain tick labels; the default log labels go through mathtext (slow).
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("load (multiple of the producers' rates)")
        ax.set_ylabel(f"end-to-end response ({unit})")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


def utilization(run: Any, ceiling: float | None) -> Any:
    """Consumer utilization per queue / group (and per partition), with 95% CIs."""
    import matplotlib

    s = run.summary
    comp = s[s.scope.isin(["queue", "group"]) & (s.metric == "utilization") & s.value.notna()]
    parts = s[(s.scope == "partition") & (s.metric == "utilization") & s.value.notna()]
    if comp.empty and parts.empty:
        return None
    panels = [
        (p, t)
        for p, t in ((comp, "queues and consumer groups"), (parts, "partitions"))
        if not p.empty
    ]
    rows = sum(len(p) for p, _ in panels)
    with matplotlib.rc_context(_RC):
        fig = _figure(8.0, 1.2 + 0.32 * rows + 0.5 * len(panels))
        axes = fig.subplots(
            len(panels), 1, squeeze=False, height_ratios=[len(p) + 1.5 for p, _ in panels]
        )[:, 0]
        for ax, (p, title) in zip(axes, panels, strict=True):
            y = np.arange(len(p))[::-1]
            v = p.value.to_numpy()
            err = np.vstack([v - p.ci_low.fillna(p.value), p.ci_high.fillna(p.value) - v])
            colors = ["#C44E52" if x >= 0.9 else "#DD8452" if x >= 0.7 else "#4C72B0" for x in v]
            ax.barh(y, v, xerr=err, color=colors, capsize=3, height=0.6)
            ax.set_yticks(y, [_plain(n) for n in p.name])
            ax.axvline(1.0, color="black", linewidth=1)
            if ceiling is not None:
                ax.axvline(
                    ceiling,
                    color="#C44E52",
                    linestyle="--",
                    linewidth=1.2,
                    label=f"SLO ceiling {ceiling:g}",
                )
                ax.legend(loc="lower right", fontsize=8)
            ax.set_xlim(0, max(1.05, float(np.nanmax(p.ci_high.fillna(p.value))) * 1.05))
            ax.set_title(title, fontsize=9, loc="left")
            ax.grid(axis="y", visible=False)
        axes[-1].set_xlabel("utilization (busy fraction of consumer slots; 95% CI)")
    return fig


def backlog(series: pd.DataFrame, windows: Sequence[Window], duration: float, warmup: float) -> Any:
    """Messages waiting per queue over time, mean over replications with a 95% band,
    one panel per scheduled outage (or the whole run when there is none)."""
    import matplotlib

    if series.empty:
        return None
    spans: list[tuple[float, float, Window | None]] = []
    for w in windows[:4]:
        span = max(w.end, w.resumed) - w.start
        spans.append((max(0.0, w.start - 0.5 * span), min(duration, w.start + 4 * span), w))
    if not spans:
        spans = [(0.0, duration, None)]
    peak = series.groupby("name")["ready"].max().sort_values(ascending=False)
    names = list(peak.index[:6])
    palette = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860"]
    with matplotlib.rc_context(_RC):
        fig = _figure(8.0, 0.4 + 2.6 * len(spans))
        axes = fig.subplots(len(spans), 1, squeeze=False)[:, 0]
        for ax, (t0, t1, w) in zip(axes, spans, strict=True):
            scale, unit = _time_axis(t1 - t0)
            band = backlog_band(series[series.name.isin(names)], t0, t1, bins=80)
            for name, color in zip(names, palette, strict=False):
                b = band[band.name == name]
                if b.empty:
                    continue
                t = b.time.to_numpy() / scale
                ax.fill_between(t, b.low, b.high, color=color, alpha=0.2, linewidth=0)
                ax.plot(t, b["mean"], color=color, linewidth=1.3, label=_plain(name))
            if w is not None:
                ax.axvspan(
                    w.start / scale,
                    w.end / scale,
                    color="#C44E52",
                    alpha=0.12,
                    label="down (scheduled outage)",
                )
                if w.takeover:
                    ax.axvline(
                        w.resumed / scale,
                        color="black",
                        linestyle="--",
                        linewidth=1,
                        label=f"backup serving ({(w.resumed - w.start):.3g} s after)",
                    )
                ax.set_title(_plain(w.label), fontsize=9, loc="left")
            else:
                ax.set_title("whole run (no scheduled outage)", fontsize=9, loc="left")
            if t0 < warmup:
                ax.axvspan(
                    t0 / scale,
                    warmup / scale,
                    color="grey",
                    alpha=0.1,
                    label="warm-up (not measured)",
                )
            ax.set_xlim(t0 / scale, t1 / scale)
            ax.set_ylim(bottom=0)
            ax.set_ylabel("messages waiting")
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        axes[-1].set_xlabel(f"time since start of run ({unit})")
    return fig


def losses(fractions: pd.DataFrame) -> Any:
    """Fraction of each queue's arrivals rejected, dropped, expired, lost,
    dead-lettered or retried, with 95% CIs (log scale; zero fates are not drawn)."""
    import matplotlib

    f = fractions[fractions.value > 0]
    if f.empty:
        return None
    names = list(dict.fromkeys(fractions.name))
    kinds = [k for k in LOSS_KINDS if k in set(f.kind)]
    palette = ["#C44E52", "#DD8452", "#CCB974", "#8172B3", "#937860", "#4C72B0"]
    width = 0.8 / len(kinds)
    bottom = float(f.value.min()) / 10  # a CI reaching down to 0 ends at the axis
    with matplotlib.rc_context(_RC):
        fig = _figure(8.0, 3.6)
        ax = fig.add_subplot()
        x = np.arange(len(names))
        for i, (kind, color) in enumerate(zip(kinds, palette, strict=False)):
            k = f[f.kind == kind].set_index("name").reindex(names)
            v = k.value.to_numpy()
            lo = k.ci_low.fillna(k.value).clip(lower=bottom).to_numpy()
            hi = k.ci_high.fillna(k.value).to_numpy()
            err = np.vstack([v - lo, hi - v])
            ax.bar(
                x + (i - (len(kinds) - 1) / 2) * width,
                v,
                width,
                yerr=err,
                capsize=2,
                color=color,
                label=LOSS_KINDS[kind],
            )
        from matplotlib.ticker import FuncFormatter, NullFormatter

        ax.set_yscale("log")
        ax.set_ylim(bottom=bottom)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks(x, [_plain(n) for n in names])
        ax.set_ylabel("fraction of arrivals (95% CI)")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.grid(axis="x", visible=False)
    return fig


def theory_check(theory: pd.DataFrame) -> Any:
    """Simulated / theory for every metric theory gives (95% CI); 1 = exact agreement."""
    import matplotlib

    t = theory[np.isfinite(theory.theory) & (theory.theory > 0)]
    if t.empty:
        return None
    with matplotlib.rc_context(_RC):
        fig = _figure(8.0, 0.9 + 0.24 * len(t))
        ax = fig.add_subplot()
        y = np.arange(len(t))[::-1]
        ratio = (t.value / t.theory).to_numpy()
        lo = (t.ci_low.fillna(t.value) / t.theory).to_numpy()
        hi = (t.ci_high.fillna(t.value) / t.theory).to_numpy()
        inside = t.within_ci.to_numpy(dtype=bool)
        for mask, color, label in (
            (inside, "#4C72B0", "theory inside the CI"),
            (~inside, "#C44E52", "theory outside the CI"),
        ):
            if mask.any():
                ax.errorbar(
                    ratio[mask],
                    y[mask],
                    xerr=np.vstack([ratio - lo, hi - ratio])[:, mask],
                    fmt="o",
                    color=color,
                    capsize=3,
                    markersize=4,
                    label=label,
                )
        ax.axvline(1.0, color="black", linewidth=1)
        labels = [_plain(f"{r.name} · {r.metric} ({r.model})") for r in t.itertuples()]
        ax.set_yticks(y, labels)
        ax.set_xlabel("simulated / theory (95% CI); 1 = the exact value")
        span = max(0.1, float(np.nanmax(np.abs(np.concatenate([lo, hi]) - 1))) * 1.1)
        if math.isfinite(span):
            ax.set_xlim(1 - span, 1 + span)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.grid(axis="y", visible=False)
    return fig
