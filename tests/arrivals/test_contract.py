"""The contract every arrival process keeps (one battery for all, see qsim.arrivals._base)."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsim.arrivals import (
    MMPP,
    ArrivalProcess,
    Deterministic,
    Diurnal,
    PiecewiseRate,
    Poisson,
    Renewal,
    Trace,
)
from qsim.distributions import Gamma, Uniform
from qsim.errors import InvalidArgumentError
from tests.arrivals.checks import covers, mean_interval
from tests.arrivals.strategies import processes

# (id, process, horizon T in seconds); every process is stationary on [0, T) or T is a
# whole number of its periods, so E N[0, T) = mean_rate * T exactly.
CASES = [
    ("poisson", Poisson(rate=40.0), 5.0),  # the memoryless reference
    ("deterministic", Deterministic(rate=40.0), 5.03),  # random phase: stationary
    ("renewal-gamma", Renewal(interarrival=Gamma(mean=0.025, scv=4.0)), 5.0),  # bursty G/
    ("renewal-uniform", Renewal(interarrival=Uniform(low=0.01, high=0.04)), 5.0),  # smooth G/
    ("mmpp-2", MMPP.from_sojourns(rates=[10.0, 90.0], mean_sojourns=[0.5, 0.2]), 5.0),  # on/off-ish
    (
        "mmpp-3",
        MMPP(
            rates=[0.0, 30.0, 120.0],
            generator=[[-2.0, 1.5, 0.5], [1.0, -3.0, 2.0], [4.0, 4.0, -8.0]],
        ),
        5.0,
    ),
    (
        "piecewise",
        PiecewiseRate(starts=[0.0, 1.0, 1.5], rates=[20.0, 100.0, 0.0], period=2.5),
        5.0,
    ),  # two whole periods
    ("diurnal", Diurnal(mean_rate=40.0, amplitude=0.9, peak=1.0, period=5.0), 5.0),  # one day
    ("trace-loop", Trace(timestamps=[0.1, 0.2, 0.9, 1.3], loop=True, period=2.0), 6.0),  # 3 passes
]
IDS = [c[0] for c in CASES]
PROCESSES = [c[1] for c in CASES]


@pytest.mark.parametrize(("name", "process", "horizon"), CASES, ids=IDS)
def test_mean_count_matches_mean_rate(name: str, process: ArrivalProcess, horizon: float) -> None:
    """Over 300 replications the t-interval of N[0, T) covers mean_rate * T."""
    seeds = np.random.SeedSequence(2024).spawn(300)
    counts = [process.times(np.random.default_rng(s), horizon).size for s in seeds]
    expected = process.mean_rate * horizon
    if isinstance(process, Trace):
        assert counts == [round(expected)] * len(counts)  # deterministic replay: exact
    else:
        assert covers(mean_interval(np.array(counts)), expected), (np.mean(counts), expected)


@pytest.mark.parametrize("process", PROCESSES, ids=IDS)
def test_times_sorted_in_window(process: ArrivalProcess) -> None:
    """times() is a sorted float64 vector inside [start, until)."""
    t = process.times(np.random.default_rng(1), 7.0, start=2.0)
    assert t.dtype == np.float64 and t.ndim == 1 and t.size > 0
    assert np.all(np.diff(t) >= 0) and t[0] >= 2.0 and t[-1] < 7.0


@pytest.mark.parametrize("process", PROCESSES, ids=IDS)
@pytest.mark.parametrize("block", [1, 7, 64, 65536])
def test_blocks_concatenate_to_times(process: ArrivalProcess, block: int) -> None:
    """Concatenated blocks equal times() for the same seed; all but the last are full."""
    parts = list(process.blocks(np.random.default_rng(3), 9.0, block=block))
    assert all(p.size == block for p in parts[:-1]) and 0 < parts[-1].size <= block
    np.testing.assert_array_equal(
        np.concatenate(parts), process.times(np.random.default_rng(3), 9.0)
    )


@pytest.mark.parametrize("process", PROCESSES, ids=IDS)
def test_start_only_drops_earlier_arrivals(process: ArrivalProcess) -> None:
    """times(start=s) is the realisation on [0, until) without the arrivals before s."""
    full = process.times(np.random.default_rng(4), 6.0)
    part = process.times(np.random.default_rng(4), 6.0, start=2.5)
    np.testing.assert_array_equal(part, full[full >= 2.5])


@pytest.mark.parametrize("process", PROCESSES, ids=IDS)
def test_same_seed_same_times_other_seed_differs(process: ArrivalProcess) -> None:
    """The generator is the only randomness: same seed, same times; another seed differs."""
    a = process.times(np.random.default_rng(11), 5.0)
    np.testing.assert_array_equal(a, process.times(np.random.default_rng(11), 5.0))
    b = process.times(np.random.default_rng(12), 5.0)
    if isinstance(process, Trace):
        np.testing.assert_array_equal(a, b)  # a replay ignores the generator
    else:
        assert a.size != b.size or not np.array_equal(a, b)


@pytest.mark.parametrize("process", PROCESSES, ids=IDS)
def test_endless_stream(process: ArrivalProcess) -> None:
    """blocks(until=inf) is an endless, consecutive, sorted stream of full blocks."""
    first = list(itertools.islice(process.blocks(np.random.default_rng(5), np.inf, block=100), 30))
    joined = np.concatenate(first)
    assert len(first) == 30 and all(p.size == 100 for p in first)
    assert np.all(np.diff(joined) >= 0)


@pytest.mark.parametrize("process", PROCESSES, ids=IDS)
@pytest.mark.parametrize("factor", [0.25, 3.0])
def test_scale_multiplies_mean_rate(process: ArrivalProcess, factor: float) -> None:
    """scale(f) is the same kind of process with f times the mean rate; scale(1) is equal."""
    scaled = process.scale(factor)
    assert type(scaled) is type(process)
    assert scaled.mean_rate == pytest.approx(factor * process.mean_rate, rel=1e-12)
    assert process.scale(1.0) == process and hash(process.scale(1.0)) == hash(process)


@pytest.mark.parametrize("process", PROCESSES, ids=IDS)
def test_frozen_and_keyword_only(process: ArrivalProcess) -> None:
    """Processes are immutable values built from keywords only."""
    field = dataclasses.fields(process)[0].name  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(process, field, 1.0)
    with pytest.raises(TypeError):
        type(process)(getattr(process, field))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        # not a Generator: the legacy global state is refused
        (
            lambda p: p.times(42, 1.0),
            r"'rng' argument of Poisson.times must be a numpy.random.Generator. Got 'int'",
        ),
        (
            lambda p: p.times(np.random.default_rng(), -1.0),
            r"'until' argument of Poisson.times must be a finite number >= 0. Got -1.0",
        ),
        (
            lambda p: p.times(np.random.default_rng(), np.inf),
            r"'until' argument of Poisson.times must be a finite number >= 0. Got inf",
        ),
        (
            lambda p: p.times(np.random.default_rng(), np.nan),
            r"'until' argument of Poisson.times .* Got nan",
        ),
        (
            lambda p: p.times(np.random.default_rng(), 1.0, start=2.0),
            r"'start' argument of Poisson.times must be a number in \[0, until=1.0\]. Got 2.0",
        ),
        (
            lambda p: p.times(np.random.default_rng(), [1.0, 2.0]),
            r"'until' argument of Poisson.times .* Got \[1.0, 2.0\]",
        ),
        (
            lambda p: p.blocks(np.random.default_rng(), 1.0, block=0),
            r"'block' argument of Poisson.blocks must be an integer >= 1. Got 0",
        ),
        (
            lambda p: p.blocks(np.random.default_rng(), -2.0),
            r"'until' argument of Poisson.blocks must be a number >= 0 \(inf allowed\). Got -2.0",
        ),
        (lambda p: p.blocks(None, 1.0), r"'rng' argument of Poisson.blocks .* Got 'NoneType'"),
        (
            lambda p: p.scale(0.0),
            r"'factor' argument of Poisson.scale must be a number > 0 and finite. Got 0.0",
        ),
        (
            lambda p: p.scale(np.inf),
            r"'factor' argument of Poisson.scale must be a number > 0 and finite. Got inf",
        ),
    ],
)
def test_call_arguments_are_validated(call: object, message: str) -> None:
    """Bad arguments raise at the call (not lazily), with the one template."""
    with pytest.raises(InvalidArgumentError, match=message):
        call(Poisson(rate=1.0))  # type: ignore[operator]


def test_empty_horizon_gives_empty_array() -> None:
    """until = start gives an empty float array and blocks() yields nothing."""
    p = Poisson(rate=10.0)
    assert p.times(np.random.default_rng(0), 3.0, start=3.0).shape == (0,)
    assert list(p.blocks(np.random.default_rng(0), 0.0)) == []


@settings(max_examples=60, deadline=None)
@given(
    process=processes(),
    until=st.floats(0.0, 20.0),
    block=st.integers(1, 500),
    seed=st.integers(0, 2**32 - 1),
)
def test_blocks_equal_times_for_any_process(
    process: ArrivalProcess, until: float, block: int, seed: int
) -> None:
    """For any process, horizon and block size: blocks concatenate to times(), sorted, in range."""
    t = process.times(np.random.default_rng(seed), until)
    parts = list(process.blocks(np.random.default_rng(seed), until, block=block))
    np.testing.assert_array_equal(np.concatenate(parts) if parts else np.empty(0), t)
    assert np.all(np.diff(t) >= 0) and (t.size == 0 or (t[0] >= 0 and t[-1] < until))


@settings(max_examples=60, deadline=None)
@given(process=processes(), factor=st.floats(0.01, 100.0))
def test_scale_invariants(process: ArrivalProcess, factor: float) -> None:
    """scale(f) multiplies the mean rate; scv is kept, except an MMPP's excess scv - 1 grows by f.

    (MMPP.scale keeps the modulating chain, so the count covariance grows by f^2 and the
    index of dispersion 1 + 2 pi Lambda D lambda / mean_rate becomes 1 + f (scv - 1).)
    """
    scaled = process.scale(factor)
    assert scaled.mean_rate == pytest.approx(factor * process.mean_rate, rel=1e-9)
    scv = 1.0 + factor * (process.scv - 1.0) if isinstance(process, MMPP) else process.scv
    assert scaled.scv == pytest.approx(scv, rel=1e-9, abs=1e-12)
    back = scaled.scale(1.0 / factor)
    assert back.mean_rate == pytest.approx(process.mean_rate, rel=1e-9)
