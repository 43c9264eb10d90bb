"""Optional compilation of the fast kernels with numba, and their numpy twins.

Every sequential kernel of :mod:`qsim.fast` exists twice: a plain loop that numba
compiles (``cache=True``: compiled once per machine, then loaded from ``__pycache__``)
and a vectorised numpy twin that gives IDENTICAL numbers, because it performs the same
floating-point operations in the same order (``np.cumsum`` and
``np.minimum.accumulate`` are left-to-right recurrences, exactly like the loops). The
loop is never run by the interpreter: without numba the twin runs.

The backend is chosen on first use: numba when it imports, else numpy. The
environment variable ``QSIM_FAST_BACKEND=numpy`` (or ``numba``) forces one. Since the
twins give the same numbers, the engine may also run a small job on the twins to save
numba's start-up (about a second to import it and load the cached kernels): see
:func:`worth_compiling`.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["backend", "compiled", "use_backend", "worth_compiling"]

_state: dict[str, Any] = {"backend": None, "forced": False}
#: Seconds of numpy-twin work above which paying numba's start-up is worth it.
STARTUP = 0.5
_compiled: dict[Callable[..., Any], Any] = {}


def backend() -> str:
    """``"numba"`` or ``"numpy"``: which implementation of the kernels runs."""
    if _state["backend"] is None:
        want = os.environ.get("QSIM_FAST_BACKEND", "").strip().lower()
        _state["forced"] = want in ("numpy", "numba")
        if want == "numpy":
            _state["backend"] = "numpy"
        else:
            # NOTE: find_spec, not import: importing numba alone takes half a second.
            found = importlib.util.find_spec("numba") is not None
            _state["backend"] = "numba" if found else "numpy"
    return str(_state["backend"])


def compiled(fn: Callable[..., Any]) -> Any:
    """``fn`` compiled by numba (disk-cached), or None when the numpy twins run."""
    if backend() != "numba":
        return None
    jit = _compiled.get(fn)
    if jit is None:
        import numba

        # NOTE: no fastmath: reassociating sums would break equality with the twins.
        jit = _compiled[fn] = numba.njit(cache=True, nogil=True)(fn)
    return jit


def worth_compiling(numpy_seconds: float) -> bool:
    """Whether a job the numpy twins would do in ``numpy_seconds`` should use numba:
    yes when numba is the backend and either was forced, is loaded already, or the job
    is long enough to repay its start-up."""
    if backend() != "numba":
        return False
    return bool(_state["forced"]) or "numba" in sys.modules or numpy_seconds > STARTUP


@contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Run the enclosed code with the ``"numba"`` or ``"numpy"`` kernels."""
    if name not in ("numba", "numpy"):
        raise ValueError(f"backend must be 'numba' or 'numpy', got {name!r}")
    before = _state["backend"], _state["forced"]
    backend()  # settle the default first
    _state["backend"], _state["forced"] = name, True
    try:
        yield
    finally:
        _state["backend"], _state["forced"] = before
