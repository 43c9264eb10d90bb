"""Unbounded continuous families: Exponential, Erlang, Gamma, Lognormal, HyperExponential.

scipy.stats is imported only by ``to_scipy`` (it costs ~50 MB and ~1 s to import).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from qsim._validate import argument_message, as_float, integer
from qsim._validate import scalar_or_array as _out
from qsim.distributions._base import Distribution, F, _pos, _scalar
from qsim.errors import InvalidArgumentError


@dataclass(frozen=True, kw_only=True)
class Exponential(Distribution):
    """Exponential time with the given ``mean`` (seconds): scv = 1."""

    mean: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", _pos(self.mean, "mean", "Exponential"))

    var = property(lambda self: self.mean**2, doc="Variance (s^2).")
    scv = property(lambda self: 1.0, doc="Squared coefficient of variation.")

    def to_scipy(self) -> Any:
        from scipy import stats

        return stats.expon(scale=self.mean)

    def _sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> F:
        return rng.exponential(self.mean, size=shape)

    def _sample_into(self, out: F, rng: np.random.Generator) -> None:
        # Generator.exponential(scale) is scale * standard_exponential(), value by value
        rng.standard_exponential(out=out)
        out *= self.mean

    def _cdf(self, x: F) -> F:
        return -np.expm1(-np.maximum(x, 0.0) / self.mean)

    def _sf(self, x: F) -> F:
        return np.exp(-np.maximum(x, 0.0) / self.mean)

    def _ppf(self, q: F) -> F:
        with np.errstate(divide="ignore"):
            return -self.mean * np.log1p(-q)

    def _partial_mean(self, x: F) -> F:
        return -self.mean * np.expm1(-x / self.mean)

    def _excess_mean(self, x: F) -> F:
        return self.mean * np.exp(-x / self.mean)


class _GammaFamily(Distribution):
    """Gamma law with shape a and scale theta = mean / a (Erlang when a is whole)."""

    @property
    def _a(self) -> float:
        return 1.0 / self.scv

    @property
    def _theta(self) -> float:
        return self.mean * self.scv

    @property
    def var(self) -> float:  # type: ignore[override]
        """Variance (s^2)."""
        return self.scv * self.mean**2

    def to_scipy(self) -> Any:
        from scipy import stats

        return stats.gamma(self._a, scale=self._theta)

    def _sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> F:
        return rng.gamma(self._a, self._theta, size=shape)

    def _cdf(self, x: F) -> F:
        return special.gammainc(self._a, np.maximum(x, 0.0) / self._theta)

    def _sf(self, x: F) -> F:
        return special.gammaincc(self._a, np.maximum(x, 0.0) / self._theta)

    def _ppf(self, q: F) -> F:
        a = self._a
        # NOTE: the upper inverse keeps full precision for q near 1 (1 - q is exact there).
        low = special.gammaincinv(a, np.minimum(q, 0.5))
        high = special.gammainccinv(a, np.minimum(1.0 - q, 0.5))
        return self._theta * np.where(q < 0.5, low, high)

    def _partial_mean(self, x: F) -> F:
        a, y = self._a, x / self._theta
        return self.mean * special.gammainc(a + 1.0, y) + x * special.gammaincc(a, y)

    def _excess_mean(self, x: F) -> F:
        # E[(S-x)^+] = theta [(a - y) Q(a, y) + y^a e^-y / Gamma(a)]: no m Q(a+1) - x Q(a)
        a, y = self._a, x / self._theta
        dens = np.exp(special.xlogy(a, y) - y - special.gammaln(a))
        return self._theta * np.maximum((a - y) * special.gammaincc(a, y) + dens, 0.0)


@dataclass(frozen=True, kw_only=True)
class Erlang(_GammaFamily):
    """Sum of ``k`` exponential phases with total ``mean`` (seconds): scv = 1 / k."""

    mean: float
    k: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", _pos(self.mean, "mean", "Erlang"))
        k = integer(self.k, name="k", func="Erlang")
        object.__setattr__(self, "k", int(_scalar(k, self.k, "k", "Erlang", "an integer >= 1")))

    @property
    def scv(self) -> float:  # type: ignore[override]
        """Squared coefficient of variation 1 / k."""
        return 1.0 / self.k

    @property
    def _a(self) -> float:
        return float(self.k)

    @property
    def _theta(self) -> float:
        return self.mean / self.k


@dataclass(frozen=True, kw_only=True)
class Gamma(_GammaFamily):
    """Gamma time with the given ``mean`` (seconds) and ``scv`` (shape 1 / scv)."""

    mean: float
    scv: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", _pos(self.mean, "mean", "Gamma"))
        object.__setattr__(self, "scv", _pos(self.scv, "scv", "Gamma"))


@dataclass(frozen=True, kw_only=True)
class Lognormal(Distribution):
    """Lognormal time with the given ``mean`` (seconds) and ``scv``.

    log S ~ Normal(mu, sigma^2) with sigma^2 = log(1 + scv), mu = log(mean) - sigma^2 / 2.
    """

    mean: float
    scv: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", _pos(self.mean, "mean", "Lognormal"))
        object.__setattr__(self, "scv", _pos(self.scv, "scv", "Lognormal"))

    var = property(lambda self: self.scv * self.mean**2, doc="Variance (s^2).")
    _sigma = property(lambda self: float(np.sqrt(np.log1p(self.scv))))
    _mu = property(lambda self: float(np.log(self.mean) - 0.5 * np.log1p(self.scv)))

    def to_scipy(self) -> Any:
        from scipy import stats

        return stats.lognorm(self._sigma, scale=np.exp(self._mu))

    def _sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> F:
        out = np.empty(shape)
        self._sample_into(out, rng)
        return out

    def _sample_into(self, out: F, rng: np.random.Generator) -> None:
        # The normals Generator.lognormal would draw, exponentiated by numpy's vectorised
        # exp (within an ulp of its per-value libm call, and about 30 % cheaper).
        rng.standard_normal(out=out)
        out *= self._sigma
        out += self._mu
        np.exp(out, out=out)

    def _z(self, x: F) -> F:
        with np.errstate(divide="ignore"):
            return (np.log(np.maximum(x, 0.0)) - self._mu) / self._sigma

    def _cdf(self, x: F) -> F:
        return special.ndtr(self._z(x))

    def _sf(self, x: F) -> F:
        return special.ndtr(-self._z(x))

    def _ppf(self, q: F) -> F:
        z = np.where(q < 0.5, special.ndtri(np.minimum(q, 0.5)), -special.ndtri(1.0 - q))
        return np.exp(self._mu + self._sigma * z)

    def _partial_mean(self, x: F) -> F:
        z = self._z(x)
        return self.mean * special.ndtr(z - self._sigma) + x * special.ndtr(-z)

    def _excess_mean(self, x: F) -> F:
        z = self._z(x)
        return np.maximum(self.mean * special.ndtr(self._sigma - z) - x * special.ndtr(-z), 0.0)


@functools.cache
def _h2() -> Any:
    """The scipy.stats generator of the two-phase hyperexponential (built on first use)."""
    from scipy import stats

    class _H2Gen(stats.rv_continuous):
        """Two-phase hyperexponential: exp(rate r1) w.p. p, exp(rate r2) w.p. 1 - p."""

        def _argcheck(self, p: F, r1: F, r2: F) -> F:
            return (p > 0) & (p < 1) & (r1 > 0) & (r2 > 0)

        def _pdf(self, x: F, p: F, r1: F, r2: F) -> F:
            return p * r1 * np.exp(-r1 * x) + (1 - p) * r2 * np.exp(-r2 * x)

        def _sf(self, x: F, p: F, r1: F, r2: F) -> F:
            return p * np.exp(-r1 * x) + (1 - p) * np.exp(-r2 * x)

        def _cdf(self, x: F, p: F, r1: F, r2: F) -> F:
            return -(p * np.expm1(-r1 * x) + (1 - p) * np.expm1(-r2 * x))

        def _stats(self, p: F, r1: F, r2: F) -> tuple[F, F, None, None]:
            m = p / r1 + (1 - p) / r2
            return m, 2 * p / r1**2 + 2 * (1 - p) / r2**2 - m**2, None, None

    _H2Gen.__qualname__ = "_H2Gen"  # pickles of it resolve through __getattr__ below
    return _H2Gen(a=0.0, name="hyperexponential")


def __getattr__(name: str) -> Any:
    if name == "_H2Gen":
        return type(_h2())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True, kw_only=True)
class HyperExponential(Distribution):
    """Two-phase hyperexponential with the given ``mean`` (seconds) and ``scv`` >= 1.

    Balanced means (Whitt 1982): phase i has probability p_i and rate r_i = 2 p_i / mean,
    with p_1 = (1 + sqrt((scv - 1) / (scv + 1))) / 2, so p_1 / r_1 = p_2 / r_2 = mean / 2.
    Ref: W. Whitt, "Approximating a point process by a renewal process, I: two basic
    methods", Operations Research 30 (1982) 125-147.
    """

    mean: float
    scv: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", _pos(self.mean, "mean", "HyperExponential"))
        scv = as_float(self.scv, name="scv", func="HyperExponential")
        allowed = "a number >= 1 and finite"
        if scv.ndim != 0 or not (np.isfinite(scv) and scv >= 1):
            raise InvalidArgumentError(
                argument_message("scv", "HyperExponential", allowed, _out(scv))
            )
        object.__setattr__(self, "scv", float(scv))

    var = property(lambda self: self.scv * self.mean**2, doc="Variance (s^2).")

    @property
    def _phases(self) -> tuple[float, float, float, float]:
        p1 = 0.5 * (1.0 + np.sqrt((self.scv - 1.0) / (self.scv + 1.0)))
        p2 = 1.0 - p1
        return p1, p2, 2.0 * p1 / self.mean, 2.0 * p2 / self.mean

    def to_scipy(self) -> Any:
        p1, _, r1, r2 = self._phases
        return _h2()(p1, r1, r2)

    def _sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> F:
        p1, _, r1, r2 = self._phases
        first = rng.random(shape) < p1
        return rng.standard_exponential(shape) / np.where(first, r1, r2)

    def _sf(self, x: F) -> F:
        p1, p2, r1, r2 = self._phases
        x = np.maximum(x, 0.0)
        return p1 * np.exp(-r1 * x) + p2 * np.exp(-r2 * x)

    def _cdf(self, x: F) -> F:
        p1, p2, r1, r2 = self._phases
        x = np.maximum(x, 0.0)
        return -(p1 * np.expm1(-r1 * x) + p2 * np.expm1(-r2 * x))

    def _ppf(self, q: F) -> F:
        # log sf is convex and decreasing, so Newton from the lower bound -log(1-q)/r_max
        # increases monotonically to the root (quadratically near it).
        p1, p2, r1, r2 = self._phases
        with np.errstate(divide="ignore", invalid="ignore"):
            target = np.log1p(-q)
            t = -target / max(r1, r2)
            for _ in range(100):
                e1, e2 = p1 * np.exp(-r1 * t), p2 * np.exp(-r2 * t)
                s = e1 + e2
                c = -(p1 * np.expm1(-r1 * t) + p2 * np.expm1(-r2 * t))
                log_s = np.where(c < 0.5, np.log1p(-c), np.log(s))  # exact near t = 0
                step = (log_s - target) * s / (r1 * e1 + r2 * e2)
                t = np.where(np.isfinite(step) & (step > 0), t + step, t)
                if not np.any(np.isfinite(step) & (step > 1e-15 * t)):
                    break
        return np.where(q >= 1.0, np.inf, np.where(q <= 0.0, 0.0, t))

    def _partial_mean(self, x: F) -> F:
        _, _, r1, r2 = self._phases
        return -0.5 * self.mean * (np.expm1(-r1 * x) + np.expm1(-r2 * x))

    def _excess_mean(self, x: F) -> F:
        _, _, r1, r2 = self._phases
        return 0.5 * self.mean * (np.exp(-r1 * x) + np.exp(-r2 * x))
