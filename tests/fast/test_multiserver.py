"""The Kiefer-Wolfowitz kernel: hand cases, a naive event loop, capacity, lanes, twins."""

from __future__ import annotations

import heapq

import numpy as np
import pytest

from qsim.fast._jit import use_backend
from qsim.fast.multiserver import HEAP, Chunk, ServerState, fifo_servers

BACKENDS = ["numba", "numpy"]


def naive(a: list[float], s: list[float], c: int, k: int = 0) -> tuple[list[float], list[bool]]:
    """Event by event: departures of the messages in system kept in a heap; an arrival
    finding k of them still there is rejected and draws no service time."""
    free = [0.0] * c
    inside: list[float] = []
    starts, ok = [], []
    used = 0
    for t in a:
        while inside and inside[0] <= t:
            heapq.heappop(inside)
        if k and len(inside) >= k:
            starts.append(np.nan)
            ok.append(False)
            continue
        m = min(range(c), key=free.__getitem__)
        start = max(t, free[m])
        free[m] = start + s[used]
        heapq.heappush(inside, free[m])
        used += 1
        starts.append(start)
        ok.append(True)
    return starts, ok


def chunked(
    a: np.ndarray, s: np.ndarray, c: int, k: int = 0, size: int = 333
) -> tuple[np.ndarray, np.ndarray]:
    state = ServerState(c, capacity=k or None)
    starts, oks, pos = [], [], 0
    for lo in range(0, a.size, size):
        got = fifo_servers([Chunk(a[lo : lo + size], s[pos : pos + size], state)])[0]
        pos += got[3]
        starts.append(got[0])
        oks.append(got[2])
    return np.concatenate(starts), np.concatenate(oks)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_servers_by_hand(backend: str) -> None:
    """Two servers: the third message waits for the first to finish, at 2 s."""
    with use_backend(backend):
        s, d, ok, used = fifo_servers(
            [Chunk(np.array([0.0, 0.5, 1.0, 4.0]), np.array([2.0, 2.0, 1.0, 1.0]), ServerState(2))]
        )[0]
    np.testing.assert_array_equal(s, [0.0, 0.5, 2.0, 4.0])
    np.testing.assert_array_equal(d, [2.0, 2.5, 3.0, 5.0])
    assert ok.all() and used == 4


@pytest.mark.parametrize("backend", BACKENDS)
def test_capacity_rejects_by_hand(backend: str) -> None:
    """One server, K = 2: the third arrival finds 2 in system and is rejected; the fourth,
    after a departure, gets the third service time (rejected arrivals draw none)."""
    with use_backend(backend):
        s, d, ok, used = fifo_servers(
            [
                Chunk(
                    np.array([0.0, 0.1, 0.2, 1.5]),
                    np.array([1.0, 1.0, 7.0, 9.0]),
                    ServerState(1, capacity=2),
                )
            ]
        )[0]
    assert ok.tolist() == [True, True, False, True] and used == 3
    np.testing.assert_array_equal(s[ok], [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(d[ok], [1.0, 2.0, 9.0])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("c", "k", "load"),
    [
        (1, 0, 0.9),  # G/G/1 through the multi-server kernel
        (3, 0, 0.95),  # G/G/3
        (3, 5, 1.3),  # overloaded M/M/3/5: many rejections
        (2, 2, 0.8),  # K = c: a loss system, nobody waits
        (1, 4, 1.0),  # G/G/1/4
        (HEAP + 6, 0, 0.97),  # beyond HEAP servers the compiled loop keeps a heap
    ],
)
def test_matches_naive_event_loop(backend: str, c: int, k: int, load: float) -> None:
    """Chunked kernel = a naive event loop, start by start, rejection by rejection."""
    rng = np.random.default_rng(c * 10 + k)
    n = 4000
    a = np.cumsum(rng.exponential(1.0 / (load * c), n))
    s = rng.exponential(1.0, n)
    with use_backend(backend):
        starts, ok = chunked(a, s, c, k)
    ref, ref_ok = naive(a.tolist(), s.tolist(), c, k)
    assert ok.tolist() == ref_ok
    np.testing.assert_allclose(starts[ok], np.array(ref)[ok], rtol=0, atol=1e-9)
    if k:
        assert (~ok).sum() > 0 or load < 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_lanes_are_independent_queues(backend: str) -> None:
    """Lanes (consumer instances) are independent G/G/c queues."""
    rng = np.random.default_rng(9)
    a = np.cumsum(rng.exponential(0.3, 6000))
    s = rng.exponential(1.0, 6000)
    lane = rng.integers(0, 4, 6000)
    with use_backend(backend):
        got = fifo_servers([Chunk(a, s, ServerState(2, lanes=4), lane)])[0][0]
    for k in range(4):
        ref, _ = naive(a[lane == k].tolist(), s[lane == k].tolist(), 2)
        np.testing.assert_allclose(got[lane == k], ref, atol=1e-9)


def test_compiled_loop_and_lockstep_twin_are_identical() -> None:
    """The compiled loop (one chunk at a time) and the numpy lockstep over many chunks
    (replications) give bit-identical starts, departures and rejections."""
    rng = np.random.default_rng(11)
    out = {}
    for b in BACKENDS:
        with use_backend(b):
            res = []
            for c, k in ((4, 0), (2, 6), (HEAP + 2, 0)):
                states = [ServerState(c, capacity=k or None) for _ in range(5)]
                g = np.random.default_rng(c + k)
                for _ in range(3):
                    chunks = []
                    for st in states:
                        n = int(g.integers(50, 400))
                        a = np.sort(g.uniform(0, n / (1.1 * c), n)) + st.free.max()
                        chunks.append(Chunk(a, g.lognormal(0, 1, n), st))
                    res += [x for r in fifo_servers(chunks) for x in r[:3]]
            out[b] = res
    del rng
    for x, y in zip(out["numba"], out["numpy"], strict=True):
        assert np.array_equal(x, y, equal_nan=True)
