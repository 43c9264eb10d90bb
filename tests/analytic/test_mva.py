"""Mean Value Analysis against brute-force closed Markov chains and closed forms."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsim.analytic.mva import MVAResult, mva
from qsim.errors import InvalidArgumentError
from tests.reference import ref_ctmc

REL = 1e-10
INF = math.inf

# Closed networks as CTMCs: (service rates, servers, routing, reference station,
# think station or None). Demands follow as D_k = visits_k / mu_k with visits relative
# to the reference station, which is visited once per cycle.
CLOSED = {
    # central server: terminals (Z = 2 s) -> cpu -> disk1 | disk2 | back to terminals
    "central-server": (
        [0.5, 20.0, 6.0, 5.0],
        [INF, 1, 1, 1],
        [[0, 1, 0, 0], [0.2, 0, 0.5, 0.3], [0, 1, 0, 0], [0, 1, 0, 0]],
        0,
        0,
    ),
    # the same with two and three servers at the disks
    "central-server-multi": (
        [0.5, 20.0, 6.0, 5.0],
        [INF, 1, 2, 3],
        [[0, 1, 0, 0], [0.2, 0, 0.5, 0.3], [0, 1, 0, 0], [0, 1, 0, 0]],
        0,
        0,
    ),
    # no think time: a 2-server cpu, a disk and a network delay inside the cycle
    "no-think-delay-inside": (
        [10.0, 4.0, 2.0],
        [2, 1, INF],
        [[0, 0.6, 0.4], [1, 0, 0], [1, 0, 0]],
        0,
        None,
    ),
    # three multi-server queues, one with more servers (6) than customers
    "three-multi": (
        [1.0, 3.0, 2.0, 1.5],
        [INF, 6, 3, 2],
        [[0, 0.5, 0.3, 0.2], [1, 0, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0]],
        0,
        0,
    ),
}


def _mva_for(name: str, population: int) -> tuple[MVAResult, list[int]]:
    mu, servers, P, ref, think = CLOSED[name]
    visits = ref_ctmc.visit_ratios(P, ref)
    stations = [k for k in range(len(mu)) if k != think]
    demands = [float(visits[k] / mp.mpf(mu[k])) for k in stations]
    Z = 0.0 if think is None else float(visits[think] / mp.mpf(mu[think]))
    types = ["delay" if math.isinf(servers[k]) else "queue" for k in stations]
    result = mva(
        service_demands=demands,
        population=population,
        station_types=types,
        think_time=Z,
        servers=[servers[k] for k in stations],
    )
    return result, stations


@pytest.mark.parametrize("name", list(CLOSED))
@pytest.mark.parametrize("population", [1, 2, 3, 5])
def test_matches_closed_ctmc(name: str, population: int) -> None:
    """Throughput, response time and every queue length agree with the CTMC to 1e-10."""
    mu, servers, P, ref, _ = CLOSED[name]
    X, L = ref_ctmc.closed_network_ctmc(mu, servers, P, population, ref)
    result, stations = _mva_for(name, population)
    Z = result.think_time
    assert result.throughput[-1] == pytest.approx(float(X), rel=REL)
    assert result.response_time[-1] == pytest.approx(float(population / X - Z), rel=REL)
    assert result.queue_length[-1] == pytest.approx([float(L[k]) for k in stations], rel=REL)


def test_every_population_matches_ctmc() -> None:
    """Row n - 1 of the result is the network with n customers (n = 1..5), per the CTMC."""
    mu, servers, P, ref, _ = CLOSED["central-server-multi"]
    result, stations = _mva_for("central-server-multi", 5)
    for n in range(1, 6):
        X, L = ref_ctmc.closed_network_ctmc(mu, servers, P, n, ref)
        assert result.throughput[n - 1] == pytest.approx(float(X), rel=REL)
        assert result.queue_length[n - 1] == pytest.approx([float(L[k]) for k in stations], rel=REL)


@pytest.mark.parametrize(
    ("service_time", "think_time", "servers", "population"),
    [
        # M/M/1//N, light load
        (1.0, 5.0, 1, 30),
        # M/M/1//N, saturated far beyond N* = 16
        (0.2, 3.0, 1, 100),
        # four repairmen
        (1.0, 2.0, 4, 40),
        # twenty servers deep in saturation, where p(0|n) = 1 - sum p(j|n) fails
        (1.0, 1.0, 20, 200),
    ],
)
def test_machine_repairman_matches_closed_form(
    service_time: float, think_time: float, servers: int, population: int
) -> None:
    """One c-server queue + think time equals the finite-source M/M/c//N formula for all n."""
    result = mva(
        service_demands=[service_time],
        population=population,
        think_time=think_time,
        servers=servers,
    )
    for n in range(1, population + 1):
        X, L = ref_ctmc.machine_repairman(service_time, think_time, servers, n)
        assert result.throughput[n - 1] == pytest.approx(float(X), rel=REL)
        assert result.queue_length[n - 1, 0] == pytest.approx(float(L), rel=REL)
        R = n / X - think_time
        assert result.residence_time[n - 1, 0] == pytest.approx(float(R), rel=REL)


@pytest.mark.parametrize("stations", [1, 2, 5])
def test_balanced_network_closed_form(stations: int) -> None:
    """K equal queues, no think time: X(n) = n / ((n + K - 1) D) (Lazowska et al., ch. 5)."""
    D = 0.3
    result = mva(service_demands=[D] * stations, population=50)
    n = np.arange(1, 51)
    assert result.throughput == pytest.approx(n / ((n + stations - 1) * D), rel=1e-13)
    assert result.queue_length == pytest.approx(np.outer(n / stations, np.ones(stations)))


def test_delays_only_never_queue() -> None:
    """With delay stations only, X(n) = n / (D + Z) and Q_k = X D_k; no bottleneck."""
    D = np.array([0.2, 0.5])
    result = mva(service_demands=D, population=10, station_types=["delay", "delay"], think_time=1.0)
    n = np.arange(1, 11)
    assert result.throughput == pytest.approx(n / 1.7, rel=1e-14)
    assert result.queue_length == pytest.approx(np.outer(n / 1.7, D), rel=1e-14)
    assert result.bottleneck is None
    assert result.n_star == INF
    assert np.all(result.utilization == 0.0)


def test_throughput_tends_to_bottleneck_capacity() -> None:
    """As N grows, X(N) -> min_k c_k / D_k, the capacity of the bottleneck."""
    result = mva(
        service_demands=[0.05, 0.08, 0.12], servers=[1, 1, 2], think_time=1.0, population=3000
    )
    assert result.throughput[-1] == pytest.approx(1 / 0.08, rel=1e-9)
    assert result.bottleneck == "station_1"
    assert result.utilization[-1] == pytest.approx([0.625, 1.0, 0.75], rel=1e-9)


@st.composite
def networks(draw: st.DrawFn) -> dict:
    K = draw(st.integers(1, 5))
    demands = [draw(st.floats(1e-3, 2.0)) for _ in range(K)]
    types = [draw(st.sampled_from(["queue", "queue", "delay"])) for _ in range(K)]
    servers = [1 if t == "delay" else draw(st.sampled_from([1, 1, 2, 3, 7])) for t in types]
    return {
        "service_demands": demands,
        "station_types": types,
        "servers": servers,
        "think_time": draw(st.sampled_from([0.0, draw(st.floats(1e-3, 10.0))])),
        "population": draw(st.integers(1, 60)),
    }


@settings(max_examples=80, deadline=None)
@given(networks())
def test_asymptotic_bounds_hold_for_every_population(args: dict) -> None:
    """X(n) <= min(n/(D+Z), 1/D_max) and R(n) >= max(D, n D_max - Z) for every n."""
    r = mva(**args)
    D = np.array(args["service_demands"])
    Z = args["think_time"]
    queue = np.array([t == "queue" for t in args["station_types"]])
    per_server = np.where(queue, D / np.array(args["servers"]), 0.0)
    d_max = per_server.max()
    n = np.arange(1, args["population"] + 1)
    x_cap = n / (D.sum() + Z)
    if d_max > 0:
        x_cap = np.minimum(x_cap, 1 / d_max)
        assert r.n_star == pytest.approx((D.sum() + Z) / d_max, rel=1e-14)
    r_floor = np.maximum(D.sum(), n * d_max - Z)
    assert r.throughput_bound == pytest.approx(x_cap, rel=1e-14)
    assert r.response_bound == pytest.approx(r_floor, rel=1e-14)
    assert np.all(r.throughput <= x_cap * (1 + 1e-12))
    assert np.all(r.response_time >= r_floor * (1 - 1e-12))


@settings(max_examples=80, deadline=None)
@given(networks())
def test_throughput_nondecreasing_in_population(args: dict) -> None:
    """Adding a customer never lowers throughput; utilizations stay <= 1."""
    r = mva(**args)
    assert np.all(np.diff(r.throughput) >= -1e-12 * r.throughput[1:])
    assert np.all(r.utilization <= 1 + 1e-12)


@settings(max_examples=80, deadline=None)
@given(networks())
def test_littles_law_and_population_conservation(args: dict) -> None:
    """Q_k = X R_k at every station, and sum_k Q_k + X Z = n (every customer is somewhere)."""
    r = mva(**args)
    n = np.arange(1, args["population"] + 1)
    assert r.queue_length == pytest.approx(r.throughput[:, None] * r.residence_time, rel=1e-12)
    total = r.queue_length.sum(axis=1) + r.throughput * args["think_time"]
    assert total == pytest.approx(n, rel=1e-11)


def test_to_frame_is_tidy() -> None:
    """to_frame has one row per (population, station) with network columns repeated."""
    r = mva(service_demands=[0.1, 0.2], population=3, names=["cpu", "disk"])
    frame = r.to_frame()
    assert len(frame) == 6
    assert list(frame["population"]) == [1, 1, 2, 2, 3, 3]
    assert list(frame["station"]) == ["cpu", "disk"] * 3
    assert frame["queue_length"].to_numpy() == pytest.approx(r.queue_length.ravel())
    assert frame["throughput"].to_numpy() == pytest.approx(np.repeat(r.throughput, 2))
    assert r.bottleneck == "disk"


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        # a zero demand
        (
            {"service_demands": [0.1, 0.0]},
            r"'service_demands' argument of mva must be a "
            r"number > 0 and finite\. Got '?0\.0 at index 1'? instead",
        ),
        # demands as a matrix
        ({"service_demands": [[0.1]]}, r"1-D array with one demand per station\. Got shape"),
        # no customers
        ({"population": 0}, r"'population' argument of mva must be an integer >= 1\. Got 0"),
        # half a customer
        ({"population": 2.5}, r"'population' argument of mva must be an integer >= 1\. Got 2\.5"),
        # several populations at once
        ({"population": [1, 2]}, r"'population' argument of mva must be a single integer"),
        # an unknown station type
        (
            {"station_types": ["queue", "fifo"]},
            r"'station_types' argument of mva must be 2 "
            r"of 'queue' or 'delay'",
        ),
        # negative think time
        ({"think_time": -1.0}, r"'think_time' argument of mva must be a finite number >= 0"),
        # zero servers
        (
            {"servers": [1, 0]},
            r"'servers' argument of mva must be an integer >= 1 or inf\. "
            r"Got '?0(\.0)? at index 1'? instead",
        ),
        # servers of the wrong length
        ({"servers": [1, 1, 1]}, r"'servers'.*length 2.*Got shape \(3,\)"),
        # a delay station given finite servers
        (
            {"station_types": ["queue", "delay"], "servers": [1, 4]},
            r"1 or inf at a delay station\. Got 4 at index 1 instead",
        ),
        # names that repeat
        ({"names": ["a", "a"]}, r"'names' argument of mva must be 2 distinct strings"),
    ],
)
def test_bad_input_raises_with_template(kw: dict, message: str) -> None:
    """Invalid arguments raise InvalidArgumentError naming function, argument and value."""
    args: dict = {"service_demands": [0.1, 0.2], "population": 3}
    args.update(kw)
    with pytest.raises(InvalidArgumentError, match=message):
        mva(**args)


def test_too_many_multiserver_stations_rejected() -> None:
    """More than 10 multi-server stations (2**M sub-networks) is refused with a reason."""
    with pytest.raises(InvalidArgumentError, match=r"no more than 10 stations.*Got 11 such"):
        mva(service_demands=[0.1] * 11, servers=2, population=2)
