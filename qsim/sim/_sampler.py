"""Block samplers: draw variates from numpy in blocks, hand them out one at a time.

Calling a numpy generator per message costs microseconds; drawing 4096 at once and
indexing costs nanoseconds. Each sampler owns its generator, so the draws of one
component never depend on how many another one took.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["BlockSampler", "UniformSampler"]

_BLOCK = 4096


class BlockSampler:
    """Successive draws of ``dist.sample`` (any qsim.distributions object)."""

    __slots__ = ("_buf", "_dist", "_i", "_n", "_rng")

    def __init__(self, dist: Any, rng: np.random.Generator, block: int = _BLOCK) -> None:
        self._dist = dist
        self._rng = rng
        self._n = block
        self._buf: list[float] = []
        self._i = block

    def __call__(self) -> float:
        i = self._i
        if i == self._n:
            # NOTE: tolist() once per block: indexing a Python list beats numpy scalars.
            self._buf = self._dist.sample(self._n, self._rng).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]


class UniformSampler(BlockSampler):
    """Successive U(0, 1) draws, for routing and failure coins."""

    __slots__ = ()

    def __init__(self, rng: np.random.Generator, block: int = _BLOCK) -> None:
        super().__init__(_Uniform, rng, block)


class _Uniform:
    """U(0, 1) in the ``sample(n, rng)`` form BlockSampler draws from."""

    @staticmethod
    def sample(n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.random(n)
