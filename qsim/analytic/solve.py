"""``solve(model, **params)``: one entry point over the single-queue solvers, by name.

The registry lists each model with a one-line summary (``qsim solve --help`` prints
it) and the keyword arguments it accepts, so a wrong argument is reported with the
ones that are allowed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qsim.errors import InvalidArgumentError

__all__ = ["MODELS", "ModelSpec", "solve"]


@dataclass(frozen=True)
class ModelSpec:
    """A solver reachable by name."""

    name: str
    summary: str
    loader: Callable[[], Callable[..., Any]]

    @property
    def function(self) -> Callable[..., Any]:
        return self.loader()

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(inspect.signature(self.function).parameters)


def _from(module: str, name: str) -> Callable[[], Callable[..., Any]]:
    def load() -> Callable[..., Any]:
        mod = __import__(f"qsim.analytic.{module}", fromlist=[name])
        return getattr(mod, name)  # type: ignore[no-any-return]

    return load


_REGISTRY = (
    # name, module, function, one-line summary
    ("mm1", "mmc", "mm1", "M/M/1: one consumer, Poisson arrivals, exponential service"),
    ("mmc", "mmc", "mmc", "M/M/c: c consumers on one queue (Erlang C)"),
    ("mmck", "mmck", "mmck", "M/M/c/K: c consumers, at most K messages held (losses)"),
    ("mm1k", "mmck", "mm1k", "M/M/1/K: one consumer, at most K messages held"),
    ("mmcc", "mmck", "mmcc", "M/M/c/c: Erlang loss system, no waiting room (Erlang B)"),
    ("mminf", "mmck", "mminf", "M/M/inf: a consumer for every message (no waiting)"),
    ("mg1", "mg1", "mg1", "M/G/1: general service by mean and SCV (Pollaczek-Khinchine)"),
    ("md1", "mg1", "md1", "M/D/1: one consumer, constant service time"),
    ("mgc", "ggc", "mgc", "M/G/c: c consumers, general service (approx: Cosmetatos/Allen-Cunneen)"),
    ("gg1", "ggc", "gg1_kingman", "G/G/1: general arrivals and service (approx: Kingman)"),
    (
        "ggc",
        "ggc",
        "ggc_allen_cunneen",
        "G/G/c: general arrivals and service (approx: Allen-Cunneen)",
    ),
    ("erlang-a", "erlang_a", "erlang_a", "M/M/c+M: callers abandon after exponential patience"),
)

MODELS: dict[str, ModelSpec] = {
    name: ModelSpec(name, summary, _from(module, func)) for name, module, func, summary in _REGISTRY
}


def solve(model: str, **params: Any) -> Any:
    """Solve the named model with keyword parameters.

    Parameters
    ----------
    model : str
        A key of :data:`MODELS` (``"mm1"``, ``"mmc"``, ...).
    **params
        The model function's keyword arguments (``arrival_rate``, ``service_rate`` or
        ``service_mean``, ``servers``, ...).

    Examples
    --------
    >>> round(solve("mm1", arrival_rate=0.5, service_rate=1.0).W, 12)
    2.0
    """
    spec = MODELS.get(model)
    if spec is None:
        known = ", ".join(repr(k) for k in MODELS)
        raise InvalidArgumentError(
            f"The 'model' argument of solve must be one of {known}. Got {model!r} instead."
        )
    allowed = spec.parameters
    for key in params:
        if key not in allowed:
            raise InvalidArgumentError(
                f"The {key!r} argument is not accepted by model {model!r}; it takes "
                f"{', '.join(repr(a) for a in allowed)}."
            )
    return spec.function(**params)
