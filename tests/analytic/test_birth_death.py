"""The generic birth-death stationary solver against the 40-digit chain."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsim.analytic.birth_death import birth_death
from qsim.errors import InvalidArgumentError
from tests.reference import ref_birth_death as ref


def _max_rel(got: np.ndarray, want: list[mp.mpf]) -> float:
    with mp.workdps(40):
        return max(
            float(abs(mp.mpf(g) - w) / w) if w else abs(g) for g, w in zip(got, want, strict=True)
        )


@pytest.mark.parametrize(
    ("births", "deaths"),
    [
        ([], []),  # a single state
        ([2.0, 2.0], [1.0, 2.0]),  # 0.2, 0.4, 0.4
        ([5.0] * 30, [min(n, 3) * 1.5 for n in range(1, 31)]),  # M/M/3/30
        ([20.0] * 400, [1.0] * 400),  # ratios of 20^400 ~ 1e520: overflows in linear space
        ([1e-3] * 300, [1.0] * 300),  # mass piled on state 0, 1e-900 at the top
        ([float(n + 1) for n in range(50)], [float(n + 1) for n in range(50)]),  # uniform
        ([3.0, 1.0, 0.5, 7.0, 2.0], [0.5, 4.0, 4.0, 1.0, 9.0]),  # irregular rates
    ],
)
def test_matches_the_mpmath_chain(births: list[float], deaths: list[float]) -> None:
    """p_n >= 1e-30 is within 1e-12 relative of the 40-digit chain; the far tail (down to
    1e-290, where log p_n and its rounding are large) within 1e-10."""
    got = birth_death(births, deaths)
    want = ref.stationary(births, deaths)
    assert got.shape == (len(births) + 1,)
    assert got.sum() == pytest.approx(1.0, rel=1e-14)
    mass = [i for i, w in enumerate(want) if w > 1e-30]
    assert _max_rel(got[mass], [want[i] for i in mass]) <= 1e-12
    tail = [i for i, w in enumerate(want) if w > 1e-290]
    assert _max_rel(got[tail], [want[i] for i in tail]) <= 1e-10


def test_million_states_of_a_flooded_queue() -> None:
    """M/M/1/K with rho = 20 and K = 1e6: the top states carry the mass, exactly
    (1 - 1/rho) rho^-(K - n) up to e^-(rho^-(K+1)) terms, to 1e-13."""
    K = 1_000_000
    p = birth_death(np.full(K, 20.0), np.ones(K))
    top = (1 - 1 / 20) * 20.0 ** -np.arange(6.0)
    np.testing.assert_allclose(p[::-1][:6], top, rtol=1e-13)


def test_zero_birth_rate_cuts_off_the_states_above() -> None:
    """A zero birth rate makes the states above it unreachable: probability 0."""
    p = birth_death([1.0, 0.0, 3.0], [1.0, 2.0, 1.0])
    assert p.tolist() == [0.5, 0.5, 0.0, 0.0]


@settings(deadline=None, max_examples=50)
@given(
    rates=st.lists(st.tuples(st.floats(1e-3, 1e3), st.floats(1e-3, 1e3)), min_size=1, max_size=60)
)
def test_detailed_balance(rates: list[tuple[float, float]]) -> None:
    """p_n birth_n = p_{n+1} death_n for every n, and the law sums to 1."""
    births, deaths = (np.array(x) for x in zip(*rates, strict=True))
    p = birth_death(births, deaths)
    assert p.sum() == pytest.approx(1.0, rel=1e-13)
    big = np.maximum(p[:-1] * births, p[1:] * deaths)
    ok = big > 1e-290
    np.testing.assert_allclose((p[:-1] * births)[ok], (p[1:] * deaths)[ok], rtol=1e-12)


@pytest.mark.parametrize(
    ("births", "deaths", "message"),
    [
        # one row per kind of bad input
        (
            [[1.0]],
            [[1.0]],
            r"'birth_rates' argument of birth_death must be a 1-D array of rates\. Got an array of shape \(1, 1\)",
        ),
        (1.0, [1.0], r"'birth_rates' argument of birth_death must be a 1-D array .* shape \(\)"),
        ([1.0], 2.0, r"'death_rates' argument of birth_death must be a 1-D array"),
        (
            [1.0, 2.0],
            [1.0],
            r"'death_rates' argument of birth_death must have one rate per birth rate \(2\)\. Got 1 rates instead",
        ),
        (
            [1.0, -2.0],
            [1.0, 1.0],
            r"'birth_rates' argument of birth_death must be a finite number >= 0\. Got -2\.0 at index 1",
        ),
        ([1.0, np.inf], [1.0, 1.0], r"'birth_rates' .* Got inf at index 1"),
        (
            [1.0, 1.0],
            [1.0, 0.0],
            r"'death_rates' argument of birth_death must be a number > 0 and finite\. Got 0\.0 at index 1",
        ),
        ([1.0], [np.nan], r"'death_rates' .* Got nan at index 0"),
        (["a"], [1.0], r"'birth_rates' argument of birth_death must be a real number"),
    ],
)
def test_bad_input_names_function_parameter_value(
    births: object, deaths: object, message: str
) -> None:
    """Bad input raises InvalidArgumentError with the one template."""
    with pytest.raises(InvalidArgumentError, match=message):
        birth_death(births, deaths)  # type: ignore[arg-type]
