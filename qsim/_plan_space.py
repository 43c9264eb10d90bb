"""The search space of a plan: every combination of the variables' choices, its cost, and
the scenario at any point of it.

Internal to :mod:`qsim.planning`. The grid is held as numpy arrays (one row per configuration)
so that costs, analytic bounds and pruning by monotonicity are computed for every point at
once, never in a Python loop over points.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qsim.errors import QsimError
from qsim.scenario.schema_plan import PlanVariable, find_object

__all__ = [
    "MAX_GRID",
    "MONOTONE",
    "PlanError",
    "Space",
    "build_space",
    "pin_inert",
    "scenario_at",
]

#: Most configurations a plan's grid may have.
MAX_GRID = 1_000_000

#: Fields where more never hurts any target (the monotonicity the search prunes with).
#: ``prefetch`` (dispatch and head-of-line effects) and queue ``capacity`` (loss against
#: waiting) trade one target against another, so they are searched value by value.
MONOTONE = frozenset({"instances", "concurrency", "partitions", "nodes", "replicas"})


class PlanError(QsimError, ValueError):
    """A plan that cannot be searched: a variable that cannot move a failing target, a
    grid too large, an SLO the engine does not measure."""


@dataclass(frozen=True, eq=False)
class Space:
    """Every configuration of a plan.

    Attributes
    ----------
    variables : tuple of PlanVariable
    names : tuple of str
        The variables' paths (``consumers.workers.instances``), the grid's columns.
    choices : tuple of ndarray
        Each variable's values, ascending.
    index : ndarray of int, shape (n, d)
        Each configuration's position within every variable's choices (row-major grid).
    values : ndarray of int64, shape (n, d)
        One row per configuration.
    cost : ndarray, shape (n,)
        Cost per hour of each configuration: sum of unit cost times value.
    monotone : ndarray of bool, shape (d,)
        Variables where more is never worse (see :data:`MONOTONE`).
    order : ndarray of int
        Configurations cheapest first; among equal costs the leanest first (smallest sum
        of each variable's position within its choices).
    """

    variables: tuple[PlanVariable, ...]
    names: tuple[str, ...]
    choices: tuple[NDArray[np.int64], ...]
    index: NDArray[np.intp]
    values: NDArray[np.int64]
    cost: NDArray[np.float64]
    monotone: NDArray[np.bool_]
    order: NDArray[np.intp]

    @property
    def size(self) -> int:
        return int(self.values.shape[0])

    def config(self, i: int) -> dict[str, int]:
        """The variables' values at configuration ``i``."""
        return {n: int(v) for n, v in zip(self.names, self.values[i], strict=True)}

    def locate(self, position: NDArray[np.intp]) -> int:
        """The configuration at ``position`` (one index into each variable's choices)."""
        dims = tuple(len(c) for c in self.choices)
        return int(np.ravel_multi_index(tuple(int(p) for p in position), dims))

    def find(self, config: dict[str, int]) -> int:
        """Index of a configuration given by its values."""
        row = np.array([config[n] for n in self.names])
        hit = np.flatnonzero((self.values == row).all(axis=1))
        return int(hit[0])

    def below(self, i: int) -> NDArray[np.bool_]:
        """Configurations no better than ``i``: <= on monotone variables, equal elsewhere."""
        v, x, mono = self.values, self.values[i], self.monotone
        return ((v[:, mono] <= x[mono]).all(axis=1)) & ((v[:, ~mono] == x[~mono]).all(axis=1))

    def above(self, i: int) -> NDArray[np.bool_]:
        """Configurations no worse than ``i``: >= on monotone variables, equal elsewhere."""
        v, x, mono = self.values, self.values[i], self.monotone
        return ((v[:, mono] >= x[mono]).all(axis=1)) & ((v[:, ~mono] == x[~mono]).all(axis=1))

    def corners(self, limit: int | None = 8) -> list[int]:
        """The most generous configurations: every monotone variable at its largest, once
        per combination of the other variables' values (at most ``limit``, cheapest first)."""
        mono = self.monotone
        top = np.array([c[-1] for c in self.choices])
        hit = (self.values[:, mono] == top[mono]).all(axis=1)
        ranked = [int(i) for i in self.order if hit[i]]
        return ranked[:limit]


def build_space(variables: Sequence[PlanVariable]) -> Space:
    """The grid of a plan's variables, with costs and the search order."""
    choices = tuple(np.asarray(v.choices, dtype=np.int64) for v in variables)
    size = int(np.prod([len(c) for c in choices], dtype=np.float64))
    if size > MAX_GRID:
        dims = " x ".join(f"{len(c)} ({v.set})" for c, v in zip(choices, variables, strict=True))
        raise PlanError(
            f"the plan's grid has {size:,} configurations ({dims}), more than {MAX_GRID:,}: "
            "narrow a range, give it a step (2..64:2) or list values:"
        )
    grids = np.meshgrid(*[np.arange(len(c)) for c in choices], indexing="ij")
    index = np.stack([g.ravel() for g in grids], axis=1)
    values = np.stack([c[index[:, j]] for j, c in enumerate(choices)], axis=1)
    unit = np.array([v.cost for v in variables], dtype=np.float64)
    cost = values.astype(np.float64) @ unit
    spans = np.array([max(len(c) - 1, 1) for c in choices], dtype=np.float64)
    lean = (index / spans).sum(axis=1)
    # NOTE: costs are rounded before ordering so that sums differing in the last bits
    # (0.1 + 0.2 vs 0.3) count as ties and the leaner configuration comes first.
    order = np.lexsort((lean, np.round(cost, 9)))
    return Space(
        variables=tuple(variables),
        names=tuple(v.set for v in variables),
        choices=choices,
        index=index,
        values=values,
        cost=cost,
        monotone=np.array([v.field in MONOTONE for v in variables], dtype=bool),
        order=order,
    )


def scenario_at(
    base: dict[str, Any],
    variables: Sequence[PlanVariable],
    config: dict[str, int],
    *,
    load: float,
    replications: int,
) -> Any:
    """The scenario at one configuration and load (its plan block removed).

    ``base`` is the scenario dumped with ``exclude_unset=True`` (so that fields only
    allowed in some settings, such as ``prefetch`` with manual acks, stay unset).
    """
    from qsim.scenario.schema import Scenario

    data = copy.deepcopy(base)
    data.pop("plan", None)
    for var in variables:
        found = find_object(data, var.kind, var.target)
        assert found is not None  # checked when the scenario was validated
        found[1][var.field] = config[var.set]
    data["load"] = load
    data["replications"] = replications
    return Scenario.model_validate(data)


def pin_inert(scenario: Any, variables: Any) -> tuple[list[Any], list[str]]:
    """Broker nodes and replicas only matter when nodes fail: without failures or outages
    on their broker they change nothing the simulation measures, so they stay at their
    cheapest value instead of multiplying the search."""
    out, notes = [], []
    for v in variables:
        broker = None
        if v.field == "nodes":
            broker = next(b for b in scenario.brokers if b.name == v.target)
        elif v.field == "replicas":
            broker = next(
                b
                for b in scenario.brokers
                if any(d.name == v.target for d in (*b.queues, *b.topics))
            )
        if broker is not None and broker.failures is None and not broker.outages:
            low = v.choices[0]
            v = v.model_copy(update={"range": (low, low, 1), "values": None})
            notes.append(
                f"{v.set} held at its cheapest value {low}: broker {broker.name!r} has no "
                "failures or outages, so it changes nothing the simulation measures"
            )
        out.append(v)
    return out, notes
