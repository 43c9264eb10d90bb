"""Run every benchmark: ``python -m benchmarks [--quick]``."""

from __future__ import annotations

import argparse
import platform

import numpy as np

from benchmarks import bench_analytic, bench_fast, bench_sim


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    args = parser.parse_args(argv)
    print(
        f"# qsim benchmarks on {platform.machine()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}; medians of interleaved repeats"
    )
    size = {"points": 10_000, "repeats": 1, "loads": (100.0,)} if args.quick else {}
    lines = bench_analytic.run(**size)
    print("\n".join(lines))
    sim_size = {"messages": 2_000, "repeats": 1} if args.quick else {}
    print("\n".join(bench_sim.run(**sim_size)))
    fast_size = (
        {
            "fast_messages": 10_000,
            "peer_messages": 500,
            "repeats": 1,
            "memory_messages": 0,
            "write": False,
        }
        if args.quick
        else {}
    )
    print("\n".join(bench_fast.run(**fast_size)))


if __name__ == "__main__":
    main()
