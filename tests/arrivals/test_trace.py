"""Replayed traces and CSV reading (qsim.arrivals.trace)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qsim.arrivals import Trace
from qsim.errors import InvalidArgumentError

RNG = np.random.default_rng(0)


def test_replay_is_exact() -> None:
    """times() returns the recorded timestamps inside [start, until), untouched."""
    stamps = [0.0, 0.25, 0.25, 1.5, 3.0, 7.125]
    t = Trace(timestamps=stamps)
    np.testing.assert_array_equal(t.times(RNG, 10.0), stamps)
    np.testing.assert_array_equal(t.times(RNG, 7.125, start=0.25), [0.25, 0.25, 1.5, 3.0])
    assert t.times(RNG, 1e9).size == 6  # no loop: nothing after the trace ends


def test_loop_with_default_span() -> None:
    """Looping shifts each pass by (last - first) n / (n - 1): the next pass starts a mean gap later."""
    t = Trace(timestamps=[1.0, 2.0, 4.0], loop=True)
    assert t.span == 4.5 and t.mean_rate == pytest.approx(3 / 4.5, rel=1e-15)
    np.testing.assert_array_equal(t.times(RNG, 11.0), [1.0, 2.0, 4.0, 5.5, 6.5, 8.5, 10.0])


def test_loop_with_period_and_long_horizon() -> None:
    """With a period, pass k is the trace plus k * period, over many passes."""
    stamps = np.array([0.5, 0.75, 2.0])
    t = Trace(timestamps=stamps, loop=True, period=3.0)
    got = t.times(RNG, 3.0 * 100_000)
    expected = (np.arange(100_000)[:, None] * 3.0 + stamps).ravel()
    np.testing.assert_array_equal(got, expected)


def test_scv_of_gaps() -> None:
    """scv is the squared coefficient of variation of the gaps, the wrap-around gap included."""
    t = Trace(timestamps=[0.0, 1.0, 3.0], period=6.0)  # gaps 1, 2, 3
    assert t.scv == pytest.approx(np.var([1.0, 2.0, 3.0]) / 4.0, rel=1e-14)
    assert Trace(timestamps=np.arange(10.0), loop=True).scv == 0.0  # evenly spaced


def test_scale_compresses_time() -> None:
    """scale(f) divides every timestamp and the period by f."""
    t = Trace(timestamps=[0.0, 2.0, 3.0], loop=True, period=4.0)
    assert t.scale(2.0) == Trace(timestamps=[0.0, 1.0, 1.5], loop=True, period=2.0)
    assert t.scale(2.0).mean_rate == 2 * t.mean_rate


def test_repr_is_short() -> None:
    """The repr summarises a long trace instead of printing it."""
    assert (
        repr(Trace(timestamps=np.arange(1e6)))
        == "Trace(n=1000000, span=1000000.0, loop=False, period=None)"
    )


def _write(tmp_path: Path, text: str, name: str = "trace.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "kwargs", "expected"),
    [
        ("0.5\n1.0\n2.5\n", {}, [0.0, 0.5, 2.0]),  # one bare column, shifted to start at 0
        ("0.5\n1.0\n2.5\n", {"zero_start": False}, [0.5, 1.0, 2.5]),  # file times kept
        (
            "ts,key\n10,a\n15,b\n\n# a comment\n40,c\n",
            {"column": "ts", "time_unit": "ms"},
            [0.0, 0.005, 0.03],
        ),  # by name
        ("key,ts\na,1\nb,2\nc,4\n", {"column": 1}, [0.0, 1.0, 3.0]),  # by index, header detected
        (
            "1700000000000000001\n1700000000000000002\n1700000000000001002\n",
            {"time_unit": "ns"},
            [0.0, 1e-9, 1.001e-6],
        ),  # epoch ns stay exact
        (
            "100,x\n250,y\n400,z\n",
            {"time_unit": "us", "loop": True},
            [0.0, 150e-6, 300e-6],
        ),  # loop passed on
    ],
)
def test_from_csv_reads_a_column(tmp_path: Path, text: str, kwargs: dict, expected: list) -> None:
    """from_csv reads the column, converts the unit to seconds and keeps exact values."""
    trace = Trace.from_csv(_write(tmp_path, text), **kwargs)
    np.testing.assert_allclose(trace.timestamps, expected, rtol=1e-15, atol=0)
    assert trace.loop == kwargs.get("loop", False)


@pytest.mark.parametrize(
    ("text", "column"),
    [
        (
            '# exported 2024-05-01\nts,"note"\n" 1.5",a\n\n2.25 ,"b, c"\n# gap\n4,d\n',
            "ts",
        ),  # quotes, blanks
        ("id,t\n1,10\n2,10\n3,12\n", 1),  # repeated times, header found by index
        ("3\n4.5\n1e1\n", 0),  # ints and floats mixed
    ],
)
def test_fast_and_row_by_row_readers_agree(tmp_path: Path, text: str, column: int | str) -> None:
    """numpy's C reader (the fast path) and the row-by-row reader give the same values."""
    from qsim.arrivals.trace import _checked_column, _fast_column

    path = _write(tmp_path, text)
    fast = _fast_column(path, column)
    assert fast is not None
    np.testing.assert_array_equal(fast, _checked_column(path, column, zero_start=True))


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        (
            "1.0\n2.0\nabc\n4.0\n",
            {},
            r"trace.csv:3: timestamps must be finite numbers, got 'abc'$",
        ),  # bad value
        (
            "t\n1.0\n2.0\nnan\n",
            {"column": "t"},
            r"trace.csv:4: timestamps must be finite numbers, got 'nan'$",
        ),  # non-finite
        (
            "1.0\n3.0\n2.0\n",
            {},
            r"trace.csv:3: timestamps must be in non-decreasing order, got 2.0 after 3.0$",
        ),  # unsorted
        (
            "a,b\n1,2\n",
            {"column": "ts"},
            r"trace.csv:1: no column 'ts' in the header; columns are \['a', 'b'\]$",
        ),  # unknown name
        ("1,2\n3\n", {"column": 1}, r"trace.csv:2: has 1 field\(s\), so no column 1$"),  # short row
        ("# only a comment\n\n", {}, r"trace.csv: no timestamps found$"),  # empty
        (
            "-2.0\n1.0\n",
            {"zero_start": False},
            r"trace.csv:1: timestamps must be >= 0 \(or use zero_start=True\), got -2.0$",
        ),  # negative
        (
            "5\n5\n",
            {},
            r"trace.csv: The 'timestamps' argument of Trace must be at least two times 1 ns or more apart",
        ),  # no span
    ],
)
def test_from_csv_errors_name_file_and_line(
    tmp_path: Path, text: str, kwargs: dict, message: str
) -> None:
    """Bad file content raises InvalidArgumentError naming the file and the line."""
    with pytest.raises(InvalidArgumentError, match=message):
        Trace.from_csv(_write(tmp_path, text), **kwargs)


def test_from_csv_missing_file(tmp_path: Path) -> None:
    """A missing file or a directory is reported with the template."""
    missing = tmp_path / "nope.csv"
    with pytest.raises(
        InvalidArgumentError,
        match=r"'path' argument of Trace.from_csv must be an existing CSV file \(.*nope.csv' does not exist\)",
    ):
        Trace.from_csv(missing)
    with pytest.raises(InvalidArgumentError, match=r"is not a file"):
        Trace.from_csv(tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"time_unit": "min"},
            r"'time_unit' argument of Trace.from_csv must be one of 's', 'ms', 'us', 'ns'. Got 'min'",
        ),
        (
            {"column": -1},
            r"'column' argument of Trace.from_csv must be a header name or a 0-based column index. Got -1",
        ),
        ({"column": True}, r"'column' argument of Trace.from_csv .* Got True"),
    ],
)
def test_from_csv_argument_validation(tmp_path: Path, kwargs: dict, message: str) -> None:
    """Bad from_csv arguments raise with the template before the file is read."""
    with pytest.raises(InvalidArgumentError, match=message):
        Trace.from_csv(_write(tmp_path, "1\n2\n"), **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"timestamps": [0.0, 2.0, 1.0]},
            r"'timestamps' argument of Trace must be sorted in non-decreasing order. Got 1.0 at index 2",
        ),
        (
            {"timestamps": [-1.0, 2.0]},
            r"'timestamps' argument of Trace must be a finite number >= 0. Got -1.0 at index 0",
        ),
        (
            {"timestamps": []},
            r"'timestamps' argument of Trace must be a non-empty 1-d array of times. Got 'shape \(0,\)'",
        ),
        (
            {"timestamps": [3.0]},
            r"'timestamps' argument of Trace must be at least two times 1 ns or more apart when no period is given. Got '1 timestamp\(s\) spanning 0 s'",
        ),
        (
            {"timestamps": [0.0, 2.0], "period": 2.0},
            r"'period' argument of Trace must be None or a number > last - first timestamp \(2.0\). Got 2.0",
        ),
        (
            {"timestamps": [0.0, 2.0], "loop": "yes"},
            r"'loop' argument of Trace must be True or False. Got 'yes'",
        ),
    ],
)
def test_validation(kwargs: dict, message: str) -> None:
    """Bad timestamps, periods and flags raise with the template."""
    with pytest.raises(InvalidArgumentError, match=message):
        Trace(**kwargs)


def test_single_timestamp_with_period_loops() -> None:
    """One timestamp and a period is a valid (evenly spaced) trace."""
    t = Trace(timestamps=[0.25], loop=True, period=1.0)
    np.testing.assert_array_equal(t.times(RNG, 3.0), [0.25, 1.25, 2.25])
    assert t.mean_rate == 1.0 and t.scv == 0.0
