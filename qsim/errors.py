"""Error types of qsim.

Every error names where it happened, the offending value and what is allowed,
with one message template (see :func:`qsim._validate.argument_message`).
"""

from __future__ import annotations

__all__ = ["EngineNotApplicable", "InvalidArgumentError", "QsimError"]


class QsimError(Exception):
    """Base class of every error qsim raises on purpose."""


class InvalidArgumentError(QsimError, ValueError):
    """A function argument is outside its domain.

    The message follows the template
    ``"The 'servers' argument of mmc must be an integer >= 1. Got 0 instead."``
    """


class EngineNotApplicable(QsimError, ValueError):
    """The requested engine cannot run the scenario; the message names the feature."""
