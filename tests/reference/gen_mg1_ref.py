"""Generate mg1_mpmath_ref.json: M/lognormal/1 waiting-time tails by Stehfest inversion.

Run from the repository root: ``.venv/bin/python -m tests.reference.gen_mg1_ref``.
Each value is computed with two Stehfest degrees; their difference is stored as
``err`` (an estimate of the reference's own error) and the test tolerance covers it.
"""

from __future__ import annotations

import json
from pathlib import Path

import mpmath as mp

from tests.reference.ref_mg1 import lognormal_wait_tail

# (arrival rate 1/s, mean service s, scv, times s): DESIGN.md's 50 ms / scv 1.5 consumer
# at 80 % load, and a heavier-tailed service at 50 % load.
CASES = [
    (16.0, 0.05, 1.5, [0.005, 0.05, 0.2, 0.5, 1.0]),
    (0.5, 1.0, 4.0, [0.1, 1.0, 5.0, 20.0]),
]


def main() -> None:
    rows = []
    for lam, mean, scv, times in CASES:
        for t in times:
            a = lognormal_wait_tail(lam, mean, scv, t, degree=30)
            b = lognormal_wait_tail(lam, mean, scv, t, degree=36)
            rows.append(
                {
                    "arrival_rate": lam,
                    "service_mean": mean,
                    "service_scv": scv,
                    "t": t,
                    "wait_tail": mp.nstr(b, 20),
                    "err": float(abs(a - b) / b),
                }
            )
            print(rows[-1], flush=True)
    path = Path(__file__).with_name("mg1_mpmath_ref.json")
    path.write_text(
        json.dumps(
            {
                "generator": "tests/reference/gen_mg1_ref.py",
                "method": "Stehfest inversion of the P-K transform, mpmath",
                "rows": rows,
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
