"""Fixtures of the emulator backend tests: a context over a fresh SQLite store, no HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from migrate_kit.emulator.config import Context, EmulatorConfig
from migrate_kit.emulator.state import Store

if TYPE_CHECKING:
    from azure.ai.ml import MLClient


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    store = Store(tmp_path / "emulator.sqlite")
    context = Context(EmulatorConfig(), store)
    context.set_port(4443)
    yield context
    store.close()


@pytest.fixture
def ml_client(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> MLClient:
    """The unmodified MLClient on the session emulator (``mlclient.ml_client``), with the
    connection env exported for this test only: monkeypatch restores it afterwards."""
    import mlclient  # tests/emulator is on sys.path (pytest's "prepend" import mode)

    emulator = request.getfixturevalue("emulator")
    for name, value in mlclient.connection_of(emulator)["env"].items():
        monkeypatch.setenv(name, value)
    for name in mlclient.SHADOWING:
        monkeypatch.delenv(name, raising=False)
    return mlclient.ml_client(emulator)
