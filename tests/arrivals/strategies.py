"""Hypothesis strategies: valid arrival processes of every kind, with modest rates."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from qsim.arrivals import (
    MMPP,
    ArrivalProcess,
    Deterministic,
    Diurnal,
    PiecewiseRate,
    Poisson,
    Renewal,
    Trace,
)
from qsim.distributions import Erlang, Exponential, HyperExponential, Lognormal, Uniform

rates = st.floats(0.5, 200.0)
times = st.floats(0.05, 20.0)


@st.composite
def interarrivals(draw: st.DrawFn) -> object:
    mean = 1.0 / draw(rates)
    kind = draw(st.sampled_from(["exp", "erlang", "h2", "lognormal", "uniform"]))
    if kind == "exp":
        return Exponential(mean=mean)
    if kind == "erlang":
        return Erlang(mean=mean, k=draw(st.integers(1, 5)))
    if kind == "h2":
        return HyperExponential(mean=mean, scv=draw(st.floats(1.0, 10.0)))
    if kind == "lognormal":
        return Lognormal(mean=mean, scv=draw(st.floats(0.1, 5.0)))
    return Uniform(low=0.0, high=2 * mean)


@st.composite
def mmpps(draw: st.DrawFn) -> MMPP:
    n = draw(st.integers(2, 4))
    return MMPP.from_sojourns(
        rates=draw(st.lists(rates, min_size=n, max_size=n)),
        mean_sojourns=draw(st.lists(times, min_size=n, max_size=n)),
    )


@st.composite
def piecewise(draw: st.DrawFn) -> PiecewiseRate:
    n = draw(st.integers(1, 5))
    steps = np.cumsum([0.0, *draw(st.lists(times, min_size=n - 1, max_size=n - 1))])
    period = draw(st.none() | st.floats(1.0, 10.0).map(lambda x: float(steps[-1]) + x))
    return PiecewiseRate(
        starts=steps, rates=draw(st.lists(rates, min_size=n, max_size=n)), period=period
    )


@st.composite
def traces(draw: st.DrawFn) -> Trace:
    gaps = draw(st.lists(st.floats(0.0, 2.0), min_size=1, max_size=50))
    stamps = np.cumsum([draw(st.floats(0.0, 5.0)), *gaps])
    if stamps[-1] - stamps[0] < 1e-9:  # a trace must span at least 1 ns
        stamps[-1] += 1.0
    return Trace(timestamps=stamps, loop=draw(st.booleans()))


def processes() -> st.SearchStrategy[ArrivalProcess]:
    """Any arrival process with at most a few thousand arrivals over 20 s."""
    return st.one_of(
        rates.map(lambda r: Poisson(rate=r)),
        st.builds(Deterministic, rate=rates),
        st.builds(Renewal, interarrival=interarrivals(), stationary=st.booleans()),
        mmpps(),
        piecewise(),
        st.builds(
            Diurnal,
            mean_rate=rates,
            amplitude=st.floats(0.0, 1.0),
            peak=st.floats(0.0, 9.0),
            period=st.just(10.0),
        ),
        traces(),
    )
