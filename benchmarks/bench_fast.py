"""The fast engine against the event engine, Ciw and plain SimPy on five workloads.

Workloads (service mean 1 s): M/M/1 at rho 0.9; M/M/4 at rho 0.9; M/G/1 with lognormal
service (scv 4) at rho 0.8; three M/M/1 stations in tandem at rho 0.8; Poisson(8)
arrivals split at random over 10 M/M/1 queues (rho 0.8 each).

- ``qsim fast``: the fast engine end to end: scenario resolution, sampling, kernels,
  per-replication metrics (means, exact p50/p95/p99 up to 2*10^6 values per stream, levels,
  counters) and the summary with confidence intervals (:func:`qsim.results.aggregate`).
  Ten replications of ``fast_messages / 10`` messages each.
- ``fast run()``: :func:`qsim.engines.run` with ``engine="fast"``: the same plus the theory
  table and the SLO check (a fixed cost per call: inverting M/G/1 wait laws for the exact
  quantiles takes most of a second).
- ``qsim sim``: the event-driven engine, like ``qsim fast`` (two replications).
- ``Ciw``, plain ``SimPy`` and (when installed) ``LINE``'s native simulator: see
  :mod:`benchmarks.fast_peers`.

A message is one external arrival (a tandem message visits three stations, a split
message one). Throughput is messages per CPU second (``time.process_time``: other load
on the machine does not count), the median of interleaved repeats; peers run fewer
messages than the fast engine, which would take them minutes. Each tool's mean wait per
station visit (after a 10 % warm-up) is shown beside the exact value.
"""

from __future__ import annotations

import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import simpy

from benchmarks.fast_peers import (
    WORKLOADS,
    Outcome,
    Workload,
    ciw_model,
    line_available,
    line_model,
    simpy_model,
)
from qsim.engines import ENGINES
from qsim.engines import run as qsim_run
from qsim.fast._jit import use_backend
from qsim.results import aggregate

RESULTS = Path(__file__).with_name("RESULTS.md")
GOALS = {"M/M/1": 25e6, "M/M/4": 12e6, "M/G/1 lognormal": 15e6, "tandem-3": 5e6, "split-10": 15e6}


# ---- qsim ----------------------------------------------------------------------------
def _qsim(
    engine: str, reps: int, full: bool = False, kernels: str | None = None
) -> Callable[[Workload, int, int], Outcome]:
    """An engine's replications and their summary with confidence intervals (``full``:
    :func:`qsim.engines.run`, which adds the theory table and the SLO check; ``kernels``:
    force the fast engine's ``"numba"`` or ``"numpy"`` kernels)."""

    def go(w: Workload, messages: int, seed: int) -> Outcome:
        if kernels is not None:
            with use_backend(kernels):
                return _qsim(engine, reps, full)(w, messages, seed)
        sc = w.build(messages / reps / w.rate, reps, seed)
        if full:
            s = qsim_run(sc, engine=engine).summary
        else:
            eng = ENGINES[engine]
            rows = [
                (r, *row)
                for r, rep in enumerate(eng.run(sc, seed=seed, replications=reps))
                for row in rep.rows()
            ]
            per_rep = pd.DataFrame(
                rows, columns=["replication", "scope", "name", "metric", "value"]
            )
            s = aggregate(per_rep)
        waits = s[(s.scope == "queue") & (s.metric == "wait_mean")].value
        return float(messages), float(waits.mean())  # stations carry equal loads

    return go


# ---- running ---------------------------------------------------------------------------
def _cpu() -> float:
    """CPU seconds of this process and its finished children (LINE's simulator)."""
    import resource

    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + child.ru_utime + child.ru_stime


def _peers(line: bool) -> dict[str, Callable[[Workload, int, int], Outcome]]:
    peers: dict[str, Callable[[Workload, int, int], Outcome]] = {
        "qsim fast": _qsim("fast", 10),
        "fast run()": _qsim("fast", 10, full=True),
        "fast numpy": _qsim("fast", 10, kernels="numpy"),
        "qsim sim": _qsim("sim", 2),
    }
    try:
        import ciw  # noqa: F401
    except ImportError:
        pass
    else:
        peers["Ciw"] = ciw_model
    peers["SimPy"] = simpy_model
    if line:
        peers["LINE LDES"] = line_model
    return peers


def _memory(messages: int) -> str:
    """Peak memory of a fresh process running the fast engine on M/M/1: the high-water
    mark of its resident set (/proc/self/status VmHWM), and how much of it is shared
    library code mapped from files (RssFile: numba's LLVM, numpy, scipy, pyarrow; shared
    with other processes and reclaimable) rather than the process's own memory."""
    code = (
        "from benchmarks.fast_peers import WORKLOADS\n"
        "from qsim.engines import run\n"
        "from qsim.fast._jit import use_backend\n"
        "def kb(key):\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith(key + ':'):\n"
        "            return int(line.split()[1])\n"
        "w = WORKLOADS[0]\n"
        "with use_backend('numba'):\n"
        "    run(w.build(1000.0, 1, 5), engine='fast')\n"
        "base = kb('VmHWM')\n"
        f"sc = w.build({messages} / w.rate, 1, 5)\n"
        "with use_backend('numba'):\n"
        "    r = run(sc, engine='fast')\n"
        "print(base / 1024, kb('VmHWM') / 1024, kb('RssFile') / 1024)\n"
    )
    root = Path(__file__).parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True
    )
    base, peak, files = (float(x) for x in out.stdout.split())
    return (
        f"Peak memory, M/M/1 with {messages:,} messages in one replication: {peak:.0f} MB "
        f"resident, of which {files:.0f} MB shared library code mapped from files and about "
        f"{peak - files:.0f} MB the process's own (goal 200 MB); the run adds "
        f"{peak - base:.0f} MB to the {base:.0f} MB of a process that has run a small scenario "
        "(imports, numba, kernels)"
    )


def _floor() -> str:
    """What numpy's generator costs per variate here: the floor under any engine that
    draws its inputs (an M/M/1 message needs two exponentials)."""
    rng = np.random.default_rng(1)
    n = 1 << 16
    out = {}
    for name, draw in (
        ("exponential", lambda: rng.standard_exponential(n)),
        ("lognormal", lambda: rng.lognormal(0.0, 1.0, n)),
    ):
        draw()
        t0 = time.process_time()
        for _ in range(100):
            draw()
        out[name] = (time.process_time() - t0) / (100 * n) * 1e9
    return (
        f"numpy variates here: {out['exponential']:.1f} ns per exponential, "
        f"{out['lognormal']:.1f} ns per lognormal (so M/M/1 input alone caps at "
        f"{1e3 / (2 * out['exponential']):.0f} M msg/s)"
    )


def _startup() -> str:
    """What a fresh process pays before its first fast run: numba's import and the load
    of the cached compiled kernels (small runs skip it: they use the numpy twins)."""
    code = (
        "import time\n"
        "t = time.perf_counter()\n"
        "from qsim.fast._jit import use_backend\n"
        "from qsim.fast import FastEngine\n"
        "from benchmarks.fast_peers import WORKLOADS\n"
        "sc = WORKLOADS[1].build(200.0, 1, 1)\n"
        "t0 = time.perf_counter()\n"
        "with use_backend('numba'):\n"
        "    FastEngine().run(sc, seed=1, replications=1)\n"
        "t1 = time.perf_counter()\n"
        "with use_backend('numba'):\n"
        "    FastEngine().run(sc, seed=1, replications=1)\n"
        "print(t1 - t0, time.perf_counter() - t1)\n"
    )
    root = Path(__file__).parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True
    )
    first, second = (float(x) for x in out.stdout.split())
    return (
        f"numba start-up in a fresh process (import + cached kernels): {first - second:.2f} s "
        "wall, once per process"
    )


def run(
    fast_messages: int = 20_000_000,
    peer_messages: int = 60_000,
    repeats: int = 5,
    memory_messages: int = 100_000_000,
    write: bool = True,
) -> list[str]:
    """Benchmark lines (and benchmarks/RESULTS.md when ``write``)."""
    from qsim.fast._jit import backend

    if backend() == "numba":
        import numba  # noqa: F401 - loaded once, as by any long-running user of the engine
    line_version = line_available()
    peers = _peers(line_version is not None)
    sizes = {name: fast_messages if "fast" in name else peer_messages for name in peers}
    sizes["fast numpy"] = min(fast_messages, 10 * peer_messages)  # twins: slower G/G/c
    if "LINE LDES" in peers:
        sizes["LINE LDES"] = min(fast_messages, 20 * peer_messages)  # a compiled peer
    for name, fn in peers.items():  # warm-up: imports, JIT cache loads, first-call costs
        for w in WORKLOADS if "fast" in name else WORKLOADS[:1]:
            fn(w, 2_000 if "numpy" in name else 20_000, 0)
    versions = [
        f"numpy {np.__version__}",
        f"fast kernels: {backend()}",
        f"SimPy {simpy.__version__}",
    ]
    if "Ciw" in peers:
        import ciw

        versions.append(f"Ciw {ciw.__version__}")
    versions.append(f"LINE {line_version}" if line_version else "LINE: not installed")
    lines = [
        f"## Fast engine: messages per CPU second, end to end; median of {repeats} interleaved "
        "repeats; messages per run: "
        + ", ".join(f"{name} {n:,}" for name, n in sizes.items())
        + f" (fast: 10 replications); {', '.join(versions)}"
    ]
    table = [
        "| workload | tool | msg/s | fast / tool | mean wait (exact) |",
        "|---|---|---:|---:|---|",
    ]
    for w in WORKLOADS:
        rates: dict[str, list[float]] = {k: [] for k in peers}
        waits: dict[str, list[float]] = {k: [] for k in peers}
        for rep in range(repeats):
            for name, fn in peers.items():
                t0 = _cpu()
                n, wait = fn(w, sizes[name], 1_000 + rep)
                rates[name].append(n / (_cpu() - t0))
                waits[name].append(wait)
        med = {k: statistics.median(v) for k, v in rates.items()}
        goal = GOALS[w.name]
        mark = "meets" if med["qsim fast"] >= goal else "below"
        lines.append(
            f"  {w.name}: exact mean wait {w.exact:.3f} s; goal {goal / 1e6:.0f} M msg/s ({mark})"
        )
        for name in peers:
            ratio = med["qsim fast"] / med[name]
            lines.append(
                f"    {name:<10} {med[name]:>14,.0f} msg/s  fast/this {ratio:>9,.1f}x  "
                f"mean wait {statistics.fmean(waits[name]):.3f} s"
            )
            table.append(
                f"| {w.name} | {name} | {med[name]:,.0f} | {ratio:,.1f}x | "
                f"{statistics.fmean(waits[name]):.3f} ({w.exact:.3f}) |"
            )
    lines.append("  " + _floor())
    if memory_messages:
        lines.append("  " + _memory(memory_messages))
        lines.append("  " + _startup())
    if write:
        _write(lines, table)
    return lines


def _write(lines: list[str], table: list[str]) -> None:
    RESULTS.write_text(
        "# Fast engine benchmark\n\n"
        f"Written by `python -m benchmarks` on {platform.machine()} "
        f"({platform.processor() or 'cpu'}), Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}. See the docstring of `benchmarks/bench_fast.py` for "
        "what is measured. `fast / tool` is the fast engine's rate over the tool's, measured "
        "in the same invocation; the mean wait is per station visit after a 10 % warm-up, "
        "beside the exact value. Rates are per CPU second; on a shared 2-core machine they "
        "still move with the neighbours' load (see the cost of one numpy variate at the end, "
        "measured in the same run: the floor under every engine that samples its inputs).\n\n"
        + "\n".join(table)
        + "\n\n```\n"
        + "\n".join(lines)
        + "\n```\n"
    )
