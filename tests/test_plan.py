"""Capacity planning: the cheapest configuration meeting every SLO with confidence.

Real plans run tiny M/M/c scenarios (seconds of simulated time, few replications); the
search rules (the pessimistic verdict, the cheapest of several variables) are checked
with a stand-in simulator whose verdicts are fixed, so that they are exact specifications
rather than statistical ones.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import qsim
import qsim.engines
from qsim.analytic import min_servers, mmc
from qsim.cli import app
from qsim.planning import PlanError, PlanResult, plan
from qsim.scenario import ScenarioError, load_scenario, loads
from qsim.scenario.loader import dump_scenario
from qsim.slo import evaluate_slo

ROOT = Path(__file__).parents[1]

# lambda = 20/s today, planned at 2x = 40/s; exponential 100 ms service: M/M/c, a = 4.
MMC = """\
name: tiny-mmc
seed: 11
duration: {duration}
warmup: 20s
replications: 5
producers:
  - {{name: web, to: jobs, rate: 20/s}}
brokers:
  - name: rabbit
    queues: [{{name: jobs}}]
consumers:
  - {{name: workers, queue: jobs, instances: 3, service: 100ms}}
slo:
  p99_response: {target}
plan:
  load: 2x
  variables:
    - {{set: consumers.workers.instances, range: {range}, cost: 0.12/h}}
"""


def mmc_yaml(duration: str = "300s", target: str = "600ms", range_: str = "1..30") -> str:
    return MMC.format(duration=duration, target=target, range=range_)


@pytest.fixture(scope="module")
def mmc_plan() -> PlanResult:
    return plan(loads(mmc_yaml()))


# ---- real plans on an M/M/c queue -------------------------------------------------------


def test_mmc_plan_matches_erlang_c(mmc_plan: PlanResult) -> None:
    """An M/M/c plan recommends min_servers for the p99 target, or one more.

    min_servers is the fewest servers whose *exact* p99 response meets the target. The plan
    accepts a configuration only when the upper end of the 95% CI of the simulated p99 meets
    it; at min_servers the exact p99 may sit within one CI half-width below the target,
    and then the pessimistic end crosses it. One more server lowers the p99 by far more
    than a half-width here, so the answer is min_servers or min_servers + 1.
    """
    c = min_servers(arrival_rate=40.0, service_mean=0.1, max_response_quantile=0.6, quantile=0.99)
    assert mmc_plan.feasible
    assert mmc_plan.config["consumers.workers.instances"] in (c, c + 1)
    assert mmc_plan.cost_per_hour == pytest.approx(
        0.12 * mmc_plan.config["consumers.workers.instances"]
    )
    # One server fewer misses the target in theory: the +1 is not needed by capacity.
    fewer = mmc(arrival_rate=40.0, service_mean=0.1, servers=c - 1)
    assert fewer.response_quantile(0.99) > 0.6


def test_recommendation_is_met_at_the_pessimistic_end(mmc_plan: PlanResult) -> None:
    """Every target at the recommendation is met by the CI's upper end (its confirmation)."""
    b = mmc_plan.binding
    assert (b.verdict == "met").all()
    assert (b.ci_high <= b.limit).all()
    assert b.binding.iloc[0] and b.target.iloc[0] == "p99_response"
    assert mmc_plan.binding_target == "p99_response"


def test_evaluated_is_tidy_and_cheaper_points_fail(mmc_plan: PlanResult) -> None:
    """evaluated has one row per simulation and target; nothing cheaper than the answer met."""
    ev = mmc_plan.evaluated
    want = {"evaluation", "phase", "consumers.workers.instances", "cost_per_hour", "target"}
    assert want | {"value", "ci_high", "verdict", "slack", "meets"} <= set(ev.columns)
    assert set(ev.phase) <= {"corner", "search", "confirm", "headroom"}
    judged = ev[ev.phase.isin(["search", "corner"]) & (ev.load_multiple == 1.0)]
    cheaper = judged[judged.cost_per_hour < mmc_plan.cost_per_hour]
    assert not cheaper.meets.any()
    # Never a blind scan: a handful of simulations for 30 candidate sizes.
    assert ev[ev.phase == "search"].evaluation.nunique() <= 6


def test_headroom_breaks_just_above(mmc_plan: PlanResult) -> None:
    """Headroom >= 1; the recommendation meets there and breaks within the tolerance above."""
    h = mmc_plan
    assert h.headroom_multiple >= 1.0
    assert 0 < h.breaks_at - h.headroom_multiple <= h.headroom_tolerance + 1e-12
    row = h.headroom.iloc[0]
    assert row.headroom == h.headroom_multiple and row.breaks == "p99_response"
    sc = loads(mmc_yaml())
    n = h.config["consumers.workers.instances"]
    for multiple, verdict_ok in ((h.headroom_multiple, True), (h.breaks_at, False)):
        at = type(sc).model_validate(
            {
                **sc.model_dump(exclude_unset=True),
                "plan": None,
                "load": 2.0 * multiple,
                "consumers": [{**sc.consumers[0].model_dump(exclude_unset=True), "instances": n}],
            }
        )
        res = qsim.engines.run(at, seed=h.seed)
        assert (res.slo.verdict == "met").all() == verdict_ok
    # Theory agrees on where the p99 crosses the target, within the CI's reach.
    lam = 40.0 * h.breaks_at * 1.3
    assert mmc(arrival_rate=lam, service_mean=0.1, servers=n).response_quantile(0.99) > 0.6


def test_infeasible_range_names_the_failing_slo() -> None:
    """When the most generous configuration misses, the result says which SLO by how much."""
    res = plan(loads(mmc_yaml(range_="1..5", duration="120s", target="400ms")))
    exact = float(mmc(arrival_rate=40.0, service_mean=0.1, servers=5).response_quantile(0.99))
    assert exact > 1.4 * 0.4  # theory: 5 servers miss 400 ms at 40/s by far
    assert not res.feasible and res.recommended.empty
    assert math.isnan(res.cost_per_hour)
    assert "p99_response" in res.infeasible_reason and "over" in res.infeasible_reason
    assert "instances=5" in res.infeasible_reason
    assert res.binding.target.iloc[0] == "p99_response"
    assert res.binding.verdict.iloc[0] == "missed"


def test_variables_that_cannot_move_the_failing_slo_are_an_error() -> None:
    """Only prefetch varies, but loss needs capacity: the error names both."""
    text = """\
name: prefetch-only
seed: 3
duration: 60s
replications: 3
producers: [{name: web, to: jobs, rate: 40/s}]
brokers:
  - {name: rabbit, queues: [{name: jobs, capacity: 10}]}
consumers:
  - {name: workers, queue: jobs, instances: 2, service: 100ms}
slo: {max_loss: 0.01}
plan:
  variables:
    - {set: consumers.workers.prefetch, values: [1, 5]}
"""
    with pytest.raises(PlanError, match=r"consumers\.workers\.prefetch.*cannot change max_loss"):
        plan(loads(text))


def test_plan_needs_a_plan_block() -> None:
    """A scenario without plan: cannot be planned, and the error shows how to add one."""
    text = mmc_yaml().split("plan:")[0]
    with pytest.raises(PlanError, match="has no plan: block"):
        plan(loads(text))


def test_qsim_plan_is_the_public_entry_point() -> None:
    """qsim.plan(scenario) and qsim.PlanResult are public, even once the module is imported."""
    assert callable(qsim.plan)
    assert qsim.PlanResult is PlanResult
    assert "plan" in qsim.__all__ and "PlanResult" in qsim.__all__


# ---- the search rules, with a stand-in simulator ----------------------------------------


def _fake_run(rule):  # type: ignore[no-untyped-def]
    """A stand-in for qsim.engines.run: p99 response (value, half-width) from ``rule``."""

    def run(scenario, *, engine=None, seed=None):  # type: ignore[no-untyped-def]
        c = scenario.consumers[0]
        value, half = rule(c.instances, c.concurrency, scenario.load)
        summary = pd.DataFrame(
            [("system", "all", "response_p99", value, value - half, value + half, 0.95, 5)],
            columns=["scope", "name", "metric", "value", "ci_low", "ci_high", "level", "n"],
        )

        return SimpleNamespace(
            slo=evaluate_slo(scenario.slo, summary), unstable={}, engine="stand-in"
        )

    return run


# lambda = 1/s at 100 ms: the analytic bracket asks for very few slots, so it does not
# decide these cases; the stand-in's verdicts do.
FAKE = """\
name: stand-in
seed: 5
duration: 60s
replications: 5
producers: [{name: web, to: jobs, rate: 1/s}]
brokers:
  - {name: rabbit, queues: [{name: jobs}]}
consumers:
  - {name: workers, queue: jobs, instances: 1, service: 100ms}
slo: {p99_response: 500ms}
plan:
  variables:
"""


def test_point_estimate_alone_is_not_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    """5 instances meet 500 ms on the point estimate (450 ms) but not at the CI's upper end
    (550 ms): the plan recommends 6, whose upper end (475 ms) meets."""

    def rule(n: int, k: int, load: float) -> tuple[float, float]:
        return (0.45 * 5 / n) * load**2, 0.1 * 5 / n

    monkeypatch.setattr(qsim.engines, "run", _fake_run(rule))
    text = FAKE + "    - {set: consumers.workers.instances, range: 1..20, cost: 1/h}\n"
    res = plan(loads(text))
    assert res.config == {"consumers.workers.instances": 6}
    ev = res.evaluated
    five = ev[(ev["consumers.workers.instances"] == 5) & (ev.phase == "search")]
    assert five.verdict.tolist() == ["uncertain"]
    assert (five.value <= five.limit).all() and (five.ci_high > five.limit).all()
    assert "uncertain" not in set(res.binding.verdict)
    why = res.runners_up.set_index("consumers.workers.instances").loc[5, "why"]
    assert "the estimate 450 ms meets 500 ms but the 95% CI reaches 550 ms" in why


def test_several_variables_pick_the_cheapest(monkeypatch: pytest.MonkeyPatch) -> None:
    """With instances (0.5/h) and concurrency (0.1/h) the plan finds the cheapest pair with
    instances x concurrency >= 6, as brute force over the grid does, without trying all."""

    def rule(n: int, k: int, load: float) -> tuple[float, float]:
        return (0.3 if n * k >= 6 * load else 0.9), 0.01

    monkeypatch.setattr(qsim.engines, "run", _fake_run(rule))
    text = FAKE + (
        "    - {set: consumers.workers.instances, range: 1..6, cost: 0.5/h}\n"
        "    - {set: consumers.workers.concurrency, range: 1..4, cost: 0.1/h}\n"
    )
    res = plan(loads(text))
    grid = [(n, k) for n in range(1, 7) for k in range(1, 5) if n * k >= 6]
    best = min(0.5 * n + 0.1 * k for n, k in grid)
    assert res.cost_per_hour == pytest.approx(best)
    assert res.config == {"consumers.workers.instances": 2, "consumers.workers.concurrency": 3}
    searched = res.evaluated[res.evaluated.phase == "search"].evaluation.nunique()
    assert searched < 24 // 2


def test_failed_confirmation_searches_upward(monkeypatch: pytest.MonkeyPatch) -> None:
    """A point that meets with few replications but fails confirmation is not recommended;
    the search goes on to the next size, which is confirmed."""

    def run_factory():  # type: ignore[no-untyped-def]
        def rule(n: int, k: int, load: float) -> tuple[float, float]:
            return (0.3 if n >= 4 else 0.9), 0.01

        base = _fake_run(rule)

        def run(scenario, *, engine=None, seed=None):  # type: ignore[no-untyped-def]
            res = base(scenario, engine=engine, seed=seed)
            if scenario.replications > 5 and scenario.consumers[0].instances == 4:
                res.slo = res.slo.assign(verdict="missed")  # the confirmation disagrees
            return res

        return run

    monkeypatch.setattr(qsim.engines, "run", run_factory())
    text = FAKE + "    - {set: consumers.workers.instances, range: 1..10, cost: 1/h}\n"
    res = plan(loads(text))
    assert res.config == {"consumers.workers.instances": 5}
    assert any("failed confirmation" in n for n in res.notes)


# ---- the plan: block --------------------------------------------------------------------

BAD = [
    # unknown consumer pool: the path must name an existing object
    ("{set: consumers.nobody.instances, range: 1..4}", "unknown consumer pool 'nobody'"),
    # a field that is not an integer planning variable
    ("{set: consumers.workers.service, range: 1..4}", "must be a path kind.name.field"),
    # an empty range
    ("{set: consumers.workers.instances, range: 9..4}", "must be a range of integers"),
    # a negative cost
    ("{set: consumers.workers.instances, range: 1..4, cost: -1/h}", "must be a cost per unit"),
    # a value the field does not allow
    ("{set: consumers.workers.instances, range: 0..4}", r"instances = 0 gives an invalid"),
    # both a range and values
    ("{set: consumers.workers.instances, range: 1..4, values: [2]}", "exactly one of range"),
]


@pytest.mark.parametrize(("variable", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_plan_blocks_give_file_and_line(variable: str, message: str) -> None:
    """A bad variable is reported at its line in the file, with what is wrong."""
    text = FAKE + f"    - {variable}\n"
    line = text.count("\n")
    with pytest.raises(ScenarioError, match=message) as info:
        loads(text, "plan.yaml")
    issue = info.value.issues[0]
    assert issue.file == "plan.yaml" and issue.line == line
    assert f"line {line}," in str(info.value)


def test_plan_block_needs_an_slo_block() -> None:
    """A plan without targets is an error at the plan: key."""
    text = FAKE.replace("slo: {p99_response: 500ms}\n", "")
    text += "    - {set: consumers.workers.instances, range: 1..4}\n"
    with pytest.raises(ScenarioError, match="needs an slo: block") as info:
        loads(text, "plan.yaml")
    at = text.splitlines().index("plan:") + 1
    assert at <= info.value.issues[0].line <= at + 1  # the plan: block


def test_plan_block_round_trips_with_units() -> None:
    """Costs per day or month are per hour inside; dumping writes ranges and costs as text."""
    text = FAKE + (
        "    - {set: consumers.workers.instances, range: 2..8:2, cost: 2.88/d}\n"
        "    - {set: consumers.workers.concurrency, values: [1, 4], cost: 87.6/month}\n"
    )
    sc = loads(text)
    v0, v1 = sc.plan.variables
    assert v0.choices == (2, 4, 6, 8) and v0.cost == pytest.approx(0.12)
    assert v1.choices == (1, 4) and v1.cost == pytest.approx(0.12)
    dumped = dump_scenario(sc)
    assert "2..8:2" in dumped and "cost: 0.12/h" in dumped
    assert loads(dumped) == sc


# ---- the command line and the bundled scenario -------------------------------------------


def test_cli_plan_prints_and_writes(tmp_path: Path) -> None:
    """qsim plan prints the recommendation, runners-up, binding SLO and headroom; --out
    writes every evaluated point as CSV."""
    path = tmp_path / "mmc.yaml"
    path.write_text(mmc_yaml(duration="120s"))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["plan", str(path), "--seed", "4", "--out", str(out)])
    assert res.exit_code == 0, res.output
    for word in ("recommended configuration", "runners-up", "binding", "headroom", "cost"):
        assert word in res.output
    ev = pd.read_csv(out / "evaluated.csv")
    assert {"consumers.workers.instances", "verdict", "ci_high", "phase"} <= set(ev.columns)
    assert (ev.seed.iloc[0]) == 4


def test_cli_plan_infeasible_and_bad_input(tmp_path: Path) -> None:
    """Nothing in range: exit 1 with the failing SLO; a bad plan block: exit 2 with its line."""
    path = tmp_path / "small.yaml"
    path.write_text(mmc_yaml(duration="60s", range_="1..5"))
    res = CliRunner().invoke(app, ["plan", str(path)])
    assert res.exit_code == 1 and "p99_response" in res.output
    bad = tmp_path / "bad.yaml"
    text = mmc_yaml().replace("range: 1..30", "range: 30..1")
    bad.write_text(text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "30..1" in t)
    res = CliRunner().invoke(app, ["plan", str(bad)])
    assert res.exit_code == 2 and f"line {line}," in res.output


def test_black_friday_scenario_plans() -> None:
    """The bundled Black Friday plan (shortened) recommends a pool that meets both SLOs."""
    sc = load_scenario(ROOT / "scenarios" / "black-friday-plan.yaml")
    sc = type(sc).model_validate({**sc.model_dump(exclude_unset=True), "duration": 60.0})
    res = plan(sc)
    assert res.feasible and set(res.binding.target) == {"p99_response", "max_loss"}
    n = res.config["consumers.workers.instances"]
    assert n > np.ceil(180 * 0.04)  # more workers than the offered load in erlangs
    assert res.headroom_multiple >= 1.0
