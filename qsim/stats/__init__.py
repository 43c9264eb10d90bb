"""Output analysis: confidence intervals, quantiles and warm-up deletion."""

from __future__ import annotations

from qsim.stats.intervals import Estimate, batch_means, replication_estimate
from qsim.stats.quantiles import QuantileSketch, sample_quantiles
from qsim.stats.warmup import mser5

__all__ = [
    "Estimate",
    "QuantileSketch",
    "batch_means",
    "mser5",
    "replication_estimate",
    "sample_quantiles",
]
