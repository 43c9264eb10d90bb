"""Naive mpmath references for the service-time families (25 digits).

Each family is written from its textbook density, parameterised by (mean, scv) exactly as
the family's definition says, and every quantity is a plain quadrature of that density:
nothing here calls qsim.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import mpmath as mp

Pdf = Callable[[mp.mpf], mp.mpf]


def _digits(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``func`` at 25 significant digits without touching the global precision."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with mp.workdps(25):
            return func(*args, **kwargs)

    return wrapper


def pdf(family: str, **p: float) -> tuple[Pdf, list[mp.mpf]]:
    """The density and the breakpoints of its support (for quadrature)."""
    if family == "exponential":
        m = mp.mpf(p["mean"])
        return (lambda x: mp.exp(-x / m) / m), [mp.mpf(0), m, mp.inf]
    if family in ("erlang", "gamma"):
        m = mp.mpf(p["mean"])
        a = mp.mpf(p["k"]) if family == "erlang" else 1 / mp.mpf(p["scv"])
        theta = m / a
        norm = 1 / (mp.gamma(a) * theta**a)
        return (
            lambda x: norm * x ** (a - 1) * mp.exp(-x / theta),
            [mp.mpf(0), m, 4 * m, mp.inf],
        )
    if family == "lognormal":
        m, c = mp.mpf(p["mean"]), mp.mpf(p["scv"])
        s2 = mp.log(1 + c)
        mu = mp.log(m) - s2 / 2
        norm = 1 / mp.sqrt(2 * mp.pi * s2)
        return (
            lambda x: norm * mp.exp(-((mp.log(x) - mu) ** 2) / (2 * s2)) / x,
            [mp.mpf(0), m / 4, m, 4 * m, mp.inf],
        )
    if family == "hyperexponential":
        m, c = mp.mpf(p["mean"]), mp.mpf(p["scv"])
        p1 = (1 + mp.sqrt((c - 1) / (c + 1))) / 2
        p2 = 1 - p1
        r1, r2 = 2 * p1 / m, 2 * p2 / m
        return (
            lambda x: p1 * r1 * mp.exp(-r1 * x) + p2 * r2 * mp.exp(-r2 * x),
            [mp.mpf(0), m, mp.inf],
        )
    if family == "uniform":
        lo, hi = mp.mpf(p["low"]), mp.mpf(p["high"])
        return (lambda x: 1 / (hi - lo) if lo <= x <= hi else mp.mpf(0)), [lo, hi]
    raise ValueError(family)


def _quad(f: Pdf, pts: list[mp.mpf], upto: mp.mpf | None = None) -> mp.mpf:
    if upto is None:
        return mp.quad(f, pts)
    inner = [x for x in pts if x < upto]
    return mp.quad(f, [*inner, upto]) if upto > pts[0] else mp.mpf(0)


@_digits
def moments(family: str, **p: float) -> tuple[mp.mpf, mp.mpf]:
    """(mean, variance) by quadrature of the density."""
    f, pts = pdf(family, **p)
    m1 = _quad(lambda x: x * f(x), pts)
    m2 = _quad(lambda x: x * x * f(x), pts)
    return m1, m2 - m1 * m1


@_digits
def cdf(family: str, x: float, **p: float) -> mp.mpf:
    """P(S <= x) by quadrature of the density."""
    f, pts = pdf(family, **p)
    return _quad(f, pts, mp.mpf(x))


@_digits
def sf(family: str, x: float, **p: float) -> mp.mpf:
    """P(S > x) by quadrature of the density over (x, inf)."""
    f, pts = pdf(family, **p)
    x = mp.mpf(x)
    if x <= pts[0]:
        return mp.mpf(1)
    outer = [t for t in pts if t > x]
    return mp.quad(f, [x, *outer]) if outer else mp.mpf(0)


@_digits
def partial_mean(family: str, x: float, **p: float) -> mp.mpf:
    """E[min(S, x)] = int_0^x u f(u) du + x P(S > x)."""
    f, pts = pdf(family, **p)
    x = mp.mpf(x)
    return _quad(lambda u: u * f(u), pts, x) + x * sf(family, x, **p)
