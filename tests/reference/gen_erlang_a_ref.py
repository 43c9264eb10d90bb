"""Generate erlang_a_mpmath_ref.json: Erlang A (M/M/c+M) figures at 40 digits.

Independent of qsim: every value comes from :func:`tests.reference.ref_erlang_a.erlang_a_chain`,
the birth-death chain summed state by state in mpmath. Service rate 2 per second;
theta is given relative to it. Rows cover one server, Erlang-B-like impatience,
M/M/c-like patience (where the closed forms cancel), critical and 3x overload, and
c up to 10^4.

Run:  .venv/bin/python -m tests.reference.gen_erlang_a_ref   (about a minute)
"""

from __future__ import annotations

import json
from pathlib import Path

import mpmath as mp

from tests.reference.ref_erlang_a import erlang_a_chain

OUT = Path(__file__).with_name("erlang_a_mpmath_ref.json")
MU = 2.0
# (servers, offered load a / c, theta / mu)
CASES = [
    (1, 0.5, 1.0),  # one server, patience = service time
    (1, 5.0, 0.1),  # one server, 5x overload
    (3, 0.2, 1000.0),  # nearly Erlang B: waiting messages leave at once
    (10, 1.0, 0.25),  # critically loaded
    (10, 0.9, 1e-4),  # nearly M/M/c: the closed form for Lq would cancel
    (10, 0.999, 1e-6),  # M/M/c-like at rho = 0.999
    (10, 1.5, 0.1),  # overload, patient
    (50, 1.2, 1e-3),  # overload, very patient: the queue mode is far out
    (100, 0.5, 2.0),  # light traffic
    (100, 3.0, 10.0),  # 3x overload, impatient
    (500, 0.95, 0.05),  # large, efficient
    (1000, 1.02, 0.01),  # quality-and-efficiency-driven regime
    (10000, 0.9, 1.0),  # very large, underloaded
    (10000, 1.0, 0.1),  # very large, critical
    (10000, 3.0, 0.5),  # very large, 3x overload
]
FIELDS = ("p_wait", "Lq", "L", "Wq", "throughput", "p_abandon", "Wq_served")


def main() -> None:
    rows = []
    for c, load, th in CASES:
        lam, theta = load * c * MU, th * MU
        r = erlang_a_chain(lam, MU, c, theta)
        row: dict[str, object] = {
            "servers": c,
            "arrival_rate": lam,
            "service_rate": MU,
            "abandonment_rate": theta,
        }
        row.update({k: mp.nstr(r[k], 25) for k in FIELDS})
        rows.append(row)
        print(c, load, th, int(r["states"]), flush=True)
    OUT.write_text(json.dumps({"cases": rows}, indent=1) + "\n")
    print(f"wrote {len(rows)} cases to {OUT}")


if __name__ == "__main__":
    main()
