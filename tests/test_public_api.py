"""The public API is curated: __all__ is exactly the public names, and light to import."""

from __future__ import annotations

import subprocess
import sys

import qsim
import qsim.analytic


def _public(module: object) -> set[str]:
    return {
        n
        for n in vars(module)
        if not n.startswith("_") and n != "annotations" and not _is_submodule(module, n)
    }


def _is_submodule(module: object, name: str) -> bool:
    obj = getattr(module, name)
    return type(obj).__name__ == "module" and obj.__name__.startswith(f"{module.__name__}.")  # type: ignore[attr-defined]


def test_all_is_sorted_and_complete() -> None:
    """qsim.__all__ is sorted and names every public attribute (submodules aside)."""
    assert list(qsim.__all__) == sorted(qsim.__all__)
    assert _public(qsim) - {"analytic"} <= set(qsim.__all__)
    assert all(hasattr(qsim, n) for n in qsim.__all__)


def test_analytic_all_is_sorted_and_complete() -> None:
    """qsim.analytic.__all__ equals its public, non-module names."""
    assert list(qsim.analytic.__all__) == sorted(qsim.analytic.__all__)
    assert _public(qsim.analytic) == set(qsim.analytic.__all__)


def test_import_is_light() -> None:
    """`import qsim` loads no matplotlib, dask, rich, typer or simpy."""
    code = (
        "import sys, qsim; "
        "heavy = [m for m in ('matplotlib', 'dask', 'rich', 'typer', 'simpy') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_readme_documents_every_analytic_export() -> None:
    """Every name in qsim.analytic.__all__ appears in the README."""
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    missing = [n for n in qsim.analytic.__all__ if f"`{n}`" not in readme]
    assert not missing, f"README does not mention: {missing}"
