"""Replay of recorded arrival timestamps, from an array or a CSV file."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qsim._validate import nonnegative
from qsim.arrivals._base import CHUNK, ArrayFields, ArrivalProcess, F, fail, rate_arg, readonly
from qsim.errors import InvalidArgumentError

__all__ = ["Trace"]

_UNITS = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}


MIN_SPAN = 1e-9  # seconds: the shortest trace span (or period) accepted


@dataclass(frozen=True, kw_only=True, eq=False)
class Trace(ArrayFields, ArrivalProcess):
    """Arrivals replayed from recorded ``timestamps`` (seconds).

    Parameters
    ----------
    timestamps : array_like, shape (n,)
        Arrival times, seconds, finite, >= 0, non-decreasing.
    loop : bool
        Replay again, shifted by the span, each time the trace ends (default False:
        no arrivals after the last timestamp).
    period : float, optional
        The span, seconds (> last - first timestamp), e.g. 86400 for a day's log.
        Default: (last - first) n / (n - 1), so that the gap between passes is the
        trace's mean gap; this needs two timestamps at least 1 ns apart.

    Notes
    -----
    Deterministic: the generator is not used. ``mean_rate`` = n / span (the rate while
    the trace plays); ``scv`` is the scv of the gaps (including the gap from the last
    timestamp to the next pass), the c_a^2 of Whitt's stationary-interval method.
    ``scale(f)`` divides every time (and the span) by f: f times the load, with
    compressed bursts.

    Examples
    --------
    >>> import numpy as np
    >>> t = Trace(timestamps=[0.0, 0.5, 2.0], loop=True)
    >>> t.times(np.random.default_rng(0), until=7.0)
    array([0. , 0.5, 2. , 3. , 3.5, 5. , 6. , 6.5])
    """

    timestamps: F = field(repr=False)
    loop: bool = False
    period: float | None = None

    def __post_init__(self) -> None:
        func = "Trace"
        ts = nonnegative(self.timestamps, name="timestamps", func=func)
        if ts.ndim != 1 or ts.size == 0:
            fail("timestamps", func, "a non-empty 1-d array of times", f"shape {ts.shape}")
        down = np.flatnonzero(np.diff(ts) < 0)
        if down.size:
            fail(
                "timestamps",
                func,
                "sorted in non-decreasing order",
                float(ts[down[0] + 1]),
                int(down[0] + 1),
            )
        if not isinstance(self.loop, bool | np.bool_):
            fail("loop", func, "True or False", self.loop)
        width = float(ts[-1] - ts[0])
        if self.period is not None:
            period = rate_arg(self.period, "period", func, strict=True)
            if not (period > width and period >= MIN_SPAN):
                fail(
                    "period", func, f"None or a number > last - first timestamp ({width!r})", period
                )
            object.__setattr__(self, "period", period)
        elif not width >= MIN_SPAN:
            # NOTE: below a nanosecond (the finest unit a trace file carries) the rate
            # n / span overflows and the gap statistics underflow.
            fail(
                "timestamps",
                func,
                "at least two times 1 ns or more apart when no period is given",
                f"{ts.size} timestamp(s) spanning {width:g} s",
            )
        object.__setattr__(self, "timestamps", readonly(ts))
        object.__setattr__(self, "loop", bool(self.loop))

    def __repr__(self) -> str:
        return (
            f"Trace(n={self.timestamps.size}, span={self.span!r}, loop={self.loop!r}, "
            f"period={self.period!r})"
        )

    @property
    def span(self) -> float:
        """Seconds from the start of one pass to the start of the next."""
        if self.period is not None:
            return self.period
        n = self.timestamps.size
        return float(self.timestamps[-1] - self.timestamps[0]) * n / (n - 1)

    @property
    def mean_rate(self) -> float:  # type: ignore[override]
        """Messages per second while the trace plays, n / span."""
        return self.timestamps.size / self.span

    @property
    def scv(self) -> float:  # type: ignore[override]
        """Squared coefficient of variation of the gaps."""
        ts = self.timestamps
        gaps = np.diff(np.append(ts, ts[0] + self.span))
        return float(gaps.var() / gaps.mean() ** 2)

    def scale(self, factor: float) -> Trace:
        """The trace played ``factor`` times faster."""
        f = self._factor(factor)
        period = None if self.period is None else self.period / f
        return Trace(timestamps=self.timestamps / f, loop=self.loop, period=period)

    def _stream(self, rng: np.random.Generator, until: float) -> Iterator[F]:
        ts, span = self.timestamps, self.span
        if not self.loop:
            for i in range(0, ts.size, CHUNK):
                yield ts[i : i + CHUNK]
            return
        k = 0
        while ts[0] + k * span < until:
            passes = max(1, CHUNK // ts.size)
            if until < np.inf:
                passes = int(min(passes, (until - k * span) // span + 1))
            offsets = np.arange(k, k + passes, dtype=np.float64)[:, None] * span
            yield (offsets + ts).ravel()
            k += passes

    @classmethod
    def from_csv(
        cls,
        path: str | os.PathLike[str],
        column: int | str = 0,
        time_unit: str = "s",
        *,
        loop: bool = False,
        period: float | None = None,
        zero_start: bool = True,
    ) -> Trace:
        """Read arrival timestamps from one column of a CSV file.

        Parameters
        ----------
        path : str or PathLike
            The CSV file. Blank lines and lines starting with ``#`` are skipped.
        column : int or str
            0-based column index (a non-numeric first row is then taken as a header),
            or a header name (the first row must be the header).
        time_unit : {"s", "ms", "us", "ns"}
            Unit of the timestamps in the file.
        loop, period :
            As for :class:`Trace` (``period`` in seconds).
        zero_start : bool
            Subtract the first timestamp so the replay starts at time 0 (default; epoch
            timestamps just work). False keeps the file's times, which must be >= 0.

        Raises
        ------
        InvalidArgumentError
            A missing file, an unknown column or unit, or a bad value; file errors read
            ``"<path>:<line>: ..."``.
        """
        func = "Trace.from_csv"
        if not (
            isinstance(column, str)
            or (
                isinstance(column, int | np.integer)
                and not isinstance(column, bool)
                and column >= 0
            )
        ):
            fail("column", func, "a header name or a 0-based column index", column)
        if time_unit not in _UNITS:
            fail("time_unit", func, "one of " + ", ".join(repr(u) for u in _UNITS), time_unit)
        file = Path(path)
        if not file.is_file():
            state = "is not a file" if file.exists() else "does not exist"
            fail("path", func, f"an existing CSV file ({str(file)!r} {state})", str(file))
        raw = _fast_column(file, column)
        if raw is None or not _plausible(raw, zero_start):
            raw = _checked_column(file, column, zero_start)  # the slow path names the line
        if zero_start:
            raw = raw - raw[0]
        try:
            return cls(timestamps=raw / _UNITS[time_unit], loop=loop, period=period)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"{file}: {exc}") from None


def _fast_column(file: Path, column: int | str) -> np.ndarray | None:
    """The column parsed by numpy's C reader (int64 if every value is whole), or None.

    None whenever anything is unusual: the slow path then reads the file row by row and
    reports the offending line.
    """
    try:
        with file.open(newline="") as handle:
            reader = csv.reader(handle)
            for row in reader:
                if any(c.strip() for c in row) and not row[0].lstrip().startswith("#"):
                    break
            else:
                return None
            if isinstance(column, str):
                skip, index = reader.line_num, [c.strip() for c in row].index(column)
            else:
                index = int(column)
                skip = reader.line_num - (1 if _is_number(row[index].strip()) else 0)
        for dtype in (np.int64, np.float64):
            try:
                values = np.loadtxt(
                    file,
                    dtype=dtype,
                    delimiter=",",
                    comments="#",
                    usecols=index,
                    skiprows=skip,
                    ndmin=1,
                    quotechar='"',
                )
            except (ValueError, OverflowError):
                continue
            return values if values.size else None
    except (ValueError, IndexError, OSError, UnicodeDecodeError):
        return None
    return None


def _plausible(raw: np.ndarray, zero_start: bool) -> bool:
    """Finite, non-decreasing and (unless shifted) >= 0."""
    return bool(
        np.all(np.isfinite(raw)) and np.all(np.diff(raw) >= 0) and (zero_start or raw[0] >= 0)
    )


def _checked_column(file: Path, column: int | str, zero_start: bool) -> np.ndarray:
    """Row-by-row reading that raises naming the file and line of the first problem."""
    cells, lines = _read_column(file, column)
    raw = _parse(file, cells, lines)
    down = np.flatnonzero(np.diff(raw) < 0)
    if down.size:
        j = down[0] + 1
        raise InvalidArgumentError(
            f"{file}:{lines[j]}: timestamps must be in non-decreasing "
            f"order, got {cells[j]} after {cells[j - 1]}"
        )
    if not zero_start and raw[0] < 0:
        raise InvalidArgumentError(
            f"{file}:{lines[0]}: timestamps must be >= 0 (or use zero_start=True), got {cells[0]}"
        )
    return raw


def _read_column(file: Path, column: int | str) -> tuple[list[str], list[int]]:
    """The cells of ``column`` and their line numbers, header and comments skipped."""
    cells: list[str] = []
    lines: list[int] = []
    index = column if isinstance(column, int | np.integer) else None
    with file.open(newline="") as handle:
        reader = csv.reader(handle)
        for row in reader:
            if not any(c.strip() for c in row) or row[0].lstrip().startswith("#"):
                continue
            if index is None:
                names = [c.strip() for c in row]
                if column not in names:
                    raise InvalidArgumentError(
                        f"{file}:{reader.line_num}: no column {column!r} "
                        f"in the header; columns are {names}"
                    )
                index = names.index(str(column))
                continue
            if index >= len(row):
                raise InvalidArgumentError(
                    f"{file}:{reader.line_num}: has {len(row)} field(s), so no column {index}"
                )
            cell = row[index].strip()
            if not cells and isinstance(column, int | np.integer) and not _is_number(cell):
                column = "header"  # a non-numeric first row is a header, once
                continue
            cells.append(cell)
            lines.append(reader.line_num)
    if not cells:
        raise InvalidArgumentError(f"{file}: no timestamps found")
    return cells, lines


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _parse(file: Path, cells: list[str], lines: list[int]) -> F:
    """Integers stay exact until shifted (epoch nanoseconds exceed 2**53); else floats."""
    try:
        return np.array(cells, dtype=np.int64)  # type: ignore[no-any-return]
    except (ValueError, OverflowError):
        pass
    try:
        values = np.array(cells, dtype=np.float64)
    except ValueError:
        values = np.full(len(cells), np.nan)  # locate the bad cell below
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        j = next((i for i, c in enumerate(cells) if not np.isfinite(_float(c))), int(bad[0]))
        raise InvalidArgumentError(
            f"{file}:{lines[j]}: timestamps must be finite numbers, got {cells[j]!r}"
        )
    return values


def _float(cell: str) -> float:
    try:
        return float(cell)
    except ValueError:
        return float("nan")
