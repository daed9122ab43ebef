"""A real spool in a temporary folder for every upload test that asks for one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.storage.spool import Spool


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    s = Spool.open(tmp_path / "data", create=True)
    try:
        yield s
    finally:
        s.close()
