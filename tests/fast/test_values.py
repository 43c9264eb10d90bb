"""Value streams: exact quantiles (numpy's type 7), the histogram beyond the cap, twins."""

from __future__ import annotations

import numpy as np
import pytest

from qsim.fast import values as values_mod
from qsim.fast._jit import use_backend
from qsim.fast.values import Values, order_statistics

PROBS = [0.0, 0.5, 0.95, 0.99, 0.999, 1.0]


def sample(n: int, zeros: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.lognormal(-1.0, 1.5, n)
    x[rng.random(n) < zeros] = 0.0
    tiny = [1e-300, 3e-14, 5e-13][:n]  # positives below the smallest bucket
    x[: len(tiny)] = tiny
    return x


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize(("n", "zeros"), [(1, 0.0), (7, 0.5), (5000, 0.0), (200_000, 0.7)])
def test_exact_quantiles_equal_numpy(backend: str, n: int, zeros: float) -> None:
    """Below the cap a stream's quantiles are numpy's type-7 sample quantiles."""
    x = sample(n, zeros, n)
    v = Values()
    for part in np.array_split(x, 5):
        v.add(part)
    with use_backend(backend):
        got = v.quantiles(PROBS)
    np.testing.assert_allclose(got, np.quantile(x, PROBS), rtol=1e-15, atol=0)
    assert v.n == n and v.mean() == pytest.approx(x.mean()) and v.max == x.max()


def test_order_statistics_twins_identical() -> None:
    """The compiled bucket selection and np.partition return the same order statistics."""
    x = sample(300_000, 0.3, 1)
    ranks = np.array([0, 5, 89_999, 90_000, 150_000, 299_998, 299_999])
    out = {}
    for b in ("numba", "numpy"):
        with use_backend(b):
            out[b] = order_statistics(x, ranks)
    assert np.array_equal(out["numba"], out["numpy"])
    assert np.array_equal(out["numpy"], np.sort(x)[ranks])


@pytest.mark.parametrize("count", [1, 2, 3, 4, 6, 12, 40])
def test_order_statistics_any_rank_set(count: int) -> None:
    """Any set of ranks (few: gathered by bit ranges; many: by the bucket table), with
    ranks among the zeros, the tiny positives of bucket 0 and the largest values; the
    maximum given by the caller or found."""
    x = sample(50_000, 0.2, count)
    x[100:140] = 2.0**-45  # more positives below the smallest bucket
    rng = np.random.default_rng(count)
    ranks = rng.choice(x.size, size=count, replace=False)
    ranks[0] = np.count_nonzero(x == 0.0) + 5  # bucket 0: a tiny positive
    srt = np.sort(x)
    with use_backend("numba"):
        assert np.array_equal(order_statistics(x, ranks), srt[ranks])
        assert np.array_equal(order_statistics(x, ranks, float(x.max())), srt[ranks])


def test_histogram_beyond_cap_within_relative_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond the cap, quantiles come from the log-linear histogram, within 2^-9 relative."""
    monkeypatch.setattr(values_mod, "EXACT_CAP", 10_000)
    x = sample(60_000, 0.2, 3)
    v = Values()
    for part in np.array_split(x, 12):
        v.add(part)
    assert not v.exact
    probs = [0.3, 0.5, 0.9, 0.95, 0.99, 0.999]
    exact = np.quantile(x, probs, method="lower")
    got = v.quantiles(probs)
    np.testing.assert_allclose(got, exact, rtol=2.0**-9)
    assert v.quantiles([0.1])[0] == 0.0  # a rank among the zeros is exactly 0


def test_merge_keeps_every_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """Merging streams (exact or histogram) gives the quantiles of all their values."""
    a, b = sample(3000, 0.1, 5), sample(4000, 0.0, 6)
    va, vb = Values(), Values()
    va.add(a)
    vb.add(b)
    both = np.concatenate((a, b))
    m = Values.merged([va, vb])
    np.testing.assert_allclose(m.quantiles([0.5, 0.99]), np.quantile(both, [0.5, 0.99]))
    monkeypatch.setattr(values_mod, "EXACT_CAP", 3500)
    vc = Values()
    vc.add(b)  # beyond the cap: a histogram
    m = Values.merged([va, vc])
    assert m.n == both.size and not m.exact
    np.testing.assert_allclose(
        m.quantiles([0.5, 0.99]), np.quantile(both, [0.5, 0.99], method="lower"), rtol=2.0**-9
    )


def test_empty_stream_is_nan() -> None:
    """No values: mean and quantiles are nan (as the event engine reports them)."""
    v = Values()
    assert np.isnan(v.mean()) and np.isnan(v.quantiles([0.5])).all()
