"""Shared fixtures: where the real corpora are (../shared/data beside the checkout, or $NERPROBE_DATA)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    """Build the tiny demo model once for all tests: ``$NERPROBE_CACHE`` defaults to ``.test-cache`` in the checkout
    (kept between local runs; a fresh clone builds it once, in about two minutes on 2 cores)."""
    os.environ.setdefault("NERPROBE_CACHE", str(REPO / ".test-cache"))


def shared_data_dir() -> Path:
    """The folder of real corpora: $NERPROBE_DATA, else ../shared/data beside the checkout."""
    return Path(os.environ.get("NERPROBE_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real-corpus folder; missing, it skips locally and fails in CI (where it must be present)."""
    d = shared_data_dir()
    if not d.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"real corpora not found at {d}")
        pytest.skip(f"real corpora not found at {d}")
    return d
