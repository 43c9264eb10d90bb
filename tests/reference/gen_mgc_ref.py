"""Generate mgc_exact_ref.json: exact M/D/c, M/E2/c and M/H2/c mean waits.

Independent of qsim. M/D/c from the roots of z^c = exp(a (z - 1)) at 40 digits
(:func:`tests.reference.ref_mdc.mdc_roots`, Crommelin 1932); M/E2/c (service scv 0.5)
and M/H2/c (balanced-means hyperexponential, scv 2) from the queue written out as a
continuous-time Markov chain and solved by sparse LU (:mod:`tests.reference.ref_mphc`,
float64, truncation mass checked below 1e-14). Mean service time 1 s throughout.

Run:  .venv/bin/python -m tests.reference.gen_mgc_ref   (about two minutes)
"""

from __future__ import annotations

import json
from pathlib import Path

import mpmath as mp

from tests.reference.ref_mdc import mdc_roots
from tests.reference.ref_mphc import erlang_phases, h2_phases, mphc

OUT = Path(__file__).with_name("mgc_exact_ref.json")
MDC_SERVERS = [1, 2, 5, 10, 20, 50]
MDC_RHOS = ["0.3", "0.5", "0.8", "0.9", "0.95", "0.99"]
PH_SERVERS = [2, 5, 10]
PH_RHOS = ["0.5", "0.8", "0.95"]


def main() -> None:
    cases: list[dict[str, object]] = []
    for c in MDC_SERVERS:
        for rho in MDC_RHOS:
            lam = mp.mpf(rho) * c
            r = mdc_roots(lam, 1.0, c)
            cases.append(
                {
                    "model": "M/D/c",
                    "service_scv": 0.0,
                    "servers": c,
                    "rho": rho,
                    "arrival_rate": mp.nstr(lam, 30),
                    "Wq": mp.nstr(r["Wq"], 25),
                    "p_wait": mp.nstr(r["p_wait"], 25),
                    "digits": 25,
                }
            )
    for name, scv, phases in (
        ("M/E2/c", 0.5, erlang_phases(2, 1.0)),
        ("M/H2/c", 2.0, h2_phases(2.0, 1.0)),
    ):
        for c in PH_SERVERS:
            for rho in PH_RHOS:
                lam = float(rho) * c
                qmax = int(40 * (1 + scv) / (1 - float(rho)))
                r = mphc(lam, *phases, c, qmax)
                assert abs(r["edge_mass"]) < 1e-14, (name, c, rho, r["edge_mass"])
                cases.append(
                    {
                        "model": name,
                        "service_scv": scv,
                        "servers": c,
                        "rho": rho,
                        "arrival_rate": repr(lam),
                        "Wq": repr(r["Wq"]),
                        "p_wait": repr(r["p_wait"]),
                        "digits": 9,
                    }
                )
    OUT.write_text(json.dumps({"service_mean": 1.0, "cases": cases}, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
