"""Output analysis: confidence intervals, quantiles, warm-up deletion and backlog trends."""

from __future__ import annotations

from qsim.stats.intervals import Estimate, batch_means, replication_estimate
from qsim.stats.quantiles import QuantileSketch, sample_quantiles
from qsim.stats.trend import backlog_growth
from qsim.stats.warmup import mser5

__all__ = [
    "Estimate",
    "QuantileSketch",
    "backlog_growth",
    "batch_means",
    "mser5",
    "replication_estimate",
    "sample_quantiles",
]
