"""Open Jackson networks against hand formulas, mpmath and a truncated Markov chain."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsim.analytic.jackson import NetworkMetrics, jackson
from qsim.errors import InvalidArgumentError
from tests.reference import ref_ctmc

# A 3-station network with feedback (station 2 -> itself) and cycles (0 <-> 1, 0 <-> 2),
# one M/M/2 station. Utilizations 0.34, 0.37, 0.29.
GAMMA = [2.0, 1.0, 0.5]
ROUTING = [[0.0, 0.5, 0.2], [0.3, 0.0, 0.4], [0.2, 0.1, 0.1]]
MU = [10.0, 4.0, 9.0]
SERVERS = [1, 2, 1]
# NOTE: truncation bound. Beyond these caps the product-form mass is < 1e-10 per
# station (asserted below); the truncated chain then gives L to ~1e-9 relative.
CAPS = (24, 24, 22)


@pytest.fixture(scope="module")
def feedback_ctmc() -> np.ndarray:
    return ref_ctmc.open_network_ctmc(GAMMA, ROUTING, MU, SERVERS, CAPS)


@pytest.fixture(scope="module")
def feedback_net() -> NetworkMetrics:
    return jackson(arrival_rates=GAMMA, routing=ROUTING, service_rates=MU, servers=SERVERS)


def test_tandem_of_two_mm1_matches_hand_formulas() -> None:
    """Tandem M/M/1 -> M/M/1: L_i = rho_i/(1-rho_i), W_i = 1/(mu_i-lambda), sojourn = sum W_i."""
    lam, mu1, mu2 = mp.mpf(3), mp.mpf(5), mp.mpf(4)
    net = jackson(arrival_rates=[3.0, 0.0], routing=[[0, 1], [0, 0]], service_rates=[5.0, 4.0])
    W1, W2 = 1 / (mu1 - lam), 1 / (mu2 - lam)
    expect_L = [lam / mu1 / (1 - lam / mu1), lam / mu2 / (1 - lam / mu2)]
    assert net.arrival_rate == pytest.approx([3.0, 3.0], rel=1e-15)
    assert net.L == pytest.approx([float(x) for x in expect_L], rel=1e-13)
    assert net.W == pytest.approx([float(W1), float(W2)], rel=1e-13)
    assert net.Wq == pytest.approx([float(W1 - 1 / mu1), float(W2 - 1 / mu2)], rel=1e-13)
    assert net.sojourn == pytest.approx(float(W1 + W2), rel=1e-13)
    assert net.entry_sojourn == pytest.approx([float(W1 + W2), float(W2)], rel=1e-13)
    assert net.L_total == pytest.approx(float(expect_L[0] + expect_L[1]), rel=1e-13)
    assert net.throughput == 3.0
    assert net.bottleneck == "station_1"
    assert net.stable is True
    assert net.method == "exact"


def test_single_station_feedback_matches_hand_formula() -> None:
    """M/M/1 with feedback p: lambda = gamma/(1-p), sojourn = W/(1-p), W = 1/(mu-lambda)."""
    gamma, p, mu = 2.0, 0.25, 4.0
    net = jackson(arrival_rates=[gamma], routing=[[p]], service_rates=[mu])
    lam = gamma / (1 - p)
    W = 1 / (mu - lam)
    assert net.arrival_rate[0] == pytest.approx(lam, rel=1e-14)
    assert net.visit_ratio[0] == pytest.approx(1 / (1 - p), rel=1e-14)
    assert net.W[0] == pytest.approx(W, rel=1e-13)
    assert net.sojourn == pytest.approx(W / (1 - p), rel=1e-13)
    assert net.entry_sojourn[0] == pytest.approx(W / (1 - p), rel=1e-13)


def test_truncation_leaves_negligible_mass() -> None:
    """Product-form mass at or beyond the CTMC caps is below 1e-10 at every station."""
    lam = ref_ctmc.traffic_rates(GAMMA, ROUTING)
    for i, cap in enumerate(CAPS):
        pmf = ref_ctmc.mmc_pmf(lam[i], MU[i], SERVERS[i], cap)
        assert 1 - mp.fsum(pmf[:cap]) < 1e-10


def test_feedback_network_matches_truncated_ctmc(
    feedback_ctmc: np.ndarray, feedback_net: NetworkMetrics
) -> None:
    """Mean number per station and network sojourn agree with the brute-force CTMC to 1e-8."""
    L = np.array(ref_ctmc.marginal_means(feedback_ctmc))
    assert feedback_net.L == pytest.approx(L, rel=1e-8)
    assert feedback_net.L_total == pytest.approx(L.sum(), rel=1e-8)
    assert feedback_net.sojourn == pytest.approx(L.sum() / sum(GAMMA), rel=1e-8)


def test_traffic_equations_match_mpmath(feedback_net: NetworkMetrics) -> None:
    """Total arrival rates solve lambda = gamma + P^T lambda (mpmath solve) to 1e-13."""
    lam = [float(x) for x in ref_ctmc.traffic_rates(GAMMA, ROUTING)]
    assert feedback_net.arrival_rate == pytest.approx(lam, rel=1e-13)
    assert feedback_net.visit_ratio == pytest.approx(np.array(lam) / sum(GAMMA), rel=1e-13)


def test_ctmc_is_product_of_mmc_marginals(
    feedback_ctmc: np.ndarray, feedback_net: NetworkMetrics
) -> None:
    """The CTMC's joint law is the product of M/M/c_i marginals with the solved lambda_i."""
    pi = feedback_ctmc
    marginals = []
    for i in range(3):
        other = tuple(a for a in range(3) if a != i)
        got = pi.sum(axis=other)
        pmf = ref_ctmc.mmc_pmf(mp.mpf(feedback_net.arrival_rate[i]), MU[i], SERVERS[i], CAPS[i])
        expect = np.array([float(x) for x in pmf])
        assert np.max(np.abs(got - expect)) < 1e-10
        marginals.append(expect)
    product = np.einsum("i,j,k->ijk", *marginals)
    assert np.max(np.abs(pi - product)) < 1e-10


def test_delay_station_matches_ctmc() -> None:
    """An M/M/1 and an M/M/inf station with feedback agree with the CTMC to 1e-10."""
    gamma, P, mu, c = [1.5, 0.5], [[0.0, 0.6], [0.3, 0.1]], [5.0, 2.0], [1, math.inf]
    pi = ref_ctmc.open_network_ctmc(gamma, P, mu, c, (40, 40))
    L = np.array(ref_ctmc.marginal_means(pi))
    net = jackson(arrival_rates=gamma, routing=P, service_rates=mu, servers=c)
    assert net.L == pytest.approx(L, rel=1e-10)
    assert net.W[1] == pytest.approx(0.5, rel=1e-15)
    assert net.Wq[1] == 0.0 and net.Lq[1] == 0.0
    assert net.utilization[1] == 0.0
    assert net.bottleneck == "station_0"


@pytest.mark.parametrize(
    ("gamma", "routing", "visits"),
    [
        # one station, feedback 0.5: two visits on average
        ([1.0], [[0.5]], [2.0]),
        # tandem: each station once
        ([1.0, 0.0], [[0, 1], [0, 0]], [1.0, 1.0]),
        # split 30 / 70 after the first station
        ([2.0, 0.0, 0.0], [[0, 0.3, 0.7], [0, 0, 0], [0, 0, 0]], [1.0, 0.3, 0.7]),
        # two independent entry points, one quarter of the traffic at the first
        ([1.0, 3.0], [[0, 0], [0, 0]], [0.25, 0.75]),
        # 0 -> 1 always, 1 -> 0 half the time: geometric number of round trips
        ([1.0, 0.0], [[0, 1], [0.5, 0]], [2.0, 2.0]),
    ],
)
def test_visit_ratios(gamma: list, routing: list, visits: list) -> None:
    """visit_ratio = lambda_i / sum(gamma) equals the hand-computed mean visits."""
    net = jackson(arrival_rates=gamma, routing=routing, service_rates=100.0)
    assert net.visit_ratio == pytest.approx(visits, rel=1e-14, abs=1e-15)


@pytest.mark.parametrize(
    ("gamma", "routing", "mu", "unstable"),
    [
        # second station exactly at utilization 1
        ([3.0, 0.0], [[0, 1], [0, 0]], [5.0, 3.0], [False, True]),
        # 0.5 feedback doubles the load of a station that would be at 0.6
        ([3.0], [[0.5]], [5.0], [True]),
        # first station overloaded, the second fine
        ([6.0, 1.0], [[0, 0], [0, 0]], [5.0, 5.0], [True, False]),
    ],
)
def test_unstable_station_gives_inf(gamma: list, routing: list, mu: list, unstable: list) -> None:
    """Utilization >= 1 flags the station and makes its and the network's means inf."""
    net = jackson(arrival_rates=gamma, routing=routing, service_rates=mu)
    bad = np.array(unstable)
    assert list(net.station_stable) == list(~bad)
    for field in ("L", "Lq", "W", "Wq"):
        assert np.all(np.isinf(getattr(net, field)[bad]))
        assert np.all(np.isfinite(getattr(net, field)[~bad]))
    assert net.stable is False
    assert math.isinf(net.L_total) and math.isinf(net.sojourn)
    assert np.all(np.isinf(net.entry_sojourn))
    assert net.throughput == pytest.approx(sum(gamma))
    assert net.bottleneck == net.names[int(np.argmax(bad))]


@pytest.mark.parametrize(
    ("routing", "trapped"),
    [
        # two stations passing messages back and forth forever
        ([[0, 1], [1, 0]], "'a', 'b'"),
        # station c keeps every message it gets; a and b can still reach the exit
        ([[0, 0.5, 0.5], [0, 0, 0], [0, 0, 1]], "'c'"),
        # b feeds c, c feeds b: both trapped, a leaks
        ([[0, 0.5, 0], [0, 0, 1], [0, 1, 0]], "'b', 'c'"),
    ],
)
def test_routing_without_exit_is_rejected(routing: list, trapped: str) -> None:
    """A routing matrix with stations that can never reach the exit raises, naming them."""
    n = len(routing)
    with pytest.raises(InvalidArgumentError, match=f"Got stations {trapped} from which"):
        jackson(
            arrival_rates=[1.0] + [0.0] * (n - 1),
            routing=routing,
            service_rates=10.0,
            names=["a", "b", "c"][:n],
        )


def test_rounding_leak_counts_as_no_exit() -> None:
    """Rows that sum to 1 up to rounding (0.7 + 0.2 + 0.1) count as closed, not leaking."""
    P = np.array([[0.7, 0.2, 0.1]] * 3)
    assert P.sum(axis=1)[0] < 1.0
    with pytest.raises(InvalidArgumentError, match="never leave"):
        jackson(arrival_rates=np.ones(3), routing=P, service_rates=10.0)


def _call(**kw: object) -> NetworkMetrics:
    args: dict = {
        "arrival_rates": [1.0, 0.0],
        "routing": [[0.0, 0.5], [0.0, 0.0]],
        "service_rates": [5.0, 5.0],
    }
    args.update(kw)
    return jackson(**args)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        # negative external rate
        (
            {"arrival_rates": [-1.0, 0.0]},
            r"'arrival_rates' argument of jackson must be a finite "
            r"number >= 0\. Got '?-1\.0 at index 0'? instead",
        ),
        # nothing enters the network
        ({"arrival_rates": [0.0, 0.0]}, r"rates with a positive total\. Got \[0\.0, 0\.0\]"),
        # a matrix of rates instead of a vector
        ({"arrival_rates": [[1.0, 0.0]]}, r"1-D array with one rate per station\. Got shape"),
        # routing of the wrong shape
        (
            {"routing": [[0.5]]},
            r"'routing' argument of jackson must be a square matrix of "
            r"shape \(2, 2\).*Got shape \(1, 1\) instead",
        ),
        # probability above 1
        (
            {"routing": [[0.0, 1.5], [0.0, 0.0]]},
            r"probabilities in \[0, 1\]\. Got 1\.5 at "
            r"index \(0, 1\)",
        ),
        # negative probability
        ({"routing": [[0.0, -0.1], [0.0, 0.0]]}, r"probabilities in \[0, 1\]\. Got -0\.1"),
        # NaN probability
        ({"routing": [[0.0, np.nan], [0.0, 0.0]]}, r"probabilities in \[0, 1\]\. Got nan"),
        # row sum above 1
        ({"routing": [[0.6, 0.6], [0.0, 0.0]]}, r"row sums <= 1.*Got row sum 1\.2 at row 0"),
        # zero service rate
        (
            {"service_rates": [5.0, 0.0]},
            r"'service_rates' argument of jackson must be a number "
            r"> 0 and finite\. Got '?0\.0 at index 1'? instead",
        ),
        # one service rate too many
        ({"service_rates": [5.0, 5.0, 5.0]}, r"'service_rates'.*length 2.*Got shape \(3,\)"),
        # no servers
        ({"servers": 0}, r"'servers' argument of jackson must be an integer >= 1 or inf\. Got 0"),
        # fractional servers
        ({"servers": [1, 1.5]}, r"integer >= 1 or inf\. Got '?1\.5 at index 1'? instead"),
        # duplicate names
        ({"names": ["a", "a"]}, r"'names' argument of jackson must be 2 distinct strings"),
        # too few names
        ({"names": ["a"]}, r"2 distinct strings \(one per station\)\. Got \['a'\]"),
    ],
)
def test_bad_input_raises_with_template(kw: dict, message: str) -> None:
    """Invalid arguments raise InvalidArgumentError naming function, argument and value."""
    with pytest.raises(InvalidArgumentError, match=message):
        _call(**kw)


def test_to_frame_has_one_row_per_station(feedback_net: NetworkMetrics) -> None:
    """to_frame gives one row per station with the per-station fields as columns."""
    frame = feedback_net.to_frame()
    assert list(frame["name"]) == ["station_0", "station_1", "station_2"]
    assert {
        "arrival_rate",
        "visit_ratio",
        "utilization",
        "L",
        "Lq",
        "W",
        "Wq",
        "stable",
        "entry_sojourn",
        "servers",
    } <= set(frame.columns)
    assert frame["L"].to_numpy() == pytest.approx(feedback_net.L)


@st.composite
def stable_networks(draw: st.DrawFn) -> dict:
    n = draw(st.integers(1, 4))

    def values(lo: float, hi: float, size: int) -> np.ndarray:
        # NOTE: values below 1e-9 become 0: mmc warns on subnormal loads (reported).
        x = np.array([draw(st.floats(lo, hi)) for _ in range(size)])
        return np.where(x < 1e-9, 0.0, x)

    keep = np.array([draw(st.booleans()) for _ in range(n * n)]).reshape(n, n)
    P = values(0.0, 1.0, n * n).reshape(n, n) * keep
    sums = P.sum(axis=1, keepdims=True)
    stay = 1.0 - values(0.05, 1.0, n)[:, None]
    P = np.divide(P, sums, out=np.zeros_like(P), where=sums > 0) * stay
    gamma = values(0.0, 5.0, n)
    gamma[draw(st.integers(0, n - 1))] += 0.5
    servers = np.array([draw(st.sampled_from([1, 2, 3, 8, math.inf])) for _ in range(n)])
    rho = values(0.05, 0.97, n)
    lam = np.linalg.solve(np.eye(n) - P.T, gamma)
    c_eff = np.where(np.isinf(servers), 1.0, servers)
    mu = np.maximum(lam, 1e-3) / (c_eff * rho)
    return {"arrival_rates": gamma, "routing": P, "service_rates": mu, "servers": servers}


@settings(max_examples=60, deadline=None)
@given(stable_networks())
def test_littles_law_per_station_and_network(args: dict) -> None:
    """L = lambda W and Lq = lambda Wq per station; L_total = throughput x sojourn."""
    net = jackson(**args)
    assert net.stable
    assert net.L == pytest.approx(net.arrival_rate * net.W, rel=1e-12, abs=1e-300)
    assert net.Lq == pytest.approx(net.arrival_rate * net.Wq, rel=1e-12, abs=1e-300)
    assert net.L_total == pytest.approx(net.throughput * net.sojourn, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(stable_networks())
def test_entry_sojourns_average_to_network_sojourn(args: dict) -> None:
    """The gamma-weighted mean of the entry sojourns is the network sojourn (Little)."""
    net = jackson(**args)
    gamma = net.external_rate
    assert np.dot(gamma, net.entry_sojourn) / gamma.sum() == pytest.approx(net.sojourn, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(stable_networks(), st.floats(1.01, 3.0))
def test_faster_service_shortens_sojourn(args: dict, speedup: float) -> None:
    """Multiplying every service rate by s > 1 lowers the mean sojourn."""
    slow = jackson(**args)
    fast = jackson(**{**args, "service_rates": args["service_rates"] * speedup})
    assert fast.sojourn < slow.sojourn
