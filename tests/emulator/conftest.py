"""Fixtures of the emulator backend tests: a context over a fresh SQLite store, no HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from migrate_kit.emulator.config import Context, EmulatorConfig
from migrate_kit.emulator.state import Store


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    store = Store(tmp_path / "emulator.sqlite")
    context = Context(EmulatorConfig(), store)
    context.set_port(4443)
    yield context
    store.close()
