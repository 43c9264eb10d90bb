"""Random inputs: the event engine's streams and block draws, arrival windows, Poisson."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from qsim.distributions import (
    Deterministic,
    Empirical,
    Erlang,
    Exponential,
    Gamma,
    HyperExponential,
    Lognormal,
    Uniform,
)
from qsim.fast.sampling import ArrivalWindows, Draws, key_draws, stream_layout
from qsim.scenario import Scenario
from qsim.scenario.build import arrival_process
from qsim.scenario.resolve import resolve
from qsim.sim import producer as sim_producer
from qsim.sim.engine import Replication


def _producer(arrival: Any, rate: float | None = 5.0, keys: Any = None) -> Any:
    p: dict[str, Any] = {"name": "p", "to": "q", "arrival": arrival}
    if rate is not None:
        p["rate"] = rate
    if keys is not None:
        p["keys"] = keys
    return Scenario.model_validate(
        {
            "name": "s",
            "duration": 100,
            "producers": [p],
            "brokers": [{"name": "b", "queues": [{"name": "q"}]}],
        }
    ).producers[0]


def _trace(tmp_path: Path) -> dict[str, Any]:
    f = tmp_path / "t.csv"
    f.write_text("t\n0.5\n0.7\n2.0\n3.5\n")
    return {"process": "trace", "path": str(f), "loop": True}


@pytest.mark.parametrize(
    ("arrival", "rate"),
    [
        ("deterministic", 5.0),  # random phase, then evenly spaced
        (
            {
                "process": "mmpp",
                "states": [{"rate": 2, "mean_sojourn": 5}, {"rate": 20, "mean_sojourn": 1}],
            },
            None,
        ),
        ({"process": "piecewise", "rates": [{"at": 0, "rate": 3}, {"at": 40, "rate": 9}]}, None),
        ({"process": "diurnal", "amplitude": 0.5, "peak": 30, "period": 100}, 4.0),
        ("trace", None),
    ],
)
@pytest.mark.parametrize("load", [1.0, 2.5])
def test_arrival_process_applies_the_load(
    tmp_path: Path, arrival: Any, rate: float | None, load: float
) -> None:
    """The process both engines build (qsim.scenario.build) scales its rate by the load."""
    arrival = _trace(tmp_path) if arrival == "trace" else arrival
    spec = _producer(arrival, rate)
    base, scaled = arrival_process(spec, 1.0), arrival_process(spec, load)
    assert scaled.mean_rate == pytest.approx(load * base.mean_rate, rel=1e-12)
    if rate is not None and spec.arrival.process in ("poisson", "deterministic", "diurnal"):
        assert base.mean_rate == pytest.approx(rate, rel=1e-12)


@pytest.mark.parametrize("block", [100, 4096, 5000])
def test_windows_concatenate_to_the_process(block: int) -> None:
    """Windows of any length, from blocks of any size, concatenate to the whole stream."""
    proc = arrival_process(
        _producer(
            {
                "process": "mmpp",
                "states": [{"rate": 2, "mean_sojourn": 5}, {"rate": 50, "mean_sojourn": 2}],
            },
            None,
        ),
        1.0,
    )
    whole = proc.times(np.random.default_rng(8), 300.0)
    win = ArrivalWindows(proc, np.random.default_rng(8), 300.0, block)
    edges = [*np.sort(np.random.default_rng(1).uniform(0, 300, 40)).tolist(), 300.0]
    parts = [win.take(t) for t in edges]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    for t, part in zip(edges, parts, strict=True):
        assert part.size == 0 or part[-1] < t


def test_poisson_windows_are_poisson() -> None:
    """The fast Poisson generator: counts per unit time have mean = variance = rate, and
    the gaps are exponential (KS test at the 1% level)."""
    proc = arrival_process(_producer("poisson", 40.0), 1.0)
    win = ArrivalWindows(proc, np.random.default_rng(12), 5000.0, 4096)
    t = np.concatenate([win.take(x) for x in np.linspace(0, 5000, 37)[1:]])
    assert t[0] >= 0 and t[-1] < 5000 and np.all(np.diff(t) >= 0)
    counts = np.bincount(t.astype(np.int64), minlength=5000)
    se = np.sqrt(40.0 / 5000)
    assert abs(counts.mean() - 40.0) < 4 * se
    assert abs(counts.var() / counts.mean() - 1.0) < 0.1
    assert stats.kstest(np.diff(t), "expon", args=(0, 1 / 40.0)).pvalue > 0.01


@pytest.mark.parametrize(
    "dist",
    [
        Exponential(mean=0.2),
        Deterministic(value=0.1),
        Erlang(mean=0.2, k=3),
        Gamma(mean=0.2, scv=2.0),
        Lognormal(mean=0.2, scv=4.0),
        Uniform(low=0.1, high=0.3),
        HyperExponential(mean=0.2, scv=5.0),  # not prefix-safe: drawn in 4096 pieces
        Empirical(samples=[0.1, 0.2, 0.7]),  # not prefix-safe either
    ],
    ids=lambda d: type(d).__name__,
)
def test_service_draws_are_the_event_engines_blocks(dist: Any) -> None:
    """Service draws, peeked and consumed in any sizes, are the event engine's sequence of
    4096-variate blocks from the same stream."""
    rng = np.random.default_rng(21)
    ref = np.concatenate([dist.sample(4096, rng) for _ in range(6)])
    d = Draws.service(dist, np.random.default_rng(21), 9000)
    got, pos = [], 0
    for n, used in ((10, 10), (5000, 4000), (7000, 7000), (3000, 1)):
        x = d.peek(n)
        np.testing.assert_array_equal(x, ref[pos : pos + n])
        d.advance(used)
        got.append(x[:used])
        pos += used
    np.testing.assert_array_equal(np.concatenate(got), ref[:pos])


@pytest.mark.parametrize(
    "keys", [{"dist": "uniform", "n": 37}, {"dist": "zipf", "n": 100, "s": 1.2}]
)
def test_keys_are_the_event_engines(keys: dict[str, Any]) -> None:
    """Key draws equal the event engine's key sampler, one key per message."""
    spec = _producer("poisson", keys=keys).keys
    ref = sim_producer.key_sampler(spec, np.random.default_rng(4))
    assert ref is not None
    want = [ref() for _ in range(10_000)]
    got = key_draws(spec, np.random.default_rng(4), 3000)
    assert got is not None
    out = np.concatenate([got.take(n) for n in (1, 4095, 4000, 1904)])
    assert out.tolist() == want


def test_stream_layout_counts_the_event_engines_streams() -> None:
    """The fast engine numbers streams as the event engine hands them out (consumers:
    service, coin, retry, a balancer for each queue's first consumer; producers: arrivals,
    keys, priorities), so both draw the same numbers from the same seed."""
    sc = Scenario.model_validate(
        {
            "name": "s",
            "duration": 10,
            "producers": [{"name": "a", "to": "x", "rate": 1}, {"name": "b", "to": "y", "rate": 1}],
            "brokers": [{"name": "b", "queues": [{"name": "x"}, {"name": "y"}, {"name": "z"}]}],
            "consumers": [
                {"name": "c1", "queue": "x", "service": 0.1, "publish_to": "z"},
                {"name": "c2", "queue": "y", "service": 0.1},
                {"name": "c3", "queue": "z", "service": 0.1},
            ],
        }
    )
    lay = stream_layout(sc)
    assert lay.service == {"c1": 0, "c2": 4, "c3": 8}
    assert lay.balancer == {"x": 3, "y": 7, "z": 11}
    assert lay.arrival == {0: 12, 1: 15} and lay.keys == {0: 13, 1: 16}
    rep = Replication(sc, resolve(sc), 1, 0)
    assert rep._stream == lay.total
