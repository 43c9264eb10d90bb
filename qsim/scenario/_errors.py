"""The error a bad scenario raises: every issue of a file at once, each with its place.

(Meant to move to :mod:`qsim.errors`; kept here until then.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from qsim.errors import QsimError

__all__ = ["Issue", "ScenarioError"]


@dataclass(frozen=True)
class Issue:
    """One problem in a scenario.

    Attributes
    ----------
    file : str or None
        The scenario file (as given), or None for a scenario built in code.
    line, col : int or None
        1-based position of the offending value (or key) in the file.
    path : str
        Field path such as ``consumers[0].service.scv``; empty for file-level problems
        (YAML syntax).
    value : object
        The offending value as written (None when missing).
    message : str
        What is wrong and what is allowed, e.g. ``must be >= 0, got -1.5``.
    """

    file: str | None
    line: int | None
    col: int | None
    path: str
    value: object
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{where}{self.message}"


class ScenarioError(QsimError, ValueError):
    """A scenario that cannot be used, with every issue found.

    ``str()`` renders::

        qsim: scenarios/order-pipeline.yaml has 2 errors
          line 21, col 17  consumers[0].service.scv: must be >= 0, got -1.5
          line 9,  col 9   producers[0].to: unknown queue 'order', known queues: 'orders', 'audit'
    """

    def __init__(self, issues: Iterable[Issue], *, source: str) -> None:
        self.issues: tuple[Issue, ...] = tuple(issues)
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        """The report: a header line, then one line per issue, positions aligned."""
        n = len(self.issues)
        lines = [f"qsim: {self.source} has {n} error{'' if n == 1 else 's'}"]
        lw = max((len(f"line {i.line},") for i in self.issues if i.line is not None), default=0)
        cw = max((len(f"col {i.col}") for i in self.issues if i.col is not None), default=0)
        for issue in self.issues:
            if issue.line is None:
                lines.append(f"  {issue}")
            else:
                pos = f"{f'line {issue.line},':<{lw}} {f'col {issue.col}':<{cw}}"
                lines.append(f"  {pos}  {issue}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()
