"""Every notebook in notebooks/ runs top to bottom without an error.

Each notebook is executed in a fresh kernel of this interpreter (the virtualenv's), from
the notebooks/ folder so relative paths resolve as they do for a user, with matplotlib's
Agg backend. A cell that raises fails the test and names the cell.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_notebooks_exist() -> None:
    """The notebooks folder holds the tutorials, numbered in reading order."""
    assert PATHS, f"no notebooks in {NOTEBOOKS}"
    for path in PATHS:
        assert path.name[:2].isdigit() and path.name[2] == "-", path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_runs(path: Path) -> None:
    """A notebook executes without any cell raising, within a minute per cell."""
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
        f"{path.name} is committed with outputs; clear them"
    )
    client = nbclient.NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}
    try:
        client.execute(env=env)
    except nbclient.exceptions.CellExecutionError as err:
        pytest.fail(f"{path.name}: a cell raised\n{err}", pytrace=False)
