"""The benchmark script runs end to end on tiny sizes (timings are not asserted here)."""

from __future__ import annotations

import pytest

from benchmarks.__main__ import main


def test_benchmark_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m benchmarks --quick` prints the analytic and simulator sections with ratios."""
    main(["--quick"])
    out = capsys.readouterr().out
    assert "M/M/c over 10,000" in out
    assert "loop-recursion" in out and "ratio" in out
    assert "Simulator: M/M/4 at rho 0.9" in out and "qsim engine / SimPy" in out
