"""Hypothesis strategies for small valid scenarios, as plain data (what a YAML file holds).

(To be merged into tests/strategies.py by the lead.)
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# Names include YAML's troublemakers: "yes", "null", "1e3", "on", "- x", "a: b", "#".
names = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True),
    st.sampled_from(
        ["yes", "no", "null", "on", "1e3", "0x1F", "- x", "a: b", "#tag", "été", "[q]"]
    ),
)
seconds = st.floats(1e-6, 1e6, allow_nan=False, allow_infinity=False)
per_second = st.floats(1e-4, 1e6, allow_nan=False, allow_infinity=False)
scvs = st.floats(0.01, 20.0)


def dists(duration: st.SearchStrategy[Any] = seconds) -> st.SearchStrategy[Any]:
    """Duration-valued distributions, sometimes as the bare-duration shorthand."""
    return st.one_of(
        duration,
        st.builds(lambda m: {"mean": m}, duration),
        st.builds(lambda v: {"dist": "deterministic", "value": v}, duration),
        st.builds(lambda m, k: {"dist": "erlang", "mean": m, "k": k}, duration, st.integers(1, 20)),
        st.builds(lambda m, c: {"dist": "gamma", "mean": m, "scv": c}, duration, scvs),
        st.builds(lambda m, c: {"dist": "lognormal", "mean": m, "scv": c}, duration, scvs),
        st.builds(
            lambda m, c: {"dist": "hyperexponential", "mean": m, "scv": 1 + c}, duration, scvs
        ),
        st.builds(lambda a, w: {"dist": "uniform", "low": a, "high": a + w}, duration, duration),
        st.builds(
            lambda xs: {"dist": "empirical", "samples": xs},
            st.lists(duration, min_size=1, max_size=5),
        ),
    )


def arrivals() -> st.SearchStrategy[tuple[Any, bool]]:
    """(arrival spec or None, whether the producer needs a rate)."""
    state = st.one_of(
        st.builds(lambda r, s: {"rate": r, "mean_sojourn": s}, per_second, seconds),
        st.builds(lambda r, s: {"rate": r, "switch_rate": s}, per_second, per_second),
    )
    return st.one_of(
        st.just((None, True)),
        st.sampled_from(
            [("poisson", True), ("deterministic", True), ({"process": "deterministic"}, True)]
        ),
        st.builds(
            lambda states: ({"process": "mmpp", "states": states}, False),
            st.lists(state, min_size=2, max_size=3),
        ),
        st.builds(
            lambda gaps, rates: (
                {
                    "process": "piecewise",
                    "rates": [{"at": sum(gaps[:i]), "rate": r} for i, r in enumerate(rates)],
                },
                False,
            ),
            st.lists(st.integers(1, 10_000), min_size=3, max_size=3),
            st.lists(per_second, min_size=1, max_size=3),
        ),
        st.builds(
            lambda a, p: ({"process": "diurnal", "amplitude": a, "peak": p}, True),
            st.floats(0, 1),
            st.floats(0, 86399),
        ),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A small valid scenario: 1-3 queues (maybe a fanout exchange), producers, consumers."""
    all_names = draw(st.lists(names, min_size=8, max_size=8, unique=True))
    queues = all_names[: draw(st.integers(1, 3))]
    exchange = all_names[3] if draw(st.booleans()) else None
    targets = queues + ([exchange] if exchange else [])
    producers = []
    for i in range(draw(st.integers(1, 2))):
        arrival, needs_rate = draw(arrivals())
        p: dict[str, Any] = {"name": all_names[4 + i], "to": draw(st.sampled_from(targets))}
        if arrival is not None:
            p["arrival"] = arrival
        if needs_rate:
            p["rate"] = draw(per_second)
        if draw(st.booleans()):
            p["keys"] = {
                "dist": "zipf",
                "n": draw(st.integers(1, 10**6)),
                "s": draw(st.floats(0, 3)),
            }
        producers.append(p)
    broker: dict[str, Any] = {
        "name": all_names[6],
        "queues": [
            {
                "name": q,
                "capacity": draw(st.none() | st.integers(1, 10**6)),
                "ttl": draw(st.none() | seconds),
                "durable": draw(st.booleans()),
            }
            for q in queues
        ],
    }
    if exchange:
        broker["exchanges"] = [{"name": exchange, "type": "fanout", "bindings": queues}]
    consumers = []
    for i, q in enumerate(draw(st.lists(st.sampled_from(queues), max_size=2))):
        consumers.append(
            {
                "name": f"{all_names[7]}{i}",
                "queue": q,
                "instances": draw(st.integers(1, 64)),
                "prefetch": draw(st.sampled_from([1, 10, "unlimited"])),
                "service": draw(dists()),
                "fail_probability": draw(st.floats(0, 1)),
                "retry": {"max_retries": draw(st.integers(0, 5)), "delay": draw(seconds)},
            }
        )
    duration = draw(st.floats(1.0, 1e7))
    data: dict[str, Any] = {
        "name": draw(names),
        "seed": draw(st.none() | st.integers(0, 2**63)),
        "duration": duration,
        "warmup": draw(st.floats(0, 0.99)) * duration,
        "replications": draw(st.integers(1, 100)),
        "load": draw(st.floats(0.01, 100)),
        "producers": producers,
        "brokers": [broker],
        "consumers": consumers,
    }
    if draw(st.booleans()):
        data["slo"] = {"p99_response": draw(seconds), "max_loss": draw(st.floats(0, 1))}
    return data
