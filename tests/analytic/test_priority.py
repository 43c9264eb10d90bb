"""M/G/1 priority queues against mpmath formulas, Markov chains and the conservation law."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsim.analytic.mg1 import mg1
from qsim.analytic.priority import PriorityMetrics, mg1_priority, mm1_preemptive_priority
from qsim.errors import InvalidArgumentError
from tests.reference import ref_priority as ref

REL = 1e-12

CLASSES = [
    # (arrival rates 1/s, mean services s, scvs)
    ([0.3, 0.4], [1.0, 1.0], [1.0, 1.0]),  # two exponential classes, rho = 0.7
    ([20.0, 50.0], [0.01, 0.012], [0.0, 2.5]),  # deterministic urgent + bursty bulk
    ([0.1, 0.5, 0.2], [1.0, 0.8, 2.0], [1.0, 0.25, 4.0]),  # three classes, rho = 0.9
    ([5.0, 0.0, 1.0], [0.05, 1.0, 0.3], [1.5, 1.0, 0.5]),  # an idle middle class
]


@pytest.mark.parametrize(("lams", "means", "scvs"), CLASSES)
def test_nonpreemptive_matches_cobham(lams: list, means: list, scvs: list) -> None:
    """Per-class Wq equals Cobham's formula at 30 digits; W, Lq, L follow."""
    r = mg1_priority(arrival_rates=lams, service_means=means, service_scvs=scvs)
    exact = [float(w) for w in ref.cobham_waits(lams, means, scvs)]
    np.testing.assert_allclose(r.Wq, exact, rtol=REL)
    np.testing.assert_allclose(r.W, np.add(exact, means), rtol=REL)
    np.testing.assert_allclose(r.Lq, np.multiply(lams, exact), rtol=REL)
    np.testing.assert_allclose(r.L, np.multiply(lams, r.W), rtol=REL)
    assert r.stable.all() and r.discipline == "non-preemptive" and r.method == "exact"


@pytest.mark.parametrize(("lams", "means", "scvs"), CLASSES)
def test_preemptive_matches_kleinrock(lams: list, means: list, scvs: list) -> None:
    """Per-class response time equals the preemptive-resume formula at 30 digits."""
    r = mm1_preemptive_priority(
        arrival_rates=lams, service_rates=1 / np.array(means), service_scvs=scvs
    )
    exact = [float(w) for w in ref.preemptive_responses(lams, means, scvs)]
    np.testing.assert_allclose(r.W, exact, rtol=REL)
    np.testing.assert_allclose(r.Wq, np.subtract(exact, means), rtol=1e-11)
    assert r.discipline == "preemptive-resume"


CHAINS = [
    # (lam1, lam2, mu1, mu2)
    (0.3, 0.4, 1.0, 1.0),
    (0.5, 0.5, 2.0, 1.0),  # rho = 0.75, slower low class
    (0.2, 0.6, 0.8, 2.0),  # slow urgent class
]


@pytest.mark.parametrize(("l1", "l2", "mu1", "mu2"), CHAINS)
@pytest.mark.parametrize("preemptive", [False, True])
def test_two_classes_match_a_markov_chain(
    l1: float, l2: float, mu1: float, mu2: float, preemptive: bool
) -> None:
    """Exponential classes: waits equal those of the truncated CTMC solved numerically."""
    exact = ref.ctmc_two_class(l1, l2, mu1, mu2, preemptive=preemptive)
    if preemptive:
        r = mm1_preemptive_priority(arrival_rates=[l1, l2], service_rates=[mu1, mu2])
    else:
        r = mg1_priority(arrival_rates=[l1, l2], service_means=[1 / mu1, 1 / mu2], service_scvs=1.0)
    np.testing.assert_allclose(r.Wq, exact, rtol=1e-9)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), k=st.integers(1, 5))
def test_conservation_law(data: st.DataObject, k: int) -> None:
    """Kleinrock: sum_k rho_k Wq_k (non-preemptive) = rho Wq of FCFS M/G/1 with the mixed
    service time, whatever the priority order."""
    lams = np.array(data.draw(st.lists(st.floats(0.01, 5.0), min_size=k, max_size=k)))
    means = np.array(data.draw(st.lists(st.floats(0.01, 2.0), min_size=k, max_size=k)))
    scvs = np.array(data.draw(st.lists(st.floats(0.0, 10.0), min_size=k, max_size=k)))
    load = data.draw(st.floats(0.05, 0.98))
    lams *= load / np.sum(lams * means)
    r = mg1_priority(arrival_rates=lams, service_means=means, service_scvs=scvs)
    lam = lams.sum()
    mean = np.sum(lams * means) / lam
    second = np.sum(lams * means**2 * (1 + scvs)) / lam
    scv = max(second / mean**2 - 1, 0.0)  # >= 0 up to rounding
    fcfs = mg1(arrival_rate=lam, service_mean=mean, service_scv=scv)
    assert np.sum(r.utilization * r.Wq) == pytest.approx(fcfs.utilization * fcfs.Wq, rel=1e-10)
    order = data.draw(st.permutations(range(k)))
    again = mg1_priority(
        arrival_rates=lams[order], service_means=means[order], service_scvs=scvs[order]
    )
    assert np.sum(again.utilization * again.Wq) == pytest.approx(
        np.sum(r.utilization * r.Wq), rel=1e-10
    )


@pytest.mark.parametrize("scv", [0.0, 1.0, 3.0])
def test_single_class_is_mg1(scv: float) -> None:
    """With one class both disciplines are FCFS M/G/1."""
    fcfs = mg1(arrival_rate=0.8, service_mean=0.5, service_scv=scv)
    for r in (
        mg1_priority(arrival_rates=0.8, service_means=0.5, service_scvs=scv),
        mm1_preemptive_priority(arrival_rates=[0.8], service_rates=[2.0], service_scvs=scv),
    ):
        for name in ("Wq", "W", "Lq", "L"):
            assert getattr(r, name)[0] == pytest.approx(getattr(fcfs, name), rel=REL)


@settings(max_examples=40, deadline=None)
@given(lams=st.lists(st.floats(0.01, 1.0), min_size=2, max_size=5), scv=st.floats(0.0, 5.0))
def test_lower_classes_wait_longer(lams: list[float], scv: float) -> None:
    """With equal service laws, the wait grows from the highest to the lowest class."""
    lams_a = np.array(lams) * 0.9 / sum(lams)
    for r in (
        mg1_priority(arrival_rates=lams_a, service_means=1.0, service_scvs=scv),
        mm1_preemptive_priority(arrival_rates=lams_a, service_rates=1.0, service_scvs=scv),
    ):
        assert np.all(np.diff(r.Wq) >= 0)


def test_overload_makes_only_lower_classes_unstable() -> None:
    """sigma_k >= 1 marks class k and below unstable (inf); the classes above stay finite."""
    r = mg1_priority(arrival_rates=[0.3, 0.5, 0.4, 0.1], service_means=1.0, service_scvs=1.0)
    np.testing.assert_array_equal(r.stable, [True, True, False, False])
    assert np.all(np.isfinite(r.Wq[:2])) and np.all(
        np.isinf([r.Wq[2:], r.W[2:], r.L[2:], r.Lq[2:]])
    )
    p = mm1_preemptive_priority(arrival_rates=[0.3, 0.5, 0.4, 0.0], service_rates=1.0)
    np.testing.assert_array_equal(p.stable, [True, True, False, False])
    assert np.isinf(p.Lq[3])  # inf, not 0 * inf = nan, for an idle unstable class
    # preemptive: the classes above never see the overload
    alone = mm1_preemptive_priority(arrival_rates=[0.3, 0.5], service_rates=1.0)
    np.testing.assert_allclose(p.W[:2], alone.W, rtol=REL)


@pytest.mark.parametrize(("l1", "mu1", "mu2"), [(0.3, 1.0, 1.0), (0.5, 2.0, 0.5), (0.2, 0.4, 3.0)])
def test_overloaded_nonpreemptive_matches_a_backlogged_chain(
    l1: float, mu1: float, mu2: float
) -> None:
    """When class 1 is overloaded it is always backlogged; class 0's wait equals that of the
    Markov chain in which the server takes class 1 whenever class 0 is empty."""
    r = mg1_priority(
        arrival_rates=[l1, 10.0 * mu2], service_means=[1 / mu1, 1 / mu2], service_scvs=1.0
    )
    assert list(r.stable) == [True, False]
    assert r.Wq[0] == pytest.approx(ref.ctmc_backlogged(l1, mu1, mu2), rel=1e-9)
    three = mg1_priority(
        arrival_rates=[l1, 10.0 * mu2, 3.0], service_means=[1 / mu1, 1 / mu2, 5.0], service_scvs=1.0
    )
    assert three.Wq[0] == pytest.approx(r.Wq[0], rel=REL)  # never-served classes do not count


def test_to_frame_has_one_row_per_class() -> None:
    """to_frame gives one row per class with the priority and every field as columns."""
    r = mg1_priority(arrival_rates=[1.0, 2.0, 3.0], service_means=0.1, service_scvs=[0, 1, 2])
    frame = r.to_frame()
    assert list(frame["priority"]) == [0, 1, 2] and len(frame) == 3
    assert {
        "arrival_rate",
        "utilization",
        "Wq",
        "W",
        "Lq",
        "L",
        "stable",
        "method",
        "discipline",
        "service_mean",
    } <= set(frame.columns)
    np.testing.assert_allclose(frame["Wq"], r.Wq)
    assert isinstance(r, PriorityMetrics)


BAD = [
    (
        lambda: mg1_priority(
            arrival_rates=[1.0, 2.0], service_means=[1.0, 2.0, 3.0], service_scvs=1.0
        ),
        "The arguments of mg1_priority must broadcast to one shape. Got shapes "
        "arrival_rates(2,), service_means(3,), service_scvs() instead.",
    ),
    (
        lambda: mg1_priority(arrival_rates=[1.0, -2.0], service_means=1.0, service_scvs=1.0),
        "The 'arrival_rates' argument of mg1_priority must be a finite number >= 0. "
        "Got -2.0 at index 1 instead.",
    ),
    (
        lambda: mg1_priority(arrival_rates=[1.0], service_means=[0.0], service_scvs=1.0),
        "The 'service_means' argument of mg1_priority must be a number > 0 and finite. "
        "Got 0.0 at index 0 instead.",
    ),
    (
        lambda: mg1_priority(arrival_rates=[1.0], service_means=1.0, service_scvs=-1.0),
        "The 'service_scvs' argument of mg1_priority must be a finite number >= 0.",
    ),
    (
        lambda: mg1_priority(arrival_rates=[[1.0]], service_means=1.0, service_scvs=1.0),
        "The arguments of mg1_priority must be 1-d sequences with one value per class",
    ),
    (
        lambda: mm1_preemptive_priority(arrival_rates=[], service_rates=1.0),
        "(at least one class). Got shapes arrival_rates(0,), service_rates(), service_scvs()",
    ),
    (
        lambda: mm1_preemptive_priority(arrival_rates=[1.0], service_rates=[np.inf]),
        "The 'service_rates' argument of mm1_preemptive_priority must be a number > 0 and "
        "finite. Got inf at index 0 instead.",
    ),
]


@pytest.mark.parametrize(("call", "message"), BAD)
def test_bad_input_raises_with_the_template(call, message: str) -> None:
    """Bad input raises InvalidArgumentError naming the function, parameter and value."""
    with pytest.raises(InvalidArgumentError, match=re.escape(message)):
        call()
