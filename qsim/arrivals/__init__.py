"""Arrival processes: when messages are produced.

Every process is a frozen, keyword-only, validated value object with ``mean_rate``
(long-run messages per second), ``scv`` (arrival variability c_a^2), ``scale(factor)``
(the same process carrying ``factor`` times the load), ``times(rng, until, start=0.0)``
(sorted arrival times in seconds) and ``blocks(rng, until, block=65536)`` (the same times
as bounded-memory consecutive arrays). Randomness comes only from the
``numpy.random.Generator`` passed in; generation is vectorised.

- :class:`Poisson`, :class:`Deterministic`, :class:`Renewal`: stationary renewal arrivals.
- :class:`MMPP`: bursty arrivals whose rate follows a continuous-time Markov chain.
- :class:`PiecewiseRate`, :class:`Diurnal`: time-varying (non-homogeneous) Poisson.
- :class:`Trace`: replay of recorded timestamps, from an array or a CSV file.
"""

from __future__ import annotations

from qsim.arrivals._base import ArrivalProcess
from qsim.arrivals.mmpp import MMPP
from qsim.arrivals.renewal import Deterministic, Poisson, Renewal
from qsim.arrivals.timevarying import Diurnal, PiecewiseRate
from qsim.arrivals.trace import Trace

__all__ = [
    "MMPP",
    "ArrivalProcess",
    "Deterministic",
    "Diurnal",
    "PiecewiseRate",
    "Poisson",
    "Renewal",
    "Trace",
]
