"""Units: durations, rates, multipliers and sizes parse to exact SI values and round-trip."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qsim.errors import InvalidArgumentError
from qsim.scenario.units import (
    UnitError,
    format_duration,
    format_multiplier,
    format_rate,
    format_size,
    parse_duration,
    parse_multiplier,
    parse_rate,
    parse_size,
)

finite = st.floats(allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("50ms", 0.05),  # milliseconds, the common case
        ("2.5s", 2.5),  # fractional seconds
        ("10m", 600.0),  # m is minutes, never months
        ("7d", 604800.0),  # days
        ("1w", 604800.0),  # weeks
        ("1h30m", 5400.0),  # compound: parts add up
        ("1h 30m 15s", 5415.0),  # compound with spaces
        ("250us", 250e-6),  # microseconds
        ("250µs", 250e-6),  # micro sign
        ("100ns", 1e-7),  # nanoseconds
        ("3 min", 180.0),  # long unit names with a space
        ("2 hours", 7200.0),  # plural long names
        (".5s", 0.5),  # no leading zero
        ("1e3ms", 1.0),  # exponent
        ("-5s", -5.0),  # sign (the schema decides whether it is allowed)
        ("12", 12.0),  # a bare number in text is seconds
        (90, 90.0),  # a YAML number is seconds
        (0.25, 0.25),  # float seconds
        ("  5s  ", 5.0),  # surrounding spaces
    ],
)
def test_parse_duration_table(text: str | float, seconds: float) -> None:
    """Durations written the way people write them give seconds."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "per_second"),
    [
        ("1200/s", 1200.0),  # per second
        ("60/min", 1.0),  # per minute
        ("60/m", 1.0),  # m is a minute here too
        ("3600/h", 1.0),  # per hour
        ("86400/d", 1.0),  # per day
        ("5/ms", 5000.0),  # per millisecond
        ("1.2k/s", 1200.0),  # k prefix
        ("2M/h", 2e6 / 3600),  # M prefix, rounded once
        ("100 msg/s", 100.0),  # with a unit word
        ("30 requests / min", 0.5),  # long words and spaces
        ("7.5", 7.5),  # bare number text is per second
        (42, 42.0),  # YAML number
        ("-3/s", -3.0),  # sign kept for the schema to judge
    ],
)
def test_parse_rate_table(text: str | float, per_second: float) -> None:
    """Rates give messages per second."""
    assert parse_rate(text) == per_second


@pytest.mark.parametrize(
    ("text", "factor"),
    [
        ("3x", 3.0),  # times
        ("0.5x", 0.5),  # a fraction
        ("1.25 x", 1.25),  # space before x
        ("150%", 1.5),  # percent
        ("2", 2.0),  # bare number text
        (4, 4.0),  # YAML number
    ],
)
def test_parse_multiplier_table(text: str | float, factor: float) -> None:
    """Multipliers give plain factors."""
    assert parse_multiplier(text) == factor


@pytest.mark.parametrize(
    ("text", "nbytes"),
    [
        ("512B", 512),  # bytes
        ("64KiB", 65536),  # binary kilo
        ("1.5MiB", 1572864),  # fractional binary mega, whole bytes
        ("2kB", 2000),  # decimal kilo
        ("1.5MB", 1500000),  # decimal mega
        ("1GiB", 2**30),  # binary giga
        ("2 TB", 2 * 10**12),  # decimal tera with a space
        ("100", 100),  # bare number text is bytes
        (4096, 4096),  # YAML number
    ],
)
def test_parse_size_table(text: str | int, nbytes: int) -> None:
    """Sizes give whole bytes."""
    assert parse_size(text) == nbytes


@pytest.mark.parametrize(
    ("parse", "text", "listed"),
    [
        (parse_duration, "5 parsecs", "units ns, us, ms, s, m or min, h, d, w"),  # unknown unit
        (parse_duration, "ms", "a duration such as 50ms"),  # no number
        (parse_duration, "5s5", "a duration"),  # trailing garbage
        (parse_duration, "1,5s", "a duration"),  # comma decimal
        (parse_duration, "five seconds", "a duration"),  # words
        (parse_rate, "1200/fortnight", "per ms, s, m or min, h, d, w"),  # unknown unit
        (parse_rate, "1200 per second", "a rate such as 1200/s"),  # words
        (parse_rate, "5ms", "a rate"),  # a duration is not a rate
        (parse_multiplier, "3 times", "a multiplier such as 3x"),  # words
        (parse_multiplier, "x3", "a multiplier"),  # prefix x
        (parse_size, "5 bytes", "units B, kB, KB, MB, GB, TB, KiB, MiB, GiB, TiB"),  # word unit
        (parse_size, "0.5B", "a size"),  # not a whole byte
        (parse_size, "1.5", "a size"),  # bare fractional bytes
    ],
)
def test_bad_text_lists_accepted_units(parse: object, text: str, listed: str) -> None:
    """A wrong unit raises UnitError whose message quotes the value and lists the units."""
    with pytest.raises(UnitError, match="must be " + ".*" + listed.replace("(", r"\(")) as info:
        parse(text)  # type: ignore[operator]
    assert repr(text) in str(info.value)
    assert info.value.value == text


@pytest.mark.parametrize(
    "value",
    [
        True,  # bool is not a number of seconds
        None,  # missing
        [1, 2],  # a list
        math.inf,  # infinite
        math.nan,  # not a number
        "inf",  # infinite as text
        "1e999s",  # overflows a float
    ],
)
@pytest.mark.parametrize("parse", [parse_duration, parse_rate, parse_multiplier, parse_size])
def test_non_quantities_are_rejected(parse: object, value: object) -> None:
    """Booleans, None, containers, inf and NaN are never quantities."""
    with pytest.raises(UnitError):
        parse(value)  # type: ignore[operator]


def test_unit_error_follows_the_argument_template() -> None:
    """UnitError is an InvalidArgumentError (a ValueError) with the one message template."""
    expected = r"^The '--service-mean' argument of parse_duration must be a duration"
    with pytest.raises(InvalidArgumentError, match=expected):
        parse_duration("fast", name="--service-mean")
    assert issubclass(UnitError, ValueError)


@given(n=st.integers(-(10**12), 10**12))
def test_integer_durations_match_plain_arithmetic(n: int) -> None:
    """n ms is n/1000 s and n h is 3600 n s, correctly rounded like Python's own arithmetic."""
    assert parse_duration(f"{n}ms") == n / 1000
    assert parse_duration(f"{n}h") == n * 3600.0
    assert parse_duration(f"{n}us") == n / 10**6


@given(h=st.integers(0, 10**6), m=st.integers(0, 59), s=st.integers(0, 59))
def test_compound_durations_add(h: int, m: int, s: int) -> None:
    """'1h30m15s' is the sum of its parts."""
    assert parse_duration(f"{h}h{m}m{s}s") == 3600 * h + 60 * m + s


@given(n=st.integers(0, 10**9))
def test_rate_units_scale(n: int) -> None:
    """n/min is n/60 per second and n k/s is 1000 n per second."""
    assert parse_rate(f"{n}/min") == n / 60
    assert parse_rate(f"{n}k/s") == n * 1000.0


@given(finite)
def test_duration_round_trip_is_exact(x: float) -> None:
    """format_duration then parse_duration gives back exactly the same float."""
    assert parse_duration(format_duration(x)) == x


@given(finite)
def test_rate_round_trip_is_exact(x: float) -> None:
    """format_rate then parse_rate gives back exactly the same float."""
    assert parse_rate(format_rate(x)) == x


@given(finite)
def test_multiplier_round_trip_is_exact(x: float) -> None:
    """format_multiplier then parse_multiplier gives back exactly the same float."""
    assert parse_multiplier(format_multiplier(x)) == x


@given(st.integers(0, 2**70))
def test_size_round_trip_is_exact(n: int) -> None:
    """format_size then parse_size gives back exactly the same byte count."""
    assert parse_size(format_size(n)) == n


@pytest.mark.parametrize(
    ("fmt", "value", "text"),
    [
        (format_duration, 0.05, "50ms"),  # milliseconds beat 0.05s
        (format_duration, 1.5, "1.5s"),  # 1.5s beats 1500ms
        (format_duration, 5400.0, "90m"),  # minutes beat 1.5h
        (format_duration, 604800.0, "7d"),  # days
        (format_duration, 0.0, "0s"),  # zero
        (format_rate, 120.0, "120/s"),  # per second
        (format_rate, 1 / 3600, "1/h"),  # one per hour, not 0.000277.../s
        (format_multiplier, 3.0, "3x"),  # whole factor
        (format_size, 65536, "64KiB"),  # binary unit
        (format_size, 1500000, "1500kB"),  # decimal unit, whole number
        (format_size, 1000, "1kB"),  # decimal kilo
    ],
)
def test_formats_read_naturally(fmt: object, value: float, text: str) -> None:
    """Formatting picks the unit people would write."""
    assert fmt(value) == text  # type: ignore[operator]


def test_format_rejects_non_finite() -> None:
    """inf and NaN have no unit text."""
    with pytest.raises(InvalidArgumentError, match="a finite number"):
        format_duration(math.inf)
