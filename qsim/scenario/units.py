"""Quantities written the way people write them: ``50ms``, ``1h30m``, ``1200/s``, ``3x``, ``64KiB``.

Parsers turn text (or a bare number) into SI floats: durations in seconds, rates in
messages per second, multipliers as plain factors, sizes in bytes. Formatters do the
reverse and always round-trip exactly: ``parse_duration(format_duration(x)) == x`` for
every finite float ``x``.

Every parse is exact up to one final rounding: the decimal text is read as a
:class:`fractions.Fraction`, scaled by the unit exactly, and rounded once to the nearest
float, so ``"50ms"`` is the same float as ``0.05`` and ``"1/h"`` the same as ``1 / 3600``.

A wrong unit raises :class:`UnitError` (an :class:`~qsim.errors.InvalidArgumentError`) whose
message lists the accepted units.

Examples
--------
>>> parse_duration("1h30m"), parse_duration("50ms"), parse_rate("1.2k/s"), parse_rate("60/min")
(5400.0, 0.05, 1200.0, 1.0)
>>> parse_multiplier("3x"), parse_multiplier("150%"), parse_size("64KiB")
(3.0, 1.5, 65536)
>>> format_duration(0.05), format_duration(5400.0), format_rate(1 / 3600)
('50ms', '90m', '1/h')
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from fractions import Fraction

from qsim._validate import argument_message
from qsim.errors import InvalidArgumentError

__all__ = [
    "DURATION_FORMS",
    "MULTIPLIER_FORMS",
    "RATE_FORMS",
    "SIZE_FORMS",
    "UnitError",
    "format_duration",
    "format_multiplier",
    "format_rate",
    "format_size",
    "parse_duration",
    "parse_multiplier",
    "parse_rate",
    "parse_size",
]

#: What a duration may look like (used in error messages).
DURATION_FORMS = (
    "a duration such as 50ms, 2.5s, 10m, 1h30m or 7d "
    "(units ns, us, ms, s, m or min, h, d, w; a bare number is seconds)"
)
#: What a rate may look like (used in error messages).
RATE_FORMS = (
    "a rate such as 1200/s, 50/min, 3.5k/h or 100 msg/s "
    "(per ms, s, m or min, h, d, w; k, M, G multiply by 1e3, 1e6, 1e9; "
    "a bare number is per second)"
)
#: What a multiplier may look like (used in error messages).
MULTIPLIER_FORMS = "a multiplier such as 3x, 0.5x or 150% (a bare number is the factor)"
#: What a size may look like (used in error messages).
SIZE_FORMS = (
    "a size such as 512B, 64KiB, 1.5MB or 2GiB "
    "(units B, kB, KB, MB, GB, TB, KiB, MiB, GiB, TiB; a bare number is bytes)"
)

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?"

_SECOND = Fraction(1)
_DURATION_UNITS: dict[str, Fraction] = {
    "ns": Fraction(1, 10**9),
    "us": Fraction(1, 10**6),
    "µs": Fraction(1, 10**6),
    "μs": Fraction(1, 10**6),
    "ms": Fraction(1, 1000),
    "s": _SECOND,
    "sec": _SECOND,
    "secs": _SECOND,
    "second": _SECOND,
    "seconds": _SECOND,
    "m": Fraction(60),
    "min": Fraction(60),
    "mins": Fraction(60),
    "minute": Fraction(60),
    "minutes": Fraction(60),
    "h": Fraction(3600),
    "hr": Fraction(3600),
    "hrs": Fraction(3600),
    "hour": Fraction(3600),
    "hours": Fraction(3600),
    "d": Fraction(86400),
    "day": Fraction(86400),
    "days": Fraction(86400),
    "w": Fraction(604800),
    "week": Fraction(604800),
    "weeks": Fraction(604800),
}
_RATE_PER = {k: v for k, v in _DURATION_UNITS.items() if k not in ("ns", "us", "µs", "μs")}
_COUNT_PREFIX = {"": Fraction(1), "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9)}
_SIZE_UNITS: dict[str, int] = {
    "B": 1,
    "kB": 1000,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
    "TiB": 1024**4,
}


def _alternatives(units: dict[str, object]) -> str:
    # Longest first so that "ms" wins over "m" and "min" over "m".
    return "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True))


_DURATION_PART = re.compile(rf"({_NUMBER})\s*({_alternatives(_DURATION_UNITS)})")
_DURATION_RE = re.compile(rf"([+-]?)\s*((?:{_NUMBER}\s*(?:{_alternatives(_DURATION_UNITS)})\s*)+)")
_BARE_RE = re.compile(rf"([+-]?{_NUMBER})")
_RATE_RE = re.compile(
    rf"([+-]?{_NUMBER})\s*([kMG]?)\s*(?:msgs?|messages?|events?|req|requests?)?\s*/\s*"
    rf"({_alternatives(_RATE_PER)})"
)
_MULTIPLIER_RE = re.compile(rf"([+-]?{_NUMBER})\s*([x×%]?)")
_SIZE_RE = re.compile(rf"([+-]?{_NUMBER})\s*({_alternatives(_SIZE_UNITS)})?")


class UnitError(InvalidArgumentError):
    """A quantity that is not written in an accepted form.

    Attributes
    ----------
    value : object
        The text or object that was given.
    allowed : str
        The accepted forms, e.g. :data:`DURATION_FORMS`.
    """

    def __init__(self, value: object, allowed: str, *, name: str, func: str) -> None:
        super().__init__(argument_message(name, func, allowed, value))
        self.value = value
        self.allowed = allowed


def _exact(number: str) -> Fraction:
    return Fraction(Decimal(number))


def _to_float(q: Fraction, value: object, allowed: str, name: str, func: str) -> float:
    try:
        return float(q)
    except OverflowError:
        raise UnitError(value, allowed, name=name, func=func) from None


def _number(value: object, allowed: str, name: str, func: str) -> float | None:
    """A bare real number (not bool), or None when ``value`` is text to parse."""
    if isinstance(value, bool):
        raise UnitError(value, allowed, name=name, func=func)
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise UnitError(value, allowed, name=name, func=func)
        return float(value)
    if not isinstance(value, str):
        raise UnitError(value, allowed, name=name, func=func)
    return None


def parse_duration(value: str | float, *, name: str = "value") -> float:
    """A duration in seconds.

    Parameters
    ----------
    value : str or float
        Text such as ``"50ms"``, ``"2.5s"``, ``"10m"``, ``"1h30m"``, ``"7d"`` (parts of a
        compound duration are added), or a bare number of seconds. ``m`` is minutes, never
        months. A leading sign applies to the whole duration.
    name : str
        Name of the quantity, quoted in the error message.

    Returns
    -------
    float
        Seconds.

    Raises
    ------
    UnitError
        If the text is not a duration; the message lists the accepted units.
    """
    func = "parse_duration"
    bare = _number(value, DURATION_FORMS, name, func)
    if bare is not None:
        return bare
    text = str(value).strip()
    if m := _BARE_RE.fullmatch(text):
        return _to_float(_exact(m.group(1)), value, DURATION_FORMS, name, func)
    m = _DURATION_RE.fullmatch(text)
    if m is None:
        raise UnitError(value, DURATION_FORMS, name=name, func=func)
    total = sum(
        (_exact(num) * _DURATION_UNITS[unit] for num, unit in _DURATION_PART.findall(m.group(2))),
        Fraction(0),
    )
    return _to_float(-total if m.group(1) == "-" else total, value, DURATION_FORMS, name, func)


def parse_rate(value: str | float, *, name: str = "value") -> float:
    """A rate in messages (events) per second.

    Parameters
    ----------
    value : str or float
        Text such as ``"1200/s"``, ``"50/min"``, ``"3.5k/h"``, ``"100 msg/s"``, or a bare
        number per second. ``k``, ``M``, ``G`` multiply the count by 1e3, 1e6, 1e9.
    name : str
        Name of the quantity, quoted in the error message.

    Returns
    -------
    float
        Per second.

    Raises
    ------
    UnitError
        If the text is not a rate; the message lists the accepted units.
    """
    func = "parse_rate"
    bare = _number(value, RATE_FORMS, name, func)
    if bare is not None:
        return bare
    text = str(value).strip()
    if m := _BARE_RE.fullmatch(text):
        return _to_float(_exact(m.group(1)), value, RATE_FORMS, name, func)
    m = _RATE_RE.fullmatch(text)
    if m is None:
        raise UnitError(value, RATE_FORMS, name=name, func=func)
    q = _exact(m.group(1)) * _COUNT_PREFIX[m.group(2)] / _RATE_PER[m.group(3)]
    return _to_float(q, value, RATE_FORMS, name, func)


def parse_multiplier(value: str | float, *, name: str = "value") -> float:
    """A plain factor from ``"3x"``, ``"0.5x"``, ``"150%"`` or a bare number.

    Raises
    ------
    UnitError
        If the text is not a multiplier.
    """
    func = "parse_multiplier"
    bare = _number(value, MULTIPLIER_FORMS, name, func)
    if bare is not None:
        return bare
    m = _MULTIPLIER_RE.fullmatch(str(value).strip())
    if m is None:
        raise UnitError(value, MULTIPLIER_FORMS, name=name, func=func)
    q = _exact(m.group(1)) / (100 if m.group(2) == "%" else 1)
    return _to_float(q, value, MULTIPLIER_FORMS, name, func)


def parse_size(value: str | int, *, name: str = "value") -> int:
    """A size in bytes from ``"512B"``, ``"64KiB"``, ``"1.5MB"`` or a bare number of bytes.

    ``kB``/``KB``/``MB``/``GB``/``TB`` are powers of 1000, ``KiB``/``MiB``/``GiB``/``TiB``
    powers of 1024. The result must be a whole number of bytes.

    Raises
    ------
    UnitError
        If the text is not a size or not a whole number of bytes.
    """
    func = "parse_size"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise UnitError(value, SIZE_FORMS, name=name, func=func)
    if isinstance(value, int | float):
        q = Fraction(value) if math.isfinite(value) else None
    else:
        m = _SIZE_RE.fullmatch(value.strip())
        q = _exact(m.group(1)) * _SIZE_UNITS[m.group(2) or "B"] if m else None
    if q is None or q.denominator != 1:
        raise UnitError(value, SIZE_FORMS, name=name, func=func)
    return int(q)


def _shortest(x: float, units: list[tuple[str, Fraction]], parse: object) -> str:
    """The most readable ``<number><unit>`` text that parses back to exactly ``x``.

    Fewest digits wins, a fractional number counting one digit more, so ``250ms`` beats
    ``0.25s`` and ``1.5s`` beats ``1500ms``; ties go to the earlier unit.
    """
    if not math.isfinite(x):
        raise InvalidArgumentError(argument_message("value", "format", "a finite number", x))
    best: tuple[int, str] | None = None
    for suffix, scale in units:
        try:
            number = repr(float(Fraction(x) / scale))
        except OverflowError:
            continue
        number = number.removesuffix(".0")
        cost = len(number) + (0 if number.lstrip("-").isdigit() else 1)
        text = number + suffix
        try:
            exact = parse(text) == x  # type: ignore[operator]
        except UnitError:  # rounding near the largest float overflowed
            continue
        if exact and (best is None or cost < best[0]):
            best = (cost, text)
    # The first unit has scale 1, so its repr always round-trips.
    assert best is not None
    return best[1]


_DURATION_OUT = [(u, _DURATION_UNITS[u]) for u in ("s", "d", "h", "m", "ms", "us", "ns")]
_RATE_OUT = [(f"/{u}", 1 / _RATE_PER[u]) for u in ("s", "min", "h", "d", "ms")]


def format_duration(seconds: float) -> str:
    """The shortest text for ``seconds`` that :func:`parse_duration` reads back exactly.

    >>> format_duration(0.25), format_duration(86400), format_duration(1e-7)
    ('250ms', '1d', '100ns')
    """
    return _shortest(float(seconds), _DURATION_OUT, parse_duration)


def format_rate(per_second: float) -> str:
    """The shortest text for a rate that :func:`parse_rate` reads back exactly.

    >>> format_rate(1200.0), format_rate(0.5), format_rate(1 / 60)
    ('1200/s', '30/min', '1/min')
    """
    return _shortest(float(per_second), _RATE_OUT, parse_rate)


def format_multiplier(factor: float) -> str:
    """``3.0 -> "3x"``; :func:`parse_multiplier` reads it back exactly."""
    return _shortest(float(factor), [("x", Fraction(1))], parse_multiplier)


def format_size(nbytes: int) -> str:
    """The shortest exact text for a byte count, e.g. ``65536 -> "64KiB"``."""
    n = int(nbytes)
    best = f"{n}B"
    for unit, scale in _SIZE_UNITS.items():
        if n % scale == 0 and len(text := f"{n // scale}{unit}") < len(best):
            best = text
    return best
