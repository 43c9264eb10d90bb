"""Every bundled scenario validates, runs shortened, and conserves messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from qsim.engines import run
from qsim.scenario import load_scenario
from qsim.scenario.resolve import resolve
from qsim.sim.engine import Replication

SCENARIOS = sorted((Path(__file__).parents[1] / "scenarios").glob("*.yaml"))
SHORT = 45.0  # simulated seconds per replication in these smoke runs


def test_there_are_scenarios() -> None:
    """The scenario library is not empty."""
    assert len(SCENARIOS) >= 6


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_opens_with_its_question(path: Path) -> None:
    """Each file opens with comments saying what question it answers."""
    head = path.read_text().splitlines()[:3]
    assert head and all(line.startswith("#") for line in head[:2])
    assert "question" in path.read_text().lower()


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_runs_short(path: Path) -> None:
    """A shortened run gives finite throughput for every queue and names its engine."""
    sc = load_scenario(path)
    result = run(sc, replications=2, duration=SHORT)
    assert result.engine in ("sim", "fast")
    assert result.queue_names()
    for name in result.queue_names():
        thr = result.queue(name)["throughput"].mean
        assert thr >= 0.0


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_conserves_messages(path: Path) -> None:
    """Per queue: accepted = completed + dropped + expired + lost + failed + still held."""
    sc = load_scenario(path)
    sc = type(sc).model_validate(
        {**sc.model_dump(exclude_unset=True), "duration": SHORT, "warmup": 0.0}
    )
    rep = Replication(sc, resolve(sc), seed=1, index=0)
    rep.run()
    for name, rec in rep.all_records().items():
        c = rec.counts.whole_run()
        out = c["completed"] + c["dropped"] + c["expired"] + c["lost"] + c["failed_final"]
        assert c["accepted"] == out + rep.held(name), (name, c, rep.held(name))
        if name in rep.queues:
            pending = len(rep.queues[name]._blocked)
            assert c["arrived"] == c["accepted"] + c["rejected"] + pending, (name, c)
