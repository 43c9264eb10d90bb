"""qsim: queueing solvers, discrete-event simulation and capacity planning for
message-driven systems."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
