"""Markov-modulated Poisson process (MMPP): bursty arrivals whose rate follows a CTMC.

scipy.linalg and scipy.sparse are imported where used: ``import qsim`` stays light.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from qsim._validate import as_float, nonnegative, positive
from qsim._validate import scalar_or_array as _out
from qsim.arrivals._base import (
    CHUNK,
    ArrayFields,
    ArrivalProcess,
    F,
    fail,
    poisson_points,
    readonly,
)

__all__ = ["MMPP"]


def _irreducible(off: np.ndarray, name: str, func: str) -> None:
    """Every state reaches every other through positive off-diagonal entries."""
    from scipy.sparse.csgraph import connected_components

    count, labels = connected_components(off > 0, directed=True, connection="strong")
    if count > 1:
        groups = [np.flatnonzero(labels == g).tolist() for g in range(count)]
        fail(
            name,
            func,
            "irreducible (every state reachable from every other)",
            f"closed or transient groups of states {groups}",
        )


@dataclass(frozen=True, kw_only=True, eq=False)
class MMPP(ArrayFields, ArrivalProcess):
    """Markov-modulated Poisson process: Poisson at ``rates[i]`` while a CTMC is in state i.

    Parameters
    ----------
    rates : array_like, shape (n,)
        Messages per second in each of the n >= 2 states (>= 0, not all 0).
    generator : array_like, shape (n, n)
        CTMC generator Q (per second): off-diagonal q_ij >= 0 is the rate of jumping from
        i to j, rows sum to 0 (checked to a relative 1e-9; the diagonal is then reset to
        minus the off-diagonal row sum), irreducible.

    Notes
    -----
    Exact simulation: the state starts from the stationary distribution pi (pi Q = 0),
    sojourns are exponential with rate -q_ii, the next state is j with probability
    q_ij / -q_ii, and each sojourn is a constant-rate Poisson segment. Hence the process
    is stationary: E N(t) = mean_rate * t with mean_rate = pi . rates.

    Counts of the stationary process (Fischer & Meier-Hellstern, "The Markov-modulated
    Poisson process (MMPP) cookbook", Performance Evaluation 18 (1993) 149-171): the
    covariance density of the arrivals is pi Lambda (e^{Qs} - Pi) rates, with
    Lambda = diag(rates) and Pi = 1 pi, whence, with the deviation matrix
    D = (Pi - Q)^-1 - Pi (the integral of e^{Qs} - Pi over [0, inf)),

        Var N(t) = mean_rate t + 2 pi Lambda [t D - (I - e^{Qt}) D^2] rates,
        scv = lim Var N(t) / E N(t) = 1 + 2 pi Lambda D rates / mean_rate,

    the asymptotic index of dispersion, which is the c_a^2 of Whitt's asymptotic
    method (W. Whitt, Oper. Res. 30 (1982) 125-147). Exact; below the correlation time
    ``count_variance`` uses Van Loan's block exponential instead of the D form, which
    would cancel there (C. F. Van Loan, IEEE Trans. Automat. Control 23 (1978) 395-404).
    ``scale(f)`` multiplies the rates and keeps the modulating chain: f times the
    messages in the same bursts (so scv - 1 grows by f).

    Examples
    --------
    >>> p = MMPP.from_sojourns(rates=[10.0, 100.0], mean_sojourns=[60.0, 20.0])
    >>> p.mean_rate
    32.5
    >>> p.stationary.tolist()
    [0.75, 0.25]
    """

    rates: F = field(repr=True)
    generator: F = field(repr=True)

    def __post_init__(self) -> None:
        func = "MMPP"
        rates = nonnegative(self.rates, name="rates", func=func)
        if rates.ndim != 1 or rates.size < 2:
            fail("rates", func, "a 1-d array of at least 2 rates >= 0", f"shape {rates.shape}")
        if not np.any(rates > 0):
            fail("rates", func, "rates >= 0, not all 0", rates.tolist())
        q = as_float(self.generator, name="generator", func=func)
        n = rates.size
        if q.shape != (n, n):
            fail(
                "generator",
                func,
                f"a {n}x{n} matrix (one row and column per rate)",
                f"shape {q.shape}",
            )
        if not np.all(np.isfinite(q)):
            fail("generator", func, "a matrix of finite numbers", q.tolist())
        off = q - np.diag(np.diag(q))
        if np.any(off < 0):
            where = tuple(int(i) for i in np.argwhere(off < 0)[0])
            fail(
                "generator",
                func,
                "a generator with off-diagonal entries >= 0",
                float(q[where]),
                where,
            )
        leave = off.sum(axis=1)
        bad = np.abs(q.sum(axis=1)) > 1e-9 * np.maximum(leave, np.abs(np.diag(q)))
        if np.any(bad) or np.any(leave == 0):
            fail(
                "generator",
                func,
                "a generator whose rows sum to 0",
                f"row sums {q.sum(axis=1).tolist()}",
            )
        _irreducible(off, "generator", func)
        object.__setattr__(self, "rates", readonly(rates))
        object.__setattr__(self, "generator", readonly(off - np.diag(leave)))

    @classmethod
    def from_sojourns(
        cls, *, rates: ArrayLike, mean_sojourns: ArrayLike, transitions: ArrayLike | None = None
    ) -> MMPP:
        """The MMPP that stays a mean ``mean_sojourns[i]`` seconds in state i.

        Parameters
        ----------
        rates : array_like, shape (n,)
            Messages per second in each state.
        mean_sojourns : array_like, shape (n,)
            Mean time (seconds, > 0) per visit to each state.
        transitions : array_like, shape (n, n), optional
            P[i, j]: probability that state i is followed by j (zero diagonal, rows sum
            to 1). Default: each state is followed by every other with equal
            probability (with 2 states, they alternate). A cycle 0 -> 1 -> ... -> 0 is
            ``np.roll(np.eye(n), 1, axis=1)``.

        Notes
        -----
        Q[i, j] = P[i, j] / mean_sojourns[i] for j != i, Q[i, i] = -1 / mean_sojourns[i].
        """
        func = "MMPP.from_sojourns"
        m = positive(mean_sojourns, name="mean_sojourns", func=func)
        n = m.size
        if m.ndim != 1 or n < 2:
            fail("mean_sojourns", func, "a 1-d array of at least 2 times > 0", f"shape {m.shape}")
        if transitions is None:
            p = (1.0 - np.eye(n)) / (n - 1)
        else:
            p = nonnegative(transitions, name="transitions", func=func)
            if p.shape != (n, n):
                fail(
                    "transitions",
                    func,
                    f"a {n}x{n} matrix (one row and column per state)",
                    f"shape {p.shape}",
                )
            if np.any(np.diag(p) != 0) or np.any(np.abs(p.sum(axis=1) - 1.0) > 1e-9):
                fail(
                    "transitions",
                    func,
                    "probabilities with a zero diagonal and rows summing to 1",
                    p.tolist(),
                )
            _irreducible(p, "transitions", func)
        q = p / m[:, None]
        return cls(rates=rates, generator=q - np.diag(q.sum(axis=1)))  # type: ignore[arg-type]

    @cached_property
    def stationary(self) -> F:
        """Stationary distribution pi of the modulating chain (pi Q = 0, sum 1)."""
        n = self.rates.size
        a = self.generator.T.copy()
        a[-1, :] = 1.0
        b = np.zeros(n)
        b[-1] = 1.0
        return readonly(np.maximum(np.linalg.solve(a, b), 0.0))

    @property
    def mean_rate(self) -> float:  # type: ignore[override]
        """Long-run messages per second, pi . rates."""
        return float(self.stationary @ self.rates)

    @cached_property
    def _deviation(self) -> F:
        """D = (Pi - Q)^-1 - Pi: the integral of e^{Qs} - Pi over s in [0, inf)."""
        big_pi = np.outer(np.ones(self.rates.size), self.stationary)
        return np.linalg.inv(big_pi - self.generator) - big_pi  # type: ignore[no-any-return]

    @property
    def _centred(self) -> tuple[F, F]:
        """(pi * (rates - mean_rate), rates - mean_rate): pi D = 0 and D 1 = 0 make them
        interchangeable with the raw rates in every formula, and better conditioned."""
        c = self.rates - self.mean_rate
        return self.stationary * c, c

    @property
    def scv(self) -> float:  # type: ignore[override]
        """Asymptotic index of dispersion of counts, lim Var N(t) / E N(t)."""
        w, c = self._centred
        return float(1.0 + 2.0 * w @ self._deviation @ c / self.mean_rate)

    def count_variance(self, duration: ArrayLike) -> Any:
        """Var N(t) of the number of arrivals in any window of ``duration`` t seconds.

        Elementwise over ``duration`` (>= 0); the window mean is mean_rate * t.
        """
        from scipy import linalg

        t = nonnegative(duration, name="duration", func="MMPP.count_variance")
        w, c = self._centred
        q, n = self.generator, self.rates.size
        # NOTE: Var = mean t + 2 w B(t) c with B(t) = integral_0^t (t - u) e^{Qu} du. For t
        # below the correlation time B comes from one exponential of the block matrix
        # [[Q, I, 0], [0, 0, I], [0, 0, 0]] (Van Loan 1978): the D form would cancel there.
        # Beyond it B = t^2 Pi / 2 + t D - (I - e^{Qt}) D^2, without the Pi term (w 1 = 0).
        short = t * self._relaxation < 1.0
        block = np.zeros((3 * n, 3 * n))
        block[:n, :n] = q
        block[:n, n : 2 * n] = block[n : 2 * n, 2 * n :] = np.eye(n)
        ts = np.where(short, t, 0.0)[..., None, None]
        vanloan = w @ linalg.expm(ts * block)[..., :n, 2 * n :] @ c
        d = self._deviation
        tl = np.where(short, 0.0, t)
        dd = d @ (d @ c)
        tail = tl * (w @ d @ c) - w @ dd + w @ (linalg.expm(tl[..., None, None] * q) @ dd).T
        var = self.mean_rate * t + 2.0 * np.where(short, vanloan, tail)
        return _out(np.maximum(var, 0.0))

    @cached_property
    def _relaxation(self) -> float:
        """Slowest decay rate of e^{Qt} towards Pi (the smallest nonzero |Re eigenvalue|)."""
        return float(np.sort(-np.linalg.eigvals(self.generator).real)[1])

    def scale(self, factor: float) -> MMPP:
        """The same chain with every rate multiplied by ``factor``."""
        return MMPP(rates=self.rates * self._factor(factor), generator=self.generator)

    def _stream(self, rng: np.random.Generator, until: float) -> Iterator[F]:
        return poisson_points(rng, self._sojourns(rng, until))

    def _sojourns(self, rng: np.random.Generator, until: float) -> Iterator[tuple[F, F, F]]:
        """Consecutive sojourns (start, end, rate), clipped at ``until``."""
        n = self.rates.size
        leave = -np.diag(self.generator)
        jump = (self.generator + np.diag(leave)) / leave[:, None]
        cum = np.cumsum(jump, axis=1)
        # the last reachable successor absorbs rounding in the cumulative row sums
        last = n - 1 - np.argmax(jump[:, ::-1] > 0, axis=1)
        cum[np.arange(n) >= last[:, None]] = np.inf
        rows = cum.tolist()
        state = int(rng.choice(n, p=self.stationary))
        per_visit = float(self.stationary @ (self.rates / leave))
        per_second = float(self.stationary @ leave)
        t = 0.0
        while t < until:
            size = int(min(CHUNK, max(16.0, CHUNK / (1.0 + per_visit))))
            if until - t < np.inf:  # about the sojourns left, so short runs stay cheap
                size = int(min(size, 16 + 1.5 * (until - t) * per_second))
            if n == 2:
                states = (state + np.arange(size + 1)) % 2
            else:
                # NOTE: the jump chain is sequential: one bisect per sojourn, on lists.
                path = [state]
                for u in rng.random(size).tolist():
                    path.append(bisect.bisect_right(rows[path[-1]], u))
                states = np.array(path)
            ends = t + np.cumsum(rng.standard_exponential(size) / leave[states[:-1]])
            starts = np.concatenate(([t], ends[:-1]))
            keep = starts < until
            yield starts[keep], np.minimum(ends[keep], until), self.rates[states[:-1]][keep]
            t, state = float(ends[-1]), int(states[-1])
