"""Saturated topic partitions are reported unstable (qsim.sim.summary, qsim.engines).

With skewed keys one partition can receive more than its consumer completes while the
other partitions, and the group's consumers taken together, have capacity to spare. That
partition's consumer lag grows without bound, so its ``backlog_mean`` describes the run,
not a steady state: the run must say it is unstable and report the growth.

The expected partition loads are derived here from the key law alone: key ``k`` of a
Zipf(s) law over ``0..n-1`` has weight ``1 / (k + 1)^s`` and the key-hash partitioner
sends it to partition ``k mod P`` (see :mod:`qsim.sim.topic`). Statistical checks use
Student-t intervals across independent replications at the false-rejection rate
``ALPHA`` with fixed seeds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from qsim.cli import app
from qsim.engines import _unstable, run
from qsim.results import RunResult
from qsim.scenario.schema import Scenario
from tests.sim.simcheck import assert_covers

PARTITIONS = 4
SERVICE_RATE = 10.0  # messages per second one consumer completes (mean service 0.1 s)
ZIPF_N, ZIPF_S = 50, 1.3
HOT_RATE = 28.0  # messages per second into the topic with Zipf keys
GROUP = "events/c"


def zipf_shares(n: int, s: float, partitions: int) -> np.ndarray:
    """Fraction of messages each partition receives: Zipf weights summed per key mod P."""
    w = 1.0 / np.arange(1, n + 1, dtype=float) ** s
    return np.array([w[p::partitions].sum() for p in range(partitions)]) / w.sum()


def topic_doc(
    *, rate: float, keys: dict[str, Any], duration: float, replications: int, seed: int
) -> dict[str, Any]:
    """One topic of ``PARTITIONS`` partitions, one consumer instance per partition."""
    return {
        "name": "hot-partition",
        "seed": seed,
        "duration": duration,
        "warmup": 60.0,
        "replications": replications,
        "engine": "sim",
        "producers": [{"name": "src", "rate": rate, "to": "events", "keys": keys}],
        "brokers": [{"name": "kafka", "topics": [{"name": "events", "partitions": PARTITIONS}]}],
        "consumers": [
            {
                "name": "c",
                "topic": "events",
                "instances": PARTITIONS,
                "service": 1.0 / SERVICE_RATE,
            }
        ],
    }


def per_rep(result: RunResult, scope: str, name: str, metric: str) -> np.ndarray:
    d = result.per_replication
    hit = d[(d.scope == scope) & (d.name == name) & (d.metric == metric)]
    assert len(hit) == result.replications, (scope, name, metric)
    return hit.value.to_numpy()


@pytest.fixture(scope="module")
def hot() -> RunResult:
    """Zipf keys: partition 0 offered utilization ~1.28, the others <= 0.68, group 0.70."""
    doc = topic_doc(
        rate=HOT_RATE,
        keys={"dist": "zipf", "n": ZIPF_N, "s": ZIPF_S},
        duration=1000.0,
        replications=10,
        seed=20240611,
    )
    return run(Scenario.model_validate(doc))


def test_the_scenario_saturates_only_partition_zero() -> None:
    """The premise of the tests below, from the key law: p0 > 1, the rest and group < 1."""
    rho = HOT_RATE * zipf_shares(ZIPF_N, ZIPF_S, PARTITIONS) / SERVICE_RATE
    assert 1.2 < rho[0] < 1.4
    assert rho[1:].max() < 0.7
    assert rho.sum() / PARTITIONS < 0.75


def test_saturated_partition_is_reported_unstable(hot: RunResult) -> None:
    """The hot partition is unstable with a growth whose 95% CI excludes 0; the cool
    partitions are not. The group is unstable too: its backlog is the sum of its
    partitions', so it grows as fast as the hot one, though its consumers, taken
    together, are busy only ~65% of the time."""
    hot_name = f"{GROUP}/p0"
    assert hot_name in hot.unstable
    g = hot.estimate("partition", hot_name, "backlog_growth")
    assert g.ci_low > 0 and hot.unstable[hot_name] == pytest.approx(g.mean)
    for p in range(1, PARTITIONS):
        assert f"{GROUP}/p{p}" not in hot.unstable
        assert np.isfinite(per_rep(hot, "partition", f"{GROUP}/p{p}", "backlog_growth")).all()
    assert set(hot.unstable) == {GROUP, hot_name}
    assert hot.estimate("group", GROUP, "utilization").ci_high < 0.7
    # The group's backlog grows by what its hot partition adds (it holds <= 4 in service).
    assert hot.unstable[GROUP] == pytest.approx(hot.unstable[hot_name], abs=0.01)


def test_growth_matches_net_inflow(hot: RunResult) -> None:
    """The hot partition's lag grows at lambda_p - mu: lambda_p = Zipf share x rate.

    Stated tolerance: the 99% interval across replications covers lambda_p - mu, and
    the estimate is within 10% of it (its standard error is ~3% here: the lag is a
    random walk of variance (lambda_p + mu) t, fitted over 500 s in 10 replications).
    """
    lam_p = HOT_RATE * zipf_shares(ZIPF_N, ZIPF_S, PARTITIONS)[0]
    name = f"{GROUP}/p0"
    assert_covers(per_rep(hot, "partition", name, "arrival_rate"), lam_p, "arrival rate of p0")
    growth = per_rep(hot, "partition", name, "backlog_growth")
    theory = lam_p - SERVICE_RATE
    assert_covers(growth, theory, "growth of p0")
    assert abs(growth.mean() - theory) < 0.10 * theory, (growth.mean(), theory)


def test_uniform_keys_at_utilization_0_6_are_stable() -> None:
    """Uniform keys at total utilization 0.6: no partition, and not the group, is unstable."""
    rate = 0.6 * PARTITIONS * SERVICE_RATE
    doc = topic_doc(
        rate=rate,
        keys={"dist": "uniform", "n": 1000},
        duration=1000.0,
        replications=10,
        seed=20240612,
    )
    r = run(Scenario.model_validate(doc))
    assert r.unstable == {}
    for p in range(PARTITIONS):
        # judged, not skipped: every partition has a growth estimate, and it is ~0
        g = r.estimate("partition", f"{GROUP}/p{p}", "backlog_growth")
        assert abs(g.mean) < 0.01 * rate / PARTITIONS


def test_cli_shows_the_unstable_partition(tmp_path: Path) -> None:
    """`qsim run` prints the partition as unstable, and --json lists it under unstable."""
    doc = topic_doc(
        rate=HOT_RATE,
        keys={"dist": "zipf", "n": ZIPF_N, "s": ZIPF_S},
        duration=400.0,
        replications=4,
        seed=7,
    )
    path = tmp_path / "hot.yaml"
    path.write_text(json.dumps(doc))  # JSON is YAML
    runner = CliRunner()
    out = runner.invoke(app, ["run", str(path)])
    assert out.exit_code == 0, out.output
    assert f"unstable: {GROUP}/p0: the backlog grows by about" in out.output
    js = runner.invoke(app, ["run", str(path), "--json"])
    assert js.exit_code == 0, js.output
    data = json.loads(js.output)
    assert data["unstable"][f"{GROUP}/p0"] > 0
    assert not any(f"{GROUP}/p{p}" in data["unstable"] for p in range(1, PARTITIONS))


def test_metrics_are_matched_on_scope_and_name() -> None:
    """A consumer-less queue named like a partition does not hide that partition."""
    name = f"{GROUP}/p0"
    rows = [
        ("queue", name, "utilization", np.nan, np.nan, np.nan),  # a sink: not judged
        ("queue", name, "arrival_rate", 1000.0, 990.0, 1010.0),
        ("queue", name, "backlog_growth", 5.0, 4.0, 6.0),
        ("partition", name, "utilization", 1.0, 1.0, 1.0),
        ("partition", name, "arrival_rate", 13.0, 12.8, 13.2),
        ("partition", name, "backlog_growth", 3.0, 2.8, 3.2),
    ]
    summary = pd.DataFrame(rows, columns=["scope", "name", "metric", "value", "ci_low", "ci_high"])
    assert _unstable(summary, {}) == {name: 3.0}
