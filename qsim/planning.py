"""Capacity planning: the cheapest configuration that meets every SLO, with confidence.

A scenario's ``plan:`` block names the decision variables (consumers, partitions, prefetch,
broker nodes...), their ranges and unit costs, and the load to plan for; its ``slo:`` block
the targets. :func:`plan` returns the cheapest configuration whose simulated SLOs are all
**met**, that is met at the pessimistic end of the 95% confidence interval, never on the
point estimate alone.

Strategy (it never scans blindly):

1. **Analytic bracket.** For each consumer pool the plan resizes, the fewest working slots
   meeting the latency, utilization and loss targets at the planned load by Erlang C
   (M/M/c, M/M/c/K) or M/G/c (Cosmetatos / Allen-Cunneen), plus a capacity floor that
   holds for any service law (see :mod:`qsim._plan_bounds`). Configurations below the
   floor, or below an exact M/M/c bound, are pruned without simulating; the estimate is
   where the search starts.
2. **Feasibility.** The most generous configurations (every "more is better" variable at
   its top, once per value of the others) are simulated first: if none meets, nothing in
   range does, and the result says which SLO fails by how much.
3. **Search.** Configurations are visited cheapest first. Each visit solves a whole slice:
   the others fixed, the fewest of the costliest capacity variable (instances,
   concurrency, partitions) is found by galloping from the analytic estimate and
   bisection (O(log n) simulations, assuming that more of it never hurts). A failure
   prunes every configuration with no more of any "more is better" variable; a success
   every dearer one. Where the estimate says a whole slice lacks capacity, that claim is
   tested once at the furthest point it covers; where a slice fails even at its top,
   the other variables are raised one at a time while it still fails: either way one
   simulation rules out a whole region. The search stops when the next unsettled
   configuration costs at least as much as the best found: branch and bound over a
   cost-ordered grid. Every point uses the same seed (common random numbers), so
   configurations differ by their capacity, not by their luck. Broker nodes and
   replicas are held at their cheapest value when their broker has no failures or
   outages (they change nothing the simulation measures then).
4. **Confirmation.** The winner is simulated again with ``confirm_replications`` and a
   fresh seed; if it fails, it is discarded and the search resumes upward.
5. **Headroom.** Bisection on the load multiple (of the planned load) for the largest
   load at which the recommendation still meets every SLO, to ``headroom_tolerance``.

The binding SLO is the one with the least relative slack at the winner's pessimistic end.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from qsim._plan_bounds import exact_pools, headroom_hint, masks, pool_bounds
from qsim._plan_report import (
    binding_frame,
    bounds_frame,
    cannot_move,
    frame,
    headroom_frame,
    headroom_runs,
    recommended_frame,
    runners_up,
    shortfall,
)
from qsim._plan_search import Evaluation, Search, headroom
from qsim._plan_space import PlanError, build_space, pin_inert, scenario_at
from qsim._rng import fresh_seed

__all__ = ["PlanError", "PlanResult", "plan"]

_CONFIRM_KEY = 0x706C616E  # "plan": the spawn key of the confirmation seed


@dataclass(frozen=True, eq=False)
class PlanResult:
    """What :func:`plan` found.

    Attributes
    ----------
    scenario : str
        Scenario name.
    feasible : bool
        Whether some configuration in range meets every SLO (with confidence).
    recommended : DataFrame
        One row, the cheapest configuration that meets every SLO: a column per variable
        (its path) and ``cost_per_hour`` (no rows when none does).
    cost_per_hour : float
        Its cost per hour (NaN when infeasible).
    runners_up : DataFrame
        The evaluated configurations nearest in cost: the variables, ``cost_per_hour``,
        ``extra_cost``, ``meets``, ``target`` (the SLO that fails, or binds) and ``why``.
    binding : DataFrame
        Every SLO at the recommendation (its confirmation run), least slack first, with
        ``slack`` (relative room at the pessimistic end) and ``binding`` (True on the
        first row); when infeasible, at the best configuration tried.
    headroom : DataFrame
        One row: ``headroom`` (the recommendation meets every SLO up to this multiple of
        the planned load), ``breaks_at``, ``tolerance``, ``load_at_headroom`` and
        ``load_at_break`` (multiples of the producers' rates), and ``breaks, value,
        ci_high, limit``: the target that breaks first (empty when infeasible).
    headroom_runs : DataFrame
        The load bisection: ``load_multiple`` (of the planned load), ``load`` (of the
        producers' rates), ``meets``, and the worst target there.
    headroom_multiple, breaks_at : float
        The recommendation meets every SLO up to ``headroom_multiple`` times the planned
        load and breaks one at ``breaks_at`` (inf: nothing broke up to 8x).
    headroom_tolerance : float
        ``breaks_at - headroom_multiple`` is at most this.
    evaluated : DataFrame
        Every simulation, tidy: ``evaluation, phase`` (corner, search, confirm,
        headroom), the variables, ``cost_per_hour, load_multiple, replications, seed,
        engine, meets``, then one row per target: ``target, limit, scope, name, metric,
        value, ci_low, ci_high, verdict, slack``.
    infeasible_reason : str or None
        Why nothing was recommended: which SLO fails by how much at the best point.
    bounds : DataFrame
        The analytic bracket per consumer pool.
    load : float
        The planned load, a multiple of the producers' rates.
    engine : str
        The engine that ran the simulations.
    seed, replications, confirm_replications : int
        Root seed of the search (confirmation uses a seed derived from it), and the
        replications per evaluated and confirmed configuration.
    notes : tuple of str
        How the search went, step by step.
    """

    scenario: str
    feasible: bool
    recommended: pd.DataFrame
    cost_per_hour: float
    runners_up: pd.DataFrame
    binding: pd.DataFrame
    headroom: pd.DataFrame
    headroom_runs: pd.DataFrame
    headroom_multiple: float
    breaks_at: float
    headroom_tolerance: float
    evaluated: pd.DataFrame
    infeasible_reason: str | None
    bounds: pd.DataFrame
    load: float
    engine: str
    seed: int
    replications: int
    confirm_replications: int
    notes: tuple[str, ...]

    @property
    def config(self) -> dict[str, int]:
        """The recommended values by variable path (empty when infeasible)."""
        if self.recommended.empty:
            return {}
        row = self.recommended.iloc[0]
        return {k: int(v) for k, v in row.items() if k != "cost_per_hour"}

    @property
    def binding_target(self) -> str | None:
        """The SLO with the least slack at the recommendation (or failing most)."""
        return None if self.binding.empty else str(self.binding.target.iloc[0])


def _confirm_seed(root: int) -> int:
    state = np.random.SeedSequence(root, spawn_key=(_CONFIRM_KEY,)).generate_state(2)
    return int((int(state[0]) << 31) ^ int(state[1]))


def plan(
    scenario: Any,
    *,
    seed: int | None = None,
    engine: str = "auto",
    progress: Callable[[int, str], None] | None = None,
) -> PlanResult:
    """The cheapest configuration of a scenario's ``plan:`` variables meeting its ``slo:``.

    Parameters
    ----------
    scenario : Scenario
        A scenario with ``plan:`` and ``slo:`` blocks.
    seed : int, optional
        Root seed of the search; default the scenario's (else fresh entropy, reported).
    engine : str
        ``auto`` (the fast engine where the scenario allows it), ``sim`` or ``fast``.
    progress : callable, optional
        Called as ``progress(simulations_done, message)`` after each simulation.

    Returns
    -------
    PlanResult
        Recommendation, runners-up, binding SLO, headroom and every evaluated point.

    Raises
    ------
    PlanError
        Without a ``plan:`` block, with a grid of more than a million configurations,
        when the variables cannot change a target that fails everywhere (say only
        ``prefetch`` varies and the loss target needs capacity), or when a target is not
        measured by the engine.

    Notes
    -----
    The strategy is in the module docstring. A target is met when the 95% interval's
    pessimistic end meets it (:mod:`qsim.slo`), so the recommendation can hold one unit
    more than a point estimate would: that unit buys confidence, not capacity.
    """
    from qsim.engines import run

    spec = scenario.plan
    if spec is None:
        raise PlanError(
            f"scenario {scenario.name!r} has no plan: block; add one naming the variables "
            "to decide, e.g. plan: {variables: [{set: consumers.<name>.instances, "
            "range: 1..32, cost: 0.1/h}]}"
        )
    load = float(spec.load if spec.load is not None else scenario.load)
    reps = int(spec.replications or scenario.replications)
    confirm_reps = int(spec.confirm_replications or 3 * reps)
    root = seed if seed is not None else scenario.seed
    root = int(root if root is not None else fresh_seed())
    variables, notes = pin_inert(scenario, spec.variables)
    space = build_space(variables)
    base = scenario.model_dump(exclude_unset=True)
    base.pop("plan", None)

    def measure(
        config: dict[str, int], *, load_multiple: float, replications: int, seed: int
    ) -> tuple[pd.DataFrame, dict[str, float], str]:
        sc = scenario_at(
            base, space.variables, config, load=load * load_multiple, replications=replications
        )
        res = run(sc, engine=engine, seed=seed)
        return res.slo, res.unstable, res.engine

    corner = space.config(space.corners()[0])
    planned = scenario_at(base, space.variables, corner, load=load, replications=reps)
    bounds = pool_bounds(planned, space, exact_pools(base, space, load))
    hard, start, generous = masks(space, planned, bounds)
    notes += [f"analytic bracket, {b.note()}" for b in bounds]
    notes.append(
        f"{space.size} configurations; {int((~hard).sum())} pruned by the analytic bracket "
        "without simulating"
    )
    search = Search(
        space=space,
        measure=measure,
        replications=reps,
        confirm_replications=confirm_reps,
        seed=root,
        confirm_seed=_confirm_seed(root),
        budget=spec.max_evaluations,
        hard_ok=hard,
        start_ok=start,
        generous_ok=generous,
        progress=progress,
    )
    corners = search.corners()
    total = len(space.corners(limit=None))
    if total > len(corners):
        notes.append(
            f"feasibility checked on the {len(corners)} cheapest of {total} most generous "
            "configurations (one per combination of prefetch / capacity values)"
        )
    common = dict(
        scenario=scenario.name,
        bounds=bounds_frame(bounds),
        load=load,
        seed=root,
        replications=reps,
        confirm_replications=confirm_reps,
        headroom_tolerance=float(spec.headroom_tolerance),
    )
    if not any(e.meets for e in corners):
        best = max(corners, key=lambda e: e.worst().slack)
        stuck = cannot_move(best, space.variables, planned)
        if stuck is not None:
            raise PlanError(stuck)
        return _infeasible(
            search, best, shortfall(best, "at the most generous configuration"), notes, common
        )
    winner, confirmed = search.run()
    notes += _search_notes(search)
    if winner is None or confirmed is None:
        tried = [e for e in search.evaluations if e.phase != "headroom"]
        best = max(tried, key=lambda e: (e.meets, e.worst().slack))
        why = (
            f"the search stopped after {spec.max_evaluations} simulations (max_evaluations) "
            "before a configuration passed confirmation; "
            if search.exhausted
            else "no configuration passed confirmation; "
        )
        return _infeasible(search, best, why + shortfall(best, "at the best point"), notes, common)
    hint = headroom_hint(space, planned, bounds, winner.index, planned.slo)
    meets_at, breaks_at = headroom(
        search, winner.index, tolerance=float(spec.headroom_tolerance), hint=hint
    )
    runs = headroom_runs(search.evaluations, winner, load)
    notes.append(
        f"headroom: meets every SLO up to {meets_at:.3g}x the planned load"
        + (
            f", breaks at {breaks_at:.3g}x"
            if math.isfinite(breaks_at)
            else ", nothing broke up to 8x"
        )
    )
    return PlanResult(
        feasible=True,
        recommended=recommended_frame(space, winner.index),
        cost_per_hour=float(space.cost[winner.index]),
        runners_up=runners_up(
            search.evaluations, space, winner.index, search.settled_below(winner.index)
        ),
        binding=binding_frame(confirmed),
        headroom=headroom_frame(runs, meets_at, breaks_at, float(spec.headroom_tolerance), load),
        headroom_runs=runs,
        headroom_multiple=meets_at,
        breaks_at=breaks_at,
        evaluated=frame(search.evaluations, space.names),
        infeasible_reason=None,
        engine=confirmed.engine,
        notes=tuple(notes),
        **common,  # type: ignore[arg-type]
    )


def _infeasible(
    search: Search, best: Evaluation, reason: str, notes: list[str], common: dict[str, Any]
) -> PlanResult:
    return PlanResult(
        feasible=False,
        recommended=recommended_frame(search.space, None),
        cost_per_hour=math.nan,
        runners_up=runners_up(search.evaluations, search.space, None),
        binding=binding_frame(best),
        headroom=headroom_frame(pd.DataFrame(), math.nan, math.nan, math.nan, math.nan),
        headroom_runs=headroom_runs([], None, common["load"]),
        headroom_multiple=math.nan,
        breaks_at=math.nan,
        evaluated=frame(search.evaluations, search.space.names),
        infeasible_reason="no configuration in range meets the SLOs: " + reason,
        engine=best.engine,
        notes=tuple(notes),
        **common,
    )


def _search_notes(search: Search) -> list[str]:
    n = {p: sum(e.phase == p for e in search.evaluations) for p in ("corner", "search", "confirm")}
    out = [
        f"simulated {n['corner']} most generous configuration(s), {n['search']} in the "
        f"search and {n['confirm']} confirmation(s) "
        f"({search.replications} / {search.confirm_replications} replications)"
    ]
    failed = [e for e in search.evaluations if e.phase == "confirm" and not e.meets]
    for e in failed:
        shown = ", ".join(f"{k}={v}" for k, v in e.config.items())
        out.append(f"{shown} met in the search but failed confirmation; searched upward")
    if search.exhausted:
        out.append("the search used its whole budget (max_evaluations)")
    return out
