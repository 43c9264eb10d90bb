"""The HTML capacity report: content, escaping, self-containment, atomic writes, the CLI.

The report is rendered from a tiny scenario (seconds of simulated time) and read back
with the standard library's HTML parser; no browser is needed.
"""

from __future__ import annotations

import base64
import math
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import qsim
from qsim.report import analysis, write_report
from qsim.report.assumptions import NOT_MODELLED, assumptions

EVIL = "<script>alert(1)</script>"

# One durable queue behind a broker whose primary fails over at 20 s; one small queue
# that rejects when full. Utilization 0.6 and 0.8 at 1x, so 2.5x is unstable.
SCENARIO = f"""
name: "tiny {EVIL}"
description: "Does <b>orders</b> & friends survive the drill? <img src=x onerror=alert(2)>"
seed: 7
duration: 60s
warmup: 5s
replications: 3
producers:
  - {{name: web, to: "orders{EVIL}", rate: 30/s, persistent: true}}
  - {{name: cron, to: small, rate: 8/s}}
brokers:
  - name: rabbit
    nodes: 2
    failover: {{mode: primary-backup, health_check: 2s, detection: 3s, promotion: 1s}}
    outages: [{{at: 20s, duration: 10s, node: 0}}]
    queues:
      - {{name: "orders{EVIL}", durable: true, node: 0}}
      - {{name: small, capacity: 3, node: 1}}
consumers:
  - {{name: workers, queue: "orders{EVIL}", instances: 2, service: 40ms}}
  - {{name: one, queue: small, instances: 1, service: 100ms}}
slo:
  p99_response: 1s
  max_loss: 0.001
"""


class Page(HTMLParser):
    """Tags, attributes, text and section ids of an HTML document."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []
        self.sections: list[str] = []
        self.images: list[str] = []
        self.chunks: list[str] = []
        self.feed(text)
        self.close()
        self.text = " ".join(" ".join(self.chunks).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for k, v in attrs:
            self.attrs.append((tag, k, v or ""))
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("id") or "")
        if tag == "img":
            self.images.append(a.get("src") or "")

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> qsim.Scenario:
    path = tmp_path_factory.mktemp("scenario") / "tiny.yaml"
    path.write_text(SCENARIO)
    return qsim.load_scenario(path)


@pytest.fixture(scope="module")
def run(scenario: qsim.Scenario) -> qsim.RunResult:
    return qsim.run(scenario)


@pytest.fixture(scope="module")
def sweep(scenario: qsim.Scenario) -> pd.DataFrame:
    frames = []
    for load in (0.5, 1.0, 2.5):
        at = type(scenario).model_validate({**scenario.model_dump(), "load": load})
        f = qsim.run(at, replications=3).summary.drop(columns=["level"])
        f.insert(0, "load", load)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def report(
    tmp_path_factory: pytest.TempPathFactory,
    run: qsim.RunResult,
    sweep: pd.DataFrame,
    scenario: qsim.Scenario,
) -> tuple[Path, list[Path]]:
    path = tmp_path_factory.mktemp("report") / "report.html"
    files = write_report(
        run, path, scenario=scenario, sweep=sweep, assets=True, notes=["a note <i>"]
    )
    return path, files


@pytest.fixture(scope="module")
def page(report: tuple[Path, list[Path]]) -> Page:
    return Page(report[0].read_text(encoding="utf-8"))


# ---- content --------------------------------------------------------------------------


def test_every_section_is_present_in_order(page: Page) -> None:
    """The answer comes first; figures, tables, assumptions and reproducibility follow."""
    assert page.sections == [
        "answer",
        "slo",
        "load",
        "utilization",
        "backlog",
        "losses",
        "theory",
        "tables",
        "assumptions",
        "reproducibility",
    ]


def test_figures_are_embedded_png(page: Page) -> None:
    """Every figure is a data: URI holding a PNG; response-vs-load, utilization, backlog
    and losses are all drawn for this scenario."""
    assert len(page.images) == 4
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data[:8] == b"\x89PNG\r\n\x1a\n"


def test_numbers_of_the_run_appear(page: Page, run: qsim.RunResult) -> None:
    """Values, CIs and reproducibility data of the RunResult are printed in the page."""
    util = run.estimate("queue", "small", "utilization")
    assert f"{util.mean:.4g} [{util.ci_low:.4g}, {util.ci_high:.4g}]" in page.text
    p99 = run.estimate("system", "all", "response_p99")
    assert f"{p99.mean * 1e3:.3g} ms" in page.text
    loss = run.estimate("system", "all", "loss_rate")
    assert f"{100 * loss.mean:.3g} %" in page.text
    for fact in (run.scenario_hash, str(run.seed), run.version, run.engine, run.reason):
        assert fact in page.text


def test_slo_verdicts_lead_the_answer(page: Page, run: qsim.RunResult) -> None:
    """The answer states how many SLOs are met and names each verdict."""
    met = int((run.slo.verdict == "met").sum())
    assert f"{met} of {len(run.slo)} SLOs met" in page.text or "all 2 SLOs are met" in page.text
    for v in run.slo.verdict:
        assert v in page.text


def test_load_sweep_findings(page: Page, sweep: pd.DataFrame) -> None:
    """At 2.5x the load the unbounded queue is unstable, and the page says so."""
    unstable = analysis.unstable_loads(sweep)
    assert list(unstable) == [2.5]
    assert unstable[2.5] == [f"orders{EVIL}"]
    assert f"From 2.5x on, the backlog of orders{EVIL} grows without bound" in page.text
    assert "grows without bound" in page.text


def test_sweep_judges_partitions_and_misses_latency_where_unstable() -> None:
    """A load point at which only a topic partition's lag grows is unstable there, and
    the run's latency SLO is missed at that load (not judged on a finite figure)."""

    def rows(load: float, growth: tuple[float, float]) -> list[tuple]:
        return [
            (load, "system", "all", "response_p99", 0.05, 0.04, 0.06),
            (load, "group", "ev/c", "utilization", 0.6, 0.58, 0.62),
            (load, "group", "ev/c", "arrival_rate", 20.0, 19.5, 20.5),
            (load, "group", "ev/c", "backlog_growth", 0.0, -0.01, 0.01),
            (load, "partition", "ev/c/p0", "utilization", 0.99, 0.98, 1.0),
            (load, "partition", "ev/c/p0", "arrival_rate", 9.0, 8.8, 9.2),
            (load, "partition", "ev/c/p0", "backlog_growth", *growth),
        ]

    cols = ["load", "scope", "name", "metric", "value", "ci_low", "ci_high"]
    sweep = pd.DataFrame(rows(1.0, (0.0, -0.01, 0.01)) + rows(1.5, (2.0, 1.5, 2.5)), columns=cols)
    assert analysis.unstable_loads(sweep) == {1.5: ["ev/c/p0"]}
    slo = pd.DataFrame({"target": ["p99_response"], "limit": [1.0]})
    by_load = analysis.slo_by_load(sweep, slo).set_index("load")
    assert by_load.loc[1.0, "verdict"] == "met"
    assert by_load.loc[1.5, "verdict"] == "missed" and math.isinf(by_load.loc[1.5, "value"])


def test_outage_and_failover_are_described(page: Page) -> None:
    """The scheduled outage is listed among the assumptions, with the failover timings."""
    assert "node 0 down from 20 s for 10 s" in page.text
    assert "primary-backup failover over 2 nodes" in page.text
    assert "Network latency" in page.text  # what qsim never models


def test_user_strings_are_escaped(page: Page, report: tuple[Path, list[Path]]) -> None:
    """Names and descriptions from the scenario are text, never markup."""
    raw = report[0].read_text(encoding="utf-8")
    assert "script" not in page.tags
    assert not {"b", "i"} & set(page.tags)
    assert all(not (tag == "img" and k == "onerror") for tag, k, _ in page.attrs)
    assert EVIL in page.text  # shown as text after unescaping
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    assert "<img src=x onerror=alert(2)>" in page.text
    assert "a note <i>" in page.text


def test_nothing_is_loaded_from_outside(page: Page, report: tuple[Path, list[Path]]) -> None:
    """No external URL: links are in-page anchors, images data: URIs, no script or link."""
    raw = report[0].read_text(encoding="utf-8").lower()
    assert "script" not in page.tags and "link" not in page.tags
    for tag, key, value in page.attrs:
        if key == "href":
            assert value.startswith("#"), (tag, value)
        if key == "src":
            assert value.startswith("data:image/png;base64,"), tag
    for needle in ("http://", "https://", "@import", "url(", "//fonts"):
        assert needle not in raw


def test_assets_are_written_beside(report: tuple[Path, list[Path]]) -> None:
    """--assets writes one PNG per figure next to the HTML, named after it."""
    path, files = report
    assert files[0] == path
    names = sorted(f.name for f in files[1:])
    assert names == [
        "report-backlog.png",
        "report-losses.png",
        "report-response-vs-load.png",
        "report-utilization.png",
    ]
    for f in files[1:]:
        assert f.read_bytes()[:4] == b"\x89PNG"


def test_same_inputs_same_bytes(
    tmp_path: Path,
    run: qsim.RunResult,
    sweep: pd.DataFrame,
    scenario: qsim.Scenario,
    report: tuple[Path, list[Path]],
) -> None:
    """Without a timestamp the report is byte-for-byte reproducible."""
    again = tmp_path / "report.html"
    write_report(run, again, scenario=scenario, sweep=sweep, notes=["a note <i>"])
    assert again.read_bytes() == report[0].read_bytes()


def test_minimal_inputs(tmp_path: Path, run: qsim.RunResult) -> None:
    """A RunResult alone gives a complete page that says what is missing."""
    path = tmp_path / "r.html"
    write_report(run, path)
    page = Page(path.read_text(encoding="utf-8"))
    assert "answer" in page.sections and "reproducibility" in page.sections
    assert "No load sweep was given" in page.text
    assert "assumptions are not listed" in page.text


# ---- atomic writes --------------------------------------------------------------------


def test_failure_while_drawing_leaves_nothing(
    tmp_path: Path, run: qsim.RunResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error while rendering writes no file and keeps an older report intact."""
    from qsim.report import figures

    path = tmp_path / "r.html"
    path.write_text("old report")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(figures, "backlog", broken)
    with pytest.raises(RuntimeError, match="boom"):
        write_report(run, path, assets=True)
    assert path.read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_failure_while_writing_leaves_no_temporary(
    tmp_path: Path, run: qsim.RunResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the final rename fails, temporary files are removed and nothing is half-written."""
    import os

    from qsim.report import figures

    def refuse(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(figures, "png", lambda fig: b"\x89PNG\r\n\x1a\n")  # skip encoding
    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_report(run, tmp_path / "r.html", assets=True)
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_is_an_error(tmp_path: Path, run: qsim.RunResult) -> None:
    """Writing into a folder that does not exist fails before anything is drawn."""
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_report(run, tmp_path / "nope" / "r.html")


def test_sweep_without_load_is_refused(tmp_path: Path, run: qsim.RunResult) -> None:
    """A sweep table must vary load."""
    table = pd.DataFrame({"consumers": [1], "scope": ["system"]})
    with pytest.raises(ValueError, match="'load' column"):
        write_report(run, tmp_path / "r.html", sweep=table)


def test_sweep_with_several_points_per_load_is_refused(tmp_path: Path, run: qsim.RunResult) -> None:
    """Load and consumers swept together: the page plots one curve per load, so refused."""
    row = {"scope": "queue", "name": "q", "metric": "wait_mean", "value": 1.0}
    table = pd.DataFrame([{**row, "load": 1.0, "consumers": c} for c in (1, 2)])
    with pytest.raises(ValueError, match="vary load only"):
        write_report(run, tmp_path / "r.html", sweep=table)
    assert not (tmp_path / "r.html").exists()


def test_import_does_not_load_matplotlib() -> None:
    """`import qsim.report` loads no matplotlib; writing a report does."""
    code = "import sys, qsim.report; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---- what the report derives ------------------------------------------------------------


def test_knee_of_a_saturating_curve() -> None:
    """Kneedle: on 1/(1 - rho) the knee is where the normalised slope passes 1."""
    x = np.linspace(0.1, 0.9, 9)
    y = 1 / (1 - x)
    xn = (x - x[0]) / (x[-1] - x[0])
    yn = (y - y[0]) / (y[-1] - y[0])
    assert analysis.knee(x, y) == pytest.approx(x[np.argmax(xn - yn)])
    assert 0.5 < analysis.knee(x, y) < 0.9  # type: ignore[operator]


@pytest.mark.parametrize(
    "y",
    [
        [1.0, 2.0, 3.0, 4.0],  # a straight line has no knee
        [1.0, 1.0, 1.0, 1.0],  # nor a flat one
        [1.0, 2.0],  # two points are not a curve
    ],
)
def test_no_knee(y: list[float]) -> None:
    """Nearly linear, flat or too short curves have no knee."""
    assert analysis.knee(np.arange(len(y), dtype=float), np.array(y)) is None


def test_first_break_per_target() -> None:
    """Each target breaks at the first load not met with confidence; met ones are absent."""
    rows = [
        (0.5, "a", "met"),
        (0.5, "b", "missed"),  # b: broken from the lowest load on
        (0.5, "c", "met"),  # c: met everywhere, so absent
        (1.0, "a", "uncertain"),  # a: not met with confidence from 1x
        (1.0, "b", "missed"),
        (1.0, "c", "met"),
        (2.0, "a", "missed"),
        (2.0, "b", "met"),  # a later "met" does not undo the break
        (2.0, "c", "met"),
    ]
    by_load = pd.DataFrame(rows, columns=["load", "target", "verdict"])
    assert analysis.first_break(by_load) == [
        {"target": "b", "load": 0.5, "last_met": None},
        {"target": "a", "load": 1.0, "last_met": 0.5},
    ]


def test_failover_takeover_time(scenario: qsim.Scenario) -> None:
    """Backup serves at ceil(t / h) h + detection + promotion (20 s: 20 + 3 + 1 = 24 s)."""
    (w,) = analysis.outage_windows(scenario)
    assert (w.start, w.end, w.resumed, w.takeover) == (20.0, 30.0, 24.0, True)
    data = scenario.model_dump()
    data["brokers"][0]["outages"] = [
        {"at": 21.0, "duration": 30.0, "node": 0},  # noticed at 22 s: serving at 26 s
        {"at": 100.0, "duration": 2.0, "node": 0},  # back before declared dead: no switch
    ]
    late, blip = analysis.outage_windows(type(scenario).model_validate(data))
    assert (late.resumed, late.takeover) == (26.0, True)
    assert (blip.resumed, blip.takeover) == (102.0, False)


def test_backlog_band_across_replications() -> None:
    """Mean over replications with a Student-t 95% band (t_0.975,1 = 12.7062), clipped at 0."""
    series = pd.DataFrame(
        {
            "replication": [0, 0, 1, 1],
            "name": ["q"] * 4,
            "time": [0.0, 1.0, 0.0, 1.0],
            "ready": [0.0, 4.0, 2.0, 4.0],
        }
    )
    band = analysis.backlog_band(series, 0.0, 2.0, bins=2)
    first, second = band.itertuples()
    assert first.mean == 1.0 and first.low == 0.0
    assert first.high == pytest.approx(1.0 + 12.706204736174707 * 1.0, rel=1e-9)
    assert (second.mean, second.low, second.high) == (4.0, 4.0, 4.0)


def test_loss_fractions_match_the_counts(run: qsim.RunResult) -> None:
    """Each fate's share is the replication mean of count / arrived."""
    f = analysis.loss_fractions(run)
    pr = run.per_replication
    mine = pr[pr.name == "small"].pivot(index="replication", columns="metric", values="value")
    got = f[(f.name == "small") & (f.kind == "rejected")].value.iloc[0]
    assert got == pytest.approx(float((mine.rejected / mine.arrived).mean()), rel=1e-12)
    assert got > 0  # capacity 3 at utilization 0.8 rejects


def test_assumptions_of_a_failure_free_scenario(scenario: qsim.Scenario) -> None:
    """Without failures the report says nothing ever fails, and lists what qsim never models."""
    data = scenario.model_dump()
    data["brokers"][0].update(outages=[], failover=None, nodes=1)
    data["brokers"][0]["queues"][1]["node"] = None
    data["brokers"][0]["queues"][0]["node"] = None
    a = assumptions(type(scenario).model_validate(data))
    assert any("no broker node or consumer instance ever fails" in x for x in a["left_out"])
    assert a["never"] == list(NOT_MODELLED)
    assert any("Poisson arrivals at 30/s" in x for x in a["modelled"])


# ---- the command line -------------------------------------------------------------------


def test_cli_writes_the_report(tmp_path: Path) -> None:
    """`qsim report` runs, sweeps and writes one HTML (and PNGs with --assets), exit 0."""
    from qsim.cli import app

    src = tmp_path / "s.yaml"
    src.write_text(SCENARIO)
    out = tmp_path / "out.html"
    args = ["report", str(src), "-o", str(out), "--duration", "30s", "-r", "2"]
    res = CliRunner().invoke(app, [*args, "--loads", "0.5,1", "--assets"])
    assert res.exit_code == 0, res.output
    assert "report written to" in res.output
    page = Page(out.read_text(encoding="utf-8"))
    assert "load" in page.sections and len(page.images) == 4
    assert "--seed 7" in page.text and "0.5x, 1x; 2 replications per load" in page.text
    assert len(list(tmp_path.glob("out-*.png"))) == 4


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--loads", "0.5,fast"], "--loads"),  # not a multiplier
        (["--engine", "warp"], "--engine must be auto, sim or fast"),  # unknown engine
    ],
)
def test_cli_bad_input(tmp_path: Path, extra: list[str], message: str) -> None:
    """Bad options fail in one line with exit 2 and write nothing."""
    from qsim.cli import app

    src = tmp_path / "s.yaml"
    src.write_text(SCENARIO)
    res = CliRunner().invoke(app, ["report", str(src), "-o", str(tmp_path / "o.html"), *extra])
    assert res.exit_code == 2
    assert message in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


def test_cli_missing_folder(tmp_path: Path) -> None:
    """An output folder that does not exist is refused before anything runs."""
    from qsim.cli import app

    src = tmp_path / "s.yaml"
    src.write_text(SCENARIO)
    res = CliRunner().invoke(app, ["report", str(src), "-o", str(tmp_path / "no" / "o.html")])
    assert res.exit_code == 2
    assert "does not exist" in res.output


PLANNED = """
name: planned
description: How many workers keep p99 under 300 ms at twice today's load?
seed: 3
duration: 40s
warmup: 4s
replications: 3
producers: [{name: web, to: orders, rate: 30/s}]
brokers: [{name: rabbit, queues: [{name: orders}]}]
consumers: [{name: workers, queue: orders, instances: 2, service: 50ms}]
slo: {p99_response: 300ms, max_utilization: 0.85}
plan:
  load: 2x
  variables: [{set: consumers.workers.instances, range: 1..20, cost: 0.12/h}]
"""


def test_cli_report_with_a_plan(tmp_path: Path) -> None:
    """With a plan: block the recommendation, its cost, the binding SLO and the headroom
    lead the report, and the run describes the recommended configuration."""
    pytest.importorskip("qsim.planning")
    from qsim.cli import app

    src = tmp_path / "p.yaml"
    src.write_text(PLANNED)
    out = tmp_path / "p.html"
    res = CliRunner().invoke(app, ["report", str(src), "-o", str(out), "--loads", "1"])
    assert res.exit_code == 0, res.output
    page = Page(out.read_text(encoding="utf-8"))
    assert page.sections[:2] == ["answer", "plan"]
    assert "Recommended: consumers.workers.instances =" in page.text
    for label in ("cost", "binding SLO", "headroom", "planned load"):
        assert label in page.text
    assert "recommended configuration at the planned load (2x" in page.text
    assert not math.isnan(float(page.text.split(" per hour")[0].split()[-1]))
