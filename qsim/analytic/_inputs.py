"""Input handling shared by the solvers: rates or means, validation, broadcasting."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qsim._validate import positive
from qsim.errors import InvalidArgumentError

F = NDArray[np.float64]


def service_rate_of(func: str, service_rate: ArrayLike | None, service_mean: ArrayLike | None) -> F:
    """mu from exactly one of ``service_rate`` (1/s) or ``service_mean`` (s)."""
    if (service_rate is None) == (service_mean is None):
        raise InvalidArgumentError(
            f"{func} takes exactly one of 'service_rate' (messages per second) or "
            f"'service_mean' (seconds). Got "
            + ("both" if service_rate is not None else "neither")
            + " instead."
        )
    if service_rate is not None:
        return positive(service_rate, name="service_rate", func=func)
    return 1.0 / positive(service_mean, name="service_mean", func=func)  # type: ignore[arg-type]


def finish(x: F) -> F | float | bool:
    """0-d arrays become Python scalars; arrays stay arrays."""
    if np.ndim(x) == 0:
        return np.asarray(x).item()  # type: ignore[no-any-return]
    return x
