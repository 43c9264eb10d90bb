"""The search of a plan: cheapest first over the grid, bisection along the costliest
variable, pruning by monotonicity, confirmation of the winner, and the headroom.

Internal to :mod:`qsim.planning`, which states the strategy; this module holds its mechanics.
Every configuration is judged by a ``measure`` callable (a simulation in practice) that
returns the scenario's SLO verdicts; a configuration *meets* only when every target is
``met`` (the pessimistic end of its confidence interval meets it) and no queue is
unstable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from qsim._plan_space import PlanError, Space
from qsim.slo import slack

__all__ = ["Evaluation", "Measure", "Search", "headroom"]

#: ``measure(config, load_multiple=, replications=, seed=) -> (slo rows, unstable, engine)``
Measure = Callable[..., tuple[pd.DataFrame, dict[str, float], str]]
Progress = Callable[[int, str], None]

_EPS = 1e-9
#: Fields that add working slots: what latency and loss targets respond to.
CAPACITY = frozenset({"instances", "concurrency", "partitions"})


@dataclass(frozen=True, eq=False)
class Evaluation:
    """One simulated configuration: where, how, and the verdict on every target."""

    id: int
    phase: str
    index: int
    config: dict[str, int]
    cost: float
    load_multiple: float
    replications: int
    seed: int
    engine: str
    slo: pd.DataFrame  # evaluate_slo rows plus ``slack``; an unstable queue adds a row

    @property
    def meets(self) -> bool:
        return bool((self.slo.verdict == "met").all())

    def worst(self) -> pd.Series:
        """The target with the least slack (the binding one, or the one failing most)."""
        return self.slo.loc[self.slo.slack.idxmin()]


def _rows(slo: pd.DataFrame, unstable: dict[str, float]) -> pd.DataFrame:
    out = slo.copy()
    out["slack"] = [
        slack(r.target, r.limit, r.ci_low, r.ci_high) if r.verdict != "not measured" else math.nan
        for r in slo.itertuples()
    ]
    extra = [
        dict(
            target="stable",
            limit=0.0,
            scope="queue",
            name=q,
            metric="backlog_growth",
            value=g,
            ci_low=math.nan,
            ci_high=math.nan,
            verdict="missed",
            slack=-math.inf,
        )
        for q, g in unstable.items()
    ]
    return pd.concat([out, pd.DataFrame(extra)], ignore_index=True) if extra else out


@dataclass
class Search:
    """The state of one plan's search (see :mod:`qsim.planning` for the strategy)."""

    space: Space
    measure: Measure
    replications: int
    confirm_replications: int
    seed: int
    confirm_seed: int
    budget: int
    hard_ok: NDArray[np.bool_]  # analytic: configurations that may meet the targets
    start_ok: NDArray[np.bool_]  # analytic estimate met: where bisection starts
    generous_ok: NDArray[np.bool_]  # the generous bound met: the second probe upward
    progress: Progress | None = None
    evaluations: list[Evaluation] = field(default_factory=list)
    exhausted: bool = False

    def __post_init__(self) -> None:
        sp = self.space
        self.rank = np.empty(sp.size, dtype=np.intp)
        self.rank[sp.order] = np.arange(sp.size)
        # The variable bisected along: a capacity variable (instances, concurrency,
        # partitions) before other "more is better" ones, then the largest unit cost, then
        # the most choices; the others fix a slice.
        mono = [j for j in range(len(sp.names)) if sp.monotone[j]]
        self.primary = (
            max(
                mono,
                key=lambda j: (
                    sp.variables[j].field in CAPACITY,
                    sp.variables[j].cost,
                    len(sp.choices[j]),
                ),
            )
            if mono
            else None
        )
        self._reset_status(discredited=set())

    # ---- bookkeeping ------------------------------------------------------------------
    def _reset_status(self, discredited: set[int]) -> None:
        self.status = np.where(self.hard_ok, 0, 1).astype(np.int8)  # 0 ?, 1 fails, 2 meets
        judged = [e for e in self.evaluations if e.phase != "headroom"]
        for e in judged:
            if not e.meets:
                self._mark(e.index, False)
        for e in judged:
            if e.meets and e.phase != "confirm" and e.index not in discredited:
                self._mark(e.index, True)

    def _mark(self, i: int, meets: bool) -> None:
        sp, st = self.space, self.status
        region = sp.above(i) if meets else sp.below(i)
        st[region & (st == 0)] = 2 if meets else 1
        st[i] = 2 if meets else 1

    def evaluate(
        self, i: int, phase: str, *, load_multiple: float = 1.0, confirm: bool = False
    ) -> Evaluation:
        """Simulate configuration ``i`` and record it."""
        reps = self.confirm_replications if confirm else self.replications
        seed = self.confirm_seed if confirm else self.seed
        config = self.space.config(i)
        slo, unstable, engine = self.measure(
            config, load_multiple=load_multiple, replications=reps, seed=seed
        )
        lost = slo[slo.verdict == "not measured"]
        if not lost.empty:
            r = lost.iloc[0]
            raise PlanError(
                f"the slo target {r.target} ({r.metric}) is not measured for this scenario by "
                f"the {engine} engine, so no configuration can be judged against it"
            )
        e = Evaluation(
            id=len(self.evaluations),
            phase=phase,
            index=i,
            config=config,
            cost=float(self.space.cost[i]),
            load_multiple=load_multiple,
            replications=reps,
            seed=seed,
            engine=engine,
            slo=_rows(slo, unstable),
        )
        self.evaluations.append(e)
        if self.progress is not None:
            shown = ", ".join(f"{k.rpartition('.')[2]}={v}" for k, v in config.items())
            verdict = "meets" if e.meets else f"fails {e.worst().target}"
            load = f" at {load_multiple:.3g}x" if load_multiple != 1.0 else ""
            self.progress(len(self.evaluations), f"{phase}: {shown}{load}: {verdict}")
        return e

    def _test(self, i: int) -> bool:
        if self.status[i] != 0:
            return bool(self.status[i] == 2)
        if sum(e.phase == "search" for e in self.evaluations) >= self.budget:
            raise _OutOfBudget
        e = self.evaluate(i, "search")
        self._mark(i, e.meets)
        return e.meets

    def _incumbent(self, discredited: set[int]) -> int | None:
        passes = [
            e.index
            for e in self.evaluations
            if e.meets and e.phase in ("search", "corner") and e.index not in discredited
        ]
        return min(passes, key=lambda i: self.rank[i]) if passes else None

    def settled_below(self, i: int) -> list[tuple[int, str]]:
        """The next smaller configuration along the primary variable, if it was settled
        without simulating, with the reason (for the runners-up)."""
        sp, p = self.space, self.primary
        if p is None:
            return []
        others = [j for j in range(len(sp.names)) if j != p]
        same = (sp.values[:, others] == sp.values[i, others]).all(axis=1)
        lower = np.flatnonzero(same & (sp.values[:, p] < sp.values[i, p]))
        if lower.size == 0:
            return []
        j = int(lower[np.argmax(sp.values[lower, p])])
        if any(e.index == j for e in self.evaluations):
            return []
        if not self.hard_ok[j]:
            return [(j, "not simulated: below the analytic bracket (too few working slots)")]
        for e in self.evaluations:
            if not e.meets and e.phase != "headroom" and sp.below(e.index)[j]:
                shown = ", ".join(f"{k.rpartition('.')[2]}={v}" for k, v in e.config.items())
                return [(j, f"not simulated: has no more capacity than {shown}, which fails")]
        return []

    # ---- the search ---------------------------------------------------------------------
    def corners(self) -> list[Evaluation]:
        """Evaluate the most generous configurations: does anything in range meet?"""
        out = []
        for i in self.space.corners():
            e = self.evaluate(i, "corner")
            self._mark(i, e.meets)
            out.append(e)
        return out

    def run(self) -> tuple[Evaluation | None, Evaluation | None]:
        """Cheapest configuration that meets, and its confirmation (None, None: none does)."""
        discredited: set[int] = set()
        while True:
            if not self.exhausted:
                try:
                    self._descend(discredited)
                except _OutOfBudget:
                    self.exhausted = True
            best = self._incumbent(discredited)
            if best is None:
                return None, None
            check = self.evaluate(best, "confirm", confirm=True)
            if check.meets:
                found = [e for e in self.evaluations if e.index == best and e.phase != "confirm"]
                return found[0], check
            discredited.add(best)  # re-search upward: it met by chance at fewer replications
            self._reset_status(discredited)

    def _descend(self, discredited: set[int]) -> None:
        sp = self.space
        while True:
            best = self._incumbent(discredited)
            limit = sp.cost[best] - _EPS if best is not None else math.inf
            open_ = sp.order[self.status[sp.order] == 0]
            open_ = open_[sp.cost[open_] < limit]
            if open_.size == 0:
                return
            self._slice(int(open_[0]), limit)

    def _slice(self, cand: int, limit: float) -> None:
        """Find the fewest of the primary variable meeting the targets, others as in ``cand``."""
        sp, p = self.space, self.primary
        if p is None:
            self._test(cand)
            return
        others = [j for j in range(len(sp.names)) if j != p]
        same = (sp.values[:, others] == sp.values[cand, others]).all(axis=1)
        idx = np.flatnonzero(same)
        idx = idx[np.argsort(sp.values[idx, p])]
        if not self.start_ok[idx].any():
            # The analytic estimate says no point of this slice has enough capacity: test
            # that claim once, where it reaches furthest (every "more is better" variable
            # raised as far as the estimate still says too little), so that one failure
            # prunes the whole region; if it meets after all, search the slice as usual.
            top = self._hopeless_top(cand)
            if self.status[top] == 0 and not self._test(top):
                return
        lo = int(np.flatnonzero(idx == cand)[0])
        known = np.flatnonzero(self.status[idx[lo:]] == 2)
        cheap = np.flatnonzero(sp.cost[idx] < limit)
        hi = min(lo + int(known[0]) - 1 if known.size else idx.size - 1, int(cheap[-1]))
        start = _first_at_least(self.start_ok[idx], lo, hi)
        gen = _first_at_least(self.generous_ok[idx], start, hi)
        found = _first_pass(lambda k: self._test(int(idx[k])), lo, hi, start, gen)
        if found is None and hi == idx.size - 1:
            self._escalate(int(idx[hi]))

    def _escalate(self, top: int) -> None:
        """After a slice fails at its top, raise each other "more is better" variable to its
        largest value in turn while the configuration still fails: each such failure
        rules out every value of that variable below it, where the slice alone ruled out
        one (say the concurrency or the broker nodes cannot make up for too few
        partitions)."""
        sp = self.space
        pos = sp.index[top].copy()
        for j in np.flatnonzero(sp.monotone):
            if j == self.primary or pos[j] == len(sp.choices[j]) - 1:
                continue
            trial = pos.copy()
            trial[j] = len(sp.choices[j]) - 1
            if not self._test(sp.locate(trial)):
                pos = trial

    def _hopeless_top(self, cand: int) -> int:
        """A maximal configuration above ``cand`` that the analytic estimate still rules out."""
        sp = self.space
        pos = sp.index[cand].copy()
        for j in np.flatnonzero(sp.monotone):
            for t in range(len(sp.choices[j]) - 1, int(pos[j]), -1):
                trial = pos.copy()
                trial[j] = t
                if not self.start_ok[sp.locate(trial)]:
                    pos = trial
                    break
        return sp.locate(pos)


class _OutOfBudget(Exception):
    pass


def _first_at_least(ok: NDArray[np.bool_], lo: int, hi: int) -> int:
    hits = np.flatnonzero(ok[lo : hi + 1])
    return lo + int(hits[0]) if hits.size else hi


def _first_pass(test: Callable[[int], bool], lo: int, hi: int, start: int, gen: int) -> int | None:
    """Lowest k in [lo, hi] with ``test(k)``, for a monotone test (False then True).

    Starts at ``start`` (the analytic estimate). Upward: ``start + 1`` (the usual answer
    when the confidence interval costs one more), then ``gen`` (the generous bound), then
    doubling steps; downward (the estimate met): ``start - 1``, then doubling steps. Then
    bisection between the last failure and the first success: O(log n) tests.
    """
    bad, good = lo - 1, None
    if test(start):
        good, step = start, 1
        while good - 1 > bad:
            probe = max(good - step, bad + 1)
            if not test(probe):
                bad = probe
                break
            good, step = probe, step * 2
    else:
        bad, step, use_gen = start, 1, True
        nxt = start + 1
        while nxt <= hi:
            if test(nxt):
                good = nxt
                break
            bad = nxt
            if use_gen and gen > bad + 1:
                nxt, use_gen = min(gen, hi), False
            else:
                step *= 2
                nxt = min(bad + step, hi) if bad < hi else hi + 1
        if good is None:
            return None
    while good - bad > 1:
        mid = (good + bad) // 2
        if test(mid):
            good = mid
        else:
            bad = mid
    return good


def headroom(
    search: Search, index: int, *, tolerance: float, hint: float | None, cap: float = 8.0
) -> tuple[float, float]:
    """Largest load multiple at which configuration ``index`` still meets every target.

    Bisection on the multiple of the planned load (1 is known to meet), to ``tolerance``.
    The first probe is ``hint`` (where the analytic utilization of a pool reaches 1 or its
    ceiling, so some target surely breaks), then x1.5 steps up to ``cap``. Returns
    ``(meets_at, breaks_at)``; ``breaks_at`` is inf when nothing broke up to ``cap``.
    """
    lo, hi = 1.0, math.inf
    m = hint if hint is not None and hint > 1.0 + tolerance else 1.25
    while math.isinf(hi) and lo < cap:
        m = min(m, cap)
        if search.evaluate(index, "headroom", load_multiple=m).meets:
            lo, m = m, m * 1.5
        else:
            hi = m
    while math.isfinite(hi) and hi - lo > tolerance:
        mid = 0.5 * (lo + hi)
        if search.evaluate(index, "headroom", load_multiple=mid).meets:
            lo = mid
        else:
            hi = mid
    return lo, hi
