"""Fixtures of the panel tests: a :class:`Session` connected to the session's emulator.

- ``sample_inventory``: the sample workspace's inventory, read once over real HTTPS;
- ``session``: a fresh ``Session`` (work folder in ``tmp_path``) connected to the emulator;
- ``inventory_session``: the same with the inventory already in ``session.inventory``;
- ``pipeline_id(name, version=None)``: a sample pipeline's id.

(The migrate, test, report and wizard panel tests import their own ``session``, on a private
emulator, from ``_fixtures.py``; a fixture a module imports wins over this one.)

The panels are driven as a browser would drive them: values set on their widgets,
``ITable.set_state({"selected_rows": [...]})``, ``Button.click()``, then ``panel.wait()``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from migrate_kit import connect, inventory
from migrate_kit.panels import Session


@pytest.fixture(scope="session")
def sample_inventory(connection_file: Path) -> pd.DataFrame:
    return inventory(connect(connection_file=connection_file))


@pytest.fixture
def session(connection_file: Path, tmp_path: Path) -> Session:
    session = Session(work_dir=tmp_path / "migration")
    session.connection = connect(connection_file=connection_file)
    return session


@pytest.fixture
def inventory_session(session: Session, sample_inventory: pd.DataFrame) -> Session:
    session.inventory = sample_inventory.copy()
    return session


@pytest.fixture(scope="session")
def pipeline_id(sample_inventory: pd.DataFrame) -> Callable[..., str]:
    """``pipeline_id(name, version=None)``: the id of the one sample pipeline so named."""

    def find(name: str, version: str | None = None) -> str:
        rows = sample_inventory[sample_inventory["pipeline_name"] == name]
        if version is not None:
            rows = rows[rows["version"] == version]
        assert len(rows) == 1, f"{name} {version}: {len(rows)} rows"
        return str(rows.iloc[0]["pipeline_id"])

    return find
