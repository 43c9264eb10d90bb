"""Streams of per-message values (waits, response times): mean, max and quantiles.

Up to ``EXACT_CAP`` values per stream are kept and their quantiles are exact (numpy's
default, Hyndman & Fan type 7), as in the event engine. Beyond that a stream keeps a
log-linear histogram of the values' float64 bit patterns (the HDR-histogram idea:
256 buckets per power of two), so memory is bounded however long the run, and every
quantile is within a relative 2^-9 (0.2 %) of the exact one.

Exact quantiles need two order statistics per probability. The compiled selection
buckets the values by the same bit patterns, counts, and sorts only the few buckets
holding the wanted ranks (a few passes over the data); its numpy twin is
``np.partition``. Both return the exact order statistics, hence identical numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from qsim.fast._jit import compiled

__all__ = ["EXACT_CAP", "Values", "order_statistics"]

F = NDArray[np.float64]

#: Values kept exactly per stream (the event engine's cap).
EXACT_CAP = 2_000_000
#: Value buffers kept for reuse (each EXACT_CAP float64, resident only where written).
_POOL: list[F] = []
_POOL_SIZE = 8
#: Right shift of the float64 bits: 52 - 44 = 8 mantissa bits, 256 buckets per octave.
_SHIFT = 44
#: Positive values below this (seconds) share one bucket (reported as 0 by the histogram).
_TINY = 2.0**-40
_TINY_BITS = int(np.array(_TINY).view(np.int64))
_LOW = _TINY_BITS >> _SHIFT  # key of the histogram's first bucket
#: The exact selection's buckets: 128 per octave (counts that fit the L1 cache).
_SELECT_SHIFT = 45


class Values:
    """Non-negative values, added as arrays (seconds).

    Exact values live in a buffer taken from a small pool, so a process that runs many
    replications reuses memory instead of faulting in fresh pages for every stream.
    :meth:`release` gives it back once the quantiles a caller needs are known.
    """

    __slots__ = ("_buf", "_counts", "_exact", "_fill", "_known", "max", "n", "total")

    def __init__(self) -> None:
        self._buf: F | None = None  # the exact values: _buf[:_fill]
        self._fill = 0
        self._exact = True
        # Histogram beyond EXACT_CAP: bucket k holds keys _LOW + k (k = 0: below _TINY).
        self._counts = np.zeros(1, dtype=np.int64)
        self._known: dict[int, float] = {}  # order statistics found so far, by rank
        self.n = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, x: F, total: float | None = None, largest: float | None = None) -> None:
        """Add the values of ``x``; ``total`` and ``largest`` are their sum and max when
        the caller knows them."""
        if x.size == 0:
            return
        view = self.reserve(x.size)
        if view is not None:
            view[:] = x
            self.commit(x.size, total, largest, x)
            return
        self._account(x, total, largest)
        if self._exact:
            self._to_histogram()
        self._histogram(x)

    def reserve(self, n: int) -> F | None:
        """Room for up to ``n`` more exact values (then :meth:`commit`), or None when
        they may not fit under EXACT_CAP: then :meth:`add` them."""
        if not self._exact or self._fill + n > EXACT_CAP:
            return None
        if self._buf is None:
            while _POOL and _POOL[-1].size != EXACT_CAP:
                _POOL.pop()  # from a different cap (tests change it)
            self._buf = _POOL.pop() if _POOL else np.empty(EXACT_CAP)
        return self._buf[self._fill : self._fill + n]

    def commit(
        self,
        k: int,
        total: float | None = None,
        largest: float | None = None,
        x: F | None = None,
    ) -> None:
        """Keep the first ``k`` values written into the last :meth:`reserve` view."""
        if k == 0:
            return
        assert self._buf is not None
        self._account(self._buf[self._fill : self._fill + k] if x is None else x, total, largest)
        self._fill += k

    def _account(self, x: F, total: float | None, largest: float | None) -> None:
        self._known = {}
        self.n += x.size
        self.total += float(x.sum()) if total is None else total
        self.max = max(self.max, float(x.max()) if largest is None else largest)

    @property
    def exact(self) -> bool:
        """Whether the quantiles are exact (all values kept)."""
        return self._exact

    def values(self) -> F:
        """Every value, in the order added (exact streams, before :meth:`release`)."""
        if not self._exact:
            raise ValueError("this stream keeps a histogram, not its values")
        return np.zeros(0) if self._buf is None else self._buf[: self._fill]

    def release(self) -> None:
        """Give the buffer back (quantiles already asked for stay known)."""
        if self._buf is not None:
            if len(_POOL) < _POOL_SIZE:
                _POOL.append(self._buf)
            self._buf = None

    def mean(self) -> float:
        return self.total / self.n if self.n else float("nan")

    def quantiles(self, probs: Sequence[float]) -> F:
        """Type-7 sample quantiles (exact, or from the histogram beyond EXACT_CAP)."""
        p = np.asarray(probs, dtype=np.float64)
        if self.n == 0:
            return np.full(p.shape, np.nan)
        h = p * (self.n - 1)
        lo = np.floor(h).astype(np.int64)
        hi = np.minimum(lo + 1, self.n - 1)
        ranks = np.unique(np.concatenate((lo, hi)))
        missing = np.array([r for r in ranks.tolist() if r not in self._known], dtype=np.int64)
        if missing.size:
            if self._exact:
                if self._buf is None:
                    raise ValueError("the values were released before these quantiles")
                found = order_statistics(self.values(), missing, self.max)
            else:
                found = self._histogram_ranks(missing)
            self._known.update(zip(missing.tolist(), found.tolist(), strict=True))
        at = self._known
        out = np.empty(p.shape)
        steps = zip(lo.tolist(), hi.tolist(), (h - lo).tolist(), strict=True)
        for i, (k, j, g) in enumerate(steps):
            a, b = at[k], at[j]
            diff = b - a  # numpy's lerp, stable at both ends
            out[i] = b - diff * (1.0 - g) if g >= 0.5 else a + diff * g
        return out

    @staticmethod
    def merged(streams: Sequence[Values]) -> Values:
        """One stream holding the values of all ``streams`` (not yet released)."""
        out = Values()
        for s in streams:
            if s._exact:
                out.add(s.values(), s.total, s.max)
                continue
            out._account(np.zeros(0), s.total, s.max)
            out.n += s.n
            if out._exact:
                out._to_histogram()
            out._grow(s._counts.size)
            out._counts[: s._counts.size] += s._counts
        return out

    # ---- histogram mode -----------------------------------------------------------------
    def _to_histogram(self) -> None:
        if self._buf is not None and self._fill:
            self._histogram(self._buf[: self._fill])
        self.release()
        self._exact = False
        self._fill = 0

    def _histogram(self, x: F) -> None:
        top = int(np.array(x.max()).view(np.int64)) >> _SHIFT
        self._grow(top - _LOW + 1)
        jit = compiled(_count_loop)
        if jit is not None:
            jit(x, self._counts)
            return
        keys = np.maximum((x.view(np.int64) >> _SHIFT) - _LOW, 0)
        self._counts += np.bincount(keys, minlength=self._counts.size)

    def _grow(self, size: int) -> None:
        if size > self._counts.size:
            grown = np.zeros(size, dtype=np.int64)
            grown[: self._counts.size] = self._counts
            self._counts = grown

    def _histogram_ranks(self, ranks: NDArray[np.int64]) -> F:
        """Bucket midpoints (linear) of the order statistics at ``ranks``."""
        cum = np.cumsum(self._counts)
        b = np.minimum(np.searchsorted(cum, ranks, side="right"), self._counts.size - 1)
        keys = (b + _LOW).astype(np.int64)
        lo = (keys << _SHIFT).view(np.float64)
        hi = ((keys + 1) << _SHIFT).view(np.float64)
        mid = np.minimum(0.5 * (lo + hi), self.max)
        return np.where(b == 0, 0.0, mid)


def _count_loop(x, counts):  # pragma: no cover
    bits = x.view(np.int64)
    for i in range(x.size):
        k = (bits[i] >> _SHIFT) - _LOW
        counts[k if k > 0 else 0] += 1


def order_statistics(x: F, ranks: NDArray[np.int64], largest: float | None = None) -> F:
    """The exact order statistics ``sorted(x)[ranks]`` of non-negative ``x``
    (``largest``: ``x.max()``, when the caller knows it).

    >>> order_statistics(np.array([3.0, 0.0, 2.0, 1.0]), np.array([0, 2]))
    array([0., 2.])
    """
    ranks = np.asarray(ranks, dtype=np.int64)
    jit = compiled(_select_loop)
    if jit is None or x.size < 64:
        return np.partition(x, ranks)[ranks]
    top = np.array(x.max() if largest is None else largest, dtype=np.float64).view(np.int64)
    return jit(x, np.sort(ranks), top)[np.argsort(np.argsort(ranks))]


def _select_loop(x, ranks, top):  # pragma: no cover
    # Bucket k = (bits >> _SELECT_SHIFT) - base, clamped at 0: bucket 0 holds [0, _TINY),
    # then 128 buckets per octave up to ``top`` (the largest value's bits): counts that
    # fit the L1 cache, no data-dependent branch. Zeros are counted apart, so a rank
    # among them needs no sorting; only the buckets holding a wanted rank are sorted.
    bits = x.view(np.int64)
    base = _TINY_BITS >> _SELECT_SHIFT
    nb = (top >> _SELECT_SHIFT) - base + 1
    if nb < 1:
        nb = 1
    # Four quarters counted side by side into four tables: consecutive values often
    # share a bucket, and one table would chain every increment on the one before.
    tables = np.zeros((4, nb), dtype=np.int32)
    zeros = 0
    q = x.size // 4
    for i in range(q):
        for j in range(4):
            b = bits[i + j * q]
            k = (b >> _SELECT_SHIFT) - base
            tables[j, k if k > 0 else 0] += 1
            zeros += (b << 1) == 0  # +0.0 or -0.0
    for i in range(4 * q, x.size):
        b = bits[i]
        k = (b >> _SELECT_SHIFT) - base
        tables[0, k if k > 0 else 0] += 1
        zeros += (b << 1) == 0
    counts = tables[0] + tables[1] + tables[2] + tables[3]
    counts[0] -= zeros  # bucket 0 now holds the positive values below _TINY
    cum = np.empty(nb, dtype=np.int64)
    total = zeros
    for b in range(nb):
        total += counts[b]
        cum[b] = total
    want = np.zeros(nb, dtype=np.bool_)
    where = np.empty(ranks.size, dtype=np.int64)
    for r in range(ranks.size):
        if ranks[r] < zeros:
            where[r] = -1
            continue
        b = np.searchsorted(cum, ranks[r], side="right")
        where[r] = b
        want[b] = True
    size = 0
    for b in range(nb):
        if want[b]:
            size += counts[b]
    buf = np.empty(size)
    j = 0
    for i in range(x.size):
        k = (bits[i] >> _SELECT_SHIFT) - base
        k = k if k > 0 else 0
        if want[k] and x[i] != 0.0:
            buf[j] = x[i]
            j += 1
    buf.sort()
    out = np.empty(ranks.size)
    for r in range(ranks.size):
        b = where[r]
        if b < 0:
            out[r] = 0.0
            continue
        below = 0  # values of wanted buckets under bucket b
        for k in range(b):
            if want[k]:
                below += counts[k]
        out[r] = buf[below + ranks[r] - (cum[b] - counts[b])]
    return out
