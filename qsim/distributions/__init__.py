"""Service-time and inter-arrival distributions: frozen, keyword-only, validated.

The analytic solvers read moments (``mean``, ``var``, ``scv``) and the stationary-excess
transforms (``partial_mean``, ``excess_mean``) from these objects; the simulator samples
from the very same objects with ``sample(shape, rng)``, vectorised on the generator's
native methods. Times are in seconds. Parameters are scalars, validated with the
template of :mod:`qsim._validate`.

Families (mean m, squared coefficient of variation scv = var / m^2):
Exponential (scv 1), Deterministic (0), Erlang (1/k), Gamma (> 0), Lognormal (> 0),
HyperExponential (>= 1, two phases with balanced means), Uniform, Empirical.
"""

from __future__ import annotations

import numpy as np

from qsim._validate import argument_message, as_float
from qsim._validate import scalar_or_array as _out
from qsim.distributions._base import Distribution, _pos
from qsim.distributions._bounded import Deterministic, Empirical, Uniform
from qsim.distributions._continuous import (
    Erlang,
    Exponential,
    Gamma,
    HyperExponential,
    Lognormal,
)
from qsim.errors import InvalidArgumentError

__all__ = [
    "Deterministic",
    "Distribution",
    "Empirical",
    "Erlang",
    "Exponential",
    "Gamma",
    "HyperExponential",
    "Lognormal",
    "Uniform",
    "from_mean_scv",
]


_SCV_RANGES = {
    "exponential": "exactly 1",
    "deterministic": "exactly 0",
    "erlang": "1/k for an integer k >= 1 (0 < scv <= 1)",
    "gamma": "a number > 0 and finite",
    "lognormal": "a number > 0 and finite",
    "hyperexponential": "a number >= 1 and finite",
}


def from_mean_scv(family: str, mean: float, scv: float) -> Distribution:
    """The distribution of ``family`` with the given mean (seconds) and scv.

    Parameters
    ----------
    family : {"exponential", "deterministic", "erlang", "gamma", "lognormal", "hyperexponential"}
        Exponential needs scv = 1, deterministic scv = 0, erlang scv = 1/k (k = round(1/scv),
        within a relative 1e-6), hyperexponential scv >= 1 (balanced means).
    mean : float
        Mean time in seconds (> 0).
    scv : float
        Squared coefficient of variation (variance / mean^2).

    Raises
    ------
    InvalidArgumentError
        For an unknown family, or an scv outside the family's range (the message names
        the family and the range).

    Examples
    --------
    >>> from_mean_scv("erlang", 0.2, 0.25)
    Erlang(mean=0.2, k=4)
    """
    if family not in _SCV_RANGES:
        allowed = "one of " + ", ".join(repr(f) for f in _SCV_RANGES)
        raise InvalidArgumentError(argument_message("family", "from_mean_scv", allowed, family))
    func = f"from_mean_scv(family={family!r})"
    m = _pos(mean, "mean", func)
    s = as_float(scv, name="scv", func=func)
    c = float(s) if s.ndim == 0 else float("nan")
    ok = {
        "exponential": abs(c - 1.0) <= 1e-9,
        "deterministic": c == 0.0,
        "erlang": 0 < c <= 1 + 1e-6 and abs(1 / c - round(1 / c)) <= 1e-6 / c,
        "gamma": 0 < c < np.inf,
        "lognormal": 0 < c < np.inf,
        "hyperexponential": 1 <= c < np.inf,
    }[family]
    if not ok:
        raise InvalidArgumentError(argument_message("scv", func, _SCV_RANGES[family], _out(s)))
    if family == "exponential":
        return Exponential(mean=m)
    if family == "deterministic":
        return Deterministic(value=m)
    if family == "erlang":
        return Erlang(mean=m, k=round(1 / c))
    cls = {"gamma": Gamma, "lognormal": Lognormal, "hyperexponential": HyperExponential}[family]
    return cls(mean=m, scv=c)  # type: ignore[no-any-return]
