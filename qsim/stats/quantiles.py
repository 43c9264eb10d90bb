"""Percentile estimation: exact from arrays, or a bounded-memory mergeable sketch.

:class:`QuantileSketch` keeps counts in logarithmic buckets (the DDSketch idea:
Masson, Rim & Lee, VLDB 2019): any quantile it returns is within relative error
``alpha`` of the exact sample quantile, memory grows with log(max/min) and not with the
number of values, and two sketches merge by adding counts. Exact zeros (messages that
did not wait) are counted separately, so the quantile is exactly 0 where it should be.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qsim._validate import probability

__all__ = ["QuantileSketch", "sample_quantiles"]


def sample_quantiles(values: ArrayLike, probs: ArrayLike) -> NDArray[np.float64]:
    """Exact sample quantiles (Hyndman & Fan type 7, numpy's default); nan if empty."""
    x = np.asarray(values, dtype=np.float64)
    p = np.asarray(probs, dtype=np.float64)
    if x.size == 0:
        return np.full(p.shape, np.nan)
    return np.quantile(x, p)


class QuantileSketch:
    """Mergeable relative-error quantile sketch for non-negative values.

    Parameters
    ----------
    alpha : float
        Relative accuracy: every returned quantile q satisfies |q - x| <= alpha x for
        the exact sample quantile x (lower-rank convention). Default 0.5 %.
    """

    __slots__ = ("_counts", "_gamma_log", "_offset", "alpha", "count", "max", "zeros")

    def __init__(self, alpha: float = 0.005) -> None:
        self.alpha = float(probability(alpha, name="alpha", func="QuantileSketch"))
        gamma = (1 + self.alpha) / (1 - self.alpha)
        self._gamma_log = math.log(gamma)
        self._counts = np.zeros(0, dtype=np.int64)
        self._offset = 0  # bucket index of _counts[0]
        self.zeros = 0
        self.count = 0
        self.max = 0.0

    def add(self, values: ArrayLike) -> None:
        """Add an array of values >= 0 (vectorised)."""
        x = np.asarray(values, dtype=np.float64).ravel()
        if x.size == 0:
            return
        if np.any(~(x >= 0)):
            raise ValueError("QuantileSketch.add takes values >= 0 (times, lengths)")
        self.count += int(x.size)
        self.max = max(self.max, float(x.max()))
        pos = x[x > 0]
        self.zeros += int(x.size - pos.size)
        if pos.size == 0:
            return
        idx = np.ceil(np.log(pos) / self._gamma_log).astype(np.int64)
        lo, hi = int(idx.min()), int(idx.max())
        self._grow(lo, hi)
        self._counts += np.bincount(idx - self._offset, minlength=self._counts.size)

    def _grow(self, lo: int, hi: int) -> None:
        if self._counts.size == 0:
            self._offset = lo
            self._counts = np.zeros(hi - lo + 1, dtype=np.int64)
            return
        cur_lo, cur_hi = self._offset, self._offset + self._counts.size - 1
        new_lo, new_hi = min(lo, cur_lo), max(hi, cur_hi)
        if (new_lo, new_hi) == (cur_lo, cur_hi):
            return
        grown = np.zeros(new_hi - new_lo + 1, dtype=np.int64)
        grown[cur_lo - new_lo : cur_lo - new_lo + self._counts.size] = self._counts
        self._counts, self._offset = grown, new_lo

    def merge(self, other: QuantileSketch) -> None:
        """Add another sketch's counts (same alpha) into this one."""
        if other.alpha != self.alpha:
            raise ValueError("QuantileSketch.merge needs sketches with the same alpha")
        self.count += other.count
        self.zeros += other.zeros
        self.max = max(self.max, other.max)
        if other._counts.size:
            self._grow(other._offset, other._offset + other._counts.size - 1)
            start = other._offset - self._offset
            self._counts[start : start + other._counts.size] += other._counts

    def quantile(self, probs: ArrayLike) -> NDArray[np.float64] | float:
        """Quantiles at ``probs`` in [0, 1]; nan when empty."""
        p = np.asarray(probs, dtype=np.float64)
        if self.count == 0:
            out = np.full(p.shape, np.nan)
        else:
            # rank of the lower-rank sample quantile, 0-based
            rank = np.floor(p * (self.count - 1)).astype(np.int64)
            cum = np.cumsum(self._counts) + self.zeros
            k = np.searchsorted(cum, rank, side="right")
            k = np.minimum(k, max(self._counts.size - 1, 0))
            # bucket (gamma^(i-1), gamma^i]: the midpoint in relative terms
            i = (k + self._offset).astype(np.float64)
            value = 2.0 * np.exp(i * self._gamma_log) / (1.0 + math.exp(self._gamma_log))
            out = np.where(rank < self.zeros, 0.0, np.minimum(value, self.max))
        return float(out) if out.ndim == 0 else out

    def __len__(self) -> int:
        return self.count
