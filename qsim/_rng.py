"""The one place random generators are made.

A run has one root seed. Replication r draws from ``SeedSequence(seed, spawn_key=(r,))``,
exactly the r-th child ``SeedSequence(seed).spawn`` would give, but computed directly:
any replication (or any sweep point) can be reproduced on its own, in any order, on one
core or on a cluster. Streams inside a replication are children of that sequence.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fresh_seed", "generator", "replication_sequence", "stream_generators"]


def fresh_seed() -> int:
    """A new root seed from OS entropy, for runs without one (log it to reproduce)."""
    return int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]


def replication_sequence(seed: int, replication: int, *path: int) -> np.random.SeedSequence:
    """The SeedSequence of one replication (optionally below a sweep-point ``path``)."""
    return np.random.SeedSequence(seed, spawn_key=(*path, replication))


def generator(seq: np.random.SeedSequence) -> np.random.Generator:
    """A PCG64 generator on ``seq``."""
    return np.random.Generator(np.random.PCG64(seq))


def stream_generators(seq: np.random.SeedSequence, n: int) -> list[np.random.Generator]:
    """``n`` independent generators for the streams of one replication."""
    return [
        generator(np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, i)))
        for i in range(n)
    ]
