"""Shared simulation runs: each model is simulated once per session, on first use."""

from __future__ import annotations

import pytest

from tests.validation._support import RunCache


@pytest.fixture(scope="session")
def runs() -> RunCache:
    return RunCache()
