"""Where a sweep keeps its work: one small file per finished point, and the final tables.

Layout of the output folder::

    sweep.json          what was swept: scenario, hash, root seed, engine, parameters
    points/<key>.json   one finished point each, written as it completes
    sweep.csv           the tidy table (also sweep.parquet), written at the end
    points.csv          one row per point: coordinates, seed, engine, unstable queues

Every file is written to a temporary name in the same folder and renamed into place, so
an interrupted or failed sweep leaves whole files only: finished points, which the next
run with the same scenario reuses, and never a half-written table.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["PointStore", "atomic_write"]


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


class PointStore:
    """Finished points of a sweep, one JSON file per point under ``directory/points``."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.points = self.directory / "points"

    def open(self, manifest: dict[str, Any]) -> None:
        """Create the folders and (re)write ``sweep.json``."""
        self.points.mkdir(parents=True, exist_ok=True)
        text = json.dumps(manifest, indent=2)
        atomic_write(self.directory / "sweep.json", lambda p: p.write_text(text, encoding="utf-8"))

    def manifest(self) -> dict[str, Any] | None:
        """The ``sweep.json`` of an earlier run, if any."""
        try:
            data = json.loads((self.directory / "sweep.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def load(self, key: str) -> dict[str, Any] | None:
        """The stored record of point ``key``, or None if it has not finished."""
        try:
            record = json.loads((self.points / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("key") != key:
            return None
        return record

    def save(self, record: dict[str, Any]) -> None:
        """Store a finished point (NaN and inf kept exactly, as JSON's extensions)."""
        text = json.dumps(record, separators=(",", ":"))
        path = self.points / f"{record['key']}.json"
        atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))
