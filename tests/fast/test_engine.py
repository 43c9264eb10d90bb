"""The fast engine against the event engine, message by message, and its contract.

Both engines number their random streams alike (:func:`qsim.fast.sampling.stream_layout`),
so with non-Poisson arrivals they draw the same arrival, service, routing and key values
from the same seed; every metric row must then agree to rounding (the fast engine adds
up times in closed form where the event engine steps through them).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qsim.fast import FastEngine
from qsim.fast._jit import use_backend
from qsim.scenario import Scenario
from qsim.sim import SimEngine
from tests.fast.scenarios import make, single

LN = {"dist": "lognormal", "mean": 0.1, "scv": 2.0}
DET = {"dist": "deterministic", "value": 0.25}


def rows(rep: Any) -> dict[tuple[str, str, str], float]:
    return {(s, n, m): v for s, n, m, v in rep.rows()}


def _tandem() -> Scenario:
    return make(
        [
            {"name": "a", "to": "x", "rate": 5, "arrival": "deterministic"},
            {"name": "b", "to": "x", "rate": 3, "arrival": "deterministic"},
        ],
        [{"name": "x"}, {"name": "y"}, {"name": "z"}],
        [
            {"name": "c1", "queue": "x", "instances": 2, "service": LN, "publish_to": "y"},
            {
                "name": "c2",
                "queue": "y",
                "service": {"dist": "gamma", "mean": 0.09, "scv": 0.5},
                "publish_to": "z",
            },
            {"name": "c3", "queue": "z", "instances": 3, "service": 0.3},
        ],
        duration=600,
        warmup=50,
    )


def _fanout() -> Scenario:
    return make(
        [{"name": "p", "to": "ex", "rate": 6, "arrival": "deterministic"}],
        [{"name": "x"}, {"name": "y", "capacity": 3}, {"name": "audit"}],
        [
            {"name": "c1", "queue": "x", "service": 0.1},
            {"name": "c2", "queue": "y", "instances": 2, "service": 0.2},
        ],
        exchanges=[{"name": "ex", "type": "fanout", "bindings": ["x", "y", "audit"]}],
        duration=500,
        warmup=50,
    )


def _split(balancer: str) -> Scenario:
    extra: dict[str, Any] = {"weights": [1, 2, 3]} if balancer == "weighted" else {}
    if balancer == "key-hash":
        extra["producer"] = {"keys": {"dist": "zipf", "n": 50, "s": 1.1}}
    return single(
        10,
        DET,
        instances=3,
        duration=500,
        warmup=50,
        arrival="deterministic",
        prefetch=1 if balancer == "key-hash" else None,
        balancer=balancer,
        **extra,
    )


SAME_DRAWS = {
    "M/G/1 lognormal": lambda: single(8, LN, duration=600, warmup=60, arrival="deterministic"),
    "G/G/3": lambda: single(
        25,
        {"dist": "hyperexponential", "mean": 0.1, "scv": 3},
        instances=3,
        duration=400,
        warmup=40,
        arrival="deterministic",
    ),
    "G/G/2/5 reject": lambda: single(
        30, 0.1, instances=2, capacity=5, duration=400, warmup=40, arrival="deterministic"
    ),
    "tandem, 2 producers, re-sorted": _tandem,
    "fanout + capacity + sink": _fanout,
    "random split": lambda: _split("random"),
    "round-robin split": lambda: _split("round-robin"),
    "weighted split": lambda: _split("weighted"),
    "key-hash split, Zipf keys": lambda: _split("key-hash"),
}


@pytest.mark.parametrize("case", list(SAME_DRAWS))
def test_same_draws_same_rows_as_event_engine(case: str) -> None:
    """Fed the same draws, the fast engine reproduces every metric of the event engine:
    waits, responses, quantiles, counters, levels, paths, losses (to 1e-9)."""
    sc = SAME_DRAWS[case]()
    fast = rows(FastEngine().run(sc, seed=3, replications=1)[0])
    sim = rows(SimEngine().run(sc, seed=3, replications=1)[0])
    assert set(fast) == set(sim)
    bad = {
        k: (fast[k], sim[k])
        for k in sim
        if not np.isclose(fast[k], sim[k], rtol=1e-9, atol=1e-12, equal_nan=True)
    }
    assert not bad
    assert fast["system", "all", "response_mean"] > 0


def test_poisson_rows_have_the_event_engines_names() -> None:
    """With Poisson arrivals (drawn differently) the rows still name the same metrics."""
    sc = single(5, 0.1, instances=2, capacity=4, duration=60, warmup=6)
    assert set(rows(FastEngine().run(sc, seed=1, replications=1)[0])) == set(
        rows(SimEngine().run(sc, seed=1, replications=1)[0])
    )


def test_numba_and_numpy_backends_give_identical_rows() -> None:
    """With or without numba, the same seed gives bit-identical results."""
    sc = make(
        [{"name": "p", "to": "ex", "rate": 30}],
        [{"name": "x", "capacity": 6}, {"name": "y"}, {"name": "z"}],
        [
            {"name": "cx", "queue": "x", "instances": 3, "service": LN, "publish_to": "z"},
            {
                "name": "cy",
                "queue": "y",
                "instances": 4,
                "prefetch": "unlimited",
                "balancer": "random",
                "service": 0.1,
            },
            {"name": "cz", "queue": "z", "concurrency": 2, "service": 0.05},
        ],
        exchanges=[{"name": "ex", "type": "fanout", "bindings": ["x", "y"]}],
        duration=100,
        warmup=10,
    )
    out = {}
    for b in ("numba", "numpy"):  # numpy runs the 12 replications in lockstep
        with use_backend(b):
            out[b] = [rep.rows() for rep in FastEngine().run(sc, seed=5, replications=12)]
    names = [[k for *k, _ in r] for r in out["numba"]]
    assert names == [[k for *k, _ in r] for r in out["numpy"]]
    values = [np.array([v for *_, v in r]) for r in out["numba"]]
    for x, y in zip(values, ([v for *_, v in r] for r in out["numpy"]), strict=True):
        assert np.array_equal(x, np.array(y), equal_nan=True)


def test_backends_identical_on_a_single_queue_without_departures() -> None:
    """A final queue whose responses are its path's skips storing departure times; the
    windows holding the warm-up and the end then record from start + service, and every
    row still equals the twins' (several windows of 2^16 arrivals)."""
    sc = single(90, 0.01, duration=2_000, warmup=300)
    out = {}
    for b in ("numba", "numpy"):
        with use_backend(b):
            out[b] = rows(FastEngine().run(sc, seed=8, replications=2)[1])
    assert out["numba"].keys() == out["numpy"].keys()
    assert all(
        np.array_equal(out["numba"][k], out["numpy"][k], equal_nan=True) for k in out["numba"]
    )
    assert out["numba"]["queue", "q", "completed"] > 3 * 2**16 / 2


def test_small_runs_skip_numba_startup() -> None:
    """A small job runs on the numpy twins (same numbers) without importing numba."""
    code = (
        "import sys\n"
        "from tests.fast.scenarios import single\n"
        "from qsim.engines import run\n"
        "r = run(single(5, 0.1, instances=2, duration=100))\n"
        "assert r.engine == 'fast'\n"
        "print('numba' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "QSIM_FAST_BACKEND"}
    root = Path(__file__).parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, env=env, check=True
    )
    assert out.stdout.strip() == "False"


def test_same_seed_same_numbers_other_seed_other_numbers() -> None:
    """Replication r is a function of (seed, r) only."""
    sc = single(9, 0.1, duration=200, warmup=20)
    a = [r.rows() for r in FastEngine().run(sc, seed=7, replications=2)]
    b = [r.rows() for r in FastEngine().run(sc, seed=7, replications=2)]
    c = [r.rows() for r in FastEngine().run(sc, seed=8, replications=2)]
    assert a == b and a != c
    assert a[0] != a[1]


def test_warmup_is_excluded_like_the_event_engine() -> None:
    """Counters and waits start at the warm-up; levels are averaged over [warm-up, end]."""
    sc = single(20, 0.04, duration=1000, warmup=400, arrival="deterministic")
    rep = FastEngine().run(sc, seed=2, replications=1)[0]
    r = rows(rep)
    assert r["queue", "q", "arrived"] == pytest.approx(20 * 600, abs=1)
    assert 20 * 600 - 50 < rep.stats["q"].wait.n <= 20 * 600  # a few start after the end
    assert r["queue", "q", "utilization"] == pytest.approx(0.8, abs=0.02)


def test_series_has_400_points_and_shows_backlog() -> None:
    """The ready series has 400 samples; an overloaded queue's backlog grows at lam - mu."""
    sc = single(12, 0.1, duration=5000)
    rep = FastEngine().run(sc, seed=1, replications=1)[0]
    assert len(rep.series["q"]) == 400 and rep.duration == 5000
    assert rows(rep)["queue", "q", "backlog_growth"] == pytest.approx(2.0, rel=0.15)


def test_long_run_streams_in_bounded_memory() -> None:
    """10^7 messages need a few tens of MB: arrivals, services and waits are never held
    whole (values beyond 2*10^6 per stream go to a histogram)."""
    sc = single(1000.0, 0.0009, duration=10_000)
    tracemalloc.start()
    try:
        rep = FastEngine().run(sc, seed=1, replications=1)[0]
        r = rows(rep)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert r["queue", "q", "arrived"] == pytest.approx(1e7, rel=0.01)
    assert not rep.stats["q"].wait.exact
    assert peak < 120e6, f"peak {peak / 1e6:.0f} MB"
    # M/M/1 at rho 0.9 with mu = 1111/s: Wq = rho / (mu - lam)
    assert r["queue", "q", "wait_mean"] == pytest.approx(0.9 / (1 / 0.0009 - 1000), rel=0.05)
