"""The single-server Lindley kernel: hand-computed cases, a naive loop, chunking, twins."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsim.fast._jit import use_backend
from qsim.fast.lindley import LindleyState, lindley

BACKENDS = ["numba", "numpy"]


def naive_waits(a: list[float], s: list[float], lanes: list[int] | None = None) -> list[float]:
    """W_n = max(0, W_prev + S_prev - (a_n - a_prev)) per lane, one message at a time."""
    lanes = lanes or [0] * len(a)
    last: dict[int, int] = {}
    w = [0.0] * len(a)
    for i, lane in enumerate(lanes):
        if lane in last:
            j = last[lane]
            w[i] = max(0.0, w[j] + s[j] - (a[i] - a[j]))
        last[lane] = i
    return w


def run_chunks(
    a: np.ndarray, s: np.ndarray, cuts: list[int], lanes: np.ndarray | None = None, n_lanes: int = 1
) -> np.ndarray:
    state = LindleyState(n_lanes)
    parts = []
    for lo, hi in zip([0, *cuts], [*cuts, a.size], strict=True):
        lane = None if lanes is None else lanes[lo:hi]
        parts.append(lindley(a[lo:hi], s[lo:hi], state, lane))
    return np.concatenate(parts)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("a", "s", "waits"),
    [
        ([0.0, 1.0, 2.0], [0.5, 0.5, 0.5], [0.0, 0.0, 0.0]),  # never overlaps: no waits
        ([0.0, 1.0, 1.5], [2.0, 1.0, 1.0], [0.0, 1.0, 1.5]),  # 2nd waits 1 s, 3rd 1.5 s
        ([0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [0.0, 1.0, 3.0]),  # a batch: waits add up
        ([0.0, 4.0, 5.0], [3.0, 2.0, 1.0], [0.0, 0.0, 1.0]),  # server empties in between
    ],
)
def test_hand_computed_waits(
    backend: str, a: list[float], s: list[float], waits: list[float]
) -> None:
    """The kernel's waits equal the textbook recursion worked by hand."""
    with use_backend(backend):
        got = lindley(np.array(a), np.array(s), LindleyState())
    np.testing.assert_allclose(got, waits, atol=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=40)
@given(
    gaps=st.lists(st.floats(0.0, 3.0), min_size=1, max_size=60),
    data=st.data(),
)
def test_matches_naive_recursion_in_any_chunking(
    backend: str, gaps: list[float], data: st.DataObject
) -> None:
    """Chunked closed form with carried state = the naive recursion, whatever the cuts."""
    n = len(gaps)
    s = data.draw(st.lists(st.floats(0.0, 3.0), min_size=n, max_size=n))
    cuts = sorted(set(data.draw(st.lists(st.integers(1, max(n - 1, 1)), max_size=4))))
    cuts = [c for c in cuts if 0 < c < n]
    a = np.cumsum(gaps)
    with use_backend(backend):
        got = run_chunks(a, np.array(s), cuts)
    np.testing.assert_allclose(got, naive_waits(a.tolist(), s), atol=1e-12 * max(1.0, a[-1]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_lanes_are_independent_queues(backend: str) -> None:
    """With lanes, each lane is its own single-server queue (state carried per lane)."""
    rng = np.random.default_rng(4)
    a = np.cumsum(rng.exponential(0.4, 3000))
    s = rng.exponential(1.0, 3000)
    lanes = rng.integers(0, 3, 3000)
    with use_backend(backend):
        got = run_chunks(a, s, [700, 701, 2000], lanes, 3)
    np.testing.assert_allclose(got, naive_waits(a.tolist(), s.tolist(), lanes.tolist()), atol=1e-9)


def test_compiled_and_numpy_twins_are_identical() -> None:
    """The compiled loop and the numpy closed form give bit-identical waits."""
    rng = np.random.default_rng(5)
    a = np.cumsum(rng.exponential(1.1, 20_000))
    s = rng.lognormal(-0.5, 1.0, 20_000)
    lanes = rng.integers(0, 4, 20_000)
    out = {}
    for b in BACKENDS:
        with use_backend(b):
            out[b] = (run_chunks(a, s, [5_000, 12_345]), run_chunks(a, s, [9_999], lanes, 4))
    for x, y in zip(out["numba"], out["numpy"], strict=True):
        assert np.array_equal(x, y)
