"""Balancers: how a queue spreads messages over consumer instances.

With unlimited prefetch every live instance is a candidate for every message, so the
balancer alone decides the split (with prefetch 1 the free instance is the only choice).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from qsim.sim.engine import Replication
from tests.reference.ref_sim_theory import erlang_c_wait, mm1_wait
from tests.sim.simcheck import (
    ALPHA,
    assert_conserved,
    assert_covers,
    interval,
    replicate,
    scenario,
    values,
)

MU, C = 10.0, 3


def _spread(balancer: str, lam: float, duration: float, **extra: Any) -> Any:
    producer: dict[str, Any] = {"name": "p", "to": "q", "rate": lam}
    if "keys" in extra:
        producer["keys"] = extra.pop("keys")
    return scenario(
        [producer],
        [{"name": "q"}],
        [
            {
                "name": "c",
                "queue": "q",
                "instances": C,
                "prefetch": "unlimited",
                "balancer": balancer,
                "service": 1 / MU,
                **extra,
            }
        ],
        duration=duration,
        warmup=min(20.0, duration / 10),
    )


def _deliveries(rep: Replication, log: list[tuple[int, int]]) -> None:
    """Log (instance index, key) of every delivery of queue q."""
    q = rep.queues["q"]
    deliver = q._deliver

    def spy(inst: Any, msg: Any, now: float) -> None:
        if msg.delivered == 0:  # first delivery of this copy
            log.append((inst.index, msg.key))
        deliver(inst, msg, now)

    q._deliver = spy  # type: ignore[method-assign]


def _shares(balancer: str, seed: int, **extra: Any) -> list[tuple[int, int]]:
    log: list[tuple[int, int]] = []
    replicate(
        _spread(balancer, 20.0, 150.0, **extra),
        1,
        seed=seed,
        before=lambda rep: _deliveries(rep, log),
    )
    return log


def _chi2_pvalue(observed: np.ndarray, probs: np.ndarray) -> float:
    return float(stats.chisquare(observed, observed.sum() * probs).pvalue)


def test_round_robin_rotates_strictly() -> None:
    """Round robin with credit everywhere: message n goes to instance n mod c."""
    log = _shares("round-robin", 41)
    idx = np.array([i for i, _ in log])
    assert np.array_equal(idx, np.arange(idx.size) % C)


def test_random_split_is_uniform_and_queues_are_mm1() -> None:
    """Random with unlimited prefetch: each instance gets a Poisson(lambda / c) thinning of
    the arrivals, i.e. c independent M/M/1 queues."""
    lam = 24.0
    log = _shares("random", 42)
    counts = np.bincount([i for i, _ in log], minlength=C)
    assert _chi2_pvalue(counts, np.full(C, 1 / C)) > ALPHA
    reps = replicate(_spread("random", lam, 420.0), 10, seed=43)
    assert_covers(values(reps, "q", "wait_mean"), mm1_wait(lam / C, MU), "M/M/1 wait")
    for rep in reps:
        assert_conserved(rep)


def test_weighted_shares_follow_weights() -> None:
    """Weighted: instance i gets a share w_i / sum(w) of the messages."""
    w = np.array([1.0, 2.0, 5.0])
    log = _shares("weighted", 44, weights=list(w))
    counts = np.bincount([i for i, _ in log], minlength=C)
    assert _chi2_pvalue(counts, w / w.sum()) > ALPHA


def test_key_hash_pins_each_key_to_one_instance() -> None:
    """Key hash: every key always goes to the same instance (while all are up)."""
    log = _shares("key-hash", 45, keys={"dist": "uniform", "n": 25})
    owner: dict[int, set[int]] = {}
    for inst, key in log:
        owner.setdefault(key, set()).add(inst)
    assert len(owner) == 25
    assert all(len(s) == 1 for s in owner.values())
    assert len({next(iter(s)) for s in owner.values()}) == C  # keys spread over all


def test_key_hash_without_keys_rotates() -> None:
    """Key hash on keyless messages falls back to round robin."""
    idx = np.array([i for i, _ in _shares("key-hash", 46)])
    assert np.array_equal(idx, np.arange(idx.size) % C)


def test_dynamic_balancers_beat_random_at_high_load() -> None:
    """At rho = 0.9, least-loaded (join the shortest queue) and power-of-two choices wait
    less than a random split (c M/M/1 queues), and no less than one shared M/M/c line."""
    lam = 0.9 * C * MU
    waits = {}
    for k, bal in enumerate(("random", "least-loaded", "power-of-two")):
        reps = replicate(_spread(bal, lam, 200.0), 8, seed=47 + k)
        waits[bal] = values(reps, "q", "wait_mean")
        for rep in reps:
            assert_conserved(rep)
    assert_covers(waits["random"], mm1_wait(lam / C, MU), "random: M/M/1 wait")
    for bal in ("least-loaded", "power-of-two"):
        test = stats.ttest_ind(waits[bal], waits["random"], equal_var=False, alternative="less")
        assert test.pvalue < ALPHA, (bal, waits[bal], waits["random"])
        assert interval(waits[bal])[1] >= erlang_c_wait(lam, MU, C), bal
