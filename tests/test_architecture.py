"""Import layers: a module imports only from layers below it (see STYLE.md)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1] / "qsim"

# (module prefix, layer); the longest matching prefix wins.
LAYERS = {
    "qsim.errors": 0,
    "qsim._rng": 0,
    "qsim._validate": 0,
    "qsim.scenario.units": 0,
    "qsim.distributions": 1,
    "qsim.arrivals": 1,
    "qsim.analytic": 2,
    "qsim.scenario": 3,
    "qsim.stats": 4,
    "qsim.results": 4,
    "qsim.sim": 5,
    "qsim.fast": 5,
    "qsim.engines": 6,
    "qsim.planning": 7,
    "qsim._plan_space": 7,
    "qsim._plan_bounds": 7,
    "qsim._plan_search": 7,
    "qsim._plan_report": 7,
    "qsim.slo": 4,
    "qsim.sweep": 7,
    "qsim.report": 8,
    "qsim.cli": 9,
    "qsim.__main__": 10,
}
# Pairs on the same layer that must still never import each other.
FORBIDDEN = {("qsim.sim", "qsim.fast"), ("qsim.fast", "qsim.sim")}


def layer_of(module: str) -> tuple[str, int] | None:
    best = max(
        (p for p in LAYERS if module == p or module.startswith(p + ".")), key=len, default=None
    )
    return None if best is None else (best, LAYERS[best])


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out.append((name, path))
    return out


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in found if m.startswith("qsim.")}


@pytest.mark.parametrize(("name", "path"), modules(), ids=[m for m, _ in modules()])
def test_module_imports_only_lower_layers(name: str, path: Path) -> None:
    """No module imports a higher layer; sim and fast never import each other."""
    mine = layer_of(name)
    if mine is None:
        return  # the package root re-exports the public API
    for target in imports(path):
        theirs = layer_of(target)
        if theirs is None or theirs[0] == mine[0]:
            continue
        assert theirs[1] <= mine[1], (
            f"{name} (layer {mine[1]}) imports {target} (layer {theirs[1]})"
        )
        assert (mine[0], theirs[0]) not in FORBIDDEN, f"{name} imports {target}"


def test_nothing_imports_cli() -> None:
    """The CLI is a leaf: no library module imports it."""
    for name, path in modules():
        if name in ("qsim.cli", "qsim.__main__"):
            continue
        assert "qsim.cli" not in imports(path), name


# Heavy modules that the entry points load only where a function needs them.
_LAZY = (
    "scipy.stats",
    "scipy.interpolate",
    "scipy.optimize",
    "scipy.linalg",
    "scipy.sparse",
    "scipy.fft",
    "matplotlib",
    "dask",
)


@pytest.mark.parametrize("entry", ["qsim", "qsim.engines", "qsim.cli"])
def test_entry_points_import_no_heavy_modules(entry: str) -> None:
    """Importing an entry point loads no scipy.stats/optimize/interpolate/linalg/sparse/fft,
    matplotlib or dask: each costs tens of MB and is imported inside the function using it."""
    code = f"import sys, {entry}; print(','.join(m for m in {_LAZY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import {entry} loaded {out.stdout.strip()}"
